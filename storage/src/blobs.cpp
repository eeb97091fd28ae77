#include "escucha/storage/blobs.h"

#include "escucha/storage/clock.h"
#include "escucha/storage/fsutil.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace escucha::storage {

namespace fs = std::filesystem;

namespace {

constexpr size_t CIPHER_CHUNK = BLOB_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr char MAGIC[8] = {'E', 'S', 'C', 'B', 'L', 'O', 'B', '1'};

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

private:
    int m_fd;
    fs::path m_path;
};

} // namespace

BlobStore::BlobStore(Vault& vault) : m_vault(vault) {}

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
    const auto key = Key();
    const fs::path dir = m_vault.Dir() / "blobs";
    fs::create_directories(dir);
    const std::string name = NewUuidV7() + ".blob";
    const fs::path part = dir / (name + ".part");
    crypto_hash_sha256_state hash;
    crypto_hash_sha256_init(&hash);
    int64_t size = 0;
    {
        File out(part, O_WRONLY | O_CREAT | O_EXCL);
        crypto_secretstream_xchacha20poly1305_state state;
        unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
        crypto_secretstream_xchacha20poly1305_init_push(&state, header, key.data());
        out.Write(MAGIC, sizeof MAGIC);
        out.Write(header, sizeof header);
        std::vector<char> plain(BLOB_CHUNK);
        std::vector<unsigned char> cipher(CIPHER_CHUNK);
        // Read one chunk ahead so the last one can carry the FINAL tag.
        size_t have = 0;
        const auto fill = [&](std::vector<char>& buffer) {
            size_t got = 0;
            while (got < buffer.size()) {
                const size_t n = read(buffer.data() + got, buffer.size() - got);
                if (n == 0) break;
                got += n;
            }
            return got;
        };
        have = fill(plain);
        std::vector<char> next(BLOB_CHUNK);
        while (true) {
            const size_t next_have = have == BLOB_CHUNK ? fill(next) : 0;
            const bool last = next_have == 0;
            crypto_hash_sha256_update(&hash, reinterpret_cast<unsigned char*>(plain.data()), have);
            unsigned long long clen = 0;
            crypto_secretstream_xchacha20poly1305_push(&state, cipher.data(), &clen,
                                                       reinterpret_cast<unsigned char*>(plain.data()), have, nullptr, 0,
                                                       last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                                                            : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
            out.Write(cipher.data(), static_cast<size_t>(clen));
            size += static_cast<int64_t>(have);
            if (last) break;
            std::swap(plain, next);
            have = next_have;
        }
        sodium_memzero(plain.data(), plain.size());
        sodium_memzero(next.data(), next.size());
        out.Sync();
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&hash, digest);
    const auto sha = HexEncode(digest, sizeof digest);
    if (auto existing = Find(sha)) {
        fs::remove(part);
        return *existing;
    }
    RenameDurably(part, dir / name);
    BlobInfo info{sha, size, FormatIsoMillis(SystemMillis()), false, "", name};
    auto stmt = m_vault.Db().Prepare("INSERT INTO blob (sha256, file, size, created_at) VALUES (?, ?, ?, ?)");
    stmt.Bind(1, sha).Bind(2, name).Bind(3, size).Bind(4, info.created_at).Run();
    return info;
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
    const auto key = Key();
    const auto path = FileOf(sha256);
    const auto damaged = [&](const std::string& why) {
        return BlobDamaged("the file " + sha256.substr(0, 12) + "… (blobs/" + fs::path(path).filename().string() +
                           ") is damaged: " + why);
    };
    std::error_code ec;
    if (!fs::exists(path, ec)) throw damaged("it is missing from the vault folder");
    File in(path, O_RDONLY);
    char magic[sizeof MAGIC];
    unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    if (in.Read(magic, sizeof magic) != sizeof magic || std::memcmp(magic, MAGIC, sizeof MAGIC) != 0 ||
        in.Read(header, sizeof header) != sizeof header)
        throw damaged("its header is not an Escucha blob's");
    crypto_secretstream_xchacha20poly1305_state state;
    if (crypto_secretstream_xchacha20poly1305_init_pull(&state, header, key.data()) != 0)
        throw damaged("its header is not an Escucha blob's");
    std::vector<unsigned char> cipher(CIPHER_CHUNK);
    std::vector<char> plain(BLOB_CHUNK);
    // Plaintext is wiped on every way out, a throw included.
    struct Wipe {
        std::vector<char>& bytes;
        ~Wipe() { sodium_memzero(bytes.data(), bytes.size()); }
    } wipe{plain};
    int64_t position = 0;
    while (true) {
        const size_t n = in.Read(cipher.data(), cipher.size());
        if (n < crypto_secretstream_xchacha20poly1305_ABYTES) throw damaged("it is cut short");
        unsigned long long plen = 0;
        unsigned char tag = 0;
        if (crypto_secretstream_xchacha20poly1305_pull(&state, reinterpret_cast<unsigned char*>(plain.data()), &plen,
                                                       &tag, cipher.data(), n, nullptr, 0) != 0)
            throw damaged("the part from byte " + std::to_string(position) +
                          " on fails its authentication check (changed on disk)");
        const int64_t end = position + static_cast<int64_t>(plen);
        if (end > offset) {
            const size_t skip = offset > position ? static_cast<size_t>(offset - position) : 0;
            if (!sink(plain.data() + skip, static_cast<size_t>(plen) - skip)) break;
        }
        position = end;
        if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
            char extra;
            if (in.Read(&extra, 1) != 0) throw damaged("it has bytes after its end");
            break;
        }
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
