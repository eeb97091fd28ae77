// Asks the phone's on-screen keyboard to come up when a text field takes the
// keyboard and to go when none has it. GLFW 3.3 offers no text-input
// protocol, so the app cannot make a Wayland compositor show the keyboard by
// itself; Phosh's keyboard (squeekboard, and phosh-osk-stub) also answers
// `SetVisible(b)` of interface sm.puri.OSK0 at /sm/puri/OSK0 on the session
// bus, which this sends. See docs/decisions/0021-phone-window.md.
//
// Nothing waits on the bus: each call is sent without asking for a reply, so
// a desktop without such a keyboard (or without a session bus) costs nothing
// and never holds up a frame. The bus is only the session's own: this never
// starts one (no autolaunch) nor a service (no auto-start).
//
// Thread contract: the UI thread only.
#pragma once

#include <memory>

struct DBusConnection;

namespace escucha::gui {

class OnScreenKeyboard {
public:
    /// `log`: say on stderr when it asks (for the end-to-end test).
    explicit OnScreenKeyboard(bool log);
    ~OnScreenKeyboard();
    OnScreenKeyboard(const OnScreenKeyboard&) = delete;
    OnScreenKeyboard& operator=(const OnScreenKeyboard&) = delete;

    /// Once a frame: whether a text field has the keyboard. Asks only when that changes.
    void Update(bool text_field_active);

private:
    void SetVisible(bool visible);

    struct Unref {
        void operator()(DBusConnection* bus) const;
    };
    std::unique_ptr<DBusConnection, Unref> m_bus;
    bool m_log;
    bool m_tried = false;  ///< the bus is looked for once, at the first field
    bool m_visible = false; ///< what was last asked
};

} // namespace escucha::gui
