#!/usr/bin/env bash
# What transfers from this machine to a phone (docs/PERFORMANCE.md, "On a
# phone"): the packages' sizes, the window app's resident memory at a phone's
# size (360x720) at start and with 10,000 interviews listed, the frames it
# draws while idle, and its frame time at OpenGL 2.1 against OpenGL 3.3 on
# Mesa's llvmpipe, as a ratio.
#
# Usage: bench/phone_bench.sh [BUILD_DIR] [PACKAGES_DIR]
#   BUILD_DIR     a Release build with escucha and escucha-cli (default build/release)
#   PACKAGES_DIR  where scripts/package put the .deb files (optional: sizes only when given)
# Environment: PHONE_BENCH_RUN="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
# runs the app through an emulator (an arm64 build: memory only, times are not
# a phone's); PHONE_BENCH_FRAMES=N frames per OpenGL version (default 300).
# Needs Xvfb, xdotool, python3. Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
PACKAGES=${2:-}
APP=$BUILD/ui/gui/escucha
CLI=$BUILD/ui/cli/escucha-cli
RUN=(${PHONE_BENCH_RUN:-})
FRAMES=${PHONE_BENCH_FRAMES:-300}
N=10000
[ -x "$APP" ] && [ -x "$CLI" ] || { echo "no $APP or $CLI: build first" >&2; exit 1; }

work=$(mktemp -d)
XVFB_PID="" APP_PID=""
cleanup() {
  [ -z "$APP_PID" ] || { kill "$APP_PID" 2> /dev/null || true; wait "$APP_PID" 2> /dev/null || true; }
  [ -z "$XVFB_PID" ] || { kill "$XVFB_PID" 2> /dev/null || true; wait "$XVFB_PID" 2> /dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "[phone_bench] $*" >&2; }
fail() { echo "[phone_bench] FAILED: $*" >&2; exit 1; }

export ESCUCHA_PASSPHRASE="frase de paso larga para medir"
export XDG_CONFIG_HOME="$work/config"
mkdir -p "$work/config/escucha"
echo '{"language": "en"}' > "$work/config/escucha/settings.json"

vault=$work/vault
log "a vault with $N interviews"
"${RUN[@]}" "$CLI" --vault "$vault" init --author "Ana Quispe" > /dev/null
"${RUN[@]}" "$CLI" --vault "$vault" add project name="Cosecha" > /dev/null
project_id=$("${RUN[@]}" "$CLI" --vault "$vault" list project --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
python3 - "$project_id" "$N" "$work/interviews.json" << 'EOF'
import json, random, sys
project, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(16)
places = ["La Unión", "Buesaco", "Sandoná", "Consacá", "San Lorenzo", "El Tambo", "Cartago", "Berruecos"]
records = [{"type": "interview", "project_id": project, "kind": "informal",
            "title": f"Conversación {i} en {rng.choice(places)}",
            "summary": "Habla de la cosecha, del pago por arroba y de quién ve la báscula. " * rng.randint(3, 8),
            "started_at": f"2025-{rng.randint(4, 12):02d}-{rng.randint(1, 28):02d}T08:00:00Z"} for i in range(n)]
json.dump(records, open(out, "w", encoding="utf-8"), ensure_ascii=False)
EOF
"${RUN[@]}" "$CLI" --vault "$vault" import "$work/interviews.json" > /dev/null

exec 5> "$work/display"
Xvfb -displayfd 5 -screen 0 720x720x24 -nolisten tcp > "$work/xvfb.log" 2>&1 &
XVFB_PID=$!
exec 5>&-
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$work/display")"

wait_log() { # wait_log FILE TEXT [COUNT]
  for _ in $(seq 1200); do
    [ "$(grep -c "$2" "$1" 2> /dev/null || true)" -ge "${3:-1}" ] && return 0
    kill -0 "$APP_PID" 2> /dev/null || fail "the app ended; its log: $(cat "$1")"
    sleep 0.1
  done
  fail "no '$2' in $1"
}
rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
# The app's own process (under an emulator, the emulator is it).
start_app() { # start_app LOG [OPTIONS...]
  local logf=$1; shift
  ESCUCHA_VAULT="$vault" "${RUN[@]}" "$APP" --size 360x720 "$@" > /dev/null 2> "$logf" &
  APP_PID=$!
  wait_log "$logf" "first frame shown"
  local win
  win=$(xdotool search --sync --name '^Escucha$' | head -1)
  xdotool windowfocus --sync "$win"
  sleep 1
}
unlock() { # unlock LOG: then the interviews' list is shown (the sections' menu, "Interviews" at 360x720)
  xdotool type --delay 40 "$ESCUCHA_PASSPHRASE"
  xdotool key Return
  wait_log "$1" "lists shown after unlock"
  xdotool mousemove 130 30 sleep 0.2 click 1 sleep 0.5 mousemove 80 131 sleep 0.2 click 1 sleep 0.5
}
stop_app() { kill "$APP_PID" 2> /dev/null || true; wait "$APP_PID" 2> /dev/null || true; APP_PID=""; }

# ---------------------------------------------------------------- memory, idle
log "memory and idle frames"
logf=$work/idle.log
start_app "$logf" --frame-log
sleep 2
rss_start=$(rss_kb "$APP_PID")
unlock "$logf"
xdotool mousemove 359 719
sleep 3
rss_listed=$(rss_kb "$APP_PID")
listed=$(sed -n 's/^escucha: listed \([0-9]*\) interview$/\1/p' "$logf" | tail -1)
wait_log "$logf" "asleep until an event"
frames0=$(grep -c "^escucha: frame " "$logf" || true)
sleep 30
frames1=$(grep -c "^escucha: frame " "$logf" || true)
idle_frames=$((frames1 - frames0))
stop_app

# ---------------------------------------------------------------- frame time by OpenGL version
# The same screen (the list of interviews) drawn every frame: only the driver differs.
frame_times() { # frame_times MESA_VERSION GLSL_VERSION -> median mean (ms), and which OpenGL it got
  local logf=$work/gl-$1.log
  MESA_GL_VERSION_OVERRIDE=$1 MESA_GLSL_VERSION_OVERRIDE=$2 start_app "$logf" --render-every-frame --frame-log
  unlock "$logf"
  local from
  from=$(grep -c "" "$logf")
  for _ in $(seq 600); do
    [ "$(($(grep -c "^escucha: frame " "$logf") - from))" -ge "$((FRAMES + 50))" ] && break
    sleep 0.1
  done
  stop_app
  local gl
  gl=$(sed -n 's/^escucha: drawing with \(OpenGL [0-9.]*\) (\([^,]*\),.*/\1, \2/p' "$logf" | head -1)
  tail -n +"$((from + 1))" "$logf" | sed -n 's/^escucha: frame \([0-9.]*\) ms$/\1/p' | tail -n "$FRAMES" |
    python3 -c "import sys, statistics as s; v=[float(x) for x in sys.stdin]; print(f'{s.median(v):.3f} {s.mean(v):.3f} {len(v)}')" |
    sed "s|\$| $gl|"
}
log "frame time at OpenGL 3.3"
read -r med33 mean33 n33 gl33 <<< "$(frame_times 3.3COMPAT 330)"
log "frame time at OpenGL 2.1"
read -r med21 mean21 n21 gl21 <<< "$(frame_times 2.1 120)"

# ---------------------------------------------------------------- report
echo
echo "| measure | result |"
echo "|---|---|"
if [ -n "$PACKAGES" ]; then
  for deb in "$PACKAGES"/*.deb; do
    echo "| package $(basename "$deb"): file / installed | $(($(stat -c %s "$deb") / 1024)) KiB / $(dpkg-deb -f "$deb" Installed-Size) KiB |"
  done
fi
echo "| resident memory at start (unlock screen, 360x720) | $((rss_start / 1024)) MiB ($rss_start kB) |"
echo "| resident memory with ${listed:-?} interviews listed | $((rss_listed / 1024)) MiB ($rss_listed kB) |"
echo "| frames drawn in 30 s idle after the list was shown | $idle_frames |"
echo "| frame time, list of interviews drawn every frame, median / mean of $n33: $gl33 | $med33 / $mean33 ms |"
echo "| the same at $gl21 (median / mean of $n21) | $med21 / $mean21 ms |"
python3 -c "print(f'| frame time OpenGL 2.1 / OpenGL 3.3 (median) | {$med21 / $med33:.2f} |')"
