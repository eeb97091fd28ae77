#include "escucha/words/i18n.h"

#include <cstdlib>
#include <memory>

namespace escucha::words {

namespace {

/// Reads one quoted .po string starting at `pos` (at the opening quote);
/// appends its unescaped text to `out`. False when it is not a string.
bool ReadQuoted(std::string_view line, std::string& out) {
    const auto first = line.find('"');
    const auto last = line.rfind('"');
    if (first == std::string_view::npos || last == first) return false;
    for (size_t i = first + 1; i < last; ++i) {
        char c = line[i];
        if (c == '\\' && i + 1 < last) {
            const char e = line[++i];
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            default: return false;
            }
        }
        out.push_back(c);
    }
    return true;
}

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

struct Active {
    std::string code = "en";
    std::unique_ptr<PoCatalogue> catalogue;
};

Active& State() {
    static Active active;
    return active;
}

} // namespace

const std::vector<Language>& Languages() {
    static const std::vector<Language> languages = {
        {"en", "English"}, {"es", "Español"}, {"fr", "Français"}, {"pt", "Português"}};
    return languages;
}

bool PoCatalogue::Parse(std::string_view po, std::string& error) {
    enum class Part { None, Context, Id, Str } part = Part::None;
    std::string context, id, str;
    bool fuzzy = false, fuzzy_next = false;
    const auto flush = [&] {
        if (!id.empty() && !str.empty() && !fuzzy) m_entries[context.empty() ? id : context + '\x04' + id] = str;
        context.clear();
        id.clear();
        str.clear();
        fuzzy = false;
    };
    size_t number = 0;
    while (!po.empty()) {
        const auto end = po.find('\n');
        const std::string_view line = Trim(po.substr(0, end));
        po.remove_prefix(end == std::string_view::npos ? po.size() : end + 1);
        ++number;
        const auto fail = [&](const char* why) {
            error = "line " + std::to_string(number) + ": " + why;
            return false;
        };
        if (line.empty()) continue;
        if (line[0] == '#') {
            if (line.rfind("#,", 0) == 0 && line.find("fuzzy") != std::string_view::npos) fuzzy_next = true;
            continue;
        }
        std::string* target = nullptr;
        if (line.rfind("msgctxt", 0) == 0) {
            if (part == Part::Str) flush();
            part = Part::Context;
            target = &context;
        } else if (line.rfind("msgid_plural", 0) == 0) {
            return fail("plural forms are not used by this app");
        } else if (line.rfind("msgid", 0) == 0) {
            if (part == Part::Str) flush();
            part = Part::Id;
            target = &id;
            fuzzy = fuzzy_next;
            fuzzy_next = false;
        } else if (line.rfind("msgstr", 0) == 0) {
            if (part != Part::Id) return fail("msgstr without a msgid before it");
            part = Part::Str;
            target = &str;
        } else if (line[0] == '"') {
            if (part == Part::None) return fail("a string outside any entry");
            target = part == Part::Context ? &context : part == Part::Id ? &id : &str;
        } else {
            return fail("not a .po line (expected msgid, msgstr, a quoted string or a comment)");
        }
        if (!ReadQuoted(line, *target)) return fail("a string that is not properly quoted");
    }
    if (part == Part::Id) {
        error = "the file ends inside an entry (a msgid without its msgstr)";
        return false;
    }
    flush();
    m_entries.erase(""); // the header
    return true;
}

const char* PoCatalogue::Find(std::string_view msgid) const {
    const auto it = m_entries.find(msgid);
    return it == m_entries.end() ? nullptr : it->second.c_str();
}

void SetLanguage(const std::string& code) {
    auto& state = State();
    state.code = "en";
    state.catalogue.reset();
    const auto po = EmbeddedPo(code);
    if (po.empty()) return;
    auto catalogue = std::make_unique<PoCatalogue>();
    std::string error;
    if (!catalogue->Parse(po, error)) return; // a test proves every shipped file parses
    state.code = code;
    state.catalogue = std::move(catalogue);
}

const std::string& CurrentLanguage() { return State().code; }

std::string SystemLanguage() {
    for (const char* var : {"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"}) {
        const char* value = std::getenv(var);
        if (!value || !*value) continue;
        std::string_view v(value);
        // LANGUAGE may list several: "pt_BR:es". Take the first Escucha speaks.
        while (!v.empty()) {
            const auto colon = v.find(':');
            const auto code = v.substr(0, std::min(v.find_first_of("_.@:"), v.size()));
            for (const auto& l : Languages())
                if (code == l.code) return l.code;
            if (colon == std::string_view::npos) break;
            v.remove_prefix(colon + 1);
        }
        if (std::string_view(var) != "LANGUAGE") break; // the first set locale variable decides
    }
    return "en";
}

const char* Tr(const char* english) {
    const auto& state = State();
    if (!state.catalogue) return english;
    const char* found = state.catalogue->Find(english);
    return found ? found : english;
}

} // namespace escucha::words
