#!/usr/bin/env bash
# The harness's overhead on outside programs, side by side on one machine:
#
#   harness/exec-overhead.sh [SECONDS] [TORTURE]
#
# 1. torture --exec true --check true --writers 4 --readers 0 --kill-rate 0
#    for SECONDS (default 5), its acknowledged ops/s from the JSON report,
#    twice: with the default --kill-at syscall (every operation runs under
#    its `torture __traced` tracer, which counts the fault points even when
#    no kill is planned) and with --kill-at delay (no tracer);
# 2. a plain shell loop with the same parallelism: 4 loops, each spawning
#    `/bin/sh -c true` (what torture spawns per operation) for SECONDS.
# Prints the rates and each ratio (torture / loop). The runs themselves are
# judged `lost` (true adds nothing to any state); only their rates matter.
set -euo pipefail
secs=${1:-5}
torture=${2:-target/release/torture}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rate() {
  "$torture" --exec true --check true --writers 4 --readers 0 --kill-rate 0 --kill-at "$1" \
    --duration "${secs}s" --json "$work/r.json" >/dev/null 2>&1 || true
  # The run is judged lost and keeps its directory as evidence: not needed.
  python3 - "$work/r.json" <<'PY'
import json, shutil, sys
r = json.load(open(sys.argv[1]))
if r.get("dir_kept") and "/torture-" in r["config"]["dir"]:
    shutil.rmtree(r["config"]["dir"], ignore_errors=True)
print("%.0f" % r["throughput_ops_per_s"])
PY
}
traced=$(rate syscall)
untraced=$(rate delay)

loop() {
  local end=$((SECONDS + secs)) n=0
  while [ "$SECONDS" -lt "$end" ]; do /bin/sh -c true; n=$((n + 1)); done
  echo "$n" > "$work/loop.$1"
}
start=$(date +%s.%N)
for i in 1 2 3 4; do loop "$i" & done
wait
elapsed=$(python3 -c "import time; print(time.time() - $start)")
total=$(cat "$work"/loop.* | paste -sd+ | bc)
plain=$(python3 -c "print('%.0f' % ($total / $elapsed))")
ratio() { python3 -c "print('%.2f' % ($1 / $plain))"; }
echo "shell loop: $plain ops/s; torture --exec true, --kill-at syscall (default): $traced ops/s, ratio $(ratio "$traced"); --kill-at delay: $untraced ops/s, ratio $(ratio "$untraced")"
