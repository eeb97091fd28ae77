// admin backup: a copy of a SQLite data directory made while escucha-hq
// serves it, which serves in its turn with the same key, everything there.
#include "escucha/storage/blobs.h"
#include "escucha/storage/clock.h"
#include "escucha/sync/http.h"
#include "sync/sync_fixture.h"

using namespace escucha;
using namespace escucha::test;

namespace fs = std::filesystem;

TEST_CASE("admin backup copies a served data directory into one that serves the same records and blobs",
          "[sync][backup]") {
    Hq hq;
    Device ana(hq, "researcher");
    const std::string note = ana.Add("field_note", {{"text", "antes de la copia"}})["id"];
    storage::BlobStore blobs(ana.vault);
    const auto sha = blobs.AddBytes(std::string(200'000, 'x')).sha256;
    REQUIRE(ana.Sync().ok);
    const auto before = hq.Records();

    const auto out = (hq.dir / "copia").string();
    (void)hq.process.Admin({"backup", "--out", out}); // while the server runs
    // Never over an earlier backup.
    CHECK_THROWS_WITH(hq.process.Admin({"backup", "--out", out}), Catch::Contains("exists already"));
    // Encrypted as the original: no plain SQLite, no plain text.
    CHECK(FilesContaining(out, "SQLite format 3").empty());
    CHECK(FilesContaining(out, "antes de la copia").empty());
    CHECK(fs::exists(fs::path(out) / "blobs" / hq.project / (sha + ".blob")));

    // Written after the backup: not in it.
    (void)ana.Add("field_note", {{"text", "después"}});
    REQUIRE(ana.Sync().ok);
    hq.process.Stop();

    HqProcess restored(out, {"--key-file", hq.process.KeyFile()});
    const auto json = (hq.dir / "restored.json").string();
    (void)restored.Admin({"export", "--project", hq.project, "--out", json, "--with-identities"});
    std::map<std::string, Json> records;
    const auto doc = Json::parse(ReadFile(json));
    for (const auto& r : doc["records"]) records[r["id"]] = r;
    CHECK(records.size() == before.size());
    REQUIRE(records.count(note) == 1);
    CHECK(records[note]["text"] == "antes de la copia");
    // The restored copy holds the whole blob, and opens it.
    sync::HttpClient http;
    const auto code = restored.Admin({"enrol", "--project", hq.project, "--role", "coordinator"});
    const auto enrolled = http.Post(restored.Url() + "/v1/enrol",
                                    Json{{"code", code}, {"device_id", storage::NewUuidV7()}}.dump());
    REQUIRE(enrolled.status == 200);
    const std::string token = Json::parse(enrolled.body)["token"];
    const auto status = Json::parse(http.Get(restored.Url() + "/v1/blobs/" + sha, token).body);
    CHECK(status["complete"] == true);
    CHECK(status["size"] == 200'000);
}
