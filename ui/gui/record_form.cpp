#include "record_form.h"

#include "i18n.h"

#include <cctype>
#include <charconv>
#include <cstdio>
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

namespace {

/// The length of the character at `pos` when it belongs to a word (a letter
/// or digit of any script), else 0: spaces, ASCII punctuation, Latin-1's
/// ¡ ¿ « » and the like, and general punctuation (“ ” — …).
size_t WordCharLength(std::string_view text, size_t pos) {
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c < 0x80) return std::isalnum(c) ? 1 : 0;
    size_t len = 1;
    while (pos + len < text.size() && (static_cast<unsigned char>(text[pos + len]) & 0xC0) == 0x80) ++len;
    const auto next = pos + 1 < text.size() ? static_cast<unsigned char>(text[pos + 1]) : 0;
    if (c == 0xC2 && next >= 0xA0 && next <= 0xBF) return 0;   // U+00A0 to U+00BF
    if (c == 0xC3 && (next == 0x97 || next == 0xB7)) return 0; // × ÷
    if (c == 0xE2 && next == 0x80) return 0;                   // U+2000 to U+203F
    return len;
}

} // namespace

std::vector<std::pair<size_t, size_t>> FindTerms(std::string_view text, const std::vector<std::string>& terms) {
    std::vector<std::pair<size_t, size_t>> out;
    size_t pos = 0;
    while (pos < text.size()) {
        // Skip to a word, then to its end.
        while (pos < text.size() && WordCharLength(text, pos) == 0) {
            ++pos;
            while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
        }
        size_t end = pos;
        for (size_t len; end < text.size() && (len = WordCharLength(text, end)) > 0;) end += len;
        if (end == pos) break;
        const std::string folded = FoldForMatch(text.substr(pos, end - pos));
        for (const auto& term : terms) {
            if (term.empty()) continue;
            const bool prefix = term.back() == '*';
            const std::string_view t(term.data(), term.size() - (prefix ? 1 : 0));
            if (t.empty() || folded.size() < t.size() || folded.compare(0, t.size(), t) != 0) continue;
            if (!prefix && folded.size() != t.size()) continue;
            out.emplace_back(pos, end); // the whole word is marked, as the search matched it
            break;
        }
        pos = end;
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
    for (const auto& f : type.fields)
        d.values[f.name] = ValueFrom(f, record.contains(f.name) ? record[f.name] : Json());
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
                if (creating || draft.touched.count(f.name)) out.errors[f.name] = Tr("is not a whole number");
                continue;
            }
            value = n;
            break;
        }
        case FieldKind::Date: {
            auto text = Trimmed(v.text);
            if (text.empty()) break;
            if (auto problem = DateProblem(text); !problem.empty()) {
                // Said in words before anything is sent; the rest of the form is saved.
                if (creating || draft.touched.count(f.name)) out.errors[f.name] = std::move(problem);
                continue;
            }
            value = std::move(text);
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

// [SECTION] Dates

const char* MonthName(int month) {
    static const char* const NAMES[] = {N_("January"),   N_("February"), N_("March"),    N_("April"),
                                        N_("May"),       N_("June"),     N_("July"),     N_("August"),
                                        N_("September"), N_("October"),  N_("November"), N_("December")};
    return month >= 1 && month <= 12 ? Tr(NAMES[month - 1]) : "";
}

int DaysInMonth(int year, int month) {
    static constexpr int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12) return 0;
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return DAYS[month - 1] + (month == 2 && leap ? 1 : 0);
}

int Weekday(const CivilDate& date) {
    // Days since 1970-01-01 (a Thursday), after Howard Hinnant's days_from_civil.
    const int y = date.year - (date.month <= 2 ? 1 : 0);
    const int era = (y >= 0 ? y : y - 399) / 400;
    const int yoe = y - era * 400;
    const int doy = (153 * (date.month + (date.month > 2 ? -3 : 9)) + 2) / 5 + date.day - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const long days = static_cast<long>(era) * 146097 + doe - 719468;
    return static_cast<int>(((days % 7) + 7 + 3) % 7); // 1970-01-01 was a Thursday (3)
}

namespace {

/// YYYY-MM-DD at the start of `text`, the numbers as written (not checked against the calendar).
bool ReadDateNumbers(std::string_view text, CivilDate& out) {
    if (text.size() < 10 || text[4] != '-' || text[7] != '-') return false;
    const auto number = [&](size_t at, size_t len, int& n) {
        for (size_t i = at; i < at + len; ++i)
            if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
        return std::from_chars(text.data() + at, text.data() + at + len, n).ec == std::errc();
    };
    return number(0, 4, out.year) && number(5, 2, out.month) && number(8, 2, out.day);
}

} // namespace

std::optional<CivilDate> ParseDate(std::string_view text) {
    CivilDate d;
    if (!ReadDateNumbers(text, d)) return std::nullopt;
    if (text.size() > 10 && text[10] != 'T' && text[10] != ' ') return std::nullopt;
    if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > DaysInMonth(d.year, d.month)) return std::nullopt;
    return d;
}

std::string FormatDate(const CivilDate& date) {
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02d-%02d", date.year % 10000, date.month % 100, date.day % 100);
    return text;
}

std::string DateProblem(std::string_view text) {
    const std::string t = Trimmed(std::string(text));
    if (t.empty()) return {};
    CivilDate d;
    if (!ReadDateNumbers(t, d) || (t.size() > 10 && t[10] != 'T'))
        return Tr("is not a date: write it as year-month-day (2026-03-14) or choose it in the calendar");
    if (d.month < 1 || d.month > 12) return Tr("is not a day of the calendar: a year has 12 months");
    if (d.day < 1 || d.day > DaysInMonth(d.year, d.month)) {
        char words[200];
        std::snprintf(words, sizeof words, Tr("is not a day of the calendar: %s %d has %d days"), MonthName(d.month),
                      d.year, DaysInMonth(d.year, d.month));
        return words;
    }
    return {}; // a date and time: the vault checks the rest
}

} // namespace escucha::gui
