// ImportSocial: a read chat export into the vault, in one transaction.
#include "social_import_text.h"

#include "escucha/capture/operations.h"
#include "escucha/storage/clock.h"
#include "escucha/storage/error_code.h"

#include <sodium.h>

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

} // namespace

SocialImportReport ImportSocial(RecordStore& store, const std::string& project_id, const SocialExport& parsed,
                                const AuthorChoices& choices,
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

} // namespace escucha::capture
