// A WhatsApp zip read from memory with libzip: the chat's text is
// decompressed into memory, the media beside it only listed. Nothing is
// written anywhere, and no name from the archive is used as a path.
#include "social_import_text.h"

#include "escucha/storage/error_code.h"

#include <zip.h>

#include <memory>

namespace escucha::capture::social {

using storage::RecordError;
namespace errc = storage::errc;

namespace {

struct ZipDiscard {
    void operator()(zip_t* archive) const noexcept { zip_discard(archive); }
};
struct ZipFileClose {
    void operator()(zip_file_t* file) const noexcept { zip_fclose(file); }
};
struct ZipSourceFree {
    void operator()(zip_source_t* source) const noexcept { zip_source_free(source); }
};

RecordError Damaged(const std::string& file, const std::string& entry) {
    return RecordError("file", file + ": " + entry + " cannot be read", errc::SOCIAL_ARCHIVE_DAMAGED,
                       {{"file", file}, {"entry", entry}});
}

std::string BaseName(const std::string& name) {
    const size_t slash = name.find_last_of("/\\");
    return slash == std::string::npos ? name : name.substr(slash + 1);
}

/// Whether an entry is the chat: "_chat.txt" (iOS) ranks first, then a .txt
/// whose name says WhatsApp (Android), then any .txt. 0: not a chat.
int ChatRank(const std::string& base) {
    const std::string lower = LowerAscii(base);
    if (lower.size() < 5 || lower.substr(lower.size() - 4) != ".txt") return 0;
    if (lower == "_chat.txt") return 3;
    if (lower.find("whatsapp") != std::string::npos) return 2;
    return 1;
}

} // namespace

SocialExport ParseWhatsAppZip(std::string_view bytes, const std::string& file_name, const SocialLimits& limits) {
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

    const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
    if (count < 0) throw Damaged(file_name, file_name);
    if (count > limits.max_entries) ThrowTooLarge(file_name, limits.max_entries);

    SocialExport out;
    zip_int64_t chat = -1;
    int chat_rank = 0;
    std::string chat_name;
    int64_t chat_size = 0;
    std::vector<std::string> media;
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
    if (chat < 0)
        throw RecordError("file", file_name + " holds no chat (.txt)", errc::SOCIAL_NO_CHAT, {{"file", file_name}});
    if (chat_size < 0 || chat_size > limits.max_chat_bytes) ThrowTooLarge(file_name, limits.max_chat_bytes);

    std::string text;
    {
        std::unique_ptr<zip_file_t, ZipFileClose> file(
            zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(chat), 0));
        if (!file) throw Damaged(file_name, BaseName(chat_name));
        // The declared size may lie (a zip bomb): never read beyond the limit, whatever it says.
        text.reserve(static_cast<size_t>(chat_size));
        char buffer[65536];
        while (true) {
            const zip_int64_t n = zip_fread(file.get(), buffer, sizeof buffer);
            if (n < 0) throw Damaged(file_name, BaseName(chat_name));
            if (n == 0) break;
            if (static_cast<int64_t>(text.size()) + n > limits.max_chat_bytes)
                ThrowTooLarge(file_name, limits.max_chat_bytes);
            text.append(buffer, static_cast<size_t>(n));
        }
        if (static_cast<int64_t>(text.size()) != chat_size) throw Damaged(file_name, BaseName(chat_name));
    }
    out = ParseWhatsAppText(text, file_name, limits);
    // The zip's own name names the chat; "_chat.txt" inside does not.
    out.thread = ThreadFromFileName(file_name);
    if (out.thread.empty()) out.thread = ThreadFromFileName(BaseName(chat_name));
    if (out.thread.empty()) out.thread = "WhatsApp";
    out.media_files = std::move(media);
    return out;
}

} // namespace escucha::capture::social
