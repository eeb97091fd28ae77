#include "feature_coding.h"

#include "i18n.h"

#include "escucha/interpret/codebook.h"

#include <algorithm>
#include <cstdio>

namespace escucha::gui {

namespace {

std::string Str(const storage::Json& record, const char* field) { return record.value(field, std::string()); }

} // namespace

void CodingFeature::Run(std::function<void(storage::RecordStore&)> work, std::function<void()> done) {
    m_ctx.RunOnStore(std::move(work), std::move(done),
                     [this] { m_codes_loading = m_codings_loading = m_matrix_loading = m_excerpts.loading = false; });
}

// [SECTION] Codebook

const CodeRow* CodingFeature::Code(const std::string& id) const {
    for (const auto& c : m_codes)
        if (c.id == id) return &c;
    return nullptr;
}

void CodingFeature::LoadCodebook() {
    const std::string project = m_lists.ProjectId();
    if (project.empty() || m_codes_loading) return;
    m_codes_loading = true;
    auto rows = std::make_shared<std::vector<CodeRow>>();
    Run(
        [project, rows](storage::RecordStore& store) {
            for (const auto& entry : interpret::ListCodebook(store, project, true)) {
                const auto& c = entry.code;
                rows->push_back({Str(c, "id"), Str(c, "name"), Str(c, "kind"), Str(c, "colour"), Str(c, "description"),
                                 Str(c, "parent_id"), Str(c, "merged_into"), c.value("retired", false), entry.depth});
            }
        },
        [this, rows] {
            m_codes = std::move(*rows);
            m_codes_loaded = true;
            m_codes_loading = false;
            // Codes that are gone, merged or retired are not offered for the next passage.
            for (auto it = m_ticked.begin(); it != m_ticked.end();) {
                const auto* c = Code(*it);
                it = (!c || c->retired || !c->merged_into.empty()) ? m_ticked.erase(it) : std::next(it);
            }
        });
}

void CodingFeature::CreateCode(const std::string& name, const std::string& kind, const std::string& colour,
                               const std::string& parent_id, const std::string& description) {
    const std::string project = m_lists.ProjectId();
    storage::Json fields = {{"name", name}};
    if (!kind.empty()) fields["kind"] = kind;
    if (!colour.empty()) fields["colour"] = colour;
    if (!parent_id.empty()) fields["parent_id"] = parent_id;
    if (!description.empty()) fields["description"] = description;
    auto id = std::make_shared<std::string>();
    Run([project, fields, id](storage::RecordStore& store) { *id = Str(interpret::CreateCode(store, project, fields), "id"); },
        [this, id] {
            m_chosen = *id;
            m_ctx.status = Tr("Code created");
            Changed();
        });
}

void CodingFeature::RenameCode(const std::string& id, const std::string& name) {
    Run([id, name](storage::RecordStore& store) { interpret::RenameCode(store, id, name); }, [this] { Changed(); });
}

void CodingFeature::MoveCode(const std::string& id, const std::string& parent_id) {
    Run([id, parent_id](storage::RecordStore& store) { interpret::MoveCode(store, id, parent_id); },
        [this] { Changed(); });
}

void CodingFeature::MergeCodes(const std::string& from, const std::string& into) {
    Run([from, into](storage::RecordStore& store) { interpret::MergeCodes(store, from, into); },
        [this, into] {
            m_chosen = into;
            m_ctx.status = Tr("Codes merged");
            Changed();
        });
}

void CodingFeature::RetireCode(const std::string& id) {
    Run([id](storage::RecordStore& store) { interpret::RetireCode(store, id); }, [this] { Changed(); });
}

void CodingFeature::Choose(const std::string& code_id) {
    m_chosen = code_id;
    if (!code_id.empty()) OpenExcerpts(code_id);
}

// [SECTION] Coding the open text

const std::vector<CodingRow>& CodingFeature::CodingsOf(const std::string& source_id) {
    if (source_id != m_codings_source) {
        m_codings_source = source_id;
        m_codings.clear();
        m_codings_loading = false;
        if (!source_id.empty()) {
            m_codings_loading = true;
            const int generation = m_generation;
            auto rows = std::make_shared<std::vector<CodingRow>>();
            Run(
                [source_id, rows](storage::RecordStore& store) {
                    for (const auto& c : interpret::CodingsOf(store, source_id))
                        rows->push_back({Str(c, "id"), Str(c, "code_id"), c.value("start", int64_t{0}),
                                         c.value("end", int64_t{0}), Str(c, "excerpt"), Str(c, "memo"),
                                         c.value("needs_review", false)});
                    std::stable_sort(rows->begin(), rows->end(),
                                     [](const CodingRow& a, const CodingRow& b) { return a.start < b.start; });
                },
                [this, rows, source_id, generation] {
                    if (source_id != m_codings_source || generation != m_generation) return;
                    m_codings = std::move(*rows);
                    m_codings_loading = false;
                });
        }
    }
    return m_codings;
}

std::optional<Selection> CodingFeature::SelectionOf(const std::string& text, size_t from, size_t to) {
    if (from > to) std::swap(from, to);
    if (from == to || to > text.size()) return std::nullopt;
    const int64_t start = interpret::CodePointOffset(text, static_cast<int64_t>(from));
    const int64_t end = interpret::CodePointOffset(text, static_cast<int64_t>(to));
    if (start < 0 || end < 0 || start == end) return std::nullopt;
    return Selection{start, end, text.substr(from, to - from)};
}

void CodingFeature::Apply(const std::string& source_id, const Selection& passage) {
    if (m_ticked.empty()) return;
    std::vector<std::string> codes(m_ticked.begin(), m_ticked.end());
    const std::string memo = m_memo;
    Run([source_id, passage, codes, memo](
            storage::RecordStore& store) { interpret::CodePassage(store, {source_id, passage.start, passage.end}, codes, memo); },
        [this] {
            m_memo.clear();
            m_ctx.status = Tr("Passage coded");
            Changed();
        });
}

void CodingFeature::RemoveCoding(const std::string& coding_id) {
    Run([coding_id](storage::RecordStore& store) { store.Delete(coding_id); }, [this] { Changed(); });
}

// [SECTION] Results and excerpts

void CodingFeature::SetGroupField(const std::string& field) {
    if (field == m_group_field) return;
    m_group_field = field;
    m_matrix.reset();
    LoadMatrix();
}

void CodingFeature::LoadMatrix() {
    const std::string project = m_lists.ProjectId();
    if (project.empty() || m_matrix_loading) return;
    m_matrix_loading = true;
    const std::string field = m_group_field;
    const int generation = m_generation;
    auto matrix = std::make_shared<interpret::GroupMatrix>();
    Run([project, field, matrix](
            storage::RecordStore& store) { *matrix = interpret::CodeGroupMatrix(store, project, field); },
        [this, matrix, field, generation] {
            m_matrix_loading = false;
            if (field != m_group_field) return LoadMatrix();
            std::fprintf(stderr, "escucha: results counted %lld codings\n", static_cast<long long>(matrix->codings));
            m_matrix = std::move(*matrix);
            if (generation != m_generation) LoadMatrix(); // changed meanwhile: read again
        });
}

void CodingFeature::OpenExcerpts(const std::string& code_id, const std::string& group,
                                 const std::vector<std::string>* cell) {
    m_excerpts = ExcerptsView{};
    m_excerpts.code_id = code_id;
    m_excerpts.group = group;
    if (cell) m_excerpts.only.insert(cell->begin(), cell->end());
    m_excerpts.loading = true;
    auto excerpts = std::make_shared<std::vector<interpret::Excerpt>>();
    std::set<std::string> only = m_excerpts.only;
    const bool filter = cell != nullptr;
    Run(
        [code_id, excerpts, only, filter](storage::RecordStore& store) {
            for (auto& e : interpret::Excerpts(store, code_id))
                if (!filter || only.count(e.coding_id)) excerpts->push_back(std::move(e));
        },
        [this, code_id, excerpts] {
            if (m_excerpts.code_id != code_id) return;
            m_excerpts.excerpts = std::move(*excerpts);
            m_excerpts.loading = false;
        });
}

void CodingFeature::Changed() {
    ++m_generation;
    m_codes_loading = false;
    LoadCodebook();
    const std::string source = m_codings_source;
    m_codings_source.clear();
    if (!source.empty()) (void)CodingsOf(source);
    if (m_matrix) LoadMatrix();
    if (!m_excerpts.code_id.empty() && m_excerpts.only.empty()) OpenExcerpts(m_excerpts.code_id);
}

void CodingFeature::Clear() {
    m_codes.clear();
    m_codes_loaded = m_codes_loading = false;
    m_chosen.clear();
    m_codings_source.clear();
    m_codings.clear();
    m_codings_loading = false;
    ++m_generation;
    m_ticked.clear();
    m_memo.clear();
    m_matrix.reset();
    m_matrix_loading = false;
    m_excerpts = {};
}

} // namespace escucha::gui
