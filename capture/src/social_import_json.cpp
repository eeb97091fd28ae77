// Facebook and Instagram "Download your information" JSON, and Telegram
// desktop's result.json, read into the same SocialExport as a WhatsApp chat.
//
// Every file is someone else's: its nesting and its number of values are
// bounded while it is parsed, every field is read for what it may be rather
// than what it should be, and a value of the wrong kind is skipped or refused
// naming the file, never trusted.
#include "social_import_text.h"

#include "escucha/storage/error_code.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

namespace escucha::capture {

using storage::RecordError;
namespace errc = storage::errc;
using JsonDoc = nlohmann::json;

std::string RepairMojibake(std::string_view text) {
    std::string bytes;
    bool high = false;
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            bytes.push_back(static_cast<char>(c));
            ++i;
        } else if ((c == 0xC2 || c == 0xC3) && i + 1 < text.size() &&
                   (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
            // U+0080..U+00FF: one byte of what was meant.
            bytes.push_back(static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F)));
            high = true;
            i += 2;
        } else {
            return std::string(text); // a character above U+00FF: not mojibake
        }
    }
    if (!high || !storage::IsValidUtf8(bytes)) return std::string(text);
    return bytes;
}

namespace social {

namespace {

// [SECTION] Reading JSON within bounds

struct JsonLimit {
    const char* what;
};

} // namespace

// Keys no import reads (Telegram's duplicate text_entities, reactions) are
// dropped as they are read.
JsonDoc ParseJsonWithin(std::string_view text, const std::string& file, const std::string& entry,
                        const SocialLimits& limits) {
    if (static_cast<int64_t>(text.size()) > limits.max_chat_bytes) ThrowTooLarge(file, limits.max_chat_bytes);
    int64_t values = 0;
    const auto callback = [&](int depth, JsonDoc::parse_event_t event, JsonDoc& parsed) {
        switch (event) {
        case JsonDoc::parse_event_t::object_start:
        case JsonDoc::parse_event_t::array_start:
            if (depth >= limits.max_json_depth) throw JsonLimit{"depth"};
            [[fallthrough]];
        case JsonDoc::parse_event_t::value:
            if (++values > limits.max_json_values) throw JsonLimit{"values"};
            return true;
        case JsonDoc::parse_event_t::key:
            return !(parsed == "text_entities" || parsed == "reactions");
        default: return true;
        }
    };
    try {
        return JsonDoc::parse(text.begin(), text.end(), callback);
    } catch (const JsonLimit& limit) {
        throw RecordError("file", file + ": " + entry + " goes beyond the limit of its " + limit.what,
                          errc::SOCIAL_TOO_LARGE,
                          {{"file", file},
                           {"limit", std::string(limit.what) == std::string("depth")
                                         ? std::to_string(limits.max_json_depth) + " levels of nesting"
                                         : std::to_string(limits.max_json_values) + " JSON values"}});
    } catch (const JsonDoc::exception&) {
        throw RecordError("file", file + ": " + entry + " is not JSON that can be read", errc::SOCIAL_ARCHIVE_DAMAGED,
                          {{"file", file}, {"entry", entry}});
    }
}

namespace {

[[noreturn]] void ThrowUnknown(const std::string& file) {
    throw RecordError("file", file + " is not a chat export this program knows", errc::SOCIAL_UNKNOWN_FORMAT,
                      {{"file", file}});
}

[[noreturn]] void ThrowBadValue(const std::string& file, const std::string& entry, const std::string& what) {
    throw RecordError("file", file + ": " + entry + ", " + what + " cannot be read", errc::SOCIAL_ARCHIVE_DAMAGED,
                      {{"file", file}, {"entry", entry + " (" + what + ")"}});
}

const JsonDoc* Member(const JsonDoc& object, const char* key) {
    if (!object.is_object()) return nullptr;
    const auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

/// A string member, NULs dropped; empty when absent or not a string.
std::string StringOf(const JsonDoc& object, const char* key) {
    const JsonDoc* v = Member(object, key);
    if (!v || !v->is_string()) return "";
    std::string s = v->get<std::string>();
    s.erase(std::remove(s.begin(), s.end(), '\0'), s.end());
    return s;
}

/// An integer member (a number, or a string of digits as Telegram writes them).
std::optional<int64_t> IntegerOf(const JsonDoc& object, const char* key) {
    const JsonDoc* v = Member(object, key);
    if (!v) return std::nullopt;
    if (v->is_number_integer()) return v->get<int64_t>();
    if (v->is_number_float()) {
        const double d = v->get<double>();
        if (d >= -9e15 && d <= 9e15) return static_cast<int64_t>(d);
        return std::nullopt;
    }
    if (v->is_string()) {
        const auto& s = v->get_ref<const std::string&>();
        if (s.empty() || s.size() > 18) return std::nullopt;
        int64_t n = 0;
        for (char c : s) {
            if (c < '0' || c > '9') return std::nullopt;
            n = n * 10 + (c - '0');
        }
        return n;
    }
    return std::nullopt;
}

const JsonDoc& ArrayOf(const JsonDoc& object, const char* key) {
    static const JsonDoc EMPTY = JsonDoc::array();
    const JsonDoc* v = Member(object, key);
    return v && v->is_array() ? *v : EMPTY;
}

/// Seconds since 1970 as UTC, "YYYY-MM-DDTHH:MM:SSZ"; nothing for a time
/// before 1970 or after 9999.
std::optional<std::string> UtcFromSeconds(int64_t seconds) {
    if (seconds < 0 || seconds > 253402300799) return std::nullopt;
    const int64_t days = seconds / 86400;
    const int64_t rest = seconds % 86400;
    // Days to a civil date (H. Hinnant's algorithm).
    const int64_t z = days + 719468;
    const int64_t era = z / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t day = doy - (153 * mp + 2) / 5 + 1;
    const int64_t month = mp < 10 ? mp + 3 : mp - 9;
    const int64_t year = yoe + era * 400 + (month <= 2);
    char out[64];
    std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02dZ", static_cast<int>(year), static_cast<int>(month),
                  static_cast<int>(day), static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                  static_cast<int>(rest % 60));
    return std::string(out);
}

/// The last part of a path or address, as a name to show: never a path.
std::string BaseOf(const std::string& uri) {
    std::string s = uri;
    if (const size_t q = s.find_first_of("?#"); q != std::string::npos && s.find("://") != std::string::npos)
        s.resize(q);
    const size_t slash = s.find_last_of("/\\");
    if (slash != std::string::npos) s = s.substr(slash + 1);
    return Trim(s);
}

void CheckMessageSize(const std::string& text, const std::string& file, const SocialLimits& limits) {
    if (static_cast<int64_t>(text.size()) > limits.max_message_bytes) ThrowTooLarge(file, limits.max_message_bytes);
}

/// One message on its way into an export: `order` keeps the file's order
/// among messages of the same time; `key` and `reply_key` link replies.
struct Draft {
    SocialMessage message;
    int64_t order = 0;
    bool by_owner = false;
    std::string key;
    std::string reply_key;
};

/// Sorts `drafts` by time (the file's order among equal times), links replies
/// and checks the counts; fills `out.messages`.
void Settle(std::vector<Draft>& drafts, SocialExport& out, const SocialLimits& limits) {
    std::stable_sort(drafts.begin(), drafts.end(), [](const Draft& a, const Draft& b) {
        if (a.message.posted_at != b.message.posted_at) return a.message.posted_at < b.message.posted_at;
        return a.order < b.order;
    });
    std::map<std::string, size_t> at;
    for (size_t i = 0; i < drafts.size(); ++i)
        if (!drafts[i].key.empty()) at.emplace(drafts[i].key, i);
    // One thread for all: the export's, so a name chosen for it applies.
    std::set<std::string> threads;
    for (const auto& d : drafts) threads.insert(d.message.thread);
    const bool one_thread = threads.size() == 1;
    if (one_thread && !drafts.empty()) out.thread = drafts.front().message.thread;
    std::set<std::string> authors;
    out.messages.reserve(drafts.size());
    for (size_t i = 0; i < drafts.size(); ++i) {
        auto& d = drafts[i];
        if (!d.reply_key.empty())
            if (const auto it = at.find(d.reply_key); it != at.end() && it->second < i) d.message.reply_to = it->second;
        if (one_thread) d.message.thread.clear();
        d.message.line = static_cast<int64_t>(i) + 1;
        authors.insert(d.message.author);
        if (static_cast<int64_t>(authors.size()) > limits.max_authors) ThrowTooLarge(out.file, limits.max_authors);
        out.messages.push_back(std::move(d.message));
    }
}

} // namespace

bool LooksLikeJson(std::string_view bytes) {
    size_t i = bytes.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
    const auto skip = [&] {
        while (i < bytes.size() && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\r' || bytes[i] == '\n')) ++i;
    };
    skip();
    if (i >= bytes.size()) return false;
    if (bytes[i] == '{') return true;
    if (bytes[i] != '[') return false;
    ++i; // "[14/3/24, 21:08:12]" starts an iOS chat; "[{" or "[]" starts JSON
    skip();
    return i < bytes.size() && (bytes[i] == '{' || bytes[i] == ']');
}

// [SECTION] Facebook and Instagram

struct MetaReader::State {
    std::vector<Draft> drafts;
    std::string owner; ///< the account's owner, from the profile file or the comments' author
    int64_t order = 0;
    int64_t system = 0;
    int64_t unsent = 0;
    int facebook = 0;
    std::vector<std::string> threads_seen;
};

MetaReader::MetaReader(std::string file_name, const SocialLimits& limits)
    : m_file(std::move(file_name)), m_limits(limits), m_state(std::make_unique<State>()) {}
MetaReader::~MetaReader() = default;


namespace {

/// A string of a Meta export, repaired.
std::string MetaString(const JsonDoc& object, const char* key) { return RepairMojibake(StringOf(object, key)); }

/// The names of the files under `media` keys ("photos", "videos"...), each {uri}.
void MetaAttachments(const JsonDoc& object, std::vector<std::string>& out) {
    for (const char* key : {"photos", "videos", "audio_files", "files", "gifs"})
        for (const auto& media : ArrayOf(object, key)) {
            const std::string name = BaseOf(MetaString(media, "uri"));
            if (!name.empty()) out.push_back(name);
        }
    if (const JsonDoc* sticker = Member(object, "sticker")) {
        const std::string name = BaseOf(MetaString(*sticker, "uri"));
        if (!name.empty()) out.push_back(name);
    }
}

/// The group a title names: "Ana posted in Cafeteros del Sur." gives
/// "Cafeteros del Sur"; empty when the title says no group this way.
std::string GroupOfTitle(const std::string& title) {
    for (const char* says : {" posted in ", " publicó en ", " publicou em ", " a publié dans ", " commented in ",
                             " comentó en ", " comentou em ", " a commenté dans "}) {
        const size_t at = title.rfind(says);
        if (at == std::string::npos) continue;
        std::string group = title.substr(at + std::strlen(says));
        while (!group.empty() && (group.back() == '.' || group.back() == ' ')) group.pop_back();
        return Trim(group);
    }
    return "";
}

/// The text of a post's `data` ([{post}, {update_timestamp}...]) and the
/// names and links of its `attachments`.
void PostBody(const JsonDoc& post, std::string& text, std::vector<std::string>& attachments) {
    for (const auto& d : ArrayOf(post, "data")) {
        const std::string part = MetaString(d, "post");
        if (part.empty()) continue;
        if (!text.empty()) text += "\n";
        text += part;
    }
    for (const auto& a : ArrayOf(post, "attachments"))
        for (const auto& d : ArrayOf(a, "data")) {
            if (const JsonDoc* media = Member(d, "media")) {
                const std::string name = BaseOf(MetaString(*media, "uri"));
                if (!name.empty()) attachments.push_back(name);
            }
            if (const JsonDoc* context = Member(d, "external_context")) {
                const std::string url = MetaString(*context, "url");
                if (!url.empty() && text.find(url) == std::string::npos) text += (text.empty() ? "" : "\n") + url;
            }
        }
}

} // namespace

JsonKind MetaReader::Add(const JsonDoc& doc, const std::string& entry) {
    State& s = *m_state;
    const auto add = [&](Draft d, int64_t seconds, const std::string& what) {
        const auto stamp = UtcFromSeconds(seconds);
        if (!stamp) ThrowBadValue(m_file, entry, what + " time");
        d.message.posted_at = *stamp;
        CheckMessageSize(d.message.text, m_file, m_limits);
        if (static_cast<int64_t>(s.drafts.size()) >= m_limits.max_messages) ThrowTooLarge(m_file, m_limits.max_messages);
        d.order = s.order++;
        s.drafts.push_back(std::move(d));
    };

    // Profile: who the account's owner is (the author of posts and comments).
    if (const JsonDoc* profile = Member(doc, "profile_v2"); profile && Member(*profile, "name")) {
        const std::string name = MetaString(*Member(*profile, "name"), "full_name");
        if (!name.empty()) s.owner = name;
        ++s.facebook;
        return JsonKind::MetaProfile;
    }

    // Messenger and Instagram direct messages: {participants, messages, title}.
    if (doc.is_object() && Member(doc, "messages") && Member(doc, "participants")) {
        if (Member(doc, "thread_type")) ++s.facebook;
        else if (Member(doc, "joinable_mode") || Member(doc, "magic_words")) ++m_instagram;
        std::string thread = MetaString(doc, "title");
        if (thread.empty()) thread = BaseOf(MetaString(doc, "thread_path"));
        if (thread.empty()) thread = m_file;
        int64_t n = 0;
        for (const auto& m : ArrayOf(doc, "messages")) {
            ++n;
            const std::string type = StringOf(m, "type");
            const std::string author = Trim(MetaString(m, "sender_name"));
            if (type == "Call" || type == "Subscribe" || type == "Unsubscribe" || author.empty()) {
                ++s.system;
                continue;
            }
            if (const JsonDoc* unsent = Member(m, "is_unsent"); unsent && unsent->is_boolean() && unsent->get<bool>()) {
                ++s.unsent;
                continue;
            }
            const auto ms = IntegerOf(m, "timestamp_ms");
            if (!ms) ThrowBadValue(m_file, entry, "message " + std::to_string(n) + "'s time");
            Draft d;
            d.message.author = author;
            d.message.thread = thread;
            d.message.text = MetaString(m, "content");
            MetaAttachments(m, d.message.attachments);
            if (const JsonDoc* share = Member(m, "share")) {
                const std::string link = MetaString(*share, "link");
                if (!link.empty() && d.message.text.find(link) == std::string::npos)
                    d.message.text += (d.message.text.empty() ? "" : "\n") + link;
            }
            add(std::move(d), *ms / 1000, "message " + std::to_string(n) + "'s");
        }
        return JsonKind::Meta;
    }

    // Comments: {"comments_v2": [{timestamp, title, data: [{comment: {timestamp, comment, author, group}}]}]};
    // group comments under "group_comments_v2".
    for (const char* key : {"comments_v2", "group_comments_v2", "comments"}) {
        const JsonDoc* list = Member(doc, key);
        if (!list || !list->is_array()) continue;
        ++s.facebook;
        const bool in_groups = std::string(key) == "group_comments_v2";
        int64_t n = 0;
        for (const auto& c : *list) {
            ++n;
            for (const auto& d : ArrayOf(c, "data")) {
                const JsonDoc* comment = Member(d, "comment");
                if (!comment) continue;
                Draft draft;
                draft.message.text = MetaString(*comment, "comment");
                draft.message.author = Trim(MetaString(*comment, "author"));
                if (draft.message.author.empty()) draft.by_owner = true;
                else if (s.owner.empty()) s.owner = draft.message.author; // the export's own comments
                std::string group = Trim(MetaString(*comment, "group"));
                if (group.empty() && in_groups) group = GroupOfTitle(MetaString(c, "title"));
                draft.message.thread = !group.empty() ? group : in_groups ? "Facebook: group comments" : "Facebook: comments";
                MetaAttachments(*comment, draft.message.attachments);
                const auto t = IntegerOf(*comment, "timestamp") ? IntegerOf(*comment, "timestamp") : IntegerOf(c, "timestamp");
                if (!t) ThrowBadValue(m_file, entry, "comment " + std::to_string(n) + "'s time");
                add(std::move(draft), *t, "comment " + std::to_string(n) + "'s");
            }
        }
        return JsonKind::Meta;
    }

    // Group posts: {"group_posts_v2": [{timestamp, title, data: [{post}], attachments}]}.
    if (const JsonDoc* list = Member(doc, "group_posts_v2"); list && list->is_array()) {
        ++s.facebook;
        int64_t n = 0;
        for (const auto& p : *list) {
            ++n;
            Draft d;
            d.by_owner = true;
            PostBody(p, d.message.text, d.message.attachments);
            const std::string group = GroupOfTitle(MetaString(p, "title"));
            d.message.thread = group.empty() ? "Facebook: group posts" : group;
            const auto t = IntegerOf(p, "timestamp");
            if (!t) ThrowBadValue(m_file, entry, "post " + std::to_string(n) + "'s time");
            add(std::move(d), *t, "post " + std::to_string(n) + "'s");
        }
        return JsonKind::Meta;
    }

    // Posts: Facebook's [{timestamp, title, data, attachments}], Instagram's [{media: [...], title}].
    if (doc.is_array() && !doc.empty() && std::all_of(doc.begin(), doc.end(), [](const JsonDoc& p) {
            return p.is_object() && (Member(p, "timestamp") || Member(p, "media"));
        })) {
        int64_t n = 0;
        for (const auto& p : doc) {
            ++n;
            Draft d;
            d.by_owner = true;
            std::optional<int64_t> t = IntegerOf(p, "timestamp");
            if (const JsonDoc* media = Member(p, "media"); media && media->is_array()) {
                ++m_instagram;
                d.message.thread = "Instagram: posts";
                d.message.text = MetaString(p, "title");
                for (const auto& item : *media) {
                    const std::string name = BaseOf(MetaString(item, "uri"));
                    if (!name.empty()) d.message.attachments.push_back(name);
                    if (d.message.text.empty()) d.message.text = MetaString(item, "title");
                    if (!t) t = IntegerOf(item, "creation_timestamp");
                }
                if (!t) t = IntegerOf(p, "creation_timestamp");
            } else {
                ++s.facebook;
                d.message.thread = "Facebook: posts";
                PostBody(p, d.message.text, d.message.attachments);
            }
            if (!t) ThrowBadValue(m_file, entry, "post " + std::to_string(n) + "'s time");
            add(std::move(d), *t, "post " + std::to_string(n) + "'s");
        }
        return JsonKind::Meta;
    }
    return JsonKind::Unknown;
}

SocialExport MetaReader::Finish() {
    State& s = *m_state;
    SocialExport out;
    out.platform = m_instagram > s.facebook ? "instagram" : "facebook";
    out.file = m_file;
    out.layout = "json";
    out.date_order = DateOrder::YearMonthDay;
    out.date_order_basis = DateOrderBasis::YearFirst;
    out.system_lines = s.system;
    out.deleted_messages = s.unsent;
    // Posts and comments the export does not sign are its owner's.
    const std::string owner = s.owner.empty() ? std::string("(account owner)") : s.owner;
    for (auto& d : s.drafts)
        if (d.by_owner) d.message.author = owner;
    out.thread = out.platform == "instagram" ? "Instagram" : "Facebook";
    Settle(s.drafts, out, m_limits);
    return out;
}

// [SECTION] Telegram

namespace {

/// A Telegram text: a string, or an array of strings and {type, text} objects.
std::string TelegramText(const JsonDoc& text) {
    if (text.is_string()) return text.get<std::string>();
    std::string out;
    if (!text.is_array()) return out;
    for (const auto& part : text) {
        if (part.is_string()) out += part.get<std::string>();
        else out += StringOf(part, "text");
    }
    return out;
}

bool IsLocalIsoTime(const std::string& s) {
    // "2024-03-14T21:05:10"
    if (s.size() != 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return false;
    for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u, 11u, 12u, 14u, 15u, 17u, 18u})
        if (s[i] < '0' || s[i] > '9') return false;
    const int month = std::stoi(s.substr(5, 2)), day = std::stoi(s.substr(8, 2));
    return month >= 1 && month <= 12 && day >= 1 && day <= 31 && std::stoi(s.substr(11, 2)) < 24 &&
           std::stoi(s.substr(14, 2)) < 60 && std::stoi(s.substr(17, 2)) < 61;
}

constexpr char NOT_INCLUDED[] = "(File not included";

bool IsTelegramChat(const JsonDoc& chat) {
    if (!chat.is_object()) return false;
    const JsonDoc* messages = Member(chat, "messages");
    if (!messages || !messages->is_array()) return false;
    if (Member(chat, "participants")) return false; // Messenger's
    for (const auto& m : *messages) return Member(m, "date_unixtime") || Member(m, "date");
    return Member(chat, "type") && Member(chat, "name");
}

void ReadTelegramChat(const JsonDoc& chat, size_t chat_index, std::vector<Draft>& drafts, SocialExport& out,
                      const std::string& entry, const SocialLimits& limits) {
    std::string thread = StringOf(chat, "name");
    const std::string type = StringOf(chat, "type");
    if (thread.empty()) thread = type == "saved_messages" ? "Saved Messages" : "Telegram " + std::to_string(chat_index + 1);
    const std::string prefix = std::to_string(chat_index) + "#";
    int64_t n = 0;
    for (const auto& m : ArrayOf(chat, "messages")) {
        ++n;
        if (StringOf(m, "type") != "message") {
            ++out.system_lines; // group events, calls, pins: not messages of anyone
            continue;
        }
        Draft d;
        d.message.thread = thread;
        d.message.author = Trim(StringOf(m, "from"));
        if (d.message.author.empty()) d.message.author = Trim(StringOf(m, "from_id"));
        if (d.message.author.empty()) d.message.author = "Deleted Account";
        if (const auto unix_time = IntegerOf(m, "date_unixtime")) {
            const auto stamp = UtcFromSeconds(*unix_time);
            if (!stamp) ThrowBadValue(out.file, entry, "message " + std::to_string(n) + "'s time");
            d.message.posted_at = *stamp;
        } else if (const std::string local = StringOf(m, "date"); IsLocalIsoTime(local)) {
            d.message.posted_at = local; // local, no offset: as the export gives it
        } else {
            ThrowBadValue(out.file, entry, "message " + std::to_string(n) + "'s time");
        }
        if (const JsonDoc* text = Member(m, "text")) d.message.text = TelegramText(*text);
        d.message.text.erase(std::remove(d.message.text.begin(), d.message.text.end(), '\0'), d.message.text.end());
        if (const JsonDoc* poll = Member(m, "poll")) {
            std::string words = StringOf(*poll, "question");
            for (const auto& answer : ArrayOf(*poll, "answers"))
                if (const std::string a = StringOf(answer, "text"); !a.empty()) words += "\n- " + a;
            if (!words.empty()) d.message.text += (d.message.text.empty() ? "" : "\n") + words;
        }
        for (const char* key : {"photo", "file"}) {
            const std::string path = StringOf(m, key);
            if (path.empty()) continue;
            if (path.rfind(NOT_INCLUDED, 0) == 0) d.message.media_omitted = true;
            else if (const std::string name = BaseOf(path); !name.empty()) d.message.attachments.push_back(name);
        }
        CheckMessageSize(d.message.text, out.file, limits);
        if (const auto id = IntegerOf(m, "id")) d.key = prefix + std::to_string(*id);
        if (const auto reply = IntegerOf(m, "reply_to_message_id")) d.reply_key = prefix + std::to_string(*reply);
        if (static_cast<int64_t>(drafts.size()) >= limits.max_messages) ThrowTooLarge(out.file, limits.max_messages);
        d.order = static_cast<int64_t>(drafts.size());
        drafts.push_back(std::move(d));
    }
}

} // namespace

bool IsTelegram(const JsonDoc& doc) {
    if (IsTelegramChat(doc)) return true;
    const JsonDoc* chats = Member(doc, "chats");
    return chats && Member(*chats, "list") && Member(*chats, "list")->is_array();
}

SocialExport ParseTelegram(const JsonDoc& doc, const std::string& file_name, const std::string& entry,
                           const SocialLimits& limits) {
    SocialExport out;
    out.platform = "telegram";
    out.file = file_name;
    out.layout = "json";
    out.date_order = DateOrder::YearMonthDay;
    out.date_order_basis = DateOrderBasis::YearFirst;
    out.thread = "Telegram";
    std::vector<Draft> drafts;
    if (IsTelegramChat(doc)) {
        ReadTelegramChat(doc, 0, drafts, out, entry, limits);
    } else if (const JsonDoc* chats = Member(doc, "chats"); chats && Member(*chats, "list")) {
        size_t index = 0;
        for (const char* key : {"chats", "left_chats"}) {
            const JsonDoc* group = Member(doc, key);
            if (!group) continue;
            for (const auto& chat : ArrayOf(*group, "list")) ReadTelegramChat(chat, index++, drafts, out, entry, limits);
        }
    } else {
        ThrowUnknown(file_name);
    }
    Settle(drafts, out, limits);
    return out;
}

SocialExport ParseSocialJson(std::string_view text, const std::string& file_name, const SocialLimits& limits) {
    const JsonDoc doc = ParseJsonWithin(text, file_name, file_name, limits);
    if (IsTelegram(doc)) return ParseTelegram(doc, file_name, file_name, limits);
    MetaReader meta(file_name, limits);
    if (LowerAscii(file_name).find("instagram") != std::string::npos) meta.VoteInstagram();
    if (meta.Add(doc, file_name) != JsonKind::Meta) ThrowUnknown(file_name);
    return meta.Finish();
}

} // namespace social
} // namespace escucha::capture
