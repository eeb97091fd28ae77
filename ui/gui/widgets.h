// Pieces every panel draws with: a record's form built from its type, pickers
// for references, and the frame's layout facts.
//
// Thread contract: UI thread only, between ImGui::NewFrame() and Render().
#pragma once

#include "app_state.h"

#include <imgui.h>

#include <string>
#include <vector>

namespace escucha::gui {

/// What a panel needs to know about this frame.
struct Frame {
    double now = 0;
    bool narrow = false; ///< phone-sized: one column, large touch targets
    float scale = 1;     ///< content scale (DPI) times the chosen UI scale
    const char* graphics = ""; ///< the OpenGL context drawn with, for the settings
};

inline const ImVec4 ERROR_COLOUR{0.75f, 0.1f, 0.1f, 1};
inline const ImVec4 OK_COLOUR{0.1f, 0.5f, 0.2f, 1};
/// Buttons that erase something: red, unlike every harmless button.
inline const ImVec4 DANGER_COLOUR{0.72f, 0.11f, 0.11f, 1};
inline const ImVec4 DANGER_HOVERED_COLOUR{0.85f, 0.18f, 0.18f, 1};
inline const ImVec4 DANGER_ACTIVE_COLOUR{0.55f, 0.06f, 0.06f, 1};
/// Words a search found, marked in the opened record.
inline const ImVec4 FOUND_COLOUR{1.0f, 0.8f, 0.1f, 0.45f};

/// The height of a control a finger can hit on a touch screen (about 44 px at scale 1).
inline float TouchHeight(const Frame& f) { return 44.0f * f.scale; }

/// A full-width button on narrow screens, a normal one otherwise.
bool WideButton(const char* label, const Frame& f);
/// A small button beside a value ("Remove", "Clear"): still a finger's height on a phone.
bool SideButton(const char* label, const Frame& f);
/// Draws the next buttons in the danger colour until PopDanger().
void PushDanger();
void PopDanger();
/// A button that asks `question` in a modal first; true when `confirm` was chosen.
/// `danger`: it erases something, and both buttons that lead to it are red.
bool ConfirmedButton(const char* label, const char* popup_id, const char* question, const char* confirm, const Frame& f,
                     bool danger = false);
/// What became of a form's last edits: "Saved", "Saving…".
[[nodiscard]] const char* SaveState(const RecordDraft& d);
/// `text` cut to fit `width` pixels, with "…" where it was cut.
[[nodiscard]] std::string Ellipsize(const std::string& text, float width);
/// Text in the error colour, wrapped.
void ErrorText(const std::string& text);
/// For the item just drawn, showing `text` cut to fit (`cut`): the whole of
/// it under the mouse, and in a small window on a right click or a long
/// press, since a finger has no hover.
void FullTextOnHold(const std::string& text, bool cut);

/// A multiline editor whose lines wrap at its width (`name` keeps its state with `d`'s form).
/// True on the frame `text` changed.
bool WrappedText(EditingFeature& s, const RecordDraft& d, const std::string& name, std::string& text, float height);

/// Draws every field of `d` (except those in `skip`); edits go through the editing feature.
void DrawForm(EditingFeature& s, RecordDraft& d, const Frame& f, const std::vector<std::string>& skip = {});

} // namespace escucha::gui
