// Where a person is: the sections (a column on wide screens, a menu on
// phones), the project, and the lock.
#include "i18n.h"
#include "labels.h"
#include "panels.h"

namespace escucha::gui {

namespace {

const char* SectionLabel(const std::string& section) {
    if (section == SECTION_SEARCH) return Tr("Search");
    if (section == SECTION_SYNC) return Tr("Sync");
    if (section == SECTION_SETTINGS) return Tr("Settings");
    return TypePluralLabel(section);
}

std::vector<std::string> AllSections() {
    std::vector<std::string> all = RecordSections();
    all.insert(all.begin(), SECTION_SEARCH);
    all.push_back(SECTION_SYNC);
    all.push_back(SECTION_SETTINGS);
    return all;
}

} // namespace

void DrawNavigation(AppState& s, const Frame& f) {
    for (const auto& section : AllSections()) {
        ImGui::PushID(section.c_str());
        std::string label = SectionLabel(section);
        if (const auto it = s.lists.find(section); it != s.lists.end() && it->second.loaded)
            label += "  (" + std::to_string(it->second.rows.size()) + ")";
        if (section == SECTION_SYNC && s.sync.pending > 0) label += "  (" + std::to_string(s.sync.pending) + ")";
        if (ImGui::Selectable(label.c_str(), s.section == section, 0, ImVec2(0, f.narrow ? 40.0f * f.scale : 0)))
            s.Show(section);
        ImGui::PopID();
        if (section == SECTION_SEARCH || section == "project") ImGui::Separator();
    }
}

void DrawTopBar(AppState& s, const Frame& f) {
    if (f.narrow) {
        // One column: the sections are a menu, the current one its title.
        ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - 90.0f * f.scale);
        if (ImGui::BeginCombo("##section", SectionLabel(s.section), ImGuiComboFlags_HeightLargest)) {
            DrawNavigation(s, f);
            ImGui::EndCombo();
        }
        ImGui::SameLine();
        if (ImGui::Button(Tr("Lock"), ImVec2(-1, 0))) s.Lock();
    }
    const auto& projects = s.lists["project"].rows;
    if (projects.size() > 1) {
        ImGui::SetNextItemWidth(f.narrow ? -1.0f : 320.0f * f.scale);
        if (ImGui::BeginCombo("##project", s.ProjectName().c_str())) {
            for (const auto& p : projects) {
                ImGui::PushID(p.id.c_str());
                if (ImGui::Selectable(p.title.c_str(), p.id == s.project_id)) s.SelectProject(p.id);
                ImGui::PopID();
            }
            ImGui::EndCombo();
        }
    } else {
        ImGui::TextUnformatted(s.ProjectName().c_str());
    }
    if (!f.narrow) {
        ImGui::SameLine();
        ImGui::TextDisabled("%s", s.status.c_str());
        ImGui::SameLine(ImGui::GetWindowWidth() - 110.0f * f.scale);
        if (ImGui::Button(Tr("Lock"), ImVec2(100.0f * f.scale, 0))) s.Lock();
    } else if (!s.status.empty() && !s.draft) { // an open record shows its own state
        ImGui::TextDisabled("%s", s.status.c_str());
    }
    ErrorText(s.error);
    ImGui::Separator();
}

} // namespace escucha::gui
