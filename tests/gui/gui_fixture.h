// The app's features with their two workers and a vault in a fresh directory,
// driven as the window would drive it, but without one.
#pragma once

#include "app_state.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

namespace escucha::test {

/// Runs the UI queue until `done` or about 20 s pass.
template <typename F>
bool Until(gui::UiQueue& ui, F done) {
    for (int i = 0; i < 2000; ++i) {
        ui.Run();
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

struct GuiApp {
    TempDir dir;
    gui::UiQueue ui;
    gui::VaultWorker worker{ui};
    gui::VaultWorker sync_worker{ui, "escucha-sync"};
    gui::AppState state{worker, sync_worker, dir / "vault", dir / "settings.json"};
    static constexpr const char* PASSPHRASE = "frase de paso larga";

    /// Another window's state on the same vault and workers.
    struct Session {
        explicit Session(GuiApp& app)
            : state(app.worker, app.sync_worker, app.dir / "vault", app.dir / "settings.json") {}
        gui::AppState state;
    };

    void Create() {
        state.session.Form().passphrase = state.session.Form().passphrase_again = PASSPHRASE;
        state.session.SubmitPassphrase(0);
        REQUIRE(Until(
            ui, [&] { return state.session.CurrentScreen() == gui::Screen::Main && state.lists.ProjectsLoaded(); }));
    }
    void Unlock() {
        state.session.Form().passphrase = PASSPHRASE;
        state.session.SubmitPassphrase(0);
        REQUIRE(Until(
            ui, [&] { return state.session.CurrentScreen() == gui::Screen::Main && state.lists.ProjectsLoaded(); }));
    }
    void Project(const std::string& name) {
        state.lists.NewProjectName() = name;
        state.lists.CreateFirstProject();
        REQUIRE(Until(ui, [&] { return !state.lists.ProjectId().empty() && state.lists.List("narrative").loaded; }));
    }
    /// Writes a record straight into the vault (as another part of the app would) and lists it.
    std::string Add(const std::string& type, storage::Json fields) {
        fields["project_id"] = state.lists.ProjectId();
        std::string id;
        worker.Post([&](std::optional<storage::Vault>& v) { id = v->Records().Create(type, fields)["id"]; });
        worker.Flush();
        state.lists.PutRow(type,
                           gui::RowSummary{id, fields.value("title", fields.value("pseudonym", "")), "", "", "", "", ""});
        return id;
    }
    /// Changes a record straight in the vault.
    void Edit(const std::string& id, const storage::Json& patch) {
        worker.Post([&](std::optional<storage::Vault>& v) { (void)v->Records().Update(id, patch); });
        worker.Flush();
    }
    void Import(const storage::Json& records) {
        worker.Post([&](std::optional<storage::Vault>& v) { (void)v->Records().Import(records); });
        worker.Flush();
    }
    storage::Json Read(const std::string& id) {
        storage::Json out;
        worker.Post([&](std::optional<storage::Vault>& v) { out = v->Records().Get(id).value_or(storage::Json()); });
        worker.Flush();
        return out;
    }
};

} // namespace escucha::test
