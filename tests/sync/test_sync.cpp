// Sync end to end: real vaults, a real escucha-hq on loopback, real faults.
#include "escucha/storage/blobs.h"
#include "sync/fault_proxy.h"
#include "sync/sync_fixture.h"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>
#include <tuple>

using namespace escucha;
using namespace escucha::test;

TEST_CASE("A researcher's records reach HQ, and an interpreter receives them", "[sync]") {
    Hq hq;
    Device ana(hq, "researcher");
    REQUIRE(ana.Sync().ok);
    CHECK(ana.vault.Records().Get(hq.project)->at("name") == "Café Nariño");
    const auto rosa = ana.Add("participant", {{"pseudonym", "Rosa"}});
    const auto interview = ana.Add("interview", {{"kind", "life_journey"}, {"participant_ids", {rosa["id"]}}});
    ana.Add("narrative",
            {{"title", "La cosecha"}, {"text", "La participación de las mujeres"}, {"teller_ids", {rosa["id"]}}});
    ana.Add("profile", {{"kind", "individual"}, {"name", "Rosa"}, {"participant_ids", {rosa["id"]}}});
    ana.vault.Records().Update(interview["id"], {{"status", "complete"}});
    const auto report = ana.Sync();
    INFO(report.error);
    REQUIRE(report.ok);
    // Four records: the interview's edit joined its creation (docs/decisions/0018).
    CHECK(report.acknowledged == 4);
    RequireSameAsHq(hq, ana.vault);

    Device luis(hq, "interpreter");
    REQUIRE(luis.Sync().ok);
    CHECK(luis.vault.Records().Get(interview["id"])->at("status") == "complete");
    CHECK(luis.vault.Records().Search("participacion").size() == 1);
    CHECK(luis.vault.Records().PendingJournalCount() == 0); // pulled records are not sent back

    SECTION("another researcher sees shared profiles, not Ana's interviews") {
        Device carla(hq, "researcher");
        REQUIRE(carla.Sync().ok);
        CHECK(carla.vault.Records().Count("profile") == 1);
        CHECK(carla.vault.Records().Count("interview") == 0);
        CHECK(carla.vault.Records().Count("participant") == 0);
    }
    SECTION("a second sync sends nothing and receives nothing new") {
        const auto again = luis.Sync();
        CHECK(again.ok);
        CHECK(again.pulled == 0);
        CHECK(again.acknowledged == 0);
    }
}

TEST_CASE("A lost acknowledgement, a cut, a stall or a reset loses and duplicates nothing", "[sync]") {
    Hq hq;
    FaultProxy proxy(hq.process.Port());
    Device ana(hq, "researcher", "http://127.0.0.1:" + std::to_string(proxy.Port()));
    REQUIRE(ana.Sync().ok);
    const auto fault = GENERATE(Fault::CutResponse, Fault::CutRequest, Fault::Stall, Fault::Reset);
    for (int i = 0; i < 450; ++i) ana.Add("field_note", {{"text", "nota " + std::to_string(i)}});
    // 450 changes go in three requests of about 70 kB; the second is hit, and
    // so is the fresh connection libcurl retries it on. Sent uncompressed so
    // that these sizes hold (test_wire.cpp cuts compressed pushes).
    sync::HttpOptions plain;
    plain.compress = false;
    proxy.Inject(fault, 120'000);
    proxy.Inject(fault, 0);
    const auto broken = ana.Sync(plain);
    INFO("connections " << proxy.Connections() << ", faults left " << proxy.FaultsLeft());
    CHECK_FALSE(broken.ok);
    CHECK_FALSE(broken.error.empty());
    CHECK(ana.vault.Records().PendingJournalCount() > 0);
    CHECK(ana.vault.GetMeta("sync.last_error").value_or("").find(broken.error) != std::string::npos);
    // The second fault may strike the broken sync's retry or the next sync:
    // either way a later sync completes.
    auto healed = ana.Sync(plain);
    for (int i = 0; i < 2 && !healed.ok; ++i) healed = ana.Sync(plain);
    INFO(healed.error);
    REQUIRE(healed.ok);
    CHECK(proxy.FaultsLeft() == 0);
    RequireSameAsHq(hq, ana.vault);
    CHECK(hq.Records().size() == 451);
}

TEST_CASE("kill -9 of HQ in the middle of a push, then a restart: every record once", "[sync]") {
    Hq hq;
    Device ana(hq, "researcher");
    REQUIRE(ana.Sync().ok);
    std::mt19937 rng(3);
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 1500; ++i)
            ana.Add("field_note", {{"text", "ronda " + std::to_string(round) + " nota " + std::to_string(i)}});
        sync::SyncReport report;
        std::thread syncing([&] { report = ana.Sync(); });
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 600)(rng)));
        hq.process.Kill9();
        syncing.join();
        INFO("round " << round << ": interrupted sync said " << report.error);
        hq.process.Restart();
        const auto after = ana.Sync();
        INFO(after.error);
        REQUIRE(after.ok);
        RequireSameAsHq(hq, ana.vault);
    }
    CHECK(hq.Records().size() == 1 + 3 * 1500);
}

TEST_CASE("Concurrent edits of a shared profile on two devices lose nothing", "[sync]") {
    Hq hq;
    Device ana(hq, "interpreter");
    Device luis(hq, "interpreter");
    const auto profile = ana.Add("profile", {{"kind", "collective"}, {"name", "Recolectoras"}, {"context", "inicio"}});
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok);
    const std::string id = profile["id"];
    ana.vault.Records().Update(id, {{"context", "Ana: trabajan por arroba"}, {"needs", {"guardería"}}});
    luis.vault.Records().Update(id, {{"context", "Luis: migran entre cosechas"}, {"aspirations", {"tierra propia"}}});
    REQUIRE(ana.Sync().ok);
    const auto report = luis.Sync();
    REQUIRE(report.ok);
    CHECK(report.conflicts == 1);
    REQUIRE(ana.Sync().ok);
    for (auto* d : {&ana, &luis}) {
        const auto merged = *d->vault.Records().Get(id);
        CHECK(merged["needs"] == Json::array({"guardería"}));
        CHECK(merged["aspirations"] == Json::array({"tierra propia"}));
        const auto conflicts = d->vault.Records().ListConflicts();
        REQUIRE(conflicts.size() == 1);
        CHECK(conflicts[0]["field"] == "context");
        const std::set<std::string> both = {merged["context"], conflicts[0]["other"]};
        CHECK(both == std::set<std::string>{"Ana: trabajan por arroba", "Luis: migran entre cosechas"});
        CHECK(merged["rev"] == hq.Records().at(id)["rev"]);
    }
}

TEST_CASE("Device clocks set wrong do not change the outcome", "[sync]") {
    constexpr int64_t DAY = 86'400'000;
    constexpr int64_t HOUR = 3'600'000;
    // The same story with right clocks, and with one device hours ahead (a
    // wrong time zone; HQ refuses a day or more ahead) and the other days
    // behind, in both orders of syncing.
    const auto run = [](int64_t ana_offset, int64_t luis_offset, bool ana_first) {
        Hq hq;
        Device ana(hq, "interpreter", "", "", ana_offset);
        Device luis(hq, "interpreter", "", "", luis_offset);
        const auto p = ana.Add("profile", {{"kind", "collective"}, {"name", "Pescadores"}, {"context", "inicio"}});
        REQUIRE(ana.Sync().ok);
        REQUIRE(luis.Sync().ok);
        ana.vault.Records().Update(p["id"], {{"context", "de Ana"}, {"needs", {"hielo"}}});
        luis.vault.Records().Update(p["id"], {{"context", "de Luis"}, {"problems", {"combustible caro"}}});
        auto& first = ana_first ? ana : luis;
        auto& second = ana_first ? luis : ana;
        REQUIRE(first.Sync().ok);
        REQUIRE(second.Sync().ok);
        REQUIRE(first.Sync().ok);
        const auto merged = *ana.vault.Records().Get(p["id"]);
        const auto conflicts = ana.vault.Records().ListConflicts();
        REQUIRE(conflicts.size() == 1);
        CHECK(*luis.vault.Records().Get(p["id"]) == merged);
        return std::make_tuple(merged["needs"], merged["problems"],
                               std::set<std::string>{merged["context"], conflicts[0]["other"]});
    };
    const auto expected = run(0, 0, true);
    CHECK(std::get<2>(expected) == std::set<std::string>{"de Ana", "de Luis"});
    for (const bool ana_first : {true, false}) {
        CHECK(run(20 * HOUR, -5 * DAY, ana_first) == expected);
        CHECK(run(-5 * DAY, 20 * HOUR, ana_first) == expected);
    }
}

TEST_CASE("HQ's refusals stay in the outbox with the reason", "[sync]") {
    Hq hq;
    Device ana(hq, "researcher");
    Device carla(hq, "researcher");
    const auto note = ana.Add("field_note", {{"text", "de Ana"}});
    REQUIRE(ana.Sync().ok);
    // Carla gets a copy of Ana's note by hand (a shared file, say) and edits it.
    Json copy = *ana.vault.Records().Get(note["id"]);
    REQUIRE(carla.Sync().ok);
    REQUIRE(carla.vault.Records().ApplyRemote(copy));
    carla.vault.Records().Update(note["id"], {{"text", "cambiado por Carla"}});
    const auto report = carla.Sync();
    CHECK_FALSE(report.ok);
    CHECK(report.rejected == 1);
    CHECK_THAT(report.error, Catch::Contains("refused"));
    const auto outbox = carla.vault.Records().PendingJournal(10, 0, true);
    REQUIRE(outbox.size() == 1);
    // Carla may not read Ana's note: the refusal says nothing more of it.
    CHECK_THAT(outbox[0].last_error, Catch::Contains("may not change record"));
    CHECK(hq.Records().at(note["id"])["text"] == "de Ana");
}

TEST_CASE("escucha-cli enrols, syncs, and in watch mode resumes when HQ comes back", "[sync][cli]") {
    Hq hq;
    TempDir dir;
    const auto vault = (dir / "vault").string();
    const Env pass = {{"ESCUCHA_PASSPHRASE", "frase de paso larga"}};
    const auto cli = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--vault", vault});
        return RunCli(args, pass);
    };
    REQUIRE(cli({"init"}).exit_code == 0);
    const auto bad = cli({"enrol", "--server", hq.process.Url(), "--code", "AAAA-BBBB-CCCC-DDDD"});
    CHECK(bad.exit_code == 6);
    CHECK_THAT(bad.err, Catch::Contains("unknown, expired or used already"));
    const auto plain = cli({"enrol", "--server", "http://192.0.2.1:80", "--code", hq.Code("researcher")});
    CHECK_THAT(plain.err, Catch::Contains("only for a server on this machine") && Catch::Contains("127.0.0.1"));
    const auto enrol = cli({"enrol", "--server", hq.process.Url(), "--code", hq.Code("researcher")});
    INFO(enrol.err);
    REQUIRE(enrol.exit_code == 0);
    CHECK_THAT(enrol.out, Catch::Contains("Café Nariño"));
    REQUIRE(cli({"add", "field_note", "text=primera nota"}).exit_code == 0);
    const auto once = cli({"sync"});
    INFO(once.err);
    CHECK(once.exit_code == 0);
    CHECK_THAT(once.out, Catch::Contains("sent 1"));
    CHECK_THAT(cli({"status"}).out, Catch::Contains("last success") && Catch::Contains("waiting to sync: 0"));

    hq.process.Kill9();
    REQUIRE(cli({"add", "field_note", "text=escrita sin red"}).exit_code == 0);
    const auto offline = cli({"sync"});
    CHECK(offline.exit_code == 6);
    // Worded from its code, not in libcurl's words.
    CHECK_THAT(offline.out, Catch::Contains("refused the connection") && !Catch::Contains("Failed to connect"));
    CHECK_THAT(cli({"status"}).out, Catch::Contains("last error") && Catch::Contains("refused the connection"));

    const pid_t watch =
        StartProgram({CliPath(), "--vault", vault, "sync", "--watch", "--interval", "30", "--max-backoff", "1"},
                     (dir / "watch.out").string(), (dir / "watch.err").string(), pass);
    // A failed cycle while HQ is away (waited for, not timed: the device may be slow, or emulated).
    for (int i = 0; i < 600 && ReadFile(dir / "watch.out").find("not finished") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    hq.process.Restart();                                         // on the same port it had
    bool arrived = false;
    for (int i = 0; i < 100 && !arrived; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        for (const auto& [id, r] : hq.Records())
            if (r.value("text", "") == "escrita sin red") arrived = true;
    }
    ::kill(watch, SIGTERM);
    int status = 0;
    waitpid(watch, &status, 0);
    INFO(ReadFile(dir / "watch.out") << ReadFile(dir / "watch.err"));
    CHECK(arrived);
    CHECK(WIFEXITED(status));
    CHECK_THAT(ReadFile(dir / "watch.out"), Catch::Contains("not finished") && Catch::Contains("sent 1"));
}

TEST_CASE("A recording upload cut at 90% resumes at 90%", "[sync]") {
    Hq hq;
    FaultProxy proxy(hq.process.Port());
    Device ana(hq, "researcher", "http://127.0.0.1:" + std::to_string(proxy.Port()));
    std::string audio(40 * 1024 * 1024, '\0');
    std::mt19937 rng(11);
    for (auto& c : audio) c = static_cast<char>(rng());
    storage::BlobStore blobs(ana.vault);
    const auto blob = blobs.AddBytes(audio);
    REQUIRE(ana.Sync().ok); // nothing cut yet: the journal is empty, the blob goes whole...
    CHECK(blobs.List(true).empty());
    CHECK(HqBlobBytes(hq, ana.Project(), blob.sha256) == audio);

    // ...and a second recording is cut at 90%, twice (libcurl retries once).
    audio[0] ^= 1;
    const auto second = blobs.AddBytes(audio);
    const size_t cut = audio.size() * 9 / 10 + 300'000;
    proxy.Inject(Fault::CutRequest, cut);
    proxy.Inject(Fault::CutRequest, 0);
    const auto broken = ana.Sync();
    CHECK_FALSE(broken.ok);
    CHECK(blobs.List(true).size() == 1);
    sync::HttpClient http;
    const auto status =
        http.Get(hq.process.Url() + "/v1/blobs/" + second.sha256, ana.vault.GetMeta("sync.token").value());
    const auto partial = static_cast<size_t>(Json::parse(status.body).at("have").get<int64_t>());
    INFO("HQ kept " << partial << " of " << audio.size() << " bytes");
    CHECK(partial >= audio.size() * 85 / 100);

    auto healed = ana.Sync();
    for (int i = 0; i < 2 && !healed.ok; ++i) healed = ana.Sync();
    INFO(healed.error);
    REQUIRE(healed.ok);
    // Only what HQ lacked went again.
    CHECK(healed.blob_bytes_sent <= static_cast<int64_t>(audio.size() - partial));
    CHECK(healed.blobs_uploaded == 1);
    CHECK(HqBlobBytes(hq, ana.Project(), second.sha256) == audio);
}

TEST_CASE("A device does not pull back what it pushed, but does pull a merge of it", "[sync]") {
    Hq hq;
    Device ana(hq, "interpreter");
    Device luis(hq, "interpreter");
    const auto p = ana.Add("profile", {{"kind", "collective"}, {"name", "Pescadores"}});
    for (int i = 0; i < 20; ++i) ana.Add("field_note", {{"text", "nota " + std::to_string(i)}});
    const auto first = ana.Sync();
    REQUIRE(first.ok);
    CHECK(first.pulled == 0);
    REQUIRE(luis.Sync().ok);
    ana.vault.Records().Update(p["id"], {{"context", "costa sur"}});
    luis.vault.Records().Update(p["id"], {{"needs", {"hielo"}}});
    REQUIRE(ana.Sync().ok);
    REQUIRE(luis.Sync().ok); // merged at HQ: Luis's stored record is not what he sent
    const auto merged = *luis.vault.Records().Get(p["id"]);
    CHECK(merged["context"] == "costa sur");
    CHECK(merged["needs"] == Json::array({"hielo"}));
}
