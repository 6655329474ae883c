#!/usr/bin/env bash
# The trust claims, measured: N runs each with fresh seeds.
#
#   harness/trust-rates.sh [N] [FILTER]    (FILTER: only the measures whose label has it)
#
# 1. A stale-lock program (an O_EXCL lock file removed when done: the
#    Python and sh lockfile examples) in a 4 s run with the default options
#    must be found `stall`.
# 2. The Python and sh in-place examples at 4 writers with the default
#    options must be found (torn, or lost when the next writer rewrote the
#    torn state first) or reported inconclusive, never PASS; with the
#    coverage rule (--until-covered 1) they must be found.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
filter=${2:-}
cargo build --release --quiet
py=$PWD/harness/examples/python/run
sh_dir=$PWD/harness/examples/sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy, so that a build during the measurement does not change it.
cp target/release/torture "$work/torture"
bin=$work/torture

# A run that found something keeps its temporary directory as evidence;
# this script only counts, so it removes it.
discard_kept() {
  python3 - "$1" <<'PY'
import json, shutil, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    sys.exit(0)
d = r["config"]["dir"]
if r.get("dir_kept") and "/torture-" in d:
    shutil.rmtree(d, ignore_errors=True)
PY
}

# Runs the command N times; prints "found/pass/inconclusive/other" and the
# classes seen.
measure() {
  local label=$1; shift
  [[ $label == *"$filter"* ]] || return 0
  local found=0 pass=0 inconclusive=0 other=0 classes=""
  for _ in $(seq 1 "$n"); do
    rm -f "$work/r.json"
    set +e
    "$bin" "$@" --json "$work/r.json" >/dev/null 2>&1
    local code=$?
    set -e
    discard_kept "$work/r.json"
    case $code in
      1) found=$((found + 1))
         classes+=" $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("+".join(k for k,v in r["violations"].items() if v))' "$work/r.json")" ;;
      0) pass=$((pass + 1)) ;;
      3) inconclusive=$((inconclusive + 1)) ;;
      *) other=$((other + 1)) ;;
    esac
  done
  local seen
  seen=$(tr ' ' '\n' <<<"$classes" | sed '/^$/d' | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')
  printf '%-44s found %2d/%d  PASS %2d  inconclusive %2d  other %d   (%s)\n' \
    "$label" "$found" "$n" "$pass" "$inconclusive" "$other" "${seen%, }"
}

measure "py lockfile, 4s, defaults" \
  --exec "$py lockfile" --check "$py check" --init "$py init" --duration 4s
measure "sh lockfile, 4s, defaults" \
  --exec "sh $sh_dir/lockfile.sh" --check "sh $sh_dir/check.sh" --duration 4s
measure "py in-place, 4 writers, defaults" \
  --exec "$py in_place" --check "$py check" --init "$py init" --writers 4
measure "sh in-place, 4 writers, defaults" \
  --exec "sh $sh_dir/in_place.sh" --check "sh $sh_dir/check.sh" --writers 4
measure "py in-place, 4 writers, --until-covered 1" \
  --exec "$py in_place" --check "$py check" --init "$py init" --writers 4 --until-covered 1 --duration 60s
measure "sh in-place, 4 writers, --until-covered 1" \
  --exec "sh $sh_dir/in_place.sh" --check "sh $sh_dir/check.sh" --writers 4 --until-covered 1 --duration 60s
