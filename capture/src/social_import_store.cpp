// ImportSocial: a read chat export into the vault, in one transaction.
#include "social_import_text.h"

#include "escucha/capture/audio.h"
#include "escucha/capture/operations.h"
#include "escucha/storage/blobs.h"
#include "escucha/storage/clock.h"
#include "escucha/storage/error_code.h"

#include <sodium.h>
#include <stb_image.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

namespace escucha::capture {

using storage::RecordError;
using storage::RecordStore;
namespace errc = storage::errc;

namespace {

constexpr char ITEM[] = "social_media_item";
constexpr char PARTICIPANT[] = "participant";

std::string Sha256Hex(const std::string& text) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    static constexpr char HEX[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : digest) {
        out.push_back(HEX[b >> 4]);
        out.push_back(HEX[b & 15]);
    }
    return out;
}

bool IsOffset(const std::string& tz) {
    if (tz == "Z") return true;
    if (tz.size() != 6 || (tz[0] != '+' && tz[0] != '-') || tz[3] != ':') return false;
    for (size_t i : {1u, 2u, 4u, 5u})
        if (tz[i] < '0' || tz[i] > '9') return false;
    const int hours = (tz[1] - '0') * 10 + (tz[2] - '0');
    const int minutes = (tz[4] - '0') * 10 + (tz[5] - '0');
    return hours <= 14 && minutes <= 59;
}

bool LooksLikePhoneNumber(const std::string& s) {
    int digits = 0;
    for (char c : s) {
        if (c >= '0' && c <= '9') ++digits;
        else if (c != '+' && c != ' ' && c != '-' && c != '(' && c != ')' && c != '.') return false;
    }
    return digits >= 6;
}

/// "Persona 1", "Persona 2"... in the export's language, the first numbers no
/// participant of the project goes by.
class PseudonymMaker {
public:
    PseudonymMaker(const std::string& language, std::set<std::string> taken) : m_taken(std::move(taken)) {
        if (language == "pt") m_word = "Pessoa";
        else if (language == "fr" || language == "en") m_word = "Participant";
    }
    std::string Next() {
        while (true) {
            std::string name = m_word + " " + std::to_string(++m_n);
            if (m_taken.insert(name).second) return name;
        }
    }

private:
    std::set<std::string> m_taken;
    std::string m_word = "Persona";
    int m_n = 0;
};

bool IsWordByte(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (static_cast<unsigned char>(c) & 0x80);
}

/// `text` with each name, where it stands as whole words, replaced by its
/// pseudonym; longest names first.
std::string ReplaceNames(std::string text, const std::vector<std::pair<std::string, std::string>>& names) {
    for (const auto& [name, pseudonym] : names) {
        if (name.empty()) continue;
        size_t at = 0;
        while ((at = text.find(name, at)) != std::string::npos) {
            const bool starts = at == 0 || !IsWordByte(text[at - 1]);
            const bool ends = at + name.size() == text.size() || !IsWordByte(text[at + name.size()]);
            if (!starts || !ends) {
                at += name.size();
                continue;
            }
            text.replace(at, name.size(), pseudonym);
            at += pseudonym.size();
        }
    }
    return text;
}

/// What a file attached to a message is, by its name's ending.
enum class MediaKind { Audio, Picture, Other };

MediaKind KindOf(const std::string& name) {
    const size_t dot = name.find_last_of('.');
    const std::string ext = dot == std::string::npos ? "" : social::LowerAscii(name.substr(dot + 1));
    for (const char* e : {"opus", "ogg", "oga", "mp3", "wav", "flac", "m4a", "aac", "amr"})
        if (ext == e) return MediaKind::Audio;
    for (const char* e : {"jpg", "jpeg", "png", "gif", "webp"})
        if (ext == e) return MediaKind::Picture;
    return MediaKind::Other;
}

/// A picture's kind from its first bytes, whatever its name says; empty
/// when it is none this program keeps.
std::string PictureType(std::string_view bytes) {
    if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xFF\xD8\xFF") return "image/jpeg";
    if (bytes.size() >= 8 && bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1A\n", 8)) return "image/png";
    if (bytes.size() >= 6 && (bytes.substr(0, 6) == "GIF87a" || bytes.substr(0, 6) == "GIF89a")) return "image/gif";
    if (bytes.size() >= 16 && bytes.substr(0, 4) == "RIFF" && bytes.substr(8, 4) == "WEBP") return "image/webp";
    return {};
}

/// Wipes a file's bytes once they are sealed in a blob.
void Wipe(std::string& bytes) {
    if (!bytes.empty()) sodium_memzero(bytes.data(), bytes.size());
    bytes.clear();
}

/// Brings the files attached to one item into the vault (see ImportSocial).
class MediaImporter {
public:
    MediaImporter(storage::Vault* vault, const SocialMediaArchive* media, RecordStore& store,
                  const std::string& project_id, SocialImportReport& report)
        : m_vault(vault), m_media(media), m_store(store), m_project(project_id), m_report(report) {
        if (!m_vault) return;
        // What earlier imports brought in already, by item and file name.
        storage::ListOptions light;
        light.project_id = project_id;
        light.only_fields = std::vector<std::string>{"social_item_id", "title"};
        for (const char* type : {"recording", "image"})
            for (const auto& r : store.List(type, light))
                if (r.contains("social_item_id"))
                    m_have.insert(r["social_item_id"].get<std::string>() + '\0' + r.value("title", ""));
    }

    void Attach(const std::string& item_id, const std::string& participant_id, const std::string& posted_at,
                const std::vector<std::string>& names) {
        for (const auto& name : names) {
            if (m_have.count(item_id + '\0' + name)) continue;
            const auto presence =
                m_media ? m_media->Find(name) : SocialMediaArchive::Presence::Missing;
            if (presence == SocialMediaArchive::Presence::Missing) {
                NotKept("missing");
                continue;
            }
            if (presence == SocialMediaArchive::Presence::Ambiguous) {
                NotKept("ambiguous");
                continue;
            }
            const auto kind = KindOf(name);
            if (kind == MediaKind::Other) {
                NotKept("not_kept");
                continue;
            }
            std::string bytes;
            try {
                bytes = m_media->Read(name);
            } catch (const RecordError& e) {
                NotKept(e.Code() == errc::SOCIAL_TOO_LARGE ? "too_large" : "unreadable");
                continue;
            }
            Json fields = {{"project_id", m_project},
                           {"social_item_id", item_id},
                           {"title", name},
                           {"participant_ids", Json::array({participant_id})}};
            if (kind == MediaKind::Audio) {
                StoredAudio audio;
                try {
                    audio = StoreAudioBytes(*m_vault, bytes, name);
                } catch (const AudioError&) {
                    Wipe(bytes);
                    NotKept("unreadable");
                    continue;
                }
                Wipe(bytes);
                fields["source"] = "imported";
                fields["status"] = "complete";
                fields["audio_sha256"] = audio.blob.sha256;
                fields["duration_ms"] = audio.duration_ms;
                if (!posted_at.empty()) fields["started_at"] = posted_at;
                m_store.Create("recording", fields);
                ++m_report.voice_notes;
            } else {
                const std::string type = PictureType(bytes);
                if (type.empty()) {
                    Wipe(bytes);
                    NotKept("unreadable");
                    continue;
                }
                fields["media_type"] = type;
                int width = 0, height = 0, channels = 0;
                if (type != "image/webp" &&
                    stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                                          static_cast<int>(bytes.size()), &width, &height, &channels)) {
                    fields["width"] = width;
                    fields["height"] = height;
                }
                fields["image_sha256"] = storage::BlobStore(*m_vault).AddBytes(bytes).sha256;
                Wipe(bytes);
                m_store.Create("image", fields);
                ++m_report.images;
            }
            m_have.insert(item_id + '\0' + name);
        }
    }

private:
    void NotKept(const char* why) { ++m_report.media_not_kept[why]; }

    storage::Vault* m_vault;
    const SocialMediaArchive* m_media;
    RecordStore& m_store;
    std::string m_project;
    SocialImportReport& m_report;
    std::set<std::string> m_have;
};

SocialImportReport Import(RecordStore& store, storage::Vault* vault, const SocialMediaArchive* media,
                          const std::string& project_id, const SocialExport& parsed, const AuthorChoices& choices,
                          const std::function<void(int64_t done, int64_t total)>& progress) {
    if (choices.time_zone && !IsOffset(*choices.time_zone))
        throw RecordError("time_zone", *choices.time_zone + " is not an offset such as -05:00",
                          errc::SOCIAL_BAD_TIME_ZONE, {{"value", *choices.time_zone}});
    SocialImportReport report;
    store.Atomically([&] {
        const auto project = store.Get(project_id);
        if (!project || (*project)["deleted"].get<bool>() || (*project)["type"] != "project")
            throw RecordError("project_id", "no project " + project_id + " in this vault", errc::RECORD_NOT_FOUND,
                              {{"field", "project_id"}, {"id", project_id}});
        storage::ListOptions in_project;
        in_project.project_id = project_id;

        // Who is here already: participants by the full name of their identity link.
        std::set<std::string> live_participants;
        std::set<std::string> pseudonyms_taken;
        std::map<std::string, std::string> pseudonym_of;
        {
            storage::ListOptions light = in_project;
            light.only_fields = std::vector<std::string>{"pseudonym"};
            for (const auto& p : store.List(PARTICIPANT, light)) {
                live_participants.insert(p["id"].get<std::string>());
                const std::string pseudonym = p.value("pseudonym", "");
                pseudonyms_taken.insert(pseudonym);
                pseudonym_of[p["id"]] = pseudonym;
            }
        }
        std::map<std::string, std::string> participant_by_name;
        for (const auto& link : store.List(IDENTITY_LINK, in_project)) {
            const std::string participant = link.value("participant_id", "");
            if (live_participants.count(participant))
                participant_by_name.emplace(link.value("full_name", ""), participant);
        }

        // Each author: left out, matched, or a new participant under a pseudonym.
        const auto authors = SocialAuthors(parsed);
        PseudonymMaker maker(parsed.language, pseudonyms_taken);
        std::set<std::string> chosen;
        for (const auto& [name, count] : authors) {
            SocialAuthor a;
            a.name = name;
            a.messages = count;
            const auto choice = choices.pseudonyms.find(name);
            if (choice != choices.pseudonyms.end() && (choice->second.empty() || choice->second == "-")) {
                a.left_out = true;
            } else if (const auto match = participant_by_name.find(name); match != participant_by_name.end()) {
                a.participant_id = match->second;
                a.pseudonym = pseudonym_of[match->second];
            } else {
                if (choice != choices.pseudonyms.end()) a.pseudonym = social::Trim(choice->second);
                else if (choices.generate) a.pseudonym = maker.Next();
                else
                    throw RecordError("",
                                      "choose a pseudonym for \"" + name +
                                          "\" (--pseudonym \"NAME=PSEUDONYM\"), or have pseudonyms generated",
                                      errc::SOCIAL_NO_PSEUDONYM, {{"author", name}});
                for (const auto& [other, unused] : authors)
                    if (PseudonymRevealsName(a.pseudonym, other))
                        throw RecordError("", "the pseudonym \"" + a.pseudonym + "\" gives away a real name or number",
                                          errc::SOCIAL_PSEUDONYM_IS_NAME, {{"pseudonym", a.pseudonym}});
                if (pseudonyms_taken.count(a.pseudonym) && !(choices.generate && choice == choices.pseudonyms.end()))
                    throw RecordError("", "the pseudonym \"" + a.pseudonym + "\" is someone else's already",
                                      errc::SOCIAL_PSEUDONYM_TWICE, {{"pseudonym", a.pseudonym}});
                if (!chosen.insert(a.pseudonym).second)
                    throw RecordError("", "the pseudonym \"" + a.pseudonym + "\" is given twice",
                                      errc::SOCIAL_PSEUDONYM_TWICE, {{"pseudonym", a.pseudonym}});
                a.created = true;
            }
            report.authors.push_back(std::move(a));
        }
        for (auto& a : report.authors) {
            if (!a.created) continue;
            Json identity = {{"full_name", a.name},
                             {"notes", "Author in the " + parsed.platform + " chat \xE2\x80\x9C" + parsed.thread +
                                           "\xE2\x80\x9D (" + parsed.file + ")."}};
            if (LooksLikePhoneNumber(a.name)) identity["contact"] = a.name;
            const auto made = CreateParticipant(store, project_id, {{"pseudonym", a.pseudonym}}, identity);
            a.participant_id = made.participant["id"];
        }
        std::unordered_map<std::string, const SocialAuthor*> by_name;
        std::vector<std::pair<std::string, std::string>> replacements;
        for (const auto& a : report.authors) {
            by_name[a.name] = &a;
            replacements.emplace_back(a.name, a.left_out ? std::string("[…]") : a.pseudonym);
        }
        std::sort(replacements.begin(), replacements.end(),
                  [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });

        // A thread's name may be a person's (a chat of two is named after the other).
        const std::string fallback = parsed.platform == "whatsapp"    ? "WhatsApp"
                                     : parsed.platform == "facebook"  ? "Facebook"
                                     : parsed.platform == "instagram" ? "Instagram"
                                     : parsed.platform == "telegram"  ? "Telegram"
                                                                      : parsed.platform;
        const auto stored_thread = [&](const std::string& raw) {
            const auto masked = MaskContacts(ReplaceNames(raw, replacements), parsed.language);
            const std::string name = social::Trim(masked.text);
            return name.empty() ? fallback : name;
        };
        report.thread = stored_thread(choices.thread.value_or(parsed.thread));
        std::unordered_map<std::string, std::string> thread_of; // an export's own threads, as stored

        // Items already here, by key: read without their texts.
        std::unordered_map<std::string, std::string> existing;
        {
            storage::ListOptions keys = in_project;
            keys.only_fields = std::vector<std::string>{"message_key"};
            for (const auto& item : store.List(ITEM, keys))
                if (item.contains("message_key")) existing.emplace(item["message_key"], item["id"]);
        }

        if (parsed.system_lines) report.refused_by_reason["system_line"] += parsed.system_lines;
        if (parsed.deleted_messages) report.refused_by_reason["deleted_in_chat"] += parsed.deleted_messages;
        const std::string captured_at = storage::FormatIsoMillis(storage::SystemMillis());
        std::unordered_map<std::string, int> occurrences;
        MediaImporter attach(vault, media, store, project_id, report);
        std::vector<std::string> id_of(parsed.messages.size());
        const auto total = static_cast<int64_t>(parsed.messages.size());
        for (size_t i = 0; i < parsed.messages.size(); ++i) {
            if (progress && i % 256 == 0) progress(static_cast<int64_t>(i), total);
            const auto& m = parsed.messages[i];
            const SocialAuthor& author = *by_name.at(m.author);
            if (author.left_out) {
                ++report.refused_by_reason["author_left_out"];
                continue;
            }
            const auto masked = MaskContacts(m.text, parsed.language);
            if (masked.text.empty() && m.attachments.empty() && !m.media_omitted) {
                ++report.refused_by_reason["empty"];
                continue;
            }
            // The key holds only what the item itself holds (masked text,
            // pseudonymous participant): it gives nothing away that the item does not.
            const std::string* thread = &report.thread;
            if (!m.thread.empty()) {
                auto it = thread_of.find(m.thread);
                if (it == thread_of.end()) it = thread_of.emplace(m.thread, stored_thread(m.thread)).first;
                thread = &it->second;
            }
            std::string base = parsed.platform;
            for (const std::string* part : std::initializer_list<const std::string*>{
                     thread, &m.posted_at, &author.participant_id, &masked.text}) {
                base.push_back('\0');
                base += *part;
            }
            for (const auto& name : m.attachments) base += '\0' + name;
            base += m.media_omitted ? "\x01" : "";
            // The same words by the same person in the same minute are two messages.
            const std::string key = Sha256Hex(base + "#" + std::to_string(++occurrences[base])).substr(0, 40);
            if (const auto it = existing.find(key); it != existing.end()) {
                id_of[i] = it->second;
                ++report.skipped;
                // A later export may hold the files an earlier one left out.
                attach.Attach(id_of[i], author.participant_id, "", m.attachments);
                continue;
            }
            // A time the export gave in UTC ("...Z") keeps it; a local one takes the offset given.
            const bool utc = !m.posted_at.empty() && m.posted_at.back() == 'Z';
            Json item = {{"project_id", project_id},
                         {"platform", parsed.platform},
                         {"thread", *thread},
                         {"posted_at", utc ? m.posted_at : m.posted_at + choices.time_zone.value_or("")},
                         {"captured_at", captured_at}, {"participant_id", author.participant_id},
                         {"message_key", key}};
            if (!masked.text.empty()) item["text"] = masked.text;
            if (!m.attachments.empty()) item["attachments"] = m.attachments;
            if (m.media_omitted) item["media_omitted"] = true;
            if (m.reply_to && *m.reply_to < i && !id_of[*m.reply_to].empty()) item["reply_to_id"] = id_of[*m.reply_to];
            const auto stored = store.Create(ITEM, item);
            id_of[i] = stored["id"];
            existing.emplace(key, id_of[i]);
            report.item_ids.push_back(id_of[i]);
            ++report.added;
            attach.Attach(id_of[i], author.participant_id, stored["posted_at"].get<std::string>(), m.attachments);
            if (!masked.originals.empty()) {
                store.Create(MASKED_ORIGINALS, {{"project_id", project_id},
                                                {"item_id", id_of[i]},
                                                {"participant_id", author.participant_id},
                                                {"originals", masked.originals}});
                report.masked_numbers += masked.numbers;
                report.masked_handles += masked.handles;
                report.masked_emails += masked.emails;
            }
        }
        for (const auto& [reason, n] : report.refused_by_reason) report.refused += n;
        if (progress) progress(total, total);
    });
    return report;
}

} // namespace

std::vector<Json> PicturesOf(RecordStore& store, const std::string& item_id) {
    std::vector<Json> out;
    for (const auto& ref : store.ReferencesTo(item_id)) {
        if (store.TypeOf(ref) != "image") continue;
        if (auto r = store.Get(ref); r && !r->value("deleted", false)) out.push_back(std::move(*r));
    }
    std::sort(out.begin(), out.end(),
              [](const Json& a, const Json& b) { return a.value("title", "") < b.value("title", ""); });
    return out;
}

DecodedPicture DecodePicture(std::string_view bytes, int64_t max_pixels) {
    DecodedPicture out;
    const std::string type = PictureType(bytes);
    if (type == "image/webp") {
        out.outcome = DecodedPicture::Outcome::KindNotShown;
        return out;
    }
    if (type.empty() || bytes.size() > static_cast<size_t>(INT32_MAX)) return out;
    const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
    const int size = static_cast<int>(bytes.size());
    int w = 0, h = 0, channels = 0;
    if (!stbi_info_from_memory(data, size, &w, &h, &channels) || w <= 0 || h <= 0) return out;
    if (static_cast<int64_t>(w) * h > max_pixels) {
        out.outcome = DecodedPicture::Outcome::TooLarge;
        return out;
    }
    stbi_uc* pixels = stbi_load_from_memory(data, size, &w, &h, &channels, 4);
    if (!pixels) return out;
    const size_t n = static_cast<size_t>(w) * static_cast<size_t>(h) * 4;
    out.rgba.assign(pixels, pixels + n);
    sodium_memzero(pixels, n);
    stbi_image_free(pixels);
    out.width = w;
    out.height = h;
    out.outcome = DecodedPicture::Outcome::Shown;
    return out;
}

SocialImportReport ImportSocial(RecordStore& store, const std::string& project_id, const SocialExport& parsed,
                                const AuthorChoices& choices,
                                const std::function<void(int64_t done, int64_t total)>& progress) {
    return Import(store, nullptr, nullptr, project_id, parsed, choices, progress);
}

SocialImportReport ImportSocial(storage::Vault& vault, const std::string& project_id, const SocialExport& parsed,
                                const AuthorChoices& choices, const SocialMediaArchive& media,
                                const std::function<void(int64_t done, int64_t total)>& progress) {
    try {
        return Import(vault.Records(), &vault, &media, project_id, parsed, choices, progress);
    } catch (...) {
        // The transaction took back every record; the sealed files of
        // pictures and voice notes it had written go too.
        try {
            (void)storage::BlobStore(vault).SweepUnnamedFiles();
        } catch (...) {
        }
        throw;
    }
}

} // namespace escucha::capture
