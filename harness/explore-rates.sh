#!/usr/bin/env bash
# How often each claim of `torture explore` holds: runs each RUNS times
# (default 20) and counts the runs that give the expected exit code and
# finding. TORTURE names the binary (default target/release/torture).
#
#   harness/explore-rates.sh [RUNS]
set -uo pipefail
runs=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
torture=${TORTURE:-$root/target/release/torture}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name | expected exit | expected findings (sorted class@fault, comma-separated) | args
claims=(
    "naive|1|torn@kill|--strategy naive --faults kill"
    "short-write|1|torn@short-write|--strategy short-write --faults short-write"
    "fsync-ignore|1|unsafe_ack@eio|--strategy fsync-ignore --faults eio"
    "reference|0||--strategy reference"
    "cas-excl|0||--strategy cas-excl"
)
for claim in "${claims[@]}"; do
    IFS='|' read -r name want_code want_found args <<< "$claim"
    met=0
    for _ in $(seq 1 "$runs"); do
        # shellcheck disable=SC2086
        "$torture" explore $args --json "$work/r.json" > /dev/null 2>&1
        code=$?
        got=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(','.join(sorted({f['outcome']+'@'+f['fault'] for f in d['findings']})))" "$work/r.json")
        [ "$code" = "$want_code" ] && [ "$got" = "$want_found" ] && met=$((met + 1))
    done
    printf "%-14s %2d/%d  (exit %s, findings: %s)\n" "$name" "$met" "$runs" "$want_code" "${want_found:-none}"
done
