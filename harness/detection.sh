#!/usr/bin/env bash
# Measures how reliably each zoo strategy gets its expected verdict.
#
#   harness/detection.sh [RUNS] [DURATION] [TORTURE]
#
# Runs every strategy RUNS times (default 50) for DURATION (default 3s) at 32
# writers and kill rate 0.1, each with a fresh seed, and prints one row per
# strategy: expected verdict, how many runs got it, and the seeds of the runs
# that did not (replay one with `torture --seed SEED ...`).
set -euo pipefail
runs=${1:-50}
duration=${2:-3s}
torture=${3:-target/release/torture}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%-12s %-10s %s\n' strategy expected detected
"$torture" list | awk 'NF>2 && $1!="strategy" && $1!="expected:" {print $1, $2}' |
while read -r name expected; do
  ok=0; misses=""
  for i in $(seq 1 "$runs"); do
    set +e
    "$torture" --strategy "$name" --writers 32 --kill-rate 0.1 --duration "$duration" \
      --json "$work/r.json" >/dev/null 2>&1
    code=$?
    set -e
    got=$(python3 - "$work/r.json" "$expected" "$code" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); expected = sys.argv[2]; code = int(sys.argv[3])
if expected == "pass":
    ok = code == 0 and r["verdict"] == "pass"
else:
    ok = code == 1 and all(r["violations"][k] > 0 for k in expected.split("+"))
print("ok" if ok else "miss:%d" % r["config"]["seed"])
PY
)
    if [ "$got" = ok ]; then ok=$((ok+1)); else misses="$misses ${got#miss:}"; fi
  done
  printf '%-12s %-10s %d of %d%s\n' "$name" "$expected" "$ok" "$runs" "${misses:+  (missed seeds:$misses)}"
done
