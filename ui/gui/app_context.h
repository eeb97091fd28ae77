// What every feature of the window app shares: the two workers, the session
// counter that drops answers meant for an earlier unlock, the app's clock,
// where the main screen is, and the one status and error line. Each feature
// keeps everything else to itself (see app_state.h).
//
// Thread contract: UI thread only.
#pragma once

#include "vault_worker.h"

#include <functional>
#include <string>

namespace escucha::gui {

struct AppContext {
    AppContext(VaultWorker& w, VaultWorker& sw) : worker(w), sync_worker(sw) {}
    AppContext(const AppContext&) = delete;
    AppContext& operator=(const AppContext&) = delete;

    VaultWorker& worker;      ///< the vault: lists, saves, search
    VaultWorker& sync_worker; ///< sync, on its own connection to the vault
    [[nodiscard]] UiQueue& Ui() { return worker.Ui(); }

    int session = 0;       ///< raised by every lock: answers for an older session are dropped
    double now = 0;        ///< the app clock at the last Tick
    double last_input = 0; ///< when a person last did something (for auto-lock)
    int next_key = 1;      ///< the next form's key (RecordDraft::key)

    std::string section = "narrative"; ///< where the main screen is (see summaries.h)
    std::string status;                ///< e.g. "Saved"
    std::string error;                 ///< the last problem, in words
    bool focus_first_field = false;    ///< give the screen's first text field the keyboard next frame

    /// Runs `work` on the vault's worker. When it succeeds, the error line is
    /// cleared and `done` runs on the UI thread; when it throws, the error line
    /// says why (in words) and `failed` runs there. Both are dropped when the
    /// vault was locked meanwhile.
    void RunOnStore(std::function<void(storage::RecordStore&)> work, std::function<void()> done = {},
                    std::function<void()> failed = {}) {
        const int asked_in = session;
        UiQueue& ui = Ui();
        worker.Post(
            [this, &ui, work = std::move(work), done = std::move(done), asked_in](std::optional<storage::Vault>& vault) {
                if (!vault) return;
                work(vault->Records());
                ui.Post([this, done, asked_in] {
                    if (asked_in != session) return;
                    error.clear();
                    if (done) done();
                });
            },
            [this, failed = std::move(failed), asked_in](std::string what) {
                if (asked_in != session) return;
                error = std::move(what);
                if (failed) failed();
            });
    }
};

} // namespace escucha::gui
