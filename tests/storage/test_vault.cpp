#include "escucha/storage/vault.h"

#include "files.h"
#include "storage/fast_vault.h"
#include "storage/test_catalogue.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <sodium.h>

#include <csignal>
#include <optional>

#include <sys/wait.h>
#include <unistd.h>

using namespace escucha::storage;
using escucha::test::FilesContaining;
using escucha::test::Snapshot;
using escucha::test::TempDir;

namespace {

const Passphrase GOOD("una frase de paso larga");
const Passphrase OTHER("otra frase completamente distinta");

VaultOptions FastOptions() { return escucha::test::FastVaultOptions("ana"); }

VaultFailure FailureOf(const std::function<void()>& action) {
    try {
        action();
    } catch (const VaultError& e) {
        return e.Failure();
    }
    FAIL("no VaultError");
    return VaultFailure::Unreadable;
}

std::string AddStory(Vault& vault, const std::string& text) {
    auto& records = vault.Records();
    auto projects = records.List("project");
    std::string project = projects.empty() ? records.Create("project", {{"name", "P"}})["id"].get<std::string>()
                                           : projects[0]["id"].get<std::string>();
    return records.Create("story", {{"project_id", project}, {"title", "Relato"}, {"text", text}})["id"];
}

} // namespace

TEST_CASE("A vault is created, closed and opened again with its data", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    std::string id, device;
    {
        auto vault = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions());
        id = AddStory(vault, "La participación de las mujeres");
        device = vault.DeviceId();
        CHECK(IsUuid(device));
        CHECK(vault.Author() == "ana");
    }
    auto vault = Vault::Open(dir.Path(), GOOD, catalogue);
    CHECK(vault.Records().Get(id)->at("text") == "La participación de las mujeres");
    CHECK(vault.DeviceId() == device);
    CHECK(vault.Check().empty());
    CHECK(vault.Db().QueryText("PRAGMA journal_mode") == "wal");
    CHECK(vault.Db().QueryInt("PRAGMA temp_store") == 2);
    CHECK(vault.Db().QueryInt("PRAGMA page_size") == 4096);

    SECTION("the file is not plain SQLite and starts with the Argon2id salt") {
        const auto bytes = escucha::test::ReadFile(dir / "vault.db");
        CHECK(bytes.rfind("SQLite format 3", 0) == std::string::npos);
        const auto params = ReadKdfFile(dir / "vault.kdf");
        REQUIRE(params);
        CHECK(
            std::equal(params->salt.begin(), params->salt.end(), reinterpret_cast<const unsigned char*>(bytes.data())));
    }
    SECTION("the hybrid clock carries on from where it stopped") {
        const auto before = HlcTimestamp::Parse(vault.Records().Get(id)->at("updated_at").get<std::string>());
        const auto after = vault.Records().Update(id, {{"title", "Nuevo"}});
        CHECK(HlcTimestamp::Parse(after["updated_at"].get<std::string>()) > before);
    }
}

TEST_CASE("A second connection from an open vault sees the same data and keeps time in order", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    // The first connection's clock runs a day ahead, as a device's clock may.
    VaultOptions ahead = FastOptions();
    ahead.wall_clock = [] { return SystemMillis() + 24 * 3600 * 1000; };
    auto first = Vault::Create(dir.Path(), GOOD, catalogue, ahead);
    auto second = first.OpenAnother(); // no passphrase: the key is already known
    const auto id = AddStory(first, "Escrita en la primera conexión");
    REQUIRE(second.Records().Get(id));
    CHECK(second.DeviceId() == first.DeviceId());
    // The second connection's clock is a day behind the first's last stamp,
    // yet its edit must come after it, or a merge could prefer the older text.
    const auto before = HlcTimestamp::Parse(first.Records().Get(id)->at("updated_at").get<std::string>());
    const auto edited = second.Records().Update(id, {{"title", "Después"}});
    CHECK(HlcTimestamp::Parse(edited["updated_at"].get<std::string>()) > before);
    CHECK(edited["rev"] == 2);
    CHECK(first.Records().Get(id)->at("title") == "Después");
    CHECK(first.Check().empty());
}

TEST_CASE("A vault killed between an edit and the writing of its search entry has it written when opened",
          "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    std::string id;
    {
        auto vault = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions());
        id = AddStory(vault, "primera versión del relato");
    }
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // An autosave, then killed before any search, idle or close.
        try {
            auto vault = Vault::Open(dir.Path(), GOOD, catalogue);
            vault.Records().Update(id, {{"text", "segunda versión, escrita antes del corte"}});
            if (vault.Records().UnsettledSearchCount() != 1) ::_exit(3);
        } catch (...) {
            ::_exit(2);
        }
        ::kill(::getpid(), SIGKILL);
        ::_exit(4);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    auto vault = Vault::Open(dir.Path(), GOOD, catalogue);
    CHECK(vault.Records().UnsettledSearchCount() == 0);
    CHECK(vault.Records().Get(id)->at("text") == "segunda versión, escrita antes del corte");
    CHECK(vault.Records().Search("corte").at(0).id == id);
    CHECK(vault.Records().Search("primera").empty());
    CHECK(vault.Check().empty());
}

TEST_CASE("An idle checkpoint and closing the vault write the search entries edits marked", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    auto vault = std::make_optional(Vault::Create(dir.Path(), GOOD, catalogue, FastOptions()));
    const auto id = AddStory(*vault, "antes");
    vault->Records().Update(id, {{"text", "durante"}});
    CHECK(vault->Records().UnsettledSearchCount() == 1);
    (void)vault->CheckpointWal();
    CHECK(vault->Records().UnsettledSearchCount() == 0);
    vault->Records().Update(id, {{"text", "después"}});
    CHECK(vault->Records().UnsettledSearchCount() == 1);
    // Another connection (as the sync thread's) sees what closing the first wrote.
    auto other = vault->OpenAnother();
    vault.reset();
    CHECK(other.Records().UnsettledSearchCount() == 0);
    CHECK(other.Records().Search("despues").at(0).id == id);
}

TEST_CASE("Creating refuses a short passphrase and an existing vault", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    CHECK(FailureOf([&] { (void)Vault::Create(dir.Path(), Passphrase("corta"), catalogue, FastOptions()); }) ==
          VaultFailure::WeakPassphrase);
    CHECK_FALSE(Vault::Exists(dir.Path()));
    { auto v = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions()); }
    CHECK(FailureOf([&] { (void)Vault::Create(dir.Path(), GOOD, catalogue, FastOptions()); }) ==
          VaultFailure::AlreadyExists);
    CHECK(FailureOf([&] { (void)Vault::Open(dir / "nowhere", GOOD, catalogue); }) == VaultFailure::NotFound);
}

TEST_CASE("A wrong passphrase is a clear error and changes no byte of the vault", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    {
        auto vault = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions());
        AddStory(vault, "texto");
    }
    const auto before = Snapshot(dir.Path());
    CHECK(FailureOf([&] { (void)Vault::Open(dir.Path(), OTHER, catalogue); }) == VaultFailure::WrongPassphrase);
    // Return on an empty field: a wrong passphrase like any other, not a crash.
    CHECK(FailureOf([&] { (void)Vault::Open(dir.Path(), Passphrase(""), catalogue); }) ==
          VaultFailure::WrongPassphrase);
    CHECK(Snapshot(dir.Path()) == before);
    CHECK_NOTHROW(Vault::Open(dir.Path(), GOOD, catalogue));
}

TEST_CASE("No record text is ever in plaintext in the vault directory", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    const std::string marker = "MARCADOR-testimonio-único-7731";
    auto vault = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions());
    for (int i = 0; i < 200; ++i) AddStory(vault, marker + " número " + std::to_string(i));
    // While open: the WAL and shared-memory files exist and hold fresh pages.
    CHECK(std::filesystem::exists(dir / "vault.db-wal"));
    CHECK(FilesContaining(dir.Path(), marker).empty());
    CHECK(FilesContaining(dir.Path(), "número").empty());
    CHECK(vault.Records().Search("numero").size() == 20);
    vault.Db().Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    CHECK(FilesContaining(dir.Path(), marker).empty());

    // The same records in a database without a key do show on disk: the
    // scan above would have seen them.
    TempDir plain_dir;
    {
        Database plain((plain_dir / "plain.db").string(), true);
        RegisterSearchFunctions(plain);
        HybridLogicalClock clock;
        RecordStore store(plain, catalogue, clock, {"ana", "device-1"});
        store.EnsureSchema();
        const std::string project = store.Create("project", {{"name", "P"}})["id"];
        store.Create("story", {{"project_id", project}, {"title", "Relato"}, {"text", marker + " número 1"}});
    }
    CHECK_FALSE(FilesContaining(plain_dir.Path(), marker).empty());
    CHECK_FALSE(FilesContaining(plain_dir.Path(), "número").empty());
}

TEST_CASE("Changing the passphrase re-encrypts the vault", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    std::string id;
    {
        auto vault = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions());
        id = AddStory(vault, "antes del cambio");
        vault.ChangePassphrase(OTHER);
        AddStory(vault, "después del cambio");
    }
    CHECK_FALSE(std::filesystem::exists(dir / "vault.kdf.new"));
    CHECK(FailureOf([&] { (void)Vault::Open(dir.Path(), GOOD, catalogue); }) == VaultFailure::WrongPassphrase);
    auto vault = Vault::Open(dir.Path(), OTHER, catalogue);
    CHECK(vault.Records().Get(id)->at("text") == "antes del cambio");
    CHECK(vault.Records().Count("story") == 2);
    CHECK(vault.Check().empty());
    CHECK(FailureOf([&] { vault.ChangePassphrase(Passphrase("short")); }) == VaultFailure::WeakPassphrase);
}

TEST_CASE("A passphrase change cut short leaves the vault openable", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    { auto vault = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions()); }
    // Stopped after the new parameters were written, before the rekey.
    auto params = KdfParams::Fresh();
    params.opslimit = crypto_pwhash_OPSLIMIT_MIN;
    params.memlimit = crypto_pwhash_MEMLIMIT_MIN;
    params.check = DeriveKey(OTHER, params).CheckValue();
    WriteKdfFile(dir / "vault.kdf.new", params);
    SECTION("the old passphrase still opens it, and the leftover is cleared") {
        CHECK_NOTHROW(Vault::Open(dir.Path(), GOOD, catalogue));
        CHECK_FALSE(std::filesystem::exists(dir / "vault.kdf.new"));
    }
    SECTION("the new passphrase says what happened") {
        CHECK(FailureOf([&] { (void)Vault::Open(dir.Path(), OTHER, catalogue); }) ==
              VaultFailure::PassphraseChangeInterrupted);
        CHECK(std::filesystem::exists(dir / "vault.kdf.new"));
    }
}

TEST_CASE("A damaged vault is reported in words, never a crash", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    {
        auto vault = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions());
        for (int i = 0; i < 300; ++i) AddStory(vault, std::string(500, 'x') + std::to_string(i));
        vault.Db().Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    auto bytes = escucha::test::ReadFile(dir / "vault.db");
    REQUIRE(bytes.size() > 20 * 4096);
    const auto damaged = [&] {
        // Any failure must come as an error the user can read; a sound vault
        // after flipped bytes would mean the flip went unnoticed.
        try {
            auto vault = Vault::Open(dir.Path(), GOOD, catalogue);
            const auto problems = vault.Check();
            if (!problems.empty()) return true;
            (void)vault.Records().Search("x");
            return false;
        } catch (const VaultError& e) {
            return e.Failure() == VaultFailure::Damaged;
        } catch (const SqliteError& e) {
            return e.IsDamage();
        }
    };
    SECTION("flipped bytes in a data page") {
        for (int k = 0; k < 16; ++k) bytes[10 * 4096 + 100 + k] ^= 0x5a;
        escucha::test::WriteFile(dir / "vault.db", bytes);
        CHECK(damaged());
    }
    SECTION("flipped bytes in the first page") {
        for (int k = 0; k < 16; ++k) bytes[200 + k] ^= 0x5a;
        escucha::test::WriteFile(dir / "vault.db", bytes);
        CHECK(FailureOf([&] { (void)Vault::Open(dir.Path(), GOOD, catalogue); }) == VaultFailure::Damaged);
    }
    SECTION("a truncated file") {
        escucha::test::WriteFile(dir / "vault.db", bytes.substr(0, bytes.size() / 2));
        CHECK(damaged());
    }
    SECTION("a damaged parameter file") {
        escucha::test::WriteFile(dir / "vault.kdf", "{ not json");
        CHECK(FailureOf([&] { (void)Vault::Open(dir.Path(), GOOD, catalogue); }) == VaultFailure::Damaged);
    }
    SECTION("a missing parameter file") {
        std::filesystem::remove(dir / "vault.kdf");
        CHECK(FailureOf([&] { (void)Vault::Open(dir.Path(), GOOD, catalogue); }) == VaultFailure::Damaged);
    }
}

namespace {
/// The vault's database opened with plain SQLCipher calls and its recovery key, as docs/recovery.md does.
void KeyWithRecoveryKey(Database& db, const SecretBytes& key) {
    db.Exec("PRAGMA key = \"" + std::string(key.begin(), key.end()) + "\"");
    db.Exec("PRAGMA cipher_page_size = 4096");
}
} // namespace

TEST_CASE("The recovery key opens the vault with plain SQLCipher calls", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    SecretBytes key;
    {
        auto vault = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions());
        AddStory(vault, "recuperable");
        key = vault.RawKeyForRecovery();
    }
    Database db((dir / "vault.db").string(), false);
    KeyWithRecoveryKey(db, key);
    CHECK(db.QueryText("SELECT text FROM story") == "recuperable");
}

TEST_CASE("A vault written by a newer Escucha is refused in words and left as it is", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    SecretBytes key;
    {
        auto vault = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions());
        AddStory(vault, "de una versión futura");
        vault.Db().Exec("PRAGMA user_version = " + std::to_string(RecordStore::SCHEMA_VERSION + 1));
        key = vault.RawKeyForRecovery();
    }
    try {
        (void)Vault::Open(dir.Path(), GOOD, catalogue);
        FAIL("opened");
    } catch (const VaultError& e) {
        CHECK(e.Failure() == VaultFailure::Unreadable);
        CHECK(e.Code() == errc::VAULT_NEWER_FORMAT);
        CHECK(e.Params()["format"] == std::to_string(RecordStore::SCHEMA_VERSION + 1));
        CHECK(e.Params()["known"] == std::to_string(RecordStore::SCHEMA_VERSION));
        CHECK_THAT(e.what(), Catch::Contains("newer Escucha"));
    }
    // Nothing was written: the newer version still finds its format and its text.
    Database db((dir / "vault.db").string(), false);
    KeyWithRecoveryKey(db, key);
    CHECK(db.QueryInt("PRAGMA user_version") == RecordStore::SCHEMA_VERSION + 1);
    CHECK(db.QueryText("SELECT text FROM story") == "de una versión futura");
}

TEST_CASE("An edited vault.kdf is reported as edited or damaged, not as a wrong passphrase", "[storage]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    {
        auto vault = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions());
        AddStory(vault, "texto");
    }
    auto kdf = nlohmann::json::parse(escucha::test::ReadFile(dir / "vault.kdf"));
    REQUIRE(kdf.contains("digest"));
    const auto refused = [&](const nlohmann::json& edited) {
        escucha::test::WriteFile(dir / "vault.kdf", edited.dump(2));
        try {
            (void)Vault::Open(dir.Path(), GOOD, catalogue);
            FAIL("opened");
        } catch (const VaultError& e) {
            CHECK(e.Failure() == VaultFailure::Damaged);
            CHECK_THAT(e.what(), Catch::Contains("vault.kdf was edited or is damaged"));
        }
    };
    SECTION("a cost raised by hand") {
        auto edited = kdf;
        edited["opslimit"] = kdf["opslimit"].get<int>() + 1;
        refused(edited);
    }
    SECTION("the check value changed") {
        auto edited = kdf;
        auto check = edited["check"].get<std::string>();
        check[0] = check[0] == '0' ? '1' : '0';
        edited["check"] = check;
        refused(edited);
    }
    SECTION("another salt, checksum removed") {
        auto edited = kdf;
        auto salt = edited["salt"].get<std::string>();
        salt[0] = salt[0] == '0' ? '1' : '0';
        edited["salt"] = salt;
        edited.erase("digest");
        refused(edited);
    }
    SECTION("a file from before the checksum opens and gets one") {
        auto old = kdf;
        old.erase("digest");
        escucha::test::WriteFile(dir / "vault.kdf", old.dump(2));
        CHECK_NOTHROW(Vault::Open(dir.Path(), GOOD, catalogue));
        CHECK(nlohmann::json::parse(escucha::test::ReadFile(dir / "vault.kdf"))["digest"] == kdf["digest"]);
        CHECK(FailureOf([&] { (void)Vault::Open(dir.Path(), OTHER, catalogue); }) == VaultFailure::WrongPassphrase);
    }
}

TEST_CASE("The key derivation cost given at creation is what vault.kdf keeps; the default is the production cost",
          "[storage]") {
    // Tests use the cheapest cost; a vault made without options must not.
    const VaultOptions defaults;
    CHECK(defaults.kdf_opslimit >= 3);
    CHECK(defaults.kdf_memlimit >= 64ull * 1024 * 1024);
    CHECK(KdfParams{}.opslimit >= 3);
    CHECK(KdfParams{}.memlimit >= 64ull * 1024 * 1024);

    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    auto vault = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions());
    const auto written = ReadKdfFile(dir / "vault.kdf");
    REQUIRE(written);
    CHECK(written->opslimit == crypto_pwhash_OPSLIMIT_MIN);
    CHECK(written->memlimit == crypto_pwhash_MEMLIMIT_MIN);
    vault.ChangePassphrase(OTHER);
    const auto changed = ReadKdfFile(dir / "vault.kdf");
    REQUIRE(changed);
    CHECK(changed->opslimit == crypto_pwhash_OPSLIMIT_MIN);
    CHECK(changed->memlimit == crypto_pwhash_MEMLIMIT_MIN);
    CHECK(changed->salt != written->salt);
}

TEST_CASE("Vault failures carry a code and the vault's directory as a parameter", "[storage][errors]") {
    TempDir dir;
    const auto catalogue = escucha::test::TestCatalogue();
    const auto error_of = [](const std::function<void()>& work) -> VaultError {
        try {
            work();
        } catch (const VaultError& e) {
            return e;
        }
        FAIL("no VaultError");
        return VaultError(VaultFailure::Unreadable, "");
    };
    const auto weak = error_of([&] { (void)Vault::Create(dir.Path(), Passphrase("corta"), catalogue, FastOptions()); });
    CHECK(weak.Code() == escucha::storage::errc::WEAK_PASSPHRASE);
    CHECK(weak.Params()["min"] == MIN_PASSPHRASE_BYTES);
    const auto none = error_of([&] { (void)Vault::Open(dir / "nowhere", GOOD, catalogue); });
    CHECK(none.Code() == escucha::storage::errc::VAULT_NOT_FOUND);
    CHECK(none.Params()["path"] == (dir / "nowhere").string());
    { auto v = Vault::Create(dir.Path(), GOOD, catalogue, FastOptions()); }
    const auto wrong = error_of([&] { (void)Vault::Open(dir.Path(), OTHER, catalogue); });
    CHECK(wrong.Code() == escucha::storage::errc::WRONG_PASSPHRASE);
    CHECK(wrong.Params()["path"] == dir.Path().string());
    for (const auto failure : {VaultFailure::NotFound, VaultFailure::AlreadyExists, VaultFailure::WrongPassphrase,
                               VaultFailure::WeakPassphrase, VaultFailure::Damaged, VaultFailure::Unreadable,
                               VaultFailure::PassphraseChangeInterrupted})
        CHECK(escucha::storage::FindErrorCode(VaultFailureCode(failure)));
}
