// The app's logic without a window: unlock, autosave, search.
#include "app_state.h"

#include "escucha/interpret/interpretation_records.h"

#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using namespace escucha;
using namespace escucha::gui;

namespace {

/// Runs the UI queue until `done` or about 10 s pass.
template <typename F>
bool Until(UiQueue& ui, F done) {
    for (int i = 0; i < 1000; ++i) {
        ui.Run();
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

} // namespace

TEST_CASE("Create, write with autosave, lock, unlock and find", "[gui]") {
    test::TempDir dir;
    UiQueue ui;
    VaultWorker worker(ui);
    AppState s(worker, dir / "vault");
    CHECK_FALSE(s.vault_exists);

    SECTION("passphrases that differ are refused before anything is written") {
        s.passphrase = "frase de paso larga";
        s.passphrase_again = "otra";
        s.SubmitPassphrase();
        CHECK_THAT(s.error, Catch::Contains("differ"));
        CHECK_FALSE(storage::Vault::Exists(dir / "vault"));
    }
    SECTION("a short passphrase is an error in words") {
        s.passphrase = s.passphrase_again = "corta";
        s.SubmitPassphrase();
        REQUIRE(Until(ui, [&] { return !s.busy; }));
        CHECK_THAT(s.error, Catch::Contains("8 characters"));
        CHECK(s.screen == Screen::Unlock);
    }
    SECTION("the whole path") {
        s.passphrase = s.passphrase_again = "frase de paso larga";
        s.SubmitPassphrase();
        CHECK(s.passphrase.empty());
        REQUIRE(Until(ui, [&] { return s.screen == Screen::Main; }));
        s.NewNarrative();
        CHECK(s.focus_title);
        s.draft->title = "Cosecha";
        s.Edited(10.0);
        s.Tick(11.1);
        CHECK(s.status == "write the narrative to save it");
        s.draft->text = "Cobran por arroba.";
        s.Edited(12.0);
        s.Tick(12.5); // not yet: less than a second since the last keystroke
        CHECK(s.draft->dirty);
        s.Tick(13.1);
        REQUIRE(Until(ui, [&] { return !s.draft->dirty && !s.draft->id.empty(); }));
        CHECK(s.status == "saved");
        const auto id = s.draft->id;

        s.draft->text += " Y la báscula nadie la ve.";
        s.Edited(14.0);
        s.Lock(); // saves what is unsaved first
        CHECK(s.screen == Screen::Unlock);

        s.passphrase = "frase de paso larga";
        s.SubmitPassphrase();
        REQUIRE(Until(ui, [&] { return s.screen == Screen::Main; }));
        REQUIRE(s.narratives.size() == 1);
        CHECK(s.narratives[0]["id"] == id);
        CHECK(s.narratives[0]["text"] == "Cobran por arroba. Y la báscula nadie la ve.");
        s.query = "bascula";
        s.Search();
        REQUIRE(Until(ui, [&] { return s.searches_done == 1; }));
        REQUIRE(s.hits.size() == 1);
        CHECK(s.hits[0].id == id);
    }
    SECTION("a wrong passphrase keeps the unlock screen with the reason") {
        { auto v = storage::Vault::Create(dir / "vault", storage::Passphrase("frase de paso larga"), interpret::AllRecordTypes(), {"a"}); }
        AppState again(worker, dir / "vault");
        again.passphrase = "no es esta";
        again.SubmitPassphrase();
        REQUIRE(Until(ui, [&] { return !again.busy; }));
        CHECK_THAT(again.error, Catch::Contains("wrong passphrase"));
        CHECK(again.screen == Screen::Unlock);
    }
}
