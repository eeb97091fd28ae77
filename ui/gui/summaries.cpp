// What lists and the status show of a record without reading all of it, and
// small helpers every feature uses (times in words, the author's name, the
// words of a query). No state.
//
// Thread contract: Summarise and SummaryFields run on any thread; the rest
// (they translate) on the UI thread.
// [SECTION] Summaries
// [SECTION] Times, names and queries
#include "summaries.h"

#include "i18n.h"
#include "record_form.h"

#include "escucha/capture/operations.h"
#include "escucha/interpret/interpretation_records.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include <pwd.h>
#include <unistd.h>

namespace escucha::gui {

using storage::Json;

// [SECTION] Summaries

const std::vector<std::string>& RecordSections() {
    static const std::vector<std::string> sections = [] {
        std::vector<const storage::RecordType*> listed;
        for (const auto& type : interpret::AllRecordTypes().Types())
            if (type.list_order > 0) listed.push_back(&type);
        std::stable_sort(listed.begin(), listed.end(),
                         [](const auto* a, const auto* b) { return a->list_order < b->list_order; });
        std::vector<std::string> names;
        for (const auto* type : listed) names.push_back(type->name);
        return names;
    }();
    return sections;
}

const storage::RecordType& TypeNamed(const std::string& name) { return interpret::AllRecordTypes().Get(name); }

const std::string& TypeWithRole(storage::RecordRole role) {
    static const std::string none;
    const auto* type = interpret::AllRecordTypes().WithRole(role);
    return type ? type->name : none;
}

bool HasRole(const std::string& name, storage::RecordRole role) {
    const auto* type = interpret::AllRecordTypes().Find(name);
    return type && type->role == role;
}

std::string PersonFieldOf(const storage::RecordType& type) {
    const auto* field = capture::PersonField(interpret::AllRecordTypes(), type);
    return field ? field->name : std::string();
}

namespace {

constexpr const char* WHEN_FIELDS[] = {"started_at", "written_at", "posted_at", "obtained_at"};
constexpr size_t TITLE_FROM_TEXT_BYTES = 80;

std::string Str(const Json& record, const std::string& field) {
    if (!record.contains(field) || !record[field].is_string()) return {};
    return record[field].get<std::string>();
}

} // namespace

std::string FirstWords(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    if (line.size() <= TITLE_FROM_TEXT_BYTES) return line;
    size_t cut = TITLE_FROM_TEXT_BYTES;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    return line.substr(0, cut) + "…";
}

std::vector<std::string> SummaryFields(const storage::RecordType& type) {
    std::vector<std::string> fields;
    const auto add = [&](const std::string& name) {
        if (type.Field(name) && std::find(fields.begin(), fields.end(), name) == fields.end()) fields.push_back(name);
    };
    if (!type.title_field.empty()) add(type.title_field);
    add("kind");
    add("mode");
    add("status");
    add("platform");
    if (const auto person = PersonFieldOf(type); !person.empty()) add(person);
    for (const char* f : WHEN_FIELDS) add(f);
    // Types whose title may be empty are named by the first words of their text.
    add("paraphrase");
    add("text");
    // A chat message with only a voice note or a photo is named by its file.
    add("attachments");
    add("thread");
    return fields;
}

RowSummary Summarise(const storage::RecordType& type, const Json& record) {
    RowSummary row;
    row.id = Str(record, "id");
    if (!type.title_field.empty()) row.title = Str(record, type.title_field);
    if (row.title.empty()) {
        // A paraphrase is what may be shown of a social-media item; its verbatim text only if none.
        std::string text = Str(record, "paraphrase");
        if (text.empty()) text = Str(record, "text");
        row.title = FirstWords(text);
    }
    if (type.name == "social_media_item") {
        if (row.title.empty() && record.contains("attachments") && record["attachments"].is_array())
            for (const auto& a : record["attachments"])
                if (a.is_string()) row.title += (row.title.empty() ? "" : ", ") + a.get<std::string>();
        const std::string thread = Str(record, "thread");
        row.title = Str(record, "platform") + (thread.empty() ? "" : " · " + thread) + ": " + row.title;
        row.order = thread + '\x1F' + Str(record, "posted_at") + '\x1F' + row.id;
    }
    row.kind = Str(record, type.Field("kind") ? "kind" : "mode");
    row.status = Str(record, "status");
    for (const char* f : WHEN_FIELDS)
        if (row.when.empty()) row.when = Str(record, f).substr(0, 10);
    if (row.when.empty()) row.when = Str(record, "created_at").substr(0, 10);
    if (const auto person = PersonFieldOf(type); !person.empty()) row.ref = Str(record, person);
    return row;
}

// [SECTION] Times, names and queries

std::time_t ParseIsoUtc(const std::string& iso) {
    // 2026-03-14T09:30:00.000Z (seconds and what follows them optional)
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    char t = 0;
    if (std::sscanf(iso.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &t, &h, &mi, &sec) < 6 || t != 'T') return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return timegm(&tm);
}

std::string SinceInWords(const std::string& iso_utc, std::time_t now) {
    const std::time_t then = ParseIsoUtc(iso_utc);
    if (then < 0) return {};
    const long long ago = static_cast<long long>(now) - static_cast<long long>(then);
    char words[160];
    // No plural forms in the catalogue: one is said apart, as people say it.
    if (ago < 60) std::snprintf(words, sizeof words, "%s", Tr("just now"));
    else if (ago < 120) std::snprintf(words, sizeof words, "%s", Tr("a minute ago"));
    else if (ago < 3600) std::snprintf(words, sizeof words, Tr("%d minutes ago"), static_cast<int>(ago / 60));
    else if (ago < 7200) std::snprintf(words, sizeof words, "%s", Tr("an hour ago"));
    else if (ago < 86400) std::snprintf(words, sizeof words, Tr("%d hours ago"), static_cast<int>(ago / 3600));
    else if (ago < 2 * 86400) std::snprintf(words, sizeof words, "%s", Tr("yesterday"));
    else std::snprintf(words, sizeof words, Tr("%d days ago"), static_cast<int>(ago / 86400));
    // And when, on this device's clock: the time today, else the day.
    std::tm local{}, today{};
    localtime_r(&then, &local);
    localtime_r(&now, &today);
    char when[32];
    if (ago >= 0 && local.tm_year == today.tm_year && local.tm_yday == today.tm_yday)
        std::strftime(when, sizeof when, "%H:%M", &local);
    else std::strftime(when, sizeof when, "%Y-%m-%d %H:%M", &local);
    return std::string(words) + " (" + when + ")";
}

std::string DefaultAuthorName() {
    // The account's full name (the first part of its GECOS field) says most.
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_gecos) {
        std::string full = pw->pw_gecos;
        full = full.substr(0, full.find(','));
        if (full.find_first_not_of(' ') != std::string::npos) return full;
    }
    for (const char* var : {"USER", "LOGNAME"})
        if (const char* v = std::getenv(var); v && *v) return v;
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0 && host[0]) return host;
    return "escucha";
}

std::vector<std::string> QueryTerms(const std::string& query) {
    std::vector<std::string> terms;
    std::string word;
    const auto flush = [&] {
        if (!word.empty() && word != "AND" && word != "OR" && word != "NOT" && word != "NEAR")
            terms.push_back(FoldForMatch(word));
        word.clear();
    };
    for (const char ch : query) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x80 || std::isalnum(c)) {
            word.push_back(ch);
        } else if (c == '*' && !word.empty()) {
            word.push_back('*');
            flush();
        } else {
            flush();
        }
    }
    flush();
    return terms;
}

} // namespace escucha::gui
