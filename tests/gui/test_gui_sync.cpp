// The app's sync panel against a real escucha-hq on loopback: enrol with a
// code, write, sync now, see the counts; bad codes and files are words.
#include "gui_fixture.h"

#include "files.h"
#include "sync/hq_process.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <cstdlib>

using namespace escucha;
using namespace escucha::gui;
using escucha::test::Until;

namespace {

/// A window app with a new vault, and a real escucha-hq on loopback with one
/// project ("Café Nariño") to enrol it in.
struct EnrolledApp {
    test::TempDir hq_dir;
    test::HqProcess hq{(hq_dir / "hq").string()};
    const std::string project = hq.Admin({"create-project", "Café Nariño"});
    test::GuiApp app;
    AppState& s = app.state;

    EnrolledApp() { app.Create(); }
    /// A new enrolment code for a researcher of the project.
    std::string Code() { return hq.Admin({"enrol", "--project", project, "--role", "researcher", "--person", "Ana"}); }
    /// Shows the sync panel once it knows whether the device is enrolled.
    void ShowSync() {
        s.Show(SECTION_SYNC);
        REQUIRE(Until(app.ui, [&] { return s.sync.View().known; }));
    }
    /// Asks to enrol at headquarters with a new code.
    void Enrol() {
        s.sync.Form().server = hq.Url();
        s.sync.Form().code = Code();
        s.sync.Enrol();
    }
};

} // namespace

TEST_CASE("Enrolment codes are taken however they were typed", "[gui][sync]") {
    CHECK(sync::NormaliseEnrolmentCode("k7qf-m2xd-9pla-3rtb") == "K7QF-M2XD-9PLA-3RTB");
    CHECK(sync::NormaliseEnrolmentCode(" K7QF M2XD 9PLA 3RTB ") == "K7QF-M2XD-9PLA-3RTB");
    CHECK(sync::NormaliseEnrolmentCode("k7qfm2xd9pla3rtb") == "K7QF-M2XD-9PLA-3RTB");
    CHECK(sync::NormaliseEnrolmentCode("K7QF_M2XD--9PLA-3RTB\n") == "K7QF-M2XD-9PLA-3RTB");
    CHECK(sync::NormaliseEnrolmentCode("K7QF-M2XD-9PLA-3RTB") == "K7QF-M2XD-9PLA-3RTB");
    CHECK(sync::NormaliseEnrolmentCode("").empty());
}

TEST_CASE("Enrol and sync from the app", "[gui][sync]") {
    EnrolledApp e;
    auto& [hq_dir, hq, project, app, s] = e;
    e.ShowSync();
    CHECK_FALSE(s.sync.View().enrolled);

    SECTION("bad input is refused in words and changes nothing") {
        s.sync.Enrol();
        CHECK_THAT(s.sync.View().message, Catch::Contains("address"));
        s.sync.Form().server = hq.Url();
        s.sync.Form().code = "AAAA-BBBB-CCCC-DDDD";
        s.sync.Enrol();
        REQUIRE(Until(app.ui, [&] { return !s.sync.View().running; }));
        CHECK(s.sync.View().message_is_error);
        CHECK_THAT(s.sync.View().message, Catch::Contains("unknown, expired or used already"));
        s.sync.Form().code = e.Code();
        s.sync.Form().ca_path = (hq_dir / "no-such.pem").string();
        s.sync.Enrol();
        REQUIRE(Until(app.ui, [&] { return !s.sync.View().running; }));
        CHECK_THAT(s.sync.View().message, Catch::Contains("cannot be read"));
        REQUIRE(Until(app.ui, [&] { return s.sync.View().known; }));
        CHECK_FALSE(s.sync.View().enrolled);
    }
    SECTION("enrol, write, sync now: HQ has it and nothing waits") {
        s.sync.Form().server = "  " + hq.Url() + " ";
        // Typed as read aloud over the phone: lower case, spaces for dashes.
        std::string code = e.Code();
        for (auto& c : code) c = c == '-' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        s.sync.Form().code = " " + code;
        s.sync.Enrol();
        REQUIRE(Until(app.ui, [&] { return !s.sync.View().running && s.sync.View().enrolled; }));
        INFO(s.sync.View().message);
        CHECK_FALSE(s.sync.View().message_is_error);
        CHECK(s.sync.View().project_name == "Café Nariño");
        // The project from HQ becomes the one records are filed under.
        REQUIRE(Until(app.ui, [&] { return s.lists.ProjectId() == project && s.lists.List("narrative").loaded; }));

        s.editing.NewRecord("narrative");
        s.editing.Draft()->values["title"].text = "La báscula";
        s.editing.Draft()->values["text"].text = "Nadie ve la báscula.";
        s.editing.Edited(*s.editing.Draft(), "text", 1.0);
        s.editing.FocusLeft(*s.editing.Draft());
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
        s.sync.RefreshSync();
        REQUIRE(Until(app.ui, [&] { return s.sync.View().pending == 1; }));

        s.sync.SyncNow();
        CHECK(s.sync.View().running);
        REQUIRE(Until(app.ui, [&] { return !s.sync.View().running; }));
        INFO(s.sync.View().message);
        CHECK_FALSE(s.sync.View().message_is_error);
        CHECK_THAT(s.sync.View().message, Catch::Contains("1 sent"));
        CHECK(s.sync.View().progress.changes_total == 1); // the progress bar was given the count
        REQUIRE(Until(app.ui, [&] { return s.sync.View().pending == 0 && !s.sync.View().last_success.empty(); }));

        const auto out = (hq_dir / "export.json").string();
        (void)hq.Admin({"export", "--project", project, "--out", out});
        CHECK_THAT(test::ReadFile(out), Catch::Contains("Nadie ve la báscula."));

        SECTION("HQ away: the error is kept in words, and the next try comes sooner than usual") {
            hq.Kill9();
            s.sync.SyncNow();
            REQUIRE(Until(app.ui, [&] { return !s.sync.View().running; }));
            CHECK(s.sync.View().message_is_error);
            CHECK_THAT(s.sync.View().message, Catch::Contains("refused the connection"));
            CHECK(s.sync.View().failures == 1);
            CHECK(s.sync.View().next_auto < SyncFeature::SYNC_EVERY_S);
        }
    }
}

TEST_CASE("Work written before enrolment is offered, moved in one step, and synced", "[gui][sync]") {
    EnrolledApp e;
    auto& [hq_dir, hq, project, app, s] = e;
    app.Project("Mi cuaderno"); // a day of work before the coordinator's code arrives
    app.Add("narrative", {{"title", "La báscula"}, {"text", "Nadie ve la báscula."}});
    app.Add("field_note", {{"text", "Llegamos a la vereda."}});

    e.ShowSync();
    e.Enrol();
    REQUIRE(Until(
        app.ui, [&] { return !s.sync.View().running && s.sync.View().enrolled && !s.sync.View().local_work.empty(); }));
    const auto local = s.sync.View().local_work.front();
    CHECK(local.name == "Mi cuaderno");
    CHECK(local.records == std::map<std::string, int64_t>{{"field_note", 1}, {"narrative", 1}});
    CHECK_FALSE(local.kept);

    SECTION("kept here: said so, not sent, not offered as new again") {
        s.sync.KeepLocalWork(local.project_id);
        REQUIRE(
            Until(app.ui, [&] { return !s.sync.View().local_work.empty() && s.sync.View().local_work.front().kept; }));
        CHECK_THAT(s.sync.View().message, Catch::Contains("not sent"));
        s.sync.SyncNow();
        REQUIRE(Until(app.ui, [&] { return !s.sync.View().running; }));
        INFO(s.sync.View().message);
        CHECK_FALSE(s.sync.View().message_is_error); // nothing is refused: those records simply stay
        CHECK(s.sync.View().rejected == 0);
    }
    SECTION("moved: one project left, the records reach HQ, nothing waits") {
        s.sync.AdoptLocalWork(local.project_id);
        REQUIRE(Until(app.ui, [&] {
            return s.sync.View().local_work.empty() && !s.sync.View().running && s.sync.View().waiting_records == 0;
        }));
        INFO(s.sync.View().message);
        CHECK_FALSE(s.sync.View().message_is_error);
        CHECK(s.lists.ProjectId() == project);
        CHECK(s.sync.View().rejected == 0);
        const auto out = (hq_dir / "export.json").string();
        (void)hq.Admin({"export", "--project", project, "--out", out});
        const auto doc = nlohmann::json::parse(test::ReadFile(out));
        int narratives = 0;
        for (const auto& r : doc["records"]) narratives += r["type"] == "narrative";
        CHECK(narratives == 1);
        CHECK(doc["records"].size() == 3); // the project, the narrative, the note
    }
}

TEST_CASE("A refused change is shown with its reason, sent again or discarded", "[gui][sync]") {
    EnrolledApp e;
    auto& [hq_dir, hq, project, app, s] = e;
    e.ShowSync();
    e.Enrol();
    const bool enrolled = Until(
        app.ui, [&] { return !s.sync.View().running && s.sync.View().enrolled && s.lists.ProjectId() == project; });
    INFO(s.sync.View().message << " / project " << s.lists.ProjectId() << " / enrolled " << s.sync.View().enrolled);
    REQUIRE(enrolled);
    // Only a coordinator renames the project: headquarters refuses this one.
    app.Edit(project, {{"name", "Café Nariño 2027"}});
    s.sync.SyncNow();
    REQUIRE(Until(app.ui, [&] { return !s.sync.View().running && s.sync.View().refused_list.size() == 1; }));
    // The list marks the record refused; every other record is at headquarters.
    CHECK(s.sync.View().unsent.size() == 1);
    CHECK(s.sync.View().unsent.at(project) == true);
    const auto refused = s.sync.View().refused_list.front();
    CHECK_THAT(refused.reason, Catch::Contains("coordinator"));
    CHECK(s.sync.View().waiting_records == 0); // a refused change does not wait to be sent again by itself

    SECTION("sent again as it is: refused again, still one") {
        s.sync.RetryRefused(refused.seq);
        REQUIRE(Until(app.ui, [&] {
            return !s.sync.View().running && s.sync.View().refused_list.size() == 1 &&
                   s.sync.View().refused_list.front().seq == refused.seq;
        }));
        CHECK(s.sync.View().rejected == 1);
    }
    SECTION("discarded: gone from the list, the record as it is here") {
        s.sync.DiscardRefused(refused.seq);
        REQUIRE(Until(app.ui, [&] { return s.sync.View().refused_list.empty(); }));
        CHECK(s.sync.View().rejected == 0);
        CHECK(app.Read(project)["name"] == "Café Nariño 2027");
        CHECK(s.sync.View().unsent.empty());
    }
}

TEST_CASE("An interpreter downloads a researcher's recording from headquarters and plays it", "[gui][sync][audio]") {
    EnrolledApp e;
    auto& [hq_dir, hq, project, app, s] = e;
    // The researcher records with escucha-cli on their own device and syncs.
    const test::Env pass = {{"ESCUCHA_PASSPHRASE", "frase de paso de la investigadora"}};
    const auto vault = (hq_dir / "researcher").string();
    const auto cli = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--vault", vault});
        const auto r = test::RunCli(args, pass);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        auto out = r.out;
        out.erase(out.find_last_not_of('\n') + 1);
        return out;
    };
    cli({"init", "--author", "rosa"});
    cli({"enrol", "--server", hq.Url(), "--code", e.Code()});
    const auto interview = cli({"add", "interview", "kind=unstructured_interview", "title=Cosecha"});
    const auto wav = (hq_dir / "entrevista.wav").string();
    REQUIRE(std::system(("sox -n -r 16000 -c 1 '" + wav + "' synth 3 sine 440").c_str()) == 0);
    const auto recording = cli({"import-audio", "--interview", interview, wav});
    cli({"sync"});

    // The interpreter's window app: enrolled, synced, the recording is listed
    // but its audio is at headquarters only.
    e.ShowSync();
    s.sync.Form().server = hq.Url();
    s.sync.Form().code = hq.Admin({"enrol", "--project", project, "--role", "interpreter", "--person", "Inés"});
    s.sync.Enrol();
    REQUIRE(Until(app.ui, [&] { return !s.sync.View().running && s.sync.View().enrolled; }));
    s.sync.SyncNow();
    REQUIRE(Until(app.ui, [&] { return !s.sync.View().running; }));
    INFO(s.sync.View().message);
    REQUIRE_FALSE(s.sync.View().message_is_error);
    s.audio.OpenPlayer(recording, 0);
    REQUIRE(Until(app.ui, [&] { return !s.audio.MissingAudio().empty(); }));
    CHECK(s.audio.CurrentPlayer() == nullptr);
    CHECK_FALSE(s.audio.PlayerError().empty());

    s.audio.DownloadMissing();
    REQUIRE(Until(app.ui, [&] { return s.audio.CurrentPlayer() != nullptr || !s.audio.PlayerError().empty(); }));
    INFO(s.audio.PlayerError());
    REQUIRE(s.audio.CurrentPlayer() != nullptr);
    CHECK(std::abs(s.audio.CurrentPlayer()->DurationMs() - 3000) <= 40);
    CHECK(s.audio.DownloadProgress().first == s.audio.DownloadProgress().second);
}
