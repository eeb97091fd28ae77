#include "settings.h"

#include "escucha/storage/json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

namespace escucha::gui {

std::filesystem::path DefaultSettingsFile() {
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg)
        return std::filesystem::path(xdg) / "escucha" / "settings.json";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".config" / "escucha" / "settings.json";
    return "escucha-settings.json";
}

Settings LoadSettings(const std::filesystem::path& file, std::string* error) {
    Settings s;
    std::ifstream in(file);
    if (!in) return s;
    std::stringstream text;
    text << in.rdbuf();
    const auto j = storage::ParseUntrustedJsonOrDiscard<nlohmann::json>(text.str());
    if (!j.is_object()) {
        if (error) *error = file.string() + " is not a settings file (not JSON); the defaults are used";
        return s;
    }
    if (j.contains("language") && j["language"].is_string()) s.language = j["language"];
    if (j.contains("lock_after_minutes") && j["lock_after_minutes"].is_number_integer())
        s.lock_after_minutes = std::clamp(j["lock_after_minutes"].get<int>(), 0, 24 * 60);
    if (j.contains("ui_scale") && j["ui_scale"].is_number())
        s.ui_scale = std::clamp(j["ui_scale"].get<float>(), 0.0f, 4.0f);
    return s;
}

bool StoreSettings(const std::filesystem::path& file, const Settings& s, std::string& error) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    const auto tmp = file.string() + ".new";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << nlohmann::json{{"language", s.language},
                              {"lock_after_minutes", s.lock_after_minutes},
                              {"ui_scale", s.ui_scale}}
                   .dump(2)
            << '\n';
        if (!out.flush()) {
            error = "could not write " + tmp;
            return false;
        }
    }
    std::filesystem::rename(tmp, file, ec);
    if (ec) {
        error = "could not replace " + file.string() + ": " + ec.message();
        return false;
    }
    return true;
}

} // namespace escucha::gui
