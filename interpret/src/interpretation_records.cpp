#include "escucha/interpret/interpretation_records.h"

#include "escucha/capture/listening_records.h"
#include "escucha/interpret/coding.h"
#include "escucha/interpret/priorities.h"
#include "escucha/interpret/profiles.h"
#include "escucha/interpret/sessions.h"

#include <set>
#include <string_view>

namespace escucha::interpret {

using storage::FieldKind;
using storage::FieldSpec;
using storage::Json;
using storage::RecordError;
using storage::RecordType;

namespace {

bool IsColour(std::string_view text) {
    if (text.size() != 7 || text[0] != '#') return false;
    for (size_t i = 1; i < text.size(); ++i)
        if (!std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
    return true;
}

FieldSpec Ref(std::string name, std::string ref_type, std::string description, bool required = false) {
    return {std::move(name), FieldKind::Reference, std::move(description), required, false, {}, std::move(ref_type),
            nullptr};
}

FieldSpec Flag(std::string name, std::string description) {
    return {std::move(name), FieldKind::Boolean, std::move(description), false, false, {}, {}, nullptr};
}

FieldSpec Count(std::string name, std::string description) {
    return {std::move(name), FieldKind::Integer, std::move(description), true, false, {}, {}, nullptr};
}

FieldSpec Number(std::string name, std::string description, Json default_value = nullptr) {
    return {std::move(name),         FieldKind::Integer, std::move(description), false, false, {}, {},
            std::move(default_value)};
}

FieldSpec RefList(std::string name, std::string ref_type, std::string description) {
    return {std::move(name), FieldKind::ReferenceList, std::move(description), false, false, {}, std::move(ref_type),
            nullptr};
}

FieldSpec Line(std::string name, std::string description, bool required = false) {
    return {std::move(name), FieldKind::Text, std::move(description), required, true, {}, {}, nullptr};
}

FieldSpec Paragraphs(std::string name, std::string description, bool searchable = true) {
    return {std::move(name), FieldKind::LongText, std::move(description), false, searchable, {}, {}, nullptr};
}

FieldSpec OneOf(std::string name, std::string description, std::vector<std::string> choices, bool required = false,
                Json default_value = nullptr) {
    return {std::move(name),         FieldKind::Choice, std::move(description), required, false, std::move(choices), {},
            std::move(default_value)};
}

/// Throws NOT_NEGATIVE when integer `field` is present and below `least`
/// (0 or 1).
void AtLeast(const Json& record, const std::string& field, int64_t least) {
    if (!record.contains(field) || !record[field].is_number_integer() || record[field].get<int64_t>() >= least) return;
    if (least == 0) throw RecordError(field, "must not be negative", storage::errc::NOT_NEGATIVE, {{"field", field}});
    throw RecordError(field, "must be 1 or more", storage::errc::AT_LEAST_ONE, {{"field", field}});
}

void AddCodebookTypes(storage::Catalogue& catalogue) {
    RecordType code{
        CODE_TYPE,
        "A code of the project's codebook: a need, aspiration, perception, problem, value or other theme, "
        "possibly under a parent code.",
        "interpret",
        {
            {"name", FieldKind::Text, "Name of the code.", true, true, {}, {}, nullptr},
            Ref("parent_id", CODE_TYPE, "The code this one is under; none for a top-level code."),
            {"kind",
             FieldKind::Choice,
             "What the code names.",
             true,
             false,
             {"need", "aspiration", "perception", "problem", "value", "other"},
             {},
             "other"},
            {"colour", FieldKind::Text, "Colour shown with the code, as #RRGGBB.", false, false, {}, {}, nullptr},
            {"description",
             FieldKind::LongText,
             "What the code means and when to apply it.",
             false,
             true,
             {},
             {},
             nullptr},
            Flag("retired", "Kept for the codings that used it, but no longer offered for new coding."),
            Ref("merged_into", CODE_TYPE, "The code this one was merged into, when it was."),
        },
        "name",
        true,
        true,
        {},
        nullptr,
        [](const Json& record) {
            if (record.contains("colour") && !IsColour(record["colour"].get<std::string>()))
                throw RecordError("colour", "must be written #RRGGBB", storage::errc::BAD_COLOUR,
                                  {{"field", "colour"}, {"value", record["colour"]}});
            if (record.contains("parent_id") && record.contains("id") && record["parent_id"] == record["id"])
                throw RecordError("parent_id", "a code cannot be under itself", storage::errc::CODE_CYCLE,
                                  {{"id", record["id"]}, {"parent", record["parent_id"]}});
        },
        true, // shared: interpreters build the codebook together
    };
    catalogue.Add(std::move(code));

    // One record per code applied to a passage: two interpreters coding the
    // same text offline write different records, so neither loses the
    // other's codings (docs/decisions/0012-coding.md). The source is one of
    // the catalogue's types with codable text, each by a reference of its own
    // so the store checks it and finds the codings of a source by an index.
    std::vector<FieldSpec> fields = {
        Ref("code_id", CODE_TYPE, "The code applied.", true),
    };
    std::vector<std::string> source_fields;
    for (const auto& type : catalogue.Types()) {
        if (!CodableField(type)) continue;
        source_fields.push_back(SourceField(type.name));
        fields.push_back(Ref(source_fields.back(), type.name, "The " + type.name + " coded (one source per coding)."));
    }
    fields.push_back(Count("start", "Where the passage starts, in Unicode code points from the start of the text."));
    fields.push_back(Count("end", "Where the passage ends (exclusive), in Unicode code points."));
    fields.push_back(
        {"excerpt", FieldKind::LongText, "The passage as it read when it was coded.", false, false, {}, {}, nullptr});
    // Neither the excerpt (the source's own words, found by searching the
    // source) nor the memo is in the search index: a search lists sources,
    // not every coding of them twice.
    fields.push_back({"memo", FieldKind::LongText, "The coder's memo on the passage.", false, false, {}, {}, nullptr});
    fields.push_back(
        Flag("needs_review", "Set when the source text changed so that the passage could not be found again."));
    RecordType coding{
        CODING_TYPE,
        "A code applied to a passage of a narrative, transcript segment, field note or social-media item.",
        "interpret",
        std::move(fields),
        "",
        true,
        true,
        {},
        nullptr,
        [source_fields](const Json& record) {
            int sources = 0;
            for (const auto& f : source_fields) sources += record.contains(f) ? 1 : 0;
            if (sources != 1)
                throw RecordError(source_fields.empty() ? "code_id" : source_fields.front(),
                                  "a coding names exactly one source", storage::errc::CODING_ONE_SOURCE, {});
            if (record.contains("start") && record["start"].get<int64_t>() < 0)
                throw RecordError("start", "must not be negative", storage::errc::NOT_NEGATIVE, {{"field", "start"}});
            if (record.contains("start") && record.contains("end") &&
                record["end"].get<int64_t>() < record["start"].get<int64_t>())
                throw RecordError("end", "comes before start", storage::errc::END_BEFORE_START,
                                  {{"field", "end"}, {"start", "start"}});
        },
        true, // shared: a merge of codes or an edit of the source moves codings made by others
    };
    // The passage lies within its source's text (in code points), whoever
    // wrote the coding (an import from another tool included). A coding
    // flagged for review after its source changed keeps its old offsets.
    coding.validate_with_store = [source_fields](const Json& record,
                                                 const std::function<std::optional<Json>(const std::string&)>& get) {
        if (record.value("needs_review", false)) return;
        for (const auto& f : source_fields) {
            if (!record.contains(f)) continue;
            const auto source = get(record[f].get<std::string>());
            if (!source) return;
            const auto* field = CodableField(AllRecordTypes().Get((*source)["type"].get<std::string>()));
            const std::string text =
                field && source->contains(field->name) ? (*source)[field->name].get<std::string>() : "";
            const int64_t length = CodePointLength(text);
            const int64_t start = record.value("start", int64_t{0}), end = record.value("end", int64_t{0});
            if (end > length)
                throw RecordError("end", "the passage lies outside the text", storage::errc::OUTSIDE_TEXT,
                                  {{"start", start}, {"end", end}, {"length", length}});
        }
    };
    // A coding holds its excerpt, words of the source: erased with the source
    // when a withdrawn consent erases it.
    for (const auto& f : source_fields) coding.on_withdrawal.push_back({f, storage::WithdrawalRule::Action::Erase, {}});
    catalogue.Add(std::move(coding));
}

// A quote is a record of its own, one per excerpt chosen for a profile: two
// interpreters adding quotes offline write different records, so neither
// loses one (docs/decisions/0014-profiles-sessions-priorities.md). It names
// the coding it quotes; the words are the coding's, shown only when the
// consent of the source's participants covers quoting (profiles.h).
void AddProfileQuoteTypes(storage::Catalogue& catalogue) {
    RecordType quote{
        QUOTE_TYPE,
        "An excerpt chosen as a quote of a profile, with why it was chosen.",
        "interpret",
        {
            Ref("profile_id", PROFILE_TYPE, "The profile the quote illustrates.", true),
            Ref("coding_id", CODING_TYPE, "The excerpt (coding) quoted: its source and interview follow from it.",
                true),
            Number("position", "Where the quote comes among the profile's quotes, from 1.", 1),
            Paragraphs("note", "Why this quote was chosen.", false),
        },
        "",
        true,
        true,
        {},
        nullptr,
        [](const Json& record) { AtLeast(record, "position", 1); },
        true, // shared: interpreters order a profile's quotes together
    };
    // The quote goes with the coding it quotes (and so with the source its
    // words come from) when a withdrawn consent erases it.
    quote.on_withdrawal = {{"coding_id", storage::WithdrawalRule::Action::Erase, {}}};
    catalogue.Add(std::move(quote));
}

void AddSessionTypes(storage::Catalogue& catalogue) {
    std::vector<FieldSpec> fields = {
        OneOf("kind", "A collective-interpretation session, or a contrast session with local actors.",
              {"collective_interpretation", "contrast"}, true),
        Line("title", "Short title.", true),
        {"held_on", FieldKind::Date, "When the session was held.", true, false, {}, {}, nullptr},
        Line("place_label", "Coarse place label (village, cooperative, municipal hall), never an address."),
        {"facilitators", FieldKind::TextList, "Who facilitated.", false, true, {}, {}, nullptr},
    };
    for (const auto& [field, who] : SessionCompositionFields())
        fields.push_back(Number(field, std::string("How many people from ") + who + " took part (no names).", 0));
    fields.push_back(RefList("profile_ids", PROFILE_TYPE, "Profiles presented."));
    fields.push_back(RefList("narrative_ids", "narrative", "Narratives read out or shown."));
    fields.push_back(Paragraphs("notes", "What happened, in the facilitators' words."));
    fields.push_back(Flag("needs_review",
                          "Set when a narrative shown came from a participant who withdrew consent: what came from "
                          "them must be taken out of the session's notes."));
    RecordType session{
        SESSION_TYPE,
        "A collective-interpretation or contrast session: when, where, who facilitated, how many people of which "
        "kind took part (anonymous counts) and the profiles presented.",
        "interpret",
        std::move(fields),
        "title",
        true,
        true,
        {},
        nullptr,
        [](const Json& record) {
            for (const auto& [field, who] : SessionCompositionFields()) AtLeast(record, field, 0);
        },
        true, // shared: facilitators write it together
    };
    session.on_withdrawal = {{"narrative_ids", storage::WithdrawalRule::Action::FlagForReview, "needs_review"}};
    session.list_order = 90;
    catalogue.Add(std::move(session));

    const std::vector<std::string> answers = {"yes", "partly", "no"};
    RecordType feedback{
        FEEDBACK_TYPE,
        "What a session said about a profile presented: recognised? exists? what is missing or superfluous, and "
        "how to refine it.",
        "interpret",
        {
            Ref("session_id", SESSION_TYPE, "The session.", true),
            Ref("profile_id", PROFILE_TYPE, "The profile presented.", true),
            OneOf("recognised", "Did the people present recognise the profile?", answers),
            OneOf("exists", "Does such a person or group exist in the territory?", answers),
            Paragraphs("missing", "What is missing from the profile."),
            Paragraphs("superfluous", "What is superfluous or wrong in it."),
            Paragraphs("refinement", "How the profile should be refined."),
        },
        "",
        true,
        true,
        {},
        nullptr,
        nullptr,
        true, // shared: facilitators complete it together
    };
    catalogue.Add(std::move(feedback));
}

void AddPrioritisationTypes(storage::Catalogue& catalogue) {
    RecordType challenge{
        CHALLENGE_TYPE,
        "A challenge or an opportunity found in the material, with its evidence, classified by the pillars of "
        "decent work in the rural economy.",
        "interpret",
        {
            OneOf("kind", "Challenge or opportunity.", {"challenge", "opportunity"}, true),
            Line("statement", "The challenge or opportunity in one sentence.", true),
            Paragraphs("description", "What it is, for whom, and why it matters."),
            {"pillars",
             FieldKind::ChoiceList,
             "The pillars of decent work in the rural economy it concerns (ILO).",
             false,
             false,
             {"employment", "rights_at_work", "social_protection", "social_dialogue"},
             {},
             nullptr},
            RefList("code_ids", CODE_TYPE, "Codes that show it."),
            RefList("coding_ids", CODING_TYPE, "Excerpts that show it."),
            RefList("profile_ids", PROFILE_TYPE, "Profiles that show it."),
            RefList("narrative_ids", "narrative", "Narratives that show it."),
            Flag("needs_review", "Set when evidence it cited was erased because a participant withdrew consent."),
        },
        "statement",
        true,
        true,
        {},
        nullptr,
        nullptr,
        true, // shared: interpreters gather evidence together
    };
    challenge.on_withdrawal = {
        {"coding_ids", storage::WithdrawalRule::Action::FlagForReview, "needs_review"},
        {"narrative_ids", storage::WithdrawalRule::Action::FlagForReview, "needs_review"},
    };
    challenge.list_order = 100;
    catalogue.Add(std::move(challenge));

    RecordType round{
        ROUND_TYPE,
        "A round of prioritisation of challenges and opportunities: by dot voting, impact x feasibility scoring "
        "or ranking, with anonymous voters, and the decision taken.",
        "interpret",
        {
            Line("title", "Short title.", true),
            OneOf("method", "How the round prioritises.", {"dot_voting", "impact_feasibility", "ranking"}, true),
            RefList("challenge_ids", CHALLENGE_TYPE, "The challenges and opportunities prioritised."),
            {"voter_tokens",
             FieldKind::TextList,
             "Anonymous voter tokens handed out (no names).",
             false,
             false,
             {},
             {},
             nullptr},
            Number("dots_per_voter", "Dot voting: how many dots each voter places."),
            Number("score_min", "Impact x feasibility: the lowest score."),
            Number("score_max", "Impact x feasibility: the highest score."),
            Ref("session_id", SESSION_TYPE, "The session the round was held in, if any."),
            {"held_on", FieldKind::Date, "When the round was held.", false, false, {}, {}, nullptr},
            OneOf("status", "Open while votes are cast; closed once decided.", {"open", "closed"}, false, "open"),
            Paragraphs("decision", "What was decided, and why."),
        },
        "title",
        true,
        true,
        {},
        // A round made in a form or by `escucha-cli add` gets its method's usual parameters, as CreateRound gives.
        [](Json& record) {
            const std::string method = record.value("method", "");
            if (method == "dot_voting" && !record.contains("dots_per_voter"))
                record["dots_per_voter"] = DEFAULT_DOTS_PER_VOTER;
            if (method == "impact_feasibility") {
                if (!record.contains("score_min")) record["score_min"] = DEFAULT_SCORE_MIN;
                if (!record.contains("score_max")) record["score_max"] = DEFAULT_SCORE_MAX;
            }
        },
        [](const Json& record) {
            if (!record.contains("challenge_ids") || record["challenge_ids"].empty())
                throw RecordError("challenge_ids", "a round prioritises at least one challenge or opportunity",
                                  storage::errc::NO_CHALLENGES, {});
            const std::string method = record.value("method", "");
            if (method == "dot_voting" && !record.contains("dots_per_voter"))
                throw RecordError("dots_per_voter", "is required for dot voting", storage::errc::FIELD_REQUIRED,
                                  {{"field", "dots_per_voter"}});
            AtLeast(record, "dots_per_voter", 1);
            if (method == "impact_feasibility")
                for (const char* f : {"score_min", "score_max"})
                    if (!record.contains(f))
                        throw RecordError(f, "is required for impact x feasibility scoring",
                                          storage::errc::FIELD_REQUIRED, {{"field", f}});
            AtLeast(record, "score_min", 0);
            if (record.contains("score_min") && record.contains("score_max") &&
                record["score_max"].get<int64_t>() <= record["score_min"].get<int64_t>())
                throw RecordError("score_max", "the highest score must be above the lowest",
                                  storage::errc::BAD_SCORE_RANGE,
                                  {{"min", record["score_min"]}, {"max", record["score_max"]}});
            std::set<std::string> seen;
            for (const auto& t : record.value("voter_tokens", Json::array()))
                if (!IsVoterToken(t.get<std::string>()) || !seen.insert(t.get<std::string>()).second)
                    throw RecordError("voter_tokens", "holds something other than distinct voter tokens",
                                      storage::errc::BAD_VOTER_TOKEN, {});
        },
        true, // shared: facilitators run the round together
    };
    round.list_order = 110;
    catalogue.Add(std::move(round));

    // One record per voter and challenge: votes cast on several devices
    // offline are different records, and all count.
    RecordType vote{
        VOTE_TYPE,
        "One anonymous voter's mark for one challenge in a prioritisation round, with the argument given.",
        "interpret",
        {
            Ref("round_id", ROUND_TYPE, "The round.", true),
            {"voter_token", FieldKind::Text, "The voter's anonymous token.", true, false, {}, {}, nullptr},
            {"ballot_id",
             FieldKind::Text,
             "The same for every mark a voter cast at once: a later ballot of the same voter replaces it.",
             true,
             false,
             {},
             {},
             nullptr},
            Ref("challenge_id", CHALLENGE_TYPE, "The challenge or opportunity marked.", true),
            Number("dots", "Dot voting: dots placed on it."),
            Number("impact", "Impact x feasibility: the impact score."),
            Number("feasibility", "Impact x feasibility: the feasibility score."),
            Number("rank", "Ranking: its place, 1 first."),
            Paragraphs("argument", "The argument the voter gave."),
        },
        "",
        true,
        true,
        {},
        nullptr,
        [](const Json& record) {
            if (record.contains("voter_token") && !IsVoterToken(record["voter_token"].get<std::string>()))
                throw RecordError("voter_token", "is not an anonymous voter token", storage::errc::BAD_VOTER_TOKEN, {});
            for (const char* f : {"dots", "impact", "feasibility"}) AtLeast(record, f, 0);
            AtLeast(record, "rank", 1);
        },
    };
    // The voter is one of the round's, and the challenge one of its challenges.
    vote.validate_with_store = [](const Json& record,
                                  const std::function<std::optional<Json>(const std::string&)>& get) {
        const auto round = get(record.value("round_id", ""));
        if (!round) return;
        const auto challenge = record.value("challenge_id", "");
        const auto in = [](const Json& list, const std::string& value) {
            return list.is_array() && std::find(list.begin(), list.end(), Json(value)) != list.end();
        };
        if (!in(round->value("challenge_ids", Json::array()), challenge))
            throw RecordError("challenge_id", "is not prioritised in this round", storage::errc::CHALLENGE_NOT_IN_ROUND,
                              {{"id", challenge}});
        if (!in(round->value("voter_tokens", Json::array()), record.value("voter_token", "")))
            throw RecordError("voter_token", "is not a voter of this round", storage::errc::UNKNOWN_VOTER, {});
    };
    catalogue.Add(std::move(vote));
}

} // namespace

void AddInterpretationTypes(storage::Catalogue& catalogue) {
    AddCodebookTypes(catalogue);
    const auto long_text = [](const char* name, const char* description) {
        return FieldSpec{name, FieldKind::LongText, description, false, true, {}, {}, nullptr};
    };
    const auto list = [](const char* name, const char* description) {
        return FieldSpec{name, FieldKind::TextList, description, false, true, {}, {}, nullptr};
    };
    RecordType profile{
        "profile",
        "An ethnographic profile, individual or collective, built from participants and narratives.",
        "interpret",
        {
            {"kind",
             FieldKind::Choice,
             "Individual or collective.",
             true,
             false,
             {"individual", "collective"},
             {},
             nullptr},
            {"name",
             FieldKind::Text,
             "Name of the profile (a pseudonym or a group's name).",
             true,
             true,
             {},
             {},
             nullptr},
            long_text("group_definition", "For a collective profile: who the group is."),
            {"participant_ids",
             FieldKind::ReferenceList,
             "Participants the profile draws on.",
             false,
             false,
             {},
             "participant",
             nullptr},
            {"narrative_ids",
             FieldKind::ReferenceList,
             "Narratives the profile draws on.",
             false,
             false,
             {},
             "narrative",
             nullptr},
            long_text("context", "Living and working context."),
            long_text("narrative_summary", "The profile told as a short narrative."),
            list("needs", "Needs."),
            list("aspirations", "Aspirations."),
            list("perceptions", "Perceptions."),
            list("problems", "Problems."),
            {"status",
             FieldKind::Choice,
             "Where the profile stands.",
             false,
             false,
             {"draft", "presented", "refined"},
             {},
             "draft"},
            {"version", FieldKind::Integer, "Version, raised when the profile is refined.", false, false, {}, {}, 1},
            {"needs_review",
             FieldKind::Boolean,
             "Set when a participant it draws on withdrew consent: what came from them must be taken out.",
             false,
             false,
             {},
             {},
             nullptr},
            Ref("previous_version_id", PROFILE_TYPE, "The version this one refines; none for a first version."),
            Ref("feedback_id", FEEDBACK_TYPE, "The session feedback that asked for this version."),
        },
        "name",
        true,
        true,
        {},
        nullptr,
        [](const Json& record) {
            if (record.contains("version") && record["version"].get<int64_t>() < 1)
                throw RecordError("version", "must be 1 or more");
            if (record.value("kind", "") == "individual" && record.contains("participant_ids") &&
                record["participant_ids"].size() > 1)
                throw RecordError("participant_ids", "an individual profile draws on one participant at most");
        },
        true, // shared: interpreters refine profiles together
    };
    profile.on_withdrawal = {
        {"participant_ids", storage::WithdrawalRule::Action::FlagForReview, "needs_review"},
        {"narrative_ids", storage::WithdrawalRule::Action::FlagForReview, "needs_review"},
    };
    profile.list_order = 80;
    // Written beside the narratives it draws on.
    profile.read_beside = "narrative_ids";
    catalogue.Add(std::move(profile));
    AddProfileQuoteTypes(catalogue);
    AddSessionTypes(catalogue);
    AddPrioritisationTypes(catalogue);
}

const storage::Catalogue& AllRecordTypes() {
    static const storage::Catalogue catalogue = [] {
        storage::Catalogue c;
        capture::AddListeningTypes(c);
        AddInterpretationTypes(c);
        return c;
    }();
    return catalogue;
}

} // namespace escucha::interpret
