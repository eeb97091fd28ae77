// Sessions: collective-interpretation sessions, and contrast sessions with
// local actors, where profiles are presented and the people present say
// whether they recognise them; their feedback can produce a new version of
// a profile.
//
// A session keeps only anonymous counts of who took part, by kind of
// stakeholder. Feedback is one record per profile presented (type
// `profile_feedback`). A refinement is a new profile record, version + 1,
// that names the version it came from and the feedback that asked for it;
// the old version stays as it was.
//
// Each operation is one function over a RecordStore and one transaction.
//
// Errors: storage::RecordError with a code from error_code.h (NOT_PRESENTED,
// EMPTY_FEEDBACK, FEEDBACK_OTHER_PROFILE, ALREADY_REFINED, NOT_NEGATIVE, and
// the store's own codes); storage::SqliteError from the database.
#pragma once

#include "escucha/storage/records.h"

#include <string>
#include <utility>
#include <vector>

namespace escucha::interpret {

using storage::Json;

inline constexpr const char* SESSION_TYPE = "session";
inline constexpr const char* FEEDBACK_TYPE = "profile_feedback";

/// The session's anonymous composition: each count field with the kind of
/// stakeholder it counts (community, public sector, private sector, social
/// actors, civil society, education), in that order.
[[nodiscard]] const std::vector<std::pair<const char*, const char*>>& SessionCompositionFields();

/// The feedback fields a person answers about a profile: recognised, exists
/// (each yes, partly or no), missing, superfluous, refinement (text).
[[nodiscard]] const std::vector<const char*>& FeedbackFields();

/// Creates a session in `project_id` from `fields` (kind, title, held_on,
/// place_label, facilitators, the composition counts, profile_ids,
/// narrative_ids, notes). The profiles presented that were drafts are
/// marked presented. Returns the stored session.
Json CreateSession(storage::RecordStore& store, const std::string& project_id, const Json& fields);

/// What was said about one profile: `answers` holds some of FeedbackFields()
/// (null removes an answer given before).
struct ProfileFeedback {
    std::string profile_id;
    Json answers = Json::object();
};

/// Records the feedback of session `session_id` on the profiles presented,
/// all together: one profile_feedback record per profile, changed in place
/// when this device holds one already. Refuses a profile not presented in
/// the session (NOT_PRESENTED) and feedback that answers nothing
/// (EMPTY_FEEDBACK). Returns the feedback records, in the order given.
std::vector<Json> RecordFeedback(storage::RecordStore& store, const std::string& session_id,
                                 const std::vector<ProfileFeedback>& feedback);

/// The live feedback of session `session_id`, in the order the session
/// lists its profiles (then any other), several for one profile when several
/// devices wrote one.
[[nodiscard]] std::vector<Json> FeedbackOf(storage::RecordStore& store, const std::string& session_id);

/// Refines profile `profile_id` as feedback `feedback_id` asked: a new
/// profile record with the old one's content, `changes` applied (context,
/// narrative_summary, needs, ...), version + 1, status refined, naming the
/// version it came from and the feedback; the old version's quotes are
/// quoted again by the new one, in the same order. The old version stays.
/// Refuses feedback about another profile (FEEDBACK_OTHER_PROFILE) and a
/// version this device knows was refined already (ALREADY_REFINED).
/// Returns the new version.
Json RefineProfile(storage::RecordStore& store, const std::string& profile_id, const std::string& feedback_id,
                   const Json& changes = Json::object());

/// The versions of the profile `profile_id` belongs to, first version first,
/// following previous_version_id back and the newer versions forward (the
/// first newer version found when two devices refined the same one).
[[nodiscard]] std::vector<Json> ProfileVersions(storage::RecordStore& store, const std::string& profile_id);

} // namespace escucha::interpret
