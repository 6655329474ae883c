#!/usr/bin/env bash
# Measures how reliably scenarios meet their expectations.
#
#   harness/rates.sh RUNS SCENARIO.toml...
#
# KILL_AT=syscall lands every kill at a file-system syscall's entry
# (`torture run --kill-at syscall`) instead of after a random delay.
# Runs each scenario RUNS times (each run draws a fresh seed unless the file
# fixes one) and prints one row per scenario: its expectation, in how many
# runs it was met, and the seeds of the runs that missed (replay one with the
# `replay` line of `torture run`). TORTURE names the binary to use (default:
# target/release/torture). Failing runs keep their temporary directory as
# evidence; this script removes them, since it only counts. Set KEEP_MISSES
# to a directory to keep the JSON report of every run that missed.
set -euo pipefail
runs=$1
shift
torture=${TORTURE:-target/release/torture}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%-28s %-14s %s\n' scenario expected met
for scenario in "$@"; do
  met=0; misses=""; expected="?"
  for _ in $(seq 1 "$runs"); do
    "$torture" run ${KILL_AT:+--kill-at "$KILL_AT"} --json "$work/r.json" "$scenario" >/dev/null 2>&1 || true
    read -r ok seed expected dir < <(python3 - "$work/r.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
print("ok" if s["met"] else "miss", s["report"]["config"]["seed"], s["expected"],
      "" if s["report"]["dir_removed"] else s["report"]["config"]["dir"])
PY
)
    [ -n "${dir:-}" ] && case "$dir" in /tmp/torture-*) rm -rf "$dir" ;; esac
    if [ "$ok" = ok ]; then
      met=$((met + 1))
    else
      misses="$misses $seed"
      [ -n "${KEEP_MISSES:-}" ] && mkdir -p "$KEEP_MISSES" && cp "$work/r.json" "$KEEP_MISSES/$(basename "$scenario" .toml)-$seed.json"
    fi
  done
  printf '%-28s %-14s %d of %d%s\n' "$(basename "$scenario" .toml)" "$expected" "$met" "$runs" \
    "${misses:+  (missed seeds:$misses)}"
done
