// Encrypted files of the vault (recordings, photos) in DIR/blobs/.
//
// Each blob is encrypted with libsodium's secretstream (XChaCha20-Poly1305) in
// 64 KiB chunks under a random blob key kept inside the encrypted database, so
// changing the passphrase does not touch them. A blob is named on disk by a
// random id; its SHA-256 (of the plaintext, for sync) lives only in the
// database. A crash while writing keeps every chunk written before it.
//
// Thread contract: a BlobStore uses its Vault's connection; one thread.
// Errors: std::runtime_error in words.
#pragma once

#include "escucha/storage/vault.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace escucha::storage {

inline constexpr size_t BLOB_CHUNK = 64 * 1024;

struct BlobInfo {
    std::string sha256; ///< lower-case hex of the plaintext
    int64_t size = 0;
    std::string created_at;
    bool uploaded = false;
};

class BlobStore {
public:
    explicit BlobStore(Vault& vault);

    /// Encrypts `read` (called until it returns 0 bytes) into a new blob and
    /// returns it. Storing the same content twice keeps one copy.
    BlobInfo Add(const std::function<size_t(char* buffer, size_t size)>& read);
    BlobInfo AddFile(const std::string& path);
    BlobInfo AddBytes(const std::string& bytes);

    /// Decrypts a blob from `offset` on, in pieces given to `sink` (which
    /// returns false to stop). Throws when the blob is damaged.
    void Read(const std::string& sha256, int64_t offset, const std::function<bool(const char*, size_t)>& sink);
    [[nodiscard]] std::string ReadAll(const std::string& sha256);

    [[nodiscard]] std::optional<BlobInfo> Find(const std::string& sha256);
    [[nodiscard]] std::vector<BlobInfo> List(bool only_not_uploaded = false);
    void MarkUploaded(const std::string& sha256);

private:
    std::string FileOf(const std::string& sha256);
    SecretBytes Key();
    Vault& m_vault;
};

} // namespace escucha::storage
