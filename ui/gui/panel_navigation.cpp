// Where a person is: the sections (a column on wide screens, a menu on
// phones), the project, and the lock.
#include "i18n.h"
#include "labels.h"
#include "panels.h"

#include <algorithm>

namespace escucha::gui {

namespace {

const char* SectionLabel(const std::string& section) {
    if (section == SECTION_SEARCH) return Tr("Search");
    if (section == SECTION_SYNC) return Tr("Sync");
    if (section == SECTION_SETTINGS) return Tr("Settings");
    if (section == SECTION_CODEBOOK) return Tr("Codebook");
    if (section == SECTION_RESULTS) return Tr("Results");
    return TypePluralLabel(section);
}

/// Search; what listening gathers; what interpretation makes of it (the
/// codebook and results first, then its own records); sync and settings.
std::vector<std::string> AllSections() {
    std::vector<std::string> all = {SECTION_SEARCH}, interpretation = {SECTION_CODEBOOK, SECTION_RESULTS};
    for (const auto& type : RecordSections())
        (TypeNamed(type).module == "interpret" ? interpretation : all).push_back(type);
    all.insert(all.end(), interpretation.begin(), interpretation.end());
    all.push_back(SECTION_SYNC);
    all.push_back(SECTION_SETTINGS);
    return all;
}

} // namespace

void DrawNavigation(AppState& app, const Frame& f) {
    const auto sections = AllSections();
    for (size_t i = 0; i < sections.size(); ++i) {
        const auto& section = sections[i];
        ImGui::PushID(section.c_str());
        std::string label = SectionLabel(section);
        if (const auto& list = app.lists.List(section); list.loaded)
            label += "  (" + std::to_string(list.rows.size()) + ")";
        if (section == SECTION_SYNC && app.sync.View().pending > 0)
            label += "  (" + std::to_string(app.sync.View().pending) + ")";
        if (ImGui::Selectable(label.c_str(), app.Section() == section, 0, ImVec2(0, f.narrow ? 40.0f * f.scale : 0)))
            app.Show(section);
        ImGui::PopID();
        if (section == SECTION_SEARCH || (i + 1 < sections.size() && (sections[i + 1] == SECTION_CODEBOOK ||
                                                                      sections[i + 1] == SECTION_SYNC)))
            ImGui::Separator();
    }
}

namespace {

/// The projects to choose from, as selectables (in a menu or a combo).
void ProjectChoices(ListsFeature& l) {
    for (const auto& p : l.List(TypeWithRole(storage::RecordRole::Scope)).rows) {
        ImGui::PushID(p.id.c_str());
        if (ImGui::Selectable(p.title.c_str(), p.id == l.ProjectId())) l.SelectProject(p.id);
        ImGui::PopID();
    }
}

/// One line kept for the project and the status, drawn even when empty, so
/// that what follows never moves when the status comes and goes.
void ProjectAndStatus(const ListsFeature& l, const std::string& status, float width) {
    const float status_width = status.empty() ? 0.0f : ImGui::CalcTextSize(status.c_str()).x;
    const float gap = ImGui::GetStyle().ItemSpacing.x;
    const float room = std::max(width * 0.4f, width - status_width - gap);
    const float x = ImGui::GetCursorPosX();
    ImGui::TextUnformatted(Ellipsize(l.ProjectName(), room).c_str());
    FullTextOnHold(l.ProjectName(), ImGui::CalcTextSize(l.ProjectName().c_str()).x > room);
    if (!status.empty()) {
        ImGui::SameLine(x + std::max(room + gap, width - status_width));
        const float status_room = width - room - gap;
        ImGui::TextDisabled("%s", Ellipsize(status, status_room).c_str());
        FullTextOnHold(status, status_width > status_room);
    }
}

} // namespace

void DrawTopBar(AppState& app, const Frame& f) {
    const auto& projects = app.lists.List(TypeWithRole(storage::RecordRole::Scope)).rows;
    const RecordDraft* draft = app.editing.Draft();
    if (f.narrow) {
        // One column, one row of controls: the open record's way back and its
        // state, or the sections as a menu (the current one its title); the lock.
        const char* lock = Tr("Lock");
        const float lock_width = ImGui::CalcTextSize(lock).x + ImGui::GetStyle().FramePadding.x * 2;
        const float room = ImGui::GetContentRegionAvail().x - lock_width - ImGui::GetStyle().ItemSpacing.x;
        if (app.audio.Screen() != AudioScreen::None) {
            // The recorder or the player: back is to the form (a recording goes on until stopped).
            ImGui::BeginDisabled(app.audio.Recording());
            if (ImGui::Button((std::string("‹ ") + Tr("Back")).c_str())) app.audio.CloseScreen();
            ImGui::EndDisabled();
            ImGui::SameLine();
            ImGui::AlignTextToFramePadding();
            const char* what =
                app.audio.Screen() == AudioScreen::Recorder ? Tr("Recording") : Tr("Listen and transcribe");
            ImGui::TextUnformatted(Ellipsize(what, std::max(0.0f, room - ImGui::GetCursorPosX())).c_str());
        } else if (draft) {
            if (ImGui::Button((std::string("‹ ") + Tr("Back")).c_str())) app.editing.CloseRecord();
            draft = app.editing.Draft();
            ImGui::SameLine();
            ImGui::AlignTextToFramePadding();
            const std::string what =
                std::string(TypeLabel(draft ? draft->type : app.Section())) + " · " + (draft ? SaveState(*draft) : "");
            ImGui::TextUnformatted(Ellipsize(what, std::max(0.0f, room - ImGui::GetCursorPosX())).c_str());
        } else {
            ImGui::SetNextItemWidth(room);
            if (ImGui::BeginCombo("##section", SectionLabel(app.Section()), ImGuiComboFlags_HeightLargest)) {
                if (projects.size() > 1) {
                    ImGui::TextDisabled("%s", Tr("Project"));
                    ProjectChoices(app.lists);
                    ImGui::Separator();
                }
                DrawNavigation(app, f);
                ImGui::EndCombo();
            }
        }
        ImGui::SameLine(ImGui::GetContentRegionMax().x - lock_width);
        if (ImGui::Button(lock, ImVec2(lock_width, 0))) app.Lock();
        // An open record says its own state above; the line stays all the same.
        ProjectAndStatus(app.lists, app.editing.Draft() ? std::string() : app.Status(),
                         ImGui::GetContentRegionAvail().x);
    } else {
        const float lock_width = 100.0f * f.scale;
        if (projects.size() > 1) {
            ImGui::SetNextItemWidth(320.0f * f.scale);
            if (ImGui::BeginCombo("##project", app.lists.ProjectName().c_str())) {
                ProjectChoices(app.lists);
                ImGui::EndCombo();
            }
            ImGui::SameLine();
            ImGui::AlignTextToFramePadding();
            ImGui::TextDisabled("%s", app.Status().c_str());
        } else {
            ImGui::AlignTextToFramePadding();
            ProjectAndStatus(app.lists, app.Status(), ImGui::GetContentRegionAvail().x - lock_width - 20.0f * f.scale);
        }
        ImGui::SameLine(ImGui::GetContentRegionMax().x - lock_width);
        if (ImGui::Button(Tr("Lock"), ImVec2(lock_width, 0))) app.Lock();
    }
    ErrorText(app.Error());
    ImGui::Separator();
}

} // namespace escucha::gui
