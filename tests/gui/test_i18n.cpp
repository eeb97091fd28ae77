// Translations: the .po reader, the shipped languages, and that every word
// the app shows has its translation in each of them.
#include "app_state.h"
#include "gui_fixture.h"
#include "i18n.h"
#include "labels.h"

#include "escucha/interpret/interpretation_records.h"
#include "files.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <set>

using namespace escucha;
using namespace escucha::gui;

namespace {

/// The strings marked with Tr("…") or N_("…") in a C++ source, adjacent
/// literals joined as the compiler joins them.
std::set<std::string> MarkedStrings(const std::string& code) {
    std::set<std::string> out;
    for (const char* marker : {"Tr(\"", "N_(\""}) {
        for (size_t at = code.find(marker); at != std::string::npos; at = code.find(marker, at + 1)) {
            if (at > 0 && (std::isalnum(static_cast<unsigned char>(code[at - 1])) || code[at - 1] == '_')) continue;
            size_t pos = at + 3; // at the opening quote
            std::string text;
            while (pos < code.size() && code[pos] == '"') {
                ++pos;
                while (pos < code.size() && code[pos] != '"') {
                    if (code[pos] == '\\' && pos + 1 < code.size()) {
                        const char e = code[++pos];
                        text.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
                    } else {
                        text.push_back(code[pos]);
                    }
                    ++pos;
                }
                ++pos; // the closing quote
                while (pos < code.size() && std::isspace(static_cast<unsigned char>(code[pos]))) ++pos;
            }
            out.insert(text);
        }
    }
    return out;
}

} // namespace

TEST_CASE("The .po reader", "[gui][i18n]") {
    PoCatalogue po;
    std::string error;
    SECTION("entries, escapes, continued lines, contexts; fuzzy and empty ones skipped") {
        REQUIRE(
            po.Parse("msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n\n"
                     "# a comment\nmsgid \"Save\"\nmsgstr \"Guardar\"\n\n"
                     "msgid \"Line one\\nLine \\\"two\\\"\"\nmsgstr \"\"\n\"Línea uno\\n\"\n\"Línea \\\"dos\\\"\"\n\n"
                     "#, fuzzy\nmsgid \"Maybe\"\nmsgstr \"Quizás\"\n\n"
                     "msgid \"Untranslated\"\nmsgstr \"\"\n\n"
                     "msgctxt \"menu\"\nmsgid \"Open\"\nmsgstr \"Abrir\"\n",
                     error));
        CHECK(po.Size() == 3);
        CHECK(std::string(po.Find("Save")) == "Guardar");
        CHECK(std::string(po.Find("Line one\nLine \"two\"")) == "Línea uno\nLínea \"dos\"");
        CHECK(po.Find("Maybe") == nullptr);
        CHECK(po.Find("Untranslated") == nullptr);
        CHECK(po.Find("Open") == nullptr); // only under its context
    }
    SECTION("text that is not .po is refused with its line") {
        CHECK_FALSE(po.Parse("msgid \"a\"\nmsgstr \"b\"\nthis is not po\n", error));
        CHECK_THAT(error, Catch::Contains("line 3"));
        CHECK_FALSE(po.Parse("msgstr \"b\"\n", error));
        CHECK_THAT(error, Catch::Contains("without a msgid"));
        CHECK_FALSE(po.Parse("msgid \"a\n", error));
        CHECK_THAT(error, Catch::Contains("quoted"));
        CHECK_FALSE(po.Parse("msgid \"a\"\n", error));
        CHECK_THAT(error, Catch::Contains("ends inside"));
    }
}

TEST_CASE("Every word the app shows is translated into every language it speaks", "[gui][i18n]") {
    std::set<std::string> marked;
    // The window app's words, the shared ones (errors) and the CLI's.
    for (const char* dir : {"ui/gui", "ui/words", "ui/cli"})
        for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(ESCUCHA_SOURCE_DIR) / dir))
            if (entry.path().extension() == ".cpp") {
                const auto found = MarkedStrings(test::ReadFile(entry.path()));
                marked.insert(found.begin(), found.end());
            }
    REQUIRE(marked.size() > 150);
    for (const auto& language : Languages()) {
        if (std::string(language.code) == "en") continue;
        PoCatalogue po;
        std::string error;
        INFO(language.code << ".po: " << error);
        REQUIRE(po.Parse(EmbeddedPo(language.code), error));
        std::vector<std::string> missing;
        for (const auto& text : marked)
            if (!po.Find(text)) missing.push_back(text);
        INFO("untranslated in " << language.code << ".po:\n"
                                << [&] {
                                       std::string all;
                                       for (const auto& m : missing) all += "  " + m + "\n";
                                       return all;
                                   }());
        CHECK(missing.empty());
        // printf-style formats must keep their conversions, in order.
        for (const auto& text : marked) {
            const char* t = po.Find(text);
            if (!t) continue;
            const auto conversions = [](std::string_view s) {
                std::string out;
                for (size_t i = 0; i + 1 < s.size(); ++i)
                    if (s[i] == '%') {
                        size_t j = i + 1;
                        while (j < s.size() && std::string_view("0123456789.-lz").find(s[j]) != std::string_view::npos)
                            ++j;
                        if (j < s.size()) out += s.substr(i, j - i + 1);
                        i = j;
                    }
                return out;
            };
            INFO(language.code << ": " << text);
            CHECK(conversions(text) == conversions(t));
        }
    }
}

TEST_CASE("Every record type, field and choice has a label", "[gui][i18n]") {
    for (const auto& type : interpret::AllRecordTypes().Types()) {
        INFO(type.name);
        CHECK(HasTypeLabel(type.name));
        for (const auto& f : type.fields) {
            INFO(f.name);
            CHECK(HasFieldLabel(f.name));
            for (const auto& c : f.choices) {
                INFO(c);
                CHECK(HasChoiceLabel(c));
            }
        }
    }
}

TEST_CASE("The language switches while the app runs, and is remembered", "[gui][i18n]") {
    test::GuiApp app;
    app.state.settings.SetLanguage("es");
    CHECK(CurrentLanguage() == "es");
    CHECK(std::string(Tr("Search")) == "Buscar");
    CHECK(std::string(ChoiceLabel("life_journey")) == "Trayectoria de vida");
    app.state.settings.SetLanguage("fr");
    CHECK(std::string(Tr("Search")) == "Rechercher");
    app.state.settings.SetLanguage("pt");
    CHECK(std::string(Tr("Search")) == "Pesquisar");
    {
        test::GuiApp::Session next(app); // the next start reads the choice
        CHECK(next.state.settings.Get().language == "pt");
    }
    app.state.settings.SetLanguage("xx");
    CHECK(CurrentLanguage() == "en");
    CHECK(std::string(Tr("Search")) == "Search");

    SECTION("the system's language is used when none was chosen") {
        ::setenv("LANGUAGE", "de:fr_CA", 1);
        CHECK(SystemLanguage() == "fr");
        ::setenv("LANGUAGE", "", 1);
        ::setenv("LC_ALL", "pt_BR.UTF-8", 1);
        CHECK(SystemLanguage() == "pt");
        ::setenv("LC_ALL", "C.UTF-8", 1);
        CHECK(SystemLanguage() == "en");
        ::unsetenv("LC_ALL");
        ::unsetenv("LANGUAGE");
    }
    SECTION("a settings file that is not JSON gives the defaults and says so") {
        test::WriteFile(app.dir / "bad.json", "{ not json");
        std::string problem;
        const auto s = LoadSettings(app.dir / "bad.json", &problem);
        CHECK(s.lock_after_minutes == 5);
        CHECK_THAT(problem, Catch::Contains("not JSON"));
    }
}
