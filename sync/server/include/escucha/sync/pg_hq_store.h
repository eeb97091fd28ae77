// Headquarters' store on PostgreSQL, for several escucha-hq processes over
// one database (docs/decisions/0020-hq-postgresql.md).
//
// Record bodies, earlier revisions and the versions a conflict kept aside
// are sealed by escucha-hq (XChaCha20-Poly1305, under a random data key kept
// in the database wrapped by the server key) before they reach PostgreSQL,
// so a dump or the server's files are ciphertext; ids, revisions, cursors,
// owners, types and projects stay in clear for the queries.
//
// The pull cursor is commit-ordered: a row's cursor is its transaction's id
// (xid8) times 2^20 plus its place in the transaction, and a pull reads only
// rows below the oldest transaction still running when its snapshot was
// taken (pg_snapshot_xmin), so a writer that commits late can never land
// behind a cursor a device already holds.
//
// Thread contract: thread-safe; each calling thread borrows a connection of
// its own from a pool. Several processes may share one database.
// Errors: std::runtime_error (pqxx errors) for failures of the database;
// HqAtRestError for a wrong or missing key; refusals come back as values.
#pragma once

#include "escucha/sync/hq_at_rest.h"
#include "escucha/sync/hq_store.h"

#include <memory>
#include <string>

namespace escucha::sync {

/// Whether `store` names a PostgreSQL database (postgresql:// or postgres://).
[[nodiscard]] bool IsPostgresUrl(const std::string& store);
/// `url` with any password left out, to name the database in messages.
[[nodiscard]] std::string RedactedUrl(const std::string& url);

/// Bits of a cursor that number the rows of one transaction.
inline constexpr int CURSOR_ROW_BITS = 20;

class PgHqStore final : public HqStore {
public:
    /// Connects to `url` (libpq's URI form) and creates the schema if
    /// absent. With a key source, bodies are sealed under the data key the
    /// database keeps wrapped by that key (made on first use); a wrong key
    /// is refused (HqAtRestError HQ_WRONG_KEY) before anything is written.
    /// Without one, bodies are kept plain (tests only), and a database that
    /// holds sealed data is refused.
    PgHqStore(const std::string& url, const HqKeySource& key);
    ~PgHqStore() override;
    PgHqStore(const PgHqStore&) = delete;
    PgHqStore& operator=(const PgHqStore&) = delete;

    /// Wraps the data and blob keys under the key from `next`, in one
    /// transaction: the old key stops opening the database at once.
    void Rekey(const HqKeySource& next);

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
    /// One UPDATE that changes the row only when the report is new or the
    /// kept one stale: otherwise the transaction writes nothing to the log.
    bool ReportWaiting(const DeviceInfo& device, const WaitingReport& report, int64_t now_ms) override;
    void DeclareBlobFields(const BlobFields& fields) override;
    std::vector<ItemResult> ApplyBatch(const DeviceInfo& device, const std::vector<Change>& changes,
                                       const DecideFn& decide, const ReleasedFn& released = {},
                                       const WaitingReport* waiting = nullptr) override;
    bool MayReadBlob(const DeviceInfo& device, const std::string& sha256, const ReadScope& scope) override;
    PullResponse Pull(const DeviceInfo& device, int64_t since, int limit, const ReadScope& scope) override;
    void ForEachRecord(const std::string& project_id, const std::function<void(const StoredRecord&)>& visit) override;
    int64_t CountRecords(const std::string& project_id) override;
    storage::SecretBytes BlobKey() override;

    struct Impl; ///< defined in pg_hq_store.cpp

private:
    std::unique_ptr<Impl> m_impl;
};

/// The store `store` names: a PostgreSQL URL, or else DIR's SQLite store
/// (OpenHqStore). Both under the server key `key`.
[[nodiscard]] std::unique_ptr<HqStore> OpenAnyHqStore(const std::string& store, const std::filesystem::path& dir,
                                                      const HqKeySource& key);

} // namespace escucha::sync
