// Escucha's words in Spanish, French, Portuguese and English, shared by the
// window app and the CLI.
//
// The English text is the key, as in gettext. Translations live in gettext
// .po files (ui/words/po/), the format translators know; the build embeds
// them, so a program finds them wherever it is installed. The language can
// change while the program runs.
//
// Thread contract: one thread (the window app's UI thread, the CLI's only
// one). Tr() returns a pointer that stays valid until the next SetLanguage().
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

/// Marks a string for translation where it is defined; Tr() translates it where it is shown.
#define N_(text) text

namespace escucha::words {

struct Language {
    const char* code; ///< "es"
    const char* name; ///< its own name: "Español"
};

/// The languages Escucha speaks, English first.
[[nodiscard]] const std::vector<Language>& Languages();

/// One language's translations, read from the text of a .po file.
class PoCatalogue {
public:
    /// Parses .po text. Entries marked fuzzy or left untranslated are skipped.
    /// Returns false with `error` (line number and reason) for text that is not .po.
    bool Parse(std::string_view po, std::string& error);
    /// The translation of `msgid`, or nullptr.
    [[nodiscard]] const char* Find(std::string_view msgid) const;
    [[nodiscard]] size_t Size() const noexcept { return m_entries.size(); }

private:
    /// Looks up by string_view without building a std::string each frame.
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::string, Hash, std::equal_to<>> m_entries;
};

/// Switches the language ("en", "es", "fr", "pt"); an unknown code is English.
void SetLanguage(const std::string& code);
[[nodiscard]] const std::string& CurrentLanguage();
/// The language the system asks for (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), if Escucha speaks it; else "en".
[[nodiscard]] std::string SystemLanguage();

/// `english` in the current language (itself when there is no translation).
[[nodiscard]] const char* Tr(const char* english);

/// The embedded .po text for a language code, empty when there is none.
[[nodiscard]] std::string_view EmbeddedPo(std::string_view code);

} // namespace escucha::words
