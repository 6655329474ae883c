#!/usr/bin/env bash
# `torture explore --faults power` on the zoo and the shipped examples: the
# verdict under each persistence model, and the speed of the crash states
# against faulted runs (--faults kill) on the same operation, one worker
# each (--jobs 1), one exploration each.
#
#   harness/explore-power.sh
#
# Prints two tables: per target and model, the verdict and findings, the
# crash points, states and distinct directories; then per target, kill
# runs/s, power states/s, distinct directories/s and the ratio of the
# distinct directories/s to the kill runs/s. TORTURE names the binary
# (default target/release/torture). The README's "Power loss: --faults
# power" figures come from it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
torture=${TORTURE:-$root/target/release/torture}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name | explore arguments
targets=(
    "reference|--strategy reference"
    "cas-excl|--strategy cas-excl"
    "sqlite|--strategy sqlite"
    "no-fsync|--strategy no-fsync"
    "naive|--strategy naive"
    "example-py-correct|--scenario scenarios/example-py-correct.toml"
    "example-sh-correct|--scenario scenarios/example-sh-correct.toml"
    "example-py-in-place|--scenario scenarios/example-py-in-place.toml"
    "example-sh-in-place|--scenario scenarios/example-sh-in-place.toml"
    "example-py-lockfile|--scenario scenarios/example-py-lockfile.toml"
)
speed=(reference cas-excl no-fsync example-py-correct example-sh-correct)

summary() {
    python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = r.get("power") or {}
found = ",".join(sorted({f["outcome"] for f in r["findings"]})) or "-"
print(f"{sys.argv[2]:<40} {r['verdict']:<13} {found:<24} {p.get('crash_points', '-'):>6} "
      f"{p.get('states', '-'):>8} {p.get('distinct', '-'):>9}  {p.get('sampled_points', 0)} sampled")
PY
}

printf '%-40s %-13s %-24s %6s %8s %9s\n' "target, model" verdict findings points states distinct
for t in "${targets[@]}"; do
    IFS='|' read -r name args <<< "$t"
    for model in posix ordered none; do
        # shellcheck disable=SC2086
        "$torture" explore $args --faults power --model "$model" --json "$work/$name-$model.json" > /dev/null 2>&1 || true
        summary "$work/$name-$model.json" "$name, $model"
    done
done

echo
printf '%-22s %12s %28s %16s %10s\n' target "kill runs/s" "power states/s (states, distinct)" "distinct/s" "distinct/kill"
for name in "${speed[@]}"; do
    for t in "${targets[@]}"; do IFS='|' read -r n args <<< "$t"; [ "$n" = "$name" ] && break; done
    # shellcheck disable=SC2086
    "$torture" explore $args --faults kill --jobs 1 --json "$work/k.json" > /dev/null 2>&1 || true
    # shellcheck disable=SC2086
    "$torture" explore $args --faults power --jobs 1 --json "$work/p.json" > /dev/null 2>&1 || true
    python3 - "$work/k.json" "$work/p.json" "$name" <<'PY'
import json, sys
k, p = (json.load(open(f)) for f in sys.argv[1:3])
runs = k["runs_per_second"]
pw = p["power"]
sps = pw["states_per_second"]
dps = sps * pw["distinct"] / pw["states"]
print(f"{sys.argv[3]:<22} {runs:12.1f} {sps:12.1f} ({pw['states']}, {pw['distinct']})".ljust(76)
      + f" {dps:10.1f} {dps / runs:9.1f}x")
PY
done
