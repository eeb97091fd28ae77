#include "touch_gesture.h"

#include <algorithm>
#include <cmath>

namespace escucha::gui {

void TouchGesture::Press(Vec2 at, double t, bool may_scroll) {
    m_held = true;
    m_may_scroll = may_scroll;
    m_dragging = m_gliding = m_long_pressed = false;
    m_start = m_last = at;
    m_velocity = {};
    m_pressed_at = t;
    m_sample_count = m_sample_next = 0;
    m_samples[m_sample_next++] = {at, t};
    m_sample_count = 1;
}

Vec2 TouchGesture::Move(Vec2 at, double t) {
    if (!m_held) return {};
    if (!m_dragging) {
        const float dx = at.x - m_start.x, dy = at.y - m_start.y;
        if (dx * dx + dy * dy <= m_tuning.slop * m_tuning.slop) return {};
        if (!m_may_scroll || m_long_pressed) {
            // Past the slop a press is no longer a long press, whatever it does.
            m_pressed_at = -1;
            return {};
        }
        // The drag starts here: the slop is not thrown, so content never jumps.
        m_dragging = true;
        m_last = at;
    }
    const Vec2 delta{m_last.x - at.x, m_last.y - at.y};
    m_last = at;
    m_samples[m_sample_next] = {at, t};
    m_sample_next = (m_sample_next + 1) % SAMPLES;
    m_sample_count = std::min(m_sample_count + 1, SAMPLES);
    return delta;
}

void TouchGesture::Release(double t) {
    if (!m_held) return;
    m_held = false;
    if (!m_dragging) return;
    m_dragging = false;
    // The speed of the last moves; a finger that stopped before it left throws nothing.
    const Sample& newest = m_samples[(m_sample_next + SAMPLES - 1) % SAMPLES];
    const Sample* oldest = &newest;
    for (int i = 1; i < m_sample_count; ++i) {
        const Sample& s = m_samples[(m_sample_next + SAMPLES - 1 - i) % SAMPLES];
        if (newest.t - s.t > m_tuning.velocity_window) break;
        oldest = &s;
    }
    const double span = newest.t - oldest->t;
    if (span <= 0 || t - newest.t > m_tuning.velocity_window) return;
    const auto clamp = [&](float v) { return std::clamp(v, -m_tuning.max_speed, m_tuning.max_speed); };
    m_velocity = {clamp(static_cast<float>((oldest->at.x - newest.at.x) / span)),
                  clamp(static_cast<float>((oldest->at.y - newest.at.y) / span))};
    if (std::hypot(m_velocity.x, m_velocity.y) < m_tuning.stop_speed) return;
    m_gliding = true;
    m_glide_t = t;
}

Vec2 TouchGesture::Glide(double t) {
    if (!m_gliding) return {};
    const double dt = std::max(0.0, t - m_glide_t);
    m_glide_t = t;
    // Speed falls exponentially; the distance is its integral over dt.
    const float k = m_tuning.friction;
    const float decay = static_cast<float>(std::exp(-k * dt));
    const float travel = (1.0f - decay) / k;
    const Vec2 step{m_velocity.x * travel, m_velocity.y * travel};
    m_velocity = {m_velocity.x * decay, m_velocity.y * decay};
    if (std::hypot(m_velocity.x, m_velocity.y) < m_tuning.stop_speed) {
        m_gliding = false;
        m_velocity = {};
    }
    return step;
}

bool TouchGesture::LongPressDue(double t) {
    if (!m_held || m_dragging || m_long_pressed || m_pressed_at < 0) return false;
    if (t - m_pressed_at < m_tuning.long_press) return false;
    m_long_pressed = true;
    return true;
}

double TouchGesture::WakeAt() const {
    if (!m_held || m_dragging || m_long_pressed || m_pressed_at < 0) return -1;
    return m_pressed_at + m_tuning.long_press;
}

} // namespace escucha::gui
