// Chat exports brought in as social-media items, with the people in them
// pseudonymised.
//
// Two steps. ParseSocialExport reads an export (a WhatsApp "Export chat" as
// the .txt, or as the .zip with media, from Android or iOS, in the date and
// time formats of es/pt/fr/en phones) from memory into messages: nothing of
// it is written anywhere, a zip is read with libzip from the bytes given. It
// needs no vault, so a program can show the authors found before anything
// is stored. ImportSocial then stores the messages in one transaction: each
// distinct author becomes (or is matched to) a participant under a pseudonym,
// never their name; the name and phone number go only into the participant's
// identity link, which stays on this device; phone numbers, @handles and
// e-mail addresses inside the text are masked, their originals kept in a
// local-only record beside the item (see docs/decisions/0016-social-import.md).
//
// Everything in an export is someone else's file: sizes and counts are
// bounded, names inside a zip are only ever shown, never used as paths.
//
// Thread contract: ParseSocialExport is pure and runs on any thread;
// ImportSocial runs on the store's thread.
// Errors: storage::RecordError with a code from storage/error_code.h (the
// social_* codes), naming the file and, where there is one, the line.
#pragma once

#include "escucha/storage/records.h"
#include "escucha/storage/vault.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace escucha::capture {

/// The type of the items a chat export becomes.
inline constexpr const char* SOCIAL_ITEM = "social_media_item";
/// The type that keeps what masking took out of an item's text.
inline constexpr const char* MASKED_ORIGINALS = "masked_originals";

/// Bounds on what an export may make the importer read or hold.
struct SocialLimits {
    int64_t max_file_bytes = int64_t{2} << 30;    ///< the export as given (a zip with media may be large)
    int64_t max_chat_bytes = int64_t{256} << 20;  ///< the chat's text, once out of the zip
    int64_t max_line_bytes = int64_t{1} << 20;    ///< one line of it
    int64_t max_message_bytes = int64_t{1} << 20; ///< one message, all its lines
    int64_t max_messages = 2000000;
    int64_t max_entries = 200000; ///< files in a zip
    int64_t max_authors = 10000;
    int64_t max_json_depth = 64;          ///< nesting of a JSON export (Facebook, Instagram, Telegram)
    int64_t max_json_values = 20000000;   ///< values in one JSON file
    int64_t max_media_bytes = int64_t{64} << 20; ///< one voice note or picture, once out of the zip
};

/// The order of a date's fields, as the phone wrote them.
enum class DateOrder { DayMonthYear, MonthDayYear, YearMonthDay };

/// How the date order was decided.
enum class DateOrderBasis {
    YearFirst,       ///< dates start with a four-digit year
    FieldAbove12,    ///< a first (or second) field above 12 on `date_order_line`
    ChangeFrequency, ///< no field above 12; the field that changes more often is the day
    Assumed,         ///< nothing in the file tells: `date_order` is an assumption
};

/// One message of a chat, as the export gives it.
struct SocialMessage {
    int64_t line = 0;                     ///< line of the chat text where it starts (1 first)
    std::string posted_at;                ///< local time as the export gives it: YYYY-MM-DDTHH:MM[:SS], no offset
    std::string author;                   ///< as the export shows it: a name, or a phone number
    std::string text;                     ///< lines joined with \n; invisible direction marks at line starts removed
    std::vector<std::string> attachments; ///< names of attached files (a name only, never a path)
    bool media_omitted = false;           ///< the export left out a photo, audio, video or sticker
    std::optional<size_t> reply_to;       ///< index of the message answered, when the format says
    /// The chat, group or page when the export holds several (a Facebook or
    /// Instagram zip, a full Telegram export); empty: the export's `thread`.
    std::string thread;
};

/// A chat export, read.
struct SocialExport {
    std::string platform = "whatsapp"; ///< "whatsapp", "facebook", "instagram" or "telegram"
    std::string file;     ///< the file's name as given
    std::string thread;   ///< the chat's name (from the file's name); may be a person's name
    std::string layout;   ///< "android" or "ios"; "json" for Facebook, Instagram and Telegram
    std::string language; ///< "es", "pt", "fr" or "en" as the export's words tell; empty when none did
    DateOrder date_order = DateOrder::DayMonthYear;
    DateOrderBasis date_order_basis = DateOrderBasis::Assumed;
    int64_t date_order_line = 0; ///< for FieldAbove12
    bool twelve_hour = false;    ///< the clock had AM/PM
    std::vector<SocialMessage> messages;
    int64_t system_lines = 0;             ///< group events, the encryption notice: not messages of anyone
    int64_t deleted_messages = 0;         ///< "This message was deleted" and its translations
    std::vector<std::string> media_files; ///< files beside the chat in a zip (names only; not read)
};

/// Reads a chat export from `bytes`, its format told by its content: a
/// WhatsApp .txt or .zip; a Facebook or Instagram "Download your information"
/// JSON file (Messenger or direct messages, posts, comments, group posts) or
/// the zip holding them; a Telegram desktop result.json (one chat or a full
/// export). `file_name` is what errors name and where a WhatsApp thread's name
/// comes from. Facebook, Instagram and Telegram times are UTC ("...Z"), from
/// the export's Unix times. Throws RecordError (social_unknown_format,
/// social_archive_damaged, social_too_large, social_no_chat, social_not_utf8,
/// social_bad_line, social_bad_date).
[[nodiscard]] SocialExport ParseSocialExport(std::string_view bytes, const std::string& file_name,
                                             const SocialLimits& limits = {});

/// The files beside the messages in a zip export (voice notes, photos),
/// read from the same bytes ParseSocialExport read; those bytes must outlive
/// it. Nothing is written anywhere. A file is found by its name alone (the
/// name a message gives); a name that two entries of the zip share is found
/// for neither, so no message gets someone else's file.
class SocialMediaArchive {
public:
    /// Holds nothing when `bytes` is not a zip (a .txt or .json export).
    /// Throws RecordError (social_archive_damaged) for a zip it cannot open.
    SocialMediaArchive(std::string_view bytes, const std::string& file_name, const SocialLimits& limits = {});
    ~SocialMediaArchive();
    SocialMediaArchive(const SocialMediaArchive&) = delete;
    SocialMediaArchive& operator=(const SocialMediaArchive&) = delete;

    enum class Presence { Missing, Present, Ambiguous };
    [[nodiscard]] Presence Find(const std::string& name) const;
    /// The file's bytes. Throws RecordError: social_too_large (above
    /// max_media_bytes), social_archive_damaged.
    [[nodiscard]] std::string Read(const std::string& name) const;

private:
    struct State;
    std::unique_ptr<State> m_state;
};

/// `text` repaired when it is UTF-8 read as Latin-1 ("Ã±" for "ñ"), as
/// Facebook and Instagram exports write every string: each character, all of
/// them U+00FF or below, becomes one byte, and the bytes are taken as UTF-8
/// when, and only when, they are valid UTF-8. Anything else comes back as it was.
[[nodiscard]] std::string RepairMojibake(std::string_view text);

/// The chat's name from an export's file name: "WhatsApp Chat with Junta.txt",
/// "Chat de WhatsApp con Junta (1).zip" and "WhatsApp Chat - Junta.zip" give "Junta".
[[nodiscard]] std::string ThreadFromFileName(const std::string& file_name);

/// The distinct authors of `parsed`, in order of their first message, with
/// how many messages each wrote.
[[nodiscard]] std::vector<std::pair<std::string, int64_t>> SocialAuthors(const SocialExport& parsed);

/// Whether `pseudonym` gives away `real_name`: the same name (case and
/// accents aside), one of its words, or a phone number.
[[nodiscard]] bool PseudonymRevealsName(const std::string& pseudonym, const std::string& real_name);

/// Text with phone numbers, @handles and e-mail addresses replaced by
/// placeholders in `language` ("[número]", "[usuario]", "[correo]" in
/// Spanish); the originals in order of their placeholders.
struct MaskedText {
    std::string text;
    std::vector<std::string> originals;
    int64_t numbers = 0;
    int64_t handles = 0;
    int64_t emails = 0;
};
[[nodiscard]] MaskedText MaskContacts(std::string_view text, const std::string& language);

/// What the person importing chose for the authors.
struct AuthorChoices {
    /// Author as the export shows them -> pseudonym. An empty pseudonym or
    /// "-" leaves the author out: their messages are refused, nothing of them stored.
    std::map<std::string, std::string> pseudonyms;
    bool generate = false; ///< authors without a choice get "Persona 1", "Persona 2"...
    /// A fixed offset ("-05:00", "+01:00", "Z") for the export's local times;
    /// without it times stay local, with no offset invented.
    std::optional<std::string> time_zone;
    std::optional<std::string> thread; ///< the thread's name to store instead of the file's
};

/// One author of an import and the participant they are.
struct SocialAuthor {
    std::string name; ///< as the export shows it (stays on this device)
    std::string participant_id;
    std::string pseudonym;
    bool created = false; ///< a new participant; false when matched to one already here
    bool left_out = false;
    int64_t messages = 0;
};

struct SocialImportReport {
    std::string thread;  ///< as stored: names of authors replaced by pseudonyms, numbers masked
    int64_t added = 0;   ///< new items
    int64_t skipped = 0; ///< already there (same thread, time, author and text)
    int64_t refused = 0; ///< the sum of `refused_by_reason`
    /// Why messages were not stored: "system_line", "deleted_in_chat", "author_left_out".
    std::map<std::string, int64_t> refused_by_reason;
    std::vector<SocialAuthor> authors;
    int64_t masked_numbers = 0;
    int64_t masked_handles = 0;
    int64_t masked_emails = 0;
    std::vector<std::string> item_ids; ///< created now, in the export's order
    int64_t voice_notes = 0; ///< recordings made from voice notes now
    int64_t images = 0;      ///< pictures kept now
    /// Attached files not kept, by why: "missing" (not in the file imported:
    /// a .txt has none, import the .zip), "not_kept" (videos, documents,
    /// contact cards: kinds this program does not keep), "unreadable" (not
    /// audio or a picture it reads), "too_large", "ambiguous" (two files of
    /// that name in the zip).
    std::map<std::string, int64_t> media_not_kept;
};

/// Stores `parsed` in project `project_id`, all of it or nothing (one
/// transaction). Each author is matched to a participant of the project whose
/// identity link has the same full name, else becomes a new participant with
/// the pseudonym chosen (or generated) and an identity link holding the name
/// (and the number, for an author shown as a phone number). Items already
/// there (by their message key) are skipped. Throws RecordError:
/// social_no_pseudonym (an author without a choice), social_pseudonym_is_name,
/// social_pseudonym_twice, social_bad_time_zone, or the store's own errors.
/// `progress`, when given, is called on the store's thread with the messages
/// gone through and their total, every few hundred messages and at the end
/// (the window app shows it; the transaction is still one).
SocialImportReport ImportSocial(storage::RecordStore& store, const std::string& project_id, const SocialExport& parsed,
                                const AuthorChoices& choices,
                                const std::function<void(int64_t done, int64_t total)>& progress = {});

/// As above, and the attached files in `media` come in too, in the same
/// transaction: each voice note becomes a recording of its item (decoded and
/// encoded again as Opus straight into an encrypted blob), each photo or
/// sticker an image record whose picture is an encrypted blob; both name the
/// item's author among their participants, so they go if that person
/// withdraws consent. An item already there (a re-import) gets the files it
/// has no recording or image of yet. A file that cannot be read is counted
/// in the report and its item kept.
SocialImportReport ImportSocial(storage::Vault& vault, const std::string& project_id, const SocialExport& parsed,
                                const AuthorChoices& choices, const SocialMediaArchive& media,
                                const std::function<void(int64_t done, int64_t total)>& progress = {});

/// The live pictures (image records) that came with social-media item
/// `item_id`, in the order of their file names.
[[nodiscard]] std::vector<storage::Json> PicturesOf(storage::RecordStore& store, const std::string& item_id);

/// A picture of an item (an image record's blob) decoded for showing.
struct DecodedPicture {
    enum class Outcome { Shown, Unreadable, TooLarge, KindNotShown };
    Outcome outcome = Outcome::Unreadable;
    int width = 0, height = 0;
    std::vector<unsigned char> rgba; ///< width x height x 4 bytes; the caller wipes them when done
};
/// Decodes a JPEG, PNG or GIF held in memory to RGBA, refusing pictures of
/// more than `max_pixels` before decoding them (a small file may claim a huge
/// picture). WebP is kept but not decoded (KindNotShown).
[[nodiscard]] DecodedPicture DecodePicture(std::string_view bytes, int64_t max_pixels = 40'000'000);

} // namespace escucha::capture
