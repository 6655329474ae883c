#!/usr/bin/env bash
# `torture explore --faults power --fs FS` on real file systems: what each
# strategy, and a Python program with and without the directory's fsync,
# shows when the power is cut between the block writes of one operation.
#
#   harness/explore-fs.sh [FS...]        (default: ext4 xfs; MAX_STATES, default 16)
#
# Needs root, /dev/fuse, loop devices and the mkfs of each file system.
# Prints one row per file system and target: verdict, classes found, crash
# points, states, distinct images and states per second, and the
# exploration's whole time. TORTURE names the binary (default
# target/release/torture). The README's "On a real file system: --fs FS"
# table comes from it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
torture=${TORTURE:-$root/target/release/torture}
max_states=${MAX_STATES:-16}
[ $# -gt 0 ] || set -- ext4 xfs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=$root/harness/examples/python/run

# label | explore arguments (the Python program's commands are set below)
targets=(
    "reference|--strategy reference"
    "sqlite|--strategy sqlite"
    "no-dir-fsync|--strategy no-dir-fsync"
    "no-fsync|--strategy no-fsync"
    "naive|--strategy naive"
    "Python os.replace, file and dir fsync|full"
    "Python os.replace, file fsync only|file"
)
printf '%-6s %-38s %-8s %-16s %6s %7s %9s %9s %7s\n' fs target verdict classes points states distinct states/s seconds
for fs in "$@"; do
    for t in "${targets[@]}"; do
        IFS='|' read -r label args <<< "$t"
        case $args in
            --*) read -ra argv <<< "$args" ;;
            *) argv=(--exec "$py os_replace $args" --check "$py check" --init "$py init") ;;
        esac
        "$torture" explore "${argv[@]}" --faults power --fs "$fs" --max-states "$max_states" \
            --json "$work/r.json" > /dev/null 2>&1 || true
        python3 - "$work/r.json" "$fs" "$label" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = r["power"]
classes = ",".join(sorted({f["outcome"] for f in r["findings"]})) or "-"
print(f"{sys.argv[2]:<6} {sys.argv[3]:<38} {r['verdict']:<8} {classes:<16} {p['crash_points']:>6} "
      f"{p['crash_states']:>7} {p['distinct_images']:>9} {p['states_per_second']:>9.1f} {r['seconds']:>7.1f}")
PY
    done
done
