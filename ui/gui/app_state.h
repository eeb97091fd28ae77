// What the app shows and what a person can do, without any drawing: the draw
// code reads this state and calls these commands. Storage work goes to the
// VaultWorker; its results come back on the UI thread.
//
// Thread contract: UI thread only.
#pragma once

#include "vault_worker.h"

#include "escucha/storage/records.h"

#include <filesystem>
#include <string>
#include <vector>

namespace escucha::gui {

enum class Screen { Unlock, Main };

/// A narrative being written. Autosave stores it about a second after the
/// last keystroke, when focus leaves it, and when the app closes.
struct NarrativeDraft {
    std::string id;        ///< empty until its first save lands
    std::string title;
    std::string text;
    bool dirty = false;
    double last_edit = 0;  ///< seconds, the app's monotonic clock
    bool saving = false;   ///< a save is in flight
    int revision = 0;      ///< raised by every edit, to know if a save is stale
};

struct AppState {
    explicit AppState(VaultWorker& worker, std::filesystem::path vault_dir);

    // --- state the draw code reads ---
    Screen screen = Screen::Unlock;
    bool vault_exists = false;
    bool busy = false;             ///< unlocking or creating
    std::string error;             ///< the last problem, in words
    std::string status;            ///< e.g. "saved"
    std::string passphrase;        ///< the unlock field (cleared after use)
    std::string passphrase_again;  ///< when creating
    std::vector<storage::Json> narratives;
    std::optional<NarrativeDraft> draft;
    std::string query;
    std::vector<storage::SearchHit> hits;
    int searches_done = 0;
    bool focus_title = false;      ///< give the title field the keyboard next frame
    bool focus_search = false;

    // --- commands ---
    void SubmitPassphrase();
    void Lock();
    void NewNarrative();
    void OpenNarrative(const std::string& id);
    void Edited(double now);       ///< the draft changed
    void FocusLeft(double now);    ///< the draft lost focus: save now
    void Tick(double now);         ///< autosave when due
    void Search();
    /// Saves what is unsaved and waits for it (window closing).
    void FlushBeforeExit();

    static constexpr double AUTOSAVE_AFTER_S = 1.0;

private:
    void Save();
    void Reload();
    VaultWorker& m_worker;
    std::filesystem::path m_dir;
};

} // namespace escucha::gui
