// Pieces every panel draws with: a record's form built from its type, pickers
// for references, and the frame's layout facts.
//
// Thread contract: UI thread only, between ImGui::NewFrame() and Render().
#pragma once

#include "app_state.h"

#include <imgui.h>

namespace escucha::gui {

/// What a panel needs to know about this frame.
struct Frame {
    double now = 0;
    bool narrow = false; ///< phone-sized: one column, large touch targets
    float scale = 1;     ///< content scale (DPI) times the chosen UI scale
};

inline const ImVec4 ERROR_COLOUR{0.75f, 0.1f, 0.1f, 1};
inline const ImVec4 OK_COLOUR{0.1f, 0.5f, 0.2f, 1};

/// A full-width button on narrow screens, a normal one otherwise.
bool WideButton(const char* label, const Frame& f);
/// A button that asks `question` in a modal first; true when `confirm` was chosen.
bool ConfirmedButton(const char* label, const char* popup_id, const char* question, const char* confirm,
                     const Frame& f);
/// Text in the error colour, wrapped.
void ErrorText(const std::string& text);

/// Draws every field of `d` (except those in `skip`); edits go through AppState.
void DrawForm(AppState& s, RecordDraft& d, const Frame& f, std::initializer_list<const char*> skip = {});

} // namespace escucha::gui
