// Helpers shared by the chat-export reader's files (not a public header).
#pragma once

#include "escucha/capture/social_import.h"

#include <nlohmann/json.hpp>
#include <zip.h>

#include <memory>
#include <string>
#include <string_view>

namespace escucha::capture::social {

/// Bytes of the invisible mark (LRM, RLM, BOM, embeddings, isolates) that
/// starts `s` at `i`, or 0.
[[nodiscard]] size_t InvisibleAt(std::string_view s, size_t i);
/// Bytes of the space (ASCII space, tab, NBSP, narrow NBSP, thin space) that starts `s` at `i`, or 0.
[[nodiscard]] size_t SpaceAt(std::string_view s, size_t i);
/// `s` without invisible marks and spaces at either end.
[[nodiscard]] std::string Trim(std::string_view s);
/// Lower-case ASCII.
[[nodiscard]] std::string LowerAscii(std::string_view s);

/// A RecordError for a file that is too large.
[[noreturn]] void ThrowTooLarge(const std::string& file, int64_t limit);

/// Reads a WhatsApp chat's text (already out of any zip).
[[nodiscard]] SocialExport ParseWhatsAppText(std::string_view text, const std::string& file_name,
                                             const SocialLimits& limits);

struct ZipDiscard {
    void operator()(zip_t* archive) const noexcept;
};
/// Opens a zip held in `bytes` (which must outlive it). Throws RecordError
/// (social_archive_damaged) naming `file_name`.
[[nodiscard]] std::unique_ptr<zip_t, ZipDiscard> OpenZip(std::string_view bytes, const std::string& file_name);
/// Reads entry `index` into memory, never beyond `limit` whatever its header
/// declares (social_too_large; social_archive_damaged when it is not whole).
[[nodiscard]] std::string ReadEntry(zip_t* archive, zip_int64_t index, int64_t declared, const std::string& file_name,
                                    const std::string& entry, int64_t limit);
/// A RecordError for an entry that cannot be read.
[[nodiscard]] storage::RecordError Damaged(const std::string& file, const std::string& entry);
/// The last part of a name inside a zip.
[[nodiscard]] std::string BaseName(const std::string& name);

/// Reads a zip from memory: a WhatsApp chat (its text, and the names of the
/// files beside it), a Facebook or Instagram export (its JSON files), or a
/// Telegram result.json.
[[nodiscard]] SocialExport ParseSocialZip(std::string_view bytes, const std::string& file_name,
                                          const SocialLimits& limits);

/// Whether `bytes` open like JSON: an object, or an array of objects.
[[nodiscard]] bool LooksLikeJson(std::string_view bytes);

/// A JSON file of an export, parsed with its nesting and number of values
/// bounded (social_too_large) and refused when it is not JSON
/// (social_archive_damaged naming `entry`).
[[nodiscard]] nlohmann::json ParseJsonWithin(std::string_view text, const std::string& file_name,
                                             const std::string& entry, const SocialLimits& limits);

/// What a JSON file of an export is.
enum class JsonKind { Unknown, Meta, MetaProfile };

/// Facebook and Instagram exports, read one JSON file after another (a zip
/// holds many) into one export.
class MetaReader {
public:
    MetaReader(std::string file_name, const SocialLimits& limits);
    ~MetaReader();
    MetaReader(const MetaReader&) = delete;
    MetaReader& operator=(const MetaReader&) = delete;
    /// Takes what `doc` holds; `entry` is its path in the zip, or the file's
    /// name. Returns what it was; Unknown: nothing taken from it.
    JsonKind Add(const nlohmann::json& doc, const std::string& entry);
    /// A hint that the export is Instagram's (its paths say so).
    void VoteInstagram() { ++m_instagram; }
    [[nodiscard]] SocialExport Finish();

private:
    struct State;
    std::string m_file;
    SocialLimits m_limits;
    int m_instagram = 0;
    std::unique_ptr<State> m_state;
};

/// Whether `doc` is a Telegram desktop result.json (one chat, or a full export).
[[nodiscard]] bool IsTelegram(const nlohmann::json& doc);

/// Reads a Telegram desktop result.json.
[[nodiscard]] SocialExport ParseTelegram(const nlohmann::json& doc, const std::string& file_name,
                                         const std::string& entry, const SocialLimits& limits);

/// Reads an export that is one JSON file: Telegram, Facebook or Instagram, by its shape.
[[nodiscard]] SocialExport ParseSocialJson(std::string_view text, const std::string& file_name,
                                           const SocialLimits& limits);

} // namespace escucha::capture::social
