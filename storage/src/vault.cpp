#include "escucha/storage/vault.h"

#include "escucha/storage/blobs.h"
#include "escucha/storage/fsutil.h"

#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

namespace escucha::storage {

namespace fs = std::filesystem;

namespace {

constexpr char DB_FILE[] = "vault.db";
constexpr char KDF_FILE[] = "vault.kdf";
constexpr char KDF_NEW_FILE[] = "vault.kdf.new";
constexpr char BLOB_DIR[] = "blobs";

/// Keys a fresh connection and applies the per-connection settings. The key
/// is handed to SQLCipher through sqlite3_key, never through SQL text.
void KeyConnection(Database& db, const VaultKey& key, const KdfParams& params) {
    const auto pragma = key.PragmaValue(params);
    db.Check(sqlite3_key(db.Handle(), pragma.data(), static_cast<int>(pragma.size())));
    db.Exec("PRAGMA cipher_page_size = 4096");
}

/// The most bytes the write-ahead log keeps on disk after SQLite resets it:
/// without it the file stays as large as its largest burst of writes.
constexpr int64_t WAL_KEPT_BYTES = 4 * 1024 * 1024;
constexpr int BUSY_TIMEOUT_MS = 10000;

void ConfigureConnection(Database& db) {
    db.Exec("PRAGMA busy_timeout = " + std::to_string(BUSY_TIMEOUT_MS));
    // No plaintext temporary files: sorts and temp tables stay in memory.
    db.Exec("PRAGMA temp_store = MEMORY");
    db.Exec("PRAGMA journal_mode = WAL");
    db.Exec("PRAGMA journal_size_limit = " + std::to_string(WAL_KEPT_BYTES));
    // FULL: a commit that returned is on disk, through power loss too.
    db.Exec("PRAGMA synchronous = FULL");
    // Freed space is overwritten with zeros: erased testimony (a consent
    // withdrawn) leaves no readable trace in the file's free pages.
    db.Exec("PRAGMA secure_delete = ON");
    RegisterSearchFunctions(db);
}

/// The first `size` bytes of a file; fewer when it is shorter or unreadable.
std::string ReadFilePrefix(const fs::path& path, size_t size) {
    std::ifstream in(path, std::ios::binary);
    std::string out(size, '\0');
    in.read(out.data(), static_cast<std::streamsize>(size));
    out.resize(in ? size : static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
    return out;
}

bool KeyMatches(const VaultKey& key, const KdfParams& params) {
    const auto check = key.CheckValue();
    return sodium_memcmp(check.data(), params.check.data(), check.size()) == 0;
}

} // namespace

const char* VaultFailureText(VaultFailure failure) {
    switch (failure) {
    case VaultFailure::NotFound: return "no vault here";
    case VaultFailure::AlreadyExists: return "a vault already exists here";
    case VaultFailure::WrongPassphrase: return "wrong passphrase";
    case VaultFailure::WeakPassphrase: return "passphrase too short";
    case VaultFailure::Damaged: return "the vault is damaged";
    case VaultFailure::Unreadable: return "the vault cannot be read";
    case VaultFailure::PassphraseChangeInterrupted: return "a passphrase change was interrupted";
    }
    return "vault error";
}

const char* VaultFailureCode(VaultFailure failure) {
    switch (failure) {
    case VaultFailure::NotFound: return errc::VAULT_NOT_FOUND;
    case VaultFailure::AlreadyExists: return errc::VAULT_EXISTS;
    case VaultFailure::WrongPassphrase: return errc::WRONG_PASSPHRASE;
    case VaultFailure::WeakPassphrase: return errc::WEAK_PASSPHRASE;
    case VaultFailure::Damaged: return errc::VAULT_DAMAGED;
    case VaultFailure::Unreadable: return errc::VAULT_UNREADABLE;
    case VaultFailure::PassphraseChangeInterrupted: return errc::PASSPHRASE_CHANGE_UNFINISHED;
    }
    return errc::VAULT_UNREADABLE;
}

VaultError::VaultError(VaultFailure failure, const std::string& detail, Json params, std::string code)
    : std::runtime_error(std::string(VaultFailureText(failure)) + (detail.empty() ? "" : ": " + detail)),
      m_failure(failure), m_code(code.empty() ? VaultFailureCode(failure) : std::move(code)),
      m_params(params.is_object() ? std::move(params) : Json::object()) {}

/// TRUNCATE checkpoint that gives up at once when another connection holds
/// the log (the busy timeout is off for it). True when the log is empty.
bool TruncateWal(Database& db) noexcept {
    sqlite3* handle = db.Handle();
    if (!handle) return false;
    sqlite3_busy_timeout(handle, 0);
    int log = -1, done = -1;
    const int rc = sqlite3_wal_checkpoint_v2(handle, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    sqlite3_busy_timeout(handle, BUSY_TIMEOUT_MS);
    return rc == SQLITE_OK && log == 0;
}

struct Vault::Impl {
    fs::path dir;
    KdfParams params;
    VaultKey key;
    std::optional<Database> db;
    HybridLogicalClock clock;
    std::optional<RecordStore> records;
    std::string device;
    std::string author;

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() {
        // At close (and so at lock): the log goes back to zero bytes even when
        // another connection (the sync thread's) stays open a while.
        // Only a vault that was opened in full: a connection whose key did
        // not fit touches nothing.
        const bool opened = records.has_value();
        SettleSearch();
        records.reset();
        if (db && opened) (void)TruncateWal(*db);
    }

    /// Writes the search entries edits left marked (docs/decisions/0023).
    /// A failure (another connection writing) leaves the marks for later.
    void SettleSearch() noexcept {
        if (!records) return;
        try {
            records->SettleSearchIndex();
        } catch (...) {
        }
    }

    void Attach(const Catalogue& catalogue) {
        auto read = [&](const char* k) {
            return db->QueryText(std::string("SELECT value FROM meta WHERE key = ") + QuoteSql(k));
        };
        device = read("device").value_or("");
        author = read("author").value_or("");
        if (const auto hlc = read("hlc")) {
            if (const auto parsed = HlcTimestamp::Parse(*hlc)) clock.Restore(*parsed);
        }
        records.emplace(*db, catalogue, clock, WriterIdentity{author, device});
    }
};

Vault::Vault(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Vault::Vault(Vault&&) noexcept = default;
Vault& Vault::operator=(Vault&&) noexcept = default;
Vault::~Vault() = default;

bool Vault::Exists(const fs::path& dir) {
    std::error_code ec;
    return fs::exists(dir / DB_FILE, ec) || fs::exists(dir / KDF_FILE, ec);
}

Vault Vault::Create(const fs::path& dir, const Passphrase& passphrase, const Catalogue& catalogue,
                    const VaultOptions& options) {
    if (Exists(dir)) throw VaultError(VaultFailure::AlreadyExists, dir.string(), {{"path", dir.string()}});
    if (passphrase.Size() < MIN_PASSPHRASE_BYTES)
        throw VaultError(VaultFailure::WeakPassphrase,
                         "use at least " + std::to_string(MIN_PASSPHRASE_BYTES) + " characters",
                         {{"min", static_cast<int64_t>(MIN_PASSPHRASE_BYTES)}});
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        throw VaultError(VaultFailure::Unreadable, "cannot create " + dir.string() + ": " + ec.message(),
                         {{"path", dir.string()}});
    ::chmod(dir.c_str(), 0700);

    auto impl = std::make_unique<Impl>();
    impl->dir = dir;
    impl->clock = HybridLogicalClock(options.wall_clock);
    impl->params = KdfParams::Fresh();
    impl->params.opslimit = options.kdf_opslimit;
    impl->params.memlimit = options.kdf_memlimit;
    impl->key = DeriveKey(passphrase, impl->params);
    impl->params.check = impl->key.CheckValue();
    // Parameters first: a vault.db must never exist without them.
    WriteKdfFile(dir / KDF_FILE, impl->params);

    impl->db.emplace((dir / DB_FILE).string(), true, Threading::OneOwner);
    ::chmod((dir / DB_FILE).c_str(), 0600);
    KeyConnection(*impl->db, impl->key, impl->params);
    ConfigureConnection(*impl->db);
    {
        Transaction txn(*impl->db);
        RecordStore(*impl->db, catalogue, impl->clock, {}).EnsureSchema();
        auto meta = impl->db->Prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
        const auto put = [&](const char* k, const std::string& v) {
            meta.Bind(1, k).Bind(2, v).Run();
            meta.Reset();
        };
        put("format", "escucha-vault/1");
        put("device", NewUuidV7());
        put("author", options.author);
        put("created_at", FormatIsoMillis(SystemMillis()));
        txn.Commit();
    }
    fs::create_directories(dir / BLOB_DIR, ec);
    ::chmod((dir / BLOB_DIR).c_str(), 0700);
    impl->Attach(catalogue);
    return Vault(std::move(impl));
}

Vault Vault::Open(const fs::path& dir, const Passphrase& passphrase, const Catalogue& catalogue,
                  HybridLogicalClock::WallClock wall_clock) {
    std::error_code ec;
    if (!fs::exists(dir / DB_FILE, ec)) {
        if (fs::exists(dir / KDF_FILE, ec))
            throw VaultError(VaultFailure::Damaged, (dir / DB_FILE).string() + " is missing",
                             {{"path", dir.string()}, {"file", DB_FILE}}, errc::VAULT_FILE_MISSING);
        throw VaultError(VaultFailure::NotFound, dir.string() + " (create one with 'init')", {{"path", dir.string()}});
    }
    std::optional<KdfParams> main;
    std::optional<KdfParams> pending;
    try {
        main = ReadKdfFile(dir / KDF_FILE);
        pending = ReadKdfFile(dir / KDF_NEW_FILE);
    } catch (const std::exception& e) {
        throw VaultError(VaultFailure::Damaged, e.what(), {{"path", dir.string()}, {"file", KDF_FILE}},
                         errc::VAULT_KEY_FILE_DAMAGED);
    }
    if (!main)
        throw VaultError(VaultFailure::Damaged, (dir / KDF_FILE).string() + " is missing",
                         {{"path", dir.string()}, {"file", KDF_FILE}}, errc::VAULT_FILE_MISSING);

    // Which parameters does this passphrase fit? Decided before the database is
    // touched, so a wrong passphrase writes nothing.
    auto impl = std::make_unique<Impl>();
    impl->dir = dir;
    impl->clock = HybridLogicalClock(std::move(wall_clock));
    bool from_pending = false;
    impl->key = DeriveKey(passphrase, *main);
    if (KeyMatches(impl->key, *main)) {
        impl->params = *main;
    } else if (pending && (impl->key = DeriveKey(passphrase, *pending), KeyMatches(impl->key, *pending))) {
        impl->params = *pending;
        from_pending = true;
    } else {
        // SQLCipher writes the salt as the first 16 bytes of vault.db: a
        // vault.kdf whose salt is not there was edited or belongs to
        // another vault, and no passphrase would open it.
        if (const auto salt = ReadFilePrefix(dir / DB_FILE, SALT_BYTES);
            salt.size() == SALT_BYTES && !pending && std::memcmp(salt.data(), main->salt.data(), SALT_BYTES) != 0)
            throw VaultError(VaultFailure::Damaged,
                             std::string(KDF_FILE) + " was edited or is damaged: its salt is not the one " + DB_FILE +
                                 " was created with, so no passphrase can open the vault with it; put back the " +
                                 KDF_FILE + " of a backup of this vault (docs/recovery.md)",
                             {{"path", dir.string()}, {"file", KDF_FILE}}, errc::VAULT_KEY_FILE_DAMAGED);
        throw VaultError(VaultFailure::WrongPassphrase, "the passphrase does not open " + dir.string(),
                         {{"path", dir.string()}});
    }

    try {
        impl->db.emplace((dir / DB_FILE).string(), false, Threading::OneOwner);
        KeyConnection(*impl->db, impl->key, impl->params);
        (void)impl->db->QueryInt("SELECT count(*) FROM sqlite_master");
    } catch (const SqliteError& e) {
        if (from_pending)
            throw VaultError(
                VaultFailure::PassphraseChangeInterrupted,
                "the change to this passphrase did not finish; the previous passphrase still opens the vault",
                {{"path", dir.string()}}, errc::PASSPHRASE_CHANGE_UNFINISHED);
        if (pending)
            throw VaultError(VaultFailure::PassphraseChangeInterrupted,
                             "the vault was re-encrypted under a new passphrase; open it with the new one",
                             {{"path", dir.string()}}, errc::PASSPHRASE_CHANGED);
        throw VaultError(VaultFailure::Damaged,
                         std::string("the passphrase is right but the database cannot be read (") + e.what() +
                             "); see docs/recovery.md",
                         {{"path", dir.string()}}, errc::VAULT_DATABASE_UNREADABLE);
    }
    if (const int64_t format = impl->db->QueryInt("PRAGMA user_version"); format > RecordStore::SCHEMA_VERSION)
        throw VaultError(VaultFailure::Unreadable,
                         "this vault was written by a newer Escucha (format " + std::to_string(format) +
                             "; this one reads up to " + std::to_string(RecordStore::SCHEMA_VERSION) +
                             "): update Escucha to open it",
                         {{"path", dir.string()},
                          {"format", std::to_string(format)},
                          {"known", std::to_string(RecordStore::SCHEMA_VERSION)}},
                         errc::VAULT_NEWER_FORMAT);
    try {
        ConfigureConnection(*impl->db);
        Transaction txn(*impl->db);
        RecordStore(*impl->db, catalogue, impl->clock, {}).EnsureSchema();
        txn.Commit();
        impl->Attach(catalogue);
        // Edits marked before a crash or a kill are indexed now (or at the
        // first search, when another connection holds the write lock).
        impl->SettleSearch();
    } catch (const SqliteError& e) {
        if (e.IsDamage())
            throw VaultError(VaultFailure::Damaged, std::string(e.what()) + "; see docs/recovery.md",
                             {{"path", dir.string()}});
        throw;
    }
    // Finish, or clean up after, a passphrase change that was cut short.
    if (from_pending) {
        RenameDurably(dir / KDF_NEW_FILE, dir / KDF_FILE);
    } else if (pending) {
        fs::remove(dir / KDF_NEW_FILE, ec);
    }
    // A vault.kdf from before its checksum gets one, so a later edit of it
    // reads as an edit, not as a wrong passphrase.
    if (!from_pending && !main->has_digest) WriteKdfFile(dir / KDF_FILE, impl->params);
    return Vault(std::move(impl));
}

Vault Vault::OpenAnother(HybridLogicalClock::WallClock wall_clock) const {
    auto impl = std::make_unique<Impl>();
    impl->dir = m_impl->dir;
    impl->params = m_impl->params;
    std::copy(m_impl->key.Data(), m_impl->key.Data() + KEY_BYTES, impl->key.Data());
    impl->clock = HybridLogicalClock(std::move(wall_clock));
    impl->db.emplace((impl->dir / DB_FILE).string(), false, Threading::OneOwner);
    KeyConnection(*impl->db, impl->key, impl->params);
    ConfigureConnection(*impl->db);
    impl->Attach(m_impl->records->Types());
    return Vault(std::move(impl));
}

RecordStore& Vault::Records() { return *m_impl->records; }
Database& Vault::Db() { return *m_impl->db; }
const fs::path& Vault::Dir() const { return m_impl->dir; }
std::string Vault::DeviceId() const { return m_impl->device; }
std::string Vault::Author() const { return m_impl->author; }

bool Vault::CheckpointWal() noexcept {
    if (!m_impl || !m_impl->db) return false;
    m_impl->SettleSearch(); // its pages go into the checkpoint too
    return TruncateWal(*m_impl->db);
}

void Vault::ChangePassphrase(const Passphrase& new_passphrase) {
    if (new_passphrase.Size() < MIN_PASSPHRASE_BYTES)
        throw VaultError(VaultFailure::WeakPassphrase,
                         "use at least " + std::to_string(MIN_PASSPHRASE_BYTES) + " characters",
                         {{"min", static_cast<int64_t>(MIN_PASSPHRASE_BYTES)}});
    KdfParams params = KdfParams::Fresh();
    params.opslimit = m_impl->params.opslimit;
    params.memlimit = m_impl->params.memlimit;
    VaultKey key = DeriveKey(new_passphrase, params);
    params.check = key.CheckValue();
    // The new parameters are on disk before the database changes key, so an
    // interruption at any point leaves one of the two passphrases working.
    WriteKdfFile(m_impl->dir / KDF_NEW_FILE, params);
    const auto pragma = key.PragmaValue(params);
    m_impl->db->Check(sqlite3_rekey(m_impl->db->Handle(), pragma.data(), static_cast<int>(pragma.size())));
    m_impl->db->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    RenameDurably(m_impl->dir / KDF_NEW_FILE, m_impl->dir / KDF_FILE);
    m_impl->params = params;
    m_impl->key = std::move(key);
}

std::vector<ErrorValue> Vault::Diagnose() {
    std::vector<ErrorValue> problems;
    const auto found = [&](const char* code, Json params, std::string words) {
        problems.push_back({code, std::move(params), std::move(words)});
    };
    auto& db = *m_impl->db;
    try {
        auto stmt = db.Prepare("PRAGMA integrity_check");
        while (stmt.Step()) {
            const auto row = stmt.Text(0);
            if (row != "ok") found(errc::DATABASE_DAMAGED, Json::object(), "database: " + row);
        }
    } catch (const SqliteError& e) {
        found(errc::DATABASE_DAMAGED, Json::object(), std::string("database: ") + e.what());
        return problems;
    }
    for (auto& p : m_impl->records->CheckConsistency()) found(errc::RECORDS_INCONSISTENT, Json::object(), std::move(p));
    // Every blob is decrypted and hashed: a flipped byte in a recording must
    // be found here, not at upload time or when it is needed.
    BlobStore blobs(*this);
    for (const auto& blob : blobs.List()) {
        const auto problem = blobs.Verify(blob.sha256);
        const Json file = {{"file", blob.sha256.substr(0, 12)}};
        if (problem) {
            if (blob.uploaded) found(errc::FILE_DAMAGED_SENT, file, *problem + "; headquarters holds a sound copy");
            else
                found(errc::FILE_DAMAGED_SET_ASIDE, file,
                      *problem +
                          "; it was not sent to headquarters and is set aside, its file kept as it is for recovery");
        }
        try {
            if (problem && blob.damaged.empty()) blobs.MarkDamaged(blob.sha256, *problem);
            if (!problem && !blob.damaged.empty()) blobs.MarkSound(blob.sha256); // its file was put back
        } catch (const SqliteError& e) {
            // A vault that cannot be written (a full disk) is still checked;
            // the mark waits for the next check or sync.
            found(errc::FILE_STATE_NOT_SAVED, file, std::string("the file's state could not be recorded: ") + e.what());
        }
    }
    const std::set<std::string> expected = {DB_FILE, "vault.db-wal", "vault.db-shm", KDF_FILE, BLOB_DIR};
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(m_impl->dir, ec)) {
        const auto name = entry.path().filename().string();
        if (!expected.count(name))
            found(errc::UNEXPECTED_FILE, {{"name", name}}, "unexpected file in the vault directory: " + name);
    }
    return problems;
}

std::vector<std::string> Vault::Check() {
    std::vector<std::string> words;
    for (auto& p : Diagnose()) words.push_back(std::move(p.words));
    return words;
}

std::vector<std::pair<std::string, std::string>> Vault::MetaWithPrefix(const std::string& prefix) {
    std::vector<std::pair<std::string, std::string>> out;
    auto stmt = m_impl->db->Prepare("SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key");
    stmt.Bind(1, prefix);
    while (stmt.Step()) out.emplace_back(stmt.Text(0), stmt.OptionalText(1).value_or(""));
    return out;
}

std::optional<std::string> Vault::GetMeta(const std::string& key) {
    auto stmt = m_impl->db->Prepare("SELECT value FROM meta WHERE key = ?");
    stmt.Bind(1, key);
    if (!stmt.Step()) return std::nullopt;
    return stmt.OptionalText(0);
}

void Vault::SetMeta(const std::string& key, const std::string& value) {
    auto stmt = m_impl->db->Prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
    stmt.Bind(1, key).Bind(2, value).Run();
}

SecretBytes Vault::RawKeyForRecovery() const { return m_impl->key.PragmaValue(m_impl->params); }

} // namespace escucha::storage
