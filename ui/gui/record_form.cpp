#include "record_form.h"

#include <cctype>
#include <charconv>
#include <ctime>

namespace escucha::gui {

using storage::FieldKind;
using storage::Json;

namespace {

std::string Trimmed(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

FieldValue ValueFrom(const storage::FieldSpec& f, const Json& v) {
    FieldValue out;
    if (v.is_null()) return out;
    switch (f.kind) {
    case FieldKind::Boolean: out.flag = v.is_boolean() && v.get<bool>(); break;
    case FieldKind::Integer: out.text = v.is_number_integer() ? std::to_string(v.get<int64_t>()) : v.dump(); break;
    case FieldKind::ChoiceList:
    case FieldKind::ReferenceList:
        if (v.is_array())
            for (const auto& item : v)
                if (item.is_string()) out.items.push_back(item.get<std::string>());
        break;
    case FieldKind::TextList: {
        std::vector<std::string> items;
        if (v.is_array())
            for (const auto& item : v)
                if (item.is_string()) items.push_back(item.get<std::string>());
        out.text = JoinList(items);
        break;
    }
    default: out.text = v.is_string() ? v.get<std::string>() : v.dump(); break;
    }
    return out;
}

} // namespace

std::string JoinList(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

std::vector<std::string> SplitList(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        auto comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        auto item = Trimmed(text.substr(start, comma - start));
        if (!item.empty()) out.push_back(std::move(item));
        start = comma + 1;
    }
    return out;
}

std::string FoldForMatch(std::string_view text) {
    // U+00C0 to U+00FF, each by its base letter ('*' keeps the character).
    static constexpr char LATIN1[] = "aaaaaa*ceeeeiiiidnooooo*ouuuuy**"  // À to ß
                                     "aaaaaa*ceeeeiiiidnooooo*ouuuuy*y"; // à to ÿ
    static_assert(sizeof LATIN1 == 65);
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            out.push_back(static_cast<char>(std::tolower(c)));
        } else if (c == 0xC3 && i + 1 < text.size()) {
            const auto next = static_cast<unsigned char>(text[i + 1]);
            const char base = next >= 0x80 && next <= 0xBF ? LATIN1[next - 0x80] : '*';
            if (base != '*') {
                out.push_back(base);
                ++i;
                continue;
            }
            out.push_back(text[i]);
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::string Today() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buffer[16];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &tm);
    return buffer;
}

RecordDraft DraftFromRecord(const storage::RecordType& type, const Json& record) {
    RecordDraft d;
    d.type = type.name;
    d.id = record.value("id", "");
    d.project_id = record.value("project_id", "");
    for (const auto& f : type.fields) d.values[f.name] = ValueFrom(f, record.contains(f.name) ? record[f.name] : Json());
    d.created_at = record.value("created_at", "");
    d.updated_at = record.value("updated_at", "");
    d.author = record.value("author", "");
    return d;
}

RecordDraft NewDraft(const storage::RecordType& type, const std::string& project_id) {
    RecordDraft d;
    d.type = type.name;
    d.project_id = project_id;
    for (const auto& f : type.fields) d.values[f.name] = ValueFrom(f, f.default_value);
    return d;
}

FormFields ReadForm(const storage::RecordType& type, const RecordDraft& draft) {
    FormFields out;
    const bool creating = draft.id.empty();
    for (const auto& f : type.fields) {
        const auto it = draft.values.find(f.name);
        if (it == draft.values.end()) continue;
        const FieldValue& v = it->second;
        Json value;
        switch (f.kind) {
        case FieldKind::Boolean: value = v.flag; break;
        case FieldKind::ChoiceList:
        case FieldKind::ReferenceList:
            if (!v.items.empty()) value = v.items;
            break;
        case FieldKind::TextList: {
            auto items = SplitList(v.text);
            if (!items.empty()) value = std::move(items);
            break;
        }
        case FieldKind::Integer: {
            const auto text = Trimmed(v.text);
            if (text.empty()) break;
            int64_t n = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
            if (ec != std::errc() || end != text.data() + text.size()) {
                if (creating || draft.touched.count(f.name)) out.errors[f.name] = "is not a whole number";
                continue;
            }
            value = n;
            break;
        }
        case FieldKind::LongText:
            // Long text keeps its spaces and blank lines; only all-blank is empty.
            if (!Trimmed(v.text).empty()) value = v.text;
            break;
        default: {
            auto text = Trimmed(v.text);
            if (!text.empty()) value = std::move(text);
        }
        }
        if (f.required && value.is_null()) out.missing.push_back(f.name);
        if (creating) {
            if (!value.is_null()) out.fields[f.name] = value;
        } else if (draft.touched.count(f.name)) {
            if (f.required && value.is_null()) continue; // kept as it was until it has a value again
            out.fields[f.name] = value;
        }
    }
    return out;
}

} // namespace escucha::gui
