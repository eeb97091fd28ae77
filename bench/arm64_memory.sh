#!/usr/bin/env bash
# Resident memory of escucha-cli and escucha-hq built for amd64 and for arm64,
# the arm64 ones run under qemu-aarch64-static, side by side, on one vault of
# N interviews (10,000) made once and copied for each.
#
# Usage: bench/arm64_memory.sh [AMD64_BUILD] [ARM64_BUILD]
#        (default build/release and build/arm64, both RelWithDebInfo)
#
# Memory under qemu is the emulator's process: the arm64 program's own pages
# plus qemu's (its translated code among them); the "help" row shows about
# what qemu adds. Times under qemu are an emulator's, not a phone's.
# ARM64_BENCH_INTERVIEWS=N makes a quick check.
set -euo pipefail
cd "$(dirname "$0")/.."
amd=${1:-build/release}
arm=${2:-build/arm64}
n=${ARM64_BENCH_INTERVIEWS:-10000}
qemu=(qemu-aarch64-static -L "$arm/sysroot")
for f in "$amd/ui/cli/escucha-cli" "$amd/ui/hq/escucha-hq" "$arm/ui/cli/escucha-cli" "$arm/ui/hq/escucha-hq"; do
  [ -x "$f" ] || { echo "missing $f" >&2; exit 1; }
done
work=$(mktemp -d -t escucha-arm64-bench-XXXXXX)
hq_pid=
cleanup() { [ -n "$hq_pid" ] && kill "$hq_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export ESCUCHA_PASSPHRASE="frase de paso larga para medir"

cli() { # ARCH ARGS...: runs that architecture's escucha-cli
  local arch=$1; shift
  if [ "$arch" = amd64 ]; then "$amd/ui/cli/escucha-cli" "$@"; else "${qemu[@]}" "$arm/ui/cli/escucha-cli" "$@"; fi
}
hq() {
  local arch=$1; shift
  if [ "$arch" = amd64 ]; then "$amd/ui/hq/escucha-hq" "$@"; else "${qemu[@]}" "$arm/ui/hq/escucha-hq" "$@"; fi
}
peak() { # ARCH ARGS...: prints "peak-RSS-MiB seconds" of escucha-cli ARGS
  local arch=$1; shift
  local start end
  start=$(date +%s.%N)
  if [ "$arch" = amd64 ]; then
    /usr/bin/time -o "$work/time" -f %M "$amd/ui/cli/escucha-cli" "$@" >/dev/null 2>&1 || true
  else
    /usr/bin/time -o "$work/time" -f %M "${qemu[@]}" "$arm/ui/cli/escucha-cli" "$@" >/dev/null 2>&1 || true
  fi
  end=$(date +%s.%N)
  python3 -c "print(f'{$(tail -1 "$work/time") / 1024:.1f} MiB, {$end - $start:.2f} s')"
}
rss() { awk '/^VmRSS/{r=$2}/^VmHWM/{h=$2}END{printf "%.1f / %.1f MiB", r/1024, h/1024}' "/proc/$1/status"; }

# One vault: a project and N interviews, made by the amd64 escucha-cli.
cli amd64 --vault "$work/vault" init --author bench >/dev/null
cli amd64 --vault "$work/vault" add project name="Medir en arm64" >/dev/null
project=$(cli amd64 --vault "$work/vault" list project --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
python3 - "$project" "$n" "$work/interviews.json" <<'EOF'
import json, random, sys
project, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
random.seed(7)
words = ("cosecha arroba pesaje jornal finca cuadrilla comité lluvia camino mercado "
         "escuela cuidado migración alojamiento comida deuda precio báscula").split()
records = []
for i in range(n):
    summary = " ".join(random.choice(words) for _ in range(90))
    records.append({"type": "interview", "project_id": project, "kind": "unstructured_interview",
                    "title": f"Entrevista {i + 1}", "summary": summary, "topics": random.sample(words, 3),
                    "place_label": "Vereda El Tablón", "started_at": "2025-05-19T09:00:00-05:00"})
json.dump(records, open(out, "w"), ensure_ascii=False)
EOF
cli amd64 --vault "$work/vault" import "$work/interviews.json" >/dev/null

echo "| escucha-cli (peak RSS, wall time) | amd64 | arm64 under qemu |"
echo "|---|---|---|"
cp -a "$work/vault" "$work/vault-amd64"
cp -a "$work/vault" "$work/vault-arm64"
echo "| help (no vault) | $(peak amd64 help) | $(peak arm64 help) |"
echo "| status (vault opened: Argon2id 64 MiB) | $(peak amd64 --vault "$work/vault-amd64" status) | $(peak arm64 --vault "$work/vault-arm64" status) |"
echo "| list interview ($n listed) | $(peak amd64 --vault "$work/vault-amd64" list interview) | $(peak arm64 --vault "$work/vault-arm64" list interview) |"
echo "| search cosecha --limit $n | $(peak amd64 --vault "$work/vault-amd64" search cosecha --limit "$n") | $(peak arm64 --vault "$work/vault-arm64" search cosecha --limit "$n") |"

# escucha-hq: at start, then after the amd64 escucha-cli pushed the N interviews to it.
echo
echo "| escucha-hq (VmRSS / VmHWM) | amd64 | arm64 under qemu |"
echo "|---|---|---|"
declare -A at_start after_push
for arch in amd64 arm64; do
  data="$work/hq-$arch"
  hq "$arch" new-key "$work/hq-$arch.key" >/dev/null
  project=$(hq "$arch" --data "$data" --key-file "$work/hq-$arch.key" admin create-project "Medir" | tail -1)
  code=$(hq "$arch" --data "$data" --key-file "$work/hq-$arch.key" admin enrol --project "$project" --role researcher --person bench 2>/dev/null | tail -1)
  if [ "$arch" = amd64 ]; then
    "$amd/ui/hq/escucha-hq" --data "$data" --key-file "$work/hq-$arch.key" --listen 127.0.0.1:0 >"$work/hq.out" 2>"$work/hq.err" &
  else
    "${qemu[@]}" "$arm/ui/hq/escucha-hq" --data "$data" --key-file "$work/hq-$arch.key" --listen 127.0.0.1:0 >"$work/hq.out" 2>"$work/hq.err" &
  fi
  hq_pid=$!
  for _ in $(seq 600); do grep -qs "listening on" "$work/hq.out" && break; sleep 0.1; done
  url=$(sed -n 's/.*listening on \(.*\)/\1/p' "$work/hq.out" | head -1)
  sleep 1
  at_start[$arch]=$(rss "$hq_pid")
  device="$work/device-$arch"
  cp -a "$work/vault" "$device"
  cli amd64 --vault "$device" enrol --server "$url" --code "$code" --adopt >/dev/null
  sent=$(cli amd64 --vault "$device" sync | grep -o 'sent [0-9]*' | head -1)
  after_push[$arch]="$(rss "$hq_pid") ($sent)"
  kill "$hq_pid"; wait "$hq_pid" 2>/dev/null || true; hq_pid=
done
echo "| listening, nothing stored | ${at_start[amd64]} | ${at_start[arm64]} |"
echo "| after one device pushed $n interviews | ${after_push[amd64]} | ${after_push[arm64]} |"
