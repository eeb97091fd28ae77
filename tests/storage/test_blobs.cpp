#include "escucha/storage/blobs.h"

#include "files.h"
#include "storage/fast_vault.h"
#include "storage/test_catalogue.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <random>

#include <sodium.h>

using namespace escucha::storage;
using escucha::test::FastVaultOptions;
using escucha::test::TempDir;

namespace {

std::string Audio(size_t size, unsigned seed) {
    std::mt19937 rng(seed);
    std::string out(size, '\0');
    for (auto& c : out) c = static_cast<char>(rng());
    // A recognisable phrase inside, to look for on disk.
    if (size > 100) out.replace(size / 2, 22, "TESTIMONIO-EN-EL-AUDIO");
    return out;
}

} // namespace

TEST_CASE("Blobs are stored encrypted and read back whole", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    auto vault = Vault::Create(dir.Path(), Passphrase("frase de paso larga"), catalogue, FastVaultOptions());
    BlobStore blobs(vault);
    for (const size_t size : {size_t{0}, size_t{1}, BLOB_CHUNK - 1, BLOB_CHUNK, BLOB_CHUNK + 1, 5 * BLOB_CHUNK + 123}) {
        const auto content = Audio(size, static_cast<unsigned>(size));
        const auto info = blobs.AddBytes(content);
        CHECK(info.size == static_cast<int64_t>(size));
        CHECK(info.sha256.size() == 64);
        CHECK(blobs.ReadAll(info.sha256) == content);
    }
    const auto big = Audio(3 * BLOB_CHUNK + 7, 99);
    const auto info = blobs.AddBytes(big);
    SECTION("reading from an offset") {
        std::string tail;
        blobs.Read(info.sha256, BLOB_CHUNK + 5, [&](const char* d, size_t n) {
            tail.append(d, n);
            return true;
        });
        CHECK(tail == big.substr(BLOB_CHUNK + 5));
    }
    SECTION("the same content is kept once") {
        CHECK(blobs.AddBytes(big).sha256 == info.sha256);
        CHECK(blobs.List().size() == 7);
    }
    SECTION("nothing of it is plaintext on disk") {
        CHECK(escucha::test::FilesContaining(dir.Path(), "TESTIMONIO-EN-EL-AUDIO").empty());
        CHECK(escucha::test::FilesContaining(dir.Path(), info.sha256).empty());
    }
    SECTION("a flipped byte is found, not played") {
        for (const auto& entry : std::filesystem::directory_iterator(dir / "blobs")) {
            auto bytes = escucha::test::ReadFile(entry.path());
            if (bytes.size() < 2 * BLOB_CHUNK) continue;
            bytes[BLOB_CHUNK + 100] ^= 1;
            escucha::test::WriteFile(entry.path(), bytes);
        }
        CHECK_THROWS_WITH(blobs.ReadAll(info.sha256), Catch::Contains("damaged"));
    }
    SECTION("a new passphrase leaves blobs readable") {
        vault.ChangePassphrase(Passphrase("otra frase de paso"));
        auto reopened = Vault::Open(dir.Path(), Passphrase("otra frase de paso"), catalogue);
        BlobStore again(reopened);
        CHECK(again.ReadAll(info.sha256) == big);
    }
}

TEST_CASE("A damaged blob is found by check, set aside, and taken back once its file is restored", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    auto vault = Vault::Create(dir.Path(), Passphrase("frase de paso larga"), catalogue, FastVaultOptions());
    BlobStore blobs(vault);
    const auto sound = blobs.AddBytes(Audio(2 * BLOB_CHUNK + 10, 1));
    const auto hurt = blobs.AddBytes(Audio(3 * BLOB_CHUNK + 10, 2));
    CHECK(vault.Check().empty());
    CHECK_FALSE(blobs.Verify(hurt.sha256));
    const auto file = dir / "blobs" / blobs.Find(hurt.sha256)->file;
    const auto original = escucha::test::ReadFile(file);
    auto bytes = original;

    SECTION("a flipped byte") { bytes[2 * BLOB_CHUNK + 200] ^= 1; }
    SECTION("bytes after its end") { bytes += "x"; }
    SECTION("a whole chunk cut off") { bytes.resize(bytes.size() - 100); }
    escucha::test::WriteFile(file, bytes);

    const auto problem = blobs.Verify(hurt.sha256);
    REQUIRE(problem);
    CHECK_THAT(*problem, Catch::Contains("is damaged") && Catch::Contains(blobs.Find(hurt.sha256)->file));
    CHECK_THROWS_AS(blobs.ReadAll(hurt.sha256), BlobDamaged);
    const auto problems = vault.Check();
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0], Catch::Contains(hurt.sha256.substr(0, 12)) && Catch::Contains("set aside"));
    // Set aside: not offered for upload, the file kept as it is.
    CHECK(blobs.Find(hurt.sha256)->damaged == *problem);
    CHECK(blobs.ListDamaged().size() == 1);
    const auto waiting = blobs.List(true);
    REQUIRE(waiting.size() == 1);
    CHECK(waiting[0].sha256 == sound.sha256);
    CHECK(escucha::test::ReadFile(file) == bytes);

    escucha::test::WriteFile(file, original);
    CHECK(vault.Check().empty());
    CHECK(blobs.ListDamaged().empty());
    CHECK(blobs.List(true).size() == 2);
}

TEST_CASE("A blob is read at any offset, each chunk opened on its own", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    auto vault = Vault::Create(dir.Path(), Passphrase("frase de paso larga"), catalogue, FastVaultOptions());
    BlobStore blobs(vault);
    // Written as a recording writes: pieces of every size, made durable now and then.
    const auto content = Audio(300 * 1000 + 17, 5);
    auto writer = blobs.Begin("recording-1");
    std::mt19937 rng(7);
    size_t at = 0;
    while (at < content.size()) {
        const size_t n = std::min<size_t>(content.size() - at, rng() % 5000);
        writer.Write(content.data() + at, n);
        at += n;
        if (rng() % 4 == 0) writer.Flush();
    }
    CHECK(writer.Size() == static_cast<int64_t>(content.size()));
    // Sync uploads only finished blobs: a recording still being written waits.
    CHECK(blobs.List(true).empty());
    CHECK(blobs.Parts().size() == 1);
    const auto info = writer.Finish(blobs);
    CHECK(blobs.List(true).size() == 1);
    CHECK(blobs.Parts().empty());
    auto reader = blobs.Open(info.sha256);
    REQUIRE(reader.Size() == static_cast<int64_t>(content.size()));
    for (int i = 0; i < 200; ++i) {
        const int64_t offset = rng() % content.size();
        const size_t size = rng() % 9000;
        std::string out(size, '\0');
        const size_t n = reader.ReadAt(offset, out.data(), size);
        CHECK(n == std::min<size_t>(size, content.size() - static_cast<size_t>(offset)));
        out.resize(n);
        CHECK(out == content.substr(static_cast<size_t>(offset), n));
    }
    CHECK(blobs.ReadAll(info.sha256) == content);
    CHECK(escucha::test::FilesContaining(dir.Path(), "TESTIMONIO-EN-EL-AUDIO").empty());

    SECTION("chunks swapped on disk are found") {
        const auto file = dir / "blobs" / info.file;
        auto bytes = escucha::test::ReadFile(file);
        const size_t sealed = BLOB_CHUNK_PLAIN + 16, header = 24;
        std::swap_ranges(bytes.begin() + header, bytes.begin() + header + sealed, bytes.begin() + header + 2 * sealed);
        escucha::test::WriteFile(file, bytes);
        CHECK_THROWS_AS(blobs.ReadAll(info.sha256), BlobDamaged);
    }
    SECTION("the last chunk dropped is found, though every chunk left opens") {
        const auto file = dir / "blobs" / info.file;
        auto bytes = escucha::test::ReadFile(file);
        bytes.resize(bytes.size() - (BLOB_CHUNK_PLAIN + 16));
        escucha::test::WriteFile(file, bytes);
        CHECK_THROWS_WITH(blobs.ReadAll(info.sha256), Catch::Contains("cut short"));
    }
    SECTION("removed, its key goes with it") {
        CHECK(blobs.Remove(info.sha256));
        CHECK_FALSE(blobs.Find(info.sha256));
        CHECK_FALSE(std::filesystem::exists(dir / "blobs" / info.file));
        CHECK_FALSE(blobs.Remove(info.sha256));
    }
}

TEST_CASE("A blob cut short by a crash keeps every chunk made durable", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    const auto content = Audio(50 * 1000, 11);
    std::string part_name;
    {
        auto vault = Vault::Create(dir.Path(), Passphrase("frase de paso larga"), catalogue, FastVaultOptions());
        BlobStore blobs(vault);
        auto writer = blobs.Begin("recording-7");
        part_name = writer.PartName();
        writer.Write(content.data(), 30 * 1000);
        writer.Flush();
        writer.Write(content.data() + 30 * 1000, 1000); // buffered, never made durable
        // The writer goes without Finish, as in a crash.
    }
    // A torn write at the end, as power loss may leave.
    {
        std::ofstream torn(dir / "blobs" / part_name, std::ios::binary | std::ios::app);
        torn << "partial chunk";
    }
    auto vault = Vault::Open(dir.Path(), Passphrase("frase de paso larga"), catalogue);
    BlobStore blobs(vault);
    const auto parts = blobs.Parts();
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].owner == "recording-7");
    CHECK(parts[0].file == part_name);
    auto reader = blobs.OpenPart(part_name);
    REQUIRE(reader.Size() == 30 * 1000);
    std::string out(30 * 1000, '\0');
    CHECK(reader.ReadAt(0, out.data(), out.size()) == out.size());
    CHECK(out == content.substr(0, 30 * 1000));
    CHECK(escucha::test::FilesContaining(dir.Path(), "TESTIMONIO-EN-EL-AUDIO").empty());
    blobs.DropPart(part_name);
    CHECK(blobs.Parts().empty());
    CHECK_FALSE(std::filesystem::exists(dir / "blobs" / part_name));
}

TEST_CASE("Blobs written before chunks were sealed one by one are still read", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    auto vault = Vault::Create(dir.Path(), Passphrase("frase de paso larga"), catalogue, FastVaultOptions());
    BlobStore blobs(vault);
    // Format 1's key: one for the vault, in its meta table.
    std::vector<unsigned char> key(crypto_secretstream_xchacha20poly1305_KEYBYTES);
    crypto_secretstream_xchacha20poly1305_keygen(key.data());
    vault.SetMeta("blob_key", HexEncode(key.data(), key.size()));
    // Format 1: magic, a secretstream header, 64 KiB chunks, the last tagged FINAL.
    const auto content = Audio(2 * BLOB_CHUNK + 99, 3);
    std::string file = "ESCBLOB1";
    crypto_secretstream_xchacha20poly1305_state state;
    unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    crypto_secretstream_xchacha20poly1305_init_push(&state, header, key.data());
    file.append(reinterpret_cast<char*>(header), sizeof header);
    for (size_t at = 0; at < content.size(); at += BLOB_CHUNK) {
        const size_t n = std::min(BLOB_CHUNK, content.size() - at);
        std::vector<unsigned char> out(n + crypto_secretstream_xchacha20poly1305_ABYTES);
        unsigned long long size = 0;
        crypto_secretstream_xchacha20poly1305_push(
            &state, out.data(), &size, reinterpret_cast<const unsigned char*>(content.data() + at), n, nullptr, 0,
            at + n == content.size() ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
        file.append(reinterpret_cast<char*>(out.data()), size);
    }
    escucha::test::WriteFile(dir / "blobs" / "old.blob", file);
    const std::string sha(64, 'a');
    vault.Db()
        .Prepare("INSERT INTO blob (sha256, file, size, created_at) VALUES (?, 'old.blob', ?, '2026-01-01')")
        .Bind(1, sha)
        .Bind(2, static_cast<int64_t>(content.size()))
        .Run();
    CHECK(blobs.ReadAll(sha) == content);
    auto reader = blobs.Open(sha);
    std::string back(100, '\0');
    CHECK(reader.ReadAt(BLOB_CHUNK + 7, back.data(), back.size()) == back.size());
    CHECK(back == content.substr(BLOB_CHUNK + 7, 100));
    CHECK(reader.ReadAt(3, back.data(), back.size()) == back.size());
    CHECK(back == content.substr(3, 100));
}
