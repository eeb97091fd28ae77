// Encrypted files of the vault (recordings, photos) in DIR/blobs/.
//
// Each blob is encrypted with libsodium's secretstream (XChaCha20-Poly1305) in
// 64 KiB chunks under a random blob key kept inside the encrypted database, so
// changing the passphrase does not touch them. A blob is named on disk by a
// random id; its SHA-256 (of the plaintext, for sync) lives only in the
// database. A crash while writing keeps every chunk written before it.
//
// A blob that fails decryption or its hash is set aside (quarantined): marked
// damaged with the reason, never retried by sync, its file kept as it is for
// recovery.
//
// Thread contract: a BlobStore uses its Vault's connection; one thread.
// Errors: BlobDamaged when a blob's file is missing or fails authentication;
// std::runtime_error in words for anything else.
#pragma once

#include "escucha/storage/vault.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace escucha::storage {

inline constexpr size_t BLOB_CHUNK = 64 * 1024;

struct BlobInfo {
    std::string sha256; ///< lower-case hex of the plaintext
    int64_t size = 0;
    std::string created_at;
    bool uploaded = false;
    std::string damaged; ///< why it was set aside; empty for a sound blob
    std::string file;    ///< its file's name in DIR/blobs/
};

/// A blob's file is missing, cut short or fails authentication.
class BlobDamaged : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
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
    /// returns false to stop). Throws BlobDamaged when the blob is damaged.
    void Read(const std::string& sha256, int64_t offset, const std::function<bool(const char*, size_t)>& sink);
    [[nodiscard]] std::string ReadAll(const std::string& sha256);
    /// Decrypts the whole blob and compares its size and SHA-256 with what the
    /// vault recorded. Returns what is wrong, in words, or nullopt.
    [[nodiscard]] std::optional<std::string> Verify(const std::string& sha256);

    [[nodiscard]] std::optional<BlobInfo> Find(const std::string& sha256);
    /// Every blob; with `only_waiting`, those still to upload that are not set aside.
    [[nodiscard]] std::vector<BlobInfo> List(bool only_waiting = false);
    /// Blobs set aside as damaged.
    [[nodiscard]] std::vector<BlobInfo> ListDamaged();
    void MarkUploaded(const std::string& sha256);
    /// Sets a blob aside: sync no longer sends it, its file stays for recovery.
    void MarkDamaged(const std::string& sha256, const std::string& why);
    /// Takes a blob back after its file was restored (Verify found it sound).
    void MarkSound(const std::string& sha256);

private:
    std::string FileOf(const std::string& sha256);
    SecretBytes Key();
    Vault& m_vault;
};

} // namespace escucha::storage
