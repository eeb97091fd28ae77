#include "escucha/interpret/interpretation_records.h"

#include "escucha/capture/listening_records.h"

namespace escucha::interpret {

using storage::FieldKind;
using storage::FieldSpec;
using storage::Json;
using storage::RecordError;
using storage::RecordType;

void AddInterpretationTypes(storage::Catalogue& catalogue) {
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
