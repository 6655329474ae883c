#!/usr/bin/env bash
# Measures how reliably scenarios meet their expectations: a thin call of
# `torture run --repeat RUNS`, which counts them itself (its JSON report's
# `rates`), printed as a table.
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

# Exit 1 or 3 only says that some run missed: the rates tell which.
"$torture" run --repeat "$runs" ${KILL_AT:+--kill-at "$KILL_AT"} \
  --json "$work/r.json" "$@" >"$work/out" 2>&1 || status=$?
if [ ! -s "$work/r.json" ]; then
  cat "$work/out" >&2
  exit "${status:-4}"
fi
python3 - "$work/r.json" "${KEEP_MISSES:-}" <<'PY'
import json, os, shutil, sys, tempfile

doc = json.load(open(sys.argv[1]))
keep = sys.argv[2]
tmp = os.path.realpath(tempfile.gettempdir())
missed = {}
for s in doc["scenarios"]:
    report = s.get("report")
    if report and report.get("dir_kept"):
        d = os.path.realpath(report["config"]["dir"])
        if os.path.dirname(d) == tmp and os.path.basename(d).startswith("torture-"):
            shutil.rmtree(d, ignore_errors=True)
    if s["met"]:
        continue
    seed = report["config"]["seed"] if report else f"#{s['repetition']}"
    missed.setdefault((s["file"], s["name"]), []).append(str(seed))
    if keep:
        os.makedirs(keep, exist_ok=True)
        with open(os.path.join(keep, f"{s['name']}-{seed}.json"), "w") as f:
            json.dump(s, f, indent=2)
print(f"{'scenario':<28} {'expected':<14} met")
for r in doc["rates"]:
    misses = missed.get((r["file"], r["name"]), [])
    note = f"  (missed seeds: {' '.join(misses)})" if misses else ""
    if r["not_run"]:
        note += f"  ({r['not_run']} not run)"
    print(f"{r['name']:<28} {r['expected']:<14} {r['met']} of {r['runs']}{note}")
PY
