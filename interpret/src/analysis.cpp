#include "escucha/interpret/analysis.h"

#include "escucha/storage/error_code.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

namespace escucha::interpret {

namespace {

/// The values a participant record holds in `field`: one for a single
/// value, each for a list; none when nothing is recorded.
std::vector<std::string> ValuesOf(const Json& participant, const std::string& field) {
    std::vector<std::string> out;
    const auto it = participant.find(field);
    if (it == participant.end()) return out;
    if (it->is_string()) {
        if (!it->get<std::string>().empty()) out.push_back(it->get<std::string>());
    } else if (it->is_array()) {
        for (const auto& v : *it)
            if (v.is_string() && !v.get<std::string>().empty()) out.push_back(v.get<std::string>());
    }
    return out;
}

} // namespace

GroupMatrix CodeGroupMatrix(storage::RecordStore& store, const std::string& project_id,
                            const std::string& group_field) {
    const auto& fields = GroupFields();
    if (std::find(fields.begin(), fields.end(), group_field) == fields.end())
        throw storage::RecordError("group_field", "is not a field results are grouped by",
                                   storage::errc::INVALID_VALUE,
                                   {{"field", "group_field"}, {"reason", "not a group field"}});
    const auto& catalogue = store.Types();
    GroupMatrix m;
    m.group_field = group_field;

    // Rows: the codebook in tree order, without codes merged into others
    // (their codings now name the code they went into).
    std::unordered_map<std::string, size_t> row_of;
    for (auto& entry : ListCodebook(store, project_id, true)) {
        if (entry.code.contains("merged_into")) continue;
        row_of.emplace(entry.code["id"].get<std::string>(), m.codes.size());
        m.codes.push_back(std::move(entry));
    }

    // The groups of each source, read once per source and per participant.
    std::unordered_map<std::string, std::vector<std::string>> groups_of_participant;
    std::unordered_map<std::string, std::vector<std::string>> groups_of_source;
    const auto source_groups = [&](const std::string& source_id) -> const std::vector<std::string>& {
        auto it = groups_of_source.find(source_id);
        if (it != groups_of_source.end()) return it->second;
        std::set<std::string> values;
        if (const auto source = store.Get(source_id); source && !source->value("deleted", false)) {
            for (const auto& pid : ParticipantsOfSource(catalogue, *source)) {
                auto p = groups_of_participant.find(pid);
                if (p == groups_of_participant.end()) {
                    const auto person = store.Get(pid);
                    std::vector<std::string> v;
                    if (person && !person->value("deleted", false)) v = ValuesOf(*person, group_field);
                    p = groups_of_participant.emplace(pid, std::move(v)).first;
                }
                values.insert(p->second.begin(), p->second.end());
            }
        }
        std::vector<std::string> list(values.begin(), values.end());
        if (list.empty()) list.push_back(NOT_RECORDED);
        return groups_of_source.emplace(source_id, std::move(list)).first->second;
    };

    // Codings, reading only the fields needed: the code and the source.
    std::vector<std::string> wanted = {"code_id"};
    const auto* coding_type = catalogue.Find(CODING_TYPE);
    if (!coding_type) return m;
    for (const auto& f : coding_type->fields)
        if (f.kind == storage::FieldKind::Reference && f.name != "code_id") wanted.push_back(f.name);
    storage::ListOptions options;
    options.project_id = project_id;
    options.only_fields = wanted;
    std::map<std::string, std::vector<std::pair<size_t, std::string>>> by_group; // group -> (row, coding)
    for (const auto& coding : store.List(CODING_TYPE, options)) {
        const auto row = row_of.find(coding.value("code_id", std::string()));
        if (row == row_of.end()) continue;
        const auto source = SourceOf(catalogue, coding);
        if (source.id.empty()) continue;
        ++m.codings;
        for (const auto& g : source_groups(source.id))
            by_group[g].emplace_back(row->second, coding["id"].get<std::string>());
    }

    // Columns sorted by value, "not recorded" last.
    for (const auto& [g, _] : by_group)
        if (g != NOT_RECORDED) m.groups.push_back(g);
    if (by_group.count(NOT_RECORDED)) m.groups.push_back(NOT_RECORDED);
    m.cells.assign(m.codes.size(), std::vector<std::vector<std::string>>(m.groups.size()));
    m.row_totals.assign(m.codes.size(), 0);
    m.column_totals.assign(m.groups.size(), 0);
    std::vector<std::set<std::string>> counted_in_row(m.codes.size());
    for (size_t column = 0; column < m.groups.size(); ++column) {
        for (auto& [row, id] : by_group[m.groups[column]]) {
            m.cells[row][column].push_back(id);
            ++m.column_totals[column];
            counted_in_row[row].insert(id);
        }
    }
    for (size_t row = 0; row < m.codes.size(); ++row) {
        m.row_totals[row] = static_cast<int64_t>(counted_in_row[row].size());
        for (size_t column = 0; column < m.groups.size(); ++column)
            m.largest_cell = std::max(m.largest_cell, m.Count(row, column));
    }
    return m;
}

} // namespace escucha::interpret
