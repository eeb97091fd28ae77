// The app's sync panel against a real escucha-hq on loopback: enrol with a
// code, write, sync now, see the counts; bad codes and files are words.
#include "gui_fixture.h"

#include "files.h"
#include "sync/hq_process.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cctype>

using namespace escucha;
using namespace escucha::gui;
using escucha::test::Until;

TEST_CASE("Enrolment codes are taken however they were typed", "[gui][sync]") {
    CHECK(sync::NormaliseEnrolmentCode("k7qf-m2xd-9pla-3rtb") == "K7QF-M2XD-9PLA-3RTB");
    CHECK(sync::NormaliseEnrolmentCode(" K7QF M2XD 9PLA 3RTB ") == "K7QF-M2XD-9PLA-3RTB");
    CHECK(sync::NormaliseEnrolmentCode("k7qfm2xd9pla3rtb") == "K7QF-M2XD-9PLA-3RTB");
    CHECK(sync::NormaliseEnrolmentCode("K7QF_M2XD--9PLA-3RTB\n") == "K7QF-M2XD-9PLA-3RTB");
    CHECK(sync::NormaliseEnrolmentCode("K7QF-M2XD-9PLA-3RTB") == "K7QF-M2XD-9PLA-3RTB");
    CHECK(sync::NormaliseEnrolmentCode("").empty());
}

TEST_CASE("Enrol and sync from the app", "[gui][sync]") {
    test::TempDir hq_dir;
    test::HqProcess hq((hq_dir / "hq").string());
    const auto project = hq.Admin({"create-project", "Café Nariño"});
    test::GuiApp app;
    auto& s = app.state;
    app.Create();
    s.Show(SECTION_SYNC);
    REQUIRE(Until(app.ui, [&] { return s.sync.known; }));
    CHECK_FALSE(s.sync.enrolled);

    SECTION("bad input is refused in words and changes nothing") {
        s.Enrol();
        CHECK_THAT(s.sync.message, Catch::Contains("address"));
        s.sync.server_input = hq.Url();
        s.sync.code_input = "AAAA-BBBB-CCCC-DDDD";
        s.Enrol();
        REQUIRE(Until(app.ui, [&] { return !s.sync.running; }));
        CHECK(s.sync.message_is_error);
        CHECK_THAT(s.sync.message, Catch::Contains("unknown, expired or used already"));
        s.sync.code_input = hq.Admin({"enrol", "--project", project, "--role", "researcher", "--person", "Ana"});
        s.sync.ca_path_input = (hq_dir / "no-such.pem").string();
        s.Enrol();
        REQUIRE(Until(app.ui, [&] { return !s.sync.running; }));
        CHECK_THAT(s.sync.message, Catch::Contains("cannot be read"));
        REQUIRE(Until(app.ui, [&] { return s.sync.known; }));
        CHECK_FALSE(s.sync.enrolled);
    }
    SECTION("enrol, write, sync now: HQ has it and nothing waits") {
        s.sync.server_input = "  " + hq.Url() + " ";
        // Typed as read aloud over the phone: lower case, spaces for dashes.
        std::string code = hq.Admin({"enrol", "--project", project, "--role", "researcher", "--person", "Ana"});
        for (auto& c : code) c = c == '-' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        s.sync.code_input = " " + code;
        s.Enrol();
        REQUIRE(Until(app.ui, [&] { return !s.sync.running && s.sync.enrolled; }));
        INFO(s.sync.message);
        CHECK_FALSE(s.sync.message_is_error);
        CHECK(s.sync.project_name == "Café Nariño");
        // The project from HQ becomes the one records are filed under.
        REQUIRE(Until(app.ui, [&] { return s.project_id == project && s.lists["narrative"].loaded; }));

        s.NewRecord("narrative");
        s.draft->values["title"].text = "La báscula";
        s.draft->values["text"].text = "Nadie ve la báscula.";
        s.Edited(*s.draft, "text", 1.0);
        s.FocusLeft(*s.draft);
        REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
        s.RefreshSync();
        REQUIRE(Until(app.ui, [&] { return s.sync.pending == 1; }));

        s.SyncNow();
        CHECK(s.sync.running);
        REQUIRE(Until(app.ui, [&] { return !s.sync.running; }));
        INFO(s.sync.message);
        CHECK_FALSE(s.sync.message_is_error);
        CHECK_THAT(s.sync.message, Catch::Contains("1 sent"));
        CHECK(s.sync.progress.changes_total == 1); // the progress bar was given the count
        REQUIRE(Until(app.ui, [&] { return s.sync.pending == 0 && !s.sync.last_success.empty(); }));

        const auto out = (hq_dir / "export.json").string();
        (void)hq.Admin({"export", "--project", project, "--out", out});
        CHECK_THAT(test::ReadFile(out), Catch::Contains("Nadie ve la báscula."));

        SECTION("HQ away: the error is kept in words, and the next try comes sooner than usual") {
            hq.Kill9();
            s.SyncNow();
            REQUIRE(Until(app.ui, [&] { return !s.sync.running; }));
            CHECK(s.sync.message_is_error);
            CHECK_THAT(s.sync.message, Catch::Contains("cannot reach"));
            CHECK(s.sync.failures == 1);
            CHECK(s.sync.next_auto < AppState::SYNC_EVERY_S);
        }
    }
}

TEST_CASE("Work written before enrolment is offered, moved in one step, and synced", "[gui][sync]") {
    test::TempDir hq_dir;
    test::HqProcess hq((hq_dir / "hq").string());
    const auto project = hq.Admin({"create-project", "Café Nariño"});
    test::GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Mi cuaderno"); // a day of work before the coordinator's code arrives
    app.Add("narrative", {{"title", "La báscula"}, {"text", "Nadie ve la báscula."}});
    app.Add("field_note", {{"text", "Llegamos a la vereda."}});

    s.Show(SECTION_SYNC);
    REQUIRE(Until(app.ui, [&] { return s.sync.known; }));
    s.sync.server_input = hq.Url();
    s.sync.code_input = hq.Admin({"enrol", "--project", project, "--role", "researcher", "--person", "Ana"});
    s.Enrol();
    REQUIRE(Until(app.ui, [&] { return !s.sync.running && s.sync.enrolled && !s.sync.local_work.empty(); }));
    const auto local = s.sync.local_work.front();
    CHECK(local.name == "Mi cuaderno");
    CHECK(local.records == std::map<std::string, int64_t>{{"field_note", 1}, {"narrative", 1}});
    CHECK_FALSE(local.kept);

    SECTION("kept here: said so, not sent, not offered as new again") {
        s.KeepLocalWork(local.project_id);
        REQUIRE(Until(app.ui, [&] { return !s.sync.local_work.empty() && s.sync.local_work.front().kept; }));
        CHECK_THAT(s.sync.message, Catch::Contains("not sent"));
        s.SyncNow();
        REQUIRE(Until(app.ui, [&] { return !s.sync.running; }));
        INFO(s.sync.message);
        CHECK_FALSE(s.sync.message_is_error); // nothing is refused: those records simply stay
        CHECK(s.sync.rejected == 0);
    }
    SECTION("moved: one project left, the records reach HQ, nothing waits") {
        s.AdoptLocalWork(local.project_id);
        REQUIRE(Until(app.ui, [&] { return s.sync.local_work.empty() && !s.sync.running && s.sync.waiting_records == 0; }));
        INFO(s.sync.message);
        CHECK_FALSE(s.sync.message_is_error);
        CHECK(s.project_id == project);
        CHECK(s.sync.rejected == 0);
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
    test::TempDir hq_dir;
    test::HqProcess hq((hq_dir / "hq").string());
    const auto project = hq.Admin({"create-project", "Café Nariño"});
    test::GuiApp app;
    auto& s = app.state;
    app.Create();
    s.Show(SECTION_SYNC);
    REQUIRE(Until(app.ui, [&] { return s.sync.known; }));
    s.sync.server_input = hq.Url();
    s.sync.code_input = hq.Admin({"enrol", "--project", project, "--role", "researcher", "--person", "Ana"});
    s.Enrol();
    const bool enrolled = Until(app.ui, [&] { return !s.sync.running && s.sync.enrolled && s.project_id == project; });
    INFO(s.sync.message << " / project " << s.project_id << " / enrolled " << s.sync.enrolled);
    REQUIRE(enrolled);
    // Only a coordinator renames the project: headquarters refuses this one.
    app.Edit(project, {{"name", "Café Nariño 2027"}});
    s.SyncNow();
    REQUIRE(Until(app.ui, [&] { return !s.sync.running && s.sync.refused_list.size() == 1; }));
    const auto refused = s.sync.refused_list.front();
    CHECK_THAT(refused.reason, Catch::Contains("coordinator"));
    CHECK(s.sync.waiting_records == 0); // a refused change does not wait to be sent again by itself

    SECTION("sent again as it is: refused again, still one") {
        s.RetryRefused(refused.seq);
        REQUIRE(Until(app.ui, [&] { return !s.sync.running && s.sync.refused_list.size() == 1 &&
                                           s.sync.refused_list.front().seq == refused.seq; }));
        CHECK(s.sync.rejected == 1);
    }
    SECTION("discarded: gone from the list, the record as it is here") {
        s.DiscardRefused(refused.seq);
        REQUIRE(Until(app.ui, [&] { return s.sync.refused_list.empty(); }));
        CHECK(s.sync.rejected == 0);
        CHECK(app.Read(project)["name"] == "Café Nariño 2027");
    }
}
