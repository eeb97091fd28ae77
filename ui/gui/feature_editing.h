// Editing and autosave: the record open in the form, a participant's identity
// shown on demand, forms closed while their edits are still being saved, the
// words a search found in the opened record, and the editors' per-field
// caches. A form saves itself a second after the last edit, when a field
// loses focus, on close and before locking; a save that fails for a reason
// other than the record itself (a busy disk) is tried again. The record
// editor, the profile's narratives and the form widgets draw from it.
//
// Thread contract: UI thread only.
#pragma once

#include "app_context.h"
#include "feature_lists.h"
#include "record_form.h"
#include "wrap_text.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace escucha::gui {

class EditingFeature {
public:
    EditingFeature(AppContext& ctx, ListsFeature& lists) : m_ctx(ctx), m_lists(lists) {}

    /// Long-text fields as the editor shows them, wrapped (see wrap_text.h), by draft key and field.
    struct WrappedField {
        std::string display; ///< the text with soft breaks
        std::string text;    ///< the text it was made from
        float width = 0;
        bool active = false; ///< the editor had the keyboard last frame
        size_t cursor = 0;   ///< the cursor's display position last frame
        /// The selection, in the real text (bytes), as it was when the editor last had the
        /// keyboard: kept when a button outside it is pressed (code the passage).
        size_t sel_from = 0, sel_to = 0;
        UndoHistory history; ///< undo and redo for this field, on the real text
        /// Words a search found in it (the record was opened from search), and where they are drawn.
        std::string found_text;                       ///< the text they were looked for in
        std::vector<std::pair<size_t, size_t>> found; ///< in the real text
        struct Mark {
            int line;
            float x0, x1;
        };
        std::string marks_display; ///< the display the marks were measured on
        std::vector<Mark> marks;
        bool found_shown = false; ///< drawn once (the editor was scrolled to the first)
    };

    // --- what is drawn (the form edits the drafts in place, then calls Edited) ---
    [[nodiscard]] RecordDraft* Draft() { return m_draft ? &*m_draft : nullptr; } ///< the record open in the form
    [[nodiscard]] const RecordDraft* Draft() const { return m_draft ? &*m_draft : nullptr; }
    [[nodiscard]] RecordDraft* Identity() { return m_identity ? &*m_identity : nullptr; } ///< shown on demand
    [[nodiscard]] bool IdentityLoading() const { return m_identity_loading; }
    /// Closed forms whose edits are still being saved.
    [[nodiscard]] const std::vector<RecordDraft>& Closing() const { return m_closing; }
    /// Whether the open record draws on others that are read beside it
    /// (the type's read_beside: a profile's narratives).
    [[nodiscard]] bool ReadsBeside() const { return m_draft && !Type(m_draft->type).read_beside.empty(); }
    /// The records it draws on (a profile's narratives), to read beside it.
    [[nodiscard]] const std::vector<storage::Json>& LinkedNarratives() const { return m_linked_narratives; }
    /// A record opened from search: its id and the words to mark in it.
    [[nodiscard]] const std::string& FoundIn() const { return m_found_in; }
    [[nodiscard]] const std::vector<std::string>& FoundTerms() const { return m_found_terms; }
    /// The form is to scroll to the first found word once; FoundScrolled() when it did.
    [[nodiscard]] bool FoundScrollPending() const { return m_found_scroll_pending; }
    void FoundScrolled() { m_found_scroll_pending = false; }
    [[nodiscard]] WrappedField& Wrapped(const std::string& key) { return m_wrapped[key]; }
    std::string& PickerFilter() { return m_picker_filter; } ///< the text narrowing the open record picker
    /// Give the form's first text field the keyboard now (true once after it was asked for).
    [[nodiscard]] bool TakeFocus();
    [[nodiscard]] const ListsFeature& Lists() const { return m_lists; }
    [[nodiscard]] const storage::RecordType& Type(const std::string& name) const { return TypeNamed(name); }

    /// Set by the owner: a record was stored (its id).
    std::function<void(const std::string&)> on_saved;

    // --- commands ---
    void NewRecord(const std::string& type);
    void OpenRecord(const std::string& id);
    /// Opens a record a search found, marking `terms` in it and scrolling to the first.
    void OpenFound(const std::string& id, std::vector<std::string> terms);
    void CloseRecord(); ///< saves first
    /// Reads the open record again (an operation changed it: a round's voters), unless it has unsaved edits.
    void ReadAgain();
    void Edited(RecordDraft& d, const std::string& field, double now);
    void FocusLeft(RecordDraft& d); ///< a field lost focus: save now
    void DeleteRecord();
    void WithdrawConsent(double now);
    void ShowIdentity();
    void HideIdentity();

    /// Saves forms whose last edit is old enough; lets go of closed forms that are saved.
    void Autosave(double now);
    /// Saves every form with unsaved edits now; false when there was none.
    bool SaveUnsaved();
    /// When Autosave next has something to do (app clock), or a negative number when nothing waits.
    [[nodiscard]] double NextAutosave();
    void Clear(); ///< at lock

    static constexpr double AUTOSAVE_AFTER_S = 1.0;
    static constexpr double RETRY_AFTER_S = 5.0;

private:
    void Save(RecordDraft& d, double now);
    void TitleFromText(const storage::RecordType& type, RecordDraft& d);
    void Retire(std::optional<RecordDraft>& d); ///< closes a form; what it holds goes on saving
    RecordDraft* DraftByKey(int key);
    std::vector<RecordDraft*> OpenDrafts(); ///< draft, identity and those closing
    void LoadLinkedNarratives();

    AppContext& m_ctx;
    ListsFeature& m_lists;
    std::optional<RecordDraft> m_draft;
    std::optional<RecordDraft> m_identity;
    std::vector<RecordDraft> m_closing;
    bool m_identity_loading = false;
    std::vector<storage::Json> m_linked_narratives;
    std::string m_found_in;
    std::vector<std::string> m_found_terms;
    bool m_found_scroll_pending = false;
    std::string m_picker_filter;
    std::map<std::string, WrappedField> m_wrapped;
    int m_open_request = 0; ///< raised by every open, new or close: a slower open is dropped
};

} // namespace escucha::gui
