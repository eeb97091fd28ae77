// Lists: the records of each type in the chosen project (summaries only,
// newest first), the projects, and the first-project form. The lists, the
// record pickers and the navigation draw from it.
//
// Thread contract: UI thread only.
#pragma once

#include "app_context.h"
#include "summaries.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace escucha::gui {

struct RecordList {
    std::vector<RowSummary> rows; ///< newest first
    bool loaded = false;
};

class ListsFeature {
public:
    explicit ListsFeature(AppContext& ctx) : m_ctx(ctx) {}

    // --- what is drawn ---
    /// A type's list; empty and not loaded when it was never read.
    [[nodiscard]] const RecordList& List(const std::string& type) const;
    [[nodiscard]] const std::map<std::string, RecordList>& All() const { return m_lists; }
    [[nodiscard]] const std::string& ProjectId() const { return m_project_id; } ///< records are filed under it
    [[nodiscard]] bool ProjectsLoaded() const { return m_projects_loaded; }
    [[nodiscard]] const RowSummary* Row(const std::string& type, const std::string& id) const;
    [[nodiscard]] std::string RowLabel(const std::string& type, const RowSummary& row) const;
    [[nodiscard]] std::string ProjectName() const;
    /// First run: the person chose to start a project rather than enrol.
    [[nodiscard]] bool OwnProjectChosen() const { return m_own_project_chosen; }
    std::string& NewProjectName() { return m_new_project_name; } ///< the first-project form's field
    /// Give the first-project form's field the keyboard now (true once after it was asked for).
    [[nodiscard]] bool TakeFocus();

    // --- commands ---
    void ChooseOwnProject(bool own);
    void LoadLists(); ///< the projects, then every list of the chosen one
    void LoadList(const std::string& type);
    void SelectProject(const std::string& id);
    void CreateFirstProject();
    /// A row read or saved elsewhere: replaces the row with its id, or comes first.
    void PutRow(const std::string& type, RowSummary row);
    /// A record deleted: its row goes; a deleted chosen project is chosen again.
    void Removed(const std::string& type, const std::string& id);
    /// The records of project `from` moved into `to`: read again, following them.
    void ProjectMoved(const std::string& from, const std::string& to);
    void Clear(); ///< at lock

    // --- wired by the owner (app_state.cpp) ---
    std::function<void()> before_project_change; ///< the open record closes first
    std::function<void()> after_first_lists;     ///< every list has been read once after LoadLists

private:
    AppContext& m_ctx;
    std::map<std::string, RecordList> m_lists; ///< by record type
    std::string m_project_id;
    std::string m_new_project_name;
    bool m_own_project_chosen = false;
    bool m_projects_loaded = false;
};

} // namespace escucha::gui
