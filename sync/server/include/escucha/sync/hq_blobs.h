// Blobs at headquarters: content-addressed by SHA-256, received in chunks so
// an upload cut at 90% resumes at 90%. Files live under DIR/<project>/.
//
// Thread contract: thread-safe (one mutex).
// Errors: std::runtime_error for disk failures; refusals are values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>

namespace escucha::sync {

/// True for 64 lower-case hex digits: the only names a blob may have.
[[nodiscard]] bool IsSha256Hex(const std::string& text);

struct BlobStatus {
    int64_t have = 0;     ///< bytes received and on disk
    bool complete = false;
    int64_t size = 0;     ///< when complete
};

enum class AppendResult { Appended, Completed, WrongOffset, HashMismatch, TooLarge };

class HqBlobStore {
public:
    static constexpr int64_t MAX_BLOB_BYTES = 8LL * 1024 * 1024 * 1024;
    explicit HqBlobStore(std::filesystem::path dir);

    [[nodiscard]] BlobStatus Status(const std::string& project_id, const std::string& sha256);
    /// Appends `data` at `offset` (which must be what Status says it has);
    /// when the file reaches `total` bytes its hash is checked.
    AppendResult Append(const std::string& project_id, const std::string& sha256, int64_t offset, int64_t total,
                        const std::string& data, BlobStatus& after);
    [[nodiscard]] std::filesystem::path PathOf(const std::string& project_id, const std::string& sha256) const;

private:
    std::filesystem::path m_dir;
    std::mutex m_mutex;
};

} // namespace escucha::sync
