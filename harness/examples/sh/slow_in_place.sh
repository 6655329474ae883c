#!/bin/sh
# Broken (torn), and slow: under a correct lock, computes for 100 ms, then
# rewrites the state in place with one printf. The damage window (from the
# truncating open to the end of the write) is a few microseconds of a 100 ms
# operation: timed kills almost never land in it; kills at fault points do.
set -e
exec 9>>"$TORTURE_STATE.lock"
flock 9
ids=""
if [ -e "$TORTURE_STATE" ]; then ids=$(grep -v '^end ' "$TORTURE_STATE" || true); fi
sleep 0.1
n=$(printf '%s\n' $ids "$TORTURE_OP" | grep -c .)
printf '%s\nend %s\n' "$(printf '%s\n' $ids "$TORTURE_OP")" "$n" > "$TORTURE_STATE"
