// Language, locking and size.
#include "i18n.h"
#include "panels.h"

namespace escucha::gui {

void DrawSettings(SettingsFeature& s, AppState& app, const Frame& f) {
    ImGui::TextUnformatted(Tr("Language"));
    for (const auto& l : Languages())
        if (ImGui::RadioButton(l.name, CurrentLanguage() == l.code)) s.SetLanguage(l.code);
    ImGui::Separator();

    ImGui::TextUnformatted(Tr("Lock the vault after this long without use"));
    static constexpr int MINUTES[] = {1, 2, 5, 10, 15, 30, 60, 0};
    const auto name = [](int m) {
        if (m == 0) return std::string(Tr("Never"));
        char text[64];
        std::snprintf(text, sizeof text, Tr("%d minutes"), m);
        return std::string(text);
    };
    ImGui::SetNextItemWidth(f.narrow ? -1.0f : 240.0f * f.scale);
    if (ImGui::BeginCombo("##lock", name(s.Get().lock_after_minutes).c_str())) {
        for (int m : MINUTES)
            if (ImGui::Selectable(name(m).c_str(), s.Get().lock_after_minutes == m)) s.SetLockAfterMinutes(m);
        ImGui::EndCombo();
    }
    ImGui::Separator();

    ImGui::TextUnformatted(Tr("Size of text and controls"));
    static constexpr float SCALES[] = {0, 1.0f, 1.25f, 1.5f, 2.0f};
    for (float scale : SCALES) {
        char text[64];
        if (scale == 0) std::snprintf(text, sizeof text, "%s", Tr("As the screen suggests"));
        else std::snprintf(text, sizeof text, "%d %%", static_cast<int>(scale * 100 + 0.5f));
        if (ImGui::RadioButton(text, s.Get().ui_scale == scale)) s.SetUiScale(scale);
    }
    ImGui::Separator();
    if (WideButton(Tr("Lock now (Ctrl+L)"), f)) app.Lock();
    ImGui::Separator();
    // Which OpenGL the driver gave: what to tell someone helping when the window draws wrong.
    ImGui::TextDisabled("%s", Tr("Drawn with"));
    ImGui::TextWrapped("%s", f.graphics);
}

} // namespace escucha::gui
