#include "app_state.h"

#include "escucha/interpret/interpretation_records.h"

#include <cstdio>

namespace escucha::gui {

using storage::Json;

AppState::AppState(VaultWorker& worker, std::filesystem::path vault_dir)
    : vault_exists(storage::Vault::Exists(vault_dir)), m_worker(worker), m_dir(std::move(vault_dir)) {}

void AppState::SubmitPassphrase() {
    if (busy) return;
    error.clear();
    if (!vault_exists && passphrase != passphrase_again) {
        error = "The two passphrases differ.";
        return;
    }
    busy = true;
    auto secret = std::make_shared<storage::Passphrase>(passphrase);
    storage::WipeMemory(passphrase.data(), passphrase.size());
    storage::WipeMemory(passphrase_again.data(), passphrase_again.size());
    passphrase.clear();
    passphrase_again.clear();
    const bool create = !vault_exists;
    m_worker.Post(
        [this, secret, create, dir = m_dir](std::optional<storage::Vault>& vault) {
            if (create) {
                const char* user = std::getenv("USER");
                vault.emplace(storage::Vault::Create(dir, *secret, interpret::AllRecordTypes(), {user ? user : "escucha"}));
            } else {
                vault.emplace(storage::Vault::Open(dir, *secret, interpret::AllRecordTypes()));
            }
            std::vector<Json> list = vault->Records().List("narrative");
            m_worker.Ui().Post([this, list = std::move(list)]() mutable {
                busy = false;
                vault_exists = true;
                screen = Screen::Main;
                narratives = std::move(list);
                std::fprintf(stderr, "escucha: vault unlocked\n");
            });
        },
        [this](std::string what) {
            busy = false;
            error = what;
        });
}

void AppState::Lock() {
    FlushBeforeExit();
    m_worker.Post([](std::optional<storage::Vault>& vault) { vault.reset(); });
    screen = Screen::Unlock;
    narratives.clear();
    draft.reset();
    hits.clear();
}

void AppState::Reload() {
    m_worker.Post([this](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        auto list = vault->Records().List("narrative");
        m_worker.Ui().Post([this, list = std::move(list)]() mutable { narratives = std::move(list); });
    });
}

void AppState::NewNarrative() {
    if (draft && draft->dirty) Save();
    draft = NarrativeDraft{};
    focus_title = true;
}

void AppState::OpenNarrative(const std::string& id) {
    if (draft && draft->dirty) Save();
    for (const auto& n : narratives) {
        if (n["id"] != id) continue;
        draft = NarrativeDraft{id, n.value("title", ""), n.value("text", "")};
        return;
    }
}

void AppState::Edited(double now) {
    if (!draft) return;
    draft->dirty = true;
    draft->last_edit = now;
    ++draft->revision;
    status = "editing";
}

void AppState::FocusLeft(double) {
    if (draft && draft->dirty) Save();
}

void AppState::Tick(double now) {
    if (draft && draft->dirty && !draft->saving && now - draft->last_edit >= AUTOSAVE_AFTER_S) Save();
}

void AppState::Save() {
    if (!draft || draft->saving) return;
    // A narrative is its text: until there is some, there is nothing to keep.
    if (draft->text.find_first_not_of(" \t\n") == std::string::npos) {
        status = "write the narrative to save it";
        return;
    }
    draft->saving = true;
    const std::string id = draft->id;
    const int revision = draft->revision;
    Json fields = {{"title", draft->title.empty() ? std::string("Sin título") : draft->title},
                   {"text", draft->text}};
    m_worker.Post(
        [this, id, revision, fields](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            auto& records = vault->Records();
            std::string saved_id = id;
            if (id.empty()) {
                Json create = fields;
                auto projects = records.List("project");
                create["project_id"] = projects.empty() ? records.Create("project", {{"name", "Mi proyecto"}})["id"]
                                                        : projects[0]["id"];
                saved_id = records.Create("narrative", create)["id"];
            } else {
                (void)records.Update(id, fields);
            }
            m_worker.Ui().Post([this, saved_id, revision] {
                if (!draft) return;
                draft->saving = false;
                if (draft->id.empty()) draft->id = saved_id;
                if (draft->revision == revision) draft->dirty = false;
                status = "saved";
                error.clear();
                std::fprintf(stderr, "escucha: narrative saved\n");
            });
        },
        [this](std::string what) {
            if (draft) draft->saving = false;
            error = "Not saved: " + what;
        });
    Reload();
}

void AppState::Search() {
    const std::string q = query;
    m_worker.Post(
        [this, q](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            auto found = vault->Records().Search(q, 200);
            m_worker.Ui().Post([this, found = std::move(found)]() mutable {
                hits = std::move(found);
                ++searches_done;
                std::fprintf(stderr, "escucha: search found %zu\n", hits.size());
            });
        },
        [this](std::string what) { error = what; });
}

void AppState::FlushBeforeExit() {
    // Let a save in flight land first, so its id is known and nothing is
    // created twice; then save what is still unsaved.
    m_worker.Flush();
    m_worker.Ui().Run();
    if (draft && draft->dirty) {
        Save();
        m_worker.Flush();
        m_worker.Ui().Run();
    }
}

} // namespace escucha::gui
