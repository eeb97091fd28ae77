// Headquarters on PostgreSQL: what a real device syncs reaches neither the
// PostgreSQL data directory nor a pg_dump in plain, and an upload begun on
// one escucha-hq is finished on another sharing the database and the blob
// folder.
#include "escucha/capture/audio.h"
#include "escucha/storage/blobs.h"
#include "escucha/sync/hq_blobs.h"
#include "escucha/sync/http.h"
#include "sync/store_factories.h"
#include "sync/sync_fixture.h"

#include <sodium.h>

#include <cstdlib>

using namespace escucha;
using namespace escucha::test;

namespace fs = std::filesystem;

namespace {

const std::string CANARY = "CANARIO-pg-5d1e-el-patron-no-pago";
const std::string BLOB_CANARY = "CANARIO-PG-EN-EL-AUDIO-77b0";

std::string Tone(const TempDir& dir, int seconds) {
    const auto path = (dir / "tono.wav").string();
    const auto command =
        "sox -n -r 16000 -c 1 '" + path + "' synth " + std::to_string(seconds) + " sine 440 >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
    return path;
}

std::string Sha256Hex(const std::string& bytes) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    return storage::HexEncode(digest, sizeof digest);
}

} // namespace

TEST_CASE("What a device syncs to headquarters on PostgreSQL is in neither its data files nor a pg_dump in plain",
          "[sync][postgres][at-rest]") {
    auto* pg = PgServer::Shared();
    if (!pg) {
        WARN(PgServer::Skipped());
        return;
    }
    const auto url = pg->NewDatabase();
    Hq hq({"--store", url});
    Device ana(hq, "researcher");
    const std::string narrative = ana.Add("narrative", {{"title", "La deuda"}, {"text", "Rosa cuenta: " + CANARY}})["id"];
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
    const std::string sha =
        capture::ImportAudio(ana.vault, ana.vault.Records(), fields, Tone(ana.dir, 20))["audio_sha256"];
    storage::BlobStore blobs(ana.vault);
    const auto audio = blobs.ReadAll(sha);
    std::string with_canary;
    for (int i = 0; i < 3000; ++i) with_canary += BLOB_CANARY + std::to_string(i);
    (void)blobs.AddBytes(with_canary);
    const auto report = ana.Sync();
    INFO(report.error);
    REQUIRE(report.ok);
    REQUIRE(report.blobs_uploaded == 2);

    // An interpreter gets it all back: what is scanned below is real data.
    Device luis(hq, "interpreter");
    REQUIRE(luis.Sync().ok);
    CHECK(luis.vault.Records().Get(narrative).value()["text"].get<std::string>().find(CANARY) != std::string::npos);
    sync::SyncClient client(luis.vault);
    const auto download = client.DownloadBlob(sha);
    INFO(download.error);
    REQUIRE(download.ok);
    CHECK(download.size == static_cast<int64_t>(audio.size()));

    pg->Checkpoint();
    const auto dump = pg->Dump(url);
    REQUIRE(dump.find("CREATE TABLE public.records") != std::string::npos); // a real dump of the store
    for (const auto& needle : {CANARY, BLOB_CANARY, std::string("Rosa, la cosecha"), std::string("La deuda")}) {
        INFO("looking for " << needle);
        CHECK(dump.find(needle) == std::string::npos);
        CHECK(FilesContaining(pg->DataDir(), needle).empty());
        CHECK(FilesContaining(hq.dir / "hq", needle).empty());
    }
    CHECK(FilesWithPlainMedia(hq.dir / "hq") == "");
    // The ids stay in clear, for the queries.
    CHECK(dump.find(narrative) != std::string::npos);
}

TEST_CASE("An upload begun on one escucha-hq is finished on another over the same PostgreSQL",
          "[sync][postgres][blobs]") {
    auto* pg = PgServer::Shared();
    if (!pg) {
        WARN(PgServer::Skipped());
        return;
    }
    TempDir dir;
    const auto url = pg->NewDatabase();
    const auto key = NewKeyFile(dir / "hq.key");
    const auto data = (dir / "shared").string();
    HqProcess one(data, {"--store", url, "--key-file", key});
    HqProcess two(data, {"--store", url, "--key-file", key});
    const auto project = one.Admin({"create-project", "P"});
    sync::HttpClient http;
    const auto code = two.Admin({"enrol", "--project", project, "--role", "researcher"});
    const auto enrolled = http.Post(one.Url() + "/v1/enrol",
                                    Json{{"code", code}, {"device_id", storage::NewUuidV7()}}.dump());
    REQUIRE(enrolled.status == 200);
    const std::string token = Json::parse(enrolled.body)["token"];

    std::string bytes;
    for (int i = 0; bytes.size() < 300'000; ++i) bytes += "trozo " + std::to_string(i) + " ";
    const auto sha = Sha256Hex(bytes);
    const auto total = std::to_string(bytes.size());
    const size_t half = 150'001; // not on a chunk's edge
    const auto first = http.Put(one.Url() + "/v1/blobs/" + sha + "?offset=0&total=" + total, bytes.substr(0, half),
                                token);
    REQUIRE(first.status == 200);
    // The other process sees what the first received, and takes the rest.
    const auto status = http.Get(two.Url() + "/v1/blobs/" + sha, token);
    REQUIRE(status.status == 200);
    CHECK(Json::parse(status.body)["have"] == half);
    CHECK(Json::parse(status.body)["complete"] == false);
    const auto wrong = http.Put(two.Url() + "/v1/blobs/" + sha + "?offset=0&total=" + total, bytes, token);
    CHECK(wrong.status == 409);
    const auto rest =
        http.Put(two.Url() + "/v1/blobs/" + sha + "?offset=" + std::to_string(half) + "&total=" + total,
                 bytes.substr(half), token);
    REQUIRE(rest.status == 200);
    CHECK(Json::parse(rest.body)["complete"] == true);
    const auto done = http.Get(one.Url() + "/v1/blobs/" + sha, token);
    CHECK(Json::parse(done.body)["complete"] == true);
    CHECK(Json::parse(done.body)["size"] == bytes.size());
    // Sealed on disk, and whole when opened with the key the database keeps.
    CHECK(FilesContaining(data, "trozo 1 ").empty());
    sync::HqKeySource source;
    source.key_file = key;
    sync::PgHqStore store(url, source);
    sync::HqBlobStore opened(fs::path(data) / "blobs", {}, store.BlobKey());
    std::string all, piece;
    int64_t size = 0;
    while (opened.ReadPiece(project, sha, static_cast<int64_t>(all.size()), 1 << 20, piece, size) && !piece.empty())
        all += piece;
    CHECK(all == bytes);
}
