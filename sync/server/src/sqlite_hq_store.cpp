#include "escucha/sync/hq_store.h"

#include "escucha/storage/clock.h"
#include "escucha/storage/error_code.h"
#include "escucha/storage/secret.h"
#include "escucha/storage/sqlite.h"
#include "escucha/sync/hq_blobs.h"

#include <sodium.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <set>
#include <utility>

namespace escucha::sync {

using storage::Statement;
using storage::Transaction;

std::string HashSecret(const std::string& secret) {
    storage::EnsureSodium();
    unsigned char out[32];
    crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), nullptr,
                       0);
    return storage::HexEncode(out, sizeof out);
}

ItemResult SendWholeResult(const Change& change) {
    return {change.change_id, ItemStatus::SendWhole,
            "headquarters took nothing of this change; send it again, the whole record", 0, "", Json::object()};
}

SqliteHqStore::SqliteHqStore(const std::string& path, const storage::SecretBytes& key)
    : m_db(std::make_unique<storage::Database>(path, true)), m_encrypted(!key.empty()), m_key(key), m_path(path) {
    if (m_encrypted) {
        // Through sqlite3_key, never SQL text; then a read proves the key.
        m_db->Check(sqlite3_key(m_db->Handle(), key.data(), static_cast<int>(key.size())));
        m_db->Exec("PRAGMA cipher_page_size = 4096");
        (void)m_db->QueryInt("SELECT count(*) FROM sqlite_master");
    }
    m_db->Exec("PRAGMA busy_timeout = 10000");
    m_db->Exec("PRAGMA journal_mode = WAL");
    // An acknowledgement promises a durable commit.
    m_db->Exec("PRAGMA synchronous = FULL");
    m_db->Exec("PRAGMA temp_store = MEMORY");
    // Freed space is overwritten with zeros: an erased record (a consent
    // withdrawn) leaves no readable trace in the file's free pages.
    m_db->Exec("PRAGMA secure_delete = ON");
    if (m_db->QueryInt("PRAGMA user_version") < 1) {
        m_db->Exec(R"sql(
BEGIN;
CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
INSERT OR IGNORE INTO counter (id, seq) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS projects (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enrolments (
  code_hash TEXT PRIMARY KEY NOT NULL, project_id TEXT NOT NULL, role TEXT NOT NULL, person TEXT,
  created_at TEXT NOT NULL, used_by TEXT);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY NOT NULL, project_id TEXT NOT NULL, role TEXT NOT NULL, person TEXT, name TEXT,
  token_hash TEXT NOT NULL UNIQUE, revoked INTEGER NOT NULL DEFAULT 0, enrolled_at TEXT NOT NULL, last_seen TEXT);
CREATE TABLE IF NOT EXISTS records (
  record_id TEXT PRIMARY KEY NOT NULL, project_id TEXT NOT NULL, record_type TEXT NOT NULL, rev INTEGER NOT NULL,
  hlc TEXT NOT NULL, deleted INTEGER NOT NULL, owner_device TEXT NOT NULL, seq INTEGER NOT NULL UNIQUE, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_project_seq ON records (project_id, seq);
CREATE TABLE IF NOT EXISTS revisions (
  record_id TEXT NOT NULL, rev INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (record_id, rev)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
  change_id TEXT PRIMARY KEY NOT NULL, device_id TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, seq INTEGER NOT NULL,
  received_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conflicts (
  seq INTEGER PRIMARY KEY, project_id TEXT NOT NULL, record_type TEXT NOT NULL, record_id TEXT NOT NULL,
  field TEXT NOT NULL, kept TEXT NOT NULL, other TEXT NOT NULL, other_author TEXT, other_device TEXT, other_hlc TEXT);
CREATE INDEX IF NOT EXISTS conflicts_project ON conflicts (project_id, seq);
PRAGMA user_version = 1;
COMMIT;
)sql");
    }
    if (m_db->QueryInt("PRAGMA user_version") < 2) {
        // The device whose change was stored exactly as it sent it: pulls
        // skip those rows for that device, which has them already.
        m_db->Exec("BEGIN; ALTER TABLE records ADD COLUMN echo_device TEXT; PRAGMA user_version = 2; COMMIT;");
    }
    if (m_db->QueryInt("PRAGMA user_version") < 3) {
        // Codes made before expiry existed expire a week after this upgrade;
        // refusal codes are kept so a replay answers with the same code.
        const auto week = storage::FormatIsoMillis(storage::SystemMillis() + 7LL * 24 * 3600 * 1000);
        m_db->Exec("BEGIN; ALTER TABLE enrolments ADD COLUMN expires_at TEXT; UPDATE enrolments SET expires_at = '" +
                   week + "'; ALTER TABLE changes ADD COLUMN code TEXT; PRAGMA user_version = 3; COMMIT;");
    }
    if (m_db->QueryInt("PRAGMA user_version") < 4) {
        // A refusal's parameters (storage/error_code.h), so a replay answers with them too.
        m_db->Exec("BEGIN; ALTER TABLE changes ADD COLUMN params TEXT; PRAGMA user_version = 4; COMMIT;");
    }
    if (m_db->QueryInt("PRAGMA user_version") < 5) {
        // Which live record names which blob (its type's blob fields), so
        // that a device downloads only audio it may hear, and a blob goes
        // with the last record that names it. Made from the records again
        // whenever the declared blob fields change (settings.blob_fields).
        m_db->Exec(R"sql(
BEGIN;
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blob_refs (
  project_id TEXT NOT NULL, sha256 TEXT NOT NULL, record_id TEXT NOT NULL, record_type TEXT NOT NULL,
  owner_device TEXT NOT NULL, PRIMARY KEY (project_id, sha256, record_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blob_refs_record ON blob_refs (record_id);
PRAGMA user_version = 5;
COMMIT;
)sql");
    }
    if (m_db->QueryInt("PRAGMA user_version") < 6) {
        // What each device last said it still had to send, and when (NULL: never said).
        m_db->Exec("BEGIN; ALTER TABLE devices ADD COLUMN waiting_changes INTEGER; ALTER TABLE devices ADD COLUMN "
                   "waiting_recordings INTEGER; ALTER TABLE devices ADD COLUMN waiting_bytes INTEGER; ALTER TABLE "
                   "devices ADD COLUMN waiting_at TEXT; PRAGMA user_version = 6; COMMIT;");
    }
    if (m_db->QueryInt("PRAGMA user_version") < 7) {
        // A researcher's pull reads its own records and the types everyone
        // shares through these, not every record of the project since its
        // cursor (docs/PERFORMANCE.md, part f).
        m_db->Exec("BEGIN; CREATE INDEX IF NOT EXISTS records_owner_seq ON records (project_id, owner_device, seq); "
                   "CREATE INDEX IF NOT EXISTS records_type_seq ON records (project_id, record_type, seq); "
                   "PRAGMA user_version = 7; COMMIT;");
    }
    // The writer no longer checkpoints in its own commits (a copy of a
    // thousand pages and two fsyncs, while every push waits): a thread of
    // the store's own does, on another connection.
    sqlite3_wal_hook(m_db->Handle(), &SqliteHqStore::AfterCommit, this);
    m_checkpoint_thread = std::thread([this] { Checkpoints(); });
}

SqliteHqStore::~SqliteHqStore() {
    {
        std::lock_guard wake(m_wake_mutex);
        m_stopping = true;
    }
    m_wake.notify_one();
    m_checkpoint_thread.join();
}

namespace {

/// The log's length at which the checkpoint thread copies it into the
/// database (SQLite's own default for a writer that checkpoints itself).
constexpr int CHECKPOINT_PAGES = 1000;
/// Past this length (the checkpoint thread did not catch up with writers
/// that never pause) the writer checkpoints itself, with nobody writing,
/// so the log starts again from its beginning.
constexpr int MAX_LOG_PAGES = 16000;

} // namespace

void SqliteHqStore::EndStrandedTransaction() {
    // A failed write's transaction is rolled back by a destructor, which
    // cannot report a rollback that failed. Left open, every later
    // statement (a revocation among them) would join it and never be
    // committed: ended here, or the caller fails.
    if (!sqlite3_get_autocommit(m_db->Handle())) m_db->Exec("ROLLBACK");
}

std::unique_lock<std::mutex> SqliteHqStore::LockWriter() {
    std::unique_lock lock(m_mutex);
    EndStrandedTransaction();
    return lock;
}

std::unique_ptr<storage::Database> SqliteHqStore::OpenConnection() const {
    auto db = std::make_unique<storage::Database>(m_path, false);
    if (m_encrypted) {
        db->Check(sqlite3_key(db->Handle(), m_key.data(), static_cast<int>(m_key.size())));
        db->Exec("PRAGMA cipher_page_size = 4096");
    }
    db->Exec("PRAGMA busy_timeout = 10000");
    return db;
}

int SqliteHqStore::AfterCommit(void* self, sqlite3*, const char*, int pages) {
    auto& store = *static_cast<SqliteHqStore*>(self);
    store.m_log_pages = pages;
    if (pages >= CHECKPOINT_PAGES) {
        {
            std::lock_guard wake(store.m_wake_mutex);
            store.m_checkpoint_due = true;
        }
        store.m_wake.notify_one();
    }
    return SQLITE_OK;
}

void SqliteHqStore::Checkpoints() {
    for (;;) {
        {
            std::unique_lock wake(m_wake_mutex);
            m_wake.wait(wake, [this] { return m_checkpoint_due || m_stopping; });
            if (m_stopping) return;
            m_checkpoint_due = false;
        }
        std::lock_guard lock(m_checkpoint_mutex);
        try {
            if (!m_checkpointer) m_checkpointer = OpenConnection();
            // PASSIVE: copies what no reader still needs and never waits;
            // writers go on meanwhile.
            m_checkpointer->Exec("PRAGMA wal_checkpoint(PASSIVE)");
        } catch (const std::exception& e) {
            // The next commit asks again; the log only grows meanwhile.
            std::fprintf(stderr, "escucha-hq: checkpoint failed: %s\n", e.what());
            m_checkpointer.reset();
        }
    }
}

storage::SecretBytes SqliteHqStore::BlobKey() {
    const auto lock = LockWriter();
    if (!m_encrypted) return {};
    auto read = m_db->Prepare("SELECT value FROM settings WHERE key = 'blob_key'");
    std::vector<unsigned char> bytes;
    if (read.Step()) {
        auto hex = read.Text(0);
        const bool ok = storage::HexDecode(hex, bytes) && bytes.size() == crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
        storage::WipeMemory(hex.data(), hex.size());
        if (!ok) {
            storage::WipeMemory(bytes.data(), bytes.size());
            throw std::runtime_error("the key for blobs kept in hq.db is damaged");
        }
        storage::SecretBytes key(bytes.begin(), bytes.end());
        storage::WipeMemory(bytes.data(), bytes.size());
        return key;
    }
    read.Reset();
    storage::EnsureSodium();
    storage::SecretBytes key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    crypto_aead_xchacha20poly1305_ietf_keygen(key.data());
    auto hex = storage::HexEncodeSecret(key.data(), key.size());
    auto put = m_db->Prepare("INSERT INTO settings (key, value) VALUES ('blob_key', ?)");
    put.Bind(1, std::string_view(reinterpret_cast<const char*>(hex.data()), hex.size())).Run();
    return key;
}

void SqliteHqStore::Rekey(const storage::SecretBytes& key) {
    // No reader is lent meanwhile.
    std::scoped_lock lock(m_mutex, m_readers_keyed, m_checkpoint_mutex);
    EndStrandedTransaction();
    // The other connections open again, under the new key, when next needed.
    {
        std::lock_guard idle(m_readers_mutex);
        m_idle_readers.clear();
    }
    m_checkpointer.reset();
    m_db->Check(sqlite3_rekey(m_db->Handle(), key.data(), static_cast<int>(key.size())));
    m_db->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    m_encrypted = true;
    m_key = key;
}

namespace {

/// Reading connections kept open between calls; more are opened while
/// more calls read at once, and closed when given back.
constexpr size_t MAX_IDLE_READERS = 8;

} // namespace

class SqliteHqStore::ReaderLease {
public:
    explicit ReaderLease(SqliteHqStore& store) : m_store(store), m_keyed(store.m_readers_keyed) {
        {
            std::lock_guard idle(store.m_readers_mutex);
            if (!store.m_idle_readers.empty()) {
                m_db = std::move(store.m_idle_readers.back());
                store.m_idle_readers.pop_back();
            }
        }
        if (!m_db) {
            m_db = store.OpenConnection();
            m_db->Exec("PRAGMA query_only = ON");
        }
    }
    ~ReaderLease() {
        // A read transaction that could not be ended would leave the next
        // call on an old snapshot (a revoked token still let in): ended
        // here, or the connection is closed instead of given back.
        if (!sqlite3_get_autocommit(m_db->Handle())) {
            try {
                m_db->Exec("ROLLBACK");
            } catch (...) {
                return;
            }
            if (!sqlite3_get_autocommit(m_db->Handle())) return;
        }
        std::lock_guard idle(m_store.m_readers_mutex);
        if (m_store.m_idle_readers.size() >= MAX_IDLE_READERS) return;
        try {
            m_store.m_idle_readers.push_back(std::move(m_db));
        } catch (...) {
            // Out of memory: the connection closes instead.
        }
    }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    storage::Database& operator*() { return *m_db; }

private:
    SqliteHqStore& m_store;
    std::shared_lock<std::shared_mutex> m_keyed;
    std::unique_ptr<storage::Database> m_db;
};

void SqliteHqStore::BackupTo(const std::string& path) {
    storage::Database copy(path, true);
    if (m_encrypted) {
        const auto lock = LockWriter();
        copy.Check(sqlite3_key(copy.Handle(), m_key.data(), static_cast<int>(m_key.size())));
        copy.Exec("PRAGMA cipher_page_size = 4096");
    }
    // One step copies every page under one read transaction: a snapshot.
    // In WAL mode a running server's writers are not held up by it.
    std::unique_ptr<sqlite3_backup, int (*)(sqlite3_backup*)> backup(
        sqlite3_backup_init(copy.Handle(), "main", m_db->Handle(), "main"), sqlite3_backup_finish);
    if (!backup) copy.Check(sqlite3_errcode(copy.Handle()));
    int rc = SQLITE_OK;
    while ((rc = sqlite3_backup_step(backup.get(), -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(50);
    if (rc != SQLITE_DONE) copy.Check(rc);
    copy.Check(sqlite3_backup_finish(backup.release()));
    copy.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

int64_t SqliteHqStore::NextSeq() {
    m_db->Exec("UPDATE counter SET seq = seq + 1 WHERE id = 1");
    return m_db->QueryInt("SELECT seq FROM counter WHERE id = 1");
}

Project SqliteHqStore::CreateProject(const std::string& name) {
    const auto lock = LockWriter();
    Project p{storage::NewUuidV7(), name, storage::FormatIsoMillis(storage::SystemMillis())};
    Transaction txn(*m_db);
    auto stmt = m_db->Prepare("INSERT INTO projects (id, name, created_at) VALUES (?, ?, ?)");
    stmt.Bind(1, p.id).Bind(2, p.name).Bind(3, p.created_at).Run();
    // The project is also a record, so that devices pull it like any other.
    const auto hlc = storage::HlcTimestamp{storage::SystemMillis(), 0}.ToString();
    Json body = {{"id", p.id},        {"type", "project"}, {"name", name},   {"created_at", p.created_at},
                 {"updated_at", hlc}, {"author", "hq"},    {"device", "hq"}, {"rev", 1},
                 {"deleted", false}};
    const int64_t seq = NextSeq();
    auto rec =
        m_db->Prepare("INSERT INTO records (record_id, project_id, record_type, rev, hlc, deleted, owner_device, "
                      "seq, body) VALUES (?, ?, 'project', 1, ?, 0, 'hq', ?, ?)");
    rec.Bind(1, p.id).Bind(2, p.id).Bind(3, hlc).Bind(4, seq).Bind(5, body.dump()).Run();
    auto rev = m_db->Prepare("INSERT INTO revisions (record_id, rev, body) VALUES (?, 1, ?)");
    rev.Bind(1, p.id).Bind(2, body.dump()).Run();
    txn.Commit();
    return p;
}

std::vector<Project> SqliteHqStore::ListProjects() {
    const auto lock = LockWriter();
    std::vector<Project> out;
    auto stmt = m_db->Prepare("SELECT id, name, created_at FROM projects ORDER BY created_at");
    while (stmt.Step()) out.push_back({stmt.Text(0), stmt.Text(1), stmt.Text(2)});
    return out;
}

std::optional<Project> SqliteHqStore::FindProject(const std::string& id_or_name) {
    const auto lock = LockWriter();
    auto stmt = m_db->Prepare("SELECT id, name, created_at FROM projects WHERE id = ?1 OR name = ?1");
    stmt.Bind(1, id_or_name);
    if (!stmt.Step()) return std::nullopt;
    return Project{stmt.Text(0), stmt.Text(1), stmt.Text(2)};
}

void SqliteHqStore::AddEnrolment(const std::string& code_hash, const std::string& project_id, Role role,
                                 const std::string& person, const std::string& expires_at) {
    const auto lock = LockWriter();
    auto stmt = m_db->Prepare("INSERT INTO enrolments (code_hash, project_id, role, person, created_at, expires_at) "
                              "VALUES (?, ?, ?, ?, ?, ?)");
    stmt.Bind(1, code_hash).Bind(2, project_id).Bind(3, RoleName(role)).Bind(4, person);
    stmt.Bind(5, storage::FormatIsoMillis(storage::SystemMillis())).Bind(6, expires_at).Run();
}

EnrolOutcome SqliteHqStore::Enrol(const std::string& code_hash, const std::string& device_id,
                                  const std::string& device_name, const std::string& token_hash,
                                  const std::string& current_token_hash) {
    const auto lock = LockWriter();
    Transaction txn(*m_db);
    auto find = m_db->Prepare(
        "SELECT e.project_id, p.name, e.role, coalesce(e.person, '') FROM enrolments e JOIN projects p ON p.id = "
        "e.project_id WHERE e.code_hash = ? AND e.used_by IS NULL AND e.expires_at > ?");
    find.Bind(1, code_hash).Bind(2, storage::FormatIsoMillis(storage::SystemMillis()));
    if (!find.Step()) return {};
    EnrolOutcome out{EnrolResult::Enrolled,
                     {device_id, find.Text(0), find.Text(1), *ParseRole(find.Text(2)), find.Text(3)}};
    // An id that is enrolled already belongs to whoever holds its token: a
    // spare code and an id seen in a record must not take a device over.
    auto existing = m_db->Prepare("SELECT token_hash FROM devices WHERE id = ?");
    existing.Bind(1, device_id);
    if (existing.Step() && (current_token_hash.empty() || existing.Text(0) != current_token_hash))
        return {EnrolResult::DeviceTaken, {}};
    auto used = m_db->Prepare("UPDATE enrolments SET used_by = ? WHERE code_hash = ?");
    used.Bind(1, device_id).Bind(2, code_hash).Run();
    // A device enrolling again (a new code, its own token) gets a new token; the old one dies.
    auto device = m_db->Prepare(
        "INSERT OR REPLACE INTO devices (id, project_id, role, person, name, token_hash, revoked, enrolled_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 0, ?)");
    device.Bind(1, device_id)
        .Bind(2, out.device.project_id)
        .Bind(3, RoleName(out.device.role))
        .Bind(4, out.device.person);
    device.Bind(5, device_name).Bind(6, token_hash).Bind(7, storage::FormatIsoMillis(storage::SystemMillis())).Run();
    txn.Commit();
    return out;
}

std::optional<DeviceInfo> SqliteHqStore::Authenticate(const std::string& token_hash) {
    // On a reading connection: every request asks this first, and the writer may
    // be in the middle of a group's commit.
    ReaderLease reader(*this);
    auto stmt = (*reader).Prepare(
        "SELECT d.id, d.project_id, p.name, d.role, coalesce(d.person, '') FROM devices d JOIN projects p ON p.id = "
        "d.project_id WHERE d.token_hash = ? AND d.revoked = 0");
    stmt.Bind(1, token_hash);
    if (!stmt.Step()) return std::nullopt;
    return DeviceInfo{stmt.Text(0), stmt.Text(1), stmt.Text(2), *ParseRole(stmt.Text(3)), stmt.Text(4)};
}

bool SqliteHqStore::RevokeDevice(const std::string& device_id) {
    const auto lock = LockWriter();
    auto stmt = m_db->Prepare("UPDATE devices SET revoked = 1 WHERE id = ?");
    stmt.Bind(1, device_id).Run();
    return m_db->Changes() > 0;
}

std::vector<DeviceRow> SqliteHqStore::ListDevices(const std::string& project_id) {
    const auto lock = LockWriter();
    auto stmt = m_db->Prepare(
        "SELECT d.id, d.project_id, p.name, d.role, coalesce(d.person, ''), coalesce(d.name, ''), d.enrolled_at, "
        "coalesce(d.last_seen, ''), d.revoked, d.waiting_changes, d.waiting_recordings, d.waiting_bytes, "
        "coalesce(d.waiting_at, '') FROM devices d JOIN projects p ON p.id = d.project_id "
        "WHERE d.project_id = ? ORDER BY d.enrolled_at");
    stmt.Bind(1, project_id);
    std::vector<DeviceRow> out;
    while (stmt.Step()) {
        DeviceRow row{{stmt.Text(0), stmt.Text(1), stmt.Text(2), *ParseRole(stmt.Text(3)), stmt.Text(4)},
                      stmt.Text(5),
                      stmt.Text(6),
                      stmt.Text(7),
                      stmt.Int(8) != 0};
        if (!stmt.IsNull(9) && !stmt.IsNull(10) && !stmt.IsNull(11)) {
            row.waiting = WaitingReport{stmt.Int(9), stmt.Int(10), stmt.Int(11)};
            row.waiting_at = stmt.Text(12);
        }
        out.push_back(std::move(row));
    }
    return out;
}

bool SqliteHqStore::ReportWaiting(const DeviceInfo& device, const WaitingReport& report, int64_t now_ms) {
    {
        // Most reports repeat the last one: read on a reading connection, which waits
        // for no commit, and leave the writer alone.
        ReaderLease reader(*this);
        auto kept = (*reader).Prepare("SELECT waiting_changes, waiting_recordings, waiting_bytes, waiting_at FROM "
                                     "devices WHERE id = ?");
        kept.Bind(1, device.device_id);
        if (!kept.Step()) return false;
        if (!kept.IsNull(0) && !kept.IsNull(1) && !kept.IsNull(2) &&
            WaitingReport{kept.Int(0), kept.Int(1), kept.Int(2)} == report) {
            const auto at = storage::ParseIsoMillis(kept.Text(3));
            if (at && now_ms - *at < WAITING_REFRESH_MS) return false;
        }
    }
    // Written with the next group of pushes, under its one fsync.
    (void)ApplyQueued(
        device, {},
        [](const Change&, const StoredRecord*, const Json*, const StoredRecord*, const LookupFn&) {
            return Decision{};
        },
        {}, &report, storage::FormatIsoMillis(now_ms));
    return true;
}

std::vector<std::string> SqliteHqStore::BlobsNamedBy(const std::string& type, const Json& body) const {
    std::vector<std::string> out;
    const auto fields = m_blob_fields.find(type);
    if (fields == m_blob_fields.end() || !body.is_object() || body.value("deleted", false)) return out;
    for (const auto& field : fields->second) {
        const auto it = body.find(field);
        // Only a well-formed name counts: nothing else can be a blob's file.
        if (it != body.end() && it->is_string() && IsSha256Hex(it->get<std::string>()))
            out.push_back(it->get<std::string>());
    }
    return out;
}

void SqliteHqStore::DeclareBlobFields(const BlobFields& fields) {
    const auto lock = LockWriter();
    m_blob_fields = fields;
    const auto declared = Json(fields).dump();
    auto kept = m_db->Prepare("SELECT value FROM settings WHERE key = 'blob_fields'");
    if (kept.Step() && kept.Text(0) == declared) return;
    kept.Reset();
    Transaction txn(*m_db);
    m_db->Exec("DELETE FROM blob_refs");
    auto add = m_db->Prepare("INSERT OR IGNORE INTO blob_refs (project_id, sha256, record_id, record_type, "
                             "owner_device) VALUES (?, ?, ?, ?, ?)");
    for (const auto& [type, names] : fields) {
        auto records = m_db->Prepare(
            "SELECT project_id, record_id, owner_device, body FROM records WHERE record_type = ? AND deleted = 0");
        records.Bind(1, type);
        while (records.Step()) {
            for (const auto& sha : BlobsNamedBy(type, Json::parse(records.Text(3)))) {
                add.Bind(1, records.Text(0)).Bind(2, sha).Bind(3, records.Text(1)).Bind(4, type);
                add.Bind(5, records.Text(2)).Run();
                add.Reset();
            }
        }
    }
    auto remember = m_db->Prepare("INSERT OR REPLACE INTO settings (key, value) VALUES ('blob_fields', ?)");
    remember.Bind(1, declared).Run();
    txn.Commit();
}

namespace {

/// "(?, ?, ...)": `n` placeholders for an IN list (SQLite takes "()").
std::string Placeholders(size_t n) {
    std::string out = "(";
    for (size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
    return out + ")";
}

/// A read transaction on a reading connection, ended when it goes (its
/// statements, declared after it, are gone by then).
class ReadSnapshot {
public:
    explicit ReadSnapshot(storage::Database& db) : m_db(db) { m_db.Exec("BEGIN"); }
    ~ReadSnapshot() {
        // Only reads happened: nothing is lost when the end fails, but the
        // connection must not stay in the transaction.
        try {
            m_db.Exec("COMMIT");
        } catch (...) {
            try {
                m_db.Exec("ROLLBACK");
            } catch (...) {
            }
        }
    }
    ReadSnapshot(const ReadSnapshot&) = delete;
    ReadSnapshot& operator=(const ReadSnapshot&) = delete;

private:
    storage::Database& m_db;
};

/// The SQL condition "`scope` lets the device read a row whose type and
/// owner are these columns", with `?` for each value; Bind() fills them.
struct ScopeSql {
    std::string text;
    std::vector<std::string> values;
    ScopeSql(const ReadScope& scope, const std::string& type_column, const std::string& owner_column) {
        text = "(" + type_column + " IN " + Placeholders(scope.shared_types.size()) + " OR (" + owner_column + " = ? AND " +
               type_column + " IN " + Placeholders(scope.own_types.size()) + "))";
        values = scope.shared_types;
        values.push_back(scope.device_id);
        values.insert(values.end(), scope.own_types.begin(), scope.own_types.end());
    }
    /// Binds the values from parameter `first` on; returns the next free one.
    int Bind(Statement& stmt, int first) const {
        for (const auto& v : values) stmt.Bind(first++, v);
        return first;
    }
};

} // namespace

bool SqliteHqStore::MayReadBlob(const DeviceInfo& device, const std::string& sha256, const ReadScope& scope) {
    const auto lock = LockWriter();
    const ScopeSql allowed(scope, "record_type", "owner_device");
    auto stmt = m_db->Prepare("SELECT 1 FROM blob_refs WHERE project_id = ? AND sha256 = ? AND " + allowed.text +
                              " LIMIT 1");
    stmt.Bind(1, device.project_id).Bind(2, sha256);
    allowed.Bind(stmt, 3);
    return stmt.Step();
}

// [SECTION] Pushes, committed in groups

/// One caller's batch, waiting in the queue or being written.
struct SqliteHqStore::Push {
    const DeviceInfo& device;
    const std::vector<Change>& changes;
    const DecideFn& decide;
    const ReleasedFn& released;
    const WaitingReport* waiting;  ///< kept with the push, when given
    const std::string& waiting_at; ///< the report's time; empty: the group's
    std::vector<ItemResult> results;
    std::set<std::string> unnamed; ///< blobs a record stopped naming in this push
    bool erased = false;           ///< a tombstone was written
    std::exception_ptr error;
    bool done = false; ///< under m_queue_mutex
};

/// The statements a push runs, prepared once per group, and the counter.
///
/// SQLCipher encrypts every page a statement journal keeps, and SQLite
/// keeps one for each statement inside a transaction that may change
/// several rows (REPLACE, UPDATE, DELETE): a push of new records writes
/// them with plain INSERTs, and the counter is counted here and written
/// once per group (docs/decisions/0025).
struct SqliteHqStore::PushStatements {
    Statement seen, remember, load, base, upsert, insert, revision, first_revision, conflict, keep_theirs,
        forget_revisions, forget_conflicts, refs_of, forget_refs, add_ref, seen_device, seen_waiting, still_named,
        save_seq;
    int64_t seq = 0; ///< the last sequence number handed out in this transaction
    int64_t stored_seq = 0;

    explicit PushStatements(storage::Database& db)
        : seen(db.Prepare("SELECT status, coalesce(reason, ''), seq, coalesce(code, ''), device_id, "
                          "coalesce(params, '') FROM changes WHERE change_id = ?")),
          remember(db.Prepare("INSERT INTO changes (change_id, device_id, status, reason, seq, received_at, code, "
                              "params) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")),
          load(db.Prepare("SELECT body, rev, hlc, deleted, owner_device, seq, record_type, project_id FROM records "
                          "WHERE record_id = ?")),
          base(db.Prepare("SELECT body FROM revisions WHERE record_id = ? AND rev = ?")),
          upsert(db.Prepare("INSERT OR REPLACE INTO records (record_id, project_id, record_type, rev, hlc, deleted, "
                            "owner_device, seq, body, echo_device) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")),
          insert(db.Prepare("INSERT INTO records (record_id, project_id, record_type, rev, hlc, deleted, "
                            "owner_device, seq, body, echo_device) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")),
          revision(db.Prepare("INSERT OR REPLACE INTO revisions (record_id, rev, body) VALUES (?, ?, ?)")),
          first_revision(db.Prepare("INSERT INTO revisions (record_id, rev, body) VALUES (?, ?, ?)")),
          conflict(db.Prepare("INSERT INTO conflicts (seq, project_id, record_type, record_id, field, kept, other, "
                              "other_author, other_device, other_hlc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")),
          keep_theirs(db.Prepare("INSERT OR IGNORE INTO revisions (record_id, rev, body) VALUES (?, ?, ?)")),
          forget_revisions(db.Prepare("DELETE FROM revisions WHERE record_id = ? AND rev < ?")),
          forget_conflicts(db.Prepare("DELETE FROM conflicts WHERE record_id = ?")),
          refs_of(db.Prepare("SELECT sha256 FROM blob_refs WHERE record_id = ?")),
          forget_refs(db.Prepare("DELETE FROM blob_refs WHERE record_id = ?")),
          add_ref(db.Prepare("INSERT OR IGNORE INTO blob_refs (project_id, sha256, record_id, record_type, "
                             "owner_device) VALUES (?, ?, ?, ?, ?)")),
          seen_device(db.Prepare("UPDATE devices SET last_seen = ? WHERE id = ?")),
          seen_waiting(db.Prepare("UPDATE devices SET last_seen = ?1, waiting_changes = ?2, waiting_recordings = ?3, "
                                  "waiting_bytes = ?4, waiting_at = ?1 WHERE id = ?5")),
          still_named(db.Prepare("SELECT 1 FROM blob_refs WHERE project_id = ? AND sha256 = ? LIMIT 1")),
          save_seq(db.Prepare("UPDATE counter SET seq = ? WHERE id = 1")) {
        seq = stored_seq = db.QueryInt("SELECT seq FROM counter WHERE id = 1");
    }

    std::optional<StoredRecord> Load(const std::string& record_id) {
        load.Bind(1, record_id);
        std::optional<StoredRecord> out;
        if (load.Step())
            out = StoredRecord{Json::parse(load.Text(0)),
                               load.Int(1),
                               load.Text(2),
                               load.Int(3) != 0,
                               load.Text(4),
                               load.Int(5),
                               load.Text(6),
                               load.Text(7)};
        load.Reset();
        return out;
    }

    int64_t NextSeq() { return ++seq; }

    /// Writes the counter, before the commit.
    void SaveSeq() {
        if (seq == stored_seq) return;
        save_seq.Bind(1, seq).Run();
        save_seq.Reset();
        stored_seq = seq;
    }
};

std::vector<ItemResult> SqliteHqStore::ApplyBatch(const DeviceInfo& device, const std::vector<Change>& changes,
                                                  const DecideFn& decide, const ReleasedFn& released,
                                                  const WaitingReport* waiting) {
    return ApplyQueued(device, changes, decide, released, waiting, {});
}

std::vector<ItemResult> SqliteHqStore::ApplyQueued(const DeviceInfo& device, const std::vector<Change>& changes,
                                                   const DecideFn& decide, const ReleasedFn& released,
                                                   const WaitingReport* waiting, const std::string& waiting_at) {
    Push push{device, changes, decide, released, waiting, waiting_at, {}, {}, false, nullptr, false};
    std::unique_lock queue(m_queue_mutex);
    m_queue.push_back(&push);
    while (!push.done) {
        if (m_writing) {
            // Another caller is writing a group; this push goes in the next.
            m_queue_done.wait(queue);
            continue;
        }
        // Nobody is writing: this caller writes every push waiting, its own
        // among them, and those that arrive while it waits for the connection.
        m_writing = true;
        queue.unlock();
        std::vector<Push*> group;
        {
            std::lock_guard lock(m_mutex);
            queue.lock();
            group.swap(m_queue);
            queue.unlock();
            try {
                WriteGroup(group);
            } catch (...) {
                // Out of memory while recording an error: the group still ends.
                for (auto* p : group)
                    if (!p->error) p->error = std::current_exception();
            }
        }
        queue.lock();
        m_writing = false;
        for (auto* p : group) p->done = true;
        m_queue_done.notify_all();
    }
    queue.unlock();
    if (push.error) std::rethrow_exception(push.error);
    return std::move(push.results);
}

std::vector<SqliteHqStore::Push*>::iterator
SqliteHqStore::WriteTogether(std::vector<Push*>& pushes, std::vector<std::pair<Push*, std::string>>& released_blobs) {
    EndStrandedTransaction();
    const auto now = storage::FormatIsoMillis(storage::SystemMillis());
    Transaction txn(*m_db);
    PushStatements sql(*m_db);
    for (auto it = pushes.begin(); it != pushes.end(); ++it) {
        auto& push = **it;
        // Written again after another push failed: answered afresh.
        push.results.clear();
        push.unnamed.clear();
        push.erased = false;
        try {
            WritePush(push, sql, now);
        } catch (...) {
            push.error = std::current_exception();
            push.results.clear();
            // SQLite ends the whole transaction on some errors (a full disk,
            // I/O): then every push of the group fails with it.
            if (sqlite3_get_autocommit(m_db->Handle())) throw;
            return it; // rolled back as `txn` goes
        }
    }
    sql.SaveSeq();
    // Checked once every push is written: a blob one push let go of and a
    // later one names again stays.
    released_blobs.clear();
    std::set<std::pair<std::string, std::string>> given;
    for (auto* push : pushes) {
        for (const auto& sha : push->unnamed) {
            if (!given.insert({push->device.project_id, sha}).second) continue;
            sql.still_named.Bind(1, push->device.project_id).Bind(2, sha);
            if (!sql.still_named.Step()) released_blobs.emplace_back(push, sha);
            sql.still_named.Reset();
        }
    }
    txn.Commit();
    return pushes.end();
}

void SqliteHqStore::WriteGroup(const std::vector<Push*>& group) {
    // The pushes written together; one whose writing throws leaves them.
    std::vector<Push*> written(group);
    // (project, blob) that no live record names once the whole group is written.
    std::vector<std::pair<Push*, std::string>> released_blobs;
    try {
        // A push that throws had part of its changes written, with no
        // savepoint to go back to (docs/decisions/0025): the transaction is
        // rolled back and the others are written again without it. Each
        // round takes one push out, so this ends.
        while (!written.empty()) {
            const auto failed = WriteTogether(written, released_blobs);
            if (failed == written.end()) break;
            written.erase(failed);
        }
    } catch (...) {
        // Nothing of this group is on disk: no push of it is acknowledged.
        for (auto* push : group) {
            if (!push->error) push->error = std::current_exception();
            push->results.clear();
        }
        return;
    }
    // Still under the lock: no push names these blobs again before they go.
    for (const auto& [push, sha] : released_blobs) {
        try {
            if (push->released) push->released(push->device.project_id, sha);
        } catch (...) {
            push->error = std::current_exception();
        }
    }
    // The write-ahead log still holds the pages as they were; copied back
    // into the database (zeroed where freed) and truncated, the text is gone
    // from disk. A reader holding an old snapshot only delays this.
    if (std::any_of(written.begin(), written.end(), [](const Push* p) { return p->erased; })) {
        try {
            std::lock_guard checkpoint(m_checkpoint_mutex);
            // A pull reading a page keeps the log in use until that page
            // ends; the checkpoint waits for it (busy_timeout), and says
            // "busy" in its first column when it gave up.
            bool truncated = false;
            for (int attempt = 0; attempt < 3 && !truncated; ++attempt) {
                auto checkpoint_now = m_db->Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
                truncated = checkpoint_now.Step() && checkpoint_now.Int(0) == 0;
            }
            if (!truncated) throw std::runtime_error("the write-ahead log is still in use; the erased text stays in it");
        } catch (...) {
            for (auto* push : written)
                if (push->erased && !push->error) push->error = std::current_exception();
        }
    } else if (m_log_pages >= MAX_LOG_PAGES) {
        try {
            std::lock_guard checkpoint(m_checkpoint_mutex);
            m_db->Exec("PRAGMA wal_checkpoint(PASSIVE)");
        } catch (const std::exception& e) {
            // Committed already: the pushes stand; the next group tries again.
            std::fprintf(stderr, "escucha-hq: checkpoint failed: %s\n", e.what());
        }
    }
}

void SqliteHqStore::WritePush(Push& push, PushStatements& sql, const std::string& now) {
    const auto& device = push.device;
    auto& results = push.results;
    // Once the rules answer "send whole" for a change, nothing after it in
    // the push is taken either: the device sends them again, in order, so a
    // change never lands before one it follows (an erasure before the
    // consent withdrawal it follows from).
    bool stopped = false;
    for (const auto& change : push.changes) {
        if (stopped) {
            results.push_back(SendWholeResult(change));
            continue;
        }
        auto& seen = sql.seen;
        seen.Bind(1, change.change_id);
        const bool replay = seen.Step();
        if (replay && seen.Text(4) != device.device_id) {
            // Another device's change id: its answer is not this device's to read.
            results.push_back({change.change_id, ItemStatus::Rejected, "change_id is used already; make a new one", 0,
                               storage::errc::CHANGE_ID_TAKEN});
            seen.Reset();
            continue;
        }
        if (replay) {
            // A replay (in an earlier transaction, or earlier in this one):
            // the first answer stands, reported as a duplicate.
            const auto first = ParseItemStatus(seen.Text(0));
            ItemResult r{change.change_id, ItemStatus::Duplicate, seen.Text(1), seen.Int(2), seen.Text(3)};
            if (const auto params = Json::parse(seen.Text(5), nullptr, false); params.is_object()) r.params = params;
            if (first == ItemStatus::Rejected) r.status = ItemStatus::Rejected;
            results.push_back(r);
            seen.Reset();
            continue;
        }
        seen.Reset();
        const auto current = sql.Load(change.record_id);
        std::optional<Json> base;
        if (current && BaseRev(change) >= 1) {
            sql.base.Bind(1, change.record_id).Bind(2, BaseRev(change));
            if (sql.base.Step()) base = Json::parse(sql.base.Text(0));
            sql.base.Reset();
        }
        std::optional<StoredRecord> cause;
        if (change.op == "delete" && change.body.contains("erased_for") && change.body["erased_for"].is_string()) {
            cause = sql.Load(change.body["erased_for"].get<std::string>());
            if (cause && cause->project_id != device.project_id) cause.reset();
        }
        const LookupFn lookup = [&](const std::string& id) -> std::optional<Json> {
            auto r = sql.Load(id);
            if (!r || r->project_id != device.project_id) return std::nullopt;
            return std::move(r->body);
        };
        Decision d = push.decide(change, current ? &*current : nullptr, base ? &*base : nullptr,
                                 cause ? &*cause : nullptr, lookup);
        if (d.status == ItemStatus::SendWhole) {
            // Nothing taken, not even the change id.
            results.push_back(SendWholeResult(change));
            stopped = true;
            continue;
        }
        // The record as the device holds it: a partial change's, rebuilt.
        const Json& theirs = d.theirs.is_null() ? change.body : d.theirs;
        if (current && (current->project_id != device.project_id || current->record_type != change.record_type) &&
            d.status != ItemStatus::Rejected)
            // The rules refuse this already; the store never writes across projects or types whatever they say.
            d = {ItemStatus::Rejected,
                 "this device may not change record " + change.record_id,
                 {},
                 {},
                 storage::errc::NOT_ALLOWED};
        int64_t seq = 0;
        if (d.status == ItemStatus::Applied || d.status == ItemStatus::Conflict) {
            seq = sql.NextSeq();
            const auto& body = d.body;
            const int64_t rev = body.at("rev").get<int64_t>();
            // A new record (records are never deleted, tombstones stay) has
            // no row and no revision to replace.
            auto& upsert = current ? sql.upsert : sql.insert;
            upsert.Bind(1, change.record_id).Bind(2, device.project_id).Bind(3, change.record_type).Bind(4, rev);
            upsert.Bind(5, body.at("updated_at").get<std::string>()).Bind(6, body.value("deleted", false) ? 1 : 0);
            const auto text = body.dump();
            upsert.Bind(7, current ? current->owner_device : device.device_id).Bind(8, seq).Bind(9, text);
            if (d.status == ItemStatus::Applied && body == theirs) upsert.Bind(10, device.device_id);
            else upsert.BindNull(10);
            upsert.Run();
            upsert.Reset();
            auto& revision = current ? sql.revision : sql.first_revision;
            revision.Bind(1, change.record_id).Bind(2, rev).Bind(3, text).Run();
            revision.Reset();
            if (rev != change.rev && !body.value("deleted", false)) {
                // Merged: the device's own version is kept as its revision
                // too (when that number is free), so an edit it made on top
                // of it before pulling the merge is merged against it.
                sql.keep_theirs.Bind(1, change.record_id).Bind(2, change.rev).Bind(3, theirs.dump()).Run();
                sql.keep_theirs.Reset();
            }
            // The blobs this record names, now: what it named before may be
            // left to no record at all.
            sql.refs_of.Bind(1, change.record_id);
            while (sql.refs_of.Step()) push.unnamed.insert(sql.refs_of.Text(0));
            sql.refs_of.Reset();
            sql.forget_refs.Bind(1, change.record_id).Run();
            sql.forget_refs.Reset();
            for (const auto& sha : BlobsNamedBy(change.record_type, body)) {
                sql.add_ref.Bind(1, device.project_id).Bind(2, sha).Bind(3, change.record_id);
                sql.add_ref.Bind(4, change.record_type).Bind(5, current ? current->owner_device : device.device_id);
                sql.add_ref.Run();
                sql.add_ref.Reset();
            }
            if (body.value("deleted", false)) {
                // A tombstone keeps no earlier version: revisions and kept
                // conflict versions hold the text that was deleted.
                sql.forget_revisions.Bind(1, change.record_id).Bind(2, rev).Run();
                sql.forget_revisions.Reset();
                sql.forget_conflicts.Bind(1, change.record_id).Run();
                sql.forget_conflicts.Reset();
                push.erased = true;
            }
            for (const auto& c : d.conflicts) {
                auto& conflict = sql.conflict;
                conflict.Bind(1, sql.NextSeq()).Bind(2, device.project_id).Bind(3, c.record_type);
                conflict.Bind(4, c.record_id).Bind(5, c.field).Bind(6, c.kept.dump()).Bind(7, c.other.dump());
                conflict.Bind(8, c.other_author).Bind(9, c.other_device).Bind(10, c.other_hlc).Run();
                conflict.Reset();
            }
        }
        auto& remember = sql.remember;
        remember.Bind(1, change.change_id).Bind(2, device.device_id).Bind(3, ItemStatusName(d.status));
        remember.Bind(4, d.reason).Bind(5, seq).Bind(6, now).Bind(7, d.code);
        if (d.params.is_object() && !d.params.empty()) remember.Bind(8, d.params.dump());
        else remember.BindNull(8);
        remember.Run();
        remember.Reset();
        results.push_back({change.change_id, d.status, d.reason, seq, d.code, d.params});
    }
    if (push.waiting) {
        const auto& w = *push.waiting;
        sql.seen_waiting.Bind(1, push.waiting_at.empty() ? now : push.waiting_at).Bind(2, w.changes);
        sql.seen_waiting.Bind(3, w.recordings).Bind(4, w.bytes).Bind(5, device.device_id).Run();
        sql.seen_waiting.Reset();
    } else {
        sql.seen_device.Bind(1, now).Bind(2, device.device_id).Run();
        sql.seen_device.Reset();
    }
}

PullResponse SqliteHqStore::Pull(const DeviceInfo& device, int64_t since, int limit, const ReadScope& scope) {
    // On a reading connection, in one read transaction: every statement below sees
    // the same commit. One writer at a time (one connection, and one process
    // per data directory) commits a group's sequence numbers together, after
    // every smaller one, so what a snapshot holds is every number up to the
    // counter it reads: the cursor never passes a record committed later.
    // Pushes go on meanwhile on the writer.
    ReaderLease reader(*this);
    auto& db = *reader;
    const ReadSnapshot snapshot(db);
    PullResponse out;
    out.next = since;
    // Records and conflicts share one sequence; walk both in order. What the
    // device may not read is left out by the query, before the limit.
    // Types the device reads only where it wrote the record (a researcher's
    // notes): when there are such, the pull reads the types everyone shares
    // and the device's own records each through an index of its own, the
    // first `limit` + 1 of each, instead of walking every record of the
    // project since `since` (500 researchers syncing at once each walked
    // everyone's notes). Otherwise (a coordinator reads everything) one walk
    // in cursor order stops at the page's end.
    std::vector<std::string> own_only;
    for (const auto& type : scope.own_types)
        if (std::find(scope.shared_types.begin(), scope.shared_types.end(), type) == scope.shared_types.end())
            own_only.push_back(type);
    const std::string not_echo = "(echo_device IS NULL OR echo_device <> ?)";
    std::optional<Statement> query;
    if (own_only.empty()) {
        const ScopeSql record_allowed(scope, "record_type", "owner_device");
        query.emplace(db.Prepare("SELECT seq, body FROM records WHERE project_id = ? AND seq > ? AND " + not_echo +
                                    " AND " + record_allowed.text + " ORDER BY seq LIMIT ?"));
        query->Bind(1, device.project_id).Bind(2, since).Bind(3, device.device_id);
        query->Bind(record_allowed.Bind(*query, 4), limit + 1);
    } else {
        query.emplace(db.Prepare(
            "SELECT seq, body FROM (SELECT seq, body FROM records INDEXED BY records_type_seq WHERE project_id = ? AND "
            "record_type IN " + Placeholders(scope.shared_types.size()) + " AND seq > ? AND " + not_echo +
            " ORDER BY seq LIMIT ?) UNION ALL SELECT seq, body FROM (SELECT seq, body FROM records INDEXED BY "
            "records_owner_seq WHERE project_id = ? AND owner_device = ? AND seq > ? AND record_type IN " +
            Placeholders(own_only.size()) + " AND " + not_echo + " ORDER BY seq LIMIT ?) ORDER BY seq LIMIT ?"));
        // In the order of the statement's parameters.
        int at = 1;
        query->Bind(at++, device.project_id);
        for (const auto& type : scope.shared_types) query->Bind(at++, type);
        query->Bind(at++, since);
        query->Bind(at++, device.device_id);
        query->Bind(at++, limit + 1);
        query->Bind(at++, device.project_id);
        query->Bind(at++, scope.device_id);
        query->Bind(at++, since);
        for (const auto& type : own_only) query->Bind(at++, type);
        query->Bind(at++, device.device_id);
        query->Bind(at++, limit + 1);
        query->Bind(at++, limit + 1);
    }
    auto& records = *query;
    int taken = 0;
    size_t bytes = 0;
    int64_t last = since;
    while (records.Step()) {
        // A page ends at `limit` rows or past MAX_PULL_BYTES of records, so
        // huge records cannot make one answer huge.
        if (taken == limit || bytes >= MAX_PULL_BYTES) {
            out.more = true;
            break;
        }
        ++taken;
        last = records.Int(0);
        const auto text = records.Text(1);
        bytes += text.size();
        out.records.push_back(Json::parse(text));
    }
    const int64_t upto = out.more ? last : INT64_MAX;
    const ScopeSql conflict_allowed(scope, "c.record_type", "coalesce(r.owner_device, '')");
    auto conflicts = db.Prepare(
        "SELECT c.seq, c.record_type, c.record_id, c.field, c.kept, c.other, coalesce(c.other_author, ''), "
        "coalesce(c.other_device, ''), coalesce(c.other_hlc, '') FROM conflicts c "
        "LEFT JOIN records r ON r.record_id = c.record_id WHERE c.project_id = ? AND c.seq > ? AND c.seq <= ? AND " +
        conflict_allowed.text + " ORDER BY c.seq");
    conflicts.Bind(1, device.project_id).Bind(2, since).Bind(3, upto);
    conflict_allowed.Bind(conflicts, 4);
    while (conflicts.Step()) {
        last = std::max(last, conflicts.Int(0));
        out.conflicts.push_back({conflicts.Int(0), conflicts.Text(1), conflicts.Text(2), conflicts.Text(3),
                                 Json::parse(conflicts.Text(4)), Json::parse(conflicts.Text(5)), conflicts.Text(6),
                                 conflicts.Text(7), conflicts.Text(8)});
    }
    if (!out.more) last = std::max(last, db.QueryInt("SELECT seq FROM counter WHERE id = 1"));
    out.next = last;
    return out;
}

void SqliteHqStore::ForEachRecord(const std::string& project_id,
                                  const std::function<void(const StoredRecord&)>& visit) {
    const auto lock = LockWriter();
    auto stmt = m_db->Prepare(
        "SELECT body, rev, hlc, deleted, owner_device, seq, record_type, project_id FROM records WHERE project_id = ? "
        "ORDER BY record_type, record_id");
    stmt.Bind(1, project_id);
    while (stmt.Step())
        visit({Json::parse(stmt.Text(0)), stmt.Int(1), stmt.Text(2), stmt.Int(3) != 0, stmt.Text(4), stmt.Int(5),
               stmt.Text(6), stmt.Text(7)});
}

int64_t SqliteHqStore::CountRecords(const std::string& project_id) {
    const auto lock = LockWriter();
    auto stmt = m_db->Prepare("SELECT count(*) FROM records WHERE project_id = ?");
    stmt.Bind(1, project_id);
    stmt.Step();
    return stmt.Int(0);
}

} // namespace escucha::sync
