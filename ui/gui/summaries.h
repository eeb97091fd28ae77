// What a list shows of a record without reading all of it, and small helpers
// every feature of the window app uses. No state.
//
// Thread contract: Summarise, SummaryFields and TypeNamed on any thread; the
// rest (they translate) on the UI thread.
#pragma once

#include "escucha/storage/records.h"

#include <ctime>
#include <string>
#include <vector>

namespace escucha::gui {

/// Where the main screen is: a record type's list, or one of these.
inline constexpr const char* SECTION_SEARCH = "search";
inline constexpr const char* SECTION_SYNC = "sync";
inline constexpr const char* SECTION_SETTINGS = "settings";
inline constexpr const char* SECTION_CODEBOOK = "codebook"; ///< the codes, and the excerpts of each
inline constexpr const char* SECTION_RESULTS = "results";   ///< codes counted by participant group

/// The record types the app lists, in the order a researcher meets them
/// (the catalogue's list_order; types without one have no list of their own).
[[nodiscard]] const std::vector<std::string>& RecordSections();

/// A record type by its name (every type the app knows).
[[nodiscard]] const storage::RecordType& TypeNamed(const std::string& name);
/// The name of the type with `role` (storage::RecordRole): the scope is the
/// project, the person a participant. Empty when no type has it.
[[nodiscard]] const std::string& TypeWithRole(storage::RecordRole role);
/// Whether `name` (a section or a type's name) is the type with `role`.
[[nodiscard]] bool HasRole(const std::string& name, storage::RecordRole role);
/// The field of `type` naming the person a record is of (a consent's
/// participant); empty when it has none.
[[nodiscard]] std::string PersonFieldOf(const storage::RecordType& type);

/// One row of a list: what is shown without reading the whole record.
struct RowSummary {
    std::string id;
    std::string title;  ///< the type's title, or the first words of its text
    std::string kind;   ///< a choice name (translated when shown), may be empty
    std::string status; ///< a choice name, may be empty
    std::string when;   ///< a date, may be empty
    std::string ref;    ///< the person it is of (a consent's participant), may be empty
    /// Where it goes in its list when not newest first: a chat's messages by
    /// thread, then in the order they were posted. Empty: by creation.
    std::string order;
};

/// The summary of a record (any type) for lists. Runs on the worker.
[[nodiscard]] RowSummary Summarise(const storage::RecordType& type, const storage::Json& record);
/// The fields Summarise reads, so lists read no more than that.
[[nodiscard]] std::vector<std::string> SummaryFields(const storage::RecordType& type);
/// The first line of a text, cut to about 80 bytes at a character boundary, with "…" when cut.
[[nodiscard]] std::string FirstWords(const std::string& text);

/// How long ago an instant (ISO 8601 in UTC, as the vault keeps them) was, in
/// words of the current language ("5 minutes ago"), followed by the local
/// time of day, or the local date when it was not today. Empty for text that
/// is not such an instant.
[[nodiscard]] std::string SinceInWords(const std::string& iso_utc, std::time_t now);
/// The seconds since 1970 of an ISO 8601 UTC instant ("2026-03-14T09:30:00.000Z"); -1 when it is not one.
[[nodiscard]] std::time_t ParseIsoUtc(const std::string& iso_utc);

/// The name this device writes as when nobody says otherwise: the person's
/// full name from the system's account when it has one, else the login
/// name, else the machine's name. Never empty.
[[nodiscard]] std::string DefaultAuthorName();

/// The words of a search query as they are matched (folded, without the
/// trailing * of a prefix search), to mark them in an opened record.
[[nodiscard]] std::vector<std::string> QueryTerms(const std::string& query);

} // namespace escucha::gui
