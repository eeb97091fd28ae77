// The first screens: unlock or create the vault, then name the first project.
#include "i18n.h"
#include "panels.h"

#include <imgui_stdlib.h>

namespace escucha::gui {

namespace {

void LanguagePicker(SettingsFeature& s, const Frame& f) {
    ImGui::SetNextItemWidth(f.narrow ? -1.0f : 200.0f * f.scale);
    const char* current = "English";
    for (const auto& l : Languages())
        if (CurrentLanguage() == l.code) current = l.name;
    if (ImGui::BeginCombo("##language", current)) {
        for (const auto& l : Languages())
            if (ImGui::Selectable(l.name, CurrentLanguage() == l.code)) s.SetLanguage(l.code);
        ImGui::EndCombo();
    }
}

} // namespace

void DrawUnlock(SessionFeature& s, SettingsFeature& settings, const Frame& f) {
    const float width = f.narrow ? ImGui::GetContentRegionAvail().x : 460.0f * f.scale;
    if (!f.narrow) ImGui::SetCursorPosX((ImGui::GetWindowWidth() - width) * 0.5f);
    ImGui::BeginGroup();
    ImGui::PushItemWidth(width);
    LanguagePicker(settings, f);
    ImGui::Spacing();
    ImGui::TextUnformatted(s.VaultExists() ? Tr("Unlock your vault") : Tr("Create your vault"));
    ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + width);
    if (!s.VaultExists())
        ImGui::TextWrapped("%s", Tr("Everything you record is kept in it, encrypted. Choose a passphrase of 8 "
                                    "characters or more and write it down somewhere safe: without it nobody can "
                                    "read the vault."));
    if (!s.LockedReason().empty()) ImGui::TextWrapped("%s", s.LockedReason().c_str());
    ImGui::Spacing();
    if (s.TakeFocus() || ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
    ImGui::TextUnformatted(Tr("Passphrase"));
    bool submit = ImGui::InputText("##passphrase", &s.Form().passphrase,
                                   ImGuiInputTextFlags_Password | ImGuiInputTextFlags_EnterReturnsTrue);
    if (!s.VaultExists()) {
        if (submit) {
            ImGui::SetKeyboardFocusHere();
            submit = false;
        }
        ImGui::TextUnformatted(Tr("Once more"));
        submit |= ImGui::InputText("##again", &s.Form().passphrase_again,
                                   ImGuiInputTextFlags_Password | ImGuiInputTextFlags_EnterReturnsTrue);
        // Kept with every record written here, and shown to the others in the project.
        ImGui::TextUnformatted(Tr("Your name (shown with what you record)"));
        submit |= ImGui::InputText("##author", &s.Form().author_name, ImGuiInputTextFlags_EnterReturnsTrue);
    }
    ImGui::Spacing();
    ImGui::BeginDisabled(s.Busy());
    submit |= ImGui::Button(s.VaultExists() ? Tr("Unlock") : Tr("Create vault"), ImVec2(width, 0));
    ImGui::EndDisabled();
    if (submit) s.SubmitPassphrase(f.now);
    if (s.Busy()) ImGui::TextUnformatted(Tr("Opening…"));
    ErrorText(s.Error());
    ImGui::PopTextWrapPos();
    ImGui::PopItemWidth();
    ImGui::EndGroup();
}

void DrawFirstProject(ListsFeature& l, AppState& app, const Frame& f) {
    const float width = f.narrow ? ImGui::GetContentRegionAvail().x : 460.0f * f.scale;
    if (!f.narrow) ImGui::SetCursorPosX((ImGui::GetWindowWidth() - width) * 0.5f);
    ImGui::BeginGroup();
    ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + width);
    const float tall = f.narrow ? TouchHeight(f) : 40.0f * f.scale;
    if (!l.OwnProjectChosen()) {
        // Most researchers are enrolled by their coordinator: that comes first.
        ImGui::TextUnformatted(Tr("How do you start?"));
        ImGui::TextWrapped("%s", Tr("Everything you record is filed under a project: where you listen, with whom and "
                                    "about what."));
        ImGui::Spacing();
        ImGui::TextWrapped("%s", Tr("Headquarters gave you an enrolment code: the project arrives by itself."));
        if (ImGui::Button(Tr("Enrol with headquarters"), ImVec2(width, tall))) app.Show(SECTION_SYNC);
        ImGui::Spacing();
        ImGui::TextWrapped("%s", Tr("You work on your own, or will enrol later: start a project on this device."));
        if (ImGui::Button(Tr("Start a project of my own"), ImVec2(width, tall))) l.ChooseOwnProject(true);
        ErrorText(app.Error());
        ImGui::PopTextWrapPos();
        ImGui::EndGroup();
        return;
    }
    ImGui::TextUnformatted(Tr("Name your project"));
    ImGui::TextWrapped("%s", Tr("Where you listen, with whom and about what."));
    ImGui::Spacing();
    if (l.TakeFocus()) ImGui::SetKeyboardFocusHere();
    ImGui::SetNextItemWidth(width);
    bool submit = ImGui::InputTextWithHint("##project", Tr("e.g. Coffee pickers of Nariño"), &l.NewProjectName(),
                                           ImGuiInputTextFlags_EnterReturnsTrue);
    submit |= ImGui::Button(Tr("Create project"), ImVec2(width, tall));
    if (submit) l.CreateFirstProject();
    if (ImGui::Button((std::string("‹ ") + Tr("Back")).c_str(), ImVec2(width, tall))) l.ChooseOwnProject(false);
    ErrorText(app.Error());
    ImGui::PopTextWrapPos();
    ImGui::EndGroup();
}

} // namespace escucha::gui
