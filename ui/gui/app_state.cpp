// [SECTION] Summaries
// [SECTION] Unlock, lock and the clock
// [SECTION] Projects and lists
// [SECTION] Records
// [SECTION] Search
// [SECTION] Sync
// [SECTION] Settings
#include "app_state.h"

#include "escucha/capture/access.h"
#include "escucha/capture/operations.h"

#include "i18n.h"
#include "labels.h"

#include "escucha/interpret/interpretation_records.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include <pwd.h>
#include <unistd.h>

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

// [SECTION] Summaries

const std::vector<std::string>& RecordSections() {
    static const std::vector<std::string> sections = {
        "narrative", "interview", "participant", "consent", "field_note", "transcript_segment",
        "social_media_item", "profile", "project"};
    return sections;
}

namespace {

constexpr const char* WHEN_FIELDS[] = {"started_at", "written_at", "posted_at", "obtained_at"};
constexpr size_t TITLE_FROM_TEXT_BYTES = 80;

/// The first words of a text, cut at a character boundary.
std::string FirstWords(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    if (line.size() <= TITLE_FROM_TEXT_BYTES) return line;
    size_t cut = TITLE_FROM_TEXT_BYTES;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    return line.substr(0, cut) + "…";
}

std::string Str(const Json& record, const std::string& field) {
    if (!record.contains(field) || !record[field].is_string()) return {};
    return record[field].get<std::string>();
}

} // namespace

std::vector<std::string> SummaryFields(const storage::RecordType& type) {
    std::vector<std::string> fields;
    const auto add = [&](const std::string& name) {
        if (type.Field(name) && std::find(fields.begin(), fields.end(), name) == fields.end()) fields.push_back(name);
    };
    if (!type.title_field.empty()) add(type.title_field);
    add("kind");
    add("mode");
    add("status");
    add("platform");
    add("participant_id");
    for (const char* f : WHEN_FIELDS) add(f);
    // Types whose title may be empty are named by the first words of their text.
    add("paraphrase");
    add("text");
    return fields;
}

RowSummary Summarise(const storage::RecordType& type, const Json& record) {
    RowSummary row;
    row.id = Str(record, "id");
    if (!type.title_field.empty()) row.title = Str(record, type.title_field);
    if (row.title.empty()) {
        // A paraphrase is what may be shown of a social-media item; its verbatim text only if none.
        std::string text = Str(record, "paraphrase");
        if (text.empty()) text = Str(record, "text");
        row.title = FirstWords(text);
    }
    if (type.name == "social_media_item") row.title = Str(record, "platform") + ": " + row.title;
    row.kind = Str(record, type.Field("kind") ? "kind" : "mode");
    row.status = Str(record, "status");
    for (const char* f : WHEN_FIELDS)
        if (row.when.empty()) row.when = Str(record, f).substr(0, 10);
    if (row.when.empty()) row.when = Str(record, "created_at").substr(0, 10);
    row.ref = Str(record, "participant_id");
    return row;
}

std::time_t ParseIsoUtc(const std::string& iso) {
    // 2026-03-14T09:30:00.000Z (seconds and what follows them optional)
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    char t = 0;
    if (std::sscanf(iso.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &t, &h, &mi, &sec) < 6 || t != 'T')
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return timegm(&tm);
}

std::string SinceInWords(const std::string& iso_utc, std::time_t now) {
    const std::time_t then = ParseIsoUtc(iso_utc);
    if (then < 0) return {};
    const long long ago = static_cast<long long>(now) - static_cast<long long>(then);
    char words[160];
    // No plural forms in the catalogue: one is said apart, as people say it.
    if (ago < 60) std::snprintf(words, sizeof words, "%s", Tr("just now"));
    else if (ago < 120) std::snprintf(words, sizeof words, "%s", Tr("a minute ago"));
    else if (ago < 3600) std::snprintf(words, sizeof words, Tr("%d minutes ago"), static_cast<int>(ago / 60));
    else if (ago < 7200) std::snprintf(words, sizeof words, "%s", Tr("an hour ago"));
    else if (ago < 86400) std::snprintf(words, sizeof words, Tr("%d hours ago"), static_cast<int>(ago / 3600));
    else if (ago < 2 * 86400) std::snprintf(words, sizeof words, "%s", Tr("yesterday"));
    else std::snprintf(words, sizeof words, Tr("%d days ago"), static_cast<int>(ago / 86400));
    // And when, on this device's clock: the time today, else the day.
    std::tm local{}, today{};
    localtime_r(&then, &local);
    localtime_r(&now, &today);
    char when[32];
    if (ago >= 0 && local.tm_year == today.tm_year && local.tm_yday == today.tm_yday)
        std::strftime(when, sizeof when, "%H:%M", &local);
    else
        std::strftime(when, sizeof when, "%Y-%m-%d %H:%M", &local);
    return std::string(words) + " (" + when + ")";
}

std::string DefaultAuthorName() {
    // The account's full name (the first part of its GECOS field) says most.
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_gecos) {
        std::string full = pw->pw_gecos;
        full = full.substr(0, full.find(','));
        if (full.find_first_not_of(' ') != std::string::npos) return full;
    }
    for (const char* var : {"USER", "LOGNAME"})
        if (const char* v = std::getenv(var); v && *v) return v;
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0 && host[0]) return host;
    return "escucha";
}

std::vector<std::string> QueryTerms(const std::string& query) {
    std::vector<std::string> terms;
    std::string word;
    const auto flush = [&] {
        if (!word.empty() && word != "AND" && word != "OR" && word != "NOT" && word != "NEAR")
            terms.push_back(FoldForMatch(word));
        word.clear();
    };
    for (const char ch : query) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x80 || std::isalnum(c)) {
            word.push_back(ch);
        } else if (c == '*' && !word.empty()) {
            word.push_back('*');
            flush();
        } else {
            flush();
        }
    }
    flush();
    return terms;
}

// [SECTION] Unlock, lock and the clock

AppState::AppState(VaultWorker& worker, VaultWorker& sync_worker, std::filesystem::path vault_dir,
                   std::filesystem::path settings_file)
    : vault_exists(storage::Vault::Exists(vault_dir)), m_worker(worker), m_sync_worker(sync_worker),
      m_dir(std::move(vault_dir)), m_settings_file(std::move(settings_file)),
      m_sync_handle(std::make_shared<SyncHandle>()) {
    std::string problem;
    settings = LoadSettings(m_settings_file, &problem);
    if (!problem.empty()) status = problem;
    author_name = DefaultAuthorName();
    gui::SetLanguage(settings.language.empty() ? SystemLanguage() : settings.language);
}

AppState::~AppState() {
    // Jobs still queued refer to this state: let them finish first.
    m_sync_handle->Cancel();
    m_worker.Flush();
    m_sync_worker.Flush();
    m_worker.Flush();
}

const storage::RecordType& AppState::Type(const std::string& name) const {
    return interpret::AllRecordTypes().Get(name);
}

void AppState::SubmitPassphrase(double now) {
    if (busy) return;
    error.clear();
    locked_reason.clear();
    if (!vault_exists && passphrase != passphrase_again) {
        error = Tr("The two passphrases differ.");
        focus_first_field = true; // typing again starts in the first field
        return;
    }
    std::string author = author_name;
    author.erase(0, std::min(author.size(), author.find_first_not_of(" \t")));
    while (!author.empty() && (author.back() == ' ' || author.back() == '\t')) author.pop_back();
    if (!vault_exists && author.empty()) {
        error = Tr("Write your name: it is kept with everything you record.");
        return;
    }
    busy = true;
    m_last_input = now;
    unlock_started = std::chrono::steady_clock::now();
    auto secret = std::make_shared<storage::Passphrase>(passphrase);
    storage::WipeMemory(passphrase.data(), passphrase.size());
    storage::WipeMemory(passphrase_again.data(), passphrase_again.size());
    passphrase.clear();
    passphrase_again.clear();
    const bool create = !vault_exists;
    const int session = m_session;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post(
        [this, &ui, secret, create, session, author, dir = m_dir](std::optional<storage::Vault>& vault) {
            if (create) {
                vault.emplace(storage::Vault::Create(dir, *secret, interpret::AllRecordTypes(), {author}));
            } else {
                vault.emplace(storage::Vault::Open(dir, *secret, interpret::AllRecordTypes()));
            }
            // The sync thread's own connection, with the key derived once.
            auto second = std::make_shared<storage::Vault>(vault->OpenAnother());
            ui.Post([this, session, second] {
                if (session != m_session) return;
                m_sync_connection = second;
                busy = false;
                vault_exists = true;
                screen = Screen::Main;
                first_frame_after_unlock_pending = true;
                focus_first_field = true;
                std::fprintf(stderr, "escucha: vault unlocked\n");
                LoadLists();
            });
        },
        [this, session](std::string what) {
            if (session != m_session) return;
            busy = false;
            error = what;
            // Enter took the keyboard from the field: give it back, to type again.
            focus_first_field = true;
            std::fprintf(stderr, "escucha: unlock refused\n");
        });
}

void AppState::OpenSyncConnection() {
    if (!m_sync_connection) return;
    // Handed over once the lists are read: a first sync does not compete
    // with them for the vault.
    m_sync_worker.Post([second = std::move(m_sync_connection)](std::optional<storage::Vault>& sync_vault) {
        sync_vault.emplace(std::move(*second));
    });
    m_sync_connection.reset();
    RefreshSync();
    sync.next_auto = m_now; // sync at start when enrolled
}

void AppState::ClearSession() {
    ++m_session;
    m_sync_handle = std::make_shared<SyncHandle>();
    m_sync_connection.reset();
    screen = Screen::Unlock;
    lists.clear();
    wrapped.clear();
    closing.clear();
    draft.reset();
    identity.reset();
    identity_loading = false;
    linked_narratives.clear();
    search = SearchState{};
    const std::string server = sync.server_input;
    sync = SyncView{};
    sync.server_input = server;
    project_id.clear();
    projects_loaded = false;
    status.clear();
    error.clear();
}

void AppState::Lock(const std::string& reason) {
    FlushBeforeExit();
    m_worker.Post([](std::optional<storage::Vault>& vault) { vault.reset(); });
    m_sync_worker.Post([](std::optional<storage::Vault>& vault) { vault.reset(); });
    ClearSession();
    locked_reason = reason;
    focus_first_field = true;
    std::fprintf(stderr, "escucha: locked\n");
}

void AppState::Input(double now) { m_last_input = now; }

void AppState::Tick(double now) {
    m_now = now;
    if (screen != Screen::Main) return;
    for (auto* d : OpenDrafts()) {
        if (!d->dirty || d->saving || d->revision == d->refused_revision) continue;
        if (now - d->last_edit < AUTOSAVE_AFTER_S || now < d->retry_at) continue;
        Save(*d, now);
    }
    // A closed record leaves once what it held is saved (or refused, which its status said).
    closing.erase(std::remove_if(closing.begin(), closing.end(),
                                 [](const RecordDraft& d) {
                                     return !d.saving && (!d.dirty || d.revision == d.refused_revision);
                                 }),
                  closing.end());
    if (settings.lock_after_minutes > 0 && now - m_last_input >= settings.lock_after_minutes * 60.0) {
        char reason[160];
        std::snprintf(reason, sizeof reason, Tr("Locked after %d minutes without use."), settings.lock_after_minutes);
        Lock(reason);
        return;
    }
    if (sync.enrolled && !sync.running && now >= sync.next_auto) StartSync(true);
}

void AppState::FlushBeforeExit() {
    // Let a save in flight land first, so its id is known and nothing is
    // created twice; then save what is still unsaved.
    for (int round = 0; round < 3; ++round) {
        m_worker.Flush();
        m_worker.Ui().Run();
        bool saved = false;
        for (auto* d : OpenDrafts()) {
            if (d->dirty && !d->saving && d->revision != d->refused_revision) {
                Save(*d, m_now);
                saved = true;
            }
        }
        if (!saved) break;
    }
    m_sync_handle->Cancel();
}

// [SECTION] Projects and lists

void AppState::LoadLists() {
    const int session = m_session;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post([this, &ui, session](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        const auto& type = interpret::AllRecordTypes().Get("project");
        storage::ListOptions options;
        options.only_fields = SummaryFields(type);
        std::vector<RowSummary> rows;
        for (const auto& p : vault->Records().List("project", options)) rows.push_back(Summarise(type, p));
        const auto enrolled_project = vault->GetMeta("sync.project_id").value_or("");
        ui.Post([this, session, rows = std::move(rows), enrolled_project]() mutable {
            if (session != m_session) return;
            lists["project"] = RecordList{std::move(rows), true};
            projects_loaded = true;
            const auto& projects = lists["project"].rows;
            const auto has = [&](const std::string& id) {
                return std::any_of(projects.begin(), projects.end(), [&](const RowSummary& r) { return r.id == id; });
            };
            if (!project_id.empty() && has(project_id)) {
            } else if (!enrolled_project.empty() && has(enrolled_project)) {
                project_id = enrolled_project;
            } else {
                project_id = projects.empty() ? "" : projects.front().id;
            }
            for (const auto& type : RecordSections())
                if (type != "project") LoadList(type);
            // The vault thread runs jobs in order: this lands after the lists.
            m_worker.Post([this, session](std::optional<storage::Vault>&) {
                m_worker.Ui().Post([this, session] {
                    if (session == m_session) OpenSyncConnection();
                });
            });
        });
    });
}

void AppState::LoadList(const std::string& type_name) {
    if (project_id.empty()) return;
    const int session = m_session;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post([this, &ui, session, type_name, project = project_id](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        const auto& type = interpret::AllRecordTypes().Get(type_name);
        storage::ListOptions options;
        options.project_id = project;
        options.only_fields = SummaryFields(type);
        options.newest_first = true;
        std::vector<RowSummary> rows;
        for (const auto& r : vault->Records().List(type_name, options)) rows.push_back(Summarise(type, r));
        ui.Post([this, session, type_name, project, rows = std::move(rows)]() mutable {
            if (session != m_session || project != project_id) return;
            lists[type_name] = RecordList{std::move(rows), true};
            std::fprintf(stderr, "escucha: listed %zu %s\n", lists[type_name].rows.size(), type_name.c_str());
        });
    });
}

void AppState::PutRow(const std::string& type, RowSummary row) {
    auto& rows = lists[type].rows;
    const auto it = std::find_if(rows.begin(), rows.end(), [&](const RowSummary& r) { return r.id == row.id; });
    if (it != rows.end()) *it = std::move(row);
    else rows.insert(rows.begin(), std::move(row));
}

void AppState::SelectProject(const std::string& id) {
    if (id == project_id) return;
    CloseRecord();
    project_id = id;
    for (const auto& type : RecordSections())
        if (type != "project") {
            lists[type] = RecordList{};
            LoadList(type);
        }
}

void AppState::CreateFirstProject() {
    const auto name = new_project_name;
    if (name.find_first_not_of(" \t") == std::string::npos) {
        error = Tr("Give the project a name.");
        focus_first_field = true;
        return;
    }
    error.clear();
    const int session = m_session;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post(
        [this, &ui, session, name](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            const auto& type = interpret::AllRecordTypes().Get("project");
            const auto created = vault->Records().Create("project", {{"name", name}});
            ui.Post([this, session, row = Summarise(type, created)] {
                if (session != m_session) return;
                new_project_name.clear();
                PutRow("project", row);
                SelectProject(row.id);
                std::fprintf(stderr, "escucha: project created\n");
            });
        },
        [this, session](std::string what) {
            if (session != m_session) return;
            error = what;
            focus_first_field = true;
        });
}

void AppState::Show(const std::string& where) {
    if (where == section) return;
    if (draft && draft->type != where) CloseRecord();
    section = where;
    if (where == SECTION_SEARCH) focus_search = true;
    if (where == SECTION_SYNC) RefreshSync();
}

const RowSummary* AppState::Row(const std::string& type, const std::string& id) const {
    const auto list = lists.find(type);
    if (list == lists.end()) return nullptr;
    for (const auto& r : list->second.rows)
        if (r.id == id) return &r;
    return nullptr;
}

std::string AppState::RowLabel(const std::string& /*type*/, const RowSummary& row) const {
    if (!row.title.empty()) return row.title;
    if (!row.ref.empty())
        if (const auto* p = Row("participant", row.ref)) return p->title;
    return std::string("(") + Tr("untitled") + ")";
}

std::string AppState::ProjectName() const {
    if (const auto* p = Row("project", project_id)) return p->title;
    return {};
}

// [SECTION] Records

RecordDraft* AppState::DraftByKey(int key) {
    for (auto* d : OpenDrafts())
        if (d->key == key) return d;
    return nullptr;
}

std::vector<RecordDraft*> AppState::OpenDrafts() {
    std::vector<RecordDraft*> out;
    if (draft) out.push_back(&*draft);
    if (identity) out.push_back(&*identity);
    for (auto& d : closing) out.push_back(&d);
    return out;
}

void AppState::NewRecord(const std::string& type_name) {
    if (type_name != "project" && project_id.empty()) {
        error = Tr("Create a project first.");
        return;
    }
    CloseRecord();
    error.clear();
    found_in.clear();
    draft = NewDraft(Type(type_name), type_name == "project" ? "" : project_id);
    draft->key = m_next_key++;
    section = type_name;
    focus_first_field = true;
}

void AppState::OpenRecord(const std::string& id) {
    if (draft && draft->id == id) return;
    CloseRecord();
    found_in.clear(); // marks of a search belong to the record opened from it
    focus_first_field = false; // reading first; the keyboard comes with a click
    // Still saving after it was closed: the form in memory is newer than the vault.
    for (auto it = closing.begin(); it != closing.end(); ++it) {
        if (it->id != id || !capture::ShownByDefault(Type(it->type))) continue;
        draft = std::move(*it);
        closing.erase(it);
        section = draft->type;
        if (draft->type == "profile") LoadLinkedNarratives();
        return;
    }
    const int session = m_session, request = m_open_request;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post(
        [this, &ui, session, request, id](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            auto record = vault->Records().Get(id);
            if (!record) throw std::runtime_error("that record is no longer in the vault");
            ui.Post([this, session, request, record = std::move(*record)] {
                // Another record was opened or made meanwhile: that one wins.
                if (session != m_session || request != m_open_request) return;
                CloseRecord();
                const auto& type = Type(record["type"].get<std::string>());
                draft = DraftFromRecord(type, record);
                draft->key = m_next_key++;
                section = type.name;
                if (type.name == "profile") LoadLinkedNarratives();
            });
        },
        [this, session](std::string what) {
            if (session == m_session) error = what;
        });
}

void AppState::CloseRecord() {
    ++m_open_request; // an open still on its way is overtaken
    // What was refused stays unsaved: say so rather than drop it quietly.
    for (auto* d : {draft ? &*draft : nullptr, identity ? &*identity : nullptr}) {
        if (!d || !d->dirty || d->revision != d->refused_revision) continue;
        std::string why = d->error;
        for (const auto& [field, reason] : d->field_errors)
            why += (why.empty() ? "" : "; ") + std::string(FieldLabel(field)) + " " + reason;
        status = std::string(Tr("Not saved: ")) + why;
    }
    Retire(draft);
    Retire(identity);
    draft.reset();
    identity.reset();
    identity_loading = false;
    linked_narratives.clear();
    wrapped.clear();
}

void AppState::Edited(RecordDraft& d, const std::string& field, double now) {
    d.dirty = true;
    d.last_edit = now;
    d.touched.insert(field);
    d.field_errors.erase(field);
    ++d.revision;
    m_last_input = now;
    status = Tr("Editing…");
    if (d.type == "profile" && field == "narrative_ids") LoadLinkedNarratives();
}

void AppState::FocusLeft(RecordDraft& d) {
    if (d.dirty && !d.saving && d.revision != d.refused_revision) Save(d, m_now);
}

void AppState::Save(RecordDraft& d, double now) {
    if (d.saving) return;
    const auto& type = Type(d.type);
    if (d.id.empty()) TitleFromText(type, d);
    const auto form = ReadForm(type, d);
    d.field_errors = form.errors;
    const bool creating = d.id.empty();
    if (creating && !form.missing.empty()) {
        // Nothing to create yet: a narrative needs its text, a participant a pseudonym.
        std::string names;
        for (const auto& m : form.missing) names += (names.empty() ? "" : ", ") + std::string(FieldLabel(m));
        d.error = std::string(Tr("To save it, fill in: ")) + names;
        d.refused_revision = d.revision;
        return;
    }
    if (!creating && form.fields.empty()) {
        d.dirty = !form.errors.empty();
        d.refused_revision = d.revision;
        return;
    }
    d.saving = true;
    d.last_edit = now;
    const int key = d.key, revision = d.revision, session = m_session;
    Json fields = form.fields;
    if (creating && !d.project_id.empty()) fields["project_id"] = d.project_id;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post(
        [this, &ui, key, revision, session, creating, id = d.id, type_name = d.type,
         fields](std::optional<storage::Vault>& vault) mutable {
            if (!vault) throw std::runtime_error("the vault is locked");
            auto& records = vault->Records();
            std::map<std::string, std::string> refused;
            Json stored;
            // A field the vault refuses is left out and named, so that every
            // other field is still saved.
            for (;;) {
                try {
                    stored = creating ? records.Create(type_name, fields) : records.Update(id, fields);
                    break;
                } catch (const storage::RecordError& e) {
                    const auto* spec = interpret::AllRecordTypes().Get(type_name).Field(e.Field());
                    if (!spec || !fields.contains(e.Field()) || (creating && spec->required)) {
                        // The record as a whole is refused: wait for the next edit.
                        ui.Post([this, key, revision, session, what = std::string(e.what())] {
                            if (session != m_session) return;
                            RecordDraft* d = DraftByKey(key);
                            if (!d) return;
                            d->saving = false;
                            d->error = what;
                            d->refused_revision = revision;
                            status = std::string(Tr("Not saved: ")) + what;
                        });
                        return;
                    }
                    refused[e.Field()] = e.Reason();
                    fields.erase(e.Field());
                    if (!creating && fields.empty()) break;
                }
            }
            const auto& type = interpret::AllRecordTypes().Get(type_name);
            std::optional<RowSummary> row;
            if (!stored.is_null()) row = Summarise(type, stored);
            const std::string updated_at = stored.is_null() ? "" : stored.value("updated_at", "");
            // What the vault made for a new record (a participant's code) is shown at once.
            Json made = creating && !stored.is_null() ? stored : Json();
            ui.Post([this, key, revision, session, type_name, row, refused, updated_at, made = std::move(made)] {
                if (session != m_session) return;
                if (row && capture::ShownByDefault(Type(type_name))) PutRow(type_name, *row);
                RecordDraft* d = DraftByKey(key);
                if (!d) return;
                d->saving = false;
                d->error.clear();
                if (row && d->id.empty()) d->id = row->id;
                if (!updated_at.empty()) d->updated_at = updated_at;
                if (!made.is_null()) {
                    const auto& type = Type(type_name);
                    const RecordDraft stored_form = DraftFromRecord(type, made);
                    for (const auto& [field, value] : stored_form.values) {
                        FieldValue& shown = d->values[field];
                        if (shown.text.empty() && shown.items.empty() && !shown.flag && !d->touched.count(field))
                            shown = value;
                    }
                    if (d->author.empty()) d->author = stored_form.author;
                    if (d->created_at.empty()) d->created_at = stored_form.created_at;
                }
                for (const auto& [field, why] : refused) {
                    // A date the vault refuses is said as the form says it, in the person's language.
                    const auto* spec = Type(type_name).Field(field);
                    d->field_errors[field] = spec && spec->kind == storage::FieldKind::Date
                                                 ? Tr("is not a date: write it as year-month-day (2026-03-14) or "
                                                      "choose it in the calendar")
                                                 : why;
                }
                if (d->revision == revision) {
                    d->dirty = false;
                    d->touched.clear();
                    for (const auto& [field, why] : d->field_errors) d->touched.insert(field);
                    if (!d->field_errors.empty()) {
                        d->dirty = true; // the refused fields are still only in the form
                        d->refused_revision = revision;
                    }
                }
                status = d->field_errors.empty() ? Tr("Saved") : Tr("Saved, except the fields marked in red");
                std::fprintf(stderr, "escucha: %s saved\n", type_name.c_str());
            });
        },
        [this, key, session](std::string what) {
            // Not a refusal of the record (a busy or full disk, a locked
            // vault): tried again a little later, and at close and lock.
            if (session != m_session) return;
            RecordDraft* d = DraftByKey(key);
            if (!d) return;
            d->saving = false;
            d->error = what;
            d->retry_at = m_now + RETRY_AFTER_S;
            status = std::string(Tr("Not saved yet, trying again: ")) + what;
        });
}

void AppState::TitleFromText(const storage::RecordType& type, RecordDraft& d) {
    // People often write the narrative first and name it later; a required
    // title left empty must not keep the text from being saved. The first
    // words stand in, in the form, until the person changes them.
    const auto* title = type.Field(type.title_field);
    if (!title || !title->required || title->kind != storage::FieldKind::Text) return;
    if (d.values[title->name].text.find_first_not_of(" \t") != std::string::npos) return;
    for (const auto& f : type.fields) {
        if (f.kind != storage::FieldKind::LongText) continue;
        const auto& text = d.values[f.name].text;
        const auto start = text.find_first_not_of(" \t\n");
        if (start == std::string::npos) continue;
        d.values[title->name].text = FirstWords(text.substr(start));
        d.touched.insert(title->name);
        return;
    }
}

void AppState::DeleteRecord() {
    if (!draft) return;
    if (draft->id.empty()) {
        draft.reset();
        return;
    }
    const int session = m_session;
    const std::string id = draft->id, type = draft->type;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post(
        [this, &ui, session, id, type](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            (void)vault->Records().Delete(id);
            ui.Post([this, session, id, type] {
                if (session != m_session) return;
                auto& rows = lists[type].rows;
                rows.erase(std::remove_if(rows.begin(), rows.end(), [&](const RowSummary& r) { return r.id == id; }),
                           rows.end());
                if (draft && draft->id == id) {
                    draft.reset();
                    identity.reset();
                }
                if (type == "project" && id == project_id) {
                    project_id.clear();
                    LoadLists();
                }
                status = Tr("Deleted");
            });
        },
        [this, session](std::string what) {
            if (session == m_session) error = std::string(Tr("Not deleted: ")) + what;
        });
}

void AppState::WithdrawConsent(double now) {
    if (!draft || draft->type != "consent" || draft->id.empty()) return;
    const std::string consent_id = draft->id;
    const std::string participant = draft->values["participant_id"].text;
    if (participant.empty()) return;
    Save(*draft, now); // what was typed is stored first; the worker runs in order
    const int session = m_session;
    const std::string today = Today();
    UiQueue& ui = m_worker.Ui();
    m_worker.Post(
        [this, &ui, session, consent_id, participant, today](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            // One operation: the consent, what the participant gave, the
            // profiles that drew on it, all or nothing.
            const auto w = capture::WithdrawConsent(vault->Records(), participant, today);
            int64_t erased = 0;
            for (const auto& [type, n] : w.erased) erased += n;
            const auto flagged = static_cast<int64_t>(w.flagged.size());
            ui.Post([this, session, consent_id, erased, flagged] {
                if (session != m_session) return;
                if (draft && draft->id == consent_id) {
                    draft.reset();
                    OpenRecord(consent_id);
                }
                LoadLists();
                char words[256];
                std::snprintf(words, sizeof words, Tr("Consent withdrawn: %d record(s) erased, %d flagged for review"),
                              static_cast<int>(erased), static_cast<int>(flagged));
                status = words;
            });
        },
        [this, session](std::string what) {
            if (session == m_session) error = std::string(Tr("Consent not withdrawn: ")) + what;
        });
}

void AppState::ShowIdentity() {
    if (!draft || draft->type != "participant" || draft->id.empty() || identity || identity_loading) return;
    identity_loading = true;
    const int session = m_session;
    const std::string participant = draft->id, project = draft->project_id;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post(
        [this, &ui, session, participant, project](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            const std::optional<Json> found = capture::IdentityOf(vault->Records(), participant);
            ui.Post([this, session, participant, project, found] {
                if (session != m_session) return;
                identity_loading = false;
                if (!draft || draft->id != participant) return;
                const auto& type = Type(capture::IDENTITY_LINK);
                identity = found ? DraftFromRecord(type, *found) : NewDraft(type, project);
                identity->key = m_next_key++;
                if (!found) identity->values["participant_id"].text = participant;
            });
        },
        [this, session](std::string what) {
            if (session != m_session) return;
            identity_loading = false;
            error = what;
        });
}

void AppState::Retire(std::optional<RecordDraft>& d) {
    // A form still being saved, or with edits not yet saved, goes on saving
    // after it is closed.
    if (d && (d->saving || (d->dirty && d->revision != d->refused_revision))) {
        closing.push_back(std::move(*d));
        if (!closing.back().saving) Save(closing.back(), m_now);
    }
    d.reset();
}

void AppState::HideIdentity() {
    Retire(identity);
}

void AppState::LoadLinkedNarratives() {
    if (!draft) return;
    std::vector<std::string> ids = draft->values["narrative_ids"].items;
    const int session = m_session, key = draft->key;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post([this, &ui, session, key, ids](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        std::vector<Json> found;
        for (const auto& id : ids)
            if (auto r = vault->Records().Get(id)) found.push_back(std::move(*r));
        ui.Post([this, session, key, found = std::move(found)]() mutable {
            if (session == m_session && draft && draft->key == key) linked_narratives = std::move(found);
        });
    });
}

// [SECTION] Search

void AppState::Search() {
    const std::string q = search.query;
    if (q.find_first_not_of(" \t") == std::string::npos) return;
    const int generation = ++search.generation, session = m_session;
    search.searching = true;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post(
        [this, &ui, q, generation, session](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            auto ranks = vault->Records().RankSearch(q, SearchState::MAX_RESULTS);
            ui.Post([this, q, generation, session, ranks = std::move(ranks)]() mutable {
                if (session != m_session || generation != search.generation) return;
                search.searching = false;
                search.shown_query = q;
                search.ranks = std::move(ranks);
                search.hits.clear();
                search.chunks_asked.clear();
                ++search.done;
                error.clear();
                std::fprintf(stderr, "escucha: search found %zu\n", search.ranks.size());
            });
        },
        [this, generation, session](std::string what) {
            if (session != m_session || generation != search.generation) return;
            search.searching = false;
            error = what;
        });
}

void AppState::NeedHits(size_t first, size_t last) {
    last = std::min(last, search.ranks.size());
    if (first >= last) return;
    const int generation = search.generation, session = m_session;
    UiQueue& ui = m_worker.Ui();
    for (size_t chunk = first / SearchState::CHUNK; chunk * SearchState::CHUNK < last; ++chunk) {
        if (!search.chunks_asked.insert(chunk).second) continue;
        const size_t begin = chunk * SearchState::CHUNK;
        const size_t end = std::min(begin + SearchState::CHUNK, search.ranks.size());
        std::vector<storage::SearchRank> ranks(search.ranks.begin() + static_cast<std::ptrdiff_t>(begin),
                                               search.ranks.begin() + static_cast<std::ptrdiff_t>(end));
        m_worker.Post([this, &ui, generation, session, begin, q = search.shown_query,
                       ranks = std::move(ranks)](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            // One by one, so that a match whose record went away meanwhile
            // keeps its place (shown as gone) instead of shifting the rest.
            std::vector<storage::SearchHit> details;
            for (const auto& rank : ranks) {
                auto one = vault->Records().SearchDetails(q, {rank}, "\x01", "\x02");
                details.push_back(one.empty() ? storage::SearchHit{} : std::move(one.front()));
            }
            ui.Post([this, generation, session, begin, details = std::move(details)]() mutable {
                if (session != m_session || generation != search.generation) return;
                for (size_t i = 0; i < details.size(); ++i) search.hits[begin + i] = std::move(details[i]);
            });
        });
    }
}

void AppState::OpenHit(size_t index) {
    const auto it = search.hits.find(index);
    if (it == search.hits.end()) return;
    const auto& hit = it->second;
    if (hit.id.empty() || !capture::ShownByDefault(Type(hit.type))) return; // gone since the search
    const std::string id = hit.id;
    OpenRecord(id);
    // The words searched for are marked in the record, and the form scrolls to the first.
    found_in = id;
    found_terms = QueryTerms(search.shown_query);
    found_scroll_pending = true;
}

// [SECTION] Sync

void AppState::RefreshSync() {
    const int session = m_session;
    UiQueue& ui = m_worker.Ui();
    m_sync_worker.Post([this, &ui, session](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        auto& records = vault->Records();
        const auto state = sync::ReadSyncState(*vault);
        const auto pending = records.PendingJournalCount();
        const auto waiting = records.WaitingRecordCount();
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
            refused.push_back({e.seq, e.record_type, e.record_id, title_of(e.record_id), e.last_error});
        ui.Post([this, session, state, pending, waiting, rejected, conflicts = std::move(conflicts),
                 refused = std::move(refused), local = std::move(local)]() mutable {
            if (session != m_session) return;
            sync.known = true;
            sync.enrolled = state.enrolled;
            sync.server = state.server;
            sync.project_name = state.project_name;
            sync.role = state.role;
            sync.last_success = state.last_success;
            // A success since the last error settles it: the error is not shown any more.
            // (Both instants are written alike, to the millisecond, so their text compares as they do.)
            const auto failed_at = state.last_error.substr(0, state.last_error.find(' '));
            const bool settled = ParseIsoUtc(failed_at) >= 0 && ParseIsoUtc(state.last_success) >= 0 &&
                                 state.last_success >= failed_at;
            sync.last_error = settled ? "" : state.last_error;
            sync.pending = pending;
            sync.waiting_records = waiting;
            sync.local_work = std::move(local);
            sync.rejected = rejected;
            sync.conflicts = static_cast<int64_t>(conflicts.size());
            sync.conflict_list = std::move(conflicts);
            sync.refused_list = std::move(refused);
        });
    });
}

void AppState::Enrol() {
    if (sync.running) return;
    const auto trimmed = [](const std::string& text) {
        const auto first = text.find_first_not_of(" \t\r\n");
        if (first == std::string::npos) return std::string();
        return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
    };
    // Any case, spaces or dashes: sync::Enrol puts the code as HQ wrote it.
    const auto server = trimmed(sync.server_input), code = trimmed(sync.code_input),
               ca_path = trimmed(sync.ca_path_input);
    if (server.empty() || code.empty()) {
        sync.message = Tr("Give the server's address and the enrolment code.");
        sync.message_is_error = true;
        return;
    }
    sync.running = true;
    sync.message = Tr("Enrolling…");
    sync.message_is_error = false;
    const int session = m_session;
    UiQueue& ui = m_worker.Ui();
    m_sync_worker.Post(
        [this, &ui, session, server, code, ca_path](std::optional<storage::Vault>& vault) {
            if (!vault) {
                // The sync connection is still being opened (just after unlocking).
                ui.Post([this, session] {
                    if (session != m_session) return;
                    sync.running = false;
                    sync.message = Tr("The vault is still opening; try again in a moment.");
                    sync.message_is_error = true;
                });
                return;
            }
            std::string ca_pem;
            if (!ca_path.empty()) {
                std::ifstream in(ca_path);
                if (!in) throw std::runtime_error("the certificate file " + ca_path + " cannot be read");
                std::stringstream text;
                text << in.rdbuf();
                ca_pem = text.str();
            }
            const auto problem = sync::Enrol(*vault, server, code, ca_pem);
            ui.Post([this, session, problem] {
                if (session != m_session) return;
                sync.running = false;
                sync.message_is_error = problem.has_value();
                sync.message = problem ? *problem : Tr("Enrolled. This device now syncs with headquarters.");
                sync.focus_code = problem.has_value(); // to correct the code at once
                if (!problem) {
                    sync.code_input.clear();
                    std::fprintf(stderr, "escucha: enrolled\n");
                    LoadLists();
                }
                RefreshSync();
            });
        },
        [this, session](std::string what) {
            if (session == m_session) SyncStopped(what, true);
        });
}

void AppState::AdoptLocalWork(const std::string& local_project_id) {
    const int session = m_session;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post(
        [this, &ui, session, local_project_id](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            const auto state = sync::ReadSyncState(*vault);
            const auto moved = capture::AdoptLocalProject(vault->Records(), local_project_id, state.project_id);
            int64_t n = 0;
            for (const auto& [type, count] : moved) n += count;
            ui.Post([this, session, n, local_project_id, enrolled = state.project_id] {
                if (session != m_session) return;
                char words[256];
                std::snprintf(words, sizeof words, Tr("%d record(s) moved into the project; they are sent at the next sync."),
                              static_cast<int>(n));
                sync.message = words;
                sync.message_is_error = false;
                if (project_id == local_project_id) project_id = enrolled;
                projects_loaded = false;
                LoadLists();
                RefreshSync();
                SyncNow();
            });
        },
        [this, session](std::string what) {
            if (session != m_session) return;
            sync.message = std::string(Tr("Not moved: ")) + what;
            sync.message_is_error = true;
        });
}

void AppState::KeepLocalWork(const std::string& local_project_id) {
    const int session = m_session;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post([this, &ui, session, local_project_id](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        auto kept = vault->GetMeta(META_KEPT_LOCAL).value_or("");
        if (kept.find(local_project_id) == std::string::npos) kept += local_project_id + " ";
        vault->SetMeta(META_KEPT_LOCAL, kept);
        ui.Post([this, session] {
            if (session != m_session) return;
            sync.message = Tr("Kept on this device only: those records are not sent to headquarters.");
            sync.message_is_error = false;
            RefreshSync();
        });
    });
}

void AppState::RetryRefused(int64_t seq) {
    const int session = m_session;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post([this, &ui, session, seq](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        vault->Records().RetryJournal(seq);
        ui.Post([this, session] {
            if (session != m_session) return;
            RefreshSync();
            SyncNow();
        });
    });
}

void AppState::DiscardRefused(int64_t seq) {
    const int session = m_session;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post([this, &ui, session, seq](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        vault->Records().DiscardJournal(seq);
        ui.Post([this, session] {
            if (session != m_session) return;
            sync.message = Tr("The refused change was discarded; the record stays as it is on this device.");
            sync.message_is_error = false;
            RefreshSync();
        });
    });
}

void AppState::SyncStopped(const std::string& message, bool failed) {
    sync.running = false;
    sync.message = message;
    sync.message_is_error = failed;
    if (failed) {
        // Back off: 10 s, 20 s, … up to the usual interval.
        ++sync.failures;
        sync.next_auto = m_now + std::min(SYNC_EVERY_S, 10.0 * (1 << std::min(sync.failures - 1, 5)));
    } else {
        sync.failures = 0;
        sync.next_auto = m_now + SYNC_EVERY_S;
    }
}

void AppState::SyncNow() { StartSync(false); }

void AppState::ResolveConflict(int64_t seq, bool take_other) {
    const auto it = std::find_if(sync.conflict_list.begin(), sync.conflict_list.end(),
                                 [&](const SyncView::Conflict& c) { return c.seq == seq; });
    if (it == sync.conflict_list.end()) return;
    const SyncView::Conflict c = *it;
    // An open form of that record saves first (jobs run in order), so that
    // its save cannot undo the choice; it opens again afterwards.
    const bool reopen = draft && draft->id == c.record_id;
    if (reopen) CloseRecord();
    const int session = m_session;
    UiQueue& ui = m_worker.Ui();
    m_worker.Post(
        [this, &ui, session, c, take_other, reopen](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            // The choice and the settling go together: either both or neither.
            vault->Records().Atomically([&] {
                if (take_other) (void)vault->Records().Update(c.record_id, {{c.field, c.other_value}});
                vault->Records().ResolveConflict(c.seq);
            });
            ui.Post([this, session, c, reopen] {
                if (session != m_session) return;
                if (reopen && !draft) OpenRecord(c.record_id);
                status = Tr("Conflict settled");
                RefreshSync();
            });
        },
        [this, session](std::string what) {
            if (session != m_session) return;
            sync.message = what;
            sync.message_is_error = true;
        });
}

void AppState::StartSync(bool automatic) {
    if (sync.running || !sync.enrolled) return;
    sync.running = true;
    sync.progress = {};
    if (!automatic) {
        sync.message = Tr("Syncing…");
        sync.message_is_error = false;
    }
    const int session = m_session;
    UiQueue& ui = m_worker.Ui();
    auto handle = m_sync_handle;
    m_sync_worker.Post(
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
                    if (session == m_session) sync.progress = p;
                });
            });
            struct Done {
                SyncHandle& h;
                ~Done() { h.Finish(); }
            } done{*handle};
            const sync::SyncReport report = client.SyncOnce();
            ui.Post([this, session, report] {
                if (session != m_session) return;
                if (report.ok) {
                    char text[200];
                    std::snprintf(text, sizeof text, Tr("Synced: %lld sent, %lld received."),
                                  static_cast<long long>(report.acknowledged), static_cast<long long>(report.pulled));
                    SyncStopped(text, false);
                } else {
                    SyncStopped(std::string(Tr("Sync did not finish: ")) + report.error, true);
                }
                std::fprintf(stderr, "escucha: sync %s\n", report.ok ? "done" : "failed");
                if (report.pulled > 0) LoadLists();
                RefreshSync();
            });
        },
        [this, session](std::string what) {
            if (session == m_session) SyncStopped(what, true);
        });
}

// [SECTION] Settings

void AppState::SetLanguage(const std::string& code) {
    settings.language = code;
    gui::SetLanguage(code);
    SaveSettings();
}

void AppState::SaveSettings() {
    std::string problem;
    if (!StoreSettings(m_settings_file, settings, problem)) error = problem;
}

} // namespace escucha::gui
