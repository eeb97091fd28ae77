// A stand-in for Phosh's on-screen keyboard on a test's private session bus:
// it takes the name sm.puri.OSK0, answers SetVisible(b) at /sm/puri/OSK0 as
// squeekboard does, and prints each call ("SetVisible true") on stdout.
// "ready" is printed once the name is its own. It runs until killed.
#include <dbus/dbus.h>

#include <cstdio>
#include <cstring>
#include <memory>

namespace {

struct Close {
    void operator()(DBusConnection* bus) const {
        dbus_connection_close(bus);
        dbus_connection_unref(bus);
    }
};
struct Unref {
    void operator()(DBusMessage* message) const { dbus_message_unref(message); }
};

int Fail(const char* what, DBusError& error) {
    std::fprintf(stderr, "fake_osk: %s: %s\n", what, error.message ? error.message : "?");
    dbus_error_free(&error);
    return 1;
}

} // namespace

int main() {
    DBusError error;
    dbus_error_init(&error);
    std::unique_ptr<DBusConnection, Close> bus(dbus_bus_get_private(DBUS_BUS_SESSION, &error));
    if (!bus) return Fail("no session bus", error);
    dbus_connection_set_exit_on_disconnect(bus.get(), FALSE);
    if (dbus_bus_request_name(bus.get(), "sm.puri.OSK0", DBUS_NAME_FLAG_DO_NOT_QUEUE, &error) !=
        DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
        return Fail("the name sm.puri.OSK0 is not ours", error);
    std::printf("ready\n");
    std::fflush(stdout);
    while (dbus_connection_read_write(bus.get(), -1)) {
        while (DBusMessage* raw = dbus_connection_pop_message(bus.get())) {
            std::unique_ptr<DBusMessage, Unref> message(raw);
            if (!dbus_message_is_method_call(raw, "sm.puri.OSK0", "SetVisible")) continue;
            const char* path = dbus_message_get_path(raw);
            dbus_bool_t visible = FALSE;
            std::unique_ptr<DBusMessage, Unref> reply;
            if (!path || std::strcmp(path, "/sm/puri/OSK0") != 0) {
                std::printf("SetVisible at the wrong path %s\n", path ? path : "(none)");
                reply.reset(dbus_message_new_error(raw, DBUS_ERROR_UNKNOWN_OBJECT, "no such object"));
            } else if (!dbus_message_get_args(raw, &error, DBUS_TYPE_BOOLEAN, &visible, DBUS_TYPE_INVALID)) {
                std::printf("SetVisible with wrong arguments: %s\n", error.message ? error.message : "?");
                reply.reset(dbus_message_new_error(raw, DBUS_ERROR_INVALID_ARGS, "one boolean expected"));
                dbus_error_free(&error);
            } else {
                std::printf("SetVisible %s\n", visible ? "true" : "false");
                reply.reset(dbus_message_new_method_return(raw));
            }
            std::fflush(stdout);
            if (reply && !dbus_message_get_no_reply(raw)) dbus_connection_send(bus.get(), reply.get(), nullptr);
        }
    }
    return 0;
}
