#include "escucha/storage/blobs.h"

#include "escucha/storage/clock.h"
#include "escucha/storage/fsutil.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

namespace escucha::storage {

namespace fs = std::filesystem;

namespace {

// Format 1: one secretstream of 64 KiB chunks under the vault's blob key.
constexpr size_t CIPHER_CHUNK = BLOB_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr char MAGIC[8] = {'E', 'S', 'C', 'B', 'L', 'O', 'B', '1'};

// Format 2: MAGIC2, a random 16-byte nonce prefix, then chunks of
// BLOB_CHUNK_PLAIN bytes sealed one by one. A chunk's plaintext is its start
// offset (8 bytes, little-endian), how many bytes it carries (2), those
// bytes, and zeros up to its size.
constexpr char MAGIC2[8] = {'E', 'S', 'C', 'B', 'L', 'O', 'B', '2'};
constexpr size_t PREFIX_BYTES = 16;
constexpr size_t HEADER2 = sizeof MAGIC2 + PREFIX_BYTES;
constexpr size_t CHUNK_HEAD = 10;
constexpr size_t CHUNK_CAPACITY = BLOB_CHUNK_PLAIN - CHUNK_HEAD;
constexpr size_t SEALED_CHUNK = BLOB_CHUNK_PLAIN + crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(CHUNK_CAPACITY < 65536);

void PutLe(unsigned char* out, uint64_t value, size_t bytes) {
    for (size_t i = 0; i < bytes; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}
uint64_t GetLe(const unsigned char* in, size_t bytes) {
    uint64_t value = 0;
    for (size_t i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(in[i]) << (8 * i);
    return value;
}

/// A chunk's nonce (prefix and index) and associated data (format, index,
/// and whether it is the last): a chunk opens only in its own place.
struct ChunkSeal {
    unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    unsigned char ad[sizeof MAGIC2 + 9];
    ChunkSeal(const unsigned char* prefix, uint64_t index, bool last) {
        static_assert(sizeof nonce == PREFIX_BYTES + 8);
        std::memcpy(nonce, prefix, PREFIX_BYTES);
        PutLe(nonce + PREFIX_BYTES, index, 8);
        std::memcpy(ad, MAGIC2, sizeof MAGIC2);
        PutLe(ad + sizeof MAGIC2, index, 8);
        ad[sizeof ad - 1] = last ? 1 : 0;
    }
};

class File {
public:
    File(const fs::path& path, int flags) : m_fd(::open(path.c_str(), flags | O_CLOEXEC, 0600)), m_path(path) {
        if (m_fd < 0) throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
    }
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    ~File() {
        if (m_fd >= 0) ::close(m_fd);
    }
    void Write(const void* data, size_t size) {
        const auto* p = static_cast<const char*>(data);
        while (size) {
            const ssize_t n = ::write(m_fd, p, size);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw std::runtime_error("cannot write " + m_path.string() + ": " + std::strerror(errno));
            p += n;
            size -= static_cast<size_t>(n);
        }
    }
    /// Reads up to `size` bytes; fewer only at the end of the file.
    size_t Read(void* data, size_t size) {
        auto* p = static_cast<char*>(data);
        size_t done = 0;
        while (done < size) {
            const ssize_t n = ::read(m_fd, p + done, size - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw std::runtime_error("cannot read " + m_path.string() + ": " + std::strerror(errno));
            if (n == 0) break;
            done += static_cast<size_t>(n);
        }
        return done;
    }
    void Sync() {
        if (::fsync(m_fd) != 0) throw std::runtime_error("cannot sync " + m_path.string());
    }
    void DataSync() {
        if (::fdatasync(m_fd) != 0) throw std::runtime_error("cannot sync " + m_path.string());
    }
    [[nodiscard]] int64_t Size() const {
        struct stat st {};
        if (::fstat(m_fd, &st) != 0) throw std::runtime_error("cannot read " + m_path.string());
        return static_cast<int64_t>(st.st_size);
    }
    /// Reads `size` bytes at `offset`; fewer only at the end of the file.
    size_t ReadAt(int64_t offset, void* data, size_t size) {
        auto* p = static_cast<char*>(data);
        size_t done = 0;
        while (done < size) {
            const ssize_t n =
                ::pread(m_fd, p + done, size - done, static_cast<off_t>(offset) + static_cast<off_t>(done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw std::runtime_error("cannot read " + m_path.string() + ": " + std::strerror(errno));
            if (n == 0) break;
            done += static_cast<size_t>(n);
        }
        return done;
    }
    [[nodiscard]] const fs::path& Path() const noexcept { return m_path; }

private:
    int m_fd;
    fs::path m_path;
};

} // namespace

BlobStore::BlobStore(Vault& vault) : m_vault(vault) {}

// ---- Format 2: writer ----

struct BlobWriter::State {
    fs::path path;
    std::string name;
    File file;
    SecretBytes key;
    unsigned char prefix[PREFIX_BYTES];
    SecretBytes plain = SecretBytes(BLOB_CHUNK_PLAIN);
    std::vector<unsigned char> sealed = std::vector<unsigned char>(SEALED_CHUNK);
    size_t used = 0;         ///< bytes in the chunk being filled
    uint64_t index = 0;      ///< of the chunk being filled
    int64_t chunk_start = 0; ///< plaintext offset of the chunk being filled
    crypto_hash_sha256_state hash{};
    bool closed = false;

    std::vector<unsigned char> pending; ///< sealed chunks not yet written
    static constexpr size_t PENDING_BYTES = 32 * SEALED_CHUNK;

    State(fs::path p, std::string n)
        : path(std::move(p)), name(std::move(n)), file(path, O_WRONLY | O_CREAT | O_EXCL) {}

    void WritePending() {
        if (pending.empty()) return;
        file.Write(pending.data(), pending.size());
        pending.clear();
    }

    void Seal(bool last) {
        PutLe(plain.data(), static_cast<uint64_t>(chunk_start), 8);
        PutLe(plain.data() + 8, used, 2);
        sodium_memzero(plain.data() + CHUNK_HEAD + used, CHUNK_CAPACITY - used);
        const ChunkSeal seal(prefix, index, last);
        unsigned long long sealed_size = 0;
        crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data(), &sealed_size, plain.data(), plain.size(), seal.ad,
                                                   sizeof seal.ad, nullptr, seal.nonce, key.data());
        // Sealed chunks go to the file some at a time: one write per chunk
        // made imports and downloads pay a system call every 2 KiB.
        pending.insert(pending.end(), sealed.begin(), sealed.begin() + static_cast<std::ptrdiff_t>(sealed_size));
        if (pending.size() >= PENDING_BYTES) WritePending();
        sodium_memzero(plain.data(), plain.size());
        ++index;
        chunk_start += static_cast<int64_t>(used);
        used = 0;
    }
};

BlobWriter::BlobWriter(std::unique_ptr<State> state) : m_state(std::move(state)) {}
BlobWriter::BlobWriter(BlobWriter&&) noexcept = default;
BlobWriter::~BlobWriter() = default;

void BlobWriter::Write(const void* data, size_t size) {
    if (!m_state || m_state->closed) throw std::logic_error("BlobWriter: written after Finish or Abandon");
    auto& s = *m_state;
    const auto* p = static_cast<const unsigned char*>(data);
    crypto_hash_sha256_update(&s.hash, p, size);
    while (size) {
        // A full chunk is sealed only when more bytes come: the last one
        // is sealed by Finish, marked as the last.
        if (s.used == CHUNK_CAPACITY) s.Seal(false);
        const size_t n = std::min(size, CHUNK_CAPACITY - s.used);
        std::memcpy(s.plain.data() + CHUNK_HEAD + s.used, p, n);
        s.used += n;
        p += n;
        size -= n;
    }
}

void BlobWriter::Flush() {
    if (!m_state || m_state->closed) throw std::logic_error("BlobWriter: flushed after Finish or Abandon");
    if (m_state->used > 0) m_state->Seal(false);
    m_state->WritePending();
    m_state->file.DataSync();
}

void BlobWriter::Sync() {
    if (!m_state || m_state->closed) throw std::logic_error("BlobWriter: synced after Finish or Abandon");
    m_state->WritePending();
    m_state->file.DataSync();
}

uint64_t BlobWriter::Chunks() const noexcept { return m_state ? m_state->index : 0; }

int64_t BlobWriter::Size() const noexcept {
    return m_state ? m_state->chunk_start + static_cast<int64_t>(m_state->used) : 0;
}

const std::string& BlobWriter::PartName() const noexcept {
    static const std::string none;
    return m_state ? m_state->name : none;
}

BlobInfo BlobWriter::Finish(BlobStore& store) {
    if (!m_state || m_state->closed) throw std::logic_error("BlobWriter: finished twice");
    auto& s = *m_state;
    s.Seal(true);
    s.WritePending();
    s.file.Sync();
    s.closed = true;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&s.hash, digest);
    const auto sha = HexEncode(digest, sizeof digest);
    auto& db = store.m_vault.Db();
    if (auto existing = store.Find(sha)) {
        store.DropPart(s.name);
        return *existing;
    }
    // The part becomes a blob in one step: the file stays where it is.
    BlobInfo info{sha, s.chunk_start, FormatIsoMillis(SystemMillis()), false, "", s.name};
    db.Exec("SAVEPOINT blob_finish");
    try {
        db.Prepare("INSERT INTO blob (sha256, file, size, created_at, key) VALUES (?, ?, ?, ?, ?)")
            .Bind(1, sha)
            .Bind(2, s.name)
            .Bind(3, info.size)
            .Bind(4, info.created_at)
            .BindBlob(5, s.key.data(), s.key.size())
            .Run();
        db.Prepare("DELETE FROM blob_part WHERE file = ?").Bind(1, s.name).Run();
        db.Exec("RELEASE blob_finish");
    } catch (...) {
        db.Exec("ROLLBACK TO blob_finish");
        db.Exec("RELEASE blob_finish");
        throw;
    }
    return info;
}

void BlobWriter::Abandon(BlobStore& store) {
    if (!m_state) return;
    m_state->closed = true;
    store.DropPart(m_state->name);
}

BlobWriter BlobStore::Begin(const std::string& owner) {
    EnsureSodium();
    const fs::path dir = m_vault.Dir() / "blobs";
    fs::create_directories(dir);
    const std::string name = NewUuidV7() + ".blob";
    SecretBytes key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    crypto_aead_xchacha20poly1305_ietf_keygen(key.data());
    // The vault knows the part (and its key) before its file exists: a crash
    // in between leaves a part with no file, which recovery drops.
    m_vault.Db()
        .Prepare("INSERT INTO blob_part (file, key, owner, started_at) VALUES (?, ?, ?, ?)")
        .Bind(1, name)
        .BindBlob(2, key.data(), key.size())
        .Bind(3, owner)
        .Bind(4, FormatIsoMillis(SystemMillis()))
        .Run();
    auto state = std::make_unique<BlobWriter::State>(dir / name, name);
    state->key = std::move(key);
    randombytes_buf(state->prefix, sizeof state->prefix);
    crypto_hash_sha256_init(&state->hash);
    state->file.Write(MAGIC2, sizeof MAGIC2);
    state->file.Write(state->prefix, sizeof state->prefix);
    state->file.DataSync();
    FsyncDirectory(dir);
    return BlobWriter(std::move(state));
}

std::vector<BlobPart> BlobStore::Parts() {
    auto stmt = m_vault.Db().Prepare("SELECT file, coalesce(owner, ''), started_at FROM blob_part ORDER BY started_at");
    std::vector<BlobPart> out;
    while (stmt.Step()) out.push_back({stmt.Text(0), stmt.Text(1), stmt.Text(2)});
    return out;
}

void BlobStore::DropPart(const std::string& file) {
    m_vault.Db().Prepare("DELETE FROM blob_part WHERE file = ?").Bind(1, file).Run();
    std::error_code ec;
    fs::remove(m_vault.Dir() / "blobs" / file, ec);
}

int BlobStore::SweepUnnamedFiles() {
    const fs::path dir = m_vault.Dir() / "blobs";
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return 0;
    // A part's row is written before its file exists, and a blob's row goes
    // before its file: a file no row names is never one being written.
    std::set<std::string> named;
    for (const char* sql : {"SELECT file FROM blob", "SELECT file FROM blob_part"}) {
        auto stmt = m_vault.Db().Prepare(sql);
        while (stmt.Step()) named.insert(stmt.Text(0));
    }
    int removed = 0;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file(ec)) continue;
        const auto name = entry.path().filename().string();
        if (named.count(name)) continue;
        if (fs::remove(entry.path(), ec)) ++removed;
    }
    return removed;
}

bool BlobStore::Remove(const std::string& sha256) {
    const auto info = Find(sha256);
    if (!info) return false;
    // The key goes first (secure_delete overwrites it in the database): what
    // flash storage keeps of the file afterwards cannot be read.
    m_vault.Db().Prepare("DELETE FROM blob WHERE sha256 = ?").Bind(1, sha256).Run();
    std::error_code ec;
    fs::remove(m_vault.Dir() / "blobs" / info->file, ec);
    return true;
}

// ---- Format 2 (and 1): reader ----

struct BlobReader::State {
    File file;
    std::string label; ///< names the blob in messages
    int version = 2;
    SecretBytes key;
    unsigned char prefix[PREFIX_BYTES] = {};
    bool part = false;
    uint64_t chunks = 0; ///< readable chunks (format 2)
    int64_t size = 0;
    // The chunk in hand.
    SecretBytes plain = SecretBytes(std::max(BLOB_CHUNK_PLAIN, BLOB_CHUNK));
    std::vector<unsigned char> sealed = std::vector<unsigned char>(std::max(SEALED_CHUNK, CIPHER_CHUNK));
    int64_t have_start = -1; ///< plaintext offset of the chunk in hand, -1 for none
    size_t have_size = 0;
    uint64_t have_index = 0;
    // Format 1: a stream read from its start.
    crypto_secretstream_xchacha20poly1305_state stream{};
    int64_t stream_file_offset = 0;
    int64_t stream_position = 0;
    bool stream_done = false;

    State(const fs::path& path, std::string l) : file(path, O_RDONLY), label(std::move(l)) {}
    ~State() { sodium_memzero(&stream, sizeof stream); }

    [[nodiscard]] BlobDamaged Damaged(const std::string& why) const {
        return BlobDamaged("the file " + label + " is damaged: " + why);
    }

    /// Opens chunk `index` into `plain`; false when it does not authenticate
    /// (with `last` telling which way it was sealed when it does).
    bool Open2(uint64_t index, bool& last) {
        const size_t n = file.ReadAt(static_cast<int64_t>(HEADER2 + index * SEALED_CHUNK), sealed.data(), SEALED_CHUNK);
        if (n != SEALED_CHUNK) return false;
        for (const bool l : {false, true}) {
            const ChunkSeal seal(prefix, index, l);
            unsigned long long plain_size = 0;
            if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &plain_size, nullptr, sealed.data(),
                                                           SEALED_CHUNK, seal.ad, sizeof seal.ad, seal.nonce,
                                                           key.data()) == 0) {
                last = l;
                const auto used = static_cast<size_t>(GetLe(plain.data() + 8, 2));
                if (used > CHUNK_CAPACITY) throw Damaged("a chunk says it holds more than it can");
                have_start = static_cast<int64_t>(GetLe(plain.data(), 8));
                have_size = used;
                have_index = index;
                return true;
            }
        }
        return false;
    }
    void Load2(uint64_t index) {
        if (have_start >= 0 && have_index == index) return;
        bool last = false;
        if (!Open2(index, last))
            throw Damaged("the part from chunk " + std::to_string(index) +
                          " on fails its authentication check (changed on disk)");
    }

    /// Format 1: the chunk holding `offset`, read on from where the stream is
    /// (or from its start again).
    void Load1(int64_t offset) {
        if (have_start >= 0 && offset >= have_start && offset < have_start + static_cast<int64_t>(have_size)) return;
        if (have_start < 0 || offset < have_start) Restart1();
        while (!(offset >= have_start && offset < have_start + static_cast<int64_t>(have_size))) {
            if (stream_done) return; // at the end
            const size_t n = file.ReadAt(stream_file_offset, sealed.data(), CIPHER_CHUNK);
            if (n < crypto_secretstream_xchacha20poly1305_ABYTES) throw Damaged("it is cut short");
            unsigned long long plain_size = 0;
            unsigned char tag = 0;
            if (crypto_secretstream_xchacha20poly1305_pull(&stream, plain.data(), &plain_size, &tag, sealed.data(), n,
                                                           nullptr, 0) != 0)
                throw Damaged("the part from byte " + std::to_string(stream_position) +
                              " on fails its authentication check (changed on disk)");
            stream_file_offset += static_cast<int64_t>(n);
            have_start = stream_position;
            have_size = static_cast<size_t>(plain_size);
            stream_position += static_cast<int64_t>(plain_size);
            if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) stream_done = true;
        }
    }
    void Restart1() {
        unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
        if (file.ReadAt(sizeof MAGIC, header, sizeof header) != sizeof header ||
            crypto_secretstream_xchacha20poly1305_init_pull(&stream, header, key.data()) != 0)
            throw Damaged("its header is not an Escucha blob's");
        stream_file_offset = sizeof MAGIC + sizeof header;
        stream_position = 0;
        stream_done = false;
        have_start = -1;
        have_size = 0;
    }
};

BlobReader::BlobReader(std::unique_ptr<State> state) : m_state(std::move(state)) {}
BlobReader::BlobReader(BlobReader&&) noexcept = default;
BlobReader::~BlobReader() = default;

int64_t BlobReader::Size() const noexcept { return m_state->size; }

size_t BlobReader::ReadAt(int64_t offset, void* out, size_t size) {
    auto& s = *m_state;
    auto* p = static_cast<unsigned char*>(out);
    size_t done = 0;
    while (done < size && offset < s.size) {
        if (s.version == 1) {
            s.Load1(offset);
        } else if (!(s.have_start >= 0 && offset >= s.have_start &&
                     offset < s.have_start + static_cast<int64_t>(s.have_size))) {
            if (s.chunks == 0) break;
            // Full chunks are the rule: guess, then search by start offsets.
            uint64_t lo = 0, hi = s.chunks;
            uint64_t guess = std::min<uint64_t>(static_cast<uint64_t>(offset) / CHUNK_CAPACITY, s.chunks - 1);
            while (true) {
                s.Load2(guess);
                if (offset < s.have_start) hi = guess;
                else if (offset >= s.have_start + static_cast<int64_t>(s.have_size)) lo = guess + 1;
                else break;
                if (lo >= hi) throw s.Damaged("its chunks do not follow each other");
                guess = lo + (hi - lo) / 2;
            }
        }
        if (s.have_start < 0 || offset < s.have_start || offset >= s.have_start + static_cast<int64_t>(s.have_size))
            break;
        const auto from = static_cast<size_t>(offset - s.have_start);
        const size_t n = std::min(size - done, s.have_size - from);
        std::memcpy(p + done, s.plain.data() + (s.version == 2 ? CHUNK_HEAD : 0) + from, n);
        done += n;
        offset += static_cast<int64_t>(n);
    }
    return done;
}

namespace {

SecretBytes KeyFromColumn(const std::vector<uint8_t>& column) {
    SecretBytes key(column.begin(), column.end());
    auto& wipe = const_cast<std::vector<uint8_t>&>(column);
    sodium_memzero(wipe.data(), wipe.size());
    return key;
}

} // namespace

BlobReader BlobStore::Open(const std::string& sha256) {
    EnsureSodium();
    auto stmt = m_vault.Db().Prepare("SELECT file, size, key FROM blob WHERE sha256 = ?");
    stmt.Bind(1, sha256);
    if (!stmt.Step()) throw std::runtime_error("no blob " + sha256 + " in this vault");
    const std::string file = stmt.Text(0);
    const int64_t size = stmt.Int(1);
    auto column = stmt.Blob(2);
    const fs::path path = m_vault.Dir() / "blobs" / file;
    const std::string label = sha256.substr(0, 12) + "… (blobs/" + file + ")";
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw BlobDamaged("the file " + label + " is damaged: it is missing from the vault folder");
    auto state = std::make_unique<BlobReader::State>(path, label);
    char magic[sizeof MAGIC];
    if (state->file.ReadAt(0, magic, sizeof magic) != sizeof magic)
        throw state->Damaged("its header is not an Escucha blob's");
    if (std::memcmp(magic, MAGIC, sizeof MAGIC) == 0) {
        state->version = 1;
        state->key = Key();
        state->size = size;
        state->Restart1();
        return BlobReader(std::move(state));
    }
    if (std::memcmp(magic, MAGIC2, sizeof MAGIC2) != 0 || column.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
        throw state->Damaged("its header is not an Escucha blob's");
    state->key = KeyFromColumn(column);
    if (state->file.ReadAt(sizeof MAGIC2, state->prefix, PREFIX_BYTES) != PREFIX_BYTES)
        throw state->Damaged("its header is not an Escucha blob's");
    const int64_t body = state->file.Size() - static_cast<int64_t>(HEADER2);
    if (body <= 0) throw state->Damaged("it is cut short");
    if (body % static_cast<int64_t>(SEALED_CHUNK) != 0) {
        throw state->Damaged(body % static_cast<int64_t>(SEALED_CHUNK) < static_cast<int64_t>(SEALED_CHUNK) / 2 &&
                                     body > static_cast<int64_t>(SEALED_CHUNK)
                                 ? "it has bytes after its end"
                                 : "it is cut short");
    }
    state->chunks = static_cast<uint64_t>(body) / SEALED_CHUNK;
    // A finished blob ends with the chunk sealed as the last, where its size says.
    bool last = false;
    if (!state->Open2(state->chunks - 1, last))
        throw state->Damaged("the part from chunk " + std::to_string(state->chunks - 1) +
                             " on fails its authentication check (changed on disk)");
    if (!last) throw state->Damaged("it is cut short");
    if (state->have_start + static_cast<int64_t>(state->have_size) != size)
        throw state->Damaged("it holds " + std::to_string(state->have_start + static_cast<int64_t>(state->have_size)) +
                             " bytes, not the " + std::to_string(size) + " stored");
    state->size = size;
    return BlobReader(std::move(state));
}

BlobReader BlobStore::OpenPart(const std::string& file) {
    EnsureSodium();
    auto stmt = m_vault.Db().Prepare("SELECT key FROM blob_part WHERE file = ?");
    stmt.Bind(1, file);
    if (!stmt.Step()) throw std::runtime_error("no unfinished blob " + file + " in this vault");
    auto column = stmt.Blob(0);
    const fs::path path = m_vault.Dir() / "blobs" / file;
    const std::string label = "blobs/" + file;
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw BlobDamaged("the file " + label + " is damaged: it is missing from the vault folder");
    auto state = std::make_unique<BlobReader::State>(path, label);
    state->key = KeyFromColumn(column);
    state->part = true;
    char magic[sizeof MAGIC2];
    if (state->file.ReadAt(0, magic, sizeof magic) != sizeof magic || std::memcmp(magic, MAGIC2, sizeof MAGIC2) != 0 ||
        state->file.ReadAt(sizeof MAGIC2, state->prefix, PREFIX_BYTES) != PREFIX_BYTES)
        return BlobReader(std::move(state)); // cut before its header: nothing to read
    const int64_t body = std::max<int64_t>(0, state->file.Size() - static_cast<int64_t>(HEADER2));
    // Whole chunks that open, in order; a chunk torn by the crash ends it.
    uint64_t whole = static_cast<uint64_t>(body) / SEALED_CHUNK;
    uint64_t readable = 0;
    int64_t size = 0;
    for (uint64_t i = 0; i < whole; ++i) {
        bool last = false;
        if (!state->Open2(i, last) || state->have_start != size) break;
        size += static_cast<int64_t>(state->have_size);
        readable = i + 1;
        if (last) break;
    }
    state->chunks = readable;
    state->size = size;
    state->have_start = -1;
    return BlobReader(std::move(state));
}

SecretBytes BlobStore::Key() {
    EnsureSodium();
    if (const auto hex = m_vault.GetMeta("blob_key")) {
        std::vector<unsigned char> bytes;
        if (!HexDecode(*hex, bytes) || bytes.size() != crypto_secretstream_xchacha20poly1305_KEYBYTES)
            throw std::runtime_error("the vault's blob key is damaged");
        SecretBytes key(bytes.begin(), bytes.end());
        sodium_memzero(bytes.data(), bytes.size());
        return key;
    }
    SecretBytes key(crypto_secretstream_xchacha20poly1305_KEYBYTES);
    crypto_secretstream_xchacha20poly1305_keygen(key.data());
    const auto hex = HexEncodeSecret(key.data(), key.size());
    m_vault.SetMeta("blob_key", std::string(hex.begin(), hex.end()));
    return key;
}

BlobInfo BlobStore::Add(const std::function<size_t(char*, size_t)>& read) {
    auto writer = Begin();
    try {
        std::vector<char> buffer(64 * 1024);
        while (const size_t n = read(buffer.data(), buffer.size())) writer.Write(buffer.data(), n);
        sodium_memzero(buffer.data(), buffer.size());
        return writer.Finish(*this);
    } catch (...) {
        writer.Abandon(*this);
        throw;
    }
}

BlobInfo BlobStore::AddFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
    return Add([&](char* buffer, size_t size) {
        in.read(buffer, static_cast<std::streamsize>(size));
        return static_cast<size_t>(in.gcount());
    });
}

BlobInfo BlobStore::AddBytes(const std::string& bytes) {
    size_t at = 0;
    return Add([&](char* buffer, size_t size) {
        const size_t n = std::min(size, bytes.size() - at);
        std::memcpy(buffer, bytes.data() + at, n);
        at += n;
        return n;
    });
}

std::string BlobStore::FileOf(const std::string& sha256) {
    auto stmt = m_vault.Db().Prepare("SELECT file FROM blob WHERE sha256 = ?");
    stmt.Bind(1, sha256);
    if (!stmt.Step()) throw std::runtime_error("no blob " + sha256 + " in this vault");
    return (m_vault.Dir() / "blobs" / stmt.Text(0)).string();
}

void BlobStore::Read(const std::string& sha256, int64_t offset, const std::function<bool(const char*, size_t)>& sink) {
    auto reader = Open(sha256);
    auto& s = *reader.m_state;
    SecretBytes buffer(64 * 1024);
    while (offset < reader.Size()) {
        const size_t n = reader.ReadAt(offset, buffer.data(), buffer.size());
        if (n == 0) throw s.Damaged("it is cut short");
        if (!sink(reinterpret_cast<const char*>(buffer.data()), n)) return;
        offset += static_cast<int64_t>(n);
    }
    if (s.version == 1) {
        // The stream must end where the vault says the blob ends, and the file with it.
        if (reader.Size() == 0) s.Load1(0);
        if (!s.stream_done) throw s.Damaged("it is longer than the vault says");
        if (s.file.Size() != s.stream_file_offset) throw s.Damaged("it has bytes after its end");
    }
}

std::optional<std::string> BlobStore::Verify(const std::string& sha256) {
    const auto info = Find(sha256);
    if (!info) return "no blob " + sha256 + " in this vault";
    crypto_hash_sha256_state hash;
    crypto_hash_sha256_init(&hash);
    int64_t size = 0;
    try {
        Read(sha256, 0, [&](const char* data, size_t n) {
            crypto_hash_sha256_update(&hash, reinterpret_cast<const unsigned char*>(data), n);
            size += static_cast<int64_t>(n);
            return true;
        });
    } catch (const BlobDamaged& e) {
        return e.what();
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&hash, digest);
    const auto where = "the file " + sha256.substr(0, 12) + "… (blobs/" + info->file + ") is damaged: ";
    if (size != info->size)
        return where + "it holds " + std::to_string(size) + " bytes, not the " + std::to_string(info->size) + " stored";
    if (HexEncode(digest, sizeof digest) != sha256) return where + "its content does not match its SHA-256";
    return std::nullopt;
}

std::string BlobStore::ReadAll(const std::string& sha256) {
    std::string out;
    Read(sha256, 0, [&](const char* data, size_t size) {
        out.append(data, size);
        return true;
    });
    return out;
}

namespace {

constexpr char BLOB_COLUMNS[] = "SELECT sha256, size, created_at, uploaded, coalesce(damaged, ''), file FROM blob";

BlobInfo ReadInfo(Statement& stmt) {
    return {stmt.Text(0), stmt.Int(1), stmt.Text(2), stmt.Int(3) != 0, stmt.Text(4), stmt.Text(5)};
}

} // namespace

std::optional<BlobInfo> BlobStore::Find(const std::string& sha256) {
    auto stmt = m_vault.Db().Prepare(std::string(BLOB_COLUMNS) + " WHERE sha256 = ?");
    stmt.Bind(1, sha256);
    if (!stmt.Step()) return std::nullopt;
    return ReadInfo(stmt);
}

std::vector<BlobInfo> BlobStore::List(bool only_waiting) {
    auto stmt =
        m_vault.Db().Prepare(std::string(BLOB_COLUMNS) +
                             (only_waiting ? " WHERE uploaded = 0 AND damaged IS NULL" : "") + " ORDER BY created_at");
    std::vector<BlobInfo> out;
    while (stmt.Step()) out.push_back(ReadInfo(stmt));
    return out;
}

BlobCount BlobStore::CountWaiting() {
    auto stmt = m_vault.Db().Prepare(
        "SELECT count(*), coalesce(sum(size), 0) FROM blob WHERE uploaded = 0 AND damaged IS NULL");
    stmt.Step();
    return {stmt.Int(0), stmt.Int(1)};
}

std::vector<BlobInfo> BlobStore::ListDamaged() {
    auto stmt = m_vault.Db().Prepare(std::string(BLOB_COLUMNS) + " WHERE damaged IS NOT NULL ORDER BY created_at");
    std::vector<BlobInfo> out;
    while (stmt.Step()) out.push_back(ReadInfo(stmt));
    return out;
}

void BlobStore::MarkUploaded(const std::string& sha256) {
    auto stmt = m_vault.Db().Prepare("UPDATE blob SET uploaded = 1 WHERE sha256 = ?");
    stmt.Bind(1, sha256).Run();
}

void BlobStore::MarkDamaged(const std::string& sha256, const std::string& why) {
    auto stmt = m_vault.Db().Prepare("UPDATE blob SET damaged = ? WHERE sha256 = ?");
    stmt.Bind(1, why.empty() ? std::string("damaged") : why).Bind(2, sha256).Run();
}

void BlobStore::MarkSound(const std::string& sha256) {
    auto stmt = m_vault.Db().Prepare("UPDATE blob SET damaged = NULL WHERE sha256 = ?");
    stmt.Bind(1, sha256).Run();
}

} // namespace escucha::storage
