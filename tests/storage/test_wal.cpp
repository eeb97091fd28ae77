// The vault's write-ahead log stays small: an idle checkpoint truncates it,
// closing the vault truncates it even when another connection stays open,
// and a checkpoint never waits for a connection that is using the log.
#include "escucha/storage/vault.h"

#include "storage/fast_vault.h"
#include "storage/test_catalogue.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <thread>

using namespace escucha::storage;

namespace {

const Passphrase GOOD("una frase de paso larga");

uintmax_t WalBytes(const Vault& vault) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(vault.Dir() / "vault.db-wal", ec);
    return ec ? 0 : size;
}

/// `count` stories of about 3 KB, each its own transaction, as autosaves are.
void Write(Vault& vault, const std::string& project, int count, int seed) {
    for (int i = 0; i < count; ++i) {
        std::string text = "Relato " + std::to_string(seed) + "-" + std::to_string(i) + ": ";
        while (text.size() < 3000) text += "la cosecha llegó tarde y el pago por kilo bajó otra vez; ";
        (void)vault.Records().Create("story", {{"project_id", project}, {"title", "Relato"}, {"text", text}});
    }
}

} // namespace

TEST_CASE("The write-ahead log is truncated at idle and at close, and stays bounded while writing", "[vault][wal]") {
    escucha::test::TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue(); // outlives the vaults
    auto vault = Vault::Create(dir / "v", GOOD, catalogue, escucha::test::FastVaultOptions());
    // The sync thread's connection stays open throughout: closing the vault
    // is then not the last close, which SQLite would clean up by itself.
    auto other = vault.OpenAnother();
    const std::string project = vault.Records().Create("project", {{"name", "P"}})["id"];

    uintmax_t largest = 0;
    for (int round = 0; round < 6; ++round) {
        Write(vault, project, 300, round);
        const auto written = WalBytes(vault);
        largest = std::max(largest, written);
        INFO("round " << round << ": log of " << written << " bytes before the idle checkpoint");
        CHECK(written > 0);
        REQUIRE(vault.CheckpointWal());
        CHECK(WalBytes(vault) == 0);
        // Both connections still read everything.
        CHECK(other.Records().Count("story") == 300 * (round + 1));
    }
    // About 5 MB of stories went in per round; SQLite's automatic checkpoints
    // and the kept-size limit hold the file to a few MiB in between.
    INFO("largest log between idle checkpoints: " << largest << " bytes");
    CHECK(largest < 12u * 1024 * 1024);

    Write(vault, project, 50, 99);
    CHECK(WalBytes(vault) > 0);
    const auto where = vault.Dir();
    { auto closing = std::move(vault); }
    std::error_code ec;
    const auto after_close = std::filesystem::exists(where / "vault.db-wal", ec)
                                 ? std::filesystem::file_size(where / "vault.db-wal", ec)
                                 : 0;
    CHECK(after_close == 0);
    CHECK(other.Records().Count("story") == 300 * 6 + 50);
}

TEST_CASE("An idle checkpoint does not wait for a connection reading the log, and is done at the next idle",
          "[vault][wal]") {
    escucha::test::TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue(); // outlives the vaults
    auto vault = Vault::Create(dir / "v", GOOD, catalogue, escucha::test::FastVaultOptions());
    auto reader = vault.OpenAnother();
    const std::string project = vault.Records().Create("project", {{"name", "P"}})["id"];
    Write(vault, project, 20, 0);
    // A read transaction in the other connection pins the log.
    reader.Db().Exec("BEGIN");
    CHECK(reader.Db().QueryInt("SELECT count(*) FROM sqlite_master") > 0);
    Write(vault, project, 20, 1);
    CHECK_FALSE(vault.CheckpointWal()); // refused at once, not after the 10 s busy timeout
    CHECK(WalBytes(vault) > 0);
    reader.Db().Exec("COMMIT");
    CHECK(vault.CheckpointWal());
    CHECK(WalBytes(vault) == 0);
    // The vault is whole after the checkpoints, through a fresh connection too.
    auto again = Vault::Open(dir / "v", GOOD, catalogue);
    CHECK(again.Records().Count("story") == 40);
    CHECK(again.Check().empty());
}

TEST_CASE("Vault connections are opened for one owner thread at a time, and may be handed over", "[vault][wal]") {
    REQUIRE(sqlite3_threadsafe() != 0);
    escucha::test::TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue(); // outlives the vaults
    auto vault = Vault::Create(dir / "v", GOOD, catalogue, escucha::test::FastVaultOptions());
    const std::string project = vault.Records().Create("project", {{"name", "P"}})["id"];
    // As the window app does: the second connection is opened on one thread
    // and used on another, never by two at once.
    auto second = vault.OpenAnother();
    std::thread([&] { Write(second, project, 10, 0); }).join();
    std::thread writer([&] { Write(second, project, 10, 1); });
    Write(vault, project, 10, 2);
    writer.join();
    CHECK(vault.Records().Count("story") == 30);
}
