#include "feature_sync.h"

#include "error_words.h"

#include "i18n.h"
#include "labels.h"

#include "escucha/capture/operations.h"
#include "escucha/interpret/interpretation_records.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>

namespace escucha::gui {

namespace {
/// Local projects the person chose to keep on this device (ids, space-separated).
constexpr const char* META_KEPT_LOCAL = "app.kept_local_projects";
} // namespace

using storage::Json;

/// The sync client running on the sync worker, so that Lock() can cancel it.
/// One per unlocked session: a lock stops its sync, even one still queued.
struct SyncHandle {
    std::mutex mutex;
    sync::SyncClient* client = nullptr;
    bool stopped = false;
    void Cancel() {
        std::lock_guard lock(mutex);
        stopped = true;
        if (client) client->Cancel();
    }
    /// Registers the client of a cycle about to run; false when the session was stopped.
    bool Start(sync::SyncClient* c) {
        std::lock_guard lock(mutex);
        if (stopped) return false;
        client = c;
        return true;
    }
    void Finish() {
        std::lock_guard lock(mutex);
        client = nullptr;
    }
};

SyncFeature::SyncFeature(AppContext& ctx, ListsFeature& lists, EditingFeature& editing)
    : m_ctx(ctx), m_lists(lists), m_editing(editing), m_handle(std::make_shared<SyncHandle>()) {}

void SyncFeature::OpenConnection() {
    if (!m_connection) return;
    // Handed over once the lists are read: a first sync does not compete
    // with them for the vault.
    m_ctx.sync_worker.Post([second = std::move(m_connection)](std::optional<storage::Vault>& sync_vault) {
        sync_vault.emplace(std::move(*second));
    });
    m_connection.reset();
    RefreshSync();
    m_view.next_auto = m_ctx.now; // sync at start when enrolled
}

void SyncFeature::Tick(double now) {
    if (m_view.enrolled && !m_view.running && now >= m_view.next_auto) StartSync(true);
}

void SyncFeature::Cancel() { m_handle->Cancel(); }

void SyncFeature::Clear() {
    m_handle = std::make_shared<SyncHandle>();
    m_connection.reset();
    m_view = SyncView{};
    const std::string server = m_form.server;
    m_form = EnrolForm{};
    m_form.server = server;
}

void SyncFeature::RefreshSync() {
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.sync_worker.Post([this, &ui, session](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        auto& records = vault->Records();
        const auto state = sync::ReadSyncState(*vault);
        const auto pending = records.PendingJournalCount();
        const auto waiting = records.WaitingRecordCount();
        auto unsent = records.UnsentRecords();
        const auto rejected = records.RejectedJournalCount();
        std::vector<SyncView::LocalWork> local;
        if (state.enrolled) {
            const auto kept = vault->GetMeta(META_KEPT_LOCAL).value_or("");
            for (const auto& l : capture::LocalProjects(records, state.project_id)) {
                if (l.records.empty()) continue;
                local.push_back({l.project_id, l.name, l.records, kept.find(l.project_id) != std::string::npos});
            }
        }
        const auto title_of = [&](const std::string& id) {
            const auto r = records.Get(id);
            if (!r) return std::string();
            const auto& type = interpret::AllRecordTypes().Get((*r)["type"].get<std::string>());
            return Summarise(type, *r).title;
        };
        const auto as_text = [](const Json& v) {
            if (v.is_string()) return v.get<std::string>();
            if (v.is_array()) {
                std::vector<std::string> items;
                for (const auto& i : v) items.push_back(i.is_string() ? i.get<std::string>() : i.dump());
                return JoinList(items);
            }
            return v.is_null() ? std::string() : v.dump();
        };
        std::vector<SyncView::Conflict> conflicts;
        for (const auto& c : records.ListConflicts())
            conflicts.push_back({c["seq"].get<int64_t>(), c["record_type"], c["record_id"], title_of(c["record_id"]),
                                 c["field"], as_text(c["kept"]), as_text(c["other"]), c["other"],
                                 c.value("other_author", "")});
        std::vector<SyncView::Refused> refused;
        for (const auto& e : records.RejectedJournal(100))
            refused.push_back({e.seq, e.record_type, e.record_id, title_of(e.record_id), e.last_error,
                               e.last_error_code, e.last_error_params});
        ui.Post([this, session, state, pending, waiting, unsent = std::move(unsent), rejected,
                 conflicts = std::move(conflicts), refused = std::move(refused), local = std::move(local)]() mutable {
            if (session != m_ctx.session) return;
            m_view.known = true;
            m_view.enrolled = state.enrolled;
            m_view.server = state.server;
            m_view.project_name = state.project_name;
            m_view.role = state.role;
            m_view.last_success = state.last_success;
            // A success since the last error settles it: the error is not shown any more.
            // (Both instants are written alike, to the millisecond, so their text compares as they do.)
            const auto failed_at = state.last_error.substr(0, state.last_error.find(' '));
            const bool settled =
                ParseIsoUtc(failed_at) >= 0 && ParseIsoUtc(state.last_success) >= 0 && state.last_success >= failed_at;
            m_view.last_error = settled ? "" : state.last_error;
            // Worded in the chosen language when the failure kept its code.
            if (!m_view.last_error.empty() && !state.last_error_code.empty()) {
                const auto space = m_view.last_error.find(' ');
                m_view.last_error = m_view.last_error.substr(0, space) + " " +
                                    WordError(state.last_error_code, state.last_error_params);
            }
            for (auto& r : refused)
                if (!r.code.empty()) r.reason = WordError(r.code, r.params);
            m_view.pending = pending;
            m_view.waiting_records = waiting;
            m_view.project_id = state.project_id;
            m_view.unsent = std::move(unsent);
            m_view.local_work = std::move(local);
            m_view.rejected = rejected;
            m_view.conflicts = static_cast<int64_t>(conflicts.size());
            m_view.conflict_list = std::move(conflicts);
            m_view.refused_list = std::move(refused);
        });
    });
}

void SyncFeature::Enrol() {
    if (m_view.running) return;
    const auto trimmed = [](const std::string& text) {
        const auto first = text.find_first_not_of(" \t\r\n");
        if (first == std::string::npos) return std::string();
        return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
    };
    // Any case, spaces or dashes: sync::Enrol puts the code as HQ wrote it.
    const auto server = trimmed(m_form.server), code = trimmed(m_form.code), ca_path = trimmed(m_form.ca_path);
    if (server.empty() || code.empty()) {
        m_view.message = Tr("Give the server's address and the enrolment code.");
        m_view.message_is_error = true;
        return;
    }
    m_view.running = true;
    m_view.message = Tr("Enrolling…");
    m_view.message_is_error = false;
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.sync_worker.Post(
        [this, &ui, session, server, code, ca_path](std::optional<storage::Vault>& vault) {
            if (!vault) {
                // The sync connection is still being opened (just after unlocking).
                ui.Post([this, session] {
                    if (session != m_ctx.session) return;
                    m_view.running = false;
                    m_view.message = Tr("The vault is still opening; try again in a moment.");
                    m_view.message_is_error = true;
                });
                return;
            }
            std::string ca_pem;
            if (!ca_path.empty()) {
                std::ifstream in(ca_path);
                if (!in) {
                    ui.Post([this, session, ca_path] {
                        if (session != m_ctx.session) return;
                        m_view.running = false;
                        m_view.message = std::string(Tr("This certificate file cannot be read: ")) + ca_path;
                        m_view.message_is_error = true;
                    });
                    return;
                }
                std::stringstream text;
                text << in.rdbuf();
                ca_pem = text.str();
            }
            const auto failure = sync::EnrolDevice(*vault, server, code, ca_pem);
            ui.Post([this, session, failure] {
                if (session != m_ctx.session) return;
                const std::optional<std::string> problem =
                    failure ? std::optional<std::string>(
                                  failure->code.empty() ? failure->words : WordError(failure->code, failure->params))
                            : std::nullopt;
                m_view.running = false;
                m_view.message_is_error = problem.has_value();
                m_view.message = problem ? *problem : Tr("Enrolled. This device now syncs with headquarters.");
                m_form.focus_code = problem.has_value(); // to correct the code at once
                if (!problem) {
                    m_form.code.clear();
                    std::fprintf(stderr, "escucha: enrolled\n");
                    m_lists.LoadLists();
                }
                RefreshSync();
            });
        },
        [this, session](std::string what) {
            if (session == m_ctx.session) SyncStopped(what, true);
        });
}

void SyncFeature::AdoptLocalWork(const std::string& local_project_id) {
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, local_project_id](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            const auto state = sync::ReadSyncState(*vault);
            const auto moved = capture::AdoptLocalProject(vault->Records(), local_project_id, state.project_id);
            int64_t n = 0;
            for (const auto& [type, count] : moved) n += count;
            ui.Post([this, session, n, local_project_id, enrolled = state.project_id] {
                if (session != m_ctx.session) return;
                char words[256];
                std::snprintf(words, sizeof words,
                              Tr("%d record(s) moved into the project; they are sent at the next sync."),
                              static_cast<int>(n));
                m_view.message = words;
                m_view.message_is_error = false;
                m_lists.ProjectMoved(local_project_id, enrolled);
                RefreshSync();
                SyncNow();
            });
        },
        [this, session](std::string what) {
            if (session != m_ctx.session) return;
            m_view.message = std::string(Tr("Not moved: ")) + what;
            m_view.message_is_error = true;
        });
}

void SyncFeature::ChangeThenRefresh(std::function<void(storage::Vault&)> change, std::string message, bool sync_after) {
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post([this, &ui, session, change = std::move(change), message = std::move(message),
                       sync_after](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        change(*vault);
        ui.Post([this, session, message, sync_after] {
            if (session != m_ctx.session) return;
            if (!message.empty()) {
                m_view.message = message;
                m_view.message_is_error = false;
            }
            RefreshSync();
            if (sync_after) SyncNow();
        });
    });
}

void SyncFeature::KeepLocalWork(const std::string& local_project_id) {
    ChangeThenRefresh(
        [local_project_id](storage::Vault& vault) {
            auto kept = vault.GetMeta(META_KEPT_LOCAL).value_or("");
            if (kept.find(local_project_id) == std::string::npos) kept += local_project_id + " ";
            vault.SetMeta(META_KEPT_LOCAL, kept);
        },
        Tr("Kept on this device only: those records are not sent to headquarters."));
}

void SyncFeature::RetryRefused(int64_t seq) {
    ChangeThenRefresh([seq](storage::Vault& vault) { vault.Records().RetryJournal(seq); }, {}, true);
}

void SyncFeature::DiscardRefused(int64_t seq) {
    ChangeThenRefresh([seq](storage::Vault& vault) { vault.Records().DiscardJournal(seq); },
                      Tr("The refused change was discarded; the record stays as it is on this device."));
}

void SyncFeature::SyncStopped(const std::string& message, bool failed) {
    m_view.running = false;
    m_view.message = message;
    m_view.message_is_error = failed;
    if (failed) {
        // Back off: 10 s, 20 s, … up to the usual interval.
        ++m_view.failures;
        m_view.next_auto = m_ctx.now + std::min(SYNC_EVERY_S, 10.0 * (1 << std::min(m_view.failures - 1, 5)));
    } else {
        m_view.failures = 0;
        m_view.next_auto = m_ctx.now + SYNC_EVERY_S;
    }
}

void SyncFeature::SyncNow() { StartSync(false); }

void SyncFeature::ResolveConflict(int64_t seq, bool take_other) {
    const auto it = std::find_if(m_view.conflict_list.begin(), m_view.conflict_list.end(),
                                 [&](const SyncView::Conflict& c) { return c.seq == seq; });
    if (it == m_view.conflict_list.end()) return;
    const SyncView::Conflict c = *it;
    // An open form of that record saves first (jobs run in order), so that
    // its save cannot undo the choice; it opens again afterwards.
    const bool reopen = m_editing.Draft() && m_editing.Draft()->id == c.record_id;
    if (reopen) m_editing.CloseRecord();
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, c, take_other, reopen](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            // The choice and the settling go together: either both or neither.
            vault->Records().Atomically([&] {
                if (take_other) (void)vault->Records().Update(c.record_id, {{c.field, c.other_value}});
                vault->Records().ResolveConflict(c.seq);
            });
            ui.Post([this, session, c, reopen] {
                if (session != m_ctx.session) return;
                if (reopen && !m_editing.Draft()) m_editing.OpenRecord(c.record_id);
                m_ctx.status = Tr("Conflict settled");
                RefreshSync();
            });
        },
        [this, session](std::string what) {
            if (session != m_ctx.session) return;
            m_view.message = what;
            m_view.message_is_error = true;
        });
}

void SyncFeature::StartSync(bool automatic) {
    if (m_view.running || !m_view.enrolled) return;
    m_view.running = true;
    m_view.progress = {};
    if (!automatic) {
        m_view.message = Tr("Syncing…");
        m_view.message_is_error = false;
    }
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    auto handle = m_handle;
    m_ctx.sync_worker.Post(
        [this, &ui, session, handle](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            sync::SyncClient client(*vault);
            if (!handle->Start(&client)) return; // locked before the cycle began
            auto last_report = std::chrono::steady_clock::now() - std::chrono::seconds(1);
            client.OnProgress([&](const sync::SyncProgress& p) {
                // Enough to move a progress bar; not a wake-up for every piece.
                const auto t = std::chrono::steady_clock::now();
                if (t - last_report < std::chrono::milliseconds(100)) return;
                last_report = t;
                ui.Post([this, session, p] {
                    if (session == m_ctx.session) m_view.progress = p;
                });
            });
            struct Done {
                SyncHandle& h;
                ~Done() { h.Finish(); }
            } done{*handle};
            const sync::SyncReport report = client.SyncOnce();
            ui.Post([this, session, report] {
                if (session != m_ctx.session) return;
                if (report.ok) {
                    char text[200];
                    std::snprintf(text, sizeof text, Tr("Synced: %lld sent, %lld received."),
                                  static_cast<long long>(report.acknowledged), static_cast<long long>(report.pulled));
                    SyncStopped(text, false);
                } else {
                    SyncStopped(std::string(Tr("Sync did not finish: ")) +
                                    (report.error_code.empty() ? report.error
                                                               : WordError(report.error_code, report.error_params)),
                                true);
                }
                std::fprintf(stderr, "escucha: sync %s\n", report.ok ? "done" : "failed");
                if (report.pulled > 0) {
                    m_lists.LoadLists();
                    if (on_pulled) on_pulled();
                }
                RefreshSync();
            });
        },
        [this, session](std::string what) {
            if (session == m_ctx.session) SyncStopped(what, true);
        });
}

} // namespace escucha::gui
