#!/usr/bin/env bash
# How often a slow outside program with a narrow window is found, with timed
# kills, with precise kills spread over the fault points, and with the
# coverage rule, side by side: N runs each, interleaved, fresh seeds.
#
#   harness/coverage-rates.sh [N] [DURATION]
#
# The program is harness/examples/sh/slow_in_place.sh: 100 ms of work under
# a lock, then an in-place rewrite whose damage window is microseconds wide.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
duration=${2:-5s}
cargo build --release --quiet
bin=target/release/torture
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ex=harness/examples/sh
common=(--exec "sh $PWD/$ex/slow_in_place.sh" --check "sh $PWD/$ex/check.sh"
        --writers 4 --kill-rate 0.2 --duration "$duration")
declare -A torn pass inconclusive other
modes=(delay syscall covered)
args_delay=(--kill-at delay)
args_syscall=(--kill-at syscall)
args_covered=(--kill-at syscall --until-covered 1)
for mode in "${modes[@]}"; do torn[$mode]=0; pass[$mode]=0; inconclusive[$mode]=0; other[$mode]=0; done
for i in $(seq 1 "$n"); do
  for mode in "${modes[@]}"; do
    extra="args_${mode}[@]"
    rm -f "$work/r.json"
    set +e
    "$bin" "${common[@]}" "${!extra}" --json "$work/r.json" >/dev/null 2>&1
    code=$?
    set -e
    # A run that found something keeps its directory as evidence; only
    # counted here.
    python3 - "$work/r.json" <<'PY'
import json, shutil, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    sys.exit(0)
if r.get("dir_kept") and "/torture-" in r["config"]["dir"]:
    shutil.rmtree(r["config"]["dir"], ignore_errors=True)
PY
    case $code in
      1) torn[$mode]=$((torn[$mode] + 1)) ;;
      0) pass[$mode]=$((pass[$mode] + 1)) ;;
      3) inconclusive[$mode]=$((inconclusive[$mode] + 1)) ;;
      *) other[$mode]=$((other[$mode] + 1)) ;;
    esac
  done
done
echo "slow_in_place.sh, 4 writers, kill rate 0.2, $duration, $n runs each"
printf '%-28s %8s %8s %14s %6s\n' kills "found" "PASS" "inconclusive" other
printf '%-28s %8s %8s %14s %6s\n' "--kill-at delay" "${torn[delay]}/$n" "${pass[delay]}" "${inconclusive[delay]}" "${other[delay]}"
printf '%-28s %8s %8s %14s %6s\n' "--kill-at syscall" "${torn[syscall]}/$n" "${pass[syscall]}" "${inconclusive[syscall]}" "${other[syscall]}"
printf '%-28s %8s %8s %14s %6s\n' "--kill-at syscall --until-covered 1" "${torn[covered]}/$n" "${pass[covered]}" "${inconclusive[covered]}" "${other[covered]}"
