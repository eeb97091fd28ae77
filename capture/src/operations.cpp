#include "escucha/capture/operations.h"

#include "escucha/capture/access.h"
#include "escucha/storage/clock.h"

#include <algorithm>
#include <set>

namespace escucha::capture {

using storage::RecordError;
using storage::RecordStore;
using storage::RecordType;
using storage::WithdrawalRule;

namespace {

/// Whether `value` (a reference or a list of them) names `id`.
bool Names(const Json& value, const std::string& id) {
    if (value.is_string()) return value.get<std::string>() == id;
    if (value.is_array())
        return std::any_of(value.begin(), value.end(), [&](const Json& v) { return v.is_string() && v == id; });
    return false;
}

Json LiveRecord(RecordStore& store, const std::string& id, const char* expected_type, const char* field) {
    const auto record = store.Get(id);
    if (!record || (*record)["deleted"].get<bool>() || (*record)["type"] != expected_type)
        throw RecordError(field, std::string("no ") + expected_type + " " + id + " in this vault",
                          storage::errc::RECORD_NOT_FOUND, {{"field", field}, {"id", id}});
    return *record;
}

} // namespace

const storage::FieldSpec* PersonField(const storage::Catalogue& catalogue, const RecordType& type) {
    const auto* person = catalogue.WithRole(storage::RecordRole::Person);
    if (!person) return nullptr;
    for (const auto& f : type.fields)
        if (f.kind == storage::FieldKind::Reference && f.ref_type == person->name) return &f;
    return nullptr;
}

bool ConsentCovers(const std::vector<Json>& consents, const std::string& scope) {
    bool covered = false;
    for (const auto& consent : consents) {
        if (consent.value("deleted", false)) continue;
        const std::string status = consent.value(CONSENT_STATUS, "");
        if (status == CONSENT_WITHDRAWN) return false;
        if (status != "given") continue;
        const auto scopes = consent.find("scopes");
        if (scopes == consent.end() || !scopes->is_array()) continue;
        for (const auto& s : *scopes)
            if (s.is_string() && s.get<std::string>() == scope) covered = true;
    }
    return covered;
}

std::vector<Json> ConsentsOf(RecordStore& store, const std::string& participant_id) {
    const auto* consent = store.Types().WithRole(storage::RecordRole::Consent);
    std::vector<Json> out;
    if (!consent) return out;
    const auto* field = PersonField(store.Types(), *consent);
    if (!field) return out;
    for (const auto& id : store.ReferencesTo(participant_id)) {
        auto record = store.Get(id);
        if (record && (*record)["type"] == consent->name && !(*record)["deleted"].get<bool>() &&
            record->value(field->name, "") == participant_id)
            out.push_back(std::move(*record));
    }
    return out;
}

bool ParticipantConsents(RecordStore& store, const std::string& participant_id, const std::string& scope) {
    return ConsentCovers(ConsentsOf(store, participant_id), scope);
}

std::optional<Json> IdentityOf(RecordStore& store, const std::string& participant_id) {
    for (const auto& id : store.ReferencesTo(participant_id)) {
        auto record = store.Get(id);
        if (record && (*record)["type"] == IDENTITY_LINK && !(*record)["deleted"].get<bool>() &&
            record->value("participant_id", "") == participant_id)
            return record;
    }
    return std::nullopt;
}

NewParticipant CreateParticipant(RecordStore& store, const std::string& project_id, const Json& participant,
                                 const Json& identity) {
    if (!participant.is_object())
        throw RecordError("", "a participant must be a JSON object", storage::errc::NOT_AN_OBJECT);
    if (!identity.is_object()) throw RecordError("", "an identity must be a JSON object", storage::errc::NOT_AN_OBJECT);
    NewParticipant out;
    store.Atomically([&] {
        (void)LiveRecord(store, project_id, "project", "project_id");
        Json fields = participant;
        fields["project_id"] = project_id;
        out.participant = store.Create("participant", fields);
        if (identity.contains("full_name") && identity["full_name"].is_string() &&
            !identity["full_name"].get<std::string>().empty()) {
            Json link = identity;
            link["project_id"] = project_id;
            link["participant_id"] = out.participant["id"];
            out.identity = store.Create(IDENTITY_LINK, link);
        }
    });
    return out;
}

Withdrawal WithdrawConsent(RecordStore& store, const std::string& participant_id, const std::string& date) {
    if (!storage::ParseIsoMillis(date))
        throw RecordError("withdrawn_at", "must be a date such as 2026-03-14", storage::errc::NOT_A_DATE,
                          {{"field", "withdrawn_at"}, {"value", date}});
    const auto& catalogue = store.Types();
    Withdrawal out;
    out.participant_id = participant_id;
    store.Atomically([&] {
        const auto participant = LiveRecord(store, participant_id, "participant", "participant_id");
        const std::string project = participant["project_id"];

        // 1. Every consent of theirs says withdrawn, with the date.
        storage::ListOptions in_project;
        in_project.project_id = project;
        std::string cause;
        for (const auto& consent : store.List("consent", in_project)) {
            if (consent.value("participant_id", "") != participant_id) continue;
            if (consent.value("status", "") != "withdrawn")
                store.Update(consent["id"], {{"status", "withdrawn"}, {"withdrawn_at", date}});
            out.consent_ids.push_back(consent["id"]);
        }
        // The tombstones name the consent that justifies them; without a
        // consent record, the participant (headquarters then lets only the
        // records' own devices and coordinators apply them).
        cause = out.consent_ids.empty() ? participant_id : out.consent_ids.front();

        // 2. What they gave is erased (records whose Erase rules name them),
        //    then what quotes what was erased (a coding and its excerpt), and
        //    so on down, wave by wave, as the catalogue's Erase rules say.
        std::set<std::string> referring;
        for (const auto& id : store.ReferencesTo(participant_id)) referring.insert(id);
        std::set<std::string> erased;
        const auto erase_if_named = [&](const std::string& id, const std::string& named) {
            if (erased.count(id)) return false;
            const auto record = store.Get(id);
            if (!record || (*record)["deleted"].get<bool>()) return false;
            const auto* type = catalogue.Find((*record)["type"]);
            if (!type) return false;
            for (const auto& rule : type->on_withdrawal) {
                if (rule.action != WithdrawalRule::Action::Erase || !record->contains(rule.field)) continue;
                if (!Names((*record)[rule.field], named)) continue;
                store.Erase(id, cause);
                erased.insert(id);
                ++out.erased[type->name];
                return true;
            }
            return false;
        };
        std::vector<std::string> wave;
        for (const auto& id : referring)
            if (erase_if_named(id, participant_id)) wave.push_back(id);
        while (!wave.empty()) {
            std::vector<std::string> next;
            for (const auto& gone : wave)
                for (const auto& id : store.ReferencesTo(gone))
                    if (erase_if_named(id, gone)) next.push_back(id);
            wave = std::move(next);
        }

        // 3. What drew on them, or on what was erased, is flagged for review
        //    and no longer refers to erased records.
        std::set<std::string> candidates = referring;
        for (const auto& id : erased)
            for (const auto& r : store.ReferencesTo(id)) candidates.insert(r);
        for (const auto& id : candidates) {
            if (erased.count(id)) continue;
            const auto record = store.Get(id);
            if (!record || (*record)["deleted"].get<bool>()) continue;
            const auto* type = catalogue.Find((*record)["type"]);
            if (!type) continue;
            Json patch = Json::object();
            for (const auto& rule : type->on_withdrawal) {
                if (rule.action != WithdrawalRule::Action::FlagForReview || !record->contains(rule.field)) continue;
                const auto& value = (*record)[rule.field];
                bool drew = Names(value, participant_id);
                Json kept = value.is_array() ? Json::array() : Json();
                if (value.is_array()) {
                    for (const auto& v : value) {
                        if (v.is_string() && erased.count(v.get<std::string>())) drew = true;
                        else kept.push_back(v);
                    }
                    if (kept.size() != value.size()) patch[rule.field] = kept.empty() ? Json() : kept;
                } else if (value.is_string() && erased.count(value.get<std::string>())) {
                    drew = true;
                    patch[rule.field] = nullptr;
                }
                if (drew && !rule.flag_field.empty() && record->value(rule.flag_field, false) != true)
                    patch[rule.flag_field] = true;
            }
            // Other references to erased records (none in today's catalogue)
            // would point at tombstones, which is allowed.
            if (patch.empty()) continue;
            store.Update(id, patch);
            out.flagged.push_back(id);
        }

        store.Audit("withdraw_consent", "participant", participant_id);
        // Their words leave the search index's storage too.
        store.PurgeErasedText();
    });
    return out;
}

void FollowWithdrawals(RecordStore& store, const std::vector<Json>& received) {
    for (const auto& record : received) {
        if (record.value("type", "") != "consent" || record.value("deleted", false)) continue;
        if (record.value("status", "") != "withdrawn") continue;
        const auto participant = record.value("participant_id", "");
        const auto date = record.value("withdrawn_at", "");
        const auto held = store.Get(participant);
        if (!held || (*held)["deleted"].get<bool>()) continue;
        std::string day = date.substr(0, 10);
        if (!storage::ParseIsoMillis(day)) day = storage::FormatIsoMillis(storage::SystemMillis()).substr(0, 10);
        (void)WithdrawConsent(store, participant, day);
    }
}

std::vector<LocalProject> LocalProjects(RecordStore& store, const std::string& enrolled_project_id) {
    std::vector<LocalProject> out;
    for (const auto& project : store.List("project")) {
        if (project["id"] == enrolled_project_id) continue;
        LocalProject local;
        local.project_id = project["id"];
        local.name = project.value("name", "");
        storage::ListOptions options;
        options.project_id = local.project_id;
        options.only_fields = std::vector<std::string>{};
        for (const auto& type : store.Types().Types()) {
            if (!type.project_scoped) continue;
            const auto n = static_cast<int64_t>(store.List(type.name, options).size());
            if (n) local.records[type.name] = n;
        }
        out.push_back(std::move(local));
    }
    return out;
}

std::map<std::string, int64_t> AdoptLocalProject(RecordStore& store, const std::string& local_project_id,
                                                 const std::string& enrolled_project_id) {
    std::map<std::string, int64_t> moved;
    store.Atomically([&] { moved = store.MoveProjectRecords(local_project_id, enrolled_project_id); });
    return moved;
}

SavedForm SaveWhatFits(RecordStore& store, const std::string& type_name, const std::string& id, Json fields) {
    const auto& type = store.Types().Get(type_name);
    const bool creating = id.empty();
    SavedForm out;
    store.Atomically([&] {
        // Each refusal names one field: it is left out and the rest tried
        // again. Nothing is written before a record passes validation.
        for (;;) {
            try {
                out.stored = creating ? store.Create(type_name, fields) : store.Update(id, fields);
                return;
            } catch (const RecordError& e) {
                const auto* spec = type.Field(e.Field());
                if (!spec || !fields.contains(e.Field()) || (creating && spec->required)) throw;
                out.refused[e.Field()] = {e.Code(), e.Params(), e.what()};
                fields.erase(e.Field());
                if (!creating && fields.empty()) return;
            }
        }
    });
    return out;
}

Json ExportDocument(const storage::Catalogue& catalogue, const std::vector<Json>& records,
                    const ExportOptions& options) {
    Json list = Json::array();
    for (const auto& r : records) {
        if (r.value("deleted", false)) continue;
        const auto* type = catalogue.Find(r.value("type", ""));
        if (!type) continue;
        if (!ShownByDefault(*type) && !options.with_identities) continue;
        if (options.project_id && type->project_scoped && r.value("project_id", "") != *options.project_id) continue;
        if (options.project_id && !type->project_scoped && r.value("id", "") != *options.project_id) continue;
        list.push_back(r);
    }
    Json doc = {{"format", "escucha-export"},
                {"version", 1},
                {"exported_at", storage::FormatIsoMillis(storage::SystemMillis())},
                {"exported_by", options.exported_by}};
    if (options.project_id) doc["project_id"] = *options.project_id;
    doc["with_identities"] = options.with_identities;
    doc["records"] = std::move(list);
    return doc;
}

bool IsConsentWithdrawal(const Json& before, const Json& after) {
    if (!before.is_object() || !after.is_object()) return false;
    if (before.value("type", "") != "consent" || after.value("type", "") != "consent") return false;
    if (before.value("status", "") == "withdrawn" || after.value("status", "") != "withdrawn") return false;
    if (!after.contains("withdrawn_at")) return false;
    // Every other field as it was.
    static const std::set<std::string> allowed = {"status", "withdrawn_at", "updated_at", "device", "rev", "deleted"};
    std::set<std::string> keys;
    for (auto it = before.begin(); it != before.end(); ++it) keys.insert(it.key());
    for (auto it = after.begin(); it != after.end(); ++it) keys.insert(it.key());
    for (const auto& k : keys) {
        if (allowed.count(k)) continue;
        const Json a = before.contains(k) ? before[k] : Json();
        const Json b = after.contains(k) ? after[k] : Json();
        if (a != b) return false;
    }
    return !after.value("deleted", false);
}

bool ErasureFollowsWithdrawal(const storage::Catalogue& catalogue, const Json& record, const Json& cause,
                              const RecordLookup& lookup, int depth) {
    if (!record.is_object() || !cause.is_object()) return false;
    if (cause.value("type", "") != "consent" || cause.value("status", "") != "withdrawn") return false;
    if (cause.value("deleted", false)) return false;
    if (cause.value("project_id", "") != record.value("project_id", "")) return false;
    const auto participant = cause.value("participant_id", "");
    if (participant.empty()) return false;
    const auto* type = catalogue.Find(record.value("type", ""));
    if (!type) return false;
    for (const auto& rule : type->on_withdrawal) {
        if (rule.action != WithdrawalRule::Action::Erase || !record.contains(rule.field)) continue;
        if (Names(record[rule.field], participant)) return true;
        // A record that quotes another one the same withdrawal erases (or
        // erased already, for this consent) goes with it.
        if (!lookup || depth >= 3) continue;
        const auto& value = record[rule.field];
        std::vector<std::string> ids;
        if (value.is_string()) ids.push_back(value);
        if (value.is_array())
            for (const auto& v : value)
                if (v.is_string()) ids.push_back(v);
        for (const auto& id : ids) {
            const auto other = lookup(id);
            if (!other || !other->is_object() || other->value("project_id", "") != record.value("project_id", ""))
                continue;
            if (other->value("deleted", false)) {
                if (other->value("erased_for", "") == cause.value("id", "")) return true;
            } else if (ErasureFollowsWithdrawal(catalogue, *other, cause, lookup, depth + 1)) {
                return true;
            }
        }
    }
    return false;
}

} // namespace escucha::capture
