#include "feature_settings.h"

#include "i18n.h"

namespace escucha::gui {

SettingsFeature::SettingsFeature(AppContext& ctx, std::filesystem::path file) : m_ctx(ctx), m_file(std::move(file)) {
    std::string problem;
    m_settings = LoadSettings(m_file, &problem);
    if (!problem.empty()) m_ctx.status = problem;
    gui::SetLanguage(m_settings.language.empty() ? SystemLanguage() : m_settings.language);
}

void SettingsFeature::SetLanguage(const std::string& code) {
    m_settings.language = code;
    gui::SetLanguage(code);
    Save();
}

void SettingsFeature::SetLockAfterMinutes(int minutes) {
    m_settings.lock_after_minutes = minutes;
    Save();
}

void SettingsFeature::SetUiScale(float scale) {
    m_settings.ui_scale = scale;
    Save();
}

void SettingsFeature::Save() {
    std::string problem;
    if (!StoreSettings(m_file, m_settings, problem)) m_ctx.error = problem;
}

} // namespace escucha::gui
