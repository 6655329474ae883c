#!/usr/bin/env bash
# A long run of the main job, watched: `torture --writers 32 --kill-rate 0.1
# --duration DURATION`, with the supervisor's resident memory and the run
# directory's entries sampled every INTERVAL seconds, then what the run left
# behind (its directory, its processes).
#
#   harness/soak.sh [DURATION] [INTERVAL]     (defaults: 60m, 30)
#
# Prints one line per sample (elapsed s, RSS KiB, entries in the run
# directory), then the verdict, acknowledged ops, kills landed, checks,
# final operation, litter and escaped processes from the JSON report, and
# whether the run directory and any process carrying it remain. TORTURE
# names the binary (default target/release/torture). The README's "An hour
# of it" figures come from it.
set -euo pipefail
duration=${1:-60m}
interval=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
torture=${TORTURE:-$root/target/release/torture}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$torture" --writers 32 --kill-rate 0.1 --duration "$duration" --json "$work/r.json" \
    > "$work/out" 2> "$work/err" &
pid=$!
dir=
for _ in $(seq 1 100); do
    dir=$(sed -n 's/^torture: seed [0-9]*, directory \(.*\)$/\1/p' "$work/err" | head -1)
    [ -n "$dir" ] && break
    sleep 0.1
done
echo "supervisor pid $pid, run directory ${dir:-?}, $duration, sampled every ${interval}s"
printf '%8s %10s %8s\n' elapsed_s rss_kib entries
start=$SECONDS
while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo -)
    entries=$( (ls -A "$dir" 2>/dev/null || true) | wc -l)
    [ -n "$rss" ] && printf '%8d %10s %8s\n' $((SECONDS - start)) "$rss" "$entries"
    for _ in $(seq 1 "$interval"); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
done
set +e
wait "$pid"
code=$?
set -e
python3 - "$work/r.json" "$code" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b, w = r["basis"], r["warnings"]
print(f"exit {sys.argv[2]}, verdict {r['verdict']}, {r['ops']['acked']} acknowledged, "
      f"{b['kills_landed']} kills landed, {r['checks']} checks, final operation {b['final_op']}, "
      f"litter {w['litter']}, escaped processes {w['escaped_processes']}")
PY
if [ -n "$dir" ] && [ -e "$dir" ]; then echo "left behind: $dir"; else echo "run directory removed"; fi
left=$(pgrep -fc -- "${dir:-/nonexistent}/" || true)
echo "processes naming the run directory afterwards: $left"
