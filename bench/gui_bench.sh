#!/usr/bin/env bash
# Benchmark of the window app (escucha) on a virtual display (Xvfb, Mesa
# llvmpipe: OpenGL is rendered in software on the CPU).
#
# Usage: bench/gui_bench.sh [BUILD_DIR]        (default build/release)
#
# Makes a temporary vault holding one project and 10,000 interviews with
# Spanish summaries of 400-800 characters (each contains "cosecha"), then
# measures, driving the app with xdotool:
#   (b) idle CPU, 30 s with no input, in the default mode (sleeps between
#       events) and with --render-every-frame (polls and draws every frame, as
#       Dear ImGui's examples do: the baseline);
#   (c) unlock -> first frame and unlock -> lists shown, median of 3 starts;
#   (d) VmRSS / VmHWM at the unlock screen, once the lists are shown and
#       after (e), in one process;
#   (e) frame times (--frame-log: wall time from NewFrame to after
#       SwapBuffers, so it includes llvmpipe's rasterising) while scrolling
#       the 10,000 search results with 300 wheel clicks 15 ms apart.
# Prints a Markdown table. Needs Xvfb, xdotool and python3. Runs for about
# 2 minutes; everything it starts is stopped and its files removed at exit.
# See docs/PERFORMANCE.md, "Window app (escucha) under Xvfb".
#
# Environment: GUI_BENCH_SHOTS=DIR saves screenshots (ImageMagick `import`)
# before and after the scroll, to check what the scroll did;
# GUI_BENCH_INTERVIEWS=N and GUI_BENCH_IDLE_SECONDS=S shrink a quick check.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
APP=$BUILD/ui/gui/escucha
CLI=$BUILD/ui/cli/escucha-cli
[ -x "$APP" ] && [ -x "$CLI" ] || { echo "no $APP or $CLI: build first (see docs/PERFORMANCE.md)" >&2; exit 1; }
for tool in Xvfb xdotool python3; do
  command -v "$tool" > /dev/null || { echo "$tool is missing" >&2; exit 1; }
done

N_INTERVIEWS=${GUI_BENCH_INTERVIEWS:-10000}
IDLE_SECONDS=${GUI_BENCH_IDLE_SECONDS:-30}
IDLE_SETTLE=3
UNLOCK_RUNS=3
SCROLL_CLICKS=300
SCROLL_DELAY_MS=15
WIDTH=1280 HEIGHT=800
# Middle of the search results pane at 1280x800 (x 230..690, y 90..790).
PANE_X=460 PANE_Y=450

work=$(mktemp -d /tmp/escucha-gui-bench-XXXXXX)
XVFB_PID="" APP_PID=""
cleanup() {
  if [ -n "$APP_PID" ]; then kill "$APP_PID" 2> /dev/null || true; wait "$APP_PID" 2> /dev/null || true; fi
  if [ -n "$XVFB_PID" ]; then kill "$XVFB_PID" 2> /dev/null || true; wait "$XVFB_PID" 2> /dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export ESCUCHA_PASSPHRASE="frase de paso larga para medir"
CLK_TCK=$(getconf CLK_TCK)
log() { echo "[gui_bench] $*" >&2; }
fail() { echo "[gui_bench] FAILED: $*" >&2; exit 1; }

# ---------------------------------------------------------------- data
vault=$work/vault
log "creating a vault with $N_INTERVIEWS interviews in $work"
"$CLI" --vault "$vault" init --author "Ana Quispe" > /dev/null
"$CLI" --vault "$vault" add project name="Escucha del café en Nariño y Cauca" > /dev/null
project_id=$("$CLI" --vault "$vault" list project --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')

python3 - "$project_id" "$N_INTERVIEWS" "$work/interviews.json" << 'EOF'
import json, random, sys
project, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(20260514)
names = ["Doña Rosalba", "Don Aurelio", "Marleny", "Yeison", "Doña Carmenza", "Jhon Fredy", "Luz Dary",
         "Don Efraín", "Nelly", "Wilmer", "Doña Ofelia", "Arley", "Sandra Milena", "Don Jesús", "Yuliana"]
places = ["La Unión", "Buesaco", "Sandoná", "Consacá", "San Lorenzo", "El Tambo", "Cartago", "Berruecos",
          "Piendamó", "Cajibío", "Inzá", "Timbío", "La Florida", "Samaniego", "Arboleda"]
kinds_of_place = ["la plaza de mercado de", "la cooperativa de", "una finca de la vereda de", "la escuela de",
                  "el salón comunal de", "la cancha de", "el beneficiadero de", "la casa de la junta de"]
months = ["abril", "mayo", "junio", "julio", "octubre", "noviembre", "diciembre"]
cosecha = [
    "En la cosecha de {m} recogió en promedio {k} arrobas diarias, casi siempre bajo lluvia.",
    "Cuenta que la cosecha empezó tarde este año y que las primeras semanas hubo poco grano maduro.",
    "Para {p} la cosecha es el único momento del año en que la familia junta algo de plata.",
    "Durante la cosecha duermen en un cuarto de la finca con otras {c} personas y una sola ducha.",
    "La cosecha de mitaca fue floja y muchos recolectores se fueron antes de tiempo.",
    "Describe el ritmo de la cosecha: salir a las cinco, recoger hasta las cuatro y pesar al atardecer.",
    "Dice que en la cosecha grande el patrón contrata cuadrillas de afuera y baja el precio de la arroba.",
]
other = [
    "Se queja de que el pesaje lo hace el mayordomo y nadie puede ver la báscula.",
    "Le pagan {w} pesos por arroba y dice que hace cinco años pagaban casi lo mismo.",
    "El jornal al día ronda los {j} pesos, sin prestaciones ni afiliación a salud.",
    "Habla del sindicato agrario que se formó en {pl} y de las amenazas que recibieron sus dirigentes.",
    "No conoce a nadie afiliado a un sindicato; cree que organizarse trae problemas con los patrones.",
    "Su hijo mayor migró a Chile hace dos años y manda remesas cuando puede.",
    "Viene de {pl} y cada año recorre las zonas cafeteras siguiendo la maduración del grano.",
    "Varias familias venezolanas llegaron a la vereda y trabajan por menos, lo que genera tensiones.",
    "Mientras recoge, sus hijos pequeños se quedan con la abuela o la acompañan al cafetal.",
    "La alimentación en la finca es arroz, plátano y fríjol; la carne aparece solo los domingos.",
    "Tuvo un accidente con el machete y tuvo que pagar ella misma la consulta en el puesto de salud.",
    "Cree que la cooperativa podría comprar el café a mejor precio si los pequeños productores se unieran.",
    "Menciona que los intermediarios compran el pergamino seco muy por debajo del precio de referencia.",
    "Las mujeres de la cuadrilla se organizaron para cocinar por turnos y repartir el gasto.",
    "El transporte desde el pueblo cuesta {t} pesos y no siempre lo paga el dueño de la finca.",
    "Recuerda la roya de hace años, cuando se perdieron casi todas las matas de la vereda.",
    "Los jóvenes prefieren irse a la ciudad o a la minería porque el café no les da para vivir.",
    "Pide que los acuerdos de pago queden por escrito antes de empezar a recoger.",
    "Habla con orgullo del café especial que se vende en el exterior y de lo poco que llega a quienes lo recogen.",
    "Explica que el verano largo secó las flores y que la producción bajó casi a la mitad.",
    "Dice que en la junta de acción comunal se discutió un fondo para emergencias de salud.",
    "Trabajó un tiempo en el Putumayo raspando hoja y volvió al café por miedo a la violencia.",
    "Propone una escuela de temporada para que los niños no pierdan clases durante la recolección.",
    "Los recolectores llegados de otras regiones no tienen dónde dejar sus cosas y duermen en el beneficiadero.",
    "Comenta que el patrón descuenta la comida del pago semanal sin decir cuánto cobra.",
]
topics_pool = ["cosecha", "pago por arroba", "pesaje", "jornal", "sindicato", "migración estacional",
               "migración internacional", "cuidado de niños", "alimentación", "alojamiento en finca", "salud",
               "accidentes de trabajo", "cooperativa", "intermediarios", "clima", "juventud", "mujeres recolectoras",
               "remesas", "violencia", "organización comunitaria"]
titles = ["Conversación con {n} en {pl}", "Charla informal con {n} después del pesaje",
          "Grupo de recolectoras en {pl}", "Recorrido por el cafetal con {n}", "{n}: la cosecha en {pl}",
          "Entrevista con {n} sobre el pago por arroba", "Observación del pesaje en {pl}",
          "Trayectoria de vida de {n}"]
kinds = ["unstructured_interview", "group_discussion", "observation", "life_journey", "informal"]

def fill(s):
    return s.format(m=rng.choice(months), k=rng.randint(6, 18), p=rng.choice(names), c=rng.randint(4, 14),
                    w=f"{rng.randint(14, 30) * 1000:,}".replace(",", "."),
                    j=f"{rng.randint(45, 90) * 1000:,}".replace(",", "."),
                    t=f"{rng.randint(3, 15) * 1000:,}".replace(",", "."), pl=rng.choice(places))

records, lengths = [], []
for i in range(n):
    target = rng.randint(400, 800)
    parts = [fill(rng.choice(cosecha))]
    pool = rng.sample(other, len(other))
    while len(" ".join(parts)) < target and pool:
        parts.insert(rng.randint(0, len(parts)), fill(pool.pop()))
    summary = " ".join(parts)
    if len(summary) > 800:  # drop sentences (never the one with "cosecha") until it fits
        while len(summary) > 800 and len(parts) > 1:
            for j, p in enumerate(parts):
                if "cosecha" not in p:
                    del parts[j]
                    break
            summary = " ".join(parts)
    assert " cosecha " in " " + summary.replace(".", " ").replace(",", " ").replace(":", " ") + " "
    lengths.append(len(summary))
    place = rng.choice(places)
    records.append({
        "type": "interview",
        "project_id": project,
        "kind": rng.choice(kinds),
        "title": rng.choice(titles).format(n=rng.choice(names), pl=place),
        "summary": summary,
        "topics": rng.sample(topics_pool, rng.randint(2, 5)),
        "place_label": f"{rng.choice(kinds_of_place)} {place}",
        "started_at": f"2025-{rng.randint(4, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(6, 17):02d}:{rng.choice(['00', '15', '30', '45'])}:00Z",
    })
json.dump(records, open(out, "w", encoding="utf-8"), ensure_ascii=False)
print(f"{n} interviews, summaries {min(lengths)}-{max(lengths)} characters, mean {sum(lengths) / n:.0f}",
      file=sys.stderr)
EOF
import_start=$(date +%s.%N)
"$CLI" --vault "$vault" import "$work/interviews.json" > /dev/null
log "imported in $(python3 -c "print(f'{$(date +%s.%N) - $import_start:.1f}')") s"

# ---------------------------------------------------------------- display
exec 5> "$work/display"
Xvfb -displayfd 5 -screen 0 "${WIDTH}x${HEIGHT}x24" -nolisten tcp > "$work/xvfb.log" 2>&1 &
XVFB_PID=$!
exec 5>&-
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || fail "Xvfb did not start: $(cat "$work/xvfb.log")"
export DISPLAY=":$(cat "$work/display")"
mkdir -p "$work/config/escucha"

# ---------------------------------------------------------------- helpers
press() { xdotool keydown "$1"; sleep 0.2; xdotool keyup "$1"; sleep 0.2; }
# wait_log FILE PATTERN [SECONDS]
wait_log() {
  local deadline=$(( $(date +%s) + ${3:-60} ))
  while ! grep -qs "$2" "$1"; do
    kill -0 "$APP_PID" 2> /dev/null || fail "the app exited while waiting for '$2'; its log:$(echo; cat "$1")"
    [ "$(date +%s)" -lt "$deadline" ] || fail "no '$2' after ${3:-60} s; the app's log:$(echo; cat "$1")"
    sleep 0.05
  done
}
log_ms() { sed -n "s/^escucha: $2 \([0-9.]*\) ms$/\1/p" "$1" | head -1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, all threads
busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }  # all cores, not idle/iowait
mem_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# memory PID -> "VmRSS VmHWM RssAnon RssFile" in kB
memory() { echo "$(mem_kb "$1" VmRSS) $(mem_kb "$1" VmHWM) $(mem_kb "$1" RssAnon) $(mem_kb "$1" RssFile)"; }

# start_app LOG [OPTIONS...]: start, unlock, wait until the lists are shown.
start_app() {
  local logf=$1; shift
  XDG_CONFIG_HOME="$work/config" ESCUCHA_VAULT="$vault" "$APP" --size "${WIDTH}x${HEIGHT}" "$@" 2> "$logf" &
  APP_PID=$!
  wait_log "$logf" "first frame shown"
  local win
  win=$(xdotool search --sync --name '^Escucha$' | head -1)
  xdotool windowfocus --sync "$win"; sleep 0.5
  MEM_LOCKED=$(memory "$APP_PID")   # the unlock screen: window, GL stack, fonts
  xdotool type --delay 40 "$ESCUCHA_PASSPHRASE"; sleep 0.2
  press Return
  wait_log "$logf" "lists shown after unlock"
}
stop_app() {
  P_APP=$((P_APP + $(cpu_ticks "$APP_PID")))
  kill "$APP_PID" 2> /dev/null || true
  wait "$APP_PID" 2> /dev/null || true
  APP_PID=""
}

# How many cores other processes kept busy over a phase: all busy CPU time
# on the machine less the app's (every start in the phase) and Xvfb's.
P_APP=0
phase_start() { P_BUSY0=$(busy_ticks); P_X0=$(cpu_ticks "$XVFB_PID"); P_T0=$(date +%s.%N); P_APP=0; }
phase_others() {
  local b1 x1 t1
  b1=$(busy_ticks); x1=$(cpu_ticks "$XVFB_PID"); t1=$(date +%s.%N)
  python3 -c "print(f'{max(0.0, ($b1 - $P_BUSY0 - $P_APP - ($x1 - $P_X0)) / $CLK_TCK / ($t1 - $P_T0)):.2f}')"
}

# idle_cpu -> "app% xvfb% others_cores app_ticks"
idle_cpu() {
  sleep "$IDLE_SETTLE"
  local a0 x0 b0 t0 a1 x1 b1 t1
  a0=$(cpu_ticks "$APP_PID"); x0=$(cpu_ticks "$XVFB_PID"); b0=$(busy_ticks); t0=$(date +%s.%N)
  sleep "$IDLE_SECONDS"
  a1=$(cpu_ticks "$APP_PID"); x1=$(cpu_ticks "$XVFB_PID"); b1=$(busy_ticks); t1=$(date +%s.%N)
  python3 -c "
hz, dt = $CLK_TCK, $t1 - $t0
app, xvfb, busy = ($a1 - $a0) / hz, ($x1 - $x0) / hz, ($b1 - $b0) / hz
print(f'{100 * app / dt:.3f} {100 * xvfb / dt:.3f} {max(0.0, busy - app - xvfb) / dt:.2f} {$a1 - $a0}')"
}

# ---------------------------------------------------------------- (b) + (c)
declare -a first_ms lists_ms
phase_start
for run in $(seq "$UNLOCK_RUNS"); do
  logf=$work/default-$run.log
  log "default mode, start $run of $UNLOCK_RUNS"
  start_app "$logf"
  first_ms+=("$(log_ms "$logf" "first frame after unlock")")
  lists_ms+=("$(log_ms "$logf" "lists shown after unlock")")
  if [ "$run" = 1 ]; then
    # Which OpenGL driver: Mesa's software rasteriser shows as its threads.
    llvmpipe_threads=$(cat /proc/"$APP_PID"/task/*/comm 2> /dev/null | grep -c '^llvmpipe' || true)
    dri=$(grep -o '[^/]*_dri\.so' /proc/"$APP_PID"/maps 2> /dev/null | sort -u | xargs || true)
    log "idle CPU, default mode, ${IDLE_SECONDS} s"
    read -r idle_default idle_default_xvfb idle_default_others idle_default_ticks <<< "$(idle_cpu)"
  fi
  stop_app
done

others_unlock=$(phase_others)

log "idle CPU, --render-every-frame, ${IDLE_SECONDS} s"
start_app "$work/every-frame.log" --render-every-frame --frame-log
lines0=$(wc -l < "$work/every-frame.log")
read -r idle_every _ _ _ <<< "$(idle_cpu)"
lines1=$(wc -l < "$work/every-frame.log")
frames_every=$(sed -n "$((lines0 + 1)),${lines1}p" "$work/every-frame.log" | grep -c '^escucha: frame ' || true)
stop_app
# The --frame-log run above counts frames drawn; it prints one short line per
# frame. A second run without it gives the figure the brief asks for.
start_app "$work/every-frame-nolog.log" --render-every-frame
read -r idle_every_nolog idle_every_nolog_xvfb idle_every_nolog_others _ <<< "$(idle_cpu)"
stop_app

# ---------------------------------------------------------------- (d) + (e)
log "search and scroll, default mode with --frame-log"
logf=$work/scroll.log
start_app "$logf" --frame-log
sleep 1
mem_locked=$MEM_LOCKED
mem_lists=$(memory "$APP_PID")
press ctrl+f
sleep 0.3
xdotool type --delay 40 "cosecha"; sleep 0.2
# A short press: the app holds a release back until the press was drawn.
search_t0=$(date +%s.%N)
xdotool keydown Return; sleep 0.05; xdotool keyup Return
wait_log "$logf" "search found"
search_t1=$(date +%s.%N)
found=$(sed -n 's/^escucha: search found \([0-9]*\)$/\1/p' "$logf" | head -1)
[ "$found" = "$N_INTERVIEWS" ] || log "WARNING: search found $found, expected $N_INTERVIEWS"
xdotool mousemove "$PANE_X" "$PANE_Y"
sleep 2
[ -n "${GUI_BENCH_SHOTS:-}" ] && mkdir -p "$GUI_BENCH_SHOTS" && import -window root "$GUI_BENCH_SHOTS/before-scroll.png"
lines0=$(wc -l < "$logf")
phase_start; P_APP=$((0 - $(cpu_ticks "$APP_PID")))
scroll_t0=$(date +%s.%N)
xdotool click --repeat "$SCROLL_CLICKS" --delay "$SCROLL_DELAY_MS" 5
scroll_t1=$(date +%s.%N)
sleep 1   # frames still owed to the last clicks
lines1=$(wc -l < "$logf")
app_scroll_ticks=$((P_APP + $(cpu_ticks "$APP_PID"))); P_APP=$app_scroll_ticks
others_scroll=$(phase_others)
sed -n "$((lines0 + 1)),${lines1}p" "$logf" | sed -n 's/^escucha: frame \([0-9.]*\) ms$/\1/p' > "$work/scroll-frames.txt"
[ -n "${GUI_BENCH_SHOTS:-}" ] && import -window root "$GUI_BENCH_SHOTS/after-scroll.png"
mem_scroll=$(memory "$APP_PID")
stop_app

# ---------------------------------------------------------------- report
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mesa=$(dpkg-query -W -f '${Version}' libgl1-mesa-dri 2> /dev/null || echo "?")
xvfb_version=$(dpkg-query -W -f '${Version}' xvfb 2> /dev/null || echo "?")
first_list=$(IFS=,; echo "${first_ms[*]}")
lists_list=$(IFS=,; echo "${lists_ms[*]}")
python3 - << EOF
import statistics as st, math
first = [float(x) for x in "$first_list".split(",")]
lists = [float(x) for x in "$lists_list".split(",")]
frames = [float(x) for x in open("$work/scroll-frames.txt").read().split()]
def pct(v, p):  # nearest rank
    s = sorted(v); return s[max(0, math.ceil(p / 100 * len(s)) - 1)]
mb = lambda kb: f"{int(kb) / 1024:.1f}"
def mem(label, m):
    rss, hwm, anon, file = m.split()
    print(f"| memory {label}: VmRSS / VmHWM (MiB) | {mb(rss)} / {mb(hwm)} (RSS: {mb(anon)} anonymous, {mb(file)} file-backed) |")
idle_d, idle_e, idle_en = $idle_default, $idle_every, $idle_every_nolog
print()
print(f"Machine: nproc $(nproc), CPU \"$cpu_model\", $(awk '/MemTotal/{printf "%.0f GB RAM", $2/1048576}' /proc/meminfo).")
print(f"Display: Xvfb $xvfb_version ${WIDTH}x${HEIGHT}x24; OpenGL by Mesa $mesa, driver loaded: ${dri:-unknown}")
print("($llvmpipe_threads llvmpipe threads in the app): software rendering on the CPU, inside the app's process.")
print(f"Data: 1 project + $N_INTERVIEWS interviews; window ${WIDTH}x${HEIGHT}.")
print()
print("| measure | escucha (default: sleeps between events) | baseline (--render-every-frame) | ratio |")
print("|---|---|---|---|")
ticks = $idle_default_ticks
one_tick = 100 / $CLK_TCK / $IDLE_SECONDS
ratio = f"~{idle_en / idle_d:,.0f}x" if ticks > 0 else f"> {idle_en / one_tick:,.0f}x"
print(f"| idle CPU, ${IDLE_SECONDS} s without input, % of one core (app process, all threads) | {idle_d:.2f} % ({ticks} clock ticks of {1000 // $CLK_TCK} ms) | {idle_en:.1f} % | {ratio} |")
print(f"| idle CPU of Xvfb meanwhile | $idle_default_xvfb % | $idle_every_nolog_xvfb % | – |")
print(f"| baseline with --frame-log: CPU, frames drawn in ${IDLE_SECONDS} s | – | {idle_e:.1f} %, $frames_every frames | – |")
print(f"| other processes on the machine during the idle windows (cores busy) | $idle_default_others | $idle_every_nolog_others | – |")
print()
print("| measure | result |")
print("|---|---|")
print(f"| unlock → first frame after unlock (includes Argon2id), median of {len(first)} | {st.median(first):.1f} ms (runs: {', '.join(f'{x:.1f}' for x in first)}) |")
print(f"| unlock → lists shown, median of {len(lists)} | {st.median(lists):.1f} ms (runs: {', '.join(f'{x:.1f}' for x in lists)}) |")
mem("at the unlock screen, before unlocking", "$mem_locked")
mem("once the lists are shown", "$mem_lists")
print(f"| search 'cosecha': results | $found |")
print(f"| search: Return pressed → 'search found' seen (wall, polled every 50 ms) | {($search_t1 - $search_t0) * 1000:.0f} ms |")
print(f"| scroll: wheel clicks, time taken by xdotool | $SCROLL_CLICKS clicks, {$scroll_t1 - $scroll_t0:.1f} s |")
if frames:
    print(f"| scroll: app CPU from first click to 1 s after the last | {$app_scroll_ticks / $CLK_TCK:.2f} s of CPU in {$scroll_t1 - $scroll_t0 + 1:.1f} s |")
    print(f"| scroll: frames drawn (from first click to 1 s after the last) | {len(frames)} |")
    print(f"| scroll: frame time (wall clock, NewFrame to SwapBuffers, as logged) mean / median / p95 / max | {st.mean(frames):.2f} / {st.median(frames):.2f} / {pct(frames, 95):.2f} / {max(frames):.2f} ms |")
else:
    print("| scroll: frames drawn | 0 (no frame lines logged during the scroll) |")
print(f"| other processes on the machine (cores busy): during the {len(first)} unlock starts / during the scroll | $others_unlock / $others_scroll |")
mem("after the search scroll", "$mem_scroll")
EOF
log "done"
