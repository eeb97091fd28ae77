// The app's logic without a window: unlock, projects, forms with autosave,
// identity on demand, consent withdrawal, profiles, search, auto-lock.
#include "app_state.h"
#include "files.h"
#include "gui_fixture.h"
#include "i18n.h"
#include "labels.h"

#include "escucha/interpret/interpretation_records.h"

#include <catch2/catch.hpp>

#include <ctime>
#include <vector>

using namespace escucha;
using namespace escucha::gui;
using escucha::test::GuiApp;
using escucha::test::Until;

TEST_CASE("Unlocking: the passphrase is checked and errors are words", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    CHECK_FALSE(s.session.VaultExists());

    SECTION("passphrases that differ are refused before anything is written") {
        s.session.Form().passphrase = "frase de paso larga";
        s.session.Form().passphrase_again = "otra";
        s.session.SubmitPassphrase(0);
        CHECK_THAT(s.Error(), Catch::Contains("differ"));
        CHECK_FALSE(storage::Vault::Exists(app.dir / "vault"));
    }
    SECTION("a short passphrase is an error in words") {
        s.session.Form().passphrase = s.session.Form().passphrase_again = "corta";
        s.session.SubmitPassphrase(0);
        REQUIRE(Until(app.ui, [&] { return !s.session.Busy(); }));
        CHECK_THAT(s.Error(), Catch::Contains("8 characters"));
        CHECK(s.session.CurrentScreen() == Screen::Unlock);
    }
    SECTION("a wrong passphrase keeps the unlock screen with the reason") {
        {
            auto v = storage::Vault::Create(app.dir / "vault", storage::Passphrase("frase de paso larga"),
                                            interpret::AllRecordTypes(), {"a"});
        }
        GuiApp::Session again(app);
        again.state.session.Form().passphrase = "no es esta";
        again.state.session.SubmitPassphrase(0);
        REQUIRE(Until(app.ui, [&] { return !again.state.session.Busy(); }));
        CHECK_THAT(again.state.Error(), Catch::Contains("Wrong passphrase"));
        CHECK_THAT(again.state.Error(), !Catch::Contains("/")); // worded from its code: no vault path
        CHECK(again.state.session.CurrentScreen() == Screen::Unlock);
        CHECK(again.state.session.Form().passphrase.empty()); // wiped even when it was wrong
    }
}

TEST_CASE("Create, first project, write with autosave, lock, unlock and find", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    CHECK(s.lists.ProjectId().empty()); // the app asks for a project first
    s.editing.NewRecord("narrative");
    CHECK_THAT(s.Error(), Catch::Contains("project first"));
    CHECK_FALSE(s.editing.Draft());

    s.lists.NewProjectName() = "   ";
    s.lists.CreateFirstProject();
    CHECK_THAT(s.Error(), Catch::Contains("name"));
    s.lists.NewProjectName() = "Cafetaleras de Nariño";
    s.lists.CreateFirstProject();
    REQUIRE(Until(app.ui, [&] { return !s.lists.ProjectId().empty(); }));
    CHECK(s.lists.ProjectName() == "Cafetaleras de Nariño");

    s.editing.NewRecord("narrative");
    REQUIRE(s.editing.Draft());
    CHECK(s.context.focus_first_field);
    auto& d = *s.editing.Draft();
    d.values["title"].text = "Cosecha";
    s.editing.Edited(d, "title", 10.0);
    s.Tick(11.1);
    CHECK_THAT(d.error, Catch::Contains("Text")); // nothing to create without the narrative itself
    CHECK(d.id.empty());
    CHECK(d.dirty);
    d.values["text"].text = "Cobran por arroba.";
    s.editing.Edited(d, "text", 12.0);
    CHECK(d.error.empty() == false); // the old message stays until a save says otherwise
    s.Tick(12.5);                    // not yet: less than a second since the last keystroke
    CHECK(d.dirty);
    CHECK_FALSE(d.saving);
    s.Tick(13.1);
    REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->dirty && !s.editing.Draft()->id.empty(); }));
    CHECK(s.editing.Draft()->error.empty());
    CHECK(s.Status() == "Saved");
    const auto id = s.editing.Draft()->id;
    REQUIRE(s.lists.List("narrative").rows.size() == 1);
    CHECK(s.lists.List("narrative").rows[0].title == "Cosecha");

    s.editing.Draft()->values["text"].text += " Y la báscula nadie la ve.";
    s.editing.Edited(*s.editing.Draft(), "text", 14.0);
    s.Lock(); // saves what is unsaved first
    CHECK(s.session.CurrentScreen() == Screen::Unlock);
    CHECK_FALSE(s.editing.Draft());
    CHECK(s.lists.All().empty());

    app.Unlock();
    REQUIRE(Until(app.ui, [&] { return s.lists.List("narrative").loaded; }));
    CHECK(s.lists.ProjectId() == s.lists.List("project").rows.at(0).id);
    REQUIRE(s.lists.List("narrative").rows.size() == 1);
    s.editing.OpenRecord(id);
    REQUIRE(Until(app.ui, [&] { return s.editing.Draft() != nullptr; }));
    CHECK(s.editing.Draft()->values["text"].text == "Cobran por arroba. Y la báscula nadie la ve.");

    s.search.Query() = "BASCULA";
    s.search.Search();
    REQUIRE(Until(app.ui, [&] { return s.search.View().done == 1; }));
    REQUIRE(s.search.View().ranks.size() == 1);
    s.search.NeedHits(0, 1);
    REQUIRE(Until(app.ui, [&] { return s.search.View().hits.count(0) == 1; }));
    CHECK(s.search.View().hits.at(0).id == id);
    CHECK_THAT(s.search.View().hits.at(0).snippet, Catch::Contains("\x01"
                                                                   "báscula"
                                                                   "\x02"));
}

TEST_CASE("Forms: every field kind, refusals by field, nothing else lost", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Pesca en Jacmel");

    SECTION("a narrative written before it is named is saved under its first words") {
        s.editing.NewRecord("narrative");
        auto& d = *s.editing.Draft();
        d.values["text"].text =
            "\n  Salimos antes del alba, cuando el mar todavía está quieto y los botes esperan.\nDespués...";
        s.editing.Edited(d, "text", 1.0);
        s.Tick(2.1);
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
        CHECK(d.values["title"].text ==
              "Salimos antes del alba, cuando el mar todavía está quieto y los botes esperan.");
        CHECK(app.Read(d.id)["title"] == d.values["title"].text);
    }

    SECTION("a participant needs a pseudonym; lists and choices are read from the form") {
        s.editing.NewRecord("participant");
        auto& d = *s.editing.Draft();
        d.values["territory"].text = "Sud-Est";
        s.editing.Edited(d, "territory", 1.0);
        s.Tick(2.5);
        CHECK_THAT(d.error, Catch::Contains("Pseudonym"));
        CHECK(d.id.empty());
        d.values["pseudonym"].text = "  Rosa  ";
        d.values["vulnerability_groups"].text = "migrante, , indígena ,";
        d.values["age_band"].text = "25_34";
        s.editing.Edited(d, "pseudonym", 3.0);
        s.Tick(4.1);
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
        const auto stored = app.Read(s.editing.Draft()->id);
        CHECK(stored["pseudonym"] == "Rosa");
        CHECK(stored["vulnerability_groups"] == storage::Json::array({"migrante", "indígena"}));
        CHECK(stored["age_band"] == "25_34");
        CHECK(stored["code"].get<std::string>().rfind("P-", 0) == 0);
    }
    SECTION("a field the vault refuses is named, and the other fields are saved") {
        s.editing.NewRecord("interview");
        auto& d = *s.editing.Draft();
        d.values["kind"].text = "observation";
        d.values["title"].text = "Mercado";
        s.editing.Edited(d, "title", 1.0);
        s.editing.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
        d.values["started_at"].text = "2026-02-30";
        d.values["place_label"].text = "Plaza de mercado";
        s.editing.Edited(d, "started_at", 2.0);
        s.editing.Edited(d, "place_label", 2.0);
        s.editing.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->saving; }));
        CHECK(d.field_errors.count("started_at") == 1);
        CHECK(d.dirty); // the refused date is still only in the form
        const auto stored = app.Read(d.id);
        CHECK(stored["place_label"] == "Plaza de mercado");
        CHECK_FALSE(stored.contains("started_at"));
        // No retry loop on the same refused text...
        s.Tick(10.0);
        CHECK_FALSE(d.saving);
        // ...until it is corrected.
        d.values["started_at"].text = "2026-02-28";
        s.editing.Edited(d, "started_at", 11.0);
        CHECK(d.field_errors.empty());
        s.Tick(12.1);
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->saving && !s.editing.Draft()->dirty; }));
        CHECK(app.Read(d.id)["started_at"] == "2026-02-28");
    }
    SECTION("a word where a number goes is named before anything is sent") {
        s.editing.NewRecord("profile");
        auto& d = *s.editing.Draft();
        d.values["kind"].text = "collective";
        d.values["name"].text = "Pescadoras";
        d.values["version"].text = "dos";
        s.editing.Edited(d, "version", 1.0);
        s.editing.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
        CHECK(d.field_errors["version"] == "is not a whole number");
        CHECK(app.Read(d.id)["version"] == 1);
    }
    SECTION("clearing an optional field removes it; a required one keeps its value") {
        s.editing.NewRecord("field_note");
        auto& d = *s.editing.Draft();
        d.values["title"].text = "Tarde";
        d.values["text"].text = "Llovió.";
        s.editing.Edited(d, "text", 1.0);
        s.editing.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
        d.values["title"].text = "";
        d.values["text"].text = "  ";
        s.editing.Edited(d, "title", 2.0);
        s.editing.Edited(d, "text", 2.0);
        s.editing.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->saving; }));
        const auto stored = app.Read(d.id);
        CHECK_FALSE(stored.contains("title"));
        CHECK(stored["text"] == "Llovió.");
    }
    SECTION("deleting a record that others refer to is refused in words") {
        s.editing.NewRecord("participant");
        s.editing.Draft()->values["pseudonym"].text = "Toma";
        s.editing.Edited(*s.editing.Draft(), "pseudonym", 1.0);
        s.editing.FocusLeft(*s.editing.Draft());
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
        const auto participant = s.editing.Draft()->id;
        s.editing.NewRecord("narrative");
        s.editing.Draft()->values["title"].text = "Mar";
        s.editing.Draft()->values["text"].text = "El mar da y quita.";
        s.editing.Draft()->values["teller_ids"].items = {participant};
        s.editing.Edited(*s.editing.Draft(), "teller_ids", 2.0);
        s.editing.FocusLeft(*s.editing.Draft());
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
        s.editing.OpenRecord(participant);
        REQUIRE(Until(app.ui, [&] { return s.editing.Draft() && s.editing.Draft()->id == participant; }));
        s.editing.DeleteRecord();
        REQUIRE(Until(app.ui, [&] { return !s.Error().empty(); }));
        CHECK_THAT(s.Error(), Catch::Contains("refer to"));
        CHECK(s.lists.Row("participant", participant) != nullptr);
    }
}

TEST_CASE("A participant's identity is shown only on demand and never searched", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    s.editing.NewRecord("participant");
    s.editing.ShowIdentity(); // not before the participant is saved
    CHECK_FALSE(s.editing.Identity());
    s.editing.Draft()->values["pseudonym"].text = "Luz";
    s.editing.Edited(*s.editing.Draft(), "pseudonym", 1.0);
    s.editing.FocusLeft(*s.editing.Draft());
    REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
    const auto participant = s.editing.Draft()->id;
    CHECK_FALSE(s.editing.Identity());
    s.editing.ShowIdentity();
    REQUIRE(Until(app.ui, [&] { return s.editing.Identity() != nullptr; }));
    CHECK(s.editing.Identity()->values["participant_id"].text == participant);
    s.editing.Identity()->values["full_name"].text = "Luz Marina Quiñones";
    s.editing.Identity()->values["contact"].text = "+57 300 000 0000";
    s.editing.Edited(*s.editing.Identity(), "full_name", 2.0);
    s.Tick(3.1);
    REQUIRE(Until(app.ui, [&] { return !s.editing.Identity()->id.empty() && !s.editing.Identity()->saving; }));
    CHECK(s.lists.List("identity_link").rows.empty()); // never listed
    s.editing.HideIdentity();
    CHECK_FALSE(s.editing.Identity());
    s.editing.ShowIdentity();
    REQUIRE(Until(app.ui, [&] { return s.editing.Identity() != nullptr; }));
    CHECK(s.editing.Identity()->values["full_name"].text == "Luz Marina Quiñones");

    s.search.Query() = "Quiñones";
    s.search.Search();
    REQUIRE(Until(app.ui, [&] { return s.search.View().done == 1; }));
    CHECK(s.search.View().ranks.empty());
}

TEST_CASE("Consent: scopes as a list, withdrawal with its date", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    const auto participant = app.Add("participant", {{"pseudonym", "Ana"}});
    const auto other = app.Add("participant", {{"pseudonym", "Beto"}});
    const auto hers = app.Add(
        "narrative",
        {{"title", "La deuda"}, {"text", "Nos pagan con vales"}, {"teller_ids", storage::Json::array({participant})}});
    const auto his = app.Add(
        "narrative", {{"title", "El río"}, {"text", "Crece en mayo"}, {"teller_ids", storage::Json::array({other})}});
    s.editing.NewRecord("consent");
    auto& d = *s.editing.Draft();
    CHECK(d.values["status"].text == "given"); // the default is shown
    d.values["participant_id"].text = participant;
    d.values["script_version"].text = "v2";
    d.values["language"].text = "es";
    d.values["mode"].text = "oral_recorded";
    d.values["scopes"].items = {"record_audio", "transcribe"};
    s.editing.Edited(d, "scopes", 1.0);
    s.editing.FocusLeft(d);
    REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
    CHECK(app.Read(d.id)["scopes"] == storage::Json::array({"record_audio", "transcribe"}));
    CHECK(s.lists.RowLabel("consent", s.lists.List("consent").rows.at(0)) == "Ana");

    const auto consent = d.id;
    s.editing.WithdrawConsent(5.0);
    REQUIRE(Until(app.ui, [&] { return s.Status().rfind("Consent withdrawn", 0) == 0; }));
    CHECK(s.Status() == "Consent withdrawn: 1 record(s) erased, 0 flagged for review");
    const auto stored = app.Read(consent);
    CHECK(stored["status"] == "withdrawn");
    CHECK(stored["withdrawn_at"] == Today());
    // What she told is erased in the same operation; what others told stays.
    CHECK(app.Read(hers)["deleted"] == true);
    CHECK(app.Read(his)["deleted"] == false);
    // The form shows the consent as it is now.
    REQUIRE(Until(app.ui, [&] {
        return s.editing.Draft() && s.editing.Draft()->id == consent &&
               s.editing.Draft()->values["status"].text == "withdrawn";
    }));
}

TEST_CASE("A profile shows the narratives it draws on", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    const auto n1 = app.Add("narrative", {{"title", "La báscula"}, {"text", "Nadie ve la báscula."}});
    const auto n2 = app.Add("narrative", {{"title", "El pago"}, {"text", "Pagan a los quince días."}});
    s.editing.NewRecord("profile");
    auto& d = *s.editing.Draft();
    d.values["kind"].text = "collective";
    d.values["name"].text = "Recolectoras";
    d.values["narrative_ids"].items = {n1, n2};
    s.editing.Edited(d, "narrative_ids", 1.0);
    REQUIRE(Until(app.ui, [&] { return s.editing.LinkedNarratives().size() == 2; }));
    CHECK(s.editing.LinkedNarratives()[0]["text"] == "Nadie ve la báscula.");
    s.editing.FocusLeft(d);
    REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
    const auto profile = d.id;
    s.editing.CloseRecord();
    CHECK(s.editing.LinkedNarratives().empty());
    s.editing.OpenRecord(profile);
    REQUIRE(Until(app.ui, [&] { return s.editing.LinkedNarratives().size() == 2; }));
    CHECK(s.Section() == "profile");
}

TEST_CASE("Search results are read only where they are shown", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    storage::Json batch = storage::Json::array();
    for (int i = 0; i < 300; ++i)
        batch.push_back({{"type", "field_note"},
                         {"project_id", s.lists.ProjectId()},
                         {"text", "Nota " + std::to_string(i) + " sobre la cosecha de café."}});
    app.Import(batch);
    s.search.Query() = "cafe";
    s.search.Search();
    REQUIRE(Until(app.ui, [&] { return s.search.View().done == 1; }));
    CHECK(s.search.View().ranks.size() == 300);
    CHECK(s.search.View().hits.empty());
    s.search.NeedHits(0, 10);
    REQUIRE(Until(app.ui, [&] { return s.search.View().hits.size() == SearchState::CHUNK; }));
    s.search.NeedHits(250, 260);
    REQUIRE(Until(app.ui, [&] { return s.search.View().hits.count(259) == 1; }));
    CHECK(s.search.View().hits.count(100) == 0);
    s.search.NeedHits(0, 10); // asked already: nothing more
    app.worker.Flush();
    app.ui.Run();
    CHECK(s.search.View().hits.size() == SearchState::CHUNK + (300 - 4 * SearchState::CHUNK) + SearchState::CHUNK);

    SECTION("a newer search drops the answers to an older one") {
        s.search.Query() = "nota";
        s.search.Search();
        s.search.NeedHits(0, 1);
        s.search.Query() = "inexistente";
        s.search.Search();
        REQUIRE(Until(app.ui, [&] { return !s.search.View().searching; }));
        CHECK(s.search.View().shown_query == "inexistente");
        CHECK(s.search.View().ranks.empty());
    }
}

TEST_CASE("The vault locks itself after the chosen idle time, saving first", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    s.settings.SetLockAfterMinutes(2);
    app.Create();
    app.Project("Cafetaleras");
    s.session.Input(100.0);
    s.editing.NewRecord("field_note");
    s.editing.Draft()->values["text"].text = "Escrito justo antes de irme.";
    s.editing.Edited(*s.editing.Draft(), "text", 100.5);
    s.Tick(160.0);
    CHECK(s.session.CurrentScreen() == Screen::Main);
    s.Tick(100.5 + 120.0);
    CHECK(s.session.CurrentScreen() == Screen::Unlock);
    CHECK_THAT(s.session.LockedReason(), Catch::Contains("2 minutes"));
    app.Unlock();
    REQUIRE(Until(app.ui, [&] { return s.lists.List("field_note").loaded; }));
    REQUIRE(s.lists.List("field_note").rows.size() == 1);
    CHECK(s.lists.List("field_note").rows[0].title == "Escrito justo antes de irme.");

    SECTION("never, when so chosen") {
        s.settings.SetLockAfterMinutes(0);
        s.Tick(1e6);
        CHECK(s.session.CurrentScreen() == Screen::Main);
    }
}

TEST_CASE("Closing a record while it is being saved keeps the last keystrokes", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    s.editing.NewRecord("field_note");
    s.editing.Draft()->values["text"].text = "Primera parte.";
    s.editing.Edited(*s.editing.Draft(), "text", 1.0);
    s.editing.FocusLeft(*s.editing.Draft());
    REQUIRE(s.editing.Draft()->saving);
    s.editing.Draft()->values["text"].text = "Primera parte. Segunda parte.";
    s.editing.Edited(*s.editing.Draft(), "text", 1.2);
    s.editing.CloseRecord(); // the save in flight has not landed yet
    CHECK_FALSE(s.editing.Draft());
    REQUIRE(s.editing.Closing().size() == 1);
    double now = 2.0;
    REQUIRE(Until(app.ui, [&] {
        s.Tick(now += 0.5);
        return s.editing.Closing().empty();
    }));
    REQUIRE(s.lists.List("field_note").rows.size() == 1);
    CHECK(app.Read(s.lists.List("field_note").rows[0].id)["text"] == "Primera parte. Segunda parte.");
}

TEST_CASE("Opening records: the latest request wins, and a record still saving reopens as typed", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    const auto a = app.Add("field_note", {{"text", "Nota A"}});

    SECTION("a new record made while an older one is still being read stays open") {
        s.editing.OpenRecord(a);
        s.editing.NewRecord("field_note"); // before the read lands
        s.editing.Draft()->values["text"].text = "Nueva";
        s.editing.Edited(*s.editing.Draft(), "text", 1.0);
        app.worker.Flush();
        app.ui.Run();
        REQUIRE(s.editing.Draft());
        CHECK(s.editing.Draft()->id.empty());
        CHECK(s.editing.Draft()->values["text"].text == "Nueva");
    }
    SECTION("reopening a record whose last words are still being saved shows them") {
        s.editing.OpenRecord(a);
        REQUIRE(Until(app.ui, [&] { return s.editing.Draft() != nullptr; }));
        s.editing.Draft()->values["text"].text = "Nota A, corregida";
        s.editing.Edited(*s.editing.Draft(), "text", 1.0);
        s.editing.FocusLeft(*s.editing.Draft());
        s.editing.Draft()->values["text"].text = "Nota A, corregida y ampliada";
        s.editing.Edited(*s.editing.Draft(), "text", 1.1);
        s.editing.CloseRecord();
        s.editing.OpenRecord(a);
        REQUIRE(s.editing.Draft());
        CHECK(s.editing.Draft()->values["text"].text == "Nota A, corregida y ampliada");
        double now = 2.0;
        REQUIRE(Until(app.ui, [&] {
            s.Tick(now += 0.5);
            return !s.editing.Draft()->dirty && !s.editing.Draft()->saving;
        }));
        CHECK(app.Read(a)["text"] == "Nota A, corregida y ampliada");
    }
}

TEST_CASE("A search result whose record went away keeps its place", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(app.Add("field_note", {{"text", "Jornal número " + std::to_string(i)}}));
    s.search.Query() = "jornal";
    s.search.Search();
    REQUIRE(Until(app.ui, [&] { return s.search.View().done == 1; }));
    REQUIRE(s.search.View().ranks.size() == 5);
    // Deleted after ranking, before its row is read.
    app.worker.Post([&](std::optional<storage::Vault>& v) { (void)v->Records().Delete(ids[2]); });
    s.search.NeedHits(0, 5);
    REQUIRE(Until(app.ui, [&] { return s.search.View().hits.size() == 5; }));
    int gone = 0;
    for (size_t i = 0; i < 5; ++i) gone += s.search.View().hits.at(i).id.empty() ? 1 : 0;
    CHECK(gone == 1);
    for (size_t i = 0; i < 5; ++i)
        if (!s.search.View().hits.at(i).id.empty()) CHECK(s.search.View().hits.at(i).id != ids[2]);
}

TEST_CASE("Conflicts from headquarters are shown with both versions and settled by a person", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    const auto profile =
        app.Add("profile", {{"kind", "collective"}, {"name", "Recolectoras"}, {"context", "Versión de esta tableta."}});
    // As a pull leaves it: the field kept one version, the other waits.
    app.worker.Post([&](std::optional<storage::Vault>& v) {
        v->Records().AddConflict({{"seq", 7},
                                  {"record_type", "profile"},
                                  {"record_id", profile},
                                  {"field", "context"},
                                  {"kept", "Versión de esta tableta."},
                                  {"other", "Versión de la sede."},
                                  {"other_author", "Marta"},
                                  {"other_device", "d2"},
                                  {"other_hlc", ""}});
    });
    app.worker.Flush();
    s.sync.RefreshSync();
    REQUIRE(Until(app.ui, [&] { return s.sync.View().conflict_list.size() == 1; }));
    const auto& c = s.sync.View().conflict_list[0];
    CHECK(c.record_title == "Recolectoras");
    CHECK(c.kept == "Versión de esta tableta.");
    CHECK(c.other == "Versión de la sede.");
    CHECK(c.other_author == "Marta");

    SECTION("taking the other version changes the record and settles the conflict") {
        s.editing.OpenRecord(profile);
        REQUIRE(Until(app.ui, [&] { return s.editing.Draft() != nullptr; }));
        s.sync.ResolveConflict(7, true);
        const bool settled =
            Until(app.ui, [&] { return s.sync.View().conflict_list.empty() && s.editing.Draft() != nullptr; });
        INFO(s.sync.View().message << " / " << s.Error());
        REQUIRE(settled);
        CHECK(app.Read(profile)["context"] == "Versión de la sede.");
        CHECK(s.editing.Draft()->values["context"].text == "Versión de la sede."); // the form shows it
    }
    SECTION("keeping this version only settles it") {
        s.sync.ResolveConflict(7, false);
        REQUIRE(Until(app.ui, [&] { return s.sync.View().conflict_list.empty(); }));
        CHECK(app.Read(profile)["context"] == "Versión de esta tableta.");
    }
}

TEST_CASE("Narrowing a list ignores case and accents", "[gui]") {
    CHECK(FoldForMatch("Ñandú ÁÉÍÓÚ Ç ÿ") == "nandu aeiou c y");
    CHECK(FoldForMatch("Côteaux, Port-Salut") == "coteaux, port-salut");
    CHECK(FoldForMatch("Æ ß ×") == "Æ ß ×"); // no single base letter: kept as they are
    CHECK(FoldForMatch("日本") == "日本");
}

TEST_CASE("A save that fails for another reason than the record is tried again", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    s.editing.NewRecord("field_note");
    s.editing.Draft()->values["text"].text = "Escrita cuando la bóveda no respondía.";
    s.editing.Edited(*s.editing.Draft(), "text", 1.0);
    // The vault's connection is away for a moment (as when it is busy).
    std::optional<storage::Vault> away;
    app.worker.Post([&](std::optional<storage::Vault>& v) {
        away.emplace(std::move(*v));
        v.reset();
    });
    s.Tick(2.1);
    REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->saving; }));
    CHECK_FALSE(s.editing.Draft()->error.empty());
    CHECK(s.editing.Draft()->dirty);
    CHECK(s.editing.Draft()->revision !=
          s.editing.Draft()->refused_revision); // not a refusal: no edit is needed to retry
    s.Tick(3.0);                                // too soon
    CHECK_FALSE(s.editing.Draft()->saving);
    app.worker.Post([&](std::optional<storage::Vault>& v) { v.emplace(std::move(*away)); });
    s.Tick(2.1 + EditingFeature::RETRY_AFTER_S);
    REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->saving && !s.editing.Draft()->id.empty(); }));
    CHECK(s.editing.Draft()->error.empty());
    CHECK(app.Read(s.editing.Draft()->id)["text"] == "Escrita cuando la bóveda no respondía.");
}

TEST_CASE("After a wrong passphrase the field keeps the keyboard", "[gui]") {
    GuiApp app;
    {
        auto v = storage::Vault::Create(app.dir / "vault", storage::Passphrase("frase de paso larga"),
                                        interpret::AllRecordTypes(), {"a"});
    }
    GuiApp::Session again(app);
    auto& s = again.state;
    s.context.focus_first_field = false; // as after the first frame drew the field
    s.session.Form().passphrase = "no es esta";
    s.session.SubmitPassphrase(0); // Enter: Dear ImGui takes the keyboard from the field
    REQUIRE(Until(app.ui, [&] { return !s.session.Busy(); }));
    CHECK_FALSE(s.Error().empty());
    CHECK(s.context.focus_first_field); // given back, to type again at once

    SECTION("also when the two new passphrases differ, and for an empty project name") {
        GuiApp fresh;
        fresh.state.context.focus_first_field = false;
        fresh.state.session.Form().passphrase = "frase de paso larga";
        fresh.state.session.Form().passphrase_again = "frase de paso largo";
        fresh.state.session.SubmitPassphrase(0);
        CHECK(fresh.state.context.focus_first_field);
        fresh.Create();
        fresh.state.context.focus_first_field = false;
        fresh.state.lists.CreateFirstProject();
        CHECK(fresh.state.context.focus_first_field);
    }
}

TEST_CASE("The vault is created under the name the person gives", "[gui]") {
    CHECK_FALSE(DefaultAuthorName().empty());
    GuiApp app;
    auto& s = app.state;
    CHECK_FALSE(s.session.Form().author_name.empty()); // prefilled
    SECTION("an empty name is asked for") {
        s.session.Form().author_name = "  ";
        s.session.Form().passphrase = s.session.Form().passphrase_again = GuiApp::PASSPHRASE;
        s.session.SubmitPassphrase(0);
        CHECK_THAT(s.Error(), Catch::Contains("name"));
        CHECK_FALSE(storage::Vault::Exists(app.dir / "vault"));
    }
    SECTION("what is written carries it") {
        s.session.Form().author_name = " Ana Quispe ";
        app.Create();
        app.Project("Cafetaleras");
        const auto id = app.Add("field_note", {{"text", "Llovió."}});
        CHECK(app.Read(id)["author"] == "Ana Quispe");
    }
}

TEST_CASE("A new participant's code is shown as soon as it is saved", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    s.editing.NewRecord("participant");
    CHECK(s.editing.Draft()->values["code"].text.empty());
    s.editing.Draft()->values["pseudonym"].text = "Rosa";
    s.editing.Edited(*s.editing.Draft(), "pseudonym", 1.0);
    s.editing.FocusLeft(*s.editing.Draft());
    REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
    const auto code = s.editing.Draft()->values["code"].text;
    CHECK(code.rfind("P-", 0) == 0);
    CHECK(app.Read(s.editing.Draft()->id)["code"] == code);
    CHECK(s.editing.Draft()->values["pseudonym"].text == "Rosa");
    CHECK_FALSE(s.editing.Draft()->author.empty()); // "By …" is shown at once too
}

TEST_CASE("Dates: checked in words before saving, and a calendar's arithmetic", "[gui]") {
    CHECK(DaysInMonth(2024, 2) == 29);
    CHECK(DaysInMonth(2026, 2) == 28);
    CHECK(DaysInMonth(2000, 2) == 29);
    CHECK(DaysInMonth(1900, 2) == 28);
    CHECK(DaysInMonth(2026, 4) == 30);
    CHECK(Weekday({2026, 3, 14}) == 5); // a Saturday
    CHECK(Weekday({1970, 1, 1}) == 3);  // a Thursday
    CHECK(Weekday({2000, 2, 29}) == 1); // a Tuesday
    CHECK(ParseDate("2026-03-14") == CivilDate{2026, 3, 14});
    CHECK(ParseDate("2026-03-14T09:30:00Z") == CivilDate{2026, 3, 14});
    CHECK_FALSE(ParseDate("2026-02-30"));
    CHECK_FALSE(ParseDate("14/03/2026"));
    CHECK(FormatDate({2026, 3, 4}) == "2026-03-04");
    CHECK(DateProblem("").empty());
    CHECK(DateProblem("2026-03-14").empty());
    CHECK(DateProblem("2026-03-14T09:30-05:00").empty()); // the vault checks a time
    CHECK_THAT(DateProblem("14/03/2026"), Catch::Contains("year-month-day"));
    CHECK_THAT(DateProblem("ayer"), Catch::Contains("calendar"));
    CHECK(DateProblem("2026-02-30") == "is not a day of the calendar: February 2026 has 28 days");
    CHECK_THAT(DateProblem("2026-13-01"), Catch::Contains("12 months"));

    SECTION("in the person's language, naming the field as the form does") {
        GuiApp app;
        auto& s = app.state;
        SetLanguage("es");
        CHECK(DateProblem("2026-02-30") == "no es un día del calendario: febrero de 2026 tiene 28 días");
        app.Create();
        app.Project("Cafetaleras");
        s.editing.NewRecord("interview");
        auto& d = *s.editing.Draft();
        d.values["kind"].text = "observation";
        d.values["title"].text = "Mercado";
        d.values["started_at"].text = "30/02/2026";
        s.editing.Edited(d, "started_at", 1.0);
        s.editing.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->id.empty() && !s.editing.Draft()->saving; }));
        CHECK(d.field_errors["started_at"] ==
              "no es una fecha: escríbela como año-mes-día (2026-03-14) o elígela en el calendario");
        CHECK(app.Read(d.id)["title"] == "Mercado"); // the rest is saved
        // A time the vault refuses is said the same way, not in its words.
        d.values["started_at"].text = "2026-02-28T25:99";
        s.editing.Edited(d, "started_at", 2.0);
        s.editing.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->saving; }));
        CHECK_THAT(d.field_errors["started_at"], Catch::StartsWith("no es una fecha"));
        SetLanguage("en");
    }
}

TEST_CASE("Sync status: the last success in words, an error settled by a later success", "[gui]") {
    const std::time_t now = ParseIsoUtc("2026-03-14T12:00:00.000Z");
    REQUIRE(now > 0);
    CHECK(ParseIsoUtc("not a date") == -1);
    CHECK_THAT(SinceInWords("2026-03-14T11:59:30.000Z", now), Catch::StartsWith("just now ("));
    CHECK_THAT(SinceInWords("2026-03-14T11:55:00.000Z", now), Catch::StartsWith("5 minutes ago ("));
    CHECK_THAT(SinceInWords("2026-03-14T09:00:00.000Z", now), Catch::StartsWith("3 hours ago ("));
    CHECK_THAT(SinceInWords("2026-03-10T12:00:00.000Z", now), Catch::StartsWith("4 days ago (2026-03-10"));
    CHECK(SinceInWords("", now).empty());
    SetLanguage("es");
    CHECK_THAT(SinceInWords("2026-03-14T11:55:00.000Z", now), Catch::StartsWith("hace 5 minutos ("));
    SetLanguage("fr");
    CHECK_THAT(SinceInWords("2026-03-14T11:55:00.000Z", now), Catch::StartsWith("il y a 5 minutes ("));
    SetLanguage("pt");
    CHECK_THAT(SinceInWords("2026-03-14T11:55:00.000Z", now), Catch::StartsWith("há 5 minutos ("));
    SetLanguage("en");

    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    const auto set_meta = [&](const char* key, const std::string& value) {
        app.worker.Post([&](std::optional<storage::Vault>& v) { v->SetMeta(key, value); });
        app.worker.Flush();
    };
    set_meta("sync.last_success", "2026-03-14T10:00:00.000Z");
    set_meta("sync.last_error", "2026-03-14T11:00:00.000Z cannot reach headquarters");
    s.sync.RefreshSync();
    REQUIRE(Until(app.ui, [&] { return s.sync.View().last_success == "2026-03-14T10:00:00.000Z"; }));
    CHECK_THAT(s.sync.View().last_error, Catch::Contains("cannot reach"));
    set_meta("sync.last_success", "2026-03-14T11:00:00.500Z");
    s.sync.RefreshSync();
    REQUIRE(Until(app.ui, [&] { return s.sync.View().last_success == "2026-03-14T11:00:00.500Z"; }));
    CHECK(s.sync.View().last_error.empty()); // the success came after it
}

TEST_CASE("A record opened from search marks the words searched for", "[gui]") {
    CHECK(QueryTerms("BASCULA recolectoras") == std::vector<std::string>{"bascula", "recolectoras"});
    CHECK(QueryTerms("cosech* AND \"café\"") == std::vector<std::string>{"cosech*", "cafe"});
    const std::string text = "Las recolectoras cobran por arroba y nadie ve la báscula. ¡Básculas!";
    const auto found = FindTerms(text, {"bascula", "cobr*"});
    REQUIRE(found.size() == 2); // "Básculas" is another word; "cobr*" matches "cobran"
    CHECK(text.substr(found[0].first, found[0].second - found[0].first) == "cobran");
    CHECK(text.substr(found[1].first, found[1].second - found[1].first) == "báscula");
    const std::string asked = "¿Báscula? «báscula» “BÁSCULA”…";
    CHECK(FindTerms(asked, {"bascula"}).size() == 3);

    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    const auto id = app.Add("narrative", {{"title", "La báscula"}, {"text", text}});
    s.search.Query() = "bascula";
    s.search.Search();
    REQUIRE(Until(app.ui, [&] { return s.search.View().done == 1; }));
    s.search.NeedHits(0, 1);
    REQUIRE(Until(app.ui, [&] { return s.search.View().hits.count(0) == 1; }));
    s.search.OpenHit(0);
    REQUIRE(Until(app.ui, [&] { return s.editing.Draft() != nullptr; }));
    CHECK(s.editing.FoundIn() == id);
    CHECK(s.editing.FoundTerms() == std::vector<std::string>{"bascula"});
    CHECK(s.editing.FoundScrollPending());
    // Opened otherwise, nothing is marked.
    s.editing.CloseRecord();
    s.editing.OpenRecord(id);
    CHECK(s.editing.FoundIn().empty());
}

TEST_CASE("A profile's form asks about a person or a group by its kind", "[gui]") {
    CHECK(std::string(FormFieldLabel("profile", "group_definition", "collective")) == "Who the group is");
    CHECK(std::string(FormFieldLabel("profile", "group_definition", "individual")) == "Who this person is");
    CHECK(std::string(FormFieldLabel("profile", "participant_ids", "individual")) == "Participant drawn on");
    CHECK(std::string(FormFieldLabel("narrative", "title", "")) == "Title");
    SetLanguage("es");
    CHECK(std::string(FormFieldLabel("profile", "group_definition", "individual")) == "Quién es esta persona");
    SetLanguage("en");
}

TEST_CASE("What the app draws for a type comes from the roles the catalogue declares", "[gui]") {
    // The sections, in the order a researcher meets them; identity links have no list of their own.
    CHECK(RecordSections() == std::vector<std::string>{"narrative", "interview", "participant", "consent", "field_note",
                                                       "transcript_segment", "social_media_item", "profile",
                                                       "project", "session", "challenge", "prioritisation_round"});
    CHECK(TypeWithRole(storage::RecordRole::Scope) == "project");
    CHECK(TypeWithRole(storage::RecordRole::Person) == "participant");
    CHECK(TypeWithRole(storage::RecordRole::Consent) == "consent");
    CHECK(TypeWithRole(storage::RecordRole::None).empty());
    CHECK(HasRole("project", storage::RecordRole::Scope));
    CHECK_FALSE(HasRole(SECTION_SEARCH, storage::RecordRole::Scope));
    CHECK(PersonFieldOf(TypeNamed("consent")) == "participant_id");
    CHECK(PersonFieldOf(TypeNamed("identity_link")) == "participant_id");
    CHECK(PersonFieldOf(TypeNamed("narrative")).empty()); // its tellers are a list: it is not of one person
    CHECK(TypeNamed("profile").read_beside == "narrative_ids");

    SECTION("a catalogue holds one type of each role, and the scope is filed under no project") {
        const auto type = [](const char* name, bool project_scoped, storage::RecordRole role) {
            storage::RecordType t;
            t.name = name;
            t.project_scoped = project_scoped;
            t.role = role;
            return t;
        };
        storage::Catalogue c;
        CHECK_THROWS_AS(c.Add(type("filed_scope", true, storage::RecordRole::Scope)), std::logic_error);
        c.Add(type("a", false, storage::RecordRole::Scope));
        CHECK_THROWS_AS(c.Add(type("b", false, storage::RecordRole::Scope)), std::logic_error);
        CHECK_NOTHROW(c.Add(type("filed", true, storage::RecordRole::Person)));
        auto beside = type("beside", true, storage::RecordRole::Consent);
        beside.read_beside = "missing";
        CHECK_THROWS_AS(c.Add(beside), std::logic_error);
        CHECK(c.WithRole(storage::RecordRole::Person) == c.Find("filed"));
    }
}

TEST_CASE("Editing a coded narrative in the window moves its codings with the edit", "[gui][coding]") {
    test::GuiApp app;
    app.Create();
    app.Project("Costa sur");
    auto& s = app.state;
    const auto narrative = app.Add("narrative", {{"title", "La mar"}, {"text", "El partaje en tres partes es justo."}});
    const auto code = app.Add("code", {{"name", "Partaje"}, {"kind", "perception"}});
    const auto coding = app.Add(
        "coding", {{"code_id", code}, {"narrative_id", narrative}, {"start", 3}, {"end", 10}, {"excerpt", "partaje"}});
    s.editing.OpenRecord(narrative);
    REQUIRE(Until(app.ui, [&] { return s.editing.Draft() != nullptr && s.editing.Draft()->id == narrative; }));
    auto& d = *s.editing.Draft();
    d.values["text"].text = "Dice Ña Rosa: el partaje en tres partes es justo.";
    s.editing.Edited(d, "text", 20.0);
    s.Tick(21.5);
    REQUIRE(Until(app.ui, [&] { return !s.editing.Draft()->dirty; }));
    const auto moved = app.Read(coding);
    CHECK(moved["start"] == 17); // "Dice Ña Rosa: el " is 17 code points ("Ñ" is one)
    CHECK(moved["end"] == 24);
    CHECK(moved.value("needs_review", false) == false);
}

TEST_CASE("Coding in the window: a code, a passage selected, its excerpt counted by group and opened", "[gui][coding]") {
    test::GuiApp app;
    app.Create();
    app.Project("Cosecha");
    auto& s = app.state;
    const auto rosa = app.Add("participant", {{"pseudonym", "Rosa"}, {"gender", "mujer"}});
    const std::string text = "Ñandú dice 😀: la báscula no se ve.";
    const auto narrative = app.Add("narrative", {{"title", "Báscula"}, {"text", text}, {"teller_ids", {rosa}}});
    s.coding.CreateCode("Báscula", "problem", "#C0392B", "", "El pesaje");
    REQUIRE(Until(app.ui, [&] { return s.coding.Codebook().size() == 1; }));
    const auto code = s.coding.Codebook()[0].id;
    CHECK(s.coding.Chosen() == code);

    s.editing.OpenRecord(narrative);
    REQUIRE(Until(app.ui, [&] { return s.editing.Draft() && s.editing.Draft()->id == narrative; }));
    // What the editor hands over: the selection in bytes of the text.
    const size_t from = text.find("báscula"), to = from + std::string("báscula").size();
    const auto passage = gui::CodingFeature::SelectionOf(text, from, to);
    REQUIRE(passage);
    CHECK(passage->start == 17);
    s.coding.Ticked().insert(code);
    s.coding.Memo() = "no la ven";
    s.coding.Apply(narrative, *passage);
    REQUIRE(Until(app.ui, [&] { return s.coding.CodingsOf(narrative).size() == 1; }));
    const auto row = s.coding.CodingsOf(narrative)[0];
    CHECK(row.excerpt == "báscula");
    CHECK(row.memo == "no la ven");
    CHECK(s.coding.Memo().empty()); // ready for the next passage

    // A retired code is not applied: refused in words, nothing stored.
    s.coding.RetireCode(code);
    REQUIRE(Until(app.ui, [&] { return s.coding.Code(code) && s.coding.Code(code)->retired; }));
    s.coding.Ticked().insert(code); // a stale tick
    s.coding.Apply(narrative, *passage);
    REQUIRE(Until(app.ui, [&] { return !s.Error().empty(); }));
    CHECK(s.coding.CodingsOf(narrative).size() == 1);

    s.coding.LoadMatrix();
    REQUIRE(Until(app.ui, [&] { return s.coding.Matrix().has_value(); }));
    const auto& m = *s.coding.Matrix();
    CHECK(m.codings == 1);
    REQUIRE(m.groups == std::vector<std::string>{"mujer"});
    s.coding.OpenExcerpts(code, "mujer", &m.cells[0][0]);
    REQUIRE(Until(app.ui, [&] { return !s.coding.Excerpts().loading; }));
    REQUIRE(s.coding.Excerpts().excerpts.size() == 1);
    CHECK(s.coding.Excerpts().excerpts[0].participants.at(0).pseudonym == "Rosa");
}

TEST_CASE("Interpretation activities in the window: quotes withheld without consent, ballots counted, reports saved",
          "[gui][activities]") {
    test::GuiApp app;
    app.Create();
    app.Project("Cosecha");
    auto& s = app.state;
    const auto luz = app.Add("participant", {{"pseudonym", "Luz"}});
    const auto narrative = app.Add("narrative", {{"title", "Vales"}, {"text", "Nos pagan con vales."}, {"teller_ids", {luz}}});
    const auto code = app.Add("code", {{"name", "Pago"}});
    const auto coding = app.Add("coding", {{"code_id", code}, {"narrative_id", narrative}, {"start", 14}, {"end", 19},
                                           {"excerpt", "vales"}});
    const auto profile = app.Add("profile", {{"kind", "individual"}, {"name", "Luz"}});
    s.activities.AddQuote(profile, coding);
    REQUIRE(Until(app.ui, [&] { return s.Status() == "Quote added to the profile"; }));
    s.editing.OpenRecord(profile);
    REQUIRE(Until(app.ui, [&] { return s.editing.Draft() && s.editing.Draft()->id == profile; }));
    s.activities.Follow();
    REQUIRE(Until(app.ui, [&] { return s.activities.Quotes().size() == 1; }));
    // Luz gave no consent to be quoted: the words are not even in memory.
    CHECK(s.activities.Quotes()[0].withheld == interpret::Withheld::NoConsent);
    CHECK(s.activities.Quotes()[0].text.empty());
    s.activities.ExportPath("profile.html") = (app.dir / "perfil.html").string();
    s.activities.ExportReport("profile", profile);
    REQUIRE(Until(app.ui, [&] { return std::filesystem::exists(app.dir / "perfil.html"); }));
    CHECK(test::ReadFile(app.dir / "perfil.html").find("vales") == std::string::npos);

    // A round: voters handed out, a ballot counted.
    const auto a = app.Add("challenge", {{"kind", "challenge"}, {"statement", "Pago en vales"}});
    const auto b = app.Add("challenge", {{"kind", "opportunity"}, {"statement", "Tablero de precios"}});
    const auto round =
        app.Add("prioritisation_round", {{"title", "Ronda"}, {"method", "dot_voting"}, {"challenge_ids", {a, b}}});
    s.Show("prioritisation_round");
    s.editing.OpenRecord(round);
    REQUIRE(Until(app.ui, [&] { return s.editing.Draft() && s.editing.Draft()->id == round; }));
    CHECK(s.editing.Draft()->values["dots_per_voter"].text == "3");
    s.activities.Follow();
    s.activities.AddVoters(round, 5);
    REQUIRE(Until(app.ui, [&] { return gui::SplitList(s.editing.Draft()->values["voter_tokens"].text).size() == 5; }));
    auto& ballot = s.activities.Ballot();
    ballot.token = gui::SplitList(s.editing.Draft()->values["voter_tokens"].text)[0];
    ballot.marks[a].dots = 2;
    ballot.marks[a].argument = "Sin vales";
    ballot.marks[b].dots = 1;
    s.activities.Cast(round);
    REQUIRE(Until(app.ui, [&] { return s.activities.Tally() && s.activities.Tally()->ballots == 1; }));
    CHECK(s.activities.Tally()->rows.at(0).challenge_id == a);
    CHECK(s.activities.Tally()->rows.at(0).arguments == std::vector<std::string>{"Sin vales"});
    // Over the budget: refused in words, the tally as it was.
    ballot.token = gui::SplitList(s.editing.Draft()->values["voter_tokens"].text)[1];
    ballot.marks[a].dots = 4;
    s.activities.Cast(round);
    REQUIRE(Until(app.ui, [&] { return !s.Error().empty(); }));
    CHECK(s.activities.Tally()->ballots == 1);
}

TEST_CASE("A chat export comes in through the window: authors named by pseudonyms, a name refused, progress shown",
          "[gui][social]") {
    test::GuiApp app;
    app.Create();
    app.Project("Cosecha");
    auto& s = app.state;
    const auto chat = app.dir / "Chat de WhatsApp con Recolectoras.txt";
    test::WriteFile(chat, "12/03/24, 06:05 - Los mensajes y las llamadas están cifrados de extremo a extremo.\n"
                          "12/03/24, 06:10 - Rosa Quiñónez: Buenos días, hoy pesan a las 4\n"
                          "12/03/24, 06:12 - +57 300 5551234: Yo no puedo, el niño está enfermo\n"
                          "12/03/24, 18:40 - Rosa Quiñónez: Llamen a Marta al 310 555 6789\n"
                          "otra vez bajaron el precio\n");
    s.social.Open();
    CHECK(s.social.CurrentStep() == gui::SocialFeature::Step::ChooseFile);
    s.social.Path() = (app.dir / "missing.txt").string();
    s.social.Read();
    REQUIRE(Until(app.ui, [&] { return !s.Error().empty(); })); // in words, and the file can be chosen again
    CHECK(s.social.CurrentStep() == gui::SocialFeature::Step::ChooseFile);

    s.social.Path() = chat.string();
    s.social.Read();
    REQUIRE(Until(app.ui, [&] { return s.social.CurrentStep() == gui::SocialFeature::Step::ChooseNames; }));
    auto& authors = s.social.Authors();
    REQUIRE(authors.size() == 2);
    CHECK(authors[0].name == "Rosa Quiñónez");
    CHECK(authors[0].messages == 2);
    authors[0].pseudonym = "rosa"; // gives her name away
    authors[1].pseudonym = "Vecina";
    s.social.Import();
    REQUIRE(Until(app.ui, [&] { return s.social.CurrentStep() == gui::SocialFeature::Step::ChooseNames; }));
    CHECK_FALSE(s.Error().empty());
    CHECK(app.Read(app.Add("narrative", {{"title", "x"}, {"text", "y"}})).is_object()); // the vault still answers

    authors[0].pseudonym = "Abuela del cafetal";
    s.social.Import();
    REQUIRE(Until(app.ui, [&] { return s.social.CurrentStep() == gui::SocialFeature::Step::Done; }));
    const auto& report = *s.social.Report();
    CHECK(report.added == 3);
    CHECK(report.masked_numbers == 1);
    CHECK(s.social.Progress() == std::pair<int64_t, int64_t>{3, 3});
    REQUIRE(Until(app.ui, [&] { return s.lists.List("social_media_item").rows.size() == 3; }));
    s.social.Close();
    CHECK(s.social.CurrentStep() == gui::SocialFeature::Step::Closed);
}
