#!/usr/bin/env bash
# End to end under Xvfb: create a vault in the real window, write a narrative,
# kill -9 the app, start it again, unlock, and find the text by searching.
# Real input events (xdotool), screenshots kept in $ARTIFACTS.
set -euo pipefail
APP="$1"
CLI="$2"
ARTIFACTS="$3"
mkdir -p "$ARTIFACTS"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A display number of Xvfb's own choosing.
exec 5> "$work/display"
Xvfb -displayfd 5 -screen 0 1280x800x24 -nolisten tcp > "$work/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$work/display")"

wait_log() { # wait_log FILE TEXT [COUNT]: until FILE has TEXT COUNT times
  local want=${3:-1}
  for _ in $(seq 200); do
    [ "$(grep -c "$2" "$1" 2>/dev/null || true)" -ge "$want" ] && return 0
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1:"; cat "$1"; return 1
}
start_app() {
  ESCUCHA_VAULT="$work/vault" "$APP" > /dev/null 2> "$work/app.log" &
  app=$!
  pids+=($app)
  wait_log "$work/app.log" "first frame shown"
  win=""
  for _ in $(seq 100); do
    win=$(xdotool search --name '^Escucha$' 2>/dev/null | head -1) && [ -n "$win" ] && break
    sleep 0.1
  done
  xdotool windowfocus --sync "$win"
  sleep 1
}
shot() { import -window root "$ARTIFACTS/$1.png"; }
type_text() { xdotool type --delay 15 "$1"; sleep 0.3; }
# Dear ImGui 1.86 reads keys as state once per frame: a press and release that
# fall between two frames (a loaded machine) would go unseen, so hold keys.
press() { xdotool keydown "$1"; sleep 0.25; xdotool keyup "$1"; sleep 0.2; }

start_app
shot 01-create-vault
type_text "frase de paso larga"; press Return
type_text "frase de paso larga"; press Return
wait_log "$work/app.log" "vault unlocked"
press ctrl+n
type_text "Cosecha en la vereda"; press Return
type_text "Las recolectoras cobran por arroba y nadie ve la bascula."
wait_log "$work/app.log" "narrative saved"
shot 02-narrative-written
kill -9 "$app"

start_app
type_text "frase de paso larga"; press Return
wait_log "$work/app.log" "vault unlocked"
press ctrl+f
type_text "BASCULA recolectoras"; press Return
wait_log "$work/app.log" "search found"
shot 03-found-after-kill
grep -q "search found 1" "$work/app.log" || { echo "the search did not find the narrative:"; cat "$work/app.log"; exit 1; }
# The same text, read back through the command line from the vault on disk.
ESCUCHA_PASSPHRASE="frase de paso larga" "$CLI" --vault "$work/vault" list narrative --json | grep -q "nadie ve la bascula"
echo "gui end to end: 1 passed, 0 failed"
