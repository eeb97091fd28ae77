#!/usr/bin/env bash
# Benchmark of the window app's results screen on a virtual display (Xvfb,
# Mesa llvmpipe: OpenGL rendered in software on the CPU).
#
# Usage: bench/results_bench.sh [BUILD_DIR]        (default build/release)
#
# Makes a temporary vault holding one project, 100 participants in groups,
# 1,000 narratives, 60 codes and 100,000 codings (RESULTS_BENCH_CODINGS=N for
# fewer), then drives the app with xdotool at 1280x800: opens Results, waits
# for the counts (logged by the app), and records frame times (--frame-log:
# wall time from NewFrame to after SwapBuffers) while 200 wheel clicks scroll
# the chart, then the code x group matrix. For comparison, bench/gui_bench.sh
# scrolls a list of 10,000 search results the same way. Prints a Markdown
# table. Needs Xvfb, xdotool and python3.
# See docs/PERFORMANCE.md, "Results screen".
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
APP=$BUILD/ui/gui/escucha
CLI=$BUILD/ui/cli/escucha-cli
[ -x "$APP" ] && [ -x "$CLI" ] || { echo "no $APP or $CLI: build first (see docs/PERFORMANCE.md)" >&2; exit 1; }
for tool in Xvfb xdotool python3; do
  command -v "$tool" > /dev/null || { echo "$tool is missing" >&2; exit 1; }
done

N_CODINGS=${RESULTS_BENCH_CODINGS:-100000}
WIDTH=1280 HEIGHT=800
SCROLL_CLICKS=200
SCROLL_DELAY_MS=15

work=$(mktemp -d /tmp/escucha-results-bench-XXXXXX)
XVFB_PID="" APP_PID=""
cleanup() {
  if [ -n "$APP_PID" ]; then kill "$APP_PID" 2> /dev/null || true; wait "$APP_PID" 2> /dev/null || true; fi
  if [ -n "$XVFB_PID" ]; then kill "$XVFB_PID" 2> /dev/null || true; wait "$XVFB_PID" 2> /dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export ESCUCHA_PASSPHRASE="frase de paso larga para medir"
log() { echo "[results_bench] $*" >&2; }
fail() { echo "[results_bench] FAILED: $*" >&2; exit 1; }

vault=$work/vault
log "creating a vault with $N_CODINGS codings in $work"
"$CLI" --vault "$vault" init --author "Ana Quispe" > /dev/null
python3 - "$N_CODINGS" "$work/material.json" << 'EOF'
import json, random, sys, uuid
n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(20261202)
def rid():
    return str(uuid.UUID(int=rng.getrandbits(128)))[:14] + '7' + str(uuid.UUID(int=rng.getrandbits(128)))[15:]
project = rid()
records = [{"type": "project", "id": project, "name": "Resultados de la cosecha"}]
groups = ["madre cabeza de hogar", "migrante venezolana", "joven", "víctima del conflicto", "indígena",
          "campesino sin tierra", "recolector itinerante", "adulto mayor"]
territories = ["Nariño – La Unión", "Nariño – Buesaco", "Cauca – Piendamó", "Cauca – Inzá", "Huila – Pitalito",
               "Risaralda – Belén", "Caldas – Riosucio", "Tolima – Planadas"]
people = []
for i in range(100):
    p = {"type": "participant", "id": rid(), "project_id": project, "pseudonym": f"P{i}",
         "gender": rng.choice(["mujer", "hombre"]), "age_band": rng.choice(["18_24", "25_34", "35_44", "45_54", "55_64"]),
         "territory": rng.choice(territories), "vulnerability_groups": rng.sample(groups, rng.randint(1, 3))}
    people.append(p["id"]); records.append(p)
words = ("la cosecha el pesaje la arroba los niños la báscula el patrón la cuadrilla el jornal la comida el cafetal "
         "la lluvia el campamento la cooperativa el tablero la vereda el mayordomo").split()
texts = []
for i in range(1000):
    text = " ".join(rng.choice(words) for _ in range(300)) + "."
    r = {"type": "narrative", "id": rid(), "project_id": project, "title": f"Relato {i}", "text": text,
         "teller_ids": rng.sample(people, rng.randint(1, 2))}
    texts.append(r); records.append(r)
codes = []
for i in range(60):
    c = {"type": "code", "id": rid(), "project_id": project, "name": f"Código {i:02d}",
         "kind": rng.choice(["need", "aspiration", "perception", "problem", "value", "other"]),
         "colour": "#%06X" % rng.getrandbits(24)}
    if i % 6 and i > 6: c["parent_id"] = codes[(i // 6) * 6]["id"]
    codes.append(c); records.append(c)
for i in range(n):
    src = rng.choice(texts)
    start = rng.randrange(0, len(src["text"]) - 40)
    end = start + rng.randint(5, 40)
    records.append({"type": "coding", "id": rid(), "project_id": project, "code_id": rng.choice(codes)["id"],
                    "narrative_id": src["id"], "start": start, "end": end, "excerpt": src["text"][start:end]})
json.dump(records, open(out, "w", encoding="utf-8"), ensure_ascii=False)
EOF
import_start=$(date +%s.%N)
"$CLI" --vault "$vault" import "$work/material.json" > /dev/null
log "imported in $(python3 -c "print(f'{$(date +%s.%N) - $import_start:.1f}')") s"

exec 5> "$work/display"
Xvfb -displayfd 5 -screen 0 "${WIDTH}x${HEIGHT}x24" -nolisten tcp > "$work/xvfb.log" 2>&1 &
XVFB_PID=$!
exec 5>&-
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || fail "Xvfb did not start: $(cat "$work/xvfb.log")"
export DISPLAY=":$(cat "$work/display")"
mkdir -p "$work/config/escucha"
echo '{"language": "en"}' > "$work/config/escucha/settings.json"

wait_log() {
  local deadline=$(( $(date +%s) + ${3:-120} ))
  while ! grep -qs "$2" "$1"; do
    kill -0 "$APP_PID" 2> /dev/null || fail "the app exited while waiting for '$2'; its log:$(echo; cat "$1")"
    [ "$(date +%s)" -lt "$deadline" ] || fail "no '$2' after ${3:-120} s; the app's log:$(echo; cat "$1")"
    sleep 0.05
  done
}
click() { xdotool mousemove "$1" "$2"; sleep 0.2; xdotool mousedown 1; sleep 0.1; xdotool mouseup 1; sleep 0.5; }
scroll() { # scroll LABEL X Y: frame times while SCROLL_CLICKS wheel clicks go down over (X, Y)
  xdotool mousemove "$2" "$3"; sleep 0.5
  local lines0 lines1
  lines0=$(wc -l < "$logf")
  for _ in $(seq "$SCROLL_CLICKS"); do xdotool click 5; sleep "0.0$SCROLL_DELAY_MS"; done
  sleep 1
  lines1=$(wc -l < "$logf")
  sed -n "$((lines0 + 1)),${lines1}p" "$logf" | sed -n 's/^escucha: frame \([0-9.]*\) ms$/\1/p' > "$work/$1.txt"
  [ -s "$work/$1.txt" ] || fail "no frame drawn while scrolling the $1"
}

logf=$work/app.log
XDG_CONFIG_HOME="$work/config" ESCUCHA_VAULT="$vault" "$APP" --size "${WIDTH}x${HEIGHT}" --frame-log 2> "$logf" &
APP_PID=$!
wait_log "$logf" "first frame shown"
win=$(xdotool search --sync --name '^Escucha$' | head -1)
xdotool windowfocus --sync "$win"; sleep 0.5
xdotool type --delay 40 "$ESCUCHA_PASSPHRASE"; sleep 0.2
xdotool key Return
wait_log "$logf" "lists shown after unlock"
# The sections at 1280x800: Search, eight listening lists, then Codebook and Results.
count_start=$(date +%s.%N)
click 50 286
wait_log "$logf" "results counted"
counted=$(python3 -c "print(f'{$(date +%s.%N) - $count_start:.1f}')")
grep -q "results counted $N_CODINGS codings" "$logf" || fail "the results did not count $N_CODINGS codings: $(grep 'results counted' "$logf")"
sleep 1
scroll chart 700 500
click 318 161   # Table
sleep 1
scroll matrix 700 500
[ -n "${RESULTS_BENCH_SHOTS:-}" ] && { mkdir -p "$RESULTS_BENCH_SHOTS"; import -window root "$RESULTS_BENCH_SHOTS/matrix.png"; }

python3 - "$work" "$N_CODINGS" "$counted" << 'EOF'
import statistics, sys
work, n, counted = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def row(name):
    f = sorted(float(x) for x in open(f"{work}/{name}.txt").read().split())
    p = lambda q: f[min(len(f) - 1, int(q * len(f)))]
    return f"| {name} | {len(f)} | {statistics.median(f):.1f} | {p(0.95):.1f} | {p(0.99):.1f} | {f[-1]:.1f} |"
print(f"Results of {n:,} codings, counted in the background in {counted} s (click to counts shown)\n")
print("| scrolling | frames | median ms | p95 ms | p99 ms | max ms |")
print("|---|---|---|---|---|---|")
print(row("chart"))
print(row("matrix"))
EOF
