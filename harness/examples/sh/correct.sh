#!/bin/sh
# Correct: flock(1) on state.lock across read-modify-write; temp file in the
# same directory, sync (fsync), mv (rename).
set -e
exec 9>>"$TORTURE_STATE.lock"
flock 9
tmp=$(mktemp "$TORTURE_STATE.tmp-XXXXXX")
trap 'rm -f "$tmp"' EXIT
if [ -e "$TORTURE_STATE" ]; then grep -v '^end ' "$TORTURE_STATE" > "$tmp" || true; fi
echo "$TORTURE_OP" >> "$tmp"
echo "end $(grep -c . "$tmp")" >> "$tmp"
sync "$tmp"
mv "$tmp" "$TORTURE_STATE"
sync "$(dirname "$TORTURE_STATE")"
trap - EXIT
