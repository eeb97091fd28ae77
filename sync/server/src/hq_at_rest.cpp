#include "escucha/sync/hq_at_rest.h"

#include "escucha/storage/error_code.h"
#include "escucha/storage/fsutil.h"
#include "escucha/storage/sqlite.h"
#include "escucha/storage/vault.h"

#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

namespace escucha::sync {

namespace fs = std::filesystem;
namespace errc = storage::errc;

namespace {

constexpr char DB_FILE[] = "hq.db";
constexpr char KDF_FILE[] = "hq.kdf";
constexpr char KDF_NEW_FILE[] = "hq.kdf.new";
constexpr char LOCK_FILE[] = "hq.lock";
constexpr char BLOB_DIR[] = "blobs";
constexpr char PLAIN_LEFT[] = "hq.db.plain"; ///< the plain database's other name while it is replaced
constexpr char SEALING[] = ".sealing"; ///< a blob sealed while a folder is encrypted, before it replaces the plain one
/// hq.kdf's "algorithm" for each kind of key.
constexpr char KEY_FILE_KIND[] = "key-file-blake2b";
constexpr char PASSPHRASE_KIND[] = "argon2id13";
constexpr char KEY_FILE_CONTEXT[] = "escucha-hq key file v1";
constexpr size_t MIN_KEY_FILE = 32;
constexpr size_t MAX_KEY_FILE = 4096;

class Fd {
public:
    explicit Fd(int fd) : m_fd(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (m_fd >= 0) ::close(m_fd);
    }
    [[nodiscard]] int Get() const noexcept { return m_fd; }

private:
    int m_fd;
};

Json PathParam(const fs::path& path) { return {{"path", path.string()}}; }

std::string ModeText(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

/// A key file's bytes (trailing white space, which an editor may add, left
/// out), after checking that it is a file of this user's alone.
storage::SecretBytes ReadKeyFile(const fs::path& path) {
    // O_NONBLOCK: a FIFO put in the key file's place must not hang the start.
    const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    struct stat st {};
    if (fd.Get() < 0 || ::fstat(fd.Get(), &st) != 0 || !S_ISREG(st.st_mode))
        throw HqAtRestError(errc::HQ_KEY_FILE_UNREADABLE, PathParam(path));
    if (st.st_uid != ::geteuid()) throw HqAtRestError(errc::HQ_KEY_FILE_OWNER, PathParam(path));
    if ((st.st_mode & 077) != 0)
        throw HqAtRestError(errc::HQ_KEY_FILE_NOT_PRIVATE, {{"path", path.string()}, {"mode", ModeText(st.st_mode)}});
    if (st.st_size > static_cast<off_t>(MAX_KEY_FILE)) throw HqAtRestError(errc::HQ_KEY_FILE_SIZE, PathParam(path));
    storage::SecretBytes bytes(MAX_KEY_FILE);
    size_t got = 0;
    for (;;) {
        const ssize_t n = ::read(fd.Get(), bytes.data() + got, bytes.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw HqAtRestError(errc::HQ_KEY_FILE_UNREADABLE, PathParam(path));
        if (n == 0 || (got += static_cast<size_t>(n)) == bytes.size()) break;
    }
    while (got > 0 &&
           (bytes[got - 1] == '\n' || bytes[got - 1] == '\r' || bytes[got - 1] == ' ' || bytes[got - 1] == '\t'))
        --got;
    if (got < MIN_KEY_FILE) throw HqAtRestError(errc::HQ_KEY_FILE_SIZE, PathParam(path));
    bytes.resize(got);
    return bytes;
}

bool KindFits(const HqKeySource& source, const storage::KdfParams& params) {
    return (params.algorithm == KEY_FILE_KIND) == !source.key_file.empty();
}

/// The server key from `source` under `params`. A key file is hashed
/// (BLAKE2b keyed with the salt) so that any 32 bytes or more of it count; a
/// passphrase goes through Argon2id.
storage::VaultKey DeriveHqKey(const HqKeySource& source, const storage::KdfParams& params, const fs::path& dir) {
    if (params.algorithm == KEY_FILE_KIND) {
        if (source.key_file.empty())
            throw HqAtRestError(errc::HQ_KEY_KIND, {{"path", dir.string()}, {"kind", "--key-file"}}, 3);
        const auto content = ReadKeyFile(source.key_file);
        storage::VaultKey key;
        crypto_generichash_state state;
        crypto_generichash_init(&state, params.salt.data(), params.salt.size(), storage::KEY_BYTES);
        crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(KEY_FILE_CONTEXT),
                                  sizeof KEY_FILE_CONTEXT);
        crypto_generichash_update(&state, content.data(), content.size());
        crypto_generichash_final(&state, key.Data(), storage::KEY_BYTES);
        sodium_memzero(&state, sizeof state);
        return key;
    }
    if (params.algorithm == PASSPHRASE_KIND) {
        if (source.passphrase.Empty())
            throw HqAtRestError(errc::HQ_KEY_KIND, {{"path", dir.string()}, {"kind", "ESCUCHA_HQ_PASSPHRASE"}}, 3);
        return storage::DeriveKey(source.passphrase, params);
    }
    throw HqAtRestError(errc::HQ_KEY_PARAMS_BROKEN, {{"path", dir.string()}, {"file", KDF_FILE}});
}

/// Parameters for a new key of the kind `source` gives.
storage::KdfParams FreshParams(const HqKeySource& source) {
    auto params = storage::KdfParams::Fresh();
    if (!source.key_file.empty()) {
        params.algorithm = KEY_FILE_KIND;
        return params;
    }
    if (source.passphrase.Size() < storage::MIN_PASSPHRASE_BYTES)
        throw HqAtRestError(errc::WEAK_PASSPHRASE, {{"min", static_cast<int64_t>(storage::MIN_PASSPHRASE_BYTES)}});
    params.algorithm = PASSPHRASE_KIND;
    params.opslimit = source.opslimit;
    params.memlimit = source.memlimit;
    return params;
}

std::optional<storage::KdfParams> ReadParams(const fs::path& dir, const char* file) {
    try {
        return storage::ReadKdfFile(dir / file);
    } catch (const std::exception&) {
        throw HqAtRestError(errc::HQ_KEY_PARAMS_BROKEN, {{"path", dir.string()}, {"file", file}});
    }
}

bool KeyMatches(const storage::VaultKey& key, const storage::KdfParams& params) {
    const auto check = key.CheckValue();
    return sodium_memcmp(check.data(), params.check.data(), check.size()) == 0;
}

/// Whether `path` is a plain SQLite database (its first 16 bytes say so;
/// SQLCipher's are the salt).
bool IsPlainSqlite(const fs::path& path) {
    static constexpr char HEADER[16] = "SQLite format 3";
    std::ifstream in(path, std::ios::binary);
    char head[16] = {};
    in.read(head, sizeof head);
    return in.gcount() == sizeof head && std::memcmp(head, HEADER, sizeof head) == 0;
}

/// Overwrites a plain file with zeros (durably) and removes it. The file
/// system may still keep old blocks (copy-on-write, flash); see decision 15.
void ZeroAndRemove(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return;
    {
        const Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
        struct stat st {};
        if (fd.Get() >= 0 && ::fstat(fd.Get(), &st) == 0 && S_ISREG(st.st_mode)) {
            const std::vector<char> zeros(1 << 20, 0);
            for (off_t at = 0; at < st.st_size;) {
                const auto n = ::pwrite(fd.Get(), zeros.data(),
                                        static_cast<size_t>(std::min<off_t>(st.st_size - at, zeros.size())), at);
                if (n <= 0) break;
                at += n;
            }
            (void)::fsync(fd.Get());
        }
    }
    fs::remove(path, ec);
}

/// Blobs sealed by an encryption cut short after the database was replaced
/// take the place of their plain files now.
void FinishSealing(const fs::path& blobs) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(blobs, ec), end; !ec && it != end; it.increment(ec)) {
        const auto path = it->path();
        if (path.extension() != SEALING) continue;
        const auto plain = fs::path(path).replace_extension();
        ZeroAndRemove(plain);
        storage::RenameDurably(path, plain);
    }
}

} // namespace

storage::VaultKey DeriveServerKey(const HqKeySource& source, const storage::KdfParams& params,
                                  const std::string& where) {
    return DeriveHqKey(source, params, where);
}

storage::KdfParams NewServerKeyParams(const HqKeySource& source) { return FreshParams(source); }

bool ServerKeyMatches(const HqKeySource& source, const storage::VaultKey& key, const storage::KdfParams& params) {
    return KindFits(source, params) && KeyMatches(key, params);
}

HqAtRestError::HqAtRestError(const char* code, Json params, int exit_code)
    : std::runtime_error(code), m_params(params.is_object() ? std::move(params) : Json::object()), m_exit(exit_code) {}

HqKeySource KeySourceFrom(const std::string& key_file, const char* passphrase_variable) {
    HqKeySource source;
    source.key_file = key_file;
    if (char* value = std::getenv(passphrase_variable); value && *value) {
        source.passphrase = storage::Passphrase(value);
        // What the environment held goes: /proc/PID/environ shows it no more.
        sodium_memzero(value, std::strlen(value));
        ::unsetenv(passphrase_variable);
        if (!key_file.empty()) throw HqAtRestError(errc::HQ_TWO_KEYS);
    }
    return source;
}

DataDirLock::DataDirLock(const fs::path& dir) {
    const auto path = dir / LOCK_FILE;
    m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (m_fd < 0) throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
    if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        ::close(m_fd);
        m_fd = -1;
        if (error == EWOULDBLOCK) throw HqAtRestError(errc::HQ_DIRECTORY_IN_USE, PathParam(dir));
        throw std::runtime_error("cannot lock " + path.string() + ": " + std::strerror(error));
    }
}

DataDirLock::~DataDirLock() {
    if (m_fd >= 0) ::close(m_fd); // closing releases the lock
}

void PrepareDataDir(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw HqAtRestError(errc::CANNOT_CREATE_DIRECTORY, PathParam(dir));
    ::chmod(dir.c_str(), 0700);
    // Files made by an earlier version may be readable by others: not any more.
    for (const char* name : {DB_FILE, "hq.db-wal", "hq.db-shm", KDF_FILE, KDF_NEW_FILE, LOCK_FILE})
        if (fs::exists(dir / name, ec)) ::chmod((dir / name).c_str(), 0600);
}

std::unique_ptr<SqliteHqStore> OpenHqStore(const fs::path& dir, const HqKeySource& source) {
    if (source.Empty()) throw HqAtRestError(errc::HQ_KEY_REQUIRED);
    PrepareDataDir(dir);
    const auto db = dir / DB_FILE;
    std::error_code ec;
    const bool have_db = fs::exists(db, ec);
    if (have_db && IsPlainSqlite(db)) throw HqAtRestError(errc::HQ_STORE_UNENCRYPTED, PathParam(dir));
    auto main = ReadParams(dir, KDF_FILE);
    const auto pending = ReadParams(dir, KDF_NEW_FILE);
    if (!have_db && !main) {
        // A new data directory. Parameters first: hq.db never exists without them.
        auto params = FreshParams(source);
        const auto key = DeriveHqKey(source, params, dir);
        params.check = key.CheckValue();
        storage::WriteKdfFile(dir / KDF_FILE, params);
        fs::remove(dir / KDF_NEW_FILE, ec);
        return std::make_unique<SqliteHqStore>(db.string(), key.PragmaValue(params));
    }
    if (!main) throw HqAtRestError(errc::HQ_KEY_PARAMS_BROKEN, {{"path", dir.string()}, {"file", KDF_FILE}});

    // Which parameters does this key fit? Decided before the database is
    // touched, so a wrong key writes nothing.
    const auto attempt = [&](const storage::KdfParams& params) -> std::optional<storage::VaultKey> {
        if (!KindFits(source, params)) return std::nullopt;
        auto key = DeriveHqKey(source, params, dir);
        if (!KeyMatches(key, params)) return std::nullopt;
        return key;
    };
    storage::KdfParams params = *main;
    bool from_pending = false;
    auto key = attempt(*main);
    if (!key && pending && (key = attempt(*pending))) {
        params = *pending;
        from_pending = true;
    }
    if (!key) {
        if (!KindFits(source, *main) && !(pending && KindFits(source, *pending)))
            (void)DeriveHqKey(HqKeySource{}, *main, dir); // throws HQ_KEY_KIND, naming the kind it takes
        throw HqAtRestError(errc::HQ_WRONG_KEY, PathParam(dir), 3);
    }
    std::unique_ptr<SqliteHqStore> store;
    try {
        store = std::make_unique<SqliteHqStore>(db.string(), key->PragmaValue(params));
    } catch (const storage::SqliteError&) {
        if (from_pending) throw HqAtRestError(errc::HQ_REKEY_UNFINISHED, PathParam(dir), 3);
        if (pending) throw HqAtRestError(errc::HQ_KEY_CHANGED, PathParam(dir), 3);
        throw HqAtRestError(errc::HQ_STORE_UNREADABLE, PathParam(dir));
    }
    // Finish, or clean up after, a change of key that was cut short.
    if (from_pending) storage::RenameDurably(dir / KDF_NEW_FILE, dir / KDF_FILE);
    else if (pending) fs::remove(dir / KDF_NEW_FILE, ec);
    // The plain database an encryption cut short left behind.
    ZeroAndRemove(dir / PLAIN_LEFT);
    return store;
}

std::unique_ptr<HqBlobStore> OpenHqBlobs(const fs::path& dir, HqStore& store, BlobQuota quota) {
    auto key = store.BlobKey();
    if (!key.empty()) FinishSealing(dir / BLOB_DIR);
    return std::make_unique<HqBlobStore>(dir / BLOB_DIR, quota, std::move(key));
}

void RekeyHqData(const fs::path& dir, const HqKeySource& current, const HqKeySource& next) {
    if (next.Empty()) throw HqAtRestError(errc::HQ_NEW_KEY_REQUIRED);
    auto store = OpenHqStore(dir, current);
    auto params = FreshParams(next);
    const auto key = DeriveHqKey(next, params, dir);
    params.check = key.CheckValue();
    // The new parameters are on disk before the database changes key, so an
    // interruption anywhere leaves one of the two keys working.
    storage::WriteKdfFile(dir / KDF_NEW_FILE, params);
    store->Rekey(key.PragmaValue(params));
    store.reset();
    storage::RenameDurably(dir / KDF_NEW_FILE, dir / KDF_FILE);
}

void EncryptHqData(const fs::path& dir, const HqKeySource& source) {
    if (source.Empty()) throw HqAtRestError(errc::HQ_KEY_REQUIRED);
    PrepareDataDir(dir);
    const auto db = dir / DB_FILE;
    std::error_code ec;
    if (!fs::exists(db, ec)) {
        // Nothing to encrypt: a new data directory is encrypted from the start.
        (void)OpenHqStore(dir, source);
        return;
    }
    if (!IsPlainSqlite(db)) throw HqAtRestError(errc::HQ_ALREADY_ENCRYPTED, PathParam(dir));
    fs::remove(dir / PLAIN_LEFT, ec); // a name of hq.db itself, left by an attempt cut short
    auto params = FreshParams(source);
    const auto key = DeriveHqKey(source, params, dir);
    params.check = key.CheckValue();
    const auto pragma = key.PragmaValue(params);

    // 1. The database, copied into a new encrypted file by SQLCipher.
    auto sealed_db = db;
    sealed_db += SEALING;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(sealed_db.string() + suffix, ec);
    {
        { SqliteHqStore plain(db.string()); } // brought up to this version's schema
        // Opened as creating: ATTACH makes the new file with the same flags.
        storage::Database plain(db.string(), true);
        plain.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
        const auto version = plain.QueryInt("PRAGMA user_version");
        plain.Exec("PRAGMA cipher_default_page_size = 4096");
        // The key goes into this one statement only, in memory that is wiped.
        const std::string head = "ATTACH DATABASE " + storage::QuoteSql(sealed_db.string()) + " AS sealed KEY '";
        storage::SecretBytes sql(head.begin(), head.end());
        for (unsigned char c : pragma) {
            sql.push_back(c);
            if (c == '\'') sql.push_back('\''); // x'...' inside an SQL string
        }
        sql.push_back('\'');
        sql.push_back('\0');
        plain.Check(sqlite3_exec(plain.Handle(), reinterpret_cast<const char*>(sql.data()), nullptr, nullptr, nullptr));
        plain.Exec("SELECT sqlcipher_export('sealed')");
        plain.Exec("PRAGMA sealed.user_version = " + std::to_string(version));
        plain.Exec("DETACH DATABASE sealed");
    }
    // 2. Every whole blob sealed beside its plain file, under a key kept in
    // the new database; unfinished uploads go (devices send them again).
    {
        SqliteHqStore sealed(sealed_db.string(), pragma);
        HqBlobStore blobs(dir / BLOB_DIR, {}, sealed.BlobKey());
        for (fs::directory_iterator project(dir / BLOB_DIR, ec), end; !ec && project != end; project.increment(ec)) {
            if (!project->is_directory()) continue;
            std::error_code inner;
            for (fs::directory_iterator f(project->path(), inner), fend; !inner && f != fend; f.increment(inner)) {
                const auto& path = f->path();
                if (path.extension() == ".blob") {
                    auto to = path;
                    to += SEALING;
                    blobs.SealFile(path, to, project->path().filename().string(), path.stem().string());
                } else if (path.extension() != SEALING) {
                    ZeroAndRemove(path);
                }
            }
            storage::FsyncDirectory(project->path());
        }
    }
    // 3. The parameters, then the database takes the plain one's place, then
    // the blobs (finished at the next start if cut short here).
    storage::WriteKdfFile(dir / KDF_FILE, params);
    fs::remove(dir / KDF_NEW_FILE, ec);
    for (const char* suffix : {"-wal", "-shm"}) ZeroAndRemove(db.string() + suffix);
    // The plain database keeps a second name while the encrypted one takes
    // its place (atomically), so its pages can be overwritten after.
    if (::link(db.c_str(), (dir / PLAIN_LEFT).c_str()) != 0)
        throw std::runtime_error("cannot link " + db.string() + ": " + std::strerror(errno));
    storage::RenameDurably(sealed_db, db);
    ZeroAndRemove(dir / PLAIN_LEFT);
    FinishSealing(dir / BLOB_DIR);
}

void BackupHqData(const fs::path& dir, const HqKeySource& key, const fs::path& out) {
    std::error_code ec;
    if (fs::exists(out, ec)) throw HqAtRestError(errc::HQ_BACKUP_EXISTS, PathParam(out));
    auto store = OpenHqStore(dir, key); // refuses a wrong key before anything is written
    fs::create_directories(out, ec);
    if (ec) throw HqAtRestError(errc::CANNOT_CREATE_DIRECTORY, PathParam(out));
    ::chmod(out.c_str(), 0700);
    store->BackupTo((out / DB_FILE).string());
    store.reset();
    fs::copy_file(dir / KDF_FILE, out / KDF_FILE);
    ::chmod((out / KDF_FILE).c_str(), 0600);
    // Whole blobs only: a file is complete once it has its name, and never
    // changes after (an erasure removes it).
    for (fs::directory_iterator project(dir / BLOB_DIR, ec), end; !ec && project != end; project.increment(ec)) {
        if (!project->is_directory()) continue;
        const auto to = out / BLOB_DIR / project->path().filename();
        fs::create_directories(to);
        ::chmod((out / BLOB_DIR).c_str(), 0700);
        ::chmod(to.c_str(), 0700);
        std::error_code inner;
        for (fs::directory_iterator f(project->path(), inner), fend; !inner && f != fend; f.increment(inner)) {
            if (f->path().extension() != ".blob") continue;
            std::error_code copy_ec;
            fs::copy_file(f->path(), to / f->path().filename(), copy_ec);
            // Erased meanwhile: the backup's database may still name it, as a device's would.
            if (copy_ec && fs::exists(f->path())) throw std::runtime_error("cannot copy " + f->path().string());
        }
        storage::FsyncDirectory(to);
    }
    storage::FsyncDirectory(out);
}

storage::SecretBytes HqRawKey(const fs::path& dir, const HqKeySource& source) {
    const auto params = ReadParams(dir, KDF_FILE);
    if (!params) throw HqAtRestError(errc::HQ_KEY_PARAMS_BROKEN, {{"path", dir.string()}, {"file", KDF_FILE}});
    const auto key = DeriveHqKey(source, *params, dir);
    if (!KeyMatches(key, *params)) throw HqAtRestError(errc::HQ_WRONG_KEY, PathParam(dir), 3);
    return key.PragmaValue(*params);
}

void WriteNewKeyFile(const fs::path& path) {
    storage::EnsureSodium();
    const Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.Get() < 0) {
        if (errno == EEXIST) throw HqAtRestError(errc::HQ_KEY_FILE_EXISTS, PathParam(path));
        throw HqAtRestError(errc::HQ_KEY_FILE_UNREADABLE, PathParam(path));
    }
    storage::SecretBytes raw(32);
    randombytes_buf(raw.data(), raw.size());
    auto text = storage::HexEncodeSecret(raw.data(), raw.size());
    text.push_back('\n');
    if (::fchmod(fd.Get(), 0600) != 0 ||
        ::write(fd.Get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) || ::fsync(fd.Get()) != 0)
        throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
}

} // namespace escucha::sync
