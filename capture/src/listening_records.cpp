#include "escucha/capture/listening_records.h"

#include "escucha/storage/secret.h"

#include <sodium.h>

namespace escucha::capture {

using storage::FieldKind;
using storage::FieldSpec;
using storage::Json;
using storage::RecordError;
using storage::RecordType;

namespace {

FieldSpec Text(std::string name, std::string description, bool required = false, bool searchable = false) {
    return {std::move(name), FieldKind::Text, std::move(description), required, searchable, {}, {}, nullptr};
}

FieldSpec LongText(std::string name, std::string description, bool required = false) {
    return {std::move(name), FieldKind::LongText, std::move(description), required, true, {}, {}, nullptr};
}

FieldSpec Choice(std::string name, std::string description, std::vector<std::string> choices, bool required = false,
                 Json default_value = nullptr) {
    return {std::move(name),         FieldKind::Choice, std::move(description), required, false, std::move(choices), {},
            std::move(default_value)};
}

FieldSpec Ref(std::string name, std::string ref_type, std::string description, bool required = false) {
    return {std::move(name), FieldKind::Reference, std::move(description), required, false, {}, std::move(ref_type),
            nullptr};
}

FieldSpec RefList(std::string name, std::string ref_type, std::string description) {
    return {std::move(name), FieldKind::ReferenceList, std::move(description), false, false, {}, std::move(ref_type),
            nullptr};
}

FieldSpec TextList(std::string name, std::string description, bool searchable = false) {
    return {std::move(name), FieldKind::TextList, std::move(description), false, searchable, {}, {}, nullptr};
}

FieldSpec Date(std::string name, std::string description, bool required = false) {
    return {std::move(name), FieldKind::Date, std::move(description), required, false, {}, {}, nullptr};
}

/// end must not come before start when both are given.
void CheckOrder(const Json& record, const char* start, const char* end) {
    if (!record.contains(start) || !record.contains(end)) return;
    const auto& a = record[start];
    const auto& b = record[end];
    if (a.is_number_integer() && b.is_number_integer()) {
        if (b.get<int64_t>() < a.get<int64_t>())
            throw RecordError(end, std::string("comes before ") + start, storage::errc::END_BEFORE_START,
                              {{"field", end}, {"start", start}});
        return;
    }
    if (a.is_string() && b.is_string()) {
        const auto ta = storage::ParseIsoMillis(a.get<std::string>());
        const auto tb = storage::ParseIsoMillis(b.get<std::string>());
        if (ta && tb && *tb < *ta)
            throw RecordError(end, std::string("comes before ") + start, storage::errc::END_BEFORE_START,
                              {{"field", end}, {"start", start}});
    }
}

} // namespace

std::string NewParticipantCode() {
    static constexpr char ALPHABET[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"; // 32 symbols
    storage::EnsureSodium();
    std::string code = "P-";
    for (int i = 0; i < 6; ++i) code.push_back(ALPHABET[randombytes_uniform(32)]);
    return code;
}

void AddListeningTypes(storage::Catalogue& catalogue) {
    RecordType project{
        "project",
        "A listening project: where, with whom and about what. Every other record belongs to one.",
        "capture",
        {
            Text("name", "Name of the project.", true, true),
            LongText("description", "What the project is about."),
            TextList("territories", "Territories where listening happens.", true),
            TextList("sectors", "Economic sectors concerned (e.g. coffee, fishing, domestic work).", true),
            TextList("languages", "Languages of the material, as codes (es, fr, pt, en, ht, qu...)."),
            TextList("listening_questions", "The questions that guide listening.", true),
            Date("retention_until", "Date after which the material is to be erased."),
            {"share_identities",
             FieldKind::Boolean,
             "When true, identity links (real names, contacts) are synced to headquarters. Off by default.",
             false,
             false,
             {},
             {},
             false},
        },
        "name",
        false,
        true,
        {},
        nullptr,
        nullptr,
        true, // shared: coordinators and interpreters edit the project together
    };
    project.role = storage::RecordRole::Scope;
    project.list_order = 90;
    catalogue.Add(std::move(project));

    RecordType participant{
        "participant",
        "A person who is listened to, known by a random code and a chosen pseudonym.",
        "capture",
        {
            Text("code", "Random code; generated when not given."),
            Text("pseudonym", "The name the participant chose to be called by.", true, true),
            Choice("age_band", "Age band.",
                   {"under_18", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus", "unknown"}),
            Text("gender", "Gender, in the participant's own words."),
            Text("territory", "Territory (coarse: region or municipality, never an address).", false, true),
            Text("sector", "Sector of work.", false, true),
            TextList("vulnerability_groups",
                     "Groups the participant identifies with (e.g. migrant, indigenous, youth).", true),
            Ref("referred_by", "participant", "The participant who referred this one (snowball sampling)."),
            LongText("notes", "Notes about the participant, without identifying details."),
        },
        "pseudonym",
        true,
        true,
        {},
        [](Json& record) {
            if (!record.contains("code")) record["code"] = NewParticipantCode();
        },
        [](const Json& record) {
            if (record.contains("referred_by") && record["referred_by"] == record["id"])
                throw RecordError("referred_by", "a participant cannot refer themselves");
        },
    };
    participant.role = storage::RecordRole::Person;
    participant.list_order = 30;
    catalogue.Add(std::move(participant));

    {
        RecordType t{
            "identity_link",
            "The real name and contact of a participant. Stays on this device unless the project's "
            "share_identities is true; never shown in search results.",
            "capture",
            {
                Ref("participant_id", "participant", "The participant this identity belongs to.", true),
                Text("full_name", "Real name.", true),
                Text("contact", "Phone, address or other contact."),
                // Not searchable: identity text must never reach the search index.
                {"notes", FieldKind::LongText, "How to reach the person safely.", false, false, {}, {}, nullptr},
            },
            "",
            true,
            false,
            "share_identities",
            nullptr,
            nullptr,
        };
        t.identifying = true;
        t.on_withdrawal = {{"participant_id", storage::WithdrawalRule::Action::Erase, {}}};
        catalogue.Add(std::move(t));
    }

    RecordType consent{
        "consent",
        "A participant's informed consent: what they agreed to, how, and whether it was withdrawn.",
        "capture",
        {
            Ref("participant_id", "participant", "Who consents.", true),
            Text("script_version", "Version of the consent script read or shown.", true),
            Text("language", "Language the consent was obtained in.", true),
            Choice("mode", "How consent was given.", {"written", "oral_recorded", "witnessed"}, true),
            {"scopes",
             FieldKind::ChoiceList,
             "What the participant agreed to.",
             false,
             false,
             {"record_audio", "transcribe", "quote_verbatim", "photo", "show_in_sessions", "archive"},
             {},
             nullptr},
            Text("obtained_by", "Who obtained consent."),
            Date("obtained_at", "When consent was obtained."),
            Choice("status", "Current status.", {"given", "refused", "withdrawn"}, false, "given"),
            Date("withdrawn_at", "When consent was withdrawn."),
        },
        "",
        true,
        true,
        {},
        nullptr,
        [](const Json& record) {
            const bool withdrawn = record.value("status", "") == "withdrawn";
            if (withdrawn && !record.contains("withdrawn_at"))
                throw RecordError("withdrawn_at", "is required when status is withdrawn", storage::errc::FIELD_REQUIRED,
                                  {{"field", "withdrawn_at"}});
            if (!withdrawn && record.contains("withdrawn_at"))
                throw RecordError("withdrawn_at", "is only for consent whose status is withdrawn");
        },
    };
    consent.role = storage::RecordRole::Consent;
    consent.list_order = 40;
    catalogue.Add(std::move(consent));

    RecordType interview{
        "interview",
        "An encounter: an unstructured interview, group discussion, observation, life journey or informal talk.",
        "capture",
        {
            Choice("kind", "Kind of encounter.",
                   {"unstructured_interview", "group_discussion", "observation", "life_journey", "informal"}, true),
            Text("title", "Short title.", false, true),
            RefList("participant_ids", "participant", "Participants present."),
            TextList("interviewers", "Who listened."),
            Date("started_at", "Start."),
            Date("ended_at", "End."),
            Text("place_label", "Coarse place label (village, market, cooperative), never an address.", false, true),
            Text("territory", "Territory.", false, true),
            TextList("languages", "Languages spoken."),
            TextList("topics", "Topics that came up.", true),
            LongText("summary", "Summary written after the encounter."),
            Choice("status", "Draft until the researcher marks it complete.", {"draft", "complete"}, false, "draft"),
        },
        "title",
        true,
        true,
        {},
        nullptr,
        [](const Json& record) { CheckOrder(record, "started_at", "ended_at"); },
    };
    interview.list_order = 20;
    catalogue.Add(std::move(interview));

    {
        // The audio is a blob (storage/blobs.h) named by its SHA-256; the
        // record says what it is of and where it stands.
        RecordType t{
            "recording",
            "Audio of an interview, of oral consent or of a voice note in a chat, kept encrypted as Opus in Ogg.",
            "capture",
            {
                Text("title", "What was recorded.", false, true),
                Ref("interview_id", "interview", "The interview recorded."),
                Ref("consent_id", "consent", "The consent given orally in this recording."),
                Ref("social_item_id", "social_media_item", "The chat message this voice note came with."),
                RefList("participant_ids", "participant",
                        "Participants whose voices it holds: it goes if any of them withdraws consent."),
                Choice("source", "Recorded on this device or brought in from a file.", {"recorded", "imported"}, false,
                       "recorded"),
                Choice("status", "Being recorded, complete, or recovered after the app stopped mid-recording.",
                       {"recording", "complete", "recovered"}, false, "recording"),
                Text("audio_sha256", "The SHA-256 of the audio (Ogg Opus) once it is complete."),
                {"duration_ms", FieldKind::Integer, "Length, in milliseconds.", false, false, {}, {}, nullptr},
                Date("started_at", "When recording started."),
            },
            "title",
            true,
            true,
            {},
            nullptr,
            [](const Json& record) {
                if (!record.contains("interview_id") && !record.contains("consent_id") &&
                    !record.contains("social_item_id"))
                    throw RecordError("interview_id", "a recording is of an interview, a consent or a chat message",
                                      storage::errc::FIELD_REQUIRED, {{"field", "interview_id"}});
                if (record.contains("duration_ms") && record["duration_ms"].get<int64_t>() < 0)
                    throw RecordError("duration_ms", "may not be negative", storage::errc::NOT_NEGATIVE,
                                      {{"field", "duration_ms"}});
                if (record.value("status", "") != "recording" && !record.contains("audio_sha256"))
                    throw RecordError("audio_sha256", "is required once the recording is complete",
                                      storage::errc::FIELD_REQUIRED, {{"field", "audio_sha256"}});
                if (record.contains("audio_sha256")) {
                    const std::string sha = record["audio_sha256"];
                    if (sha.size() != 64 || sha.find_first_not_of("0123456789abcdef") != std::string::npos)
                        throw RecordError("audio_sha256", "must be 64 lower-case hex digits",
                                          storage::errc::INVALID_VALUE,
                                          {{"field", "audio_sha256"}, {"reason", "not a SHA-256"}});
                }
            },
        };
        t.on_withdrawal = {{"participant_ids", storage::WithdrawalRule::Action::Erase, {}}};
        t.blob_fields = {"audio_sha256"};
        catalogue.Add(std::move(t));
    }

    catalogue.Add(RecordType{
        "audio_mark",
        "A moment marked in a recording, with a note: jump back to it while listening.",
        "capture",
        {
            Ref("recording_id", "recording", "The recording marked.", true),
            {"at_ms", FieldKind::Integer, "Where, in milliseconds from the start.", true, false, {}, {}, nullptr},
            Text("note", "What happens there.", false, true),
        },
        "note",
        true,
        true,
        {},
        nullptr,
        [](const Json& record) {
            if (record.contains("at_ms") && record["at_ms"].get<int64_t>() < 0)
                throw RecordError("at_ms", "may not be negative", storage::errc::NOT_NEGATIVE, {{"field", "at_ms"}});
        },
    });

    {
        RecordType t{
            "transcript_segment",
            "A stretch of transcribed speech from an interview, with its time in the recording.",
            "capture",
            {
                Ref("interview_id", "interview", "The interview transcribed.", true),
                Ref("recording_id", "recording", "The recording transcribed, when there is one."),
                {"start_ms",
                 FieldKind::Integer,
                 "Start, in milliseconds from the start of the recording.",
                 true,
                 false,
                 {},
                 {},
                 nullptr},
                {"end_ms", FieldKind::Integer, "End, in milliseconds.", true, false, {}, {}, nullptr},
                Text("speaker", "Who speaks (pseudonym or role).", false, true),
                Ref("speaker_id", "participant",
                    "The participant who speaks, when it is one: their words go if they withdraw consent."),
                LongText("text", "What was said, verbatim.", true),
                Text("language", "Language spoken."),
            },
            "",
            true,
            true,
            {},
            nullptr,
            [](const Json& record) {
                if (record.contains("start_ms") && record["start_ms"].get<int64_t>() < 0)
                    throw RecordError("start_ms", "may not be negative", storage::errc::NOT_NEGATIVE,
                                      {{"field", "start_ms"}});
                CheckOrder(record, "start_ms", "end_ms");
            },
        };
        t.on_withdrawal = {{"speaker_id", storage::WithdrawalRule::Action::Erase, {}}};
        t.list_order = 60;
        catalogue.Add(std::move(t));
    }

    RecordType field_note{
        "field_note",
        "A note written in the field: an observation, a reflexive memo, or a say-versus-do contrast.",
        "capture",
        {
            Ref("interview_id", "interview", "The interview the note is about, if any."),
            Choice("kind", "Kind of note.", {"observation", "reflexive_memo", "say_vs_do"}, false, "observation"),
            Text("title", "Short title.", false, true),
            LongText("text", "The note.", true),
            Date("written_at", "When it was written."),
        },
        "title",
        true,
        true,
        {},
        nullptr,
        nullptr,
    };
    field_note.list_order = 50;
    catalogue.Add(std::move(field_note));

    {
        RecordType t{
            "social_media_item",
            "A social-media item (a post, a comment, a chat message) kept as material; its author is a "
            "participant under a pseudonym, or a salted hash, never a name.",
            "capture",
            {
                Text("platform", "Platform (facebook, whatsapp, telegram, tiktok, x, radio_call_in...).", true),
                Text("url", "Address of the item."),
                Date("posted_at",
                     "When it was posted: local time as the export gives it, with an offset only when one is known."),
                Date("captured_at", "When it was captured."),
                Text("author_hash", "Salted hash of the author's handle; never the handle itself."),
                LongText("text",
                         "The text of the item; phone numbers, @handles and e-mail addresses of an import masked."),
                LongText("paraphrase", "A paraphrase to show instead of the verbatim text."),
                Ref("participant_id", "participant",
                    "The participant who wrote or shared it, when known: it goes if they withdraw consent."),
                Text("language", "Language."),
                Text("thread", "The chat, group or page it belongs to, with people's names replaced by pseudonyms.",
                     false, true),
                Ref("reply_to_id", "social_media_item", "The item it answers, when the export says."),
                TextList("attachments", "Names of the files attached to it (a photo, a voice note)."),
                {"media_omitted",
                 FieldKind::Boolean,
                 "True when the export left out a photo, audio, video or sticker the item had.",
                 false,
                 false,
                 {},
                 {},
                 nullptr},
                Text("message_key",
                     "What an import recognises the item by (platform, thread, time, author and text, hashed), so "
                     "the same export brought in again adds only new items."),
            },
            "",
            true,
            true,
            {},
            nullptr,
            [](const Json& record) {
                if (!record.contains("text") && !record.contains("paraphrase") && !record.contains("attachments") &&
                    !record.value("media_omitted", false))
                    throw RecordError("text", "either text or paraphrase is required", storage::errc::FIELD_REQUIRED,
                                      {{"field", "text"}});
            },
        };
        t.on_withdrawal = {{"participant_id", storage::WithdrawalRule::Action::Erase, {}}};
        t.list_order = 70;
        catalogue.Add(std::move(t));
    }

    {
        // A photo that came with a chat message: the picture is a blob, shown
        // only when asked for; the record says what it is and whose it is.
        RecordType t{
            "image",
            "A picture that came with a social-media item (a photo, a sticker), kept encrypted and shown on request.",
            "capture",
            {
                Text("title", "The file's name in the export."),
                Ref("social_item_id", "social_media_item", "The item it came with.", true),
                RefList("participant_ids", "participant",
                        "The participants it came from: it goes if any of them withdraws consent."),
                Choice("media_type", "What kind of picture.", {"image/jpeg", "image/png", "image/gif", "image/webp"},
                       true),
                Text("image_sha256", "The SHA-256 of the picture.", true),
                {"width", FieldKind::Integer, "Width in pixels, when known.", false, false, {}, {}, nullptr},
                {"height", FieldKind::Integer, "Height in pixels, when known.", false, false, {}, {}, nullptr},
            },
            "title",
            true,
            true,
            {},
            nullptr,
            [](const Json& record) {
                const std::string sha = record.value("image_sha256", "");
                if (sha.size() != 64 || sha.find_first_not_of("0123456789abcdef") != std::string::npos)
                    throw RecordError("image_sha256", "must be 64 lower-case hex digits", storage::errc::INVALID_VALUE,
                                      {{"field", "image_sha256"}, {"reason", "not a SHA-256"}});
                for (const char* f : {"width", "height"})
                    if (record.contains(f) && record[f].get<int64_t>() < 0)
                        throw RecordError(f, "may not be negative", storage::errc::NOT_NEGATIVE, {{"field", f}});
            },
        };
        t.on_withdrawal = {{"participant_ids", storage::WithdrawalRule::Action::Erase, {}}};
        t.blob_fields = {"image_sha256"};
        catalogue.Add(std::move(t));
    }

    {
        // What masking took out of an imported item's text: identifying, like
        // an identity link, so it stays on this device.
        RecordType t{
            "masked_originals",
            "What masking took out of a social-media item's text (phone numbers, @handles, e-mail addresses), in "
            "the order of its placeholders. Stays on this device unless the project's share_identities is true; "
            "never shown in search results.",
            "capture",
            {
                Ref("item_id", "social_media_item", "The item whose text was masked.", true),
                Ref("participant_id", "participant", "The item's author: it goes if they withdraw consent."),
                // Not searchable: what was masked must never reach the search index.
                {"originals",
                 FieldKind::TextList,
                 "The originals, in the order of the placeholders in the item's text.",
                 true,
                 false,
                 {},
                 {},
                 nullptr},
            },
            "",
            true,
            false,
            "share_identities",
            nullptr,
            nullptr,
        };
        t.identifying = true;
        t.on_withdrawal = {{"participant_id", storage::WithdrawalRule::Action::Erase, {}},
                           {"item_id", storage::WithdrawalRule::Action::Erase, {}}};
        catalogue.Add(std::move(t));
    }

    {
        RecordType t{
            "narrative",
            "A narrative (récit) told by one or more participants: dominant, emergent or alternative.",
            "capture",
            {
                Text("title", "Title of the narrative.", true, true),
                LongText("text", "The narrative.", true),
                Choice("kind", "Dominant, emergent or alternative.", {"dominant", "emergent", "alternative"}),
                RefList("teller_ids", "participant", "Participants who tell it."),
                RefList("source_interview_ids", "interview", "Interviews it comes from."),
                Text("language", "Language."),
            },
            "title",
            true,
            true,
            {},
            nullptr,
            nullptr,
        };
        t.on_withdrawal = {{"teller_ids", storage::WithdrawalRule::Action::Erase, {}}};
        t.list_order = 10;
        catalogue.Add(std::move(t));
    }
}

} // namespace escucha::capture
