#include "escucha/words/labels.h"

#include "escucha/words/i18n.h"

#include <map>
#include <string_view>

namespace escucha::words {

namespace {

using Table = std::map<std::string_view, const char*>;

const Table& TypeNames() {
    static const Table table = {
        {"project", N_("Project")},
        {"participant", N_("Participant")},
        {"identity_link", N_("Identity")},
        {"consent", N_("Consent")},
        {"interview", N_("Interview")},
        {"transcript_segment", N_("Transcript segment")},
        {"field_note", N_("Field note")},
        {"social_media_item", N_("Social-media item")},
        {"narrative", N_("Narrative")},
        {"profile", N_("Profile")},
        {"recording", N_("Recording")},
        {"audio_mark", N_("Mark in a recording")},
        {"code", N_("Code")},
        {"coding", N_("Coding")},
        {"quote", N_("Quote")},
        {"session", N_("Session")},
        {"profile_feedback", N_("Feedback on a profile")},
        {"challenge", N_("Challenge or opportunity")},
        {"prioritisation_round", N_("Prioritisation round")},
        {"vote", N_("Vote")},
        {"masked_originals", N_("Masked originals")},
        {"image", N_("Picture")},
    };
    return table;
}

const Table& TypePlurals() {
    static const Table table = {
        {"project", N_("Projects")},
        {"participant", N_("Participants")},
        {"identity_link", N_("Identities")},
        {"consent", N_("Consents")},
        {"interview", N_("Interviews")},
        {"transcript_segment", N_("Transcripts")},
        {"field_note", N_("Field notes")},
        {"social_media_item", N_("Social media")},
        {"narrative", N_("Narratives")},
        {"profile", N_("Profiles")},
        {"recording", N_("Recordings")},
        {"audio_mark", N_("Marks")},
        {"code", N_("Codebook")},
        {"coding", N_("Codings")},
        {"quote", N_("Quotes")},
        {"session", N_("Sessions")},
        {"profile_feedback", N_("Feedback on profiles")},
        {"challenge", N_("Challenges and opportunities")},
        {"prioritisation_round", N_("Prioritisation rounds")},
        {"vote", N_("Votes")},
        {"masked_originals", N_("Masked originals")},
        {"image", N_("Pictures")},
    };
    return table;
}

const Table& FieldNames() {
    static const Table table = {
        {"age_band", N_("Age band")},
        {"aspirations", N_("Aspirations")},
        {"author_hash", N_("Author (hashed)")},
        {"captured_at", N_("Captured on")},
        {"code", N_("Code")},
        {"contact", N_("Contact")},
        {"context", N_("Context")},
        {"description", N_("Description")},
        {"end_ms", N_("End (ms)")},
        {"ended_at", N_("Ended")},
        {"full_name", N_("Full name")},
        {"gender", N_("Gender")},
        {"group_definition", N_("Who the group is")},
        {"interview_id", N_("Interview")},
        {"interviewers", N_("Interviewers")},
        {"kind", N_("Kind")},
        {"language", N_("Language")},
        {"languages", N_("Languages")},
        {"listening_questions", N_("Listening questions")},
        {"mode", N_("Mode")},
        {"name", N_("Name")},
        {"narrative_ids", N_("Narratives drawn on")},
        {"narrative_summary", N_("Narrative summary")},
        {"needs_review", N_("To review (a participant withdrew consent)")},
        {"needs", N_("Needs")},
        {"notes", N_("Notes")},
        {"obtained_at", N_("Obtained on")},
        {"obtained_by", N_("Obtained by")},
        {"paraphrase", N_("Paraphrase")},
        {"participant_id", N_("Participant")},
        {"participant_ids", N_("Participants")},
        {"perceptions", N_("Perceptions")},
        {"place_label", N_("Place")},
        {"platform", N_("Platform")},
        {"posted_at", N_("Posted on")},
        {"problems", N_("Problems")},
        {"pseudonym", N_("Pseudonym")},
        {"recording_id", N_("Recording")},
        {"consent_id", N_("Consent")},
        {"source", N_("Source")},
        {"audio_sha256", N_("Audio (SHA-256)")},
        {"duration_ms", N_("Length (ms)")},
        {"at_ms", N_("At (ms)")},
        {"note", N_("Note")},
        {"referred_by", N_("Referred by")},
        {"retention_until", N_("Keep until")},
        {"scopes", N_("Agreed to")},
        {"script_version", N_("Script version")},
        {"sector", N_("Sector")},
        {"sectors", N_("Sectors")},
        {"share_identities", N_("Send identities to headquarters")},
        {"source_interview_ids", N_("Source interviews")},
        {"speaker", N_("Speaker")},
        {"speaker_id", N_("Speaker (participant)")},
        {"start_ms", N_("Start (ms)")},
        {"started_at", N_("Started")},
        {"status", N_("Status")},
        {"summary", N_("Summary")},
        {"teller_ids", N_("Told by")},
        {"territories", N_("Territories")},
        {"territory", N_("Territory")},
        {"text", N_("Text")},
        {"title", N_("Title")},
        {"topics", N_("Topics")},
        {"url", N_("Address (URL)")},
        {"version", N_("Version")},
        {"vulnerability_groups", N_("Groups")},
        {"withdrawn_at", N_("Withdrawn on")},
        {"written_at", N_("Written on")},
        {"parent_id", N_("Under")},
        {"colour", N_("Colour")},
        {"retired", N_("Retired")},
        {"merged_into", N_("Merged into")},
        {"code_id", N_("Code applied")},
        {"narrative_id", N_("Narrative")},
        {"transcript_segment_id", N_("Transcript segment")},
        {"field_note_id", N_("Field note")},
        {"social_media_item_id", N_("Social-media item")},
        {"start", N_("Start (character)")},
        {"end", N_("End (character)")},
        {"excerpt", N_("Excerpt")},
        {"memo", N_("Memo")},
        {"previous_version_id", N_("Refines version")},
        {"feedback_id", N_("Feedback that asked for it")},
        {"profile_id", N_("Profile")},
        {"coding_id", N_("Excerpt quoted")},
        {"position", N_("Order")},
        {"held_on", N_("Held on")},
        {"facilitators", N_("Facilitators")},
        {"community_count", N_("Community members")},
        {"public_sector_count", N_("Public sector")},
        {"private_sector_count", N_("Private sector")},
        {"social_actors_count", N_("Social actors")},
        {"civil_society_count", N_("Civil society")},
        {"education_count", N_("Education")},
        {"profile_ids", N_("Profiles")},
        {"session_id", N_("Session")},
        {"recognised", N_("Recognised?")},
        {"exists", N_("Exists in the territory?")},
        {"missing", N_("What is missing")},
        {"superfluous", N_("What is superfluous")},
        {"refinement", N_("Refinement asked for")},
        {"statement", N_("Statement")},
        {"pillars", N_("Decent work pillars")},
        {"code_ids", N_("Codes")},
        {"coding_ids", N_("Excerpts")},
        {"method", N_("Method")},
        {"challenge_ids", N_("Challenges and opportunities")},
        {"voter_tokens", N_("Voter tokens")},
        {"dots_per_voter", N_("Dots per voter")},
        {"score_min", N_("Lowest score")},
        {"score_max", N_("Highest score")},
        {"decision", N_("Decision")},
        {"round_id", N_("Round")},
        {"voter_token", N_("Voter token")},
        {"ballot_id", N_("Ballot")},
        {"challenge_id", N_("Challenge or opportunity")},
        {"dots", N_("Dots")},
        {"impact", N_("Impact")},
        {"feasibility", N_("Feasibility")},
        {"rank", N_("Rank")},
        {"argument", N_("Argument")},
        {"thread", N_("Thread")},
        {"reply_to_id", N_("In reply to")},
        {"attachments", N_("Attachments")},
        {"media_omitted", N_("Media left out of the export")},
        {"message_key", N_("Message key")},
        {"item_id", N_("Item")},
        {"originals", N_("Originals")},
        {"social_item_id", N_("Chat message")},
        {"media_type", N_("Kind of picture")},
        {"image_sha256", N_("Picture (SHA-256)")},
        {"width", N_("Width (px)")},
        {"height", N_("Height (px)")},
    };
    return table;
}

const Table& ChoiceNames() {
    static const Table table = {
        {"under_18", N_("Under 18")},
        {"18_24", N_("18 to 24")},
        {"25_34", N_("25 to 34")},
        {"35_44", N_("35 to 44")},
        {"45_54", N_("45 to 54")},
        {"55_64", N_("55 to 64")},
        {"65_plus", N_("65 or more")},
        {"unknown", N_("Unknown")},
        {"written", N_("Written")},
        {"oral_recorded", N_("Oral, recorded")},
        {"recorded", N_("Recorded on this device")},
        {"imported", N_("Imported from a file")},
        {"recording", N_("Being recorded")},
        {"recovered", N_("Recovered after a stop")},
        {"image/jpeg", N_("JPEG")},
        {"image/png", N_("PNG")},
        {"image/gif", N_("GIF")},
        {"image/webp", N_("WebP")},
        {"witnessed", N_("Witnessed")},
        {"record_audio", N_("Record audio")},
        {"transcribe", N_("Transcribe")},
        {"quote_verbatim", N_("Quote word for word")},
        {"photo", N_("Photos")},
        {"show_in_sessions", N_("Show in sessions")},
        {"archive", N_("Archive")},
        {"given", N_("Given")},
        {"refused", N_("Refused")},
        {"withdrawn", N_("Withdrawn")},
        {"unstructured_interview", N_("Unstructured interview")},
        {"group_discussion", N_("Group discussion")},
        {"observation", N_("Observation")},
        {"life_journey", N_("Life journey")},
        {"informal", N_("Informal talk")},
        {"draft", N_("Draft")},
        {"complete", N_("Complete")},
        {"reflexive_memo", N_("Reflexive memo")},
        {"say_vs_do", N_("Say versus do")},
        {"dominant", N_("Dominant")},
        {"emergent", N_("Emergent")},
        {"alternative", N_("Alternative")},
        {"individual", N_("Individual")},
        {"collective", N_("Collective")},
        {"presented", N_("Presented")},
        {"refined", N_("Refined")},
        {"need", N_("Need")},
        {"aspiration", N_("Aspiration")},
        {"perception", N_("Perception")},
        {"problem", N_("Problem")},
        {"value", N_("Value")},
        {"other", N_("Other")},
        {"collective_interpretation", N_("Collective interpretation")},
        {"contrast", N_("Contrast with local actors")},
        {"yes", N_("Yes")},
        {"partly", N_("Partly")},
        {"no", N_("No")},
        {"challenge", N_("Challenge")},
        {"opportunity", N_("Opportunity")},
        {"employment", N_("Employment")},
        {"rights_at_work", N_("Rights at work")},
        {"social_protection", N_("Social protection")},
        {"social_dialogue", N_("Social dialogue")},
        {"dot_voting", N_("Dot voting")},
        {"impact_feasibility", N_("Impact × feasibility")},
        {"ranking", N_("Ranking")},
        {"open", N_("Open for votes")},
        {"closed", N_("Closed")},
        // Roles at headquarters
        {"researcher", N_("Researcher")},
        {"interpreter", N_("Interpreter")},
        {"coordinator", N_("Coordinator")},
    };
    return table;
}

const char* Look(const Table& table, const std::string& name) {
    const auto it = table.find(name);
    return it == table.end() ? name.c_str() : Tr(it->second);
}

} // namespace

const char* TypeLabel(const std::string& type) { return Look(TypeNames(), type); }
const char* TypePluralLabel(const std::string& type) { return Look(TypePlurals(), type); }
const char* FieldLabel(const std::string& field) { return Look(FieldNames(), field); }
const char* ChoiceLabel(const std::string& choice) { return Look(ChoiceNames(), choice); }
const char* FormFieldLabel(const std::string& type, const std::string& field, const std::string& kind) {
    if (type == "profile" && field == "group_definition") {
        if (kind == "individual") return Tr("Who this person is");
        if (kind != "collective") return Tr("Who the profile is about");
    }
    if (type == "profile" && field == "participant_ids" && kind == "individual") return Tr("Participant drawn on");
    if (type == "coding" && field == "needs_review") return Tr("To review (the source text changed)");
    if (type == "session" && field == "profile_ids") return Tr("Profiles presented");
    if (type == "session" && field == "narrative_ids") return Tr("Narratives shown");
    if (type == "challenge" && field == "narrative_ids") return Tr("Narratives as evidence");
    return FieldLabel(field);
}

bool HasTypeLabel(const std::string& type) { return TypeNames().count(type) && TypePlurals().count(type); }
bool HasFieldLabel(const std::string& field) { return FieldNames().count(field) > 0; }
bool HasChoiceLabel(const std::string& choice) { return ChoiceNames().count(choice) > 0; }

std::map<std::string, std::string> NameLabels(const storage::Catalogue& catalogue) {
    std::map<std::string, std::string> out;
    for (const auto& type : catalogue.Types()) {
        out[type.name] = TypeLabel(type.name);
        for (const auto& field : type.fields)
            for (const auto& choice : field.choices) out[choice] = ChoiceLabel(choice);
    }
    return out;
}

} // namespace escucha::words
