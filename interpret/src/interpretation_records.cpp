#include "escucha/interpret/interpretation_records.h"

#include "escucha/capture/listening_records.h"
#include "escucha/interpret/coding.h"

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
