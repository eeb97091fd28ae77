// Word wrap for long text while it is edited.
//
// Dear ImGui 1.86's multiline editor does not wrap: a paragraph is one line
// that scrolls sideways, unusable for writing a narrative on a phone. So the
// editor is given a copy of the text with soft breaks inserted where lines
// should end. A soft break is the pair "\r\n": ImGui draws '\r' as nothing and
// breaks the line at '\n'. Saved text never holds '\r' (long text is
// normalised to "\n"), so removing every soft break gives the text back.
// After each edit the change is worked out from the two displays, applied to
// the real text, and the text is wrapped again.
//
// Thread contract: plain functions; no state.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace escucha::gui {

/// Width of a run of text on screen (in pixels, or any unit `width` uses).
using MeasureText = std::function<float(std::string_view)>;

/// `text` with soft breaks so that no line is wider than `width` (a word
/// wider than that is cut at a character boundary).
[[nodiscard]] std::string WrapText(std::string_view text, float width, const MeasureText& measure);
/// The text without its soft breaks (a '\r' left alone by an edit goes too).
[[nodiscard]] std::string UnwrapText(std::string_view display);
/// Where display position `index` falls in the unwrapped text.
[[nodiscard]] size_t ToTextPosition(std::string_view display, size_t index);
/// Where text position `position` falls in the display (after a soft break
/// that starts there, so typing at a line's end goes on the next line).
[[nodiscard]] size_t ToDisplayPosition(std::string_view display, size_t position);

struct WrappedEdit {
    std::string text; ///< the real text after the edit
    size_t cursor;    ///< the cursor's position in it
};

/// What an edit of the display did to the real text. `before` and `after` are
/// the display around one edit; `cursor` the cursor's display position after
/// it; `backspace` whether Backspace made it (an edit that only removed a soft
/// break then removes the character before it, as Delete removes the one after).
[[nodiscard]] WrappedEdit ApplyWrappedEdit(std::string_view before, std::string_view after, size_t cursor,
                                           bool backspace);

/// Undo and redo for a wrapped editor, kept on the real text: Dear ImGui's
/// own undo records display positions, which every re-wrap shifts. Letters
/// typed (or removed) one after another with less than a second between
/// them are undone together; a paste, a cut or a pause starts a new step.
class UndoHistory {
public:
    /// Before an edit: the text and cursor (text position) as they were, and
    /// the text after it.
    void Record(const std::string& before, size_t cursor, const std::string& after, double now);
    /// Puts back the text before the last step (`text` and `cursor` are the
    /// present ones, replaced); false when there is nothing to undo.
    bool Undo(std::string& text, size_t& cursor);
    /// Does again what the last Undo took back; false when there is nothing.
    bool Redo(std::string& text, size_t& cursor);
    [[nodiscard]] bool CanUndo() const noexcept { return !m_undo.empty(); }

    static constexpr double MERGE_WITHIN_S = 1.0;
    static constexpr size_t MAX_BYTES = 8 * 1024 * 1024; ///< older steps are forgotten past this

private:
    struct Step {
        std::string text;
        size_t cursor = 0;
    };
    void Trim();
    std::vector<Step> m_undo, m_redo;
    double m_last_edit = -1e300;
    bool m_last_was_typing = false;
};

/// Where the cursor of a wrapped editor should rest after it moved from
/// `previous` to `cursor` (display positions): never between the two halves
/// of a soft break, and Right or Left cross a soft break in one press, as
/// they cross one character. `right`/`left`: that arrow moved it.
[[nodiscard]] size_t SettleCursor(std::string_view display, size_t previous, size_t cursor, bool right, bool left);

} // namespace escucha::gui
