#include "escucha/sync/hq_blobs.h"

#include "escucha/storage/fsutil.h"
#include "escucha/storage/secret.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <vector>

namespace escucha::sync {

namespace fs = std::filesystem;

bool IsSha256Hex(const std::string& text) {
    if (text.size() != 64) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

HqBlobStore::HqBlobStore(fs::path dir) : m_dir(std::move(dir)) {}

fs::path HqBlobStore::PathOf(const std::string& project_id, const std::string& sha256) const {
    // Both names are checked (UUID, hex) before they get here: no path tricks.
    return m_dir / project_id / (sha256 + ".blob");
}

BlobStatus HqBlobStore::Status(const std::string& project_id, const std::string& sha256) {
    std::lock_guard lock(m_mutex);
    std::error_code ec;
    const auto done = PathOf(project_id, sha256);
    if (fs::exists(done, ec)) {
        const auto size = static_cast<int64_t>(fs::file_size(done));
        return {size, true, size};
    }
    auto part = done;
    part += ".part";
    if (fs::exists(part, ec)) return {static_cast<int64_t>(fs::file_size(part)), false, 0};
    return {};
}

namespace {

std::string Sha256OfFile(const fs::path& path) {
    storage::EnsureSodium();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot read " + path.string());
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    std::vector<unsigned char> buffer(1 << 20);
    ssize_t n;
    while ((n = ::read(fd, buffer.data(), buffer.size())) > 0)
        crypto_hash_sha256_update(&state, buffer.data(), static_cast<unsigned long long>(n));
    ::close(fd);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&state, digest);
    return storage::HexEncode(digest, sizeof digest);
}

} // namespace

AppendResult HqBlobStore::Append(const std::string& project_id, const std::string& sha256, int64_t offset,
                                 int64_t total, const std::string& data, BlobStatus& after) {
    std::lock_guard lock(m_mutex);
    const auto done = PathOf(project_id, sha256);
    auto part = done;
    part += ".part";
    std::error_code ec;
    if (fs::exists(done, ec)) {
        const auto size = static_cast<int64_t>(fs::file_size(done));
        after = {size, true, size};
        return AppendResult::Completed;
    }
    if (total > MAX_BLOB_BYTES || offset + static_cast<int64_t>(data.size()) > total) return AppendResult::TooLarge;
    fs::create_directories(done.parent_path());
    const int64_t have = fs::exists(part, ec) ? static_cast<int64_t>(fs::file_size(part)) : 0;
    if (offset != have) {
        after = {have, false, 0};
        return AppendResult::WrongOffset;
    }
    const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write " + part.string() + ": " + std::strerror(errno));
    size_t written = 0;
    while (written < data.size()) {
        const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
        if (n <= 0) {
            ::close(fd);
            throw std::runtime_error("cannot write " + part.string() + ": " + std::strerror(errno));
        }
        written += static_cast<size_t>(n);
    }
    // "have" is a promise: what it counts is on disk.
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced) throw std::runtime_error("cannot sync " + part.string());
    const int64_t now = have + static_cast<int64_t>(data.size());
    after = {now, false, 0};
    if (now < total) return AppendResult::Appended;
    if (Sha256OfFile(part) != sha256) {
        fs::remove(part, ec);
        after = {0, false, 0};
        return AppendResult::HashMismatch;
    }
    storage::RenameDurably(part, done);
    after = {now, true, now};
    return AppendResult::Completed;
}

} // namespace escucha::sync
