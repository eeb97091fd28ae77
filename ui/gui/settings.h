// The app's preferences: language, when to lock, how large to draw. They say
// nothing about the testimony, so they live in the user's configuration
// folder, not in the vault, and are there before the vault is unlocked.
//
// Thread contract: UI thread only.
#pragma once

#include <filesystem>
#include <string>

namespace escucha::gui {

struct Settings {
    std::string language;       ///< "en", "es", "fr", "pt"; empty: the system's
    int lock_after_minutes = 5; ///< 0: never lock by itself
    float ui_scale = 0;         ///< 0: follow the screen's content scale
};

/// $XDG_CONFIG_HOME/escucha/settings.json, or ~/.config/escucha/settings.json.
[[nodiscard]] std::filesystem::path DefaultSettingsFile();
/// Reads settings; a missing or unreadable file gives the defaults (and
/// `error` says why, for a file that is there but not understood).
[[nodiscard]] Settings LoadSettings(const std::filesystem::path& file, std::string* error = nullptr);
/// Writes them (write to a temporary file, then rename). False with `error` on failure.
bool StoreSettings(const std::filesystem::path& file, const Settings& settings, std::string& error);

} // namespace escucha::gui
