// Headquarters storage: records kept generically (type, id, rev, JSON body,
// routing columns), devices, enrolment codes, applied change ids.
//
// Thread contract: every implementation is thread-safe; the HTTP server calls
// it from its worker threads. SqliteHqStore serialises writes on one
// connection and commits the pushes that wait meanwhile together (ApplyBatch);
// PgHqStore (pg_hq_store.h) gives each calling thread a connection of its own.
//
// Errors: std::runtime_error (storage::SqliteError for SQLite) on failures of
// the store itself; domain refusals come back as values.
#pragma once

#include "escucha/sync/protocol.h"

#include "escucha/storage/secret.h"

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

struct sqlite3;

namespace escucha::storage {
class Database;
}

namespace escucha::sync {

struct Project {
    std::string id;
    std::string name;
    std::string created_at;
};

struct DeviceRow {
    DeviceInfo info;
    std::string name;
    std::string enrolled_at;
    std::string last_seen; ///< when it last pushed, or sent a waiting report HQ kept (ISO UTC); empty: never
    bool revoked = false;
    /// What it last said it still had to send (HqStore::ReportWaiting);
    /// nullopt when it never said (a device older than the report).
    std::optional<WaitingReport> waiting = std::nullopt;
    std::string waiting_at = {}; ///< when HQ kept that report (ISO UTC)
};

/// A waiting report equal to the one kept is written again only once the
/// kept one is this old: a device that syncs every few minutes with the same
/// outbox costs a write per quarter hour, and its last sync is known to that.
inline constexpr int64_t WAITING_REFRESH_MS = 15LL * 60 * 1000;

/// A record as headquarters holds it.
struct StoredRecord {
    Json body;
    int64_t rev = 0;
    std::string hlc;
    bool deleted = false;
    std::string owner_device;
    int64_t seq = 0;
    std::string record_type; ///< as stored, whatever a change claims
    std::string project_id;
};

enum class EnrolResult { Enrolled, UnknownCode, DeviceTaken };
struct EnrolOutcome {
    EnrolResult result = EnrolResult::UnknownCode;
    DeviceInfo device;
};

/// What to do with one change, decided with the current record in hand.
struct Decision {
    ItemStatus status = ItemStatus::Applied;
    std::string reason;
    Json body;                           ///< the record to store (applied/conflict)
    std::vector<ConflictInfo> conflicts; ///< fields whose other version is kept aside
    std::string code;                    ///< for a refusal, its code (storage/error_code.h)
    Json params = Json::object();        ///< and that code's parameters
    /// For a partial change (IsPartial), the whole record the device holds,
    /// rebuilt; null for a whole change (its body is that record).
    Json theirs = nullptr;
};

/// A partial change (IsPartial) reaches `decide` as sent: the rules rebuild
/// it (hq_api.h), or answer SendWhole, after which the store takes nothing
/// more of the push and answers SendWhole for the rest.
/// Decides a change given the current record (null when new), the record
/// as it was at the change's base revision (null when unknown), and for a
/// deletion that names its reason (`erased_for`), that record when it is in
/// the same project (null otherwise).
/// The body of a stored record of the device's project, by id (a tombstone
/// included); nullopt for anything else.
using LookupFn = std::function<std::optional<Json>(const std::string& id)>;
/// `lookup` reads other records of the project as they stand in this batch
/// (an erasure that follows from another one checks it).
using DecideFn = std::function<Decision(const Change& change, const StoredRecord* current, const Json* base,
                                        const StoredRecord* cause, const LookupFn& lookup)>;
/// What one device may read, as data a store's query filters by before any
/// limit: the records it created, of `own_types`, and anyone's records of
/// `shared_types`. Made by ReadScopeFor (hq_api.h) from the one rule,
/// capture::MaySee; the stores only apply it.
struct ReadScope {
    std::string device_id;
    std::vector<std::string> own_types;
    std::vector<std::string> shared_types;
    [[nodiscard]] bool Allows(const std::string& type, const std::string& owner_device) const {
        const auto in = [&](const std::vector<std::string>& types) {
            return std::find(types.begin(), types.end(), type) != types.end();
        };
        return in(shared_types) || (owner_device == device_id && in(own_types));
    }
};
/// Called with each blob (SHA-256) of a project that no live record names
/// any more, after the batch that released it was committed.
using ReleasedFn = std::function<void(const std::string& project_id, const std::string& sha256)>;
/// The fields of each record type that name a blob (RecordType::blob_fields), by type.
using BlobFields = std::map<std::string, std::vector<std::string>>;

class HqStore {
public:
    virtual ~HqStore() = default;

    virtual Project CreateProject(const std::string& name) = 0;
    [[nodiscard]] virtual std::vector<Project> ListProjects() = 0;
    /// By id or by exact name.
    [[nodiscard]] virtual std::optional<Project> FindProject(const std::string& id_or_name) = 0;

    /// Keeps the hash of a one-time enrolment code, good until `expires_at` (ISO UTC).
    virtual void AddEnrolment(const std::string& code_hash, const std::string& project_id, Role role,
                              const std::string& person, const std::string& expires_at) = 0;
    /// Uses up an enrolment code. UnknownCode when unknown, used or expired.
    /// A device id enrolled already is taken over only by the holder of its
    /// current token (`current_token_hash`); otherwise DeviceTaken, and the
    /// code stays unused.
    virtual EnrolOutcome Enrol(const std::string& code_hash, const std::string& device_id,
                               const std::string& device_name, const std::string& token_hash,
                               const std::string& current_token_hash) = 0;
    /// The device a token hash belongs to, if enrolled and not revoked.
    [[nodiscard]] virtual std::optional<DeviceInfo> Authenticate(const std::string& token_hash) = 0;
    virtual bool RevokeDevice(const std::string& device_id) = 0;
    [[nodiscard]] virtual std::vector<DeviceRow> ListDevices(const std::string& project_id) = 0;
    /// Keeps what `device` says it still has to send, as reported at
    /// `now_ms`, and counts the report as the device's last sync
    /// (last_seen). Nothing is written when the kept report has the same
    /// numbers and is less than WAITING_REFRESH_MS old; returns whether it wrote.
    virtual bool ReportWaiting(const DeviceInfo& device, const WaitingReport& report, int64_t now_ms) = 0;

    /// Says which record fields name blobs. The store keeps, beside the
    /// records, which live record names which blob; when the fields differ
    /// from the last ones declared, that list is made again from the records.
    virtual void DeclareBlobFields(const BlobFields& fields) = 0;
    /// Applies a batch all or nothing, and returns once it is durable (a
    /// store may commit it in one transaction with other callers' batches,
    /// and may call `decide` and `released` on another caller's thread while
    /// this call waits); each change id takes effect
    /// once (a replay answers Duplicate with the first result's seq). A blob
    /// that the batch left named by no live record of its project (a
    /// recording erased, or naming other audio now) is given to `released`
    /// after the commit, before any other batch can name it again.
    /// `decide` may be called more than once for a change (a store may
    /// write a batch again when another caller's batch in its transaction
    /// failed, or when it lost a race with another writer): it only reads.
    /// `waiting`, when given, is the device's waiting report sent with the
    /// batch: kept in the same transaction, whatever the one kept before.
    virtual std::vector<ItemResult> ApplyBatch(const DeviceInfo& device, const std::vector<Change>& changes,
                                               const DecideFn& decide, const ReleasedFn& released = {},
                                               const WaitingReport* waiting = nullptr) = 0;
    /// Whether a live record in the device's project names blob `sha256` in
    /// one of its blob fields and `scope` lets the device read it.
    [[nodiscard]] virtual bool MayReadBlob(const DeviceInfo& device, const std::string& sha256,
                                           const ReadScope& scope) = 0;
    /// Up to `limit` records of the device's project that `scope` lets it
    /// read, changed after cursor `since` (0: from the start), in cursor
    /// order, and the conflicts kept aside among them; `next` is the cursor
    /// to ask from next time. The cursor is opaque to devices: a number that
    /// only grows, which never passes a record that a writer has yet to
    /// commit. Records the device may not read are left out by the query
    /// itself, so a page is never filled with them.
    [[nodiscard]] virtual PullResponse Pull(const DeviceInfo& device, int64_t since, int limit,
                                            const ReadScope& scope) = 0;
    virtual void ForEachRecord(const std::string& project_id,
                               const std::function<void(const StoredRecord&)>& visit) = 0;
    [[nodiscard]] virtual int64_t CountRecords(const std::string& project_id) = 0;
    /// The random key blobs are sealed with (hq_blobs.h), kept in the store
    /// under the server key; empty for a plain store (tests in one process).
    [[nodiscard]] virtual storage::SecretBytes BlobKey() = 0;
};

/// The embedded default: SQLite through the SQLCipher library, one file.
class SqliteHqStore final : public HqStore {
public:
    /// Opens or creates `path`. With `key` (SQLCipher's raw key value,
    /// x'<key><salt>', see hq_at_rest.h) the file is encrypted; without, it
    /// is plain SQLite (tests in one process). Throws std::runtime_error
    /// (storage::SqliteError when the key does not open the file).
    explicit SqliteHqStore(const std::string& path, const storage::SecretBytes& key = {});
    ~SqliteHqStore() override;

    /// The random key blobs are sealed with, made on first use and kept in
    /// the database (so it is as safe as the database, and a change of the
    /// database's key leaves blob files as they are). Empty for a plain store.
    [[nodiscard]] storage::SecretBytes BlobKey() override;
    /// Re-encrypts the database under `key` (same form as the constructor's)
    /// and checkpoints, so no page under the old key stays in the log.
    void Rekey(const storage::SecretBytes& key);
    /// Copies the database, as it stands at one moment, into a new file at
    /// `path` under the same key, through SQLite's online backup: writers
    /// (a running escucha-hq) go on meanwhile.
    void BackupTo(const std::string& path);

    Project CreateProject(const std::string& name) override;
    std::vector<Project> ListProjects() override;
    std::optional<Project> FindProject(const std::string& id_or_name) override;
    void AddEnrolment(const std::string& code_hash, const std::string& project_id, Role role, const std::string& person,
                      const std::string& expires_at) override;
    EnrolOutcome Enrol(const std::string& code_hash, const std::string& device_id, const std::string& device_name,
                       const std::string& token_hash, const std::string& current_token_hash) override;
    std::optional<DeviceInfo> Authenticate(const std::string& token_hash) override;
    bool RevokeDevice(const std::string& device_id) override;
    std::vector<DeviceRow> ListDevices(const std::string& project_id) override;
    /// Compares with the kept report on the reading connection; a report to
    /// write joins the next group commit, as a push of no changes.
    bool ReportWaiting(const DeviceInfo& device, const WaitingReport& report, int64_t now_ms) override;
    void DeclareBlobFields(const BlobFields& fields) override;
    /// Group commit: the batches that arrive while one transaction is being
    /// written and synced wait, then one caller writes all of them in the
    /// next transaction, with one fsync. A batch whose writing throws has
    /// that caller alone get the exception: the transaction is rolled back
    /// and the others are written again without it. When SQLite itself
    /// ends the transaction (a full disk, I/O), or the commit fails, every
    /// batch in it fails.
    std::vector<ItemResult> ApplyBatch(const DeviceInfo& device, const std::vector<Change>& changes,
                                       const DecideFn& decide, const ReleasedFn& released = {},
                                       const WaitingReport* waiting = nullptr) override;
    bool MayReadBlob(const DeviceInfo& device, const std::string& sha256, const ReadScope& scope) override;
    PullResponse Pull(const DeviceInfo& device, int64_t since, int limit, const ReadScope& scope) override;
    void ForEachRecord(const std::string& project_id, const std::function<void(const StoredRecord&)>& visit) override;
    int64_t CountRecords(const std::string& project_id) override;

private:
    struct Push;
    struct PushStatements;
    /// ApplyBatch, the waiting report kept as made at `waiting_at` (ISO UTC;
    /// empty: when the group is written).
    std::vector<ItemResult> ApplyQueued(const DeviceInfo& device, const std::vector<Change>& changes,
                                        const DecideFn& decide, const ReleasedFn& released,
                                        const WaitingReport* waiting, const std::string& waiting_at);
    int64_t NextSeq();
    /// The blobs `body` names in its type's blob fields (none when deleted).
    std::vector<std::string> BlobsNamedBy(const std::string& type, const Json& body) const;
    /// m_mutex, with the writing connection out of any transaction a failed
    /// rollback left open (or the call fails).
    std::unique_lock<std::mutex> LockWriter();
    /// Rolls back a transaction still open on m_db; throws if it cannot.
    void EndStrandedTransaction();
    /// Writes the pushes of `group` in one transaction under m_mutex, and
    /// fills in each one's results or error.
    void WriteGroup(const std::vector<Push*>& group);
    /// One attempt of WriteGroup: every push of `pushes` in one transaction,
    /// committed. Returns the push whose writing threw (its error set, the
    /// transaction rolled back), or end(); throws, with nothing committed,
    /// when anything else failed (SQLite ended the transaction itself, or
    /// beginning, preparing or committing it failed).
    std::vector<Push*>::iterator WriteTogether(std::vector<Push*>& pushes,
                                               std::vector<std::pair<Push*, std::string>>& released_blobs);
    /// One push's changes, inside the group's transaction.
    void WritePush(Push& push, PushStatements& sql, const std::string& now);
    /// A reading connection lent to one call, from a pool opened on
    /// demand: in WAL mode readers read while the writer commits, and
    /// side by side, so a token check waits neither for another's fsync nor
    /// for another device's pull.
    class ReaderLease;
    /// Another connection on `m_path` under the store's key.
    std::unique_ptr<storage::Database> OpenConnection() const;
    /// Called by SQLite after each commit with the log's length in pages.
    static int AfterCommit(void* self, sqlite3* db, const char* name, int pages);
    /// The checkpoint thread: copies the log into the database file when
    /// asked, on a connection of its own, while the writer goes on.
    void Checkpoints();

    std::mutex m_mutex; ///< the writing connection m_db, and m_blob_fields
    BlobFields m_blob_fields;
    std::unique_ptr<storage::Database> m_db;
    bool m_encrypted = false;
    storage::SecretBytes m_key; ///< for a backup's file and the other connections
    std::string m_path;
    /// Pushes waiting for a writer, and whether one is writing now.
    std::mutex m_queue_mutex;
    std::condition_variable m_queue_done;
    std::vector<Push*> m_queue;
    bool m_writing = false;
    /// Held shared by every ReaderLease, exclusive by Rekey.
    std::shared_mutex m_readers_keyed;
    std::mutex m_readers_mutex; ///< guards m_idle_readers
    std::vector<std::unique_ptr<storage::Database>> m_idle_readers;
    /// Held through any checkpoint, and guards m_checkpointer.
    std::mutex m_checkpoint_mutex;
    std::unique_ptr<storage::Database> m_checkpointer;
    int m_log_pages = 0; ///< the log's length after the last commit (under m_mutex)
    std::mutex m_wake_mutex;
    std::condition_variable m_wake;
    bool m_checkpoint_due = false; ///< under m_wake_mutex
    bool m_stopping = false;       ///< under m_wake_mutex
    std::thread m_checkpoint_thread;
};

/// The answer to a change the rules said to send whole (ItemStatus::
/// SendWhole), and to every change after it in the push: nothing taken.
[[nodiscard]] ItemResult SendWholeResult(const Change& change);

/// Lower-case hex BLAKE2b-256 of a secret (tokens, enrolment codes).
[[nodiscard]] std::string HashSecret(const std::string& secret);

} // namespace escucha::sync
