#!/usr/bin/env bash
# The harness's own cost on a built-in strategy: `torture --baseline` (an
# in-process loop of the strategy's update() on the same directory, then the
# torture run) at 1 writer, no reader, no kill, on $TMPDIR's file system and
# on a tmpfs, ROUNDS times each, interleaved.
#
#   harness/baseline.sh [ROUNDS] [DURATION]      (defaults: 3 rounds, 3s)
#
# Prints, per run, the file system, torture's ops/s, the baseline's ops/s
# and their ratio (above 1: the harness ran faster than the bare loop).
# The tmpfs is one mounted here as root, else /dev/shm. TORTURE names the
# binary (default target/release/torture). The README's "Harness
# throughput" figures come from it.
set -euo pipefail
rounds=${1:-3}
duration=${2:-3s}
root=$(cd "$(dirname "$0")/.." && pwd)
torture=${TORTURE:-$root/target/release/torture}
work=$(mktemp -d)
tmpfs=
cleanup() {
    [ -n "$tmpfs" ] && { umount "$tmpfs" 2>/dev/null || umount -l "$tmpfs"; }
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
mkdir "$work/disk"
if [ "$(id -u)" = 0 ]; then
    mkdir "$work/tmpfs"
    mount -t tmpfs -o size=256m tmpfs "$work/tmpfs"
    tmpfs=$work/tmpfs
    shm=$tmpfs
else
    shm=$(mktemp -d /dev/shm/baseline-XXXXXX)
    trap 'rm -rf "$work" "$shm"' EXIT
fi
disk_fs=$(df --output=fstype "$work/disk" | tail -1)

one() {
    local label=$1 dir=$2/run-$3
    "$torture" --writers 1 --readers 0 --kill-rate 0 --duration "$duration" --baseline \
        --dir "$dir" --json "$work/r.json" > /dev/null 2>&1
    python3 - "$work/r.json" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t, b = r["throughput_ops_per_s"], r["baseline_ops_per_s"]
print(f"{sys.argv[2]:<22} torture {t:8.0f} ops/s   baseline {b:8.0f} ops/s   ratio {t / b:.2f}   ({r['verdict']})")
PY
    rm -rf "$dir"
}
for i in $(seq 1 "$rounds"); do
    one "$disk_fs (\$TMPDIR)" "$work/disk" "$i"
    one "tmpfs" "$shm" "$i"
done
