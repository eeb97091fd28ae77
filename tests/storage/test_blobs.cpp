#include "escucha/storage/blobs.h"

#include "files.h"
#include "storage/fast_vault.h"
#include "storage/test_catalogue.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <random>

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
