#include "escucha/interpret/sessions.h"

#include "escucha/interpret/profiles.h"
#include "live_record.h"

#include <algorithm>

namespace escucha::interpret {

using storage::RecordError;
namespace errc = storage::errc;

namespace {

bool Lists(const Json& list, const std::string& id) {
    return list.is_array() && std::find(list.begin(), list.end(), Json(id)) != list.end();
}

/// Marks each draft among `profile_ids` presented.
void MarkPresented(storage::RecordStore& store, const Json& profile_ids) {
    if (!profile_ids.is_array()) return;
    for (const auto& id : profile_ids) {
        const auto profile = store.Get(id.get<std::string>());
        if (profile && !profile->value("deleted", false) && profile->value("status", "") == "draft")
            store.Update(id.get<std::string>(), {{"status", "presented"}});
    }
}

/// The live profiles that name `profile_id` as the version they refine.
std::vector<Json> NewerVersions(storage::RecordStore& store, const std::string& profile_id) {
    return detail::LiveReferring(store, profile_id, PROFILE_TYPE, "previous_version_id");
}

} // namespace

const std::vector<std::pair<const char*, const char*>>& SessionCompositionFields() {
    static const std::vector<std::pair<const char*, const char*>> fields = {
        {"community_count", "the community"},           {"public_sector_count", "the public sector"},
        {"private_sector_count", "the private sector"}, {"social_actors_count", "social actors"},
        {"civil_society_count", "civil society"},       {"education_count", "education"},
    };
    return fields;
}

const std::vector<const char*>& FeedbackFields() {
    static const std::vector<const char*> fields = {"recognised", "exists", "missing", "superfluous", "refinement"};
    return fields;
}

// [SECTION] Sessions

Json CreateSession(storage::RecordStore& store, const std::string& project_id, const Json& fields) {
    if (!fields.is_object()) throw RecordError("", "a session must be a JSON object", errc::NOT_AN_OBJECT);
    Json created;
    store.Atomically([&] {
        Json record = fields;
        record["project_id"] = project_id;
        created = store.Create(SESSION_TYPE, record);
        MarkPresented(store, created.value("profile_ids", Json::array()));
    });
    return created;
}

// [SECTION] Feedback

std::vector<Json> RecordFeedback(storage::RecordStore& store, const std::string& session_id,
                                 const std::vector<ProfileFeedback>& feedback) {
    std::vector<Json> out;
    store.Atomically([&] {
        const auto session = detail::LiveOfType(store, session_id, SESSION_TYPE, "session_id");
        const auto presented = session.value("profile_ids", Json::array());
        const auto existing = detail::LiveReferring(store, session_id, FEEDBACK_TYPE, "session_id");
        for (const auto& item : feedback) {
            (void)detail::LiveOfType(store, item.profile_id, PROFILE_TYPE, "profile_id");
            if (!Lists(presented, item.profile_id))
                throw RecordError("profile_id", "the profile was not presented in this session", errc::NOT_PRESENTED,
                                  {{"id", item.profile_id}});
            if (!item.answers.is_object()) throw RecordError("", "feedback must be a JSON object", errc::NOT_AN_OBJECT);
            Json patch = Json::object();
            for (const auto* f : FeedbackFields())
                if (item.answers.contains(f)) patch[f] = item.answers[f];
            const auto before = std::find_if(existing.begin(), existing.end(), [&](const Json& r) {
                return r.value("profile_id", std::string()) == item.profile_id;
            });
            // Answered: what is given now, over what was given before.
            bool answered = false;
            for (const auto* f : FeedbackFields()) {
                const Json value = patch.contains(f)                                 ? patch[f]
                                   : before != existing.end() && before->contains(f) ? (*before)[f]
                                                                                     : Json();
                answered = answered || (value.is_string() && !value.get<std::string>().empty());
            }
            if (!answered)
                throw RecordError("profile_id", "the feedback answers nothing", errc::EMPTY_FEEDBACK,
                                  {{"id", item.profile_id}});
            if (before != existing.end()) {
                out.push_back(store.Update((*before)["id"].get<std::string>(), patch));
            } else {
                for (auto it = patch.begin(); it != patch.end();)
                    it = it.value().is_null() ? patch.erase(it) : std::next(it);
                patch["project_id"] = session["project_id"];
                patch["session_id"] = session_id;
                patch["profile_id"] = item.profile_id;
                out.push_back(store.Create(FEEDBACK_TYPE, patch));
            }
        }
        MarkPresented(store, presented);
    });
    return out;
}

std::vector<Json> FeedbackOf(storage::RecordStore& store, const std::string& session_id) {
    const auto session = detail::LiveOfType(store, session_id, SESSION_TYPE, "session_id");
    auto all = detail::LiveReferring(store, session_id, FEEDBACK_TYPE, "session_id");
    const auto order = session.value("profile_ids", Json::array());
    const auto place = [&](const Json& r) {
        const auto it = std::find(order.begin(), order.end(), Json(r.value("profile_id", std::string())));
        return static_cast<size_t>(std::distance(order.begin(), it));
    };
    std::stable_sort(all.begin(), all.end(), [&](const Json& a, const Json& b) {
        if (place(a) != place(b)) return place(a) < place(b);
        return a["id"].get<std::string>() < b["id"].get<std::string>();
    });
    return all;
}

// [SECTION] Profile versions

Json RefineProfile(storage::RecordStore& store, const std::string& profile_id, const std::string& feedback_id,
                   const Json& changes) {
    if (!changes.is_object()) throw RecordError("", "changes must be a JSON object", errc::NOT_AN_OBJECT);
    Json created;
    store.Atomically([&] {
        const auto old = detail::LiveOfType(store, profile_id, PROFILE_TYPE, "profile_id");
        const auto feedback = detail::LiveOfType(store, feedback_id, FEEDBACK_TYPE, "feedback_id");
        if (feedback.value("profile_id", std::string()) != profile_id)
            throw RecordError("feedback_id", "the feedback is about another profile", errc::FEEDBACK_OTHER_PROFILE,
                              {{"id", feedback_id}});
        if (const auto newer = NewerVersions(store, profile_id); !newer.empty())
            throw RecordError("profile_id", "this version was refined already", errc::ALREADY_REFINED,
                              {{"id", profile_id}, {"newer", newer.front()["id"]}});
        // The content of the old version, then the changes asked for.
        Json fields = {{"project_id", old["project_id"]}};
        for (const auto& f : store.Types().Get(PROFILE_TYPE).fields)
            if (old.contains(f.name)) fields[f.name] = old[f.name];
        for (const auto& [key, value] : changes.items()) {
            if (value.is_null()) fields.erase(key);
            else fields[key] = value;
        }
        fields["version"] = old.value("version", int64_t{1}) + 1;
        fields["status"] = "refined";
        fields["previous_version_id"] = profile_id;
        fields["feedback_id"] = feedback_id;
        created = store.Create(PROFILE_TYPE, fields);
        const std::string new_id = created["id"];
        for (const auto& quote : QuotesOf(store, profile_id)) {
            Json q = {{"project_id", old["project_id"]},
                      {"profile_id", new_id},
                      {"coding_id", quote.coding_id},
                      {"position", quote.position}};
            if (!quote.note.empty()) q["note"] = quote.note;
            const auto coding = store.Get(quote.coding_id);
            if (coding && !coding->value("deleted", false)) (void)store.Create(QUOTE_TYPE, q);
        }
    });
    return created;
}

std::vector<Json> ProfileVersions(storage::RecordStore& store, const std::string& profile_id) {
    std::vector<Json> chain;
    auto current = detail::LiveOfType(store, profile_id, PROFILE_TYPE, "profile_id");
    // Back to the first version (a bounded walk: a cycle written by hand stops it).
    std::vector<Json> back = {current};
    for (size_t guard = 0; guard < 10000 && back.back().contains("previous_version_id"); ++guard) {
        const auto prev = store.Get(back.back()["previous_version_id"].get<std::string>());
        if (!prev || prev->value("deleted", false)) break;
        if (std::any_of(back.begin(), back.end(), [&](const Json& r) { return r["id"] == (*prev)["id"]; })) break;
        back.push_back(*prev);
    }
    chain.assign(back.rbegin(), back.rend());
    for (size_t guard = 0; guard < 10000; ++guard) {
        auto newer = NewerVersions(store, chain.back()["id"].get<std::string>());
        if (newer.empty()) break;
        if (std::any_of(chain.begin(), chain.end(), [&](const Json& r) { return r["id"] == newer.front()["id"]; }))
            break;
        chain.push_back(std::move(newer.front()));
    }
    return chain;
}

} // namespace escucha::interpret
