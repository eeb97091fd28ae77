// Encrypted files of the vault (recordings, photos) in DIR/blobs/.
//
// A blob is written as a stream of fixed-size encrypted chunks (format 2,
// docs/decisions/0011-audio.md): each 2 KiB chunk is sealed on its own with
// XChaCha20-Poly1305 under the blob's own random key, its nonce and
// associated data carrying its index and whether it is the last, so chunks
// can be read in any order (a recording seeks without decrypting from the
// start), and none can be dropped, moved or swapped unseen. Every chunk is
// the same size on disk: the file shows how long a recording is, not when
// someone spoke. The key lives only in the encrypted database; erasing a
// blob erases its key, so copies of the file left on flash storage cannot be
// read. Blobs of format 1 (one libsodium secretstream under the vault's blob
// key) are still read.
//
// A blob is written by a BlobWriter, which can make what it holds durable at
// any moment (Flush: a recording does it about once a second). A writer that
// never finishes (the app was killed, the battery died) leaves a part: its
// whole chunks stay readable, and the recording is recovered from them.
// A finished blob is named by the SHA-256 of its plaintext, which sync uses.
//
// A blob that fails decryption or its hash is set aside (quarantined): marked
// damaged with the reason, never retried by sync, its file kept as it is for
// recovery.
//
// Thread contract: a BlobStore uses its Vault's connection; one thread. A
// BlobWriter's Write and Flush touch only its file and may run on another
// thread; Begin and Finish run on the vault's thread. A BlobReader reads its
// file only and belongs to one thread at a time.
// Errors: BlobDamaged when a blob's file is missing or fails authentication;
// std::runtime_error in words for anything else.
#pragma once

#include "escucha/storage/vault.h"

#include "escucha/storage/secret.h"

#include <cstdint>
#include <functional>
#include <memory>
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

/// Plaintext bytes of one format-2 chunk, its header included.
inline constexpr size_t BLOB_CHUNK_PLAIN = 2048;

class BlobStore;

/// Writes one blob, chunk by chunk. Made by BlobStore::Begin.
/// Destroyed without Finish or Abandon, it leaves its part for recovery, as a
/// crash would.
class BlobWriter {
public:
    BlobWriter(const BlobWriter&) = delete;
    BlobWriter& operator=(const BlobWriter&) = delete;
    BlobWriter(BlobWriter&&) noexcept;
    BlobWriter& operator=(BlobWriter&&) = delete;
    ~BlobWriter();

    /// Appends bytes; whole chunks go to the file as they fill (not yet durable).
    void Write(const void* data, size_t size);
    /// Writes what is buffered as a chunk of its own (padded) and makes the
    /// file durable (fdatasync): after it, a crash loses nothing written before.
    void Flush();
    /// Makes the chunks sealed so far durable (fdatasync), without sealing
    /// the one being filled: durability without padding.
    void Sync();
    /// Chunks sealed so far.
    [[nodiscard]] uint64_t Chunks() const noexcept;
    /// Bytes written so far.
    [[nodiscard]] int64_t Size() const noexcept;
    /// The part's file name in DIR/blobs/, to find it again after a crash.
    [[nodiscard]] const std::string& PartName() const noexcept;

    /// Seals the last chunk, makes the blob durable and records it in the
    /// vault under its SHA-256 (content already stored is kept once). Runs on
    /// the vault's thread.
    BlobInfo Finish(BlobStore& store);
    /// Deletes the part: nothing of it stays.
    void Abandon(BlobStore& store);

private:
    friend class BlobStore;
    struct State;
    explicit BlobWriter(std::unique_ptr<State> state);
    std::unique_ptr<State> m_state;
};

/// Reads a blob at any offset, decrypting one chunk at a time (the chunk in
/// hand is kept, and wiped when the reader goes).
class BlobReader {
public:
    BlobReader(const BlobReader&) = delete;
    BlobReader& operator=(const BlobReader&) = delete;
    BlobReader(BlobReader&&) noexcept;
    BlobReader& operator=(BlobReader&&) = delete;
    ~BlobReader();

    /// Plaintext bytes readable: the whole blob, or a part's whole chunks.
    [[nodiscard]] int64_t Size() const noexcept;
    /// Copies up to `size` bytes from `offset`; fewer only at the end.
    /// Throws BlobDamaged when a chunk fails its authentication.
    size_t ReadAt(int64_t offset, void* out, size_t size);

private:
    friend class BlobStore;
    struct State;
    explicit BlobReader(std::unique_ptr<State> state);
    std::unique_ptr<State> m_state;
};

/// A blob that was being written when the app stopped.
struct BlobPart {
    std::string file;  ///< its file's name in DIR/blobs/
    std::string owner; ///< what it was for (a recording's id), as given to Begin
    std::string started_at;
};

/// How many blobs, and how many bytes of them.
struct BlobCount {
    int64_t blobs = 0;
    int64_t bytes = 0;
};

class BlobStore {
public:
    explicit BlobStore(Vault& vault);

    /// Starts a blob written piece by piece. Its part is known to the vault
    /// from now on, under `owner` (so a recording cut short finds its audio).
    [[nodiscard]] BlobWriter Begin(const std::string& owner = {});
    /// Blobs begun and never finished nor abandoned.
    [[nodiscard]] std::vector<BlobPart> Parts();
    /// Reads a part up to its last whole chunk.
    [[nodiscard]] BlobReader OpenPart(const std::string& file);
    /// Deletes a part's file and its key.
    void DropPart(const std::string& file);
    /// Opens a finished blob for reading at any offset.
    [[nodiscard]] BlobReader Open(const std::string& sha256);
    /// Deletes the files in DIR/blobs/ that no blob and no part names (their
    /// key went with an erased record; unreadable, now gone too). Returns how many.
    int SweepUnnamedFiles();
    /// Erases a blob: its key and its record in the vault, then its file.
    /// Returns false when the vault holds no such blob.
    bool Remove(const std::string& sha256);

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
    /// What List(true) would list, counted in one query without reading it.
    [[nodiscard]] BlobCount CountWaiting();
    /// Blobs set aside as damaged.
    [[nodiscard]] std::vector<BlobInfo> ListDamaged();
    void MarkUploaded(const std::string& sha256);
    /// Sets a blob aside: sync no longer sends it, its file stays for recovery.
    void MarkDamaged(const std::string& sha256, const std::string& why);
    /// Takes a blob back after its file was restored (Verify found it sound).
    void MarkSound(const std::string& sha256);

private:
    friend class BlobWriter;
    std::string FileOf(const std::string& sha256);
    SecretBytes Key();
    Vault& m_vault;
};

} // namespace escucha::storage
