// Operations on the listening records that span several records.
//
// Each is one function over a RecordStore and one transaction: all of it is
// stored, or none of it. The window app, escucha-cli and escucha-hq call
// these, so what a participant's withdrawal erases, or what an export holds,
// is decided here once.
//
// Errors: storage::RecordError naming the field (with `Field()`) for input
// that does not fit; storage::SqliteError from the database.
#pragma once

#include "escucha/storage/records.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace escucha::capture {

using storage::Json;

/// The type that holds a participant's real name and contact.
inline constexpr const char* IDENTITY_LINK = "identity_link";

/// A consent's status field, and its value once the consent is withdrawn.
inline constexpr const char* CONSENT_STATUS = "status";
inline constexpr const char* CONSENT_WITHDRAWN = "withdrawn";

/// The field of `type` that names the person a record is of or from (a
/// consent's or an identity link's participant): its first single reference
/// to the catalogue's person type (RecordRole::Person); null when it has none.
[[nodiscard]] const storage::FieldSpec* PersonField(const storage::Catalogue& catalogue,
                                                    const storage::RecordType& type);

/// Consent scopes other modules ask about (see the consent type's `scopes`).
inline constexpr const char* SCOPE_QUOTE_VERBATIM = "quote_verbatim";
inline constexpr const char* SCOPE_SHOW_IN_SESSIONS = "show_in_sessions";

/// Whether a participant's consents (`consents`: their consent records, in
/// any order) cover `scope`: one live consent given with that scope, and
/// none withdrawn. No consent, a refused one, or any withdrawal: false.
[[nodiscard]] bool ConsentCovers(const std::vector<Json>& consents, const std::string& scope);

/// The consent records of `participant_id` this device holds (live ones).
[[nodiscard]] std::vector<Json> ConsentsOf(storage::RecordStore& store, const std::string& participant_id);

/// ConsentCovers over the participant's consents on this device.
[[nodiscard]] bool ParticipantConsents(storage::RecordStore& store, const std::string& participant_id,
                                       const std::string& scope);

/// A participant's identity link, when this device holds one.
[[nodiscard]] std::optional<Json> IdentityOf(storage::RecordStore& store, const std::string& participant_id);

struct NewParticipant {
    Json participant;
    std::optional<Json> identity; ///< the identity link, when a real name was given
};

/// Creates a participant in `project_id` and, when `identity` holds a
/// full_name, their identity link, together.
NewParticipant CreateParticipant(storage::RecordStore& store, const std::string& project_id, const Json& participant,
                                 const Json& identity = Json::object());

struct Withdrawal {
    std::string participant_id;
    std::vector<std::string> consent_ids;  ///< consents now withdrawn
    std::map<std::string, int64_t> erased; ///< records erased, by type
    std::vector<std::string> flagged;      ///< records flagged for review (profiles)
};

/// A participant withdraws consent on `date` (YYYY-MM-DD): their consents
/// are marked withdrawn, and what they gave is erased as the catalogue's
/// withdrawal rules say (narratives they told, their words in transcripts,
/// items they wrote, their identity link); records that drew on them are
/// flagged for review and lose their references to what was erased. Erased
/// records travel as tombstones that name the withdrawn consent, so
/// headquarters and other devices can check and apply them. An audit entry
/// without content remains. Withdrawing again erases what arrived since.
Withdrawal WithdrawConsent(storage::RecordStore& store, const std::string& participant_id, const std::string& date);

/// For records just received from headquarters: each consent among them that
/// is withdrawn has WithdrawConsent run for its participant on this device
/// (nothing happens for a participant this device does not hold). Runs in
/// the caller's transaction.
void FollowWithdrawals(storage::RecordStore& store, const std::vector<Json>& received);

/// A project this device holds apart from the one it is enrolled in: work
/// recorded before enrolment.
struct LocalProject {
    std::string project_id;
    std::string name;
    std::map<std::string, int64_t> records; ///< live records by type, the project itself left out
};

/// The projects other than `enrolled_project_id` that hold records.
[[nodiscard]] std::vector<LocalProject> LocalProjects(storage::RecordStore& store,
                                                      const std::string& enrolled_project_id);

/// Moves the records of `local_project_id` into `enrolled_project_id` (see
/// RecordStore::MoveProjectRecords). Returns how many of each type moved.
std::map<std::string, int64_t> AdoptLocalProject(storage::RecordStore& store, const std::string& local_project_id,
                                                 const std::string& enrolled_project_id);

struct ExportOptions {
    bool with_identities = false;          ///< include records that identify people
    std::optional<std::string> project_id; ///< only this project
    std::string exported_by;               ///< a device id, or "headquarters"
};

/// What SaveWhatFits stored, and the fields it left out.
struct SavedForm {
    Json stored;                                        ///< the record as stored
    std::map<std::string, storage::ErrorValue> refused; ///< field -> why it was left out
};

/// Saves a form (creates a record of `type` when `id` is empty, else
/// changes record `id`) with every field that fits; the fields that do not
/// are left out and returned with why, so one wrong date does not cost the
/// rest of an autosave. One transaction. Throws RecordError when the record
/// as a whole is refused (a required field of a new record, a field the type
/// does not have): nothing is stored then.
SavedForm SaveWhatFits(storage::RecordStore& store, const std::string& type, const std::string& id, Json fields);

/// The export document ({"format": "escucha-export", "version": 1, ...,
/// "records": [...]}) of `records` (tombstones are left out).
[[nodiscard]] Json ExportDocument(const storage::Catalogue& catalogue, const std::vector<Json>& records,
                                  const ExportOptions& options);

/// Whether `after` only withdraws the consent `before` holds: status to
/// withdrawn with its date, nothing else changed. Any device of the project
/// may make this change, not only the one that recorded the consent.
[[nodiscard]] bool IsConsentWithdrawal(const Json& before, const Json& after);

/// A stored record by id (headquarters' view), for ErasureFollowsWithdrawal.
using RecordLookup = std::function<std::optional<Json>(const std::string& id)>;

/// Whether erasing `record` follows from `cause`, a withdrawn consent of a
/// participant the record's withdrawal rules name with Erase, or (given
/// `lookup`) of a record those rules name that the same withdrawal erases or
/// erased (a coding quoting the participant's narrative).
[[nodiscard]] bool ErasureFollowsWithdrawal(const storage::Catalogue& catalogue, const Json& record, const Json& cause,
                                            const RecordLookup& lookup = {}, int depth = 0);

} // namespace escucha::capture
