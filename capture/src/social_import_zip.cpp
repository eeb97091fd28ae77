// A zip read from memory with libzip: a WhatsApp chat's text, or the JSON
// files of a Facebook or Instagram export (or a Telegram result.json), are
// decompressed into memory, the media beside them only listed. Nothing is
// written anywhere, and no name from the archive is used as a path.
#include "social_import_text.h"

#include "escucha/storage/error_code.h"

#include <zip.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <map>
#include <optional>

namespace escucha::capture::social {

using storage::RecordError;
namespace errc = storage::errc;

void ZipDiscard::operator()(zip_t* archive) const noexcept { zip_discard(archive); }

namespace {

struct ZipFileClose {
    void operator()(zip_file_t* file) const noexcept { zip_fclose(file); }
};
struct ZipSourceFree {
    void operator()(zip_source_t* source) const noexcept { zip_source_free(source); }
};

} // namespace

RecordError Damaged(const std::string& file, const std::string& entry) {
    return RecordError("file", file + ": " + entry + " cannot be read", errc::SOCIAL_ARCHIVE_DAMAGED,
                       {{"file", file}, {"entry", entry}});
}

std::string BaseName(const std::string& name) {
    const size_t slash = name.find_last_of("/\\");
    return slash == std::string::npos ? name : name.substr(slash + 1);
}

namespace {

/// Whether an entry is the chat: "_chat.txt" (iOS) ranks first, then a .txt
/// whose name says WhatsApp (Android), then any .txt. 0: not a chat.
int ChatRank(const std::string& base) {
    const std::string lower = LowerAscii(base);
    if (lower.size() < 5 || lower.substr(lower.size() - 4) != ".txt") return 0;
    if (lower == "_chat.txt") return 3;
    if (lower.find("whatsapp") != std::string::npos) return 2;
    return 1;
}

/// Whether an entry is one of the JSON files a Facebook or Instagram export
/// keeps its messages, posts, comments or owner's name in.
bool IsMetaJson(const std::string& name) {
    const std::string lower = LowerAscii(name);
    const std::string base = BaseName(lower);
    if (base.size() < 6 || base.substr(base.size() - 5) != ".json") return false;
    const auto numbered = [&](const char* head) {
        const size_t n = std::strlen(head);
        if (base.rfind(head, 0) != 0) return false;
        for (size_t i = n; i + 5 < base.size(); ++i)
            if (base[i] < '0' || base[i] > '9') return false;
        return base.size() > n + 5;
    };
    if (numbered("message_")) return lower.find("messages/") != std::string::npos;
    if (numbered("your_posts_") || numbered("posts_")) return true;
    return base == "comments.json" || base == "your_posts_in_groups.json" || base == "group_posts_and_comments.json" ||
           base == "your_comments_in_groups.json" || base == "profile_information.json";
}

} // namespace

/// Reads entry `index` into memory, never beyond `limit` whatever its header declares.
std::string ReadEntry(zip_t* archive, zip_int64_t index, int64_t declared, const std::string& file_name,
                      const std::string& entry, int64_t limit) {
    if (declared < 0 || declared > limit) ThrowTooLarge(file_name, limit);
    std::unique_ptr<zip_file_t, ZipFileClose> file(zip_fopen_index(archive, static_cast<zip_uint64_t>(index), 0));
    if (!file) throw Damaged(file_name, BaseName(entry));
    std::string text;
    text.reserve(static_cast<size_t>(declared));
    char buffer[65536];
    while (true) {
        const zip_int64_t n = zip_fread(file.get(), buffer, sizeof buffer);
        if (n < 0) throw Damaged(file_name, BaseName(entry));
        if (n == 0) break;
        if (static_cast<int64_t>(text.size()) + n > limit) ThrowTooLarge(file_name, limit);
        text.append(buffer, static_cast<size_t>(n));
    }
    if (static_cast<int64_t>(text.size()) != declared) throw Damaged(file_name, BaseName(entry));
    return text;
}

std::unique_ptr<zip_t, ZipDiscard> OpenZip(std::string_view bytes, const std::string& file_name) {
    zip_error_t error;
    zip_error_init(&error);
    // The archive reads the caller's bytes where they are: no copy, no file.
    std::unique_ptr<zip_source_t, ZipSourceFree> source(
        zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error));
    std::unique_ptr<zip_t, ZipDiscard> archive;
    if (source) {
        archive.reset(zip_open_from_source(source.get(), ZIP_RDONLY | ZIP_CHECKCONS, &error));
        if (archive) (void)source.release(); // the archive owns it now
    }
    zip_error_fini(&error);
    if (!archive) throw Damaged(file_name, file_name);
    return archive;
}

SocialExport ParseSocialZip(std::string_view bytes, const std::string& file_name, const SocialLimits& limits) {
    const auto archive = OpenZip(bytes, file_name);

    const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
    if (count < 0) throw Damaged(file_name, file_name);
    if (count > limits.max_entries) ThrowTooLarge(file_name, limits.max_entries);

    SocialExport out;
    zip_int64_t chat = -1;
    int chat_rank = 0;
    std::string chat_name;
    int64_t chat_size = 0;
    std::vector<std::string> media;
    struct Entry {
        zip_int64_t index;
        std::string name;
        int64_t size;
    };
    std::vector<Entry> meta_json;
    std::optional<Entry> telegram;
    bool instagram = false;
    for (zip_int64_t i = 0; i < count; ++i) {
        zip_stat_t stat;
        zip_stat_init(&stat);
        if (zip_stat_index(archive.get(), static_cast<zip_uint64_t>(i), ZIP_FL_ENC_GUESS, &stat) != 0 || !stat.name ||
            !(stat.valid & ZIP_STAT_SIZE))
            throw Damaged(file_name, "#" + std::to_string(i));
        const std::string name = stat.name;
        if (name.empty() || name.back() == '/' || name.rfind("__MACOSX/", 0) == 0) continue;
        const std::string base = BaseName(name);
        if (!storage::IsValidUtf8(base)) continue; // a name that cannot even be shown
        if (IsMetaJson(name)) {
            meta_json.push_back({i, name, static_cast<int64_t>(stat.size)});
            if (LowerAscii(name).find("instagram") != std::string::npos) instagram = true;
            continue;
        }
        if (LowerAscii(base) == "result.json" && !telegram) {
            telegram = Entry{i, name, static_cast<int64_t>(stat.size)};
            continue;
        }
        const int rank = ChatRank(base);
        if (rank > chat_rank) {
            if (chat >= 0) media.push_back(BaseName(chat_name));
            chat = i;
            chat_rank = rank;
            chat_name = name;
            chat_size = static_cast<int64_t>(stat.size);
        } else {
            media.push_back(base);
        }
    }
    // A WhatsApp chat named as one wins; else Facebook or Instagram JSON, else Telegram's.
    if (chat_rank < 2 && !meta_json.empty()) {
        MetaReader meta(file_name, limits);
        if (instagram || LowerAscii(file_name).find("instagram") != std::string::npos) meta.VoteInstagram();
        // The owner's profile first: posts and comments are theirs.
        std::stable_partition(meta_json.begin(), meta_json.end(),
                              [](const Entry& e) { return BaseName(LowerAscii(e.name)) == "profile_information.json"; });
        int64_t read = 0;
        bool any = false;
        for (const auto& e : meta_json) {
            read += e.size;
            if (read > limits.max_file_bytes) ThrowTooLarge(file_name, limits.max_file_bytes);
            const auto doc = ParseJsonWithin(
                ReadEntry(archive.get(), e.index, e.size, file_name, e.name, limits.max_chat_bytes), file_name,
                BaseName(e.name), limits);
            any = meta.Add(doc, e.name) == JsonKind::Meta || any;
        }
        if (!any)
            throw RecordError("file", file_name + " holds no messages, posts or comments", errc::SOCIAL_NO_CHAT,
                              {{"file", file_name}});
        out = meta.Finish();
        if (chat >= 0) media.push_back(BaseName(chat_name));
        out.media_files = std::move(media);
        return out;
    }
    if (chat_rank < 2 && telegram) {
        const auto doc = ParseJsonWithin(ReadEntry(archive.get(), telegram->index, telegram->size, file_name,
                                                   telegram->name, limits.max_chat_bytes),
                                         file_name, "result.json", limits);
        if (!IsTelegram(doc))
            throw RecordError("file", file_name + " is not a chat export this program knows",
                              errc::SOCIAL_UNKNOWN_FORMAT, {{"file", file_name}});
        out = ParseTelegram(doc, file_name, "result.json", limits);
        if (chat >= 0) media.push_back(BaseName(chat_name));
        out.media_files = std::move(media);
        return out;
    }
    if (chat < 0)
        throw RecordError("file", file_name + " holds no chat (.txt)", errc::SOCIAL_NO_CHAT, {{"file", file_name}});
    if (chat_size < 0 || chat_size > limits.max_chat_bytes) ThrowTooLarge(file_name, limits.max_chat_bytes);

    const std::string text = ReadEntry(archive.get(), chat, chat_size, file_name, chat_name, limits.max_chat_bytes);
    out = ParseWhatsAppText(text, file_name, limits);
    // The zip's own name names the chat; "_chat.txt" inside does not.
    out.thread = ThreadFromFileName(file_name);
    if (out.thread.empty()) out.thread = ThreadFromFileName(BaseName(chat_name));
    if (out.thread.empty()) out.thread = "WhatsApp";
    out.media_files = std::move(media);
    return out;
}

} // namespace escucha::capture::social

namespace escucha::capture {

using storage::RecordError;
namespace errc = storage::errc;

struct SocialMediaArchive::State {
    std::string file_name;
    SocialLimits limits;
    std::unique_ptr<zip_t, social::ZipDiscard> archive;
    struct Entry {
        zip_int64_t index = -1; ///< -1: two entries share the name
        int64_t size = 0;
    };
    std::map<std::string, Entry> by_name;
};

SocialMediaArchive::SocialMediaArchive(std::string_view bytes, const std::string& file_name,
                                       const SocialLimits& limits)
    : m_state(std::make_unique<State>()) {
    auto& s = *m_state;
    s.file_name = file_name;
    s.limits = limits;
    if (bytes.size() < 4 || bytes.substr(0, 4) != std::string_view("PK\x03\x04", 4)) return;
    s.archive = social::OpenZip(bytes, file_name);
    const zip_int64_t count = zip_get_num_entries(s.archive.get(), 0);
    if (count < 0) throw social::Damaged(file_name, file_name);
    if (count > limits.max_entries) social::ThrowTooLarge(file_name, limits.max_entries);
    for (zip_int64_t i = 0; i < count; ++i) {
        zip_stat_t stat;
        zip_stat_init(&stat);
        if (zip_stat_index(s.archive.get(), static_cast<zip_uint64_t>(i), ZIP_FL_ENC_GUESS, &stat) != 0 ||
            !stat.name || !(stat.valid & ZIP_STAT_SIZE))
            throw social::Damaged(file_name, "#" + std::to_string(i));
        const std::string name = stat.name;
        if (name.empty() || name.back() == '/' || name.rfind("__MACOSX/", 0) == 0) continue;
        const std::string base = social::BaseName(name);
        if (base.empty() || !storage::IsValidUtf8(base)) continue;
        const auto [it, fresh] = s.by_name.emplace(base, State::Entry{i, static_cast<int64_t>(stat.size)});
        if (!fresh) it->second.index = -1;
    }
}

SocialMediaArchive::~SocialMediaArchive() = default;

SocialMediaArchive::Presence SocialMediaArchive::Find(const std::string& name) const {
    const auto it = m_state->by_name.find(social::BaseName(name));
    if (it == m_state->by_name.end()) return Presence::Missing;
    return it->second.index < 0 ? Presence::Ambiguous : Presence::Present;
}

std::string SocialMediaArchive::Read(const std::string& name) const {
    const auto& s = *m_state;
    const auto it = s.by_name.find(social::BaseName(name));
    if (it == s.by_name.end() || it->second.index < 0) throw social::Damaged(s.file_name, social::BaseName(name));
    return social::ReadEntry(s.archive.get(), it->second.index, it->second.size, s.file_name, it->first,
                             s.limits.max_media_bytes);
}

} // namespace escucha::capture
