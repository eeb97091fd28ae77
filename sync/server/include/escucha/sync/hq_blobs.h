// Blobs at headquarters: content-addressed by SHA-256, received in chunks so
// an upload cut at 90% resumes at 90%. Files live under DIR/<project>/, each
// unfinished one with a note of the device that began it and the size it
// claimed, so that no device can fill the disk with uploads it never ends.
//
// Given a key, every file is sealed (docs/decisions/0015-hq-at-rest.md): a
// header with the blob's size, then 64 KiB chunks, each sealed on its own
// with XChaCha20-Poly1305 under a fresh random nonce, its place (project,
// blob, size, index) as associated data. A chunk opens alone, so a download
// from any offset decrypts only the chunks it needs; an unfinished upload's
// last, short chunk is sealed again, under a new nonce, when more comes.
// Without a key (tests in one process) files are plain.
//
// Thread contract: thread-safe (one mutex).
// Errors: std::runtime_error for disk failures; refusals are values.
#pragma once

#include "escucha/storage/secret.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace escucha::sync {

/// True for 64 lower-case hex digits: the only names a blob may have.
[[nodiscard]] bool IsSha256Hex(const std::string& text);

struct BlobStatus {
    int64_t have = 0; ///< bytes received and on disk
    bool complete = false;
    int64_t size = 0; ///< when complete
};

enum class AppendResult {
    Appended,
    Completed,
    WrongOffset,
    HashMismatch,
    TooLarge,
    QuotaExceeded,
    OtherUpload,
    DiskFull
};

struct BlobQuota {
    int64_t max_blob_bytes = 2LL * 1024 * 1024 * 1024;           ///< one recording: hours of WAV
    int pending_per_device = 4;                                  ///< unfinished uploads one device may hold
    int64_t pending_bytes_per_device = 4LL * 1024 * 1024 * 1024; ///< what they claim, together
    int64_t pending_bytes_per_project = 16LL * 1024 * 1024 * 1024;
    int64_t bytes_per_project = 200LL * 1024 * 1024 * 1024; ///< files kept and unfinished, together
    int64_t disk_reserve = 256LL * 1024 * 1024;             ///< free space kept for the database
    std::chrono::seconds stale_after{48 * 3600};            ///< an upload untouched this long is dropped
};

struct BlobUsage {
    std::string project_id;
    int64_t blobs = 0; ///< complete
    int64_t bytes = 0;
    int64_t pending = 0;       ///< unfinished uploads
    int64_t pending_bytes = 0; ///< received of them
    int64_t pending_claimed = 0;
};

class HqBlobStore {
public:
    /// With `key` (32 bytes, SqliteHqStore::BlobKey) files are sealed.
    explicit HqBlobStore(std::filesystem::path dir, BlobQuota quota = {}, storage::SecretBytes key = {});

    [[nodiscard]] BlobStatus Status(const std::string& project_id, const std::string& sha256);
    /// Appends `data` at `offset` (which must be what Status says it has);
    /// when the file reaches `total` bytes its hash is checked. A new upload
    /// is refused (QuotaExceeded) past the device's or the project's quota,
    /// (DiskFull) when it would eat into the free space kept for the
    /// database; an upload begun by one device is continued by it alone
    /// (OtherUpload) until it goes stale.
    AppendResult Append(const std::string& project_id, const std::string& device_id, const std::string& sha256,
                        int64_t offset, int64_t total, const std::string& data, BlobStatus& after);
    /// Up to `max_bytes` of a whole blob from `offset` into `out`, and its
    /// size into `size`. False when the project holds no whole blob `sha256`
    /// (an unfinished upload is not one) or `offset` is past its end.
    bool ReadPiece(const std::string& project_id, const std::string& sha256, int64_t offset, size_t max_bytes,
                   std::string& out, int64_t& size);
    /// Deletes the blob and any unfinished upload of it; true when a file went.
    bool Remove(const std::string& project_id, const std::string& sha256);
    [[nodiscard]] std::filesystem::path PathOf(const std::string& project_id, const std::string& sha256) const;
    /// Seals the plain file `from` as blob `sha256` of `project_id` into
    /// `to` (durably). Throws std::runtime_error. For encrypting a folder of
    /// an earlier version.
    void SealFile(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& project_id,
                  const std::string& sha256);
    /// Removes unfinished uploads untouched for `stale_after`; returns how many.
    int DropStale();
    [[nodiscard]] std::vector<BlobUsage> Usage();
    [[nodiscard]] const BlobQuota& Quota() const noexcept { return m_quota; }

private:
    struct Pending {
        std::string device;
        int64_t total = 0;
        int64_t have = 0;
    };
    std::vector<Pending> PendingIn(const std::filesystem::path& project_dir);
    int DropStaleLocked();

    /// Bytes of blob a complete file holds (its size, or its header's when sealed).
    int64_t WholeSize(const std::filesystem::path& path);
    /// Bytes an unfinished upload holds (whole chunks and a sound last chunk).
    int64_t PartHave(const std::filesystem::path& part, const std::string& project_id, const std::string& sha256);
    void AppendSealed(const std::filesystem::path& part, const std::string& project_id, const std::string& sha256,
                      int64_t total, const std::string& data);
    std::string Sha256OfBlob(const std::filesystem::path& path, const std::string& project_id,
                             const std::string& sha256);

    std::filesystem::path m_dir;
    BlobQuota m_quota;
    storage::SecretBytes m_key;
    std::mutex m_mutex;
    std::chrono::steady_clock::time_point m_last_sweep;
};

} // namespace escucha::sync
