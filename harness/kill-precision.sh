#!/usr/bin/env bash
# Timed kills against kills at syscalls where kills are scarce, and what
# the precise kills cost in throughput:
#
#   harness/kill-precision.sh [RUNS] [THROUGHPUT_DURATION]   (defaults: 40, 3s)
#
# 1. `naive` with 1 writer, 300 operations, kill rate 0.01, RUNS runs with
#    --kill-at delay and RUNS with --kill-at syscall, interleaved, fresh
#    seeds: in how many runs it was found torn, and the kills that landed
#    and that missed (the operation was over before the kill) in all.
# 2. `reference` with 8 writers, kill rate 0.1, for THROUGHPUT_DURATION in
#    $TMPDIR, once each way: acknowledged ops/s.
#
# TORTURE names the binary (default target/release/torture). The README's
# "Precise kills" figures come from it.
set -euo pipefail
runs=${1:-40}
duration=${2:-3s}
root=$(cd "$(dirname "$0")/.." && pwd)
torture=${TORTURE:-$root/target/release/torture}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs torture with the arguments; prints "torn kills missed ops_per_s".
one() {
    "$torture" "$@" --json "$work/r.json" > /dev/null 2>&1 || true
    python3 - "$work/r.json" <<'PY'
import json, shutil, sys
r = json.load(open(sys.argv[1]))
print(1 if r["violations"]["torn"] else 0, r["kills"], r["kills_missed"],
      round(r["throughput_ops_per_s"]))
# A failing run keeps its temporary directory as evidence: only counted here.
d = r["config"]["dir"]
if r.get("dir_kept") and d.startswith("/tmp/torture-"):
    shutil.rmtree(d, ignore_errors=True)
PY
}

declare -A found kills missed
for mode in delay syscall; do found[$mode]=0; kills[$mode]=0; missed[$mode]=0; done
for _ in $(seq 1 "$runs"); do
    for mode in delay syscall; do
        read -r t k m _ < <(one --strategy naive --writers 1 --ops 300 --kill-rate 0.01 --kill-at "$mode")
        found[$mode]=$((found[$mode] + t)); kills[$mode]=$((kills[$mode] + k)); missed[$mode]=$((missed[$mode] + m))
    done
done
echo "naive, 1 writer, 300 ops, kill rate 0.01, $runs runs each"
printf '%-20s %-14s %-14s %s\n' kills "found torn" "kills landed" "kills missed"
for mode in delay syscall; do
    printf '%-20s %-14s %-14s %s\n' "--kill-at $mode" "${found[$mode]} of $runs" "${kills[$mode]}" "${missed[$mode]}"
done
echo
echo "reference, 8 writers, kill rate 0.1, $duration, in ${TMPDIR:-/tmp} ($(df --output=fstype "${TMPDIR:-/tmp}" | tail -1))"
for mode in delay syscall; do
    read -r _ _ _ ops < <(one --strategy reference --writers 8 --kill-rate 0.1 --duration "$duration" --kill-at "$mode")
    printf '%-20s %s acknowledged ops/s\n' "--kill-at $mode" "$ops"
done
