// Touch on top of Dear ImGui 1.86, once for every panel: a drag on a list,
// a form or a long text that is not being typed in scrolls the window under
// the finger (and the window around it when that one is at its end), a flick
// glides on and slows down, a long press is a right click, and the field
// being typed in stays in view when the window gets shorter (an on-screen
// keyboard coming up, the screen rotating). The gesture itself is worked out
// in touch_gesture.h; see docs/decisions/0021-phone-window.md for why a drag in a
// text field that has the keyboard selects text instead.
//
// Thread contract: UI thread only; BeforeFrame between the platform
// backend's NewFrame and ImGui::NewFrame, AfterFrame before ImGui::Render.
#pragma once

#include "touch_gesture.h"

namespace escucha::gui {

class TouchInput {
public:
    /// A long press held long enough becomes a right click on this frame.
    void BeforeFrame(double now);
    /// Reads this frame's press, drag or release and scrolls. `height_shrank`:
    /// the window became shorter (keyboard, rotation).
    void AfterFrame(double now, bool height_shrank);
    /// Frames must follow without input (a glide, a synthetic click to finish).
    [[nodiscard]] bool Animating() const;
    /// When the app must wake without input (a long press coming due), or a negative number.
    [[nodiscard]] double WakeAt() const { return m_gesture.WakeAt(); }

private:
    /// Scrolls the pressed window (and those around it) by `delta`; false when nothing could move.
    bool Scroll(Vec2 delta);
    void KeepTypingInView();

    TouchGesture m_gesture;
    unsigned m_target = 0;   ///< the ImGui window under the press
    int m_right_click = 0;   ///< frames left of a synthetic right click (press, then release)
    int m_keep_in_view = 0;  ///< frames left in which the field being typed is kept in view
    float m_dragged = 0, m_glided = 0;
};

} // namespace escucha::gui
