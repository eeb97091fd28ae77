#include "feature_editing.h"

#include "error_words.h"
#include "i18n.h"
#include "labels.h"

#include "escucha/capture/access.h"
#include "escucha/capture/operations.h"
#include "escucha/interpret/coding.h"
#include "escucha/interpret/interpretation_records.h"

#include <algorithm>
#include <cstdio>

namespace escucha::gui {

using storage::Json;

bool EditingFeature::TakeFocus() {
    const bool focus = m_ctx.focus_first_field;
    m_ctx.focus_first_field = false;
    return focus;
}

void EditingFeature::Autosave(double now) {
    for (auto* d : OpenDrafts()) {
        if (!d->dirty || d->saving || d->revision == d->refused_revision) continue;
        if (now - d->last_edit < AUTOSAVE_AFTER_S || now < d->retry_at) continue;
        Save(*d, now);
    }
    // A closed record leaves once what it held is saved (or refused, which its status said).
    m_closing.erase(std::remove_if(m_closing.begin(), m_closing.end(),
                                   [](const RecordDraft& d) {
                                       return !d.saving && (!d.dirty || d.revision == d.refused_revision);
                                   }),
                    m_closing.end());
}

double EditingFeature::NextAutosave() {
    double next = -1;
    for (auto* d : OpenDrafts()) {
        if (!d->dirty || d->saving || d->revision == d->refused_revision) continue;
        const double due = std::max(d->last_edit + AUTOSAVE_AFTER_S, d->retry_at);
        if (next < 0 || due < next) next = due;
    }
    return next;
}

bool EditingFeature::SaveUnsaved() {
    bool saved = false;
    for (auto* d : OpenDrafts()) {
        if (d->dirty && !d->saving && d->revision != d->refused_revision) {
            Save(*d, m_ctx.now);
            saved = true;
        }
    }
    return saved;
}

void EditingFeature::Clear() {
    m_wrapped.clear();
    m_closing.clear();
    m_draft.reset();
    m_identity.reset();
    m_identity_loading = false;
    m_linked_narratives.clear();
}

void EditingFeature::OpenFound(const std::string& id, std::vector<std::string> terms) {
    OpenRecord(id);
    // The words searched for are marked in the record, and the form scrolls to the first.
    m_found_in = id;
    m_found_terms = std::move(terms);
    m_found_scroll_pending = true;
}

RecordDraft* EditingFeature::DraftByKey(int key) {
    for (auto* d : OpenDrafts())
        if (d->key == key) return d;
    return nullptr;
}

std::vector<RecordDraft*> EditingFeature::OpenDrafts() {
    std::vector<RecordDraft*> out;
    if (m_draft) out.push_back(&*m_draft);
    if (m_identity) out.push_back(&*m_identity);
    for (auto& d : m_closing) out.push_back(&d);
    return out;
}

void EditingFeature::NewRecord(const std::string& type_name) {
    const bool scope = HasRole(type_name, storage::RecordRole::Scope); // a project is filed under none
    if (!scope && m_lists.ProjectId().empty()) {
        m_ctx.error = Tr("Create a project first.");
        return;
    }
    CloseRecord();
    m_ctx.error.clear();
    m_found_in.clear();
    m_draft = NewDraft(Type(type_name), scope ? "" : m_lists.ProjectId());
    m_draft->key = m_ctx.next_key++;
    m_ctx.section = type_name;
    m_ctx.focus_first_field = true;
}

void EditingFeature::OpenRecord(const std::string& id) {
    if (m_draft && m_draft->id == id) return;
    CloseRecord();
    m_found_in.clear();              // marks of a search belong to the record opened from it
    m_ctx.focus_first_field = false; // reading first; the keyboard comes with a click
    // Still saving after it was closed: the form in memory is newer than the vault.
    for (auto it = m_closing.begin(); it != m_closing.end(); ++it) {
        if (it->id != id || !capture::ShownByDefault(Type(it->type))) continue;
        m_draft = std::move(*it);
        m_closing.erase(it);
        m_ctx.section = m_draft->type;
        LoadLinkedNarratives();
        return;
    }
    const int session = m_ctx.session, request = m_open_request;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, request, id](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            auto record = vault->Records().Get(id);
            if (!record) throw std::runtime_error("that record is no longer in the vault");
            ui.Post([this, session, request, record = std::move(*record)] {
                // Another record was opened or made meanwhile: that one wins.
                if (session != m_ctx.session || request != m_open_request) return;
                CloseRecord();
                const auto& type = Type(record["type"].get<std::string>());
                m_draft = DraftFromRecord(type, record);
                m_draft->key = m_ctx.next_key++;
                m_ctx.section = type.name;
                LoadLinkedNarratives();
                std::fprintf(stderr, "escucha: record opened\n");
            });
        },
        [this, session](std::string what) {
            if (session == m_ctx.session) m_ctx.error = what;
        });
}

void EditingFeature::ReadAgain() {
    if (!m_draft || m_draft->id.empty()) return;
    const int key = m_draft->key, session = m_ctx.session;
    const std::string id = m_draft->id;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post([this, &ui, session, key, id](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        auto record = vault->Records().Get(id);
        if (!record) return;
        ui.Post([this, session, key, record = std::move(*record)] {
            // Edited meanwhile: what the person typed wins, and is saved as usual.
            if (session != m_ctx.session || !m_draft || m_draft->key != key || m_draft->dirty || m_draft->saving) return;
            auto fresh = DraftFromRecord(Type(record["type"].get<std::string>()), record);
            fresh.key = key;
            *m_draft = std::move(fresh);
        });
    });
}

void EditingFeature::CloseRecord() {
    ++m_open_request; // an open still on its way is overtaken
    // What was refused stays unsaved: say so rather than drop it quietly.
    for (auto* d : {m_draft ? &*m_draft : nullptr, m_identity ? &*m_identity : nullptr}) {
        if (!d || !d->dirty || d->revision != d->refused_revision) continue;
        std::string why = d->error;
        for (const auto& [field, reason] : d->field_errors)
            why += (why.empty() ? "" : "; ") + std::string(FieldLabel(field)) + " " + reason;
        m_ctx.status = std::string(Tr("Not saved: ")) + why;
    }
    Retire(m_draft);
    Retire(m_identity);
    m_draft.reset();
    m_identity.reset();
    m_identity_loading = false;
    m_linked_narratives.clear();
    m_wrapped.clear();
}

void EditingFeature::Edited(RecordDraft& d, const std::string& field, double now) {
    d.dirty = true;
    d.last_edit = now;
    d.touched.insert(field);
    d.field_errors.erase(field);
    ++d.revision;
    m_ctx.last_input = now;
    m_ctx.status = Tr("Editing…");
    if (field == Type(d.type).read_beside) LoadLinkedNarratives();
}

void EditingFeature::FocusLeft(RecordDraft& d) {
    if (d.dirty && !d.saving && d.revision != d.refused_revision) Save(d, m_ctx.now);
}

void EditingFeature::Save(RecordDraft& d, double now) {
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
    const int key = d.key, revision = d.revision, session = m_ctx.session;
    Json fields = form.fields;
    if (creating && !d.project_id.empty()) fields["project_id"] = d.project_id;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, key, revision, session, creating, id = d.id, type_name = d.type,
         fields](std::optional<storage::Vault>& vault) mutable {
            if (!vault) throw std::runtime_error("the vault is locked");
            std::map<std::string, storage::ErrorValue> refused;
            Json stored;
            try {
                // Every field that fits is saved; the others are named.
                auto& store = vault->Records();
                store.Atomically([&] {
                    auto saved = capture::SaveWhatFits(store, type_name, creating ? std::string() : id, fields);
                    stored = std::move(saved.stored);
                    refused = std::move(saved.refused);
                    // The codings of a text that changed follow the edit, or are flagged for review.
                    if (!creating && interpret::CodableField(interpret::AllRecordTypes().Get(type_name)))
                        (void)interpret::FollowEdit(store, id);
                });
            } catch (const storage::RecordError& e) {
                // The record as a whole is refused: wait for the next edit.
                ui.Post([this, key, revision, session, code = e.Code(), params = e.Params()] {
                    if (session != m_ctx.session) return;
                    RecordDraft* d = DraftByKey(key);
                    if (!d) return;
                    const std::string what = WordError(code, params);
                    d->saving = false;
                    d->error = what;
                    d->refused_revision = revision;
                    m_ctx.status = std::string(Tr("Not saved: ")) + what;
                });
                return;
            }
            const auto& type = interpret::AllRecordTypes().Get(type_name);
            std::optional<RowSummary> row;
            if (!stored.is_null()) row = Summarise(type, stored);
            const std::string updated_at = stored.is_null() ? "" : stored.value("updated_at", "");
            // What the vault made for a new record (a participant's code) is shown at once.
            Json made = creating && !stored.is_null() ? stored : Json();
            ui.Post([this, key, revision, session, type_name, row, refused, updated_at, made = std::move(made)] {
                if (session != m_ctx.session) return;
                if (row && capture::ShownByDefault(Type(type_name))) m_lists.PutRow(type_name, *row);
                if (row && on_saved) on_saved(row->id);
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
                                                 : WordError(why.code, why.params);
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
                m_ctx.status = d->field_errors.empty() ? Tr("Saved") : Tr("Saved, except the fields marked in red");
                std::fprintf(stderr, "escucha: %s saved\n", type_name.c_str());
            });
        },
        [this, key, session](std::string what) {
            // Not a refusal of the record (a busy or full disk, a locked
            // vault): tried again a little later, and at close and lock.
            if (session != m_ctx.session) return;
            RecordDraft* d = DraftByKey(key);
            if (!d) return;
            d->saving = false;
            d->error = what;
            d->retry_at = m_ctx.now + RETRY_AFTER_S;
            m_ctx.status = std::string(Tr("Not saved yet, trying again: ")) + what;
        });
}

void EditingFeature::TitleFromText(const storage::RecordType& type, RecordDraft& d) {
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

void EditingFeature::DeleteRecord() {
    if (!m_draft) return;
    if (m_draft->id.empty()) {
        m_draft.reset();
        return;
    }
    const int session = m_ctx.session;
    const std::string id = m_draft->id, type = m_draft->type;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, id, type](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            (void)vault->Records().Delete(id);
            ui.Post([this, session, id, type] {
                if (session != m_ctx.session) return;
                if (m_draft && m_draft->id == id) {
                    m_draft.reset();
                    m_identity.reset();
                }
                m_lists.Removed(type, id);
                m_ctx.status = Tr("Deleted");
            });
        },
        [this, session](std::string what) {
            if (session == m_ctx.session) m_ctx.error = std::string(Tr("Not deleted: ")) + what;
        });
}

void EditingFeature::WithdrawConsent(double now) {
    if (!m_draft || !HasRole(m_draft->type, storage::RecordRole::Consent) || m_draft->id.empty()) return;
    const std::string consent_id = m_draft->id;
    const std::string person_field = PersonFieldOf(Type(m_draft->type));
    if (person_field.empty()) return;
    const std::string participant = m_draft->values[person_field].text;
    if (participant.empty()) return;
    Save(*m_draft, now); // what was typed is stored first; the worker runs in order
    const int session = m_ctx.session;
    const std::string today = Today();
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, consent_id, participant, today](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            // One operation: the consent, what the participant gave, the
            // profiles that drew on it, all or nothing.
            const auto w = capture::WithdrawConsent(vault->Records(), participant, today);
            int64_t erased = 0;
            for (const auto& [type, n] : w.erased) erased += n;
            const auto flagged = static_cast<int64_t>(w.flagged.size());
            ui.Post([this, session, consent_id, erased, flagged] {
                if (session != m_ctx.session) return;
                if (m_draft && m_draft->id == consent_id) {
                    m_draft.reset();
                    OpenRecord(consent_id);
                }
                m_lists.LoadLists();
                char words[256];
                std::snprintf(words, sizeof words, Tr("Consent withdrawn: %d record(s) erased, %d flagged for review"),
                              static_cast<int>(erased), static_cast<int>(flagged));
                m_ctx.status = words;
            });
        },
        [this, session](std::string what) {
            if (session == m_ctx.session) m_ctx.error = std::string(Tr("Consent not withdrawn: ")) + what;
        });
}

void EditingFeature::ShowIdentity() {
    if (!m_draft || !HasRole(m_draft->type, storage::RecordRole::Person) || m_draft->id.empty() || m_identity ||
        m_identity_loading)
        return;
    m_identity_loading = true;
    const int session = m_ctx.session;
    const std::string participant = m_draft->id, project = m_draft->project_id;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, session, participant, project](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            const std::optional<Json> found = capture::IdentityOf(vault->Records(), participant);
            ui.Post([this, session, participant, project, found] {
                if (session != m_ctx.session) return;
                m_identity_loading = false;
                if (!m_draft || m_draft->id != participant) return;
                const auto& type = Type(capture::IDENTITY_LINK);
                m_identity = found ? DraftFromRecord(type, *found) : NewDraft(type, project);
                m_identity->key = m_ctx.next_key++;
                if (!found) m_identity->values[PersonFieldOf(type)].text = participant;
            });
        },
        [this, session](std::string what) {
            if (session != m_ctx.session) return;
            m_identity_loading = false;
            m_ctx.error = what;
        });
}

void EditingFeature::Retire(std::optional<RecordDraft>& d) {
    // A form still being saved, or with edits not yet saved, goes on saving
    // after it is closed.
    if (d && (d->saving || (d->dirty && d->revision != d->refused_revision))) {
        m_closing.push_back(std::move(*d));
        if (!m_closing.back().saving) Save(m_closing.back(), m_ctx.now);
    }
    d.reset();
}

void EditingFeature::HideIdentity() { Retire(m_identity); }

void EditingFeature::LoadLinkedNarratives() {
    // What the open record draws on (a profile's narratives), to read beside it.
    if (!m_draft) return;
    const auto& field = Type(m_draft->type).read_beside;
    if (field.empty()) return;
    std::vector<std::string> ids = m_draft->values[field].items;
    const int session = m_ctx.session, key = m_draft->key;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post([this, &ui, session, key, ids](std::optional<storage::Vault>& vault) {
        if (!vault) return;
        std::vector<Json> found;
        for (const auto& id : ids)
            if (auto r = vault->Records().Get(id)) found.push_back(std::move(*r));
        ui.Post([this, session, key, found = std::move(found)]() mutable {
            if (session == m_ctx.session && m_draft && m_draft->key == key) m_linked_narratives = std::move(found);
        });
    });
}
} // namespace escucha::gui
