#!/usr/bin/env bash
# End to end on a phone-sized screen (360x720) under Xvfb, with Mesa holding
# the app to OpenGL 2.1 (the class of a PinePhone's Mali-400), driven the way
# a finger drives it: press, move in steps, release (xdotool).
#   - the app picks OpenGL 2.1 and says so;
#   - a drag on a list of 10,000 interviews scrolls it, the flick glides on,
#     and the row under the finger is not opened;
#   - a drag on a long text that is not being typed in scrolls it;
#   - idle, the app draws nothing and sleeps until an event;
#   - the field being typed in stays in view when the window gets shorter
#     (an on-screen keyboard), and a rotation (a resize) keeps what was open
#     and typed;
#   - a text field taking the keyboard asks the on-screen keyboard up over the
#     session bus (a private bus, with FAKE_OSK answering as Phosh's keyboard
#     does), and it is asked down when no field has the keyboard;
#   - the app asked for a context the driver does not have says so in words
#     and exits cleanly;
#   - with Mesa held to OpenGL ES 2.0 (no OpenGL 3 nor fixed pipeline there),
#     the app draws through its own ES 2.0 renderer the same screen as at 2.1.
# Screenshots are kept in $ARTIFACTS.
set -euo pipefail
APP="$1"
CLI="$2"
ARTIFACTS="$3"
FAKE_OSK="$4"
mkdir -p "$ARTIFACTS"
source "$(dirname "$0")/session.sh"
export ESCUCHA_PASSPHRASE="frase de paso larga"

# ---------------------------------------------------------------- data
vault="$work/vault"
"$CLI" --vault "$vault" init --author "Ana Quispe" > /dev/null
"$CLI" --vault "$vault" add project name="Cosecha" > /dev/null
project_id=$("$CLI" --vault "$vault" list project --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
python3 - "$project_id" "$work/records.json" << 'EOF'
import json, sys
project, out = sys.argv[1], sys.argv[2]
records = [{"type": "interview", "project_id": project, "kind": "informal",
            "title": f"Entrevista {i:05d} en la vereda", "summary": "Pago por arroba."} for i in range(10000)]
# A long text: 150 numbered paragraphs.
text = "\n".join(f"Párrafo {i}: las recolectoras cuentan cómo se pesa el café en la finca." for i in range(150))
records.append({"type": "narrative", "project_id": project, "title": "Relato largo", "text": text})
json.dump(records, open(out, "w", encoding="utf-8"), ensure_ascii=False)
EOF
"$CLI" --vault "$vault" import "$work/records.json" > /dev/null

# ---------------------------------------------------------------- display
start_display 720x720
# Mesa's software renderer offering no more than OpenGL 2.1 and GLSL 1.20.
export MESA_GL_VERSION_OVERRIDE=2.1 MESA_GLSL_VERSION_OVERRIDE=120

# A session bus of the test's own, and on it a keyboard that notes what it is asked.
exec 6> "$work/bus-address"
dbus-daemon --session --nofork --nopidfile --address="unix:path=$work/bus" --print-address=6 > "$work/dbus.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/bus-address" ] && break; sleep 0.1; done
export DBUS_SESSION_BUS_ADDRESS="unix:path=$work/bus"
osk_log="$work/osk.log"
"$FAKE_OSK" > "$osk_log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q ready "$osk_log" && break; sleep 0.1; done
grep -q ready "$osk_log" || { cat "$work/dbus.log" "$osk_log"; echo "FAILED: the stand-in keyboard did not get on the bus"; exit 1; }
osk_count() { grep -c "^SetVisible $1\$" "$osk_log" 2>/dev/null || true; }
wait_osk() { # wait_osk true|false COUNT: until the keyboard was asked that COUNT times
  for _ in $(seq 300); do
    [ "$(osk_count "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "--- the keyboard's log:"; cat "$osk_log"
  fail "the on-screen keyboard was not asked SetVisible $1 $2 times"
}

log="$work/app.log"
fail() { echo "FAILED: $*"; echo "--- the app's log:"; cat "$log"; import -window root "$ARTIFACTS/touch-failed.png" 2>/dev/null || true; exit 1; }
count() { grep -c "$1" "$log" 2>/dev/null || true; }
wait_log() { # wait_log TEXT [COUNT]: until the app's log has TEXT COUNT times (up to 60 s on a loaded machine)
  for _ in $(seq 600); do
    [ "$(count "$1")" -ge "${2:-1}" ] && return 0
    sleep 0.1
  done
  fail "no '$1' in the log"
}
shot() { import -window root "$ARTIFACTS/$1.png"; }
differs() { # differs A B: the two screenshots are not the same picture
  [ "$(compare -metric AE "$ARTIFACTS/$1.png" "$ARTIFACTS/$2.png" null: 2>&1 || true)" != "0" ]
}
tap() { xdotool mousemove "$1" "$2" sleep 0.1 click 1; sleep 0.5; }
# drag X Y0 Y1: a finger down at (X, Y0), moved to (X, Y1) in 12 steps 15 ms apart, and lifted at once.
drag() {
  local args=(mousemove "$1" "$2" mousedown 1 sleep 0.1) i
  for i in $(seq 1 12); do args+=(mousemove "$1" $(( $2 + ($3 - $2) * i / 12 )) sleep 0.015); done
  args+=(mouseup 1)
  xdotool "${args[@]}"
}
corner=0
settle() { # until the app went to sleep with nothing left to draw
  local before
  before=$(count "asleep until an event")
  # A move (each time to another point) wakes it once, so the count goes up when it sleeps again.
  # Within the window's padding, whatever its size: nothing there reacts to the pointer.
  corner=$((1 - corner))
  xdotool mousemove --window "$win" $((1 + corner)) 2
  wait_log "asleep until an event" $((before + 1))
}

# A context the driver does not offer: said in words, a clean exit.
status=0
"$APP" --gl 3 --size 360x720 > /dev/null 2> "$work/no-gl.log" || status=$?
[ "$status" = 2 ] || { cat "$work/no-gl.log"; echo "FAILED: asked for OpenGL 3 over 2.1, the app exited with $status, not 2"; exit 1; }
grep -q "cannot be drawn on this screen" "$work/no-gl.log" || { cat "$work/no-gl.log"; echo "FAILED: no words for the missing OpenGL"; exit 1; }

# start_app LOG DRAWING [NAME=VALUE...] [ARG...]: the app on the vault at 360x720, logging to LOG, until
# its window has the focus; DRAWING is what it must say it draws with.
start_app() {
  log="$1"
  local drawing="$2" vars=()
  shift 2
  while [ $# -gt 0 ] && [[ "$1" == *=* ]]; do vars+=("$1"); shift; done
  env "${vars[@]}" ESCUCHA_VAULT="$vault" "$APP" --size 360x720 --frame-log "$@" > /dev/null 2> "$log" &
  app=$!
  pids+=($app)
  wait_log "first frame shown"
  grep -q "$drawing" "$log" || fail "the app did not draw with $drawing"
  win=$(xdotool search --sync --name '^Escucha$' | head -1)
  xdotool windowfocus --sync "$win"
}

start_app "$work/app.log" "drawing with OpenGL 2.1"
# The passphrase field has the keyboard: the on-screen keyboard is asked up.
wait_osk true 1
settle
shot touch-00-unlock-screen
xdotool type --delay 40 "$ESCUCHA_PASSPHRASE"
xdotool key Return
wait_log "lists shown after unlock"
settle
shot touch-00-unlocked
# The lists have no field with the keyboard: asked down.
wait_osk false 1

# ---------------------------------------------------------------- the list
# The sections' menu at the top, then the interviews.
tap 130 30
tap 80 131
wait_log "escucha: frame "
settle
shot touch-01-list
# A flick up from the lower part of the screen.
drag 180 620 260
wait_log "touch drag scrolled"
grep -q "touch drag scrolled [1-9][0-9]* px, gliding on" "$log" || fail "the flick did not scroll the list and glide on"
wait_log "touch glide scrolled"
grep -q "touch glide scrolled [1-9]" "$log" || fail "the glide did not move the list"
settle
shot touch-02-list-scrolled
differs touch-01-list touch-02-list-scrolled || fail "the list looks the same after the flick"
# The row under the finger was not opened: the list is still there ("‹ Back" is drawn for an open record).
grep -q "record opened" "$log" && fail "the drag opened the row it started on"
# A finger held still on a row is a long press (a right click), which opens nothing either.
xdotool mousemove 180 400 mousedown 1 sleep 1.2 mouseup 1
wait_log "long press at"
settle
grep -q "record opened" "$log" && fail "the long press opened the row"
# A tap still opens a row.
tap 180 400
wait_log "record opened"
settle
shot touch-03-record
xdotool mousemove 40 40 sleep 0.1 click 1 # ‹ Back
sleep 0.5

# ---------------------------------------------------------------- idle
settle
frames_before=$(count "escucha: frame ")
sleep 3
[ "$(count "escucha: frame ")" = "$frames_before" ] || fail "the app drew frames while idle"
wait_log "asleep until an event"

# ---------------------------------------------------------------- a long text
xdotool key ctrl+f
sleep 0.5
xdotool type --delay 40 "Relato largo"
xdotool key Return
wait_log "search found"
settle
tap 100 255   # the one hit
wait_log "record opened" 2
settle
shot touch-04-long-text
# A drag on the long text, which does not have the keyboard: the text scrolls, not the screen.
drags=$(count "touch drag scrolled")
drag 180 370 225
wait_log "touch drag scrolled" $((drags + 1))
grep "touch drag scrolled" "$log" | tail -1 | grep -q "scrolled [1-9]" || fail "the drag on the long text scrolled nothing"
settle
shot touch-05-text-scrolled
differs touch-04-long-text touch-05-text-scrolled || fail "the long text looks the same after the drag"

# ---------------------------------------------------------------- keyboard and rotation
# A tap gives the text the keyboard; then the window gets shorter, as when an
# on-screen keyboard comes up: the field being typed stays in view.
asked=$(osk_count true)
tap 180 300
wait_osk true $((asked + 1))
xdotool key ctrl+End
xdotool type --delay 40 " Antes del teclado."
settle
xdotool windowsize "$win" 360 300
wait_log "field being typed in view"
settle
shot touch-06-keyboard-up
read -r top bottom height < <(sed -n 's/^escucha: field being typed in view at y \(-\?[0-9]*\)-\(-\?[0-9]*\) of \([0-9]*\)$/\1 \2 \3/p' "$log" | tail -1)
[ "$bottom" -le "$height" ] && [ "$top" -lt "$height" ] || fail "the field being typed is out of view (y $top-$bottom of $height)"
xdotool type --delay 40 " Con el teclado."
# The screen rotates (landscape, then back): what was open and typed stays.
xdotool windowsize "$win" 720 360
settle
shot touch-07-landscape
xdotool windowsize "$win" 360 720
settle
shot touch-08-portrait-again
saved=""
for _ in $(seq 100); do
  if "$CLI" --vault "$vault" list narrative --json 2>/dev/null | grep -q "Antes del teclado. Con el teclado."; then saved=yes; break; fi
  sleep 0.2
done
[ -n "$saved" ] || fail "what was typed before and after the keyboard came up is not in the vault"
# With the keyboard up (a tap on the long text again, scrolled to its end now), closing takes it down.
asked=$(osk_count true)
tap 180 200
wait_osk true $((asked + 1))
settle
[ "$(tail -1 "$osk_log")" = "SetVisible true" ] || { cat "$osk_log"; fail "the keyboard was not up before closing"; }
downs=$(osk_count false)
kill -TERM "$app"
wait "$app" || true
grep -q "everything saved" "$log" || fail "the app did not close cleanly"
wait_osk false $((downs + 1))
grep -v "^SetVisible \(true\|false\)$\|^ready$" "$osk_log" && fail "the on-screen keyboard was asked something wrong"

# ---------------------------------------------------------------- OpenGL ES 2.0
# Mesa held to ES 2.0: Dear ImGui's own renderers cannot draw there, the app's
# ES 2.0 one does. The unlock screen is the one drawn at 2.1.
start_app "$work/app-es2.log" "drawing with OpenGL ES 2.0 (OpenGL ES 2.0 .*#version 100" MESA_GLES_VERSION_OVERRIDE=2.0 --gl es2
settle
shot touch-09-es2-unlock-screen
# The same picture but for a few pixels (edges drawn by shaders instead of the fixed pipeline, the text cursor).
different=$(compare -metric AE -fuzz 20% "$ARTIFACTS/touch-00-unlock-screen.png" "$ARTIFACTS/touch-09-es2-unlock-screen.png" null: 2>&1 || true)
[ "${different%%.*}" -lt 500 ] 2>/dev/null || fail "at ES 2.0 the unlock screen differs from 2.1 in $different pixels"
[ "$(convert "$ARTIFACTS/touch-09-es2-unlock-screen.png" -format %k info:)" -gt 50 ] || fail "at ES 2.0 the screen is nearly blank"
xdotool type --delay 40 "$ESCUCHA_PASSPHRASE"
xdotool key Return
wait_log "lists shown after unlock"
settle
shot touch-10-es2-unlocked
kill -TERM "$app"
wait "$app" || true
grep -q "everything saved" "$log" || fail "the app at ES 2.0 did not close cleanly"
echo "gui touch end to end at OpenGL 2.1 and ES 2.0: 1 passed, 0 failed"
