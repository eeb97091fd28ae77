// The vault: one directory holding everything a device knows, encrypted.
//
//   DIR/vault.db    SQLCipher 3 database (keyed with a raw Argon2id key)
//   DIR/vault.kdf   key-derivation parameters and a key check value (no secret)
//   DIR/blobs/      encrypted files (recordings, photos)
//
// Thread contract: a Vault is one connection; use it from one thread at a
// time (it may be handed to another thread between uses: its connection is
// opened NOMUTEX, docs/decisions/0017). Another thread opens its own Vault
// on the same directory.
//
// Errors: VaultError (with a VaultFailure) for what a person can act on: no
// vault, wrong passphrase, damage. SqliteError escapes for database failures
// after opening; SqliteError::IsDamage() tells damage apart.
#pragma once

#include "escucha/storage/error_code.h"
#include "escucha/storage/kdf.h"
#include "escucha/storage/records.h"
#include "escucha/storage/secret.h"
#include "escucha/storage/sqlite.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace escucha::storage {

enum class VaultFailure {
    NotFound,
    AlreadyExists,
    WrongPassphrase,
    WeakPassphrase,
    Damaged,
    Unreadable,
    PassphraseChangeInterrupted,
};

[[nodiscard]] const char* VaultFailureText(VaultFailure failure);
/// The failure's code in error_code.h (errc::WRONG_PASSPHRASE, ...).
[[nodiscard]] const char* VaultFailureCode(VaultFailure failure);

/// English words (what()), and a code with its parameters (error_code.h;
/// "path" is the vault's directory) for the interfaces to word.
class VaultError : public std::runtime_error {
public:
    /// `code` empty: the failure's own code.
    VaultError(VaultFailure failure, const std::string& detail, Json params = Json::object(), std::string code = {});
    [[nodiscard]] VaultFailure Failure() const noexcept { return m_failure; }
    [[nodiscard]] const std::string& Code() const noexcept { return m_code; }
    [[nodiscard]] const Json& Params() const noexcept { return m_params; }

private:
    VaultFailure m_failure;
    std::string m_code;
    Json m_params;
};

struct VaultOptions {
    std::string author;                          ///< stamped on every record this device writes
    uint64_t kdf_opslimit = 3;                   ///< Argon2id passes
    uint64_t kdf_memlimit = 64ull * 1024 * 1024; ///< Argon2id memory in bytes
    /// The device's wall clock. Devices' clocks are often wrong; tests set
    /// this to prove that nothing depends on them being right.
    HybridLogicalClock::WallClock wall_clock = SystemMillis;
};

inline constexpr size_t MIN_PASSPHRASE_BYTES = 8;

class Vault {
public:
    /// Creates a new vault in `dir` (created if absent; must not hold a vault).
    [[nodiscard]] static Vault Create(const std::filesystem::path& dir, const Passphrase& passphrase,
                                      const Catalogue& catalogue, const VaultOptions& options);
    /// Opens an existing vault. A wrong passphrase changes no byte on disk.
    [[nodiscard]] static Vault Open(const std::filesystem::path& dir, const Passphrase& passphrase,
                                    const Catalogue& catalogue,
                                    HybridLogicalClock::WallClock wall_clock = SystemMillis);
    [[nodiscard]] static bool Exists(const std::filesystem::path& dir);
    /// A second connection to this open vault, for another thread, with the
    /// key already derived (no passphrase, no second Argon2id). Call it on
    /// this vault's thread; the result may then move to the other one.
    [[nodiscard]] Vault OpenAnother(HybridLogicalClock::WallClock wall_clock = SystemMillis) const;

    Vault(Vault&&) noexcept;
    Vault& operator=(Vault&&) noexcept;
    ~Vault();

    [[nodiscard]] RecordStore& Records();
    [[nodiscard]] Database& Db();
    [[nodiscard]] const std::filesystem::path& Dir() const;
    [[nodiscard]] std::string DeviceId() const;
    [[nodiscard]] std::string Author() const;

    /// Settings kept inside the vault (encrypted): sync server, token, cursor.
    [[nodiscard]] std::optional<std::string> GetMeta(const std::string& key);
    void SetMeta(const std::string& key, const std::string& value);
    /// Every setting whose key starts with `prefix`, by key.
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> MetaWithPrefix(const std::string& prefix);

    /// Copies the write-ahead log (vault.db-wal) into the database and
    /// truncates it to zero bytes, unless another connection is reading or
    /// writing at this moment: it never waits. True when it did. The window
    /// app calls it when the person has been idle a while; a Vault does it
    /// as it closes (so at lock too), and SQLite's own checkpoints keep the
    /// log's file at most a few MiB in between. It first writes the search
    /// entries that edits left marked (RecordStore::SettleSearchIndex), as
    /// the vault does when it opens and closes.
    bool CheckpointWal() noexcept;

    /// Re-encrypts the vault under a new passphrase (PRAGMA rekey).
    void ChangePassphrase(const Passphrase& new_passphrase);
    /// Reads every page and cross-checks records, index and journal, and
    /// decrypts and hashes every blob (setting aside a damaged one, taking
    /// back one whose file was restored).
    /// Returns the problems found, each with its code (error_code.h: the
    /// "check" codes), parameters and English words; empty when the vault is sound.
    [[nodiscard]] std::vector<ErrorValue> Diagnose();
    /// Diagnose(), the problems in English words.
    [[nodiscard]] std::vector<std::string> Check();
    /// The raw key as SQLCipher takes it (x'…'), for recovery with the
    /// sqlcipher shell. Handle with care: it opens the vault without the passphrase.
    [[nodiscard]] SecretBytes RawKeyForRecovery() const;

private:
    struct Impl;
    explicit Vault(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace escucha::storage
