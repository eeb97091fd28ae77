// Headquarters' data at rest: what a real device syncs is in no file of the
// data directory in plain, whatever the moment; the key is refused when
// others may read it, a wrong key changes nothing, a change of key keeps
// everything readable, a folder of an earlier version is encrypted in place,
// and only one escucha-hq serves a data directory.
#include "cli/process.h"
#include "escucha/capture/audio.h"
#include "escucha/storage/blobs.h"
#include "escucha/storage/clock.h"
#include "escucha/sync/hq_at_rest.h"
#include "escucha/sync/hq_server.h"
#include "sync/sync_fixture.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

using namespace escucha;
using namespace escucha::test;

namespace fs = std::filesystem;

namespace {

const std::string CANARY = "CANARIO-7f3a-la-deuda-del-patron";
const std::string BLOB_CANARY = "CANARIO-EN-EL-AUDIO-91c2";

/// A WAV of `seconds` of a tone at a phone's 16 kHz, made by sox.
std::string Tone(const TempDir& dir, int seconds) {
    const auto path = (dir / ("tono" + std::to_string(seconds) + ".wav")).string();
    const auto command =
        "sox -n -r 16000 -c 1 '" + path + "' synth " + std::to_string(seconds) + " sine 440 >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
    return path;
}

std::string NewKey(const TempDir& dir, const std::string& name) {
    const auto path = (dir / name).string();
    const auto r = RunProgram({HqPath(), "new-key", path});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return path;
}

ProcessResult RunHq(const std::vector<std::string>& args, const Env& env = {}) {
    std::vector<std::string> argv = {HqPath()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv, env);
}

/// Bytes `offset`.. of a blob, as a device downloads them.
sync::HttpResult Piece(const test::Hq& hq, const std::string& sha, int64_t offset, const std::string& token) {
    sync::HttpClient http;
    return http.Get(hq.process.Url() + "/v1/blobs/" + sha + "/data?offset=" + std::to_string(offset), token);
}

/// A researcher who synced a narrative with the canary, a recording (a
/// minute of tone: several chunks) and a file whose bytes hold a canary.
struct Synced {
    test::Hq hq;
    Device ana{hq, "researcher"};
    std::string narrative;
    std::string sha;  ///< the recording's audio
    std::string sha2; ///< the file with a canary inside
    std::string audio;

    Synced() {
        narrative = ana.Add("narrative", {{"title", "La deuda"}, {"text", "Rosa cuenta: " + CANARY}})["id"];
        const std::string rosa = ana.Add("participant", {{"pseudonym", "Rosa"}})["id"];
        (void)ana.Add("consent", {{"participant_id", rosa},
                                  {"script_version", "v2"},
                                  {"language", "es"},
                                  {"mode", "oral_recorded"},
                                  {"scopes", {"record_audio"}}});
        const auto interview = ana.Add("interview", {{"kind", "life_journey"}, {"participant_ids", {rosa}}});
        const Json fields = {{"project_id", ana.Project()},
                             {"interview_id", interview["id"]},
                             {"title", "Rosa, la cosecha"},
                             {"participant_ids", {rosa}}};
        sha = capture::ImportAudio(ana.vault, ana.vault.Records(), fields, Tone(ana.dir, 60))["audio_sha256"];
        storage::BlobStore blobs(ana.vault);
        audio = blobs.ReadAll(sha);
        std::string with_canary;
        for (int i = 0; i < 3000; ++i) with_canary += BLOB_CANARY + std::to_string(i);
        sha2 = blobs.AddBytes(with_canary).sha256;
        const auto report = ana.Sync();
        INFO(report.error);
        REQUIRE(report.ok);
        REQUIRE(report.blobs_uploaded == 2);
    }

    [[nodiscard]] fs::path Dir() const { return hq.dir / "hq"; }
    [[nodiscard]] std::string Token() { return ana.vault.GetMeta("sync.token").value(); }

    /// Nothing the device sent is in any file of the data directory in plain.
    void RequireNothingPlain() const {
        INFO("files of " << Dir());
        CHECK(FilesContaining(Dir(), CANARY).empty());
        CHECK(FilesContaining(Dir(), BLOB_CANARY).empty());
        CHECK(FilesContaining(Dir(), "Rosa, la cosecha").empty());
        CHECK(FilesWithPlainMedia(Dir()) == "");
        CHECK(FilesContaining(Dir(), "SQLite format 3").empty());
        CHECK(FilesContaining(Dir(), "Café Nariño").empty()); // the project's name
    }

    /// HQ still holds and serves everything: the narrative, and the
    /// recording from any offset, byte for byte.
    void RequireAllThere() {
        const auto records = hq.Records();
        REQUIRE(records.count(narrative) == 1);
        CHECK(records.at(narrative)["text"].get<std::string>().find(CANARY) != std::string::npos);
        const auto token = Token();
        for (const int64_t offset : {int64_t{0}, int64_t{70'000}, static_cast<int64_t>(audio.size()) - 5}) {
            INFO("offset " << offset);
            const auto piece = Piece(hq, sha, offset, token);
            REQUIRE(piece.status == 200);
            CHECK(piece.body == audio.substr(static_cast<size_t>(offset)));
        }
        CHECK(Piece(hq, sha, static_cast<int64_t>(audio.size()) + 1, token).status == 416);
    }
};

} // namespace

TEST_CASE("What a device syncs is in no file of HQ's data directory in plain, running, checkpointed or stopped",
          "[sync][at-rest]") {
    Synced s;
    s.RequireNothingPlain();
    // An interpreter receives it all: the scan above looked at real data.
    Device luis(s.hq, "interpreter");
    REQUIRE(luis.Sync().ok);
    CHECK(luis.vault.Records().Get(s.narrative).value()["text"].get<std::string>().find(CANARY) != std::string::npos);
    sync::SyncClient client(luis.vault);
    const auto download = client.DownloadBlob(s.sha);
    INFO(download.error);
    REQUIRE(download.ok);
    CHECK(download.size == static_cast<int64_t>(s.audio.size()));
    s.RequireAllThere();

    // Stopped cleanly, SQLite folds its log into the database and removes it.
    s.hq.process.Stop();
    CHECK_FALSE(fs::exists(s.Dir() / "hq.db-wal"));
    s.RequireNothingPlain();
    // Killed, the log stays: it is encrypted too.
    s.hq.process.Restart();
    REQUIRE(s.ana.Add("narrative", {{"title", "Otra"}, {"text", "y otra vez " + CANARY}}).is_object());
    const auto again = s.ana.Sync();
    INFO(again.error);
    REQUIRE(again.ok);
    s.hq.process.Kill9();
    s.RequireNothingPlain();
    // And after a restart, downloads from any offset still work.
    s.hq.process.Restart();
    s.RequireAllThere();
}

TEST_CASE("A key file that others may read, or that is not there, is refused in words", "[sync][at-rest]") {
    TempDir dir;
    const auto key = NewKey(dir, "hq.key");
    CHECK((fs::status(key).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
    const auto data = (dir / "hq").string();
    for (const auto mode : {fs::perms::group_read, fs::perms::others_read, fs::perms::group_write}) {
        fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write | mode, fs::perm_options::replace);
        const auto r = RunHq({"--data", data, "--key-file", key, "--listen", "127.0.0.1:0"});
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains("may be read by others") && Catch::Contains("chmod 600"));
        const auto admin = RunHq({"--data", data, "--key-file", key, "admin", "projects"});
        CHECK(admin.exit_code == 2);
        CHECK_THAT(admin.err, Catch::Contains("may be read by others"));
    }
    CHECK_FALSE(fs::exists(dir / "hq" / "hq.db"));
    fs::permissions(key, fs::perms::owner_read, fs::perm_options::replace);
    CHECK(RunHq({"--data", data, "--key-file", key, "admin", "create-project", "Uno"}).exit_code == 0);

    const auto missing = RunHq({"--data", data, "--key-file", (dir / "nada.key").string(), "admin", "projects"});
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.err, Catch::Contains("cannot be read"));
    const auto none = RunHq({"--data", data, "admin", "projects"}, {{"ESCUCHA_HQ_PASSPHRASE", ""}});
    CHECK(none.exit_code == 1);
    CHECK_THAT(none.err, Catch::Contains("needs its key"));
    WriteFile(dir / "short.key", "0123456789");
    fs::permissions(dir / "short.key", fs::perms::owner_read, fs::perm_options::replace);
    const auto short_key = RunHq({"--data", data, "--key-file", (dir / "short.key").string(), "admin", "projects"});
    CHECK_THAT(short_key.err, Catch::Contains("from 32 bytes"));
    const auto both =
        RunHq({"--data", data, "--key-file", key, "admin", "projects"}, {{"ESCUCHA_HQ_PASSPHRASE", "una frase larga"}});
    CHECK_THAT(both.err, Catch::Contains("not both"));
    CHECK_THAT(RunHq({"new-key", key}).err, Catch::Contains("never overwritten"));
}

TEST_CASE("A wrong key is refused and leaves every file of the data directory as it was", "[sync][at-rest]") {
    Synced s;
    s.hq.process.Stop();
    TempDir keys;
    const auto wrong = NewKey(keys, "otra.key");
    const auto before = Snapshot(s.Dir());
    const auto data = s.Dir().string();

    const auto admin = RunHq({"--data", data, "--key-file", wrong, "admin", "projects"});
    CHECK(admin.exit_code == 3);
    CHECK_THAT(admin.err, Catch::Contains("does not open") && Catch::Contains("nothing was changed"));
    const auto serve = RunHq({"--data", data, "--key-file", wrong, "--listen", "127.0.0.1:0"});
    CHECK(serve.exit_code == 3);
    const auto rekey = RunHq({"--data", data, "--key-file", wrong, "admin", "rekey", "--new-key-file", wrong});
    CHECK(rekey.exit_code == 3);
    const auto passphrase =
        RunHq({"--data", data, "admin", "projects"}, {{"ESCUCHA_HQ_PASSPHRASE", "no es esta clave"}});
    CHECK(passphrase.exit_code == 3);
    CHECK_THAT(passphrase.err, Catch::Contains("different kind of key: give --key-file"));
    CHECK(Snapshot(s.Dir()) == before);

    s.hq.process.Restart();
    s.RequireAllThere();
}

TEST_CASE("admin rekey puts the data under a new key file or passphrase; a restart with it reads everything",
          "[sync][at-rest]") {
    Synced s;
    TempDir keys;
    const auto next = NewKey(keys, "nueva.key");
    const auto old = s.hq.process.KeyFile();
    const auto data = s.Dir().string();

    // Not while a server has the database open.
    const auto busy = RunHq({"--data", data, "--key-file", old, "admin", "rekey", "--new-key-file", next});
    CHECK(busy.exit_code == 2);
    CHECK_THAT(busy.err, Catch::Contains("Another escucha-hq is using"));
    s.hq.process.Stop();
    CHECK_THAT(RunHq({"--data", data, "--key-file", old, "admin", "rekey"}).err, Catch::Contains("needs the new key"));

    // To a passphrase, then to a new key file.
    const Env pass = {{"ESCUCHA_HQ_NEW_PASSPHRASE", "una frase de paso para la sede"}};
    const auto to_pass = RunHq({"--data", data, "--key-file", old, "admin", "rekey"}, pass);
    INFO(to_pass.err);
    REQUIRE(to_pass.exit_code == 0);
    CHECK(RunHq({"--data", data, "--key-file", old, "admin", "projects"}).exit_code == 3);
    const Env current = {{"ESCUCHA_HQ_PASSPHRASE", "una frase de paso para la sede"}};
    const auto listed = RunHq({"--data", data, "admin", "projects"}, current);
    CHECK(listed.exit_code == 0);
    CHECK_THAT(listed.out, Catch::Contains("Café Nariño"));
    const auto to_file = RunHq({"--data", data, "admin", "rekey", "--new-key-file", next}, current);
    INFO(to_file.err);
    REQUIRE(to_file.exit_code == 0);
    CHECK_FALSE(fs::exists(s.Dir() / "hq.kdf.new"));
    CHECK(RunHq({"--data", data, "admin", "projects"}, current).exit_code != 0);
    s.RequireNothingPlain();

    // Restarted with the new key on its port, it serves the devices as before.
    s.hq.process.UseKeyFile(next);
    s.hq.process.Restart();
    CHECK(s.hq.process.Admin({"projects"}).find("Café Nariño") != std::string::npos);
    s.RequireAllThere();
    REQUIRE(s.ana.Add("narrative", {{"title", "Después"}, {"text", "tras el cambio de clave"}}).is_object());
    REQUIRE(s.ana.Sync().ok);
}

TEST_CASE("A store rekeyed with reading connections in its pool reads under the new key, and only under it",
          "[sync][at-rest]") {
    TempDir dir;
    const auto path = (dir / "hq.db").string();
    // SQLCipher's raw key form, as OpenHqStore gives it.
    const auto raw = [](char digit) {
        const std::string text = "x'" + std::string(64, digit) + "'";
        return storage::SecretBytes(text.begin(), text.end());
    };
    const auto token = sync::HashSecret("token");
    {
        sync::SqliteHqStore store(path, raw('a'));
        const auto project = store.CreateProject("P");
        store.AddEnrolment(sync::HashSecret("code"), project.id, sync::Role::Researcher, "", "2999-01-01T00:00:00.000Z");
        REQUIRE(store.Enrol(sync::HashSecret("code"), storage::NewUuidV7(), "", token, "").result ==
                sync::EnrolResult::Enrolled);
        // Token checks side by side: the pool holds several connections,
        // each opened under the first key.
        std::atomic<int> known{0};
        std::vector<std::thread> readers;
        for (int i = 0; i < 4; ++i)
            readers.emplace_back([&] {
                for (int k = 0; k < 25; ++k)
                    if (store.Authenticate(token)) ++known;
            });
        for (auto& t : readers) t.join();
        CHECK(known == 100);
        store.Rekey(raw('b'));
        // Read through connections opened under the new key, not the pooled ones.
        CHECK(store.Authenticate(token));
        const auto device = store.Authenticate(token);
        REQUIRE(device);
        CHECK(store.Pull(*device, 0, 10, sync::ReadScope{device->device_id, {}, {"project"}}).records.size() == 1);
    }
    CHECK_THROWS(sync::SqliteHqStore(path, raw('a')));
    sync::SqliteHqStore again(path, raw('b'));
    CHECK(again.Authenticate(token));
}

TEST_CASE("Only one escucha-hq serves a data directory; a second one says so and the first goes on",
          "[sync][at-rest]") {
    Synced s;
    try {
        HqProcess second(s.Dir().string(), {"--key-file", s.hq.process.KeyFile()});
        FAIL("a second escucha-hq served the same data directory");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), Catch::Contains("Another escucha-hq is using") &&
                                 Catch::Contains("only one may serve a data directory"));
    }
    const auto r = RunHq({"--data", s.Dir().string(), "--key-file", s.hq.process.KeyFile(), "--listen", "127.0.0.1:0"});
    CHECK(r.exit_code == 2);
    // The first one still serves, and admin commands still work beside it.
    REQUIRE(s.ana.Add("narrative", {{"title", "Sigue"}, {"text", "sigue sirviendo"}}).is_object());
    REQUIRE(s.ana.Sync().ok);
    CHECK(s.hq.Records().size() >= 6);
    s.RequireAllThere();
    // Once it stops, another may serve.
    s.hq.process.Stop();
    HqProcess next(s.Dir().string(), {"--key-file", s.hq.process.KeyFile()});
    CHECK(next.Admin({"projects"}).find("Café Nariño") != std::string::npos);
}

TEST_CASE("A data directory of an earlier version is refused until admin encrypt seals it in place",
          "[sync][at-rest]") {
    TempDir dir;
    const auto data = dir / "hq";
    std::string project;
    std::string audio;
    for (int i = 0; i < 5000; ++i) audio += BLOB_CANARY + std::to_string(i);
    const auto sha = [&] {
        unsigned char digest[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(audio.data()), audio.size());
        return storage::HexEncode(digest, sizeof digest);
    }();
    {
        // As an earlier version wrote it: plain SQLite, plain blobs, an unfinished upload.
        fs::create_directories(data);
        sync::SqliteHqStore plain((data / "hq.db").string());
        project = plain.CreateProject(CANARY).id;
        sync::HqBlobStore blobs(data / "blobs");
        sync::BlobStatus after;
        REQUIRE(blobs.Append(project, "device", sha, 0, static_cast<int64_t>(audio.size()), audio, after) ==
                sync::AppendResult::Completed);
        REQUIRE(blobs.Append(project, "device", std::string(64, 'b'), 0, 1000, audio.substr(0, 500), after) ==
                sync::AppendResult::Appended);
    }
    REQUIRE_FALSE(FilesContaining(data, CANARY).empty());
    TempDir keys;
    const auto key = NewKey(keys, "hq.key");
    const auto refused = RunHq({"--data", data.string(), "--key-file", key, "--listen", "127.0.0.1:0"});
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err, Catch::Contains("not encrypted") && Catch::Contains("admin encrypt"));

    const auto encrypted = RunHq({"--data", data.string(), "--key-file", key, "admin", "encrypt"});
    INFO(encrypted.err);
    REQUIRE(encrypted.exit_code == 0);
    CHECK(FilesContaining(data, CANARY).empty());
    CHECK(FilesContaining(data, BLOB_CANARY).empty());
    CHECK(FilesContaining(data, "SQLite format 3").empty());
    CHECK_FALSE(fs::exists(data / "blobs" / project / (std::string(64, 'b') + ".blob.part")));
    CHECK_THAT(RunHq({"--data", data.string(), "--key-file", key, "admin", "encrypt"}).err,
               Catch::Contains("encrypted already"));

    {
        HqProcess hq(data.string(), {"--key-file", key});
        CHECK(hq.Admin({"projects"}).find(CANARY) != std::string::npos);
    }
    // The blob, sealed in place, reads back whole and from an offset.
    sync::HqKeySource source;
    source.key_file = key;
    auto store = sync::OpenHqStore(data, source);
    auto blobs = sync::OpenHqBlobs(data, *store);
    const auto status = blobs->Status(project, sha);
    CHECK(status.complete);
    CHECK(status.size == static_cast<int64_t>(audio.size()));
    std::string piece;
    int64_t size = 0;
    REQUIRE(blobs->ReadPiece(project, sha, 70'001, 100'000, piece, size));
    CHECK(size == static_cast<int64_t>(audio.size()));
    CHECK(piece == audio.substr(70'001, 100'000));
}

// The cost of encryption at rest, run by hand (hidden; prints, asserts
// nothing about time): a device pushes N field notes, then uploads a file of
// M MiB, to an in-process HqServer whose store and blobs are plain, then to
// one whose store and blobs are encrypted as escucha-hq keeps them.
//   ESCUCHA_BENCH_RECORDS=N ESCUCHA_BENCH_MIB=M test_sync "[hq-cost]"
TEST_CASE("Cost of encryption at rest: a push and an upload, plain against encrypted", "[.bench][hq-cost]") {
    const auto number = [](const char* name, long fallback) {
        const char* value = std::getenv(name);
        return value ? std::atol(value) : fallback;
    };
    const long records = number("ESCUCHA_BENCH_RECORDS", 5000);
    const long mib = number("ESCUCHA_BENCH_MIB", 64);
    const int rounds = static_cast<int>(number("ESCUCHA_BENCH_ROUNDS", 3));
    std::string bytes(static_cast<size_t>(mib) * 1024 * 1024, '\0');
    randombytes_buf(bytes.data(), bytes.size());
    using Clock = std::chrono::steady_clock;
    std::map<bool, std::vector<double>> push_s, upload_s;
    for (int round = 0; round < rounds; ++round) {
        for (const bool encrypted : {false, true}) {
            TempDir dir;
            const auto data = dir / "hq";
            fs::create_directories(data);
            std::unique_ptr<sync::SqliteHqStore> store;
            std::unique_ptr<sync::HqBlobStore> blobs;
            if (encrypted) {
                sync::HqKeySource key;
                key.key_file = NewKey(dir, "hq.key");
                store = sync::OpenHqStore(data, key);
                blobs = sync::OpenHqBlobs(data, *store);
            } else {
                store = std::make_unique<sync::SqliteHqStore>((data / "hq.db").string());
                blobs = std::make_unique<sync::HqBlobStore>(data / "blobs");
            }
            sync::ServerOptions options;
            options.blobs = blobs.get();
            sync::HqServer server(*store, AllTypes(), options);
            const int port = server.Bind("127.0.0.1", 0);
            REQUIRE(port > 0);
            std::thread serving([&] { server.ListenAfterBind(); });
            server.WaitUntilReady();
            const auto project = store->CreateProject("Café Nariño");
            const auto code = sync::NewEnrolmentCode();
            store->AddEnrolment(sync::HashSecret(code), project.id, sync::Role::Researcher, "ana",
                                storage::FormatIsoMillis(storage::SystemMillis() + 86'400'000));
            auto vault = storage::Vault::Create(dir / "vault", storage::Passphrase("frase de paso larga"), AllTypes(),
                                                {"ana", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN});
            REQUIRE_FALSE(sync::Enrol(vault, "http://127.0.0.1:" + std::to_string(port), code, ""));
            Json notes = Json::array();
            for (long i = 0; i < records; ++i)
                notes.push_back({{"type", "field_note"},
                                 {"project_id", project.id},
                                 {"kind", "observation"},
                                 {"title", "Nota " + std::to_string(i)},
                                 {"text", "En la finca " + std::to_string(i) +
                                              " las trabajadoras cuentan que la báscula del patrón pesa de menos "
                                              "y que el pago llega tarde, en vales de la tienda, cuando llega."},
                                 {"written_at", "2024-06-11"}});
            (void)vault.Records().Import(notes);
            const auto t0 = Clock::now();
            REQUIRE(sync::SyncClient(vault).SyncOnce().ok);
            const auto t1 = Clock::now();
            storage::BlobStore(vault).AddBytes(bytes);
            const auto t2 = Clock::now();
            const auto up = sync::SyncClient(vault).SyncOnce();
            const auto t3 = Clock::now();
            REQUIRE(up.ok);
            REQUIRE(up.blobs_uploaded == 1);
            push_s[encrypted].push_back(std::chrono::duration<double>(t1 - t0).count());
            upload_s[encrypted].push_back(std::chrono::duration<double>(t3 - t2).count());
            server.Stop();
            serving.join();
        }
    }
    const auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    std::printf("push of %ld field notes: plain %.3f s, encrypted %.3f s, ratio %.2f\n", records, median(push_s[false]),
                median(push_s[true]), median(push_s[true]) / median(push_s[false]));
    std::printf("upload of %ld MiB: plain %.3f s, encrypted %.3f s, ratio %.2f (medians of %d rounds)\n", mib,
                median(upload_s[false]), median(upload_s[true]), median(upload_s[true]) / median(upload_s[false]),
                rounds);
}
