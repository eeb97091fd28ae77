// What a finger does on the screen, worked out from its presses, moves and
// releases: a tap, a drag that scrolls, the glide after a flick that slows
// down by itself, a long press. GLFW 3.3 and X11 deliver a finger as the
// mouse's first button, so this reads the mouse; a real mouse gets the same
// (drag to scroll on a list is harmless on a desktop, and the wheel still
// works). No drawing here: the window app feeds it positions and times
// (touch_input.cpp) and applies the scroll it answers.
//
// Thread contract: one owner (the UI thread).
#pragma once

namespace escucha::gui {

struct Vec2 {
    float x = 0, y = 0;
};

class TouchGesture {
public:
    struct Tuning {
        float slop = 10;           ///< px a finger may wobble and still tap or long-press
        double long_press = 0.5;   ///< s held still before it counts as a long press
        float friction = 4.0f;     ///< 1/s: the glide's speed falls by e^-friction each second
        float stop_speed = 30;     ///< px/s under which a glide stops
        float max_speed = 8000;    ///< px/s: a flick never throws further than this
        double velocity_window = 0.1; ///< s of the last moves that set a flick's speed
    };

    TouchGesture() = default;
    explicit TouchGesture(Tuning tuning) : m_tuning(tuning) {}

    /// A finger (the first button) comes down. `may_scroll`: false on a
    /// control that drags by itself (a slider, a scrollbar, text being
    /// selected): then this press never scrolls. A glide stops.
    void Press(Vec2 at, double t, bool may_scroll);
    /// The finger moves. Returns how far to scroll the content now (positive
    /// y: the content moves up, as the finger does), zero until the finger
    /// has gone past the slop.
    Vec2 Move(Vec2 at, double t);
    /// The finger leaves. A drag that was still moving starts a glide.
    void Release(double t);
    /// During a glide: how far to scroll now; zero once it has stopped.
    Vec2 Glide(double t);
    /// True once per press, when the finger has been held still long enough.
    [[nodiscard]] bool LongPressDue(double t);
    /// The scrolled content can go no further: the glide stops.
    void Stop() { m_gliding = false; }

    [[nodiscard]] bool Held() const { return m_held; }
    [[nodiscard]] bool Dragging() const { return m_dragging; }
    [[nodiscard]] bool Gliding() const { return m_gliding; }
    /// The glide's speed now, px/s.
    [[nodiscard]] Vec2 Velocity() const { return m_velocity; }
    /// When the app must wake even without input (a long press coming due), or a negative number.
    [[nodiscard]] double WakeAt() const;

private:
    static constexpr int SAMPLES = 16;
    struct Sample {
        Vec2 at;
        double t = 0;
    };

    Tuning m_tuning{};
    bool m_held = false, m_may_scroll = false, m_dragging = false, m_gliding = false, m_long_pressed = false;
    Vec2 m_start, m_last, m_velocity;
    double m_pressed_at = 0, m_glide_t = 0;
    Sample m_samples[SAMPLES]{};
    int m_sample_count = 0, m_sample_next = 0;
};

} // namespace escucha::gui
