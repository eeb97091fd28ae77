// Passphrase to vault key: Argon2id (libsodium crypto_pwhash) with a random
// 16-byte salt, giving the raw 256-bit key SQLCipher is keyed with.
//
// The parameters live in `vault.kdf` beside `vault.db` (JSON, no secret in it)
// so they can be raised later without breaking older vaults. The salt is also
// the first 16 bytes of `vault.db`, as SQLCipher writes it there.
#pragma once

#include "escucha/storage/secret.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace escucha::storage {

inline constexpr std::size_t KEY_BYTES = 32;
inline constexpr std::size_t SALT_BYTES = 16;

struct KdfParams {
    std::string algorithm = "argon2id13";
    uint64_t opslimit = 3;
    uint64_t memlimit = 64ull * 1024 * 1024;
    std::array<unsigned char, SALT_BYTES> salt{};
    /// BLAKE2b of the derived key under a fixed context: tells a wrong
    /// passphrase apart from a damaged vault without touching the database.
    std::array<unsigned char, 32> check{};
    /// Read from a file that carries a checksum of these parameters (files
    /// written before it was added do not).
    bool has_digest = false;

    /// Fresh parameters with a random salt (check left empty).
    [[nodiscard]] static KdfParams Fresh();
};

/// The derived key, wiped on destruction.
class VaultKey {
public:
    VaultKey() : m_key(KEY_BYTES) {}
    [[nodiscard]] const unsigned char* Data() const noexcept { return m_key.data(); }
    [[nodiscard]] unsigned char* Data() noexcept { return m_key.data(); }
    /// The PRAGMA key value: x'<key hex><salt hex>'.
    [[nodiscard]] SecretBytes PragmaValue(const KdfParams& params) const;
    /// The check value kept in `vault.kdf`.
    [[nodiscard]] std::array<unsigned char, 32> CheckValue() const;

private:
    SecretBytes m_key;
};

/// Runs Argon2id. Throws std::runtime_error when memory cannot be had.
[[nodiscard]] VaultKey DeriveKey(const Passphrase& passphrase, const KdfParams& params);

/// Reads `vault.kdf`. Returns nullopt when absent; throws std::runtime_error,
/// with the reason in words, when it is present but unreadable or invalid, or
/// its parameters do not match the checksum written with them (edited).
[[nodiscard]] std::optional<KdfParams> ReadKdfFile(const std::filesystem::path& path);
/// Writes atomically: a temporary file, fsync, rename, fsync of the directory.
void WriteKdfFile(const std::filesystem::path& path, const KdfParams& params);

} // namespace escucha::storage
