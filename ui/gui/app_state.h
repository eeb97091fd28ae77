// The window app without any drawing, split by feature as Dear ImGui's demo
// keeps one struct per window: each feature owns its state and its commands,
// and its panel (panels.h) draws from it. AppState owns the features and what
// they share (AppContext: the two workers, the session counter, the clock,
// the status line), and wires the calls from one feature to another.
//
//   session   unlock, lock, auto-lock          feature_session.h   panel_unlock.cpp
//   lists     projects and each type's rows    feature_lists.h     panel_records.cpp, panel_unlock.cpp
//   editing   the open form and autosave       feature_editing.h   panel_records.cpp, panel_profile.cpp
//   search    full-text search                 feature_search.h    panel_search.cpp
//   sync      headquarters                     feature_sync.h      panel_sync.cpp
//   settings  language, auto-lock, size        feature_settings.h  panel_settings.cpp
//   audio     record, play, transcribe         feature_audio.h     panel_audio.cpp
//   coding    codebook, coding, results         feature_coding.h    panel_coding.cpp
//   activities quotes, feedback, prioritisation  feature_activities.h panel_activities.cpp
//   social    a chat export brought in          feature_social.h    panel_social.cpp
//
// A new screen (audio recording, interpretation) is one more feature class,
// its panel, and a member here. Storage work goes to the VaultWorker; sync
// runs on a second worker with its own connection to the vault. Results come
// back on the UI thread as posted closures, dropped when the vault was locked
// meanwhile (AppContext::session).
//
// Thread contract: UI thread only.
#pragma once

#include "app_context.h"
#include "feature_activities.h"
#include "feature_audio.h"
#include "feature_coding.h"
#include "feature_editing.h"
#include "feature_lists.h"
#include "feature_search.h"
#include "feature_session.h"
#include "feature_settings.h"
#include "feature_social.h"
#include "feature_sync.h"
#include "record_form.h"
#include "settings.h"
#include "summaries.h"
#include "vault_worker.h"

#include <filesystem>
#include <string>

namespace escucha::gui {

class AppState {
public:
    AppState(VaultWorker& worker, VaultWorker& sync_worker, std::filesystem::path vault_dir,
             std::filesystem::path settings_file = DefaultSettingsFile());
    ~AppState();
    AppState(const AppState&) = delete;
    AppState& operator=(const AppState&) = delete;

    // What the features share, then the features, each used by those after it.
    AppContext context;
    SettingsFeature settings;
    ListsFeature lists;
    EditingFeature editing;
    AudioFeature audio;
    CodingFeature coding;
    ActivitiesFeature activities;
    SocialFeature social;
    SearchFeature search;
    SyncFeature sync;
    SessionFeature session;

    // --- what spans features ---
    /// Where the main screen is (a record type, or SECTION_SEARCH, _SYNC, _SETTINGS).
    [[nodiscard]] const std::string& Section() const { return context.section; }
    /// Goes there: a form of another type closes; search takes the keyboard; sync is read again.
    void Show(const std::string& section);
    /// Saves what is open, closes the vault, and clears every feature.
    void Lock(const std::string& reason = {});
    /// Autosave, auto-lock and automatic sync when due.
    void Tick(double now);
    /// When Tick next has something to do by the clock alone (app clock), or
    /// a negative number when only input or posted work can bring any: the
    /// window sleeps until then, so an idle app never wakes the processor.
    [[nodiscard]] double NextDue();
    /// Saves what is unsaved and waits for it (window closing, lock).
    void FlushBeforeExit();
    [[nodiscard]] const std::string& Status() const { return context.status; }
    [[nodiscard]] const std::string& Error() const { return context.error; }

private:
    void ClearSession();
};

} // namespace escucha::gui
