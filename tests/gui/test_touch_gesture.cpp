// Touch: a tap stays a tap, a drag scrolls with the finger, a flick glides on
// and slows to a stop, a long press comes once, and a control that drags by
// itself never scrolls.
#include "touch_gesture.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace escucha::gui;

namespace {

/// Moves the finger from `from` to `to` (y only) in `steps` moves `dt` apart,
/// starting at `t`; returns the scroll asked for in all, and leaves `t` at the last move.
float Drag(TouchGesture& g, float from, float to, int steps, double& t, double dt) {
    float scrolled = 0;
    for (int i = 1; i <= steps; ++i) {
        t += dt;
        scrolled += g.Move({100, from + (to - from) * static_cast<float>(i) / static_cast<float>(steps)}, t).y;
    }
    return scrolled;
}

/// Runs a glide at 60 frames a second from `t` until it stops; the distance, and how many frames.
float GlideOut(TouchGesture& g, double& t, int& frames) {
    float travelled = 0;
    frames = 0;
    while (g.Gliding() && frames < 100000) {
        t += 1.0 / 60;
        travelled += g.Glide(t).y;
        ++frames;
    }
    return travelled;
}

} // namespace

TEST_CASE("a tap does not scroll and a small wobble stays a tap", "[gui][touch]") {
    TouchGesture g;
    g.Press({100, 300}, 0.0, true);
    CHECK(g.Move({104, 306}, 0.05).y == 0);
    CHECK_FALSE(g.Dragging());
    g.Release(0.1);
    CHECK_FALSE(g.Gliding());
    CHECK_FALSE(g.Held());
}

TEST_CASE("a drag scrolls as far as the finger went after the slop, content following the finger",
          "[gui][touch]") {
    TouchGesture g;
    double t = 0;
    g.Press({100, 500}, t, true);
    t += 0.02;
    CHECK(g.Move({100, 480}, t).y == 0); // the drag starts here: nothing jumps
    CHECK(g.Dragging());
    const float scrolled = Drag(g, 480, 180, 10, t, 0.02);
    // The finger went up 300 px: the content scrolls 300 px further down the list.
    CHECK(scrolled == Approx(300));
    SECTION("a finger that stops before it lifts throws nothing") {
        g.Release(t + 0.5);
        CHECK_FALSE(g.Gliding());
    }
    SECTION("a finger that lifts while moving glides on, slower and slower, and stops") {
        g.Release(t + 0.01);
        REQUIRE(g.Gliding());
        const float speed0 = std::fabs(g.Velocity().y);
        CHECK(speed0 == Approx(1500).epsilon(0.05)); // 30 px every 20 ms
        t += 0.01;
        t += 1.0 / 60;
        const float first = g.Glide(t).y;
        t += 1.0 / 60;
        const float second = g.Glide(t).y;
        CHECK(first > 0);            // on in the direction of the flick
        CHECK(second < first);       // and slowing down
        int frames = 0;
        const float rest = GlideOut(g, t, frames);
        CHECK_FALSE(g.Gliding());
        // The whole glide: speed / friction, less the bit under the stop speed.
        CHECK(first + second + rest == Approx(speed0 / 4.0f).epsilon(0.05));
        CHECK(frames < 120); // it stops by itself within two seconds
    }
    SECTION("a flick down glides the other way") {
        TouchGesture h;
        double u = 0;
        h.Press({100, 100}, u, true);
        Drag(h, 100, 400, 10, u, 0.02);
        h.Release(u);
        REQUIRE(h.Gliding());
        u += 1.0 / 60;
        CHECK(h.Glide(u).y < 0);
    }
    SECTION("a stop (the end of the list, the wheel) ends the glide") {
        g.Release(t);
        REQUIRE(g.Gliding());
        g.Stop();
        CHECK(g.Glide(t + 0.1).y == 0);
    }
    SECTION("a new press catches the glide") {
        g.Release(t);
        REQUIRE(g.Gliding());
        g.Press({100, 300}, t + 0.05, true);
        CHECK_FALSE(g.Gliding());
    }
}

TEST_CASE("a control that drags by itself never scrolls", "[gui][touch]") {
    TouchGesture g;
    double t = 0;
    g.Press({100, 500}, t, false);
    CHECK(Drag(g, 500, 100, 10, t, 0.02) == 0);
    CHECK_FALSE(g.Dragging());
    g.Release(t);
    CHECK_FALSE(g.Gliding());
}

TEST_CASE("a long press comes once, when the finger was held still long enough", "[gui][touch]") {
    TouchGesture g;
    g.Press({100, 300}, 10.0, true);
    CHECK(g.WakeAt() == Approx(10.5));
    CHECK_FALSE(g.LongPressDue(10.2));
    g.Move({103, 302}, 10.3); // a wobble within the slop
    CHECK(g.LongPressDue(10.5));
    CHECK_FALSE(g.LongPressDue(10.9));
    CHECK(g.WakeAt() < 0);
    SECTION("a finger that moves after a long press does not scroll") {
        double t = 11;
        CHECK(Drag(g, 300, 100, 5, t, 0.02) == 0);
    }
    SECTION("a drag is never a long press") {
        TouchGesture h;
        double t = 0;
        h.Press({100, 300}, t, true);
        Drag(h, 300, 200, 5, t, 0.02);
        CHECK_FALSE(h.LongPressDue(5.0));
        CHECK(h.WakeAt() < 0);
    }
    SECTION("a released finger is no long press") {
        TouchGesture h;
        h.Press({100, 300}, 0.0, true);
        h.Release(0.1);
        CHECK_FALSE(h.LongPressDue(1.0));
    }
}

TEST_CASE("a flick never throws further than the fastest speed allowed", "[gui][touch]") {
    TouchGesture g;
    double t = 0;
    g.Press({100, 700}, t, true);
    Drag(g, 700, 0, 2, t, 0.001); // 700 px in 2 ms
    g.Release(t);
    REQUIRE(g.Gliding());
    CHECK(std::fabs(g.Velocity().y) <= 8000);
}
