// The app's logic without a window: unlock, projects, forms with autosave,
// identity on demand, consent withdrawal, profiles, search, auto-lock.
#include "app_state.h"
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
    CHECK_FALSE(s.vault_exists);

    SECTION("passphrases that differ are refused before anything is written") {
        s.passphrase = "frase de paso larga";
        s.passphrase_again = "otra";
        s.SubmitPassphrase(0);
        CHECK_THAT(s.error, Catch::Contains("differ"));
        CHECK_FALSE(storage::Vault::Exists(app.dir / "vault"));
    }
    SECTION("a short passphrase is an error in words") {
        s.passphrase = s.passphrase_again = "corta";
        s.SubmitPassphrase(0);
        REQUIRE(Until(app.ui, [&] { return !s.busy; }));
        CHECK_THAT(s.error, Catch::Contains("8 characters"));
        CHECK(s.screen == Screen::Unlock);
    }
    SECTION("a wrong passphrase keeps the unlock screen with the reason") {
        {
            auto v = storage::Vault::Create(app.dir / "vault", storage::Passphrase("frase de paso larga"),
                                            interpret::AllRecordTypes(), {"a"});
        }
        GuiApp::Session again(app);
        again.state.passphrase = "no es esta";
        again.state.SubmitPassphrase(0);
        REQUIRE(Until(app.ui, [&] { return !again.state.busy; }));
        CHECK_THAT(again.state.error, Catch::Contains("wrong passphrase"));
        CHECK(again.state.screen == Screen::Unlock);
        CHECK(again.state.passphrase.empty()); // wiped even when it was wrong
    }
}

TEST_CASE("Create, first project, write with autosave, lock, unlock and find", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    CHECK(s.project_id.empty()); // the app asks for a project first
    s.NewRecord("narrative");
    CHECK_THAT(s.error, Catch::Contains("project first"));
    CHECK_FALSE(s.draft);

    s.new_project_name = "   ";
    s.CreateFirstProject();
    CHECK_THAT(s.error, Catch::Contains("name"));
    s.new_project_name = "Cafetaleras de Nariño";
    s.CreateFirstProject();
    REQUIRE(Until(app.ui, [&] { return !s.project_id.empty(); }));
    CHECK(s.ProjectName() == "Cafetaleras de Nariño");

    s.NewRecord("narrative");
    REQUIRE(s.draft);
    CHECK(s.focus_first_field);
    auto& d = *s.draft;
    d.values["title"].text = "Cosecha";
    s.Edited(d, "title", 10.0);
    s.Tick(11.1);
    CHECK_THAT(d.error, Catch::Contains("Text")); // nothing to create without the narrative itself
    CHECK(d.id.empty());
    CHECK(d.dirty);
    d.values["text"].text = "Cobran por arroba.";
    s.Edited(d, "text", 12.0);
    CHECK(d.error.empty() == false); // the old message stays until a save says otherwise
    s.Tick(12.5); // not yet: less than a second since the last keystroke
    CHECK(d.dirty);
    CHECK_FALSE(d.saving);
    s.Tick(13.1);
    REQUIRE(Until(app.ui, [&] { return !s.draft->dirty && !s.draft->id.empty(); }));
    CHECK(s.draft->error.empty());
    CHECK(s.status == "Saved");
    const auto id = s.draft->id;
    REQUIRE(s.lists["narrative"].rows.size() == 1);
    CHECK(s.lists["narrative"].rows[0].title == "Cosecha");

    s.draft->values["text"].text += " Y la báscula nadie la ve.";
    s.Edited(*s.draft, "text", 14.0);
    s.Lock(); // saves what is unsaved first
    CHECK(s.screen == Screen::Unlock);
    CHECK_FALSE(s.draft);
    CHECK(s.lists.empty());

    app.Unlock();
    REQUIRE(Until(app.ui, [&] { return s.lists["narrative"].loaded; }));
    CHECK(s.project_id == s.lists["project"].rows.at(0).id);
    REQUIRE(s.lists["narrative"].rows.size() == 1);
    s.OpenRecord(id);
    REQUIRE(Until(app.ui, [&] { return s.draft.has_value(); }));
    CHECK(s.draft->values["text"].text == "Cobran por arroba. Y la báscula nadie la ve.");

    s.search.query = "BASCULA";
    s.Search();
    REQUIRE(Until(app.ui, [&] { return s.search.done == 1; }));
    REQUIRE(s.search.ranks.size() == 1);
    s.NeedHits(0, 1);
    REQUIRE(Until(app.ui, [&] { return s.search.hits.count(0) == 1; }));
    CHECK(s.search.hits[0].id == id);
    CHECK_THAT(s.search.hits[0].snippet, Catch::Contains("\x01" "báscula" "\x02"));
}

TEST_CASE("Forms: every field kind, refusals by field, nothing else lost", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Pesca en Jacmel");

    SECTION("a narrative written before it is named is saved under its first words") {
        s.NewRecord("narrative");
        auto& d = *s.draft;
        d.values["text"].text = "\n  Salimos antes del alba, cuando el mar todavía está quieto y los botes esperan.\nDespués...";
        s.Edited(d, "text", 1.0);
        s.Tick(2.1);
        REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
        CHECK(d.values["title"].text == "Salimos antes del alba, cuando el mar todavía está quieto y los botes esperan.");
        CHECK(app.Read(d.id)["title"] == d.values["title"].text);
    }

    SECTION("a participant needs a pseudonym; lists and choices are read from the form") {
        s.NewRecord("participant");
        auto& d = *s.draft;
        d.values["territory"].text = "Sud-Est";
        s.Edited(d, "territory", 1.0);
        s.Tick(2.5);
        CHECK_THAT(d.error, Catch::Contains("Pseudonym"));
        CHECK(d.id.empty());
        d.values["pseudonym"].text = "  Rosa  ";
        d.values["vulnerability_groups"].text = "migrante, , indígena ,";
        d.values["age_band"].text = "25_34";
        s.Edited(d, "pseudonym", 3.0);
        s.Tick(4.1);
        REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
        const auto stored = app.Read(s.draft->id);
        CHECK(stored["pseudonym"] == "Rosa");
        CHECK(stored["vulnerability_groups"] == storage::Json::array({"migrante", "indígena"}));
        CHECK(stored["age_band"] == "25_34");
        CHECK(stored["code"].get<std::string>().rfind("P-", 0) == 0);
    }
    SECTION("a field the vault refuses is named, and the other fields are saved") {
        s.NewRecord("interview");
        auto& d = *s.draft;
        d.values["kind"].text = "observation";
        d.values["title"].text = "Mercado";
        s.Edited(d, "title", 1.0);
        s.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
        d.values["started_at"].text = "2026-02-30";
        d.values["place_label"].text = "Plaza de mercado";
        s.Edited(d, "started_at", 2.0);
        s.Edited(d, "place_label", 2.0);
        s.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.draft->saving; }));
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
        s.Edited(d, "started_at", 11.0);
        CHECK(d.field_errors.empty());
        s.Tick(12.1);
        REQUIRE(Until(app.ui, [&] { return !s.draft->saving && !s.draft->dirty; }));
        CHECK(app.Read(d.id)["started_at"] == "2026-02-28");
    }
    SECTION("a word where a number goes is named before anything is sent") {
        s.NewRecord("profile");
        auto& d = *s.draft;
        d.values["kind"].text = "collective";
        d.values["name"].text = "Pescadoras";
        d.values["version"].text = "dos";
        s.Edited(d, "version", 1.0);
        s.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
        CHECK(d.field_errors["version"] == "is not a whole number");
        CHECK(app.Read(d.id)["version"] == 1);
    }
    SECTION("clearing an optional field removes it; a required one keeps its value") {
        s.NewRecord("field_note");
        auto& d = *s.draft;
        d.values["title"].text = "Tarde";
        d.values["text"].text = "Llovió.";
        s.Edited(d, "text", 1.0);
        s.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
        d.values["title"].text = "";
        d.values["text"].text = "  ";
        s.Edited(d, "title", 2.0);
        s.Edited(d, "text", 2.0);
        s.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.draft->saving; }));
        const auto stored = app.Read(d.id);
        CHECK_FALSE(stored.contains("title"));
        CHECK(stored["text"] == "Llovió.");
    }
    SECTION("deleting a record that others refer to is refused in words") {
        s.NewRecord("participant");
        s.draft->values["pseudonym"].text = "Toma";
        s.Edited(*s.draft, "pseudonym", 1.0);
        s.FocusLeft(*s.draft);
        REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
        const auto participant = s.draft->id;
        s.NewRecord("narrative");
        s.draft->values["title"].text = "Mar";
        s.draft->values["text"].text = "El mar da y quita.";
        s.draft->values["teller_ids"].items = {participant};
        s.Edited(*s.draft, "teller_ids", 2.0);
        s.FocusLeft(*s.draft);
        REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
        s.OpenRecord(participant);
        REQUIRE(Until(app.ui, [&] { return s.draft && s.draft->id == participant; }));
        s.DeleteRecord();
        REQUIRE(Until(app.ui, [&] { return !s.error.empty(); }));
        CHECK_THAT(s.error, Catch::Contains("refer to"));
        CHECK(s.Row("participant", participant) != nullptr);
    }
}

TEST_CASE("A participant's identity is shown only on demand and never searched", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    s.NewRecord("participant");
    s.ShowIdentity(); // not before the participant is saved
    CHECK_FALSE(s.identity);
    s.draft->values["pseudonym"].text = "Luz";
    s.Edited(*s.draft, "pseudonym", 1.0);
    s.FocusLeft(*s.draft);
    REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
    const auto participant = s.draft->id;
    CHECK_FALSE(s.identity);
    s.ShowIdentity();
    REQUIRE(Until(app.ui, [&] { return s.identity.has_value(); }));
    CHECK(s.identity->values["participant_id"].text == participant);
    s.identity->values["full_name"].text = "Luz Marina Quiñones";
    s.identity->values["contact"].text = "+57 300 000 0000";
    s.Edited(*s.identity, "full_name", 2.0);
    s.Tick(3.1);
    REQUIRE(Until(app.ui, [&] { return !s.identity->id.empty() && !s.identity->saving; }));
    CHECK(s.lists["identity_link"].rows.empty()); // never listed
    s.HideIdentity();
    CHECK_FALSE(s.identity);
    s.ShowIdentity();
    REQUIRE(Until(app.ui, [&] { return s.identity.has_value(); }));
    CHECK(s.identity->values["full_name"].text == "Luz Marina Quiñones");

    s.search.query = "Quiñones";
    s.Search();
    REQUIRE(Until(app.ui, [&] { return s.search.done == 1; }));
    CHECK(s.search.ranks.empty());
}

TEST_CASE("Consent: scopes as a list, withdrawal with its date", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    const auto participant = app.Add("participant", {{"pseudonym", "Ana"}});
    const auto other = app.Add("participant", {{"pseudonym", "Beto"}});
    const auto hers = app.Add("narrative", {{"title", "La deuda"}, {"text", "Nos pagan con vales"},
                                            {"teller_ids", storage::Json::array({participant})}});
    const auto his = app.Add("narrative", {{"title", "El río"}, {"text", "Crece en mayo"},
                                           {"teller_ids", storage::Json::array({other})}});
    s.NewRecord("consent");
    auto& d = *s.draft;
    CHECK(d.values["status"].text == "given"); // the default is shown
    d.values["participant_id"].text = participant;
    d.values["script_version"].text = "v2";
    d.values["language"].text = "es";
    d.values["mode"].text = "oral_recorded";
    d.values["scopes"].items = {"record_audio", "transcribe"};
    s.Edited(d, "scopes", 1.0);
    s.FocusLeft(d);
    REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
    CHECK(app.Read(d.id)["scopes"] == storage::Json::array({"record_audio", "transcribe"}));
    CHECK(s.RowLabel("consent", s.lists["consent"].rows.at(0)) == "Ana");

    const auto consent = d.id;
    s.WithdrawConsent(5.0);
    REQUIRE(Until(app.ui, [&] { return s.status.rfind("Consent withdrawn", 0) == 0; }));
    CHECK(s.status == "Consent withdrawn: 1 record(s) erased, 0 flagged for review");
    const auto stored = app.Read(consent);
    CHECK(stored["status"] == "withdrawn");
    CHECK(stored["withdrawn_at"] == Today());
    // What she told is erased in the same operation; what others told stays.
    CHECK(app.Read(hers)["deleted"] == true);
    CHECK(app.Read(his)["deleted"] == false);
    // The form shows the consent as it is now.
    REQUIRE(Until(app.ui, [&] { return s.draft && s.draft->id == consent && s.draft->values["status"].text == "withdrawn"; }));
}

TEST_CASE("A profile shows the narratives it draws on", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    const auto n1 = app.Add("narrative", {{"title", "La báscula"}, {"text", "Nadie ve la báscula."}});
    const auto n2 = app.Add("narrative", {{"title", "El pago"}, {"text", "Pagan a los quince días."}});
    s.NewRecord("profile");
    auto& d = *s.draft;
    d.values["kind"].text = "collective";
    d.values["name"].text = "Recolectoras";
    d.values["narrative_ids"].items = {n1, n2};
    s.Edited(d, "narrative_ids", 1.0);
    REQUIRE(Until(app.ui, [&] { return s.linked_narratives.size() == 2; }));
    CHECK(s.linked_narratives[0]["text"] == "Nadie ve la báscula.");
    s.FocusLeft(d);
    REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
    const auto profile = d.id;
    s.CloseRecord();
    CHECK(s.linked_narratives.empty());
    s.OpenRecord(profile);
    REQUIRE(Until(app.ui, [&] { return s.linked_narratives.size() == 2; }));
    CHECK(s.section == "profile");
}

TEST_CASE("Search results are read only where they are shown", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    storage::Json batch = storage::Json::array();
    for (int i = 0; i < 300; ++i)
        batch.push_back({{"type", "field_note"}, {"project_id", s.project_id},
                         {"text", "Nota " + std::to_string(i) + " sobre la cosecha de café."}});
    app.Import(batch);
    s.search.query = "cafe";
    s.Search();
    REQUIRE(Until(app.ui, [&] { return s.search.done == 1; }));
    CHECK(s.search.ranks.size() == 300);
    CHECK(s.search.hits.empty());
    s.NeedHits(0, 10);
    REQUIRE(Until(app.ui, [&] { return s.search.hits.size() == SearchState::CHUNK; }));
    s.NeedHits(250, 260);
    REQUIRE(Until(app.ui, [&] { return s.search.hits.count(259) == 1; }));
    CHECK(s.search.hits.count(100) == 0);
    s.NeedHits(0, 10); // asked already: nothing more
    app.worker.Flush();
    app.ui.Run();
    CHECK(s.search.hits.size() == SearchState::CHUNK + (300 - 4 * SearchState::CHUNK) + SearchState::CHUNK);

    SECTION("a newer search drops the answers to an older one") {
        s.search.query = "nota";
        s.Search();
        s.NeedHits(0, 1);
        s.search.query = "inexistente";
        s.Search();
        REQUIRE(Until(app.ui, [&] { return !s.search.searching; }));
        CHECK(s.search.shown_query == "inexistente");
        CHECK(s.search.ranks.empty());
    }
}

TEST_CASE("The vault locks itself after the chosen idle time, saving first", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    s.settings.lock_after_minutes = 2;
    app.Create();
    app.Project("Cafetaleras");
    s.Input(100.0);
    s.NewRecord("field_note");
    s.draft->values["text"].text = "Escrito justo antes de irme.";
    s.Edited(*s.draft, "text", 100.5);
    s.Tick(160.0);
    CHECK(s.screen == Screen::Main);
    s.Tick(100.5 + 120.0);
    CHECK(s.screen == Screen::Unlock);
    CHECK_THAT(s.locked_reason, Catch::Contains("2 minutes"));
    app.Unlock();
    REQUIRE(Until(app.ui, [&] { return s.lists["field_note"].loaded; }));
    REQUIRE(s.lists["field_note"].rows.size() == 1);
    CHECK(s.lists["field_note"].rows[0].title == "Escrito justo antes de irme.");

    SECTION("never, when so chosen") {
        s.settings.lock_after_minutes = 0;
        s.Tick(1e6);
        CHECK(s.screen == Screen::Main);
    }
}

TEST_CASE("Closing a record while it is being saved keeps the last keystrokes", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    s.NewRecord("field_note");
    s.draft->values["text"].text = "Primera parte.";
    s.Edited(*s.draft, "text", 1.0);
    s.FocusLeft(*s.draft);
    REQUIRE(s.draft->saving);
    s.draft->values["text"].text = "Primera parte. Segunda parte.";
    s.Edited(*s.draft, "text", 1.2);
    s.CloseRecord(); // the save in flight has not landed yet
    CHECK_FALSE(s.draft);
    REQUIRE(s.closing.size() == 1);
    double now = 2.0;
    REQUIRE(Until(app.ui, [&] {
        s.Tick(now += 0.5);
        return s.closing.empty();
    }));
    REQUIRE(s.lists["field_note"].rows.size() == 1);
    CHECK(app.Read(s.lists["field_note"].rows[0].id)["text"] == "Primera parte. Segunda parte.");
}

TEST_CASE("Opening records: the latest request wins, and a record still saving reopens as typed", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    const auto a = app.Add("field_note", {{"text", "Nota A"}});

    SECTION("a new record made while an older one is still being read stays open") {
        s.OpenRecord(a);
        s.NewRecord("field_note"); // before the read lands
        s.draft->values["text"].text = "Nueva";
        s.Edited(*s.draft, "text", 1.0);
        app.worker.Flush();
        app.ui.Run();
        REQUIRE(s.draft);
        CHECK(s.draft->id.empty());
        CHECK(s.draft->values["text"].text == "Nueva");
    }
    SECTION("reopening a record whose last words are still being saved shows them") {
        s.OpenRecord(a);
        REQUIRE(Until(app.ui, [&] { return s.draft.has_value(); }));
        s.draft->values["text"].text = "Nota A, corregida";
        s.Edited(*s.draft, "text", 1.0);
        s.FocusLeft(*s.draft);
        s.draft->values["text"].text = "Nota A, corregida y ampliada";
        s.Edited(*s.draft, "text", 1.1);
        s.CloseRecord();
        s.OpenRecord(a);
        REQUIRE(s.draft);
        CHECK(s.draft->values["text"].text == "Nota A, corregida y ampliada");
        double now = 2.0;
        REQUIRE(Until(app.ui, [&] {
            s.Tick(now += 0.5);
            return !s.draft->dirty && !s.draft->saving;
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
    s.search.query = "jornal";
    s.Search();
    REQUIRE(Until(app.ui, [&] { return s.search.done == 1; }));
    REQUIRE(s.search.ranks.size() == 5);
    // Deleted after ranking, before its row is read.
    app.worker.Post([&](std::optional<storage::Vault>& v) { (void)v->Records().Delete(ids[2]); });
    s.NeedHits(0, 5);
    REQUIRE(Until(app.ui, [&] { return s.search.hits.size() == 5; }));
    int gone = 0;
    for (size_t i = 0; i < 5; ++i) gone += s.search.hits[i].id.empty() ? 1 : 0;
    CHECK(gone == 1);
    for (size_t i = 0; i < 5; ++i)
        if (!s.search.hits[i].id.empty()) CHECK(s.search.hits[i].id != ids[2]);
}

TEST_CASE("Conflicts from headquarters are shown with both versions and settled by a person", "[gui]") {
    GuiApp app;
    auto& s = app.state;
    app.Create();
    app.Project("Cafetaleras");
    const auto profile = app.Add("profile", {{"kind", "collective"}, {"name", "Recolectoras"},
                                             {"context", "Versión de esta tableta."}});
    // As a pull leaves it: the field kept one version, the other waits.
    app.worker.Post([&](std::optional<storage::Vault>& v) {
        v->Records().AddConflict({{"seq", 7}, {"record_type", "profile"}, {"record_id", profile}, {"field", "context"},
                                  {"kept", "Versión de esta tableta."}, {"other", "Versión de la sede."},
                                  {"other_author", "Marta"}, {"other_device", "d2"}, {"other_hlc", ""}});
    });
    app.worker.Flush();
    s.RefreshSync();
    REQUIRE(Until(app.ui, [&] { return s.sync.conflict_list.size() == 1; }));
    const auto& c = s.sync.conflict_list[0];
    CHECK(c.record_title == "Recolectoras");
    CHECK(c.kept == "Versión de esta tableta.");
    CHECK(c.other == "Versión de la sede.");
    CHECK(c.other_author == "Marta");

    SECTION("taking the other version changes the record and settles the conflict") {
        s.OpenRecord(profile);
        REQUIRE(Until(app.ui, [&] { return s.draft.has_value(); }));
        s.ResolveConflict(7, true);
        const bool settled = Until(app.ui, [&] { return s.sync.conflict_list.empty() && s.draft.has_value(); });
        INFO(s.sync.message << " / " << s.error);
        REQUIRE(settled);
        CHECK(app.Read(profile)["context"] == "Versión de la sede.");
        CHECK(s.draft->values["context"].text == "Versión de la sede."); // the form shows it
    }
    SECTION("keeping this version only settles it") {
        s.ResolveConflict(7, false);
        REQUIRE(Until(app.ui, [&] { return s.sync.conflict_list.empty(); }));
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
    s.NewRecord("field_note");
    s.draft->values["text"].text = "Escrita cuando la bóveda no respondía.";
    s.Edited(*s.draft, "text", 1.0);
    // The vault's connection is away for a moment (as when it is busy).
    std::optional<storage::Vault> away;
    app.worker.Post([&](std::optional<storage::Vault>& v) {
        away.emplace(std::move(*v));
        v.reset();
    });
    s.Tick(2.1);
    REQUIRE(Until(app.ui, [&] { return !s.draft->saving; }));
    CHECK_FALSE(s.draft->error.empty());
    CHECK(s.draft->dirty);
    CHECK(s.draft->revision != s.draft->refused_revision); // not a refusal: no edit is needed to retry
    s.Tick(3.0); // too soon
    CHECK_FALSE(s.draft->saving);
    app.worker.Post([&](std::optional<storage::Vault>& v) { v.emplace(std::move(*away)); });
    s.Tick(2.1 + AppState::RETRY_AFTER_S);
    REQUIRE(Until(app.ui, [&] { return !s.draft->saving && !s.draft->id.empty(); }));
    CHECK(s.draft->error.empty());
    CHECK(app.Read(s.draft->id)["text"] == "Escrita cuando la bóveda no respondía.");
}

TEST_CASE("After a wrong passphrase the field keeps the keyboard", "[gui]") {
    GuiApp app;
    {
        auto v = storage::Vault::Create(app.dir / "vault", storage::Passphrase("frase de paso larga"),
                                        interpret::AllRecordTypes(), {"a"});
    }
    GuiApp::Session again(app);
    auto& s = again.state;
    s.focus_first_field = false; // as after the first frame drew the field
    s.passphrase = "no es esta";
    s.SubmitPassphrase(0); // Enter: Dear ImGui takes the keyboard from the field
    REQUIRE(Until(app.ui, [&] { return !s.busy; }));
    CHECK_FALSE(s.error.empty());
    CHECK(s.focus_first_field); // given back, to type again at once

    SECTION("also when the two new passphrases differ, and for an empty project name") {
        GuiApp fresh;
        fresh.state.focus_first_field = false;
        fresh.state.passphrase = "frase de paso larga";
        fresh.state.passphrase_again = "frase de paso largo";
        fresh.state.SubmitPassphrase(0);
        CHECK(fresh.state.focus_first_field);
        fresh.Create();
        fresh.state.focus_first_field = false;
        fresh.state.CreateFirstProject();
        CHECK(fresh.state.focus_first_field);
    }
}

TEST_CASE("The vault is created under the name the person gives", "[gui]") {
    CHECK_FALSE(DefaultAuthorName().empty());
    GuiApp app;
    auto& s = app.state;
    CHECK_FALSE(s.author_name.empty()); // prefilled
    SECTION("an empty name is asked for") {
        s.author_name = "  ";
        s.passphrase = s.passphrase_again = GuiApp::PASSPHRASE;
        s.SubmitPassphrase(0);
        CHECK_THAT(s.error, Catch::Contains("name"));
        CHECK_FALSE(storage::Vault::Exists(app.dir / "vault"));
    }
    SECTION("what is written carries it") {
        s.author_name = " Ana Quispe ";
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
    s.NewRecord("participant");
    CHECK(s.draft->values["code"].text.empty());
    s.draft->values["pseudonym"].text = "Rosa";
    s.Edited(*s.draft, "pseudonym", 1.0);
    s.FocusLeft(*s.draft);
    REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
    const auto code = s.draft->values["code"].text;
    CHECK(code.rfind("P-", 0) == 0);
    CHECK(app.Read(s.draft->id)["code"] == code);
    CHECK(s.draft->values["pseudonym"].text == "Rosa");
    CHECK_FALSE(s.draft->author.empty()); // "By …" is shown at once too
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
        s.NewRecord("interview");
        auto& d = *s.draft;
        d.values["kind"].text = "observation";
        d.values["title"].text = "Mercado";
        d.values["started_at"].text = "30/02/2026";
        s.Edited(d, "started_at", 1.0);
        s.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.draft->id.empty() && !s.draft->saving; }));
        CHECK(d.field_errors["started_at"] ==
              "no es una fecha: escríbela como año-mes-día (2026-03-14) o elígela en el calendario");
        CHECK(app.Read(d.id)["title"] == "Mercado"); // the rest is saved
        // A time the vault refuses is said the same way, not in its words.
        d.values["started_at"].text = "2026-02-28T25:99";
        s.Edited(d, "started_at", 2.0);
        s.FocusLeft(d);
        REQUIRE(Until(app.ui, [&] { return !s.draft->saving; }));
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
    s.RefreshSync();
    REQUIRE(Until(app.ui, [&] { return s.sync.last_success == "2026-03-14T10:00:00.000Z"; }));
    CHECK_THAT(s.sync.last_error, Catch::Contains("cannot reach"));
    set_meta("sync.last_success", "2026-03-14T11:00:00.500Z");
    s.RefreshSync();
    REQUIRE(Until(app.ui, [&] { return s.sync.last_success == "2026-03-14T11:00:00.500Z"; }));
    CHECK(s.sync.last_error.empty()); // the success came after it
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
    s.search.query = "bascula";
    s.Search();
    REQUIRE(Until(app.ui, [&] { return s.search.done == 1; }));
    s.NeedHits(0, 1);
    REQUIRE(Until(app.ui, [&] { return s.search.hits.count(0) == 1; }));
    s.OpenHit(0);
    REQUIRE(Until(app.ui, [&] { return s.draft.has_value(); }));
    CHECK(s.found_in == id);
    CHECK(s.found_terms == std::vector<std::string>{"bascula"});
    CHECK(s.found_scroll_pending);
    // Opened otherwise, nothing is marked.
    s.CloseRecord();
    s.OpenRecord(id);
    CHECK(s.found_in.empty());
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
