// Coding: the project's codebook, codes applied to a passage of the text open
// in the form, the excerpts of a code, and the results of listening counted
// by participant group. Every change is one interpret/ operation on the
// vault's worker; the codebook, the coding box, the results screen and the
// excerpts draw from it (panel_coding.cpp).
//
// Thread contract: UI thread only.
#pragma once

#include "app_context.h"
#include "feature_lists.h"

#include "escucha/interpret/analysis.h"
#include "escucha/interpret/coding.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace escucha::gui {

/// One code as the screens show it.
struct CodeRow {
    std::string id;
    std::string name;
    std::string kind;
    std::string colour; ///< #RRGGBB, may be empty
    std::string description;
    std::string parent_id;
    std::string merged_into;
    bool retired = false;
    int depth = 0;
};

/// One coding of the open text.
struct CodingRow {
    std::string id;
    std::string code_id;
    int64_t start = 0, end = 0; ///< code points
    std::string excerpt;
    std::string memo;
    bool needs_review = false;
};

/// The passage chosen in the open text, in code points of its saved text.
struct Selection {
    int64_t start = 0, end = 0;
    std::string words; ///< what it reads
};

/// Where the screen for a code's excerpts came from, to say what is shown.
struct ExcerptsView {
    std::string code_id;
    std::string group; ///< set when opened from a cell of the results matrix
    std::set<std::string> only; ///< those codings only (a matrix cell); empty: all
    std::vector<interpret::Excerpt> excerpts;
    bool loading = false;
};

class CodingFeature {
public:
    CodingFeature(AppContext& ctx, ListsFeature& lists) : m_ctx(ctx), m_lists(lists) {}

    // --- the codebook ---
    [[nodiscard]] const std::vector<CodeRow>& Codebook() const { return m_codes; }
    [[nodiscard]] bool CodebookLoaded() const { return m_codes_loaded; }
    [[nodiscard]] const CodeRow* Code(const std::string& id) const;
    void LoadCodebook();
    /// Creates a code (name required; kind, colour #RRGGBB, parent may be empty).
    void CreateCode(const std::string& name, const std::string& kind, const std::string& colour,
                    const std::string& parent_id, const std::string& description);
    void RenameCode(const std::string& id, const std::string& name);
    void MoveCode(const std::string& id, const std::string& parent_id);
    void MergeCodes(const std::string& from, const std::string& into);
    void RetireCode(const std::string& id);
    /// The code chosen on the codebook screen (its excerpts are shown).
    [[nodiscard]] const std::string& Chosen() const { return m_chosen; }
    void Choose(const std::string& code_id);

    // --- coding the text open in the form ---
    /// The codings of `source_id`, read when it changes (or after a change here).
    [[nodiscard]] const std::vector<CodingRow>& CodingsOf(const std::string& source_id);
    /// The codes ticked for the next passage, and its memo.
    std::set<std::string>& Ticked() { return m_ticked; }
    std::string& Memo() { return m_memo; }
    /// `text_bytes` [from, to) of `text` (the saved text of the open source)
    /// as a passage in code points; nullopt when nothing is selected.
    [[nodiscard]] static std::optional<Selection> SelectionOf(const std::string& text, size_t from, size_t to);
    /// Applies the ticked codes to `passage` of `source_id`, with the memo.
    void Apply(const std::string& source_id, const Selection& passage);
    void RemoveCoding(const std::string& coding_id);

    // --- results and excerpts ---
    [[nodiscard]] const std::string& GroupField() const { return m_group_field; }
    void SetGroupField(const std::string& field);
    [[nodiscard]] const std::optional<interpret::GroupMatrix>& Matrix() const { return m_matrix; }
    [[nodiscard]] bool MatrixLoading() const { return m_matrix_loading; }
    void LoadMatrix();
    /// Opens the excerpts of `code_id` (those of one matrix cell when `cell` is given).
    void OpenExcerpts(const std::string& code_id, const std::string& group = {},
                      const std::vector<std::string>* cell = nullptr);
    [[nodiscard]] const ExcerptsView& Excerpts() const { return m_excerpts; }
    void CloseExcerpts() { m_excerpts = {}; }

    /// Something changed codes or codings: what is shown is read again.
    void Changed();
    void Clear(); ///< at lock, and when the project changes

private:
    /// Runs `work` on the vault's worker; when it succeeds, `done` on the UI thread.
    void Run(std::function<void(storage::RecordStore&)> work, std::function<void()> done = {});

    AppContext& m_ctx;
    ListsFeature& m_lists;
    std::vector<CodeRow> m_codes;
    bool m_codes_loaded = false, m_codes_loading = false;
    std::string m_chosen;
    std::string m_codings_source;
    std::vector<CodingRow> m_codings;
    bool m_codings_loading = false;
    int m_generation = 0; ///< raised by every change: older reads are dropped
    std::set<std::string> m_ticked;
    std::string m_memo;
    std::string m_group_field = "gender";
    std::optional<interpret::GroupMatrix> m_matrix;
    bool m_matrix_loading = false;
    ExcerptsView m_excerpts;
};

} // namespace escucha::gui
