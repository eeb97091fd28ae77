#include "escucha/sync/hq_blobs.h"

#include "escucha/storage/fsutil.h"
#include "escucha/storage/secret.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
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

/// An exclusive flock on a project folder's lock file while it lives. Several
/// escucha-hq over one PostgreSQL database share the blob folder
/// (docs/decisions/0020-hq-postgresql.md): they take turns on a project's
/// uploads, so no two write one unfinished upload, and quotas count what
/// all of them wrote.
class FolderLock {
public:
    explicit FolderLock(const fs::path& dir) {
        const auto path = dir / ".lock";
        m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (m_fd < 0) throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
        while (::flock(m_fd, LOCK_EX) != 0) {
            if (errno == EINTR) continue;
            const int error = errno;
            ::close(m_fd);
            throw std::runtime_error("cannot lock " + path.string() + ": " + std::strerror(error));
        }
    }
    ~FolderLock() { ::close(m_fd); } // closing releases the lock
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

private:
    int m_fd = -1;
};

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

/// A file descriptor, closed when it goes.
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

// Sealed files: MAGIC, the blob's size (8 bytes, little-endian), then chunks
// of CHUNK bytes of the blob (the last one shorter), each as a random nonce
// and its XChaCha20-Poly1305 ciphertext. Every chunk's associated data is
// MAGIC, the size, its index, the project and the blob's name: it opens only
// in its own place of its own blob, and the size in the header cannot be
// changed unseen (every chunk would fail).
constexpr char MAGIC[8] = {'E', 'S', 'C', 'H', 'Q', 'B', '0', '1'};
constexpr size_t HEADER = sizeof MAGIC + 8;
constexpr size_t CHUNK = 64 * 1024;
constexpr size_t NONCE = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t TAG = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t SLOT = NONCE + CHUNK + TAG;

int64_t SealedSize(int64_t plain) {
    const int64_t rest = plain % static_cast<int64_t>(CHUNK);
    return static_cast<int64_t>(HEADER) + plain / static_cast<int64_t>(CHUNK) * static_cast<int64_t>(SLOT) +
           (rest ? static_cast<int64_t>(NONCE + TAG) + rest : 0);
}

std::runtime_error Damaged(const fs::path& path, const std::string& why) {
    return std::runtime_error("blob file " + path.filename().string() + " is damaged: " + why);
}

/// Reads exactly `size` bytes at `offset`; false at the end of the file.
bool ReadAt(int fd, void* out, size_t size, int64_t offset) {
    size_t got = 0;
    while (got < size) {
        const ssize_t n = ::pread(fd, static_cast<char*>(out) + got, size - got, offset + static_cast<int64_t>(got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error(std::string("cannot read a blob: ") + std::strerror(errno));
        if (n == 0) return false;
        got += static_cast<size_t>(n);
    }
    return true;
}

void WriteAt(int fd, const void* data, size_t size, int64_t offset, const fs::path& path) {
    size_t done = 0;
    while (done < size) {
        const ssize_t n =
            ::pwrite(fd, static_cast<const char*>(data) + done, size - done, offset + static_cast<int64_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
        done += static_cast<size_t>(n);
    }
}

void PutLe64(unsigned char* out, uint64_t value) {
    for (size_t i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}

uint64_t GetLe64(const unsigned char* in) {
    uint64_t value = 0;
    for (size_t i = 0; i < 8; ++i) value |= static_cast<uint64_t>(in[i]) << (8 * i);
    return value;
}

/// Seals and opens the chunks of one blob.
class Sealer {
public:
    Sealer(const storage::SecretBytes& key, const std::string& project_id, const std::string& sha256, int64_t total)
        : m_key(key), m_ad(sizeof MAGIC + 8, '\0') {
        std::memcpy(m_ad.data(), MAGIC, sizeof MAGIC);
        PutLe64(reinterpret_cast<unsigned char*>(m_ad.data() + sizeof MAGIC), static_cast<uint64_t>(total));
        m_ad += project_id + "/" + sha256;
    }

    /// `size` bytes of chunk `index` as they go on disk.
    void Seal(uint64_t index, const unsigned char* plain, size_t size, std::vector<unsigned char>& out) const {
        const auto ad = Ad(index);
        out.resize(NONCE + size + TAG);
        randombytes_buf(out.data(), NONCE);
        unsigned long long sealed = 0;
        crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + NONCE, &sealed, plain, size,
                                                   reinterpret_cast<const unsigned char*>(ad.data()), ad.size(),
                                                   nullptr, out.data(), m_key.data());
    }

    /// Opens chunk `index` (`size` bytes on disk) into `plain`; false when it does not authenticate.
    bool Open(uint64_t index, const unsigned char* slot, size_t size, storage::SecretBytes& plain) const {
        if (size < NONCE + TAG) return false;
        const auto ad = Ad(index);
        plain.resize(size - NONCE - TAG);
        unsigned long long opened = 0;
        return crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &opened, nullptr, slot + NONCE, size - NONCE,
                                                          reinterpret_cast<const unsigned char*>(ad.data()), ad.size(),
                                                          slot, m_key.data()) == 0;
    }

private:
    [[nodiscard]] std::string Ad(uint64_t index) const {
        unsigned char le[8];
        PutLe64(le, index);
        return m_ad + std::string(reinterpret_cast<const char*>(le), sizeof le);
    }

    const storage::SecretBytes& m_key;
    std::string m_ad; ///< MAGIC, size, project/sha256; the index follows
};

/// A sealed file's header: its magic and the blob's size; nullopt when not one.
std::optional<int64_t> ReadHeader(int fd) {
    unsigned char header[HEADER];
    if (!ReadAt(fd, header, sizeof header, 0) || std::memcmp(header, MAGIC, sizeof MAGIC) != 0) return std::nullopt;
    const uint64_t size = GetLe64(header + sizeof MAGIC);
    if (size > static_cast<uint64_t>(INT64_MAX / 2)) return std::nullopt;
    return static_cast<int64_t>(size);
}

} // namespace

bool IsSha256Hex(const std::string& text) {
    if (text.size() != 64) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

HqBlobStore::HqBlobStore(fs::path dir, BlobQuota quota, storage::SecretBytes key)
    : m_dir(std::move(dir)), m_quota(quota), m_key(std::move(key)) {
    if (!m_key.empty() && m_key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
        throw std::invalid_argument("a key for blobs has 32 bytes");
    storage::EnsureSodium();
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
        const auto size = WholeSize(done);
        return {size, true, size};
    }
    const auto part = With(done, PART);
    if (fs::exists(part, ec)) return {PartHave(part, project_id, sha256), false, 0};
    return {};
}

int64_t HqBlobStore::WholeSize(const fs::path& path) {
    if (m_key.empty()) return static_cast<int64_t>(fs::file_size(path));
    const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st {};
    if (fd.Get() < 0 || ::fstat(fd.Get(), &st) != 0)
        throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
    const auto total = ReadHeader(fd.Get());
    if (!total) throw Damaged(path, "not a sealed blob");
    if (SealedSize(*total) != static_cast<int64_t>(st.st_size)) throw Damaged(path, "cut short or grown");
    return *total;
}

int64_t HqBlobStore::PartHave(const fs::path& part, const std::string& project_id, const std::string& sha256) {
    if (m_key.empty()) return static_cast<int64_t>(fs::file_size(part));
    const Fd fd(::open(part.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st {};
    if (fd.Get() < 0 || ::fstat(fd.Get(), &st) != 0) return 0;
    const auto total = ReadHeader(fd.Get());
    if (!total) return 0; // its header was never written whole: it starts again
    const auto body = static_cast<uint64_t>(st.st_size) - HEADER;
    const uint64_t full = body / SLOT;
    const size_t rest = body % SLOT;
    int64_t have = static_cast<int64_t>(full * CHUNK);
    if (rest > 0) {
        // The last, short chunk counts when it opens; one cut short by a
        // crash does not, and the device sends its bytes again.
        std::vector<unsigned char> slot(rest);
        storage::SecretBytes plain;
        if (ReadAt(fd.Get(), slot.data(), rest, static_cast<int64_t>(HEADER + full * SLOT)) &&
            Sealer(m_key, project_id, sha256, *total).Open(full, slot.data(), rest, plain))
            have += static_cast<int64_t>(plain.size());
    }
    return have;
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
    if (!m_key.empty()) {
        const Fd sealed(fd);
        const auto total = ReadHeader(fd);
        if (!total) throw Damaged(path, "not a sealed blob");
        if (SealedSize(*total) != static_cast<int64_t>(st.st_size)) throw Damaged(path, "cut short or grown");
        size = *total;
        if (offset < 0 || offset > size) return false;
        // Only the chunks the piece covers are read and opened.
        const Sealer sealer(m_key, project_id, sha256, size);
        const int64_t end = std::min<int64_t>(size, offset + static_cast<int64_t>(max_bytes));
        out.reserve(static_cast<size_t>(end - offset));
        std::vector<unsigned char> slot(SLOT);
        storage::SecretBytes plain;
        for (int64_t at = offset; at < end;) {
            const auto index = static_cast<uint64_t>(at / static_cast<int64_t>(CHUNK));
            const auto chunk_start = static_cast<int64_t>(index * CHUNK);
            const auto chunk_size = static_cast<size_t>(std::min<int64_t>(CHUNK, size - chunk_start));
            const size_t on_disk = chunk_size + NONCE + TAG;
            if (!ReadAt(fd, slot.data(), on_disk, static_cast<int64_t>(HEADER + index * SLOT)) ||
                !sealer.Open(index, slot.data(), on_disk, plain)) {
                out.clear();
                throw Damaged(path, "chunk " + std::to_string(index) + " does not open");
            }
            const auto from = static_cast<size_t>(at - chunk_start);
            const auto n = static_cast<size_t>(std::min<int64_t>(end - at, static_cast<int64_t>(plain.size() - from)));
            out.append(reinterpret_cast<const char*>(plain.data()) + from, n);
            at += static_cast<int64_t>(n);
        }
        return true;
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
    if (!fs::is_directory(done.parent_path(), ec)) return false;
    const FolderLock folder(done.parent_path());
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
    for (fs::directory_iterator project(m_dir, ec), pend; !ec && project != pend; project.increment(ec)) {
        std::error_code dir_ec;
        if (!project->is_directory(dir_ec)) continue;
        const FolderLock folder(project->path());
        std::error_code it_ec;
        for (fs::directory_iterator it(project->path(), it_ec), end; !it_ec && it != end; it.increment(it_ec)) {
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
        for (fs::directory_iterator it(project->path(), it_ec), end; !it_ec && it != end; it.increment(it_ec)) {
            const auto& path = it->path();
            std::error_code exists_ec;
            if (path.extension() == CLAIM && !fs::exists(fs::path(path).replace_extension(), exists_ec)) {
                std::error_code rm;
                fs::remove(path, rm);
            }
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
    MakePrivateDirectory(done.parent_path());
    const FolderLock folder(done.parent_path());
    if (fs::exists(done, ec)) {
        const auto size = WholeSize(done);
        after = {size, true, size};
        return AppendResult::Completed;
    }
    if (total > m_quota.max_blob_bytes || offset + static_cast<int64_t>(data.size()) > total)
        return AppendResult::TooLarge;
    MakePrivateDirectory(done.parent_path());
    const bool started = fs::exists(part, ec);
    const int64_t have = started ? PartHave(part, project_id, sha256) : 0;
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
    if (!m_key.empty()) {
        AppendSealed(part, project_id, sha256, total, data);
    } else {
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
    }
    const int64_t now = have + static_cast<int64_t>(data.size());
    after = {now, false, 0};
    if (now < total) return AppendResult::Appended;
    if (Sha256OfBlob(part, project_id, sha256) != sha256) {
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

void HqBlobStore::AppendSealed(const fs::path& part, const std::string& project_id, const std::string& sha256,
                               int64_t total, const std::string& data) {
    const Fd fd(::open(part.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    struct stat st {};
    if (fd.Get() < 0 || ::fstat(fd.Get(), &st) != 0)
        throw std::runtime_error("cannot write " + part.string() + ": " + std::strerror(errno));
    const Sealer sealer(m_key, project_id, sha256, total);
    std::vector<unsigned char> out;
    int64_t write_at = HEADER;
    uint64_t index = 0;
    storage::SecretBytes chunk; // the short last chunk already there, opened, then what comes
    const auto header_total = st.st_size >= static_cast<off_t>(HEADER) ? ReadHeader(fd.Get()) : std::nullopt;
    if (!header_total) {
        out.resize(HEADER);
        std::memcpy(out.data(), MAGIC, sizeof MAGIC);
        PutLe64(out.data() + sizeof MAGIC, static_cast<uint64_t>(total));
        WriteAt(fd.Get(), out.data(), out.size(), 0, part);
    } else {
        if (*header_total != total) throw Damaged(part, "its size does not match the upload's");
        const auto body = static_cast<uint64_t>(st.st_size) - HEADER;
        index = body / SLOT;
        write_at = static_cast<int64_t>(HEADER + index * SLOT);
        if (const size_t rest = body % SLOT; rest > 0) {
            std::vector<unsigned char> slot(rest);
            if (ReadAt(fd.Get(), slot.data(), rest, write_at)) (void)sealer.Open(index, slot.data(), rest, chunk);
        }
    }
    // The short last chunk is sealed again with what follows it, under a
    // new nonce, in its place; full chunks are never written twice.
    chunk.insert(chunk.end(), data.begin(), data.end());
    std::vector<unsigned char> sealed;
    out.clear();
    for (size_t at = 0; at < chunk.size(); at += CHUNK) {
        sealer.Seal(index++, chunk.data() + at, std::min(CHUNK, chunk.size() - at), sealed);
        out.insert(out.end(), sealed.begin(), sealed.end());
    }
    WriteAt(fd.Get(), out.data(), out.size(), write_at, part);
    // "have" is a promise: what it counts is on disk, and nothing after it.
    if (::ftruncate(fd.Get(), write_at + static_cast<int64_t>(out.size())) != 0 || ::fsync(fd.Get()) != 0)
        throw std::runtime_error("cannot sync " + part.string());
}

std::string HqBlobStore::Sha256OfBlob(const fs::path& path, const std::string& project_id, const std::string& sha256) {
    if (m_key.empty()) return Sha256OfFile(path);
    const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st {};
    if (fd.Get() < 0 || ::fstat(fd.Get(), &st) != 0) throw std::runtime_error("cannot read " + path.string());
    const auto total = ReadHeader(fd.Get());
    if (!total || SealedSize(*total) != static_cast<int64_t>(st.st_size)) return {};
    const Sealer sealer(m_key, project_id, sha256, *total);
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    std::vector<unsigned char> slot(SLOT);
    storage::SecretBytes plain;
    for (uint64_t index = 0; static_cast<int64_t>(index * CHUNK) < *total; ++index) {
        const auto size = static_cast<size_t>(std::min<int64_t>(CHUNK, *total - static_cast<int64_t>(index * CHUNK)));
        if (!ReadAt(fd.Get(), slot.data(), size + NONCE + TAG, static_cast<int64_t>(HEADER + index * SLOT)) ||
            !sealer.Open(index, slot.data(), size + NONCE + TAG, plain))
            return {};
        crypto_hash_sha256_update(&state, plain.data(), plain.size());
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&state, digest);
    return storage::HexEncode(digest, sizeof digest);
}

void HqBlobStore::SealFile(const fs::path& from, const fs::path& to, const std::string& project_id,
                           const std::string& sha256) {
    if (m_key.empty()) throw std::logic_error("SealFile needs a key");
    const Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st {};
    if (in.Get() < 0 || ::fstat(in.Get(), &st) != 0) throw std::runtime_error("cannot read " + from.string());
    const Fd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (out.Get() < 0) throw std::runtime_error("cannot write " + to.string() + ": " + std::strerror(errno));
    const auto total = static_cast<int64_t>(st.st_size);
    unsigned char header[HEADER];
    std::memcpy(header, MAGIC, sizeof MAGIC);
    PutLe64(header + sizeof MAGIC, static_cast<uint64_t>(total));
    WriteAt(out.Get(), header, sizeof header, 0, to);
    const Sealer sealer(m_key, project_id, sha256, total);
    storage::SecretBytes plain(CHUNK);
    std::vector<unsigned char> sealed;
    for (uint64_t index = 0; static_cast<int64_t>(index * CHUNK) < total; ++index) {
        const auto size = static_cast<size_t>(std::min<int64_t>(CHUNK, total - static_cast<int64_t>(index * CHUNK)));
        if (!ReadAt(in.Get(), plain.data(), size, static_cast<int64_t>(index * CHUNK)))
            throw std::runtime_error("cannot read " + from.string());
        sealer.Seal(index, plain.data(), size, sealed);
        WriteAt(out.Get(), sealed.data(), sealed.size(), static_cast<int64_t>(HEADER + index * SLOT), to);
    }
    if (::fsync(out.Get()) != 0) throw std::runtime_error("cannot sync " + to.string());
}

} // namespace escucha::sync
