# Sourced by the window app's end-to-end tests (e2e.sh, e2e_touch.sh):
#   - $work, a directory removed at exit, and every process in $pids killed;
#   - the app's settings in $work/config, in English whatever the machine's
#     locale (the tests aim at English words), and no session bus;
#   - start_display WIDTHxHEIGHT: an Xvfb display of its own choosing, in $DISPLAY.
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

export XDG_CONFIG_HOME="$work/config"
mkdir -p "$work/config/escucha"
echo '{"language": "en"}' > "$work/config/escucha/settings.json"
# At exit, LeakSanitizer finds a few hundred bytes that the OpenGL stack
# allocates in glfwCreateWindow and never frees (valgrind places them in
# libGLdispatch and Mesa's driver, unloaded by then). The app's own code is
# checked for leaks by test_gui, which runs its logic under the sanitizers.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
# Never the desktop's own session bus: the app would ask its on-screen
# keyboard up. A test that wants a bus starts its own.
export DBUS_SESSION_BUS_ADDRESS="unix:path=$work/no-bus"

start_display() {
  exec 5> "$work/display"
  # -noreset: the screen's resources (its DPI, set by a test) outlive the clients.
  Xvfb -displayfd 5 -screen 0 "$1x24" -nolisten tcp -noreset > "$work/xvfb.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
  [ -s "$work/display" ] || { cat "$work/xvfb.log"; echo "FAILED: Xvfb did not start"; exit 1; }
  export DISPLAY=":$(cat "$work/display")"
}
