// The device facing what other devices and headquarters send it: records
// naming what it may not see, clocks far ahead, damaged files waiting to go.
#include "escucha/storage/blobs.h"
#include "sync/sync_fixture.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

using namespace escucha;
using namespace escucha::test;

namespace {

/// Runs escucha-cli on a device's vault.
ProcessResult Cli(Device& device, std::vector<std::string> args) {
    args.insert(args.begin(), {"--vault", (device.dir / "vault").string()});
    return RunCli(args, {{"ESCUCHA_PASSPHRASE", "frase de paso larga"}});
}

} // namespace

TEST_CASE("A second researcher's vault with a shared profile naming another's participant is sound", "[sync]") {
    Hq hq;
    Device ana(hq, "researcher");
    const auto rosa = ana.Add("participant", {{"pseudonym", "Rosa"}});
    const auto profile =
        ana.Add("profile", {{"kind", "collective"}, {"name", "Rosa"}, {"participant_ids", {rosa["id"]}}});
    REQUIRE(ana.Sync().ok);

    Device carla(hq, "researcher");
    REQUIRE(carla.Sync().ok);
    REQUIRE(carla.vault.Records().Get(profile["id"]));
    REQUIRE_FALSE(carla.vault.Records().Get(rosa["id"]));
    CHECK(carla.vault.Check().empty());
    const auto check = Cli(carla, {"check"});
    INFO(check.out << check.err);
    CHECK(check.exit_code == 0);
    CHECK_THAT(check.out, Catch::Contains("sound"));

    // Carla edits the shared profile: the participant she may not see stays named.
    const auto edit = Cli(carla, {"edit", profile["id"], "name=Rosa, cafetalera"});
    INFO(edit.err);
    CHECK(edit.exit_code == 0);
    const auto edited = carla.vault.Records().Get(profile["id"]);
    CHECK(edited->at("name") == "Rosa, cafetalera");
    CHECK(edited->at("participant_ids") == Json::array({rosa["id"]}));
    // A participant she adds must exist on her device.
    const auto bad =
        Cli(carla, {"edit", profile["id"],
                    "participant_ids=" + rosa["id"].get<std::string>() + ",01a20bc5-0000-7000-8000-0000000000ff"});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Catch::Contains("no participant with id 01a20bc5-0000-7000-8000-0000000000ff"));
    CHECK(Cli(carla, {"check"}).exit_code == 0);
}

TEST_CASE("A damaged file waiting for upload is set aside; everything else syncs, --watch goes on", "[sync]") {
    Hq hq;
    Device ana(hq, "researcher");
    Device coordinator(hq, "coordinator");
    storage::BlobStore blobs(ana.vault);
    const std::string hurt_audio(3 * storage::BLOB_CHUNK, 'a');
    const std::string sound_audio(2 * storage::BLOB_CHUNK, 'b');
    const auto hurt = blobs.AddBytes(hurt_audio);
    const auto sound = blobs.AddBytes(sound_audio);
    const auto file = ana.dir / "vault" / "blobs" / blobs.Find(hurt.sha256)->file;
    auto bytes = ReadFile(file);
    bytes[storage::BLOB_CHUNK + 1000] ^= 0x01;
    WriteFile(file, bytes);
    const auto note = ana.Add("field_note", {{"text", "una nota"}});
    const auto profile = coordinator.Add("profile", {{"kind", "collective"}, {"name", "Cafetaleras"}});
    REQUIRE(coordinator.Sync().ok);

    SECTION("sync --watch reports it and keeps going until told to stop") {
        const auto out = (ana.dir / "watch.out").string();
        const auto err = (ana.dir / "watch.err").string();
        const pid_t pid = StartProgram({CliPath(), "--vault", (ana.dir / "vault").string(), "sync", "--watch",
                                        "--interval", "0.2", "--max-backoff", "0.2"},
                                       out, err, {{"ESCUCHA_PASSPHRASE", "frase de paso larga"}});
        // Two cycles: the first finds the damage, the second runs without it.
        const auto lines = [&] {
            const auto text = ReadFile(out);
            return std::count(text.begin(), text.end(), '\n');
        };
        for (int i = 0; i < 1200 && lines() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ::kill(pid, SIGTERM);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        const auto printed = ReadFile(out);
        INFO(printed << ReadFile(err));
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        CHECK_THAT(ReadFile(err), !Catch::Contains("terminate"));
        CHECK_THAT(printed, Catch::Contains("is damaged") && Catch::Contains("set aside"));
    }
    SECTION("one sync sends the rest and receives what is new") {
        const auto r = Cli(ana, {"sync"});
        INFO(r.out << r.err);
        CHECK(r.exit_code == 6);
        CHECK_THAT(r.out, Catch::Contains("is damaged") && Catch::Contains("set aside") &&
                              Catch::Contains(hurt.sha256.substr(0, 12)) && !Catch::Contains("not finished"));
        const auto status = Cli(ana, {"status"});
        CHECK_THAT(status.out, Catch::Contains("last error:") && Catch::Contains("is damaged") &&
                                   Catch::Contains("damaged files set aside, not sent: 1"));
        // A second sync does not try it again, and finishes.
        const auto again = Cli(ana, {"sync"});
        INFO(again.out << again.err);
        CHECK(again.exit_code == 0);
    }
    // Either way: the note, the sound file and the coordinator's profile went through.
    CHECK(ana.vault.Records().Get(profile["id"]));
    CHECK(ana.vault.Records().PendingJournalCount() == 0);
    CHECK(hq.Records().count(note["id"]) == 1);
    CHECK(blobs.Find(sound.sha256)->uploaded);
    CHECK_FALSE(blobs.Find(hurt.sha256)->uploaded);
    CHECK_FALSE(blobs.Find(hurt.sha256)->damaged.empty());
    CHECK(blobs.List(true).empty());
    CHECK(ReadFile(file) == bytes); // kept for recovery
    const auto check = Cli(ana, {"check"});
    CHECK(check.exit_code == 4);
    CHECK_THAT(check.out, Catch::Contains(hurt.sha256.substr(0, 12)) && Catch::Contains("damaged"));
    CHECK_THAT(Cli(ana, {"blobs"}).out, Catch::Contains("damaged, set aside"));
}

TEST_CASE("A device whose clock runs far ahead does not drag the other devices' clocks along", "[sync]") {
    Hq hq;
    // Twelve hours ahead: headquarters takes it (it refuses a day and more).
    // 2099: headquarters may refuse it; when it takes it, the other device
    // keeps the record as it came.
    const bool to_2099 = GENERATE(false, true);
    const int64_t ahead =
        to_2099 ? *storage::ParseIsoMillis("2099-12-31T12:00:00.000Z") - storage::SystemMillis() : 12LL * 3600 * 1000;
    Device fast(hq, "coordinator", "", "", ahead);
    Device ana(hq, "researcher");
    const auto profile = fast.Add("profile", {{"kind", "collective"}, {"name", "Del futuro"}});
    if (to_2099) REQUIRE(profile["updated_at"].get<std::string>().rfind("2099-12-31", 0) == 0);
    const auto pushed = fast.Sync();
    if (!to_2099) REQUIRE(pushed.ok);
    REQUIRE(ana.Sync().ok);
    const auto received = ana.vault.Records().Get(profile["id"]);
    if (!to_2099) REQUIRE(received);
    if (received) CHECK(received->at("updated_at") == profile["updated_at"]);
    const auto before = storage::SystemMillis();
    const auto note = ana.Add("field_note", {{"text", "escrita hoy"}});
    const auto created = *storage::ParseIsoMillis(note["created_at"].get<std::string>());
    CHECK(created >= before);
    CHECK(created <= storage::SystemMillis() + storage::MAX_REMOTE_LEAD_MS);
    const auto stamped = storage::HlcTimestamp::Parse(note["updated_at"].get<std::string>());
    REQUIRE(stamped);
    CHECK(stamped->millis <= storage::SystemMillis() + storage::MAX_REMOTE_LEAD_MS);
    // Ana's own edits still reach headquarters.
    const auto mine = ana.Sync();
    INFO(mine.error);
    CHECK(mine.ok);
}
