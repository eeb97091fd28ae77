// What the app shows and what a person can do, without any drawing: the draw
// code reads this state and calls these commands. Storage work goes to the
// VaultWorker; sync runs on a second worker with its own connection to the
// vault, so a long upload never holds up an autosave. Results come back on
// the UI thread as posted closures.
//
// Thread contract: UI thread only.
#pragma once

#include "record_form.h"
#include "settings.h"
#include "wrap_text.h"
#include "vault_worker.h"

#include "escucha/storage/records.h"
#include "escucha/sync/sync_client.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace escucha::gui {

enum class Screen { Unlock, Main };

/// Where the main screen is: a record type's list, or one of these.
inline constexpr const char* SECTION_SEARCH = "search";
inline constexpr const char* SECTION_SYNC = "sync";
inline constexpr const char* SECTION_SETTINGS = "settings";

/// The record types the app lists, in the order a researcher meets them.
[[nodiscard]] const std::vector<std::string>& RecordSections();

/// One row of a list: what is shown without reading the whole record.
struct RowSummary {
    std::string id;
    std::string title;  ///< the type's title, or the first words of its text
    std::string kind;   ///< a choice name (translated when shown), may be empty
    std::string status; ///< a choice name, may be empty
    std::string when;   ///< a date, may be empty
    std::string ref;    ///< a participant id (for consent), may be empty
};

/// The summary of a record (any type) for lists. Runs on the worker.
[[nodiscard]] RowSummary Summarise(const storage::RecordType& type, const storage::Json& record);
/// The fields Summarise reads, so lists read no more than that.
[[nodiscard]] std::vector<std::string> SummaryFields(const storage::RecordType& type);

/// How long ago an instant (ISO 8601 in UTC, as the vault keeps them) was, in
/// words of the current language ("5 minutes ago"), followed by the local
/// time of day, or the local date when it was not today. Empty for text that
/// is not such an instant.
[[nodiscard]] std::string SinceInWords(const std::string& iso_utc, std::time_t now);
/// The seconds since 1970 of an ISO 8601 UTC instant ("2026-03-14T09:30:00.000Z"); -1 when it is not one.
[[nodiscard]] std::time_t ParseIsoUtc(const std::string& iso_utc);

/// The name this device writes as when nobody says otherwise: the person's
/// full name from the system's account when it has one, else the login
/// name, else the machine's name. Never empty.
[[nodiscard]] std::string DefaultAuthorName();

/// The words of a search query as they are matched (folded, without the
/// trailing * of a prefix search), to mark them in an opened record.
[[nodiscard]] std::vector<std::string> QueryTerms(const std::string& query);

struct RecordList {
    std::vector<RowSummary> rows; ///< newest first
    bool loaded = false;
};

struct SearchState {
    std::string query;
    std::string shown_query;               ///< the query the results are for
    std::vector<storage::SearchRank> ranks; ///< every match, best first
    std::unordered_map<size_t, storage::SearchHit> hits; ///< title and snippet of those read so far
    std::set<size_t> chunks_asked;         ///< chunks of CHUNK results asked for
    int generation = 0;                    ///< raised by every search; older answers are dropped
    bool searching = false;
    int done = 0;
    static constexpr size_t CHUNK = 64;
    static constexpr int64_t MAX_RESULTS = 100000;
};

struct SyncView {
    bool known = false;    ///< read from the vault at least once
    bool enrolled = false;
    std::string server, project_name, role;
    std::string last_success, last_error; ///< last_error starts with the instant it happened
    int64_t pending = 0, rejected = 0, conflicts = 0;
    bool running = false;
    sync::SyncProgress progress;
    std::string message;   ///< what the last action did, in words
    bool message_is_error = false;
    double next_auto = 0;  ///< app clock: when the next automatic cycle starts
    /// A field edited here and elsewhere at once: both versions, for a person to choose.
    struct Conflict {
        int64_t seq = 0;
        std::string record_type, record_id, record_title, field;
        std::string kept, other;  ///< the two versions, as text
        storage::Json other_value; ///< the other version as stored
        std::string other_author;
    };
    std::vector<Conflict> conflict_list;
    /// Changes headquarters refused: what and why (the first 100).
    struct Refused {
        int64_t seq = 0;
        std::string record_type, record_id, record_title, reason;
    };
    std::vector<Refused> refused_list;
    int64_t waiting_records = 0; ///< records (not autosaves) with changes waiting to be sent
    /// Work recorded before enrolment, in projects headquarters does not know.
    struct LocalWork {
        std::string project_id, name;
        std::map<std::string, int64_t> records; ///< by type
        bool kept = false; ///< the person chose to keep it on this device
    };
    std::vector<LocalWork> local_work;
    int failures = 0;      ///< in a row, for backoff
    // Enrolment form
    std::string server_input, code_input, ca_path_input;
    bool focus_code = false; ///< give the code field the keyboard next frame (after a refused code)
};

struct AppState {
    AppState(VaultWorker& worker, VaultWorker& sync_worker, std::filesystem::path vault_dir,
             std::filesystem::path settings_file = DefaultSettingsFile());
    ~AppState();
    AppState(const AppState&) = delete;
    AppState& operator=(const AppState&) = delete;

    // --- state the draw code reads ---
    Screen screen = Screen::Unlock;
    bool vault_exists = false;
    bool busy = false;             ///< unlocking or creating
    std::string error;             ///< the last problem, in words
    std::string status;            ///< e.g. "Saved"
    std::string passphrase;        ///< the unlock field (cleared after use)
    std::string passphrase_again;  ///< when creating
    std::string author_name;       ///< when creating: who this device writes as (prefilled)
    std::string locked_reason;     ///< e.g. "Locked after 5 minutes without use"
    Settings settings;

    std::string section = "narrative";
    std::string project_id;        ///< the project records are filed under
    std::string new_project_name;  ///< the first-project form
    bool own_project_chosen = false; ///< first run: the person chose to start a project rather than enrol
    bool projects_loaded = false;
    std::map<std::string, RecordList> lists;   ///< by record type
    std::optional<RecordDraft> draft;          ///< the record open in the form
    std::optional<RecordDraft> identity;       ///< a participant's identity, shown on demand
    std::vector<RecordDraft> closing;          ///< closed forms whose edits are still being saved
    bool identity_loading = false;
    std::vector<storage::Json> linked_narratives; ///< a profile's narratives, to read beside it
    SearchState search;
    SyncView sync;
    bool focus_first_field = false; ///< give the form's first text field the keyboard next frame
    /// A record opened from search: its id and the words to mark in it.
    std::string found_in;
    std::vector<std::string> found_terms;
    bool found_scroll_pending = false; ///< scroll the form to the first found word once
    bool focus_search = false;
    std::string picker_filter;      ///< the text narrowing the open record picker
    /// Long-text fields as the editor shows them, wrapped (see wrap_text.h), by draft key and field.
    struct WrappedField {
        std::string display; ///< the text with soft breaks
        std::string text;    ///< the text it was made from
        float width = 0;
        bool active = false; ///< the editor had the keyboard last frame
        size_t cursor = 0;   ///< the cursor's display position last frame
        UndoHistory history; ///< undo and redo for this field, on the real text
        /// Words a search found in it (the record was opened from search), and where they are drawn.
        std::string found_text;                       ///< the text they were looked for in
        std::vector<std::pair<size_t, size_t>> found; ///< in the real text
        struct Mark {
            int line;
            float x0, x1;
        };
        std::string marks_display; ///< the display the marks were measured on
        std::vector<Mark> marks;
        bool found_shown = false;  ///< drawn once (the editor was scrolled to the first)
    };
    std::map<std::string, WrappedField> wrapped;

    // --- commands ---
    void SubmitPassphrase(double now);
    void Lock(const std::string& reason = {});
    void Input(double now);          ///< a person did something (for auto-lock)
    void Tick(double now);           ///< autosave, auto-lock and automatic sync when due

    void SelectProject(const std::string& id);
    void CreateFirstProject();
    void Show(const std::string& section);

    void NewRecord(const std::string& type);
    void OpenRecord(const std::string& id);
    void CloseRecord();              ///< saves first
    void Edited(RecordDraft& d, const std::string& field, double now);
    void FocusLeft(RecordDraft& d);  ///< a field lost focus: save now
    void DeleteRecord();
    void WithdrawConsent(double now);
    void ShowIdentity();
    void HideIdentity();

    void Search();
    /// The results [first, last) are on screen: read titles and snippets not read yet.
    void NeedHits(size_t first, size_t last);
    void OpenHit(size_t index);

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

    void SetLanguage(const std::string& code);
    void SaveSettings();

    /// Saves what is unsaved and waits for it (window closing, lock).
    void FlushBeforeExit();

    // --- lookups for drawing ---
    [[nodiscard]] const RowSummary* Row(const std::string& type, const std::string& id) const;
    [[nodiscard]] std::string RowLabel(const std::string& type, const RowSummary& row) const;
    [[nodiscard]] std::string ProjectName() const;
    [[nodiscard]] const storage::RecordType& Type(const std::string& name) const;

    static constexpr double AUTOSAVE_AFTER_S = 1.0;
    static constexpr double RETRY_AFTER_S = 5.0;
    static constexpr double SYNC_EVERY_S = 300.0;

    /// Milliseconds from the passphrase's submission to the unlock (for the benchmark log).
    std::chrono::steady_clock::time_point unlock_started;
    bool first_frame_after_unlock_pending = false;

private:
    void Save(RecordDraft& d, double now);
    void TitleFromText(const storage::RecordType& type, RecordDraft& d);
    void Retire(std::optional<RecordDraft>& d); ///< closes a form; what it holds goes on saving
    RecordDraft* DraftByKey(int key);
    std::vector<RecordDraft*> OpenDrafts(); ///< draft, identity and those closing
    void LoadLists();
    void LoadList(const std::string& type);
    void PutRow(const std::string& type, RowSummary row);
    void LoadLinkedNarratives();
    void ClearSession();
    void StartSync(bool automatic);
    void OpenSyncConnection();
    void SyncStopped(const std::string& message, bool failed);

    VaultWorker& m_worker;
    VaultWorker& m_sync_worker;
    std::filesystem::path m_dir;
    std::filesystem::path m_settings_file;
    double m_last_input = 0;
    double m_now = 0;
    int m_next_key = 1;
    int m_session = 0; ///< raised by every lock: answers for an older session are dropped
    int m_open_request = 0; ///< raised by every open, new or close: a slower open is dropped
    std::shared_ptr<struct SyncHandle> m_sync_handle;
    std::shared_ptr<storage::Vault> m_sync_connection; ///< opened at unlock, handed to the sync thread
};

} // namespace escucha::gui
