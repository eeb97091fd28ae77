#include "on_screen_keyboard.h"

#include <dbus/dbus.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <sys/stat.h>

namespace escucha::gui {

namespace {

/// The session bus's address, or empty: the environment's, else the
/// per-user socket systemd and elogind make. Never an autolaunched bus.
std::string SessionBusAddress() {
    if (const char* address = std::getenv("DBUS_SESSION_BUS_ADDRESS"); address && *address)
        return std::string_view(address).starts_with("autolaunch:") ? std::string() : std::string(address);
    if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
        const std::string path = std::string(runtime) + "/bus";
        struct stat st {};
        if (stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return "unix:path=" + path;
    }
    return {};
}

/// Writes what waits to go and drops whatever the bus sent us (the name it
/// gave us, errors), without blocking: nothing here waits for an answer.
void Drain(DBusConnection* bus) {
    dbus_connection_read_write(bus, 0);
    while (DBusMessage* message = dbus_connection_pop_message(bus)) dbus_message_unref(message);
}

} // namespace

void OnScreenKeyboard::Unref::operator()(DBusConnection* bus) const {
    dbus_connection_close(bus); // a private connection is closed by whoever opened it
    dbus_connection_unref(bus);
}

OnScreenKeyboard::OnScreenKeyboard(bool log) : m_log(log) {}

OnScreenKeyboard::~OnScreenKeyboard() {
    // A keyboard the app brought up goes with it.
    if (m_visible) SetVisible(false);
}

void OnScreenKeyboard::Update(bool text_field_active) {
    if (text_field_active != m_visible) SetVisible(text_field_active);
}

void OnScreenKeyboard::SetVisible(bool visible) {
    m_visible = visible;
    if (!m_tried) {
        // The bus is a socket on this machine: connecting and saying hello is
        // one short round trip, done once, when the first field takes the keyboard.
        m_tried = true;
        const std::string address = SessionBusAddress();
        if (address.empty()) {
            if (m_log) std::fprintf(stderr, "escucha: no session bus to ask for an on-screen keyboard\n");
            return;
        }
        DBusError error;
        dbus_error_init(&error);
        DBusConnection* bus = dbus_connection_open_private(address.c_str(), &error);
        if (bus) {
            // Losing the bus must never end the app (libdbus's default for a bus connection).
            dbus_connection_set_exit_on_disconnect(bus, FALSE);
            m_bus.reset(bus);
            if (!dbus_bus_register(bus, &error)) m_bus.reset();
        }
        if (!m_bus && m_log)
            std::fprintf(stderr, "escucha: the session bus does not answer (%s); no on-screen keyboard asked for\n",
                         error.message ? error.message : "?");
        dbus_error_free(&error);
    }
    if (!m_bus) return;
    DBusMessage* message = dbus_message_new_method_call("sm.puri.OSK0", "/sm/puri/OSK0", "sm.puri.OSK0", "SetVisible");
    if (!message) return;
    dbus_bool_t value = visible ? TRUE : FALSE;
    dbus_message_append_args(message, DBUS_TYPE_BOOLEAN, &value, DBUS_TYPE_INVALID);
    dbus_message_set_no_reply(message, TRUE);
    dbus_message_set_auto_start(message, FALSE); // no keyboard there: nothing is started for it
    const bool sent = dbus_connection_send(m_bus.get(), message, nullptr);
    dbus_message_unref(message);
    // Written without waiting (a flush would wait on a bus that stopped
    // reading); what the socket does not take now goes at the next call.
    Drain(m_bus.get());
    if (m_log && sent)
        std::fprintf(stderr, "escucha: on-screen keyboard asked to %s\n", visible ? "show" : "hide");
}

} // namespace escucha::gui
