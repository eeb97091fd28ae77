#include "feature_lists.h"

#include "i18n.h"

#include "escucha/interpret/interpretation_records.h"

#include <algorithm>
#include <cstdio>

namespace escucha::gui {

const RecordList& ListsFeature::List(const std::string& type) const {
    static const RecordList none;
    const auto it = m_lists.find(type);
    return it == m_lists.end() ? none : it->second;
}

void ListsFeature::ChooseOwnProject(bool own) {
    m_own_project_chosen = own;
    if (own) m_ctx.focus_first_field = true;
}

bool ListsFeature::TakeFocus() {
    const bool focus = m_ctx.focus_first_field;
    m_ctx.focus_first_field = false;
    return focus;
}

void ListsFeature::Clear() {
    m_lists.clear();
    m_project_id.clear();
    m_projects_loaded = false;
}

void ListsFeature::LoadLists() {
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post([this, &ui, session](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        // The projects: what every other record is filed under.
        const auto& type = TypeNamed(TypeWithRole(storage::RecordRole::Scope));
        storage::ListOptions options;
        options.only_fields = SummaryFields(type);
        std::vector<RowSummary> rows;
        for (const auto& p : vault->Records().List(type.name, options)) rows.push_back(Summarise(type, p));
        const auto enrolled_project = vault->GetMeta("sync.project_id").value_or("");
        ui.Post([this, session, rows = std::move(rows), enrolled_project]() mutable {
            if (session != m_ctx.session) return;
            auto& projects = m_lists[TypeWithRole(storage::RecordRole::Scope)];
            projects = RecordList{std::move(rows), true};
            m_projects_loaded = true;
            const auto has = [&](const std::string& id) {
                return std::any_of(projects.rows.begin(), projects.rows.end(),
                                   [&](const RowSummary& r) { return r.id == id; });
            };
            if (!m_project_id.empty() && has(m_project_id)) {
            } else if (!enrolled_project.empty() && has(enrolled_project)) {
                m_project_id = enrolled_project;
            } else {
                m_project_id = projects.rows.empty() ? "" : projects.rows.front().id;
            }
            for (const auto& type : RecordSections())
                if (!HasRole(type, storage::RecordRole::Scope)) LoadList(type);
            // The vault thread runs jobs in order: this lands after the lists.
            m_ctx.worker.Post([this, session](std::optional<storage::Vault>&) {
                m_ctx.worker.Ui().Post([this, session] {
                    if (session == m_ctx.session && after_first_lists) after_first_lists();
                });
            });
        });
    });
}

void ListsFeature::LoadList(const std::string& type_name) {
    if (m_project_id.empty()) return;
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post([this, &ui, session, type_name, project = m_project_id](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        const auto& type = interpret::AllRecordTypes().Get(type_name);
        storage::ListOptions options;
        options.project_id = project;
        options.only_fields = SummaryFields(type);
        options.newest_first = true;
        std::vector<RowSummary> rows;
        for (const auto& r : vault->Records().List(type_name, options)) rows.push_back(Summarise(type, r));
        // A chat reads from its first message down, thread by thread.
        if (std::any_of(rows.begin(), rows.end(), [](const RowSummary& r) { return !r.order.empty(); }))
            std::stable_sort(rows.begin(), rows.end(),
                             [](const RowSummary& a, const RowSummary& b) { return a.order < b.order; });
        ui.Post([this, session, type_name, project, rows = std::move(rows)]() mutable {
            if (session != m_ctx.session || project != m_project_id) return;
            m_lists[type_name] = RecordList{std::move(rows), true};
            std::fprintf(stderr, "escucha: listed %zu %s\n", m_lists[type_name].rows.size(), type_name.c_str());
        });
    });
}

void ListsFeature::PutRow(const std::string& type, RowSummary row) {
    auto& rows = m_lists[type].rows;
    const auto it = std::find_if(rows.begin(), rows.end(), [&](const RowSummary& r) { return r.id == row.id; });
    if (it != rows.end()) *it = std::move(row);
    else rows.insert(rows.begin(), std::move(row));
}

void ListsFeature::SelectProject(const std::string& id) {
    if (id == m_project_id) return;
    if (before_project_change) before_project_change();
    m_project_id = id;
    for (const auto& type : RecordSections())
        if (!HasRole(type, storage::RecordRole::Scope)) {
            m_lists[type] = RecordList{};
            LoadList(type);
        }
}

void ListsFeature::CreateFirstProject() {
    const auto name = m_new_project_name;
    if (name.find_first_not_of(" \t") == std::string::npos) {
        m_ctx.error = Tr("Give the project a name.");
        m_ctx.focus_first_field = true;
        return;
    }
    m_ctx.error.clear();
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, name](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            const auto& type = TypeNamed(TypeWithRole(storage::RecordRole::Scope));
            const auto created = vault->Records().Create(type.name, {{type.title_field, name}});
            ui.Post([this, session, row = Summarise(type, created)] {
                if (session != m_ctx.session) return;
                m_new_project_name.clear();
                PutRow(TypeWithRole(storage::RecordRole::Scope), row);
                SelectProject(row.id);
                std::fprintf(stderr, "escucha: project created\n");
            });
        },
        [this, session](std::string what) {
            if (session != m_ctx.session) return;
            m_ctx.error = what;
            m_ctx.focus_first_field = true;
        });
}

const RowSummary* ListsFeature::Row(const std::string& type, const std::string& id) const {
    const auto list = m_lists.find(type);
    if (list == m_lists.end()) return nullptr;
    for (const auto& r : list->second.rows)
        if (r.id == id) return &r;
    return nullptr;
}

std::string ListsFeature::RowLabel(const std::string& /*type*/, const RowSummary& row) const {
    if (!row.title.empty()) return row.title;
    if (!row.ref.empty())
        if (const auto* p = Row(TypeWithRole(storage::RecordRole::Person), row.ref)) return p->title;
    return std::string("(") + Tr("untitled") + ")";
}

std::string ListsFeature::ProjectName() const {
    if (const auto* p = Row(TypeWithRole(storage::RecordRole::Scope), m_project_id)) return p->title;
    return {};
}
void ListsFeature::Removed(const std::string& type, const std::string& id) {
    auto& rows = m_lists[type].rows;
    rows.erase(std::remove_if(rows.begin(), rows.end(), [&](const RowSummary& r) { return r.id == id; }), rows.end());
    if (HasRole(type, storage::RecordRole::Scope) && id == m_project_id) {
        m_project_id.clear();
        LoadLists();
    }
}

void ListsFeature::ProjectMoved(const std::string& from, const std::string& to) {
    if (m_project_id == from) m_project_id = to;
    m_projects_loaded = false;
    LoadLists();
}

} // namespace escucha::gui
