// What every feature of the window app shares: the two workers, the session
// counter that drops answers meant for an earlier unlock, the app's clock,
// where the main screen is, and the one status and error line. Each feature
// keeps everything else to itself (see app_state.h).
//
// Thread contract: UI thread only.
#pragma once

#include "vault_worker.h"

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
};

} // namespace escucha::gui
