// Results of listening, counted: how often each code was applied, by the
// groups the participants were recorded in (vulnerability group, age band,
// territory, gender). The window app draws these counts as charts and as a
// code x group matrix whose cells open the excerpts behind them; the report
// draws the same counts as SVG.
//
// Errors: storage::SqliteError from the database.
#pragma once

#include "escucha/interpret/codebook.h"
#include "escucha/storage/records.h"

#include <cstdint>
#include <string>
#include <vector>

namespace escucha::interpret {

/// The column of codings whose source names no participant, or whose
/// participants have nothing recorded in the group field.
inline constexpr const char* NOT_RECORDED = "";

/// Codes (rows) by the values of one group field (columns).
struct GroupMatrix {
    std::string group_field;            ///< one of GroupFields()
    std::vector<CodebookEntry> codes;   ///< rows, in codebook order (merged codes left out)
    std::vector<std::string> groups;    ///< columns: values as recorded, sorted; NOT_RECORDED last when present
    /// Coding ids behind each cell, [row][column], in coding order. A coding
    /// counts once in every group its source's participants are in: a
    /// narrative told by a woman and a man counts under both genders.
    std::vector<std::vector<std::vector<std::string>>> cells;
    std::vector<int64_t> row_totals;    ///< codings of each code (each once)
    std::vector<int64_t> column_totals; ///< codings in each group (each once per group)
    int64_t largest_cell = 0;
    int64_t codings = 0;                ///< live codings counted

    [[nodiscard]] int64_t Count(size_t row, size_t column) const {
        return static_cast<int64_t>(cells[row][column].size());
    }
};

/// Counts the live codings of `project_id` by code and by the values of
/// `group_field` (see GroupFields()) among the participants of each coding's
/// source. Reads each source and participant once. Throws
/// storage::RecordError (INVALID_VALUE) for a field not in GroupFields().
[[nodiscard]] GroupMatrix CodeGroupMatrix(storage::RecordStore& store, const std::string& project_id,
                                          const std::string& group_field);

} // namespace escucha::interpret
