// Profiles and their quotes: excerpts chosen to let a profile speak in the
// words of the people it is drawn from.
//
// A quote is a record of its own (type `quote`), one per excerpt chosen for
// a profile, so two interpreters adding quotes offline both keep theirs
// (docs/decisions/0014-profiles-sessions-priorities.md). A quote names the
// coding it quotes; the coding names its source, the source its interview
// and its participants. The words shown are the coding's excerpt, and only
// when the consent of every participant of the source covers quoting
// verbatim: otherwise a quote says it is withheld and why, and its words go
// nowhere (QuotesOf, and every report built on it).
//
// Each operation is one function over a RecordStore and one transaction.
//
// Errors: storage::RecordError with a code from error_code.h (ALREADY_QUOTED,
// and the store's own codes: RECORD_NOT_FOUND, RECORD_DELETED,
// REFERENCE_WRONG_TYPE, ...); storage::SqliteError from the database.
#pragma once

#include "escucha/storage/records.h"

#include <cstdint>
#include <string>
#include <vector>

namespace escucha::interpret {

using storage::Json;

/// The record types of profiles and of their quotes.
inline constexpr const char* PROFILE_TYPE = "profile";
inline constexpr const char* QUOTE_TYPE = "quote";

// [SECTION] Quotes

/// Makes the excerpt of coding `coding_id` a quote of profile `profile_id`,
/// last in the profile's order, with `note` (why it was chosen; may be
/// empty). Refuses (ALREADY_QUOTED) a coding the profile quotes already.
/// Returns the quote record.
Json AddQuote(storage::RecordStore& store, const std::string& profile_id, const std::string& coding_id,
              const std::string& note = {});

/// Removes quote `quote_id` from its profile (a tombstone); the others keep
/// their order.
void RemoveQuote(storage::RecordStore& store, const std::string& quote_id);

/// Moves quote `quote_id` to place `index` (0 first; past the end: last)
/// among its profile's quotes, and numbers them all again 1, 2, 3...
void MoveQuote(storage::RecordStore& store, const std::string& quote_id, int64_t index);

/// Changes why quote `quote_id` was chosen (empty: no note).
Json SetQuoteNote(storage::RecordStore& store, const std::string& quote_id, const std::string& note);

/// Why a quote's words are not shown.
enum class Withheld {
    No,            ///< shown: every participant of the source consents to quoting verbatim
    NoConsent,     ///< a participant of the source has no consent covering quoting verbatim
    NoParticipant, ///< the source can name a person but names none, so no consent covers it
    SourceGone,    ///< the coding or its source is no longer on this device
};

/// English words for `why`, for logs and reports.
[[nodiscard]] const char* WithheldWords(Withheld why);

/// Where a quote comes from: shown on request.
struct QuoteTrail {
    std::string coding_id;
    std::string code_id;
    std::string code_name;
    std::string source_id;
    std::string source_type;
    std::string source_title; ///< empty when the source type has no title
    std::vector<std::string> interview_ids;
    std::vector<std::string> interview_titles;
    std::vector<std::string> participant_ids;
    std::vector<std::string> pseudonyms; ///< in the order of participant_ids
};

struct Quote {
    std::string id;
    std::string coding_id;
    int64_t position = 0;
    std::string note;
    Withheld withheld = Withheld::No;
    /// The pseudonyms of the source's participants whose consent does not
    /// cover quoting (Withheld::NoConsent).
    std::vector<std::string> not_consenting;
    /// The excerpt's words; empty whenever `withheld` is not Withheld::No.
    std::string text;
    /// The source was edited since it was coded and the words may no longer read there.
    bool needs_review = false;
    QuoteTrail trail; ///< filled only when asked for
};

/// The live quotes of `profile_id` in their order (position, then the order
/// they were added in). Each holds the excerpt's words only when the consent
/// of every participant of its source covers quoting verbatim; else it says
/// why the words are withheld and holds none. With `with_trail`, each says
/// where it comes from (coding, code, source, interviews, participants).
[[nodiscard]] std::vector<Quote> QuotesOf(storage::RecordStore& store, const std::string& profile_id,
                                          bool with_trail = false);

/// Whether the words of `source` (a record with codable text) may be quoted
/// verbatim: Withheld::No when every participant it names consents, or when
/// its type names no person at all (a field note: the researcher's words).
/// `not_consenting`, when given, receives the pseudonyms of those who do not.
[[nodiscard]] Withheld QuotableSource(storage::RecordStore& store, const Json& source,
                                      std::vector<std::string>* not_consenting = nullptr);

} // namespace escucha::interpret
