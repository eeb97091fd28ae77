// Settings: language, auto-lock and size, kept in a file outside the vault
// (see settings.h). The settings panel and the unlock screen's language
// picker draw from it.
//
// Thread contract: UI thread only.
#pragma once

#include "app_context.h"
#include "settings.h"

#include <filesystem>

namespace escucha::gui {

class SettingsFeature {
public:
    /// Reads the settings file (a problem with it goes to the status line) and sets the language.
    SettingsFeature(AppContext& ctx, std::filesystem::path file);

    [[nodiscard]] const Settings& Get() const { return m_settings; }

    void SetLanguage(const std::string& code);
    void SetLockAfterMinutes(int minutes);
    void SetUiScale(float scale);

private:
    void Save();

    AppContext& m_ctx;
    std::filesystem::path m_file;
    Settings m_settings;
};

} // namespace escucha::gui
