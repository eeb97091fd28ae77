// The owner of the window app's features: builds them, wires what one asks of
// another, and runs what spans them (lock, the clock, navigation).
#include "app_state.h"

#include "i18n.h"

#include <cstdio>

namespace escucha::gui {

AppState::AppState(VaultWorker& worker, VaultWorker& sync_worker, std::filesystem::path vault_dir,
                   std::filesystem::path settings_file)
    : context(worker, sync_worker), settings(context, std::move(settings_file)), lists(context),
      editing(context, lists), audio(context, lists, editing), coding(context, lists), activities(context, editing), social(context, lists), search(context, editing), sync(context, lists, editing),
      session(context, std::move(vault_dir)) {
    // Choosing another project closes the open record first (it saves).
    lists.before_project_change = [this] {
        editing.CloseRecord();
        coding.Clear();
    };
    // Once the lists are read, sync gets its connection (a first sync does not compete with them).
    lists.after_first_lists = [this] { sync.OpenConnection(); };
    // A record saved here waits to be sent: its row says so at once.
    editing.on_saved = [this](const std::string& id) {
        sync.Saved(id);
        // A text that changed moves its codings with the edit (or flags them): show them as they now are.
        if (editing.Draft() && editing.Draft()->id == id) {
            coding.Changed();
            // A profile's or a round's own fields changed: its quotes and result are read again
            // (a session's feedback being written is left as it is).
            if (editing.Draft()->type != interpret::SESSION_TYPE) activities.Follow(true);
        }
    };
    session.on_unlocked = [this](std::shared_ptr<storage::Vault> connection) {
        sync.Unlocked(std::move(connection));
        lists.LoadLists();
        // A recording cut short by a crash is made playable, and the person told.
        audio.Recover();
    };
    sync.on_pulled = [this] { coding.Changed(); };
    // A chat brought in: its items and its people are listed.
    social.on_imported = [this] { lists.LoadLists(); };
    activities.open_record = [this](const std::string& type, const std::string& id) {
        if (editing.Draft() && editing.Draft()->id == id) return editing.ReadAgain();
        Show(type);
        editing.OpenRecord(id);
    };
    // A search hit in a transcript opens its recording there.
    search.open_in_recording = [this](const std::string& id, std::vector<std::string> terms) {
        audio.OpenInRecording(id, std::move(terms));
    };
}

AppState::~AppState() {
    // Jobs still queued refer to these features: let them finish first.
    audio.Shutdown();
    sync.Cancel();
    context.worker.Flush();
    context.sync_worker.Flush();
    context.worker.Flush();
}

void AppState::Show(const std::string& where) {
    if (where == context.section) return;
    if (audio.Recording()) {
        // A recording goes on until it is stopped; its screen stays.
        context.status = Tr("Stop the recording first.");
        return;
    }
    audio.CloseScreen();
    social.Close();
    if (editing.Draft() && editing.Draft()->type != where) editing.CloseRecord();
    context.section = where;
    if (where == SECTION_SEARCH) search.RequestFocus();
    if (where == SECTION_SYNC) sync.RefreshSync();
}

void AppState::ClearSession() {
    ++context.session;
    sync.Clear();
    lists.Clear();
    editing.Clear();
    search.Clear();
    audio.Clear();
    coding.Clear();
    activities.Clear();
    social.Clear();
    context.status.clear();
    context.error.clear();
}

void AppState::Lock(const std::string& reason) {
    FlushBeforeExit();
    context.worker.Post([](std::optional<storage::Vault>& vault) { vault.reset(); });
    context.sync_worker.Post([](std::optional<storage::Vault>& vault) { vault.reset(); });
    ClearSession();
    session.Locked(reason);
    std::fprintf(stderr, "escucha: locked\n");
}

void AppState::Tick(double now) {
    if (const double idle = context.last_input + 10; context.now < idle && now >= idle) context.worker.Post([](std::optional<storage::Vault>& vault) { if (vault) (void)vault->CheckpointWal(); });
    context.now = now;
    if (session.CurrentScreen() != Screen::Main) return;
    audio.Tick(now);
    // An interview being recorded or listened to is in use: the vault does not lock under it.
    if (audio.Live()) context.last_input = now;
    editing.Autosave(now);
    if (const auto reason = session.LockDue(now, settings.Get().lock_after_minutes); !reason.empty()) {
        Lock(reason);
        return;
    }
    sync.Tick(now);
}

double AppState::NextDue() {
    double next = -1;
    const auto take = [&next](double due) {
        if (due >= 0 && (next < 0 || due < next)) next = due;
    };
    // The write-ahead log is folded in once a person has been idle for ten seconds.
    if (const double idle = context.last_input + 10; context.now < idle) take(idle);
    if (session.CurrentScreen() != Screen::Main) return next;
    take(editing.NextAutosave());
    if (const int minutes = settings.Get().lock_after_minutes; minutes > 0)
        take(context.last_input + minutes * 60.0);
    take(sync.NextAutomatic());
    return next;
}

void AppState::FlushBeforeExit() {
    // A recording is stopped and finished in the vault before anything closes.
    audio.Shutdown();
    // Let a save in flight land first, so its id is known and nothing is
    // created twice; then save what is still unsaved.
    for (int round = 0; round < 3; ++round) {
        context.worker.Flush();
        context.worker.Ui().Run();
        if (!editing.SaveUnsaved()) break;
    }
    sync.Cancel();
}

} // namespace escucha::gui
