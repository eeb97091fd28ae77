// Coding: codes applied to passages of the listening material.
//
// A coding is one record per code applied to one passage of one source (a
// narrative, a transcript segment, a field note, a social-media item: any
// type of the catalogue with codable text, see CodableField). Its offsets
// count Unicode code points of the source's text with newlines normalised to
// \n, end exclusive; it keeps the passage's words (the excerpt) so that a
// later edit of the source is noticed: FollowEdit moves the coding with the
// edit when the excerpt is found again without doubt, else flags it for
// review. Never silently wrong.
//
// Each operation is one function over a RecordStore and one transaction.
//
// Errors: storage::RecordError with a code from error_code.h (OUTSIDE_TEXT,
// NOT_CODABLE, CODE_RETIRED, NO_CODES, and the store's own reference codes);
// storage::SqliteError from the database.
#pragma once

#include "escucha/storage/records.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace escucha::interpret {

using storage::Json;

/// The record types of the codebook and of codings.
inline constexpr const char* CODE_TYPE = "code";
inline constexpr const char* CODING_TYPE = "coding";

// [SECTION] Text offsets

/// `text` with CRLF and lone CR turned into \n: the store's own normalisation.
using storage::NormaliseNewlines;
/// How many Unicode code points well-formed UTF-8 `text` holds.
[[nodiscard]] int64_t CodePointLength(std::string_view text);
/// The byte offset of code point `index` in `text` (its size at the end);
/// -1 when `index` is past the end or negative.
[[nodiscard]] int64_t ByteOffset(std::string_view text, int64_t index);
/// The code point index at byte `offset`, which must start a character (or
/// be the size); -1 when it falls inside a character or outside the text.
[[nodiscard]] int64_t CodePointOffset(std::string_view text, int64_t offset);
/// Code points [start, end) of `text`; throws RecordError(OUTSIDE_TEXT) when
/// not 0 <= start <= end <= length.
[[nodiscard]] std::string CodePointSlice(std::string_view text, int64_t start, int64_t end);

// [SECTION] Sources

/// The field of `type` whose text can be coded: its long-text field `text`;
/// null when the type has none.
[[nodiscard]] const storage::FieldSpec* CodableField(const storage::RecordType& type);
/// The coding field that names a source of type `source_type`.
[[nodiscard]] std::string SourceField(const std::string& source_type);
/// The source a coding names (its id), and that source's type.
struct SourceRef {
    std::string id;
    std::string type;
};
[[nodiscard]] SourceRef SourceOf(const storage::Catalogue& catalogue, const Json& coding);

// [SECTION] Operations

struct Passage {
    std::string source_id;
    int64_t start = 0; ///< code points, from 0
    int64_t end = 0;   ///< exclusive
};

/// Applies each of `code_ids` to `passage`, with `memo` (may be empty): one
/// coding record per code, together. Checks that the source has codable
/// text, that the passage lies within it and that no code is retired.
/// Returns the codings created.
std::vector<Json> CodePassage(storage::RecordStore& store, const Passage& passage,
                              const std::vector<std::string>& code_ids, const std::string& memo = {});

/// The live codings of source `source_id`.
[[nodiscard]] std::vector<Json> CodingsOf(storage::RecordStore& store, const std::string& source_id);

struct FollowedEdit {
    std::vector<std::string> unchanged; ///< the excerpt is still where it was
    std::vector<std::string> moved;     ///< found once in the new text: offsets changed
    std::vector<std::string> flagged;   ///< not found, or found more than once: needs_review set
};

/// After the text of `source_id` changed: each of its codings whose excerpt
/// no longer reads at its offsets is moved to where the excerpt now stands,
/// when it stands there once, or else flagged needs_review. One transaction.
FollowedEdit FollowEdit(storage::RecordStore& store, const std::string& source_id);

/// A person the source is of or from (a teller, a speaker) and the groups
/// they were recorded in.
struct ExcerptParticipant {
    std::string id;
    std::string pseudonym;
    Json groups = Json::object(); ///< vulnerability_groups, age_band, territory, gender, as recorded
};

struct Excerpt {
    std::string coding_id;
    std::string code_id;
    std::string source_id;
    std::string source_type;
    int64_t start = 0;
    int64_t end = 0;
    std::string text; ///< the excerpt as coded
    std::string memo;
    /// Flagged, or the source no longer reads `text` at these offsets (an
    /// edit FollowEdit has not seen yet).
    bool needs_review = false;
    std::vector<ExcerptParticipant> participants;
};

/// The ids of the people a source record is of or from (its references to
/// the catalogue's person type: a narrative's tellers, a segment's speaker),
/// in field order, each once.
[[nodiscard]] std::vector<std::string> ParticipantsOfSource(const storage::Catalogue& catalogue, const Json& source);

/// The participant fields that place a person in the groups results are
/// read by.
[[nodiscard]] const std::vector<std::string>& GroupFields();

/// Every live excerpt of `code_id` across all sources, in coding order, with
/// its source and the source's participants and their groups.
[[nodiscard]] std::vector<Excerpt> Excerpts(storage::RecordStore& store, const std::string& code_id);

} // namespace escucha::interpret
