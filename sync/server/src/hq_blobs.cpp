#include "escucha/sync/hq_blobs.h"

#include "escucha/storage/fsutil.h"
#include "escucha/storage/secret.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace escucha::sync {

namespace fs = std::filesystem;

namespace {

constexpr char PART[] = ".part";
constexpr char CLAIM[] = ".claim"; ///< beside a .part: "<device id> <claimed size>"

fs::path With(fs::path path, const char* suffix) {
    path += suffix;
    return path;
}

/// Creates a folder (and its parents) that only this user may enter.
void MakePrivateDirectory(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
}

void WriteSmallFile(const fs::path& path, const std::string& text) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write " + path.string());
}

} // namespace

bool IsSha256Hex(const std::string& text) {
    if (text.size() != 64) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

HqBlobStore::HqBlobStore(fs::path dir, BlobQuota quota) : m_dir(std::move(dir)), m_quota(quota) {
    MakePrivateDirectory(m_dir);
    std::lock_guard lock(m_mutex);
    DropStaleLocked();
    m_last_sweep = std::chrono::steady_clock::now();
}

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
    const auto part = With(done, PART);
    if (fs::exists(part, ec)) return {static_cast<int64_t>(fs::file_size(part)), false, 0};
    return {};
}

bool HqBlobStore::ReadPiece(const std::string& project_id, const std::string& sha256, int64_t offset, size_t max_bytes,
                            std::string& out, int64_t& size) {
    out.clear();
    // A whole blob only: an unfinished one is renamed into place when done.
    // The lock orders the open with Remove; reading needs no lock.
    const auto path = PathOf(project_id, sha256);
    int fd = -1, open_errno = 0;
    {
        std::lock_guard lock(m_mutex);
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        open_errno = errno;
    }
    if (fd < 0) {
        if (open_errno == ENOENT || open_errno == ENOTDIR) return false;
        throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(open_errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return false;
    }
    size = static_cast<int64_t>(st.st_size);
    if (offset < 0 || offset > size) {
        ::close(fd);
        return false;
    }
    out.resize(static_cast<size_t>(std::min<int64_t>(size - offset, static_cast<int64_t>(max_bytes))));
    size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::pread(fd, out.data() + got, out.size() - got, offset + static_cast<int64_t>(got));
        if (n <= 0) {
            const int error = n < 0 ? errno : EIO;
            ::close(fd);
            out.clear();
            throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(error));
        }
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    return true;
}

bool HqBlobStore::Remove(const std::string& project_id, const std::string& sha256) {
    std::lock_guard lock(m_mutex);
    const auto done = PathOf(project_id, sha256);
    const auto part = With(done, PART);
    std::error_code ec;
    bool removed = fs::remove(done, ec);
    removed = fs::remove(part, ec) || removed;
    fs::remove(With(part, CLAIM), ec);
    return removed;
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

std::vector<HqBlobStore::Pending> HqBlobStore::PendingIn(const fs::path& project_dir) {
    std::vector<Pending> out;
    std::error_code ec;
    for (fs::directory_iterator it(project_dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& path = it->path();
        if (path.extension() != CLAIM) continue;
        std::ifstream in(path);
        Pending p;
        in >> p.device >> p.total;
        const auto part = fs::path(path).replace_extension();
        std::error_code size_ec;
        p.have = static_cast<int64_t>(fs::file_size(part, size_ec));
        if (size_ec) p.have = 0;
        out.push_back(std::move(p));
    }
    return out;
}

int HqBlobStore::DropStaleLocked() {
    int dropped = 0;
    std::error_code ec;
    const auto now = fs::file_time_type::clock::now();
    for (fs::recursive_directory_iterator it(m_dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& path = it->path();
        if (path.extension() != PART) continue;
        std::error_code time_ec;
        const auto touched = fs::last_write_time(path, time_ec);
        if (time_ec || now - touched < m_quota.stale_after) continue;
        std::error_code rm;
        fs::remove(path, rm);
        fs::remove(With(path, CLAIM), rm);
        ++dropped;
    }
    // A claim whose upload is gone (a crash between the two files) goes too.
    for (fs::recursive_directory_iterator it(m_dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& path = it->path();
        std::error_code exists_ec;
        if (path.extension() == CLAIM && !fs::exists(fs::path(path).replace_extension(), exists_ec)) {
            std::error_code rm;
            fs::remove(path, rm);
        }
    }
    return dropped;
}

int HqBlobStore::DropStale() {
    std::lock_guard lock(m_mutex);
    return DropStaleLocked();
}

std::vector<BlobUsage> HqBlobStore::Usage() {
    std::lock_guard lock(m_mutex);
    std::vector<BlobUsage> out;
    std::error_code ec;
    for (fs::directory_iterator it(m_dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_directory()) continue;
        BlobUsage u;
        u.project_id = it->path().filename().string();
        std::error_code inner;
        for (fs::directory_iterator f(it->path(), inner), fend; !inner && f != fend; f.increment(inner)) {
            std::error_code size_ec;
            if (f->path().extension() == ".blob") {
                ++u.blobs;
                u.bytes += static_cast<int64_t>(fs::file_size(f->path(), size_ec));
            }
        }
        for (const auto& p : PendingIn(it->path())) {
            ++u.pending;
            u.pending_bytes += p.have;
            u.pending_claimed += p.total;
        }
        out.push_back(std::move(u));
    }
    return out;
}

AppendResult HqBlobStore::Append(const std::string& project_id, const std::string& device_id, const std::string& sha256,
                                 int64_t offset, int64_t total, const std::string& data, BlobStatus& after) {
    std::lock_guard lock(m_mutex);
    if (std::chrono::steady_clock::now() - m_last_sweep > std::chrono::minutes(1)) {
        DropStaleLocked();
        m_last_sweep = std::chrono::steady_clock::now();
    }
    const auto done = PathOf(project_id, sha256);
    const auto part = With(done, PART);
    const auto claim = With(part, CLAIM);
    std::error_code ec;
    if (fs::exists(done, ec)) {
        const auto size = static_cast<int64_t>(fs::file_size(done));
        after = {size, true, size};
        return AppendResult::Completed;
    }
    if (total > m_quota.max_blob_bytes || offset + static_cast<int64_t>(data.size()) > total)
        return AppendResult::TooLarge;
    MakePrivateDirectory(done.parent_path());
    const bool started = fs::exists(part, ec);
    const int64_t have = started ? static_cast<int64_t>(fs::file_size(part)) : 0;
    if (offset != have) {
        after = {have, false, 0};
        return AppendResult::WrongOffset;
    }
    if (started) {
        // Whoever resumes it, an upload keeps the size it was begun with.
        std::ifstream in(claim);
        std::string owner;
        int64_t claimed = -1;
        in >> owner >> claimed;
        if (!owner.empty() && owner != device_id) {
            after = {have, false, 0};
            return AppendResult::OtherUpload;
        }
        if (claimed >= 0 && claimed != total) return AppendResult::TooLarge;
    } else {
        int mine = 0;
        // What unfinished uploads will still write counts as used disk.
        int64_t mine_bytes = 0, project_bytes = 0, promised = total;
        for (const auto& p : PendingIn(done.parent_path())) {
            project_bytes += p.total;
            promised += std::max<int64_t>(0, p.total - p.have);
            if (p.device == device_id) {
                ++mine;
                mine_bytes += p.total;
            }
        }
        if (mine + 1 > m_quota.pending_per_device || mine_bytes + total > m_quota.pending_bytes_per_device ||
            project_bytes + total > m_quota.pending_bytes_per_project)
            return AppendResult::QuotaExceeded;
        int64_t kept = 0;
        std::error_code list_ec;
        for (fs::directory_iterator it(done.parent_path(), list_ec), end; !list_ec && it != end;
             it.increment(list_ec)) {
            std::error_code size_ec;
            if (it->path().extension() == ".blob") kept += static_cast<int64_t>(fs::file_size(it->path(), size_ec));
        }
        if (kept + project_bytes + total > m_quota.bytes_per_project) return AppendResult::QuotaExceeded;
        struct statvfs disk {};
        if (::statvfs(m_dir.c_str(), &disk) == 0 &&
            static_cast<int64_t>(disk.f_bavail) * static_cast<int64_t>(disk.f_frsize) - promised < m_quota.disk_reserve)
            return AppendResult::DiskFull;
        WriteSmallFile(claim, device_id + " " + std::to_string(total) + "\n");
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
        fs::remove(claim, ec);
        after = {0, false, 0};
        return AppendResult::HashMismatch;
    }
    storage::RenameDurably(part, done);
    fs::remove(claim, ec);
    after = {now, true, now};
    return AppendResult::Completed;
}

} // namespace escucha::sync
