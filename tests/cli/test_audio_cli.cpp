// Recordings through the real escucha-cli: import, export on request, and a
// loop of real kills of a process recording (an import paced in real time, as
// a microphone gives audio), each followed by recovery.
#include "files.h"
#include "process.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include <signal.h>
#include <sys/wait.h>

using escucha::test::RunCli;
using escucha::test::TempDir;
using Json = nlohmann::json;

namespace {

const escucha::test::Env ENV = {{"ESCUCHA_PASSPHRASE", "frase de paso larga"}};

Json RunJson(const std::vector<std::string>& args) {
    const auto r = RunCli(args, ENV);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return Json::parse(r.out);
}

std::string Id(const std::vector<std::string>& args) {
    const auto r = RunCli(args, ENV);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto id = r.out;
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    return id;
}

void Sh(const std::string& command) { REQUIRE(std::system(command.c_str()) == 0); }

/// No file under `dir` holds audio in the clear: neither the marks that open
/// media files nor any of a few 32-byte pieces of `audio_files` (the sound
/// given and the recordings exported).
void CheckNoPlainAudio(const std::filesystem::path& dir, const std::vector<std::string>& audio_files) {
    auto pieces = escucha::test::PlainMediaMarks();
    for (const auto& file : audio_files) {
        const auto bytes = escucha::test::ReadFile(file);
        REQUIRE(bytes.size() > 1024);
        for (size_t at = 512; at + 32 <= bytes.size(); at += bytes.size() / 8) {
            const auto piece = bytes.substr(at, 32);
            // Silence (a run of one byte) says nothing of where it came from.
            if (std::set<char>(piece.begin(), piece.end()).size() >= 8) pieces.push_back(piece);
        }
    }
    CHECK(escucha::test::FilesContainingAny(dir, pieces) == "");
}

} // namespace

TEST_CASE("escucha-cli imports a recording, lists it, and exports it only when asked", "[cli][audio]") {
    TempDir dir;
    const auto vault = (dir / "vault").string();
    REQUIRE(RunCli({"--vault", vault, "init", "--author", "ana"}, ENV).exit_code == 0);
    (void)Id({"--vault", vault, "add", "project", "name=Cafetaleras"});
    const auto interview = Id({"--vault", vault, "add", "interview", "kind=unstructured_interview", "title=Cosecha"});
    const auto wav = (dir / "entrevista.wav").string();
    Sh("espeak-ng -v es-419 -w '" + wav + "' 'Nos pagan por arroba y la báscula es del patrón.'");

    const auto r = RunCli({"--vault", vault, "import-audio", "--interview", interview, wav}, ENV);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto recordings = RunJson({"--vault", vault, "list", "recording", "--json"});
    REQUIRE(recordings.size() == 1);
    CHECK(recordings[0]["status"] == "complete");
    CHECK(recordings[0]["interview_id"] == interview);
    CHECK(recordings[0]["duration_ms"].get<int64_t>() > 1000);

    const auto out = (dir / "copia.opus").string();
    const auto e = RunCli({"--vault", vault, "export-audio", recordings[0]["id"], out}, ENV);
    INFO(e.err);
    REQUIRE(e.exit_code == 0);
    CHECK_THAT(e.err, Catch::Contains("leaves the vault"));
    CHECK(escucha::test::ReadFile(out).rfind("OggS", 0) == 0);
    // Never over a file that is there.
    CHECK(RunCli({"--vault", vault, "export-audio", recordings[0]["id"], out}, ENV).exit_code != 0);
    CheckNoPlainAudio(vault, {wav, out});

    SECTION("what is not audio is refused in words") {
        escucha::test::WriteFile(dir / "nota.wav", "esto no es audio");
        const auto bad =
            RunCli({"--vault", vault, "import-audio", "--interview", interview, (dir / "nota.wav").string()}, ENV);
        CHECK(bad.exit_code != 0);
        CHECK_THAT(bad.err, Catch::Contains("audio"));
        CHECK(RunJson({"--vault", vault, "list", "recording", "--json"}).size() == 1);
    }
}

TEST_CASE("Killed while recording, again and again: each recording is recovered up to its last second",
          "[cli][audio]") {
    TempDir dir;
    const auto vault = (dir / "vault").string();
    REQUIRE(RunCli({"--vault", vault, "init", "--author", "ana"}, ENV).exit_code == 0);
    (void)Id({"--vault", vault, "add", "project", "name=Cafetaleras"});
    const auto interview = Id({"--vault", vault, "add", "interview", "kind=unstructured_interview", "title=Cosecha"});
    // Twenty seconds of sound, taken in no faster than real time.
    const auto wav = (dir / "larga.wav").string();
    Sh("sox -n -r 16000 -c 1 '" + wav + "' synth 20 sine 300-900");
    std::mt19937 rng(42);
    const int rounds = 5;
    std::vector<int64_t> heard_ms; // audio taken in before each kill, about
    for (int round = 0; round < rounds; ++round) {
        const auto kill_after = std::chrono::milliseconds(2500 + rng() % 2500);
        const auto err = dir / ("err-" + std::to_string(round) + ".txt");
        const pid_t pid = escucha::test::StartProgram(
            {escucha::test::CliPath(), "--vault", vault, "import-audio", "--real-time", "--interview", interview, wav},
            (dir / "out.txt").string(), err.string(), ENV);
        // From the moment audio starts coming in (the vault is open by then).
        for (int i = 0; i < 600 && escucha::test::ReadFile(err).find("real time") == std::string::npos; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        REQUIRE(escucha::test::ReadFile(err).find("real time") != std::string::npos);
        const auto started = std::chrono::steady_clock::now();
        std::this_thread::sleep_until(started + kill_after);
        escucha::test::KillGroup(pid);
        heard_ms.push_back(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
        // The next start finds the recording cut short and offers it back.
        const auto r = RunCli({"--vault", vault, "recover-audio"}, ENV);
        INFO("round " << round << ": " << r.err << escucha::test::ReadFile(err));
        REQUIRE(r.exit_code == 0);
        // Each round's recording is back.
        REQUIRE(RunJson({"--vault", vault, "list", "recording", "--json"}).size() == static_cast<size_t>(round + 1));
    }
    const auto recordings = RunJson({"--vault", vault, "list", "recording", "--json"});
    INFO(recordings.dump(1));
    REQUIRE(recordings.size() == static_cast<size_t>(rounds));
    // In the order they were made (ids are time-ordered).
    std::vector<Json> ordered(recordings.begin(), recordings.end());
    std::sort(ordered.begin(), ordered.end(),
              [](const Json& a, const Json& b) { return a["id"].get<std::string>() < b["id"].get<std::string>(); });
    for (size_t i = 0; i < ordered.size(); ++i) {
        const auto& r = ordered[i];
        // Missing at most about two seconds: the chunk being filled and the Ogg page being built.
        INFO("round " << i << ": audio taken in for about " << heard_ms[i] << " ms");
        CHECK(r["status"] == "recovered");
        CHECK(r["duration_ms"].get<int64_t>() >= heard_ms[i] - 2500);
        CHECK(r["duration_ms"].get<int64_t>() <= heard_ms[i] + 500);
        // And it plays: exported, it is a whole Ogg stream.
        const auto out = (dir / (r["id"].get<std::string>() + ".opus")).string();
        CHECK(RunCli({"--vault", vault, "export-audio", r["id"], out}, ENV).exit_code == 0);
    }
    CHECK(RunJson({"--vault", vault, "list", "recording", "--json"}).size() == recordings.size());
    std::vector<std::string> audio = {wav};
    for (const auto& r : ordered) audio.push_back((dir / (r["id"].get<std::string>() + ".opus")).string());
    CheckNoPlainAudio(vault, audio);
}
