#!/bin/sh
# Broken (torn): under a correct lock, rewrites the state in place, one echo
# per line. A crash between the truncation and the trailer leaves half a file.
set -e
exec 9>>"$TORTURE_STATE.lock"
flock 9
ids=""
if [ -e "$TORTURE_STATE" ]; then ids=$(grep -v '^end ' "$TORTURE_STATE" || true); fi
n=0
{
  for id in $ids "$TORTURE_OP"; do echo "$id"; n=$((n + 1)); done
  echo "end $n"
} > "$TORTURE_STATE"
