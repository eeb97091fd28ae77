// Recordings between devices: a researcher's audio goes up with sync, an
// interpreter downloads it from a real escucha-hq (resumed at the byte when
// the line drops, checked by hash, kept encrypted), devices that may not
// hear it learn nothing, and a consent withdrawal erases it everywhere.
#include "cli/process.h"
#include "escucha/capture/audio.h"
#include "escucha/capture/operations.h"
#include "escucha/storage/blobs.h"
#include "escucha/sync/hq_server.h"
#include "sync/fault_proxy.h"
#include "sync/sync_fixture.h"

#include <filesystem>
#include <fstream>
#include <thread>

using namespace escucha;
using namespace escucha::test;

namespace fs = std::filesystem;

namespace {

void Run(const std::string& command) {
    INFO(command);
    REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
}

/// A WAV of `seconds` of a 440 Hz tone at a phone's 16 kHz, made by sox.
std::string Tone(const TempDir& dir, int seconds) {
    const auto path = (dir / ("tono" + std::to_string(seconds) + ".wav")).string();
    Run("sox -n -r 16000 -c 1 '" + path + "' synth " + std::to_string(seconds) + " sine 440");
    return path;
}

int64_t DurationMs(storage::Vault& vault, const std::string& sha) {
    storage::BlobStore blobs(vault);
    capture::Decoder decoder(blobs.Open(sha));
    return decoder.DurationMs();
}

/// A GET with a device's token, its answer as it came.
sync::HttpResult Get(const std::string& url, const std::string& token) {
    sync::HttpClient http;
    return http.Get(url, token);
}

/// Gives up on a stalled connection after 3 s, not 30.
sync::HttpOptions Quick() {
    sync::HttpOptions options;
    options.stall_timeout_s = 3;
    return options;
}

std::string Token(storage::Vault& vault) { return vault.GetMeta("sync.token").value(); }

/// Parts of the vault a download left (owner "download:<sha>").
int DownloadParts(storage::Vault& vault) {
    storage::BlobStore blobs(vault);
    int n = 0;
    for (const auto& part : blobs.Parts()) n += part.owner.rfind("download:", 0) == 0;
    return n;
}

std::string ReadBytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteBytes(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

const std::string NOBODYS_SHA(64, 'a');

} // namespace

TEST_CASE("An interpreter downloads a recording from HQ on demand; a withdrawal erases it on every device and at HQ",
          "[sync][audio]") {
    Hq hq;
    FaultProxy proxy(hq.process.Port());
    const std::string via_proxy = "http://127.0.0.1:" + std::to_string(proxy.Port());
    Device ana(hq, "researcher");
    Device luis(hq, "interpreter", via_proxy);
    REQUIRE(ana.Sync().ok);

    // Ana records Rosa's interview (and a second take, whose upload HQ has
    // only begun), then syncs: the records and the audio go up.
    const std::string rosa = ana.Add("participant", {{"pseudonym", "Rosa"}})["id"];
    const auto consent = ana.Add("consent", {{"participant_id", rosa},
                                             {"script_version", "v2"},
                                             {"language", "es"},
                                             {"mode", "oral_recorded"},
                                             {"scopes", {"record_audio"}}});
    const auto interview = ana.Add("interview", {{"kind", "life_journey"}, {"participant_ids", {rosa}}});
    const Json fields = {{"project_id", ana.Project()},
                         {"interview_id", interview["id"]},
                         {"title", "Rosa, la cosecha"},
                         {"participant_ids", {rosa}}};
    const auto recording = capture::ImportAudio(ana.vault, ana.vault.Records(), fields, Tone(ana.dir, 20));
    const auto take2 = capture::ImportAudio(ana.vault, ana.vault.Records(), fields, Tone(ana.dir, 4));
    const std::string sha = recording["audio_sha256"], sha2 = take2["audio_sha256"];
    const auto duration = DurationMs(ana.vault, sha);
    CHECK(duration == Approx(20000).margin(100));
    {
        // Half of the second take reaches HQ; the device will not send the rest.
        storage::BlobStore blobs(ana.vault);
        const auto bytes = blobs.ReadAll(sha2);
        sync::HttpClient http;
        const auto put =
            http.Put(hq.process.Url() + "/v1/blobs/" + sha2 + "?offset=0&total=" + std::to_string(bytes.size()),
                     bytes.substr(0, bytes.size() / 2), Token(ana.vault));
        REQUIRE(put.status == 200);
        blobs.MarkUploaded(sha2);
    }
    const auto up = ana.Sync();
    INFO(up.error);
    REQUIRE(up.ok);
    CHECK(up.blobs_uploaded == 1);
    const auto hq_blobs = hq.dir / "hq" / "blobs" / hq.project;
    REQUIRE(fs::exists(hq_blobs / (sha + ".blob")));
    REQUIRE(fs::exists(hq_blobs / (sha2 + ".blob.part")));

    // Luis, an interpreter, receives the records, not the audio.
    REQUIRE(luis.Sync().ok);
    REQUIRE(luis.vault.Records().Get(recording["id"]));
    storage::BlobStore luis_blobs(luis.vault);
    CHECK_FALSE(luis_blobs.Find(sha));

    SECTION("the download resumes at the byte when the line drops, and the audio plays the same") {
        // The answer is cut after 20,000 bytes: what came is kept, and the rest asked from there.
        proxy.Inject(Fault::CutAnswer, 1, 20'000);
        sync::SyncClient client(luis.vault, Quick());
        std::vector<std::pair<int64_t, int64_t>> progress;
        sync::DownloadOptions options;
        options.progress = [&](int64_t done, int64_t total) { progress.emplace_back(done, total); };
        const auto report = client.DownloadBlob(sha, options);
        INFO(report.error);
        REQUIRE(report.ok);
        CHECK(proxy.FaultsLeft() == 0);
        CHECK(report.requests == 2);
        CHECK(report.size > 20'000);
        CHECK(report.received == report.size); // no byte twice
        REQUIRE(!progress.empty());
        CHECK(progress.back() == std::make_pair(report.size, report.size));
        for (size_t i = 1; i < progress.size(); ++i) CHECK(progress[i].first >= progress[i - 1].first);

        const auto kept = luis_blobs.Find(sha);
        REQUIRE(kept);
        CHECK(kept->uploaded); // never sent back
        CHECK(kept->size == report.size);
        CHECK_FALSE(luis_blobs.Verify(sha));
        CHECK(DurationMs(luis.vault, sha) == duration);
        CHECK(DownloadParts(luis.vault) == 0);
        // Encrypted in the vault: no Ogg page header in any of its files.
        CHECK(FilesWithPlainMedia(luis.dir / "vault") == "");
        const auto again = luis.Sync();
        CHECK(again.ok);
        CHECK(again.blob_bytes_sent == 0);
        // Held already: nothing is asked.
        const auto twice = client.DownloadBlob(sha);
        CHECK(twice.ok);
        CHECK(twice.already_here);
        CHECK(twice.requests == 0);
    }

    SECTION("a download cut short resumes in the next call from the bytes the vault kept") {
        proxy.Inject(Fault::CutAnswer, 1, 20'000);
        sync::SyncClient client(luis.vault, Quick());
        sync::DownloadOptions once;
        once.retries = 0;
        const auto cut = client.DownloadBlob(sha, once);
        REQUIRE_FALSE(cut.ok);
        CHECK(cut.error_code == storage::errc::CONNECTION_LOST);
        CHECK(cut.received > 10'000);
        CHECK_FALSE(luis_blobs.Find(sha));
        CHECK(DownloadParts(luis.vault) == 1);

        sync::SyncClient later(luis.vault, Quick());
        const auto resumed = later.DownloadBlob(sha);
        INFO(resumed.error);
        REQUIRE(resumed.ok);
        CHECK(resumed.resumed_from == cut.received);
        CHECK(resumed.received == resumed.size - cut.received);
        CHECK(resumed.requests == 1);
        CHECK(DurationMs(luis.vault, sha) == duration);
        CHECK(DownloadParts(luis.vault) == 0);
    }

    SECTION("a file damaged at HQ is not served, and nothing of it is kept") {
        const auto file = hq_blobs / (sha + ".blob");
        const auto good = ReadBytes(file);
        auto bad = good;
        bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x40);
        WriteBytes(file, bad);
        sync::SyncClient client(luis.vault);
        const auto report = client.DownloadBlob(sha);
        CHECK_FALSE(report.ok);
        // HQ's files are sealed chunk by chunk (decision 15): HQ finds the
        // damage itself and sends none of it.
        CHECK(report.error_code != storage::errc::DOWNLOAD_DAMAGED);
        CHECK_FALSE(luis_blobs.Find(sha));
        CHECK(DownloadParts(luis.vault) == 0);
        WriteBytes(file, good);
        CHECK(client.DownloadBlob(sha).ok);
    }

    SECTION("a device that may not hear the recording learns nothing of it") {
        // Another project's coordinator, and a researcher of this project
        // who did not record it: their answers for the real file are the
        // answers for a file nobody has, byte for byte.
        const auto other = hq.process.Admin({"create-project", "Otro proyecto"});
        TempDir elsewhere;
        auto vault = storage::Vault::Create(elsewhere / "vault", storage::Passphrase("frase de paso larga"), AllTypes(),
                                            {"marta", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN});
        REQUIRE_FALSE(sync::Enrol(
            vault, hq.process.Url(),
            hq.process.Admin({"enrol", "--project", other, "--role", "coordinator", "--person", "marta"}), ""));
        Device carla(hq, "researcher");
        REQUIRE(carla.Sync().ok);
        for (const auto& token : {Token(vault), Token(carla.vault)}) {
            const auto real = Get(hq.process.Url() + "/v1/blobs/" + sha + "/data?offset=0", token);
            const auto none = Get(hq.process.Url() + "/v1/blobs/" + NOBODYS_SHA + "/data?offset=0", token);
            CHECK(real.status == 404);
            CHECK(real.body == none.body);
            CHECK(real.headers.count("content-range") == 0);
            storage::ErrorValue problem = real.Problem(hq.process.Url());
            CHECK(problem.code == storage::errc::NO_SUCH_BLOB);
        }
        // The one who recorded it and the interpreter get it.
        auto own = Get(hq.process.Url() + "/v1/blobs/" + sha + "/data?offset=100", Token(ana.vault));
        CHECK(own.status == 200);
        CHECK(own.headers["content-type"] == "application/octet-stream");
        CHECK(own.headers["content-range"].rfind("bytes 100-", 0) == 0);
        // An upload HQ has not finished is not a file to download.
        const auto unfinished = Get(hq.process.Url() + "/v1/blobs/" + sha2 + "/data", Token(luis.vault));
        CHECK(unfinished.status == 404);
        sync::SyncClient client(luis.vault);
        const auto report = client.DownloadBlob(sha2);
        CHECK(report.error_code == storage::errc::NO_SUCH_BLOB);
        CHECK(DownloadParts(luis.vault) == 0);
        // A file no record on the device names is not even asked for.
        const auto nobody = client.DownloadBlob(NOBODYS_SHA);
        CHECK(nobody.error_code == storage::errc::NO_SUCH_BLOB);
        CHECK(nobody.requests == 0);
        CHECK(Get(hq.process.Url() + "/v1/blobs/" + sha + "/data", "").status == 401);
    }

    SECTION("a download cut short and never resumed") {
        proxy.Inject(Fault::CutAnswer, 1, 20'000);
        sync::SyncClient client(luis.vault, Quick());
        sync::DownloadOptions once;
        once.retries = 0;
        REQUIRE_FALSE(client.DownloadBlob(sha, once).ok);
        REQUIRE(DownloadParts(luis.vault) == 1); // what came is kept, until the withdrawal below
    }

    // Rosa withdraws her consent on Ana's device; both sync.
    const bool luis_had_it = luis_blobs.Find(sha).has_value();
    const auto w = capture::WithdrawConsent(ana.vault.Records(), rosa, "2026-11-30");
    CHECK(w.consent_ids == std::vector<std::string>{consent["id"].get<std::string>()});
    CHECK(w.erased.at("recording") == 2);
    storage::BlobStore ana_blobs(ana.vault);
    CHECK_FALSE(ana_blobs.Find(sha));
    CHECK_FALSE(ana_blobs.Find(sha2));
    const auto ana_report = ana.Sync();
    INFO(ana_report.error);
    REQUIRE(ana_report.ok);
    // HQ keeps neither the file nor the unfinished upload.
    CHECK_FALSE(fs::exists(hq_blobs / (sha + ".blob")));
    CHECK_FALSE(fs::exists(hq_blobs / (sha2 + ".blob.part")));
    CHECK_FALSE(fs::exists(hq_blobs / (sha2 + ".blob.part.claim")));
    const auto luis_report = luis.Sync();
    INFO(luis_report.error);
    REQUIRE(luis_report.ok);
    CHECK(luis.vault.Records().Get(recording["id"])->at("deleted") == true);
    CHECK_FALSE(luis_blobs.Find(sha));
    CHECK(luis.vault.Db().QueryInt("SELECT count(*) FROM blob") == 0);
    CHECK(DownloadParts(luis.vault) == 0);
    INFO("Luis had downloaded it: " << luis_had_it);
    // Nobody can download it any more, not even its recorder.
    CHECK(Get(hq.process.Url() + "/v1/blobs/" + sha + "/data", Token(ana.vault)).status == 404);
}

TEST_CASE("A recording comes down in many pieces when HQ answers in small ones", "[sync][audio]") {
    TempDir dir;
    sync::SqliteHqStore store((dir / "hq.db").string());
    sync::HqBlobStore hq_blobs(dir / "blobs");
    const auto project = store.CreateProject("Café Nariño");
    sync::ServerOptions options;
    options.blobs = &hq_blobs;
    options.api.blob_piece = 4096;
    sync::HqServer server(store, AllTypes(), options);
    const int port = server.Bind("127.0.0.1", 0);
    REQUIRE(port > 0);
    std::thread serving([&] { server.ListenAfterBind(); });
    server.WaitUntilReady();
    const std::string url = "http://127.0.0.1:" + std::to_string(port);
    FaultProxy proxy(port);

    struct Phone {
        TempDir dir;
        storage::Vault vault;
        Phone(sync::SqliteHqStore& store, const std::string& project, sync::Role role, const std::string& url)
            : vault(storage::Vault::Create(dir / "vault", storage::Passphrase("frase de paso larga"), AllTypes(),
                                           {"alguien", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN})) {
            const auto code = sync::NewEnrolmentCode();
            store.AddEnrolment(sync::HashSecret(code), project, role, "",
                               storage::FormatIsoMillis(storage::SystemMillis() + 86'400'000));
            const auto error = sync::Enrol(vault, url, code, "");
            INFO(error.value_or(""));
            REQUIRE_FALSE(error);
        }
    };
    Phone ana(store, project.id, sync::Role::Researcher, url);
    Phone luis(store, project.id, sync::Role::Interpreter, "http://127.0.0.1:" + std::to_string(proxy.Port()));
    const auto interview =
        ana.vault.Records().Create("interview", {{"project_id", project.id}, {"kind", "life_journey"}});
    const auto recording =
        capture::ImportAudio(ana.vault, ana.vault.Records(),
                             {{"project_id", project.id}, {"interview_id", interview["id"]}}, Tone(ana.dir, 6));
    const std::string sha = recording["audio_sha256"];
    REQUIRE(sync::SyncClient(ana.vault).SyncOnce().ok);
    REQUIRE(sync::SyncClient(luis.vault).SyncOnce().ok);

    // The line drops in the middle of the third piece.
    proxy.Inject(Fault::CutAnswer, 1, 3 * 4096);
    sync::SyncClient client(luis.vault, Quick());
    const auto report = client.DownloadBlob(sha);
    INFO(report.error);
    REQUIRE(report.ok);
    CHECK(proxy.FaultsLeft() == 0);
    // Pieces start where the vault's copy stops: after the cut they are not
    // aligned on 4 KiB any more, and no byte comes twice.
    const auto pieces = (report.size + 4095) / 4096;
    CHECK(report.size > 3 * 4096);
    CHECK(report.requests >= pieces + 0);
    CHECK(report.requests <= pieces + 1);
    CHECK(report.received == report.size);
    CHECK(DurationMs(luis.vault, sha) == DurationMs(ana.vault, sha));

    // An offset past the end says so; one at the end answers no bytes.
    const auto token = Token(luis.vault);
    auto past = Get(url + "/v1/blobs/" + sha + "/data?offset=" + std::to_string(report.size + 1), token);
    CHECK(past.status == 416);
    auto end = Get(url + "/v1/blobs/" + sha + "/data?offset=" + std::to_string(report.size), token);
    CHECK(end.status == 200);
    CHECK(end.body.empty());
    CHECK(end.headers["content-range"] == "bytes */" + std::to_string(report.size));
    CHECK(Get(url + "/v1/blobs/" + sha + "/data?offset=-1", token).status == 400);
    CHECK(Get(url + "/v1/blobs/" + sha + "/data/", token).status == 400);
    sync::HttpClient http;
    CHECK(http.Put(url + "/v1/blobs/" + sha + "/data?offset=0&total=1", "x", token).status == 405);

    // When the recording is deleted, HQ's file goes with it.
    ana.vault.Records().Delete(recording["id"]);
    REQUIRE(sync::SyncClient(ana.vault).SyncOnce().ok);
    CHECK_FALSE(fs::exists(hq_blobs.PathOf(project.id, sha)));
    server.Stop();
    serving.join();
}

TEST_CASE("escucha-cli fetch-audio downloads a recording's audio once", "[sync][audio][cli]") {
    Hq hq;
    Device ana(hq, "researcher");
    const auto interview = ana.Add("interview", {{"kind", "life_journey"}});
    const auto recording =
        capture::ImportAudio(ana.vault, ana.vault.Records(),
                             {{"project_id", ana.Project()}, {"interview_id", interview["id"]}}, Tone(ana.dir, 3));
    REQUIRE(ana.Sync().ok);

    TempDir home;
    const auto vault = (home / "vault").string();
    const Env pass = {{"ESCUCHA_PASSPHRASE", "frase de paso larga"}};
    const auto cli = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--vault", vault});
        return RunCli(args, pass);
    };
    REQUIRE(cli({"init"}).exit_code == 0);
    const auto enrolled = cli({"enrol", "--server", hq.process.Url(), "--code", hq.Code("interpreter", "luis")});
    INFO(enrolled.out << enrolled.err);
    REQUIRE(enrolled.exit_code == 0);
    REQUIRE(cli({"sync"}).exit_code == 0);

    const auto fetched = cli({"fetch-audio", recording["id"]});
    INFO(fetched.out << fetched.err);
    CHECK(fetched.exit_code == 0);
    CHECK(fetched.out == recording["audio_sha256"].get<std::string>() + "\n");
    CHECK_THAT(fetched.err, Catch::Contains("kept encrypted in the vault"));
    const auto again = cli({"fetch-audio", recording["id"]});
    CHECK(again.exit_code == 0);
    CHECK_THAT(again.err, Catch::Contains("on this device already"));
    const auto out = (home / "copia.ogg").string();
    CHECK(cli({"export-audio", recording["id"], out}).exit_code == 0);
    CHECK(ReadBytes(out).rfind("OggS", 0) == 0);

    const auto unknown = cli({"fetch-audio", interview["id"]});
    CHECK(unknown.exit_code != 0);
    CHECK_THAT(unknown.err, Catch::Contains("no recording"));
}
