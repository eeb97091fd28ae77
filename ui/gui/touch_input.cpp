#include "touch_input.h"

#include <imgui.h>
#include <imgui_internal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace escucha::gui {

namespace {

/// Whether the item that took this press drags by itself: a scrollbar, a
/// slider, or a text field that already had the keyboard (a drag there
/// selects text, as with a mouse).
bool PressDragsItself(const ImGuiContext& g) {
    if (g.ActiveId == 0) return false;
    if (g.ActiveIdWindow)
        for (ImGuiAxis axis : {ImGuiAxis_X, ImGuiAxis_Y})
            if (g.ActiveId == ImGui::GetWindowScrollbarID(g.ActiveIdWindow, axis)) return true;
    const bool text = g.ActiveId == g.InputTextState.ID;
    if (text) return g.ActiveId == g.ActiveIdPreviousFrame;
    // Sliders and drags read the arrow keys while held; buttons, rows and
    // the empty part of a window do not.
    return g.ActiveIdUsingNavDirMask != 0;
}

} // namespace

void TouchInput::BeforeFrame(double now) {
    ImGuiIO& io = ImGui::GetIO();
    if (m_right_click > 0) {
        // The synthetic press was seen last frame: now it lifts.
        io.MouseDown[ImGuiMouseButton_Right] = false;
        m_right_click = 0;
    }
    if (m_gesture.LongPressDue(now)) {
        io.MouseDown[ImGuiMouseButton_Right] = true;
        m_right_click = 1;
        // What the finger rests on is not also pressed when it lifts.
        ImGui::ClearActiveID();
        std::fprintf(stderr, "escucha: long press at %.0f,%.0f\n", io.MousePos.x, io.MousePos.y);
    }
}

void TouchInput::AfterFrame(double now, bool height_shrank) {
    ImGuiContext& g = *ImGui::GetCurrentContext();
    const ImGuiIO& io = g.IO;
    if (io.MouseWheel != 0 || io.MouseWheelH != 0) m_gesture.Stop();
    const Vec2 at{io.MousePos.x, io.MousePos.y};
    if (io.MouseClicked[ImGuiMouseButton_Left]) {
        if (m_gesture.Gliding() && m_glided > 0)
            std::fprintf(stderr, "escucha: touch glide scrolled %.0f px\n", m_glided);
        m_target = g.HoveredWindow ? g.HoveredWindow->ID : 0;
        m_dragged = m_glided = 0;
        m_gesture.Press(at, now, m_target != 0 && !PressDragsItself(g));
    } else if (m_gesture.Held() && io.MouseDown[ImGuiMouseButton_Left]) {
        const bool was_dragging = m_gesture.Dragging();
        const Vec2 delta = m_gesture.Move(at, now);
        if (m_gesture.Dragging()) {
            // A drag is not a click on what it started on, nor a selection in
            // a field it started on: that item lets go.
            if (!was_dragging && g.ActiveId != 0) ImGui::ClearActiveID();
            Scroll(delta);
        }
    }
    if (m_gesture.Held() && !io.MouseDown[ImGuiMouseButton_Left]) {
        const bool dragged = m_gesture.Dragging();
        m_gesture.Release(now);
        // A drag that moved nothing (a list shorter than the screen) has nothing to glide.
        if (m_dragged == 0) m_gesture.Stop();
        if (dragged)
            std::fprintf(stderr, "escucha: touch drag scrolled %.0f px%s\n", m_dragged,
                         m_gesture.Gliding() ? ", gliding on" : "");
    } else if (m_gesture.Gliding()) {
        // From the frame after the release on: the glide goes until nothing more can move.
        const Vec2 step = m_gesture.Glide(now);
        if (!Scroll(step) && std::hypot(step.x, step.y) >= 0.5f) m_gesture.Stop();
        if (!m_gesture.Gliding()) {
            std::fprintf(stderr, "escucha: touch glide scrolled %.0f px\n", m_glided);
            m_glided = 0;
        }
    }
    if (height_shrank) m_keep_in_view = 3; // ImGui settles the new layout over a few frames
    if (m_keep_in_view > 0) {
        --m_keep_in_view;
        KeepTypingInView();
    }
}

bool TouchInput::Animating() const { return m_gesture.Gliding() || m_right_click > 0 || m_keep_in_view > 0; }

bool TouchInput::Scroll(Vec2 delta) {
    ImGuiWindow* window = m_target ? ImGui::FindWindowByID(m_target) : nullptr;
    if (!window) return false;
    float moved = 0;
    const auto along = [&](float rest, int axis) {
        // The innermost window takes what it can; the rest goes to the window around it.
        for (ImGuiWindow* w = window; w && rest != 0; w = w->ParentWindow) {
            const float scroll = axis ? w->Scroll.y : w->Scroll.x;
            const float max = axis ? w->ScrollMax.y : w->ScrollMax.x;
            const float take = rest > 0 ? std::min(rest, max - scroll) : std::max(rest, -scroll);
            if (take != 0) {
                if (axis) ImGui::SetScrollY(w, scroll + take);
                else ImGui::SetScrollX(w, scroll + take);
                rest -= take;
                moved += std::fabs(take);
            }
            // Popups and the main window end the chain.
            if (!(w->Flags & ImGuiWindowFlags_ChildWindow) || (w->Flags & ImGuiWindowFlags_Popup)) break;
        }
    };
    along(delta.x, 0);
    along(delta.y, 1);
    if (m_gesture.Dragging()) m_dragged += moved;
    else m_glided += moved;
    return moved > 0;
}

void TouchInput::KeepTypingInView() {
    ImGuiContext& g = *ImGui::GetCurrentContext();
    // A text field that has the keyboard, and its place in its window this frame.
    if (g.ActiveId == 0 || g.ActiveId != g.InputTextState.ID || g.NavId != g.ActiveId || !g.NavWindow) return;
    ImGuiWindow* window = g.NavWindow;
    ImRect field = ImGui::WindowRectRelToAbs(window, window->NavRectRel[g.NavLayer]);
    const float margin = ImGui::GetStyle().ItemSpacing.y;
    for (ImGuiWindow* w = window; w; w = w->ParentWindow) {
        const ImRect seen = w->InnerRect;
        float by = 0;
        // A field taller than what is seen shows its top, where its first lines are.
        if (field.GetHeight() + 2 * margin > seen.GetHeight()) by = field.Min.y - margin - seen.Min.y;
        else if (field.Max.y + margin > seen.Max.y) by = field.Max.y + margin - seen.Max.y;
        else if (field.Min.y - margin < seen.Min.y) by = field.Min.y - margin - seen.Min.y;
        by = std::clamp(by, -w->Scroll.y, w->ScrollMax.y - w->Scroll.y);
        if (std::fabs(by) >= 0.5f) {
            ImGui::SetScrollY(w, w->Scroll.y + by);
            field.Min.y -= by;
            field.Max.y -= by;
        }
        if (!(w->Flags & ImGuiWindowFlags_ChildWindow) || (w->Flags & ImGuiWindowFlags_Popup)) break;
    }
    if (m_keep_in_view == 0)
        std::fprintf(stderr, "escucha: field being typed in view at y %.0f-%.0f of %.0f\n", field.Min.y, field.Max.y,
                     ImGui::GetMainViewport()->WorkSize.y);
}

} // namespace escucha::gui
