// Sync with headquarters: enrolment, what waits and what was refused, automatic
// cycles every few minutes with backoff after a failure, conflicts to settle,
// refused changes to send again or discard, and work recorded before
// enrolment to move into the project or keep. Sync runs on its own worker
// and connection, so a long upload never holds up an autosave. The sync
// panel draws from it.
//
// Thread contract: UI thread only.
#pragma once

#include "app_context.h"
#include "feature_editing.h"
#include "feature_lists.h"

#include "escucha/storage/records.h"
#include "escucha/sync/sync_client.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace escucha::gui {

struct SyncView {
    bool known = false; ///< read from the vault at least once
    bool enrolled = false;
    std::string server, project_name, role;
    std::string last_success, last_error; ///< last_error starts with the instant it happened
    int64_t pending = 0, rejected = 0, conflicts = 0;
    bool running = false;
    sync::SyncProgress progress;
    std::string message; ///< what the last action did, in words
    bool message_is_error = false;
    double next_auto = 0; ///< app clock: when the next automatic cycle starts
    /// A field edited here and elsewhere at once: both versions, for a person to choose.
    struct Conflict {
        int64_t seq = 0;
        std::string record_type, record_id, record_title, field;
        std::string kept, other;   ///< the two versions, as text
        storage::Json other_value; ///< the other version as stored
        std::string other_author;
    };
    std::vector<Conflict> conflict_list;
    /// Changes headquarters refused: what and why (the first 100).
    struct Refused {
        int64_t seq = 0;
        std::string record_type, record_id, record_title, reason;
        std::string code; ///< the refusal's code, when headquarters gave one
        storage::Json params = storage::Json::object();
    };
    std::vector<Refused> refused_list;
    int64_t waiting_records = 0; ///< records (not autosaves) with changes waiting to be sent
    std::string project_id;      ///< the enrolled project
    /// Records not yet acknowledged by headquarters: true when refused, false when waiting.
    /// Every other record of the enrolled project is at headquarters.
    std::unordered_map<std::string, bool> unsent;
    /// Work recorded before enrolment, in projects headquarters does not know.
    struct LocalWork {
        std::string project_id, name;
        std::map<std::string, int64_t> records; ///< by type
        bool kept = false;                      ///< the person chose to keep it on this device
    };
    std::vector<LocalWork> local_work;
    int failures = 0; ///< in a row, for backoff
};

/// The enrolment form's fields.
struct EnrolForm {
    std::string server, code, ca_path;
    bool focus_code = false; ///< give the code field the keyboard next frame (after a refused code)
};

class SyncFeature {
public:
    SyncFeature(AppContext& ctx, ListsFeature& lists, EditingFeature& editing);

    [[nodiscard]] const SyncView& View() const { return m_view; }
    /// Set by the owner: a sync brought records from headquarters (codes, codings: shown anew).
    std::function<void()> on_pulled;
    /// A record was just saved here: it waits to be sent (a refused change is superseded).
    void Saved(const std::string& record_id) { m_view.unsent[record_id] = false; }
    EnrolForm& Form() { return m_form; }

    void RefreshSync();
    void Enrol();
    void SyncNow();
    /// Moves work recorded before enrolment into the enrolled project (one operation).
    void AdoptLocalWork(const std::string& local_project_id);
    /// Keeps that work on this device only; it is not offered again.
    void KeepLocalWork(const std::string& local_project_id);
    /// A refused change: sent again as it is, or given up.
    void RetryRefused(int64_t seq);
    void DiscardRefused(int64_t seq);
    /// Settles a conflict: keep the version the record has, or take the other.
    void ResolveConflict(int64_t seq, bool take_other);

    /// The sync thread's own connection, opened at unlock; handed over by OpenConnection().
    void Unlocked(std::shared_ptr<storage::Vault> connection) { m_connection = std::move(connection); }
    /// Hands the connection to the sync worker (once the lists are read) and syncs at start when enrolled.
    void OpenConnection();
    /// Starts an automatic cycle when one is due.
    void Tick(double now);
    /// When Tick starts the next automatic cycle (app clock), or a negative number when none will.
    [[nodiscard]] double NextAutomatic() const {
        return m_view.enrolled && !m_view.running ? m_view.next_auto : -1;
    }
    /// Stops a cycle running or queued (lock, exit).
    void Cancel();
    void Clear(); ///< at lock; the server typed stays

    static constexpr double SYNC_EVERY_S = 300.0;

private:
    /// Runs `change` on the vault thread; then, back here in the same
    /// session, says `message` (when there is one), reads the sync state
    /// again and, with `sync_after`, syncs.
    void ChangeThenRefresh(std::function<void(storage::Vault&)> change, std::string message, bool sync_after = false);
    void StartSync(bool automatic);
    void SyncStopped(const std::string& message, bool failed);

    AppContext& m_ctx;
    ListsFeature& m_lists;
    EditingFeature& m_editing;
    SyncView m_view;
    EnrolForm m_form;
    std::shared_ptr<struct SyncHandle> m_handle;
    std::shared_ptr<storage::Vault> m_connection; ///< opened at unlock, handed to the sync thread
};

} // namespace escucha::gui
