// Headquarters storage: records kept generically (type, id, rev, JSON body,
// routing columns), devices, enrolment codes, applied change ids.
//
// Thread contract: every implementation is thread-safe; the HTTP server calls
// it from its worker threads. SqliteHqStore serialises calls on one mutex.
//
// Errors: std::runtime_error (storage::SqliteError for SQLite) on failures of
// the store itself; domain refusals come back as values.
#pragma once

#include "escucha/sync/protocol.h"

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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
    std::string last_seen;
    bool revoked = false;
};

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
};

/// Decides a change given the current record (null when new), the record
/// as it was at the change's base revision (null when unknown), and for a
/// deletion that names its reason (`erased_for`), that record when it is in
/// the same project (null otherwise).
using DecideFn = std::function<Decision(const Change& change, const StoredRecord* current, const Json* base,
                                        const StoredRecord* cause)>;
/// Whether a device may see a record.
using VisibleFn =
    std::function<bool(const DeviceInfo& device, const std::string& type, const std::string& owner_device)>;

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

    /// Applies a batch in one durable transaction; each change id takes effect
    /// once (a replay answers Duplicate with the first result's seq).
    virtual std::vector<ItemResult> ApplyBatch(const DeviceInfo& device, const std::vector<Change>& changes,
                                               const DecideFn& decide) = 0;
    [[nodiscard]] virtual PullResponse Pull(const DeviceInfo& device, int64_t since, int limit,
                                            const VisibleFn& visible) = 0;
    virtual void ForEachRecord(const std::string& project_id,
                               const std::function<void(const StoredRecord&)>& visit) = 0;
    [[nodiscard]] virtual int64_t CountRecords(const std::string& project_id) = 0;
};

/// The embedded default: SQLite through the SQLCipher library, one file.
class SqliteHqStore final : public HqStore {
public:
    /// Opens or creates `path`. Throws std::runtime_error.
    explicit SqliteHqStore(const std::string& path);
    ~SqliteHqStore() override;

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
    std::vector<ItemResult> ApplyBatch(const DeviceInfo& device, const std::vector<Change>& changes,
                                       const DecideFn& decide) override;
    PullResponse Pull(const DeviceInfo& device, int64_t since, int limit, const VisibleFn& visible) override;
    void ForEachRecord(const std::string& project_id, const std::function<void(const StoredRecord&)>& visit) override;
    int64_t CountRecords(const std::string& project_id) override;

private:
    std::optional<StoredRecord> LoadRecord(const std::string& record_id);
    int64_t NextSeq();

    std::mutex m_mutex;
    std::unique_ptr<storage::Database> m_db;
};

/// Lower-case hex BLAKE2b-256 of a secret (tokens, enrolment codes).
[[nodiscard]] std::string HashSecret(const std::string& secret);

} // namespace escucha::sync
