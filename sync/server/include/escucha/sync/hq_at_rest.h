// Headquarters' data directory at rest (docs/decisions/0015-hq-at-rest.md).
//
// DIR/hq.db is SQLCipher, keyed with a server key given at start: a key file
// (mode 0600 or stricter, owned by the user running escucha-hq) or a
// passphrase (Argon2id, as on devices). DIR/hq.kdf beside it holds the kind
// of key, the salt and a check value (no secret), so a wrong key is told
// apart from damage before the database is touched: a wrong key writes
// nothing. Blobs in DIR/blobs/ are sealed chunk by chunk (hq_blobs.h) under a
// random key kept inside hq.db, so a change of key re-encrypts the database
// only. DIR/hq.lock is held, exclusively, by the one process that serves DIR
// or changes its key.
//
// Thread contract: free functions and a lock object; call them from one
// thread (the process's start-up).
// Errors: HqAtRestError (a code of storage/error_code.h and its parameters)
// for refusals a person must act on; std::runtime_error for the rest.
#pragma once

#include "escucha/sync/hq_blobs.h"
#include "escucha/sync/hq_store.h"

#include "escucha/storage/kdf.h"
#include "escucha/storage/secret.h"

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace escucha::sync {

/// A refusal about the key or the data directory, as a code and its parameters.
class HqAtRestError : public std::runtime_error {
public:
    /// `exit_code`: 3 for a key that does not open the data, 2 otherwise.
    HqAtRestError(const char* code, Json params = Json::object(), int exit_code = 2);
    [[nodiscard]] const char* Code() const noexcept { return what(); }
    [[nodiscard]] const Json& Params() const noexcept { return m_params; }
    [[nodiscard]] int ExitCode() const noexcept { return m_exit; }

private:
    Json m_params;
    int m_exit;
};

/// Where the server key comes from: a key file or a passphrase, one of them.
struct HqKeySource {
    std::filesystem::path key_file;
    storage::Passphrase passphrase;
    /// The cost of Argon2id for a new passphrase (the device's defaults).
    uint64_t opslimit = 3;
    uint64_t memlimit = 64ull * 1024 * 1024;
    [[nodiscard]] bool Empty() const noexcept { return key_file.empty() && passphrase.Empty(); }
};

/// The key source given by `key_file` (an option's value, may be empty) or
/// the environment variable `passphrase_variable`, which is wiped from the
/// environment once read. Throws HqAtRestError when both are given.
[[nodiscard]] HqKeySource KeySourceFrom(const std::string& key_file, const char* passphrase_variable);

/// An exclusive lock (flock) on DIR/hq.lock, held until this object goes or
/// the process ends, however it ends.
class DataDirLock {
public:
    /// Throws HqAtRestError(HQ_DIRECTORY_IN_USE) when another process holds it.
    explicit DataDirLock(const std::filesystem::path& dir);
    ~DataDirLock();
    DataDirLock(const DataDirLock&) = delete;
    DataDirLock& operator=(const DataDirLock&) = delete;

private:
    int m_fd = -1;
};

/// Creates DIR (0700) when absent, and makes the files an earlier version
/// may have left readable by others this user's alone.
void PrepareDataDir(const std::filesystem::path& dir);

/// Opens DIR's store with the key, creating an encrypted one when DIR holds
/// none. A wrong key, a key of the other kind, or a store from an earlier
/// version that is not encrypted is refused before any file is written.
/// Finishes a change of key that was cut short after the database changed.
[[nodiscard]] std::unique_ptr<SqliteHqStore> OpenHqStore(const std::filesystem::path& dir, const HqKeySource& key);

/// DIR/blobs/, sealed with the key `store` keeps for blobs.
[[nodiscard]] std::unique_ptr<HqBlobStore> OpenHqBlobs(const std::filesystem::path& dir, HqStore& store,
                                                       BlobQuota quota = {});

/// Puts DIR under the key `next`: hq.kdf.new is written first, then the
/// database re-encrypted, then hq.kdf replaced, so an interruption anywhere
/// leaves one of the two keys working. Hold a DataDirLock.
void RekeyHqData(const std::filesystem::path& dir, const HqKeySource& current, const HqKeySource& next);

/// Encrypts, in place, a data directory an earlier version wrote in plain:
/// the database through SQLCipher, every whole blob sealed; unfinished
/// uploads are dropped (devices send them again). The plain files are
/// overwritten with zeros before they go. Hold a DataDirLock.
void EncryptHqData(const std::filesystem::path& dir, const HqKeySource& key);

/// Copies DIR into the new folder `out`, while escucha-hq may be serving
/// it: hq.db through SQLite's online backup (a snapshot, still encrypted
/// under the same key), hq.kdf, and every whole blob (sealed as they are;
/// unfinished uploads are left, devices send them again). `out` then
/// serves as a data directory with the same key. Throws HqAtRestError
/// (HQ_BACKUP_EXISTS when `out` exists) or std::runtime_error.
void BackupHqData(const std::filesystem::path& dir, const HqKeySource& key, const std::filesystem::path& out);

/// SQLCipher's raw key value for DIR's hq.db (x'<key><salt>'), for a
/// person who opens it with the `sqlcipher` shell (`PRAGMA key = "..."`,
/// `PRAGMA cipher_page_size = 4096`). Throws HqAtRestError for a wrong key.
[[nodiscard]] storage::SecretBytes HqRawKey(const std::filesystem::path& dir, const HqKeySource& key);

/// The server key from `source` under `params`: a key file hashed with the
/// salt, a passphrase through Argon2id. For stores that keep `params`
/// elsewhere than hq.kdf (PostgreSQL); `where` names the data in refusals.
/// Throws HqAtRestError (HQ_KEY_KIND when `source` is of the other kind).
[[nodiscard]] storage::VaultKey DeriveServerKey(const HqKeySource& source, const storage::KdfParams& params,
                                                const std::string& where);
/// Parameters, with a fresh salt, for a new key of the kind `source` gives
/// (check left empty). Throws HqAtRestError for a passphrase too short.
[[nodiscard]] storage::KdfParams NewServerKeyParams(const HqKeySource& source);
/// Whether `key`, derived from `source`, is the one `params` was made for.
[[nodiscard]] bool ServerKeyMatches(const HqKeySource& source, const storage::VaultKey& key,
                                    const storage::KdfParams& params);

/// Writes 32 random bytes, in hex, to a new file of mode 0600. Never
/// overwrites: throws HqAtRestError(HQ_KEY_FILE_EXISTS).
void WriteNewKeyFile(const std::filesystem::path& path);

} // namespace escucha::sync
