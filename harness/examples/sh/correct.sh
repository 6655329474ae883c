#!/bin/sh
# Correct: flock(1) on state.lock across read-modify-write; temp file in the
# same directory, sync (fsync), mv (rename). Every failure stops it before
# the rename: grep's exit 1 only means "no line", anything else is an error
# (an `|| true` there would rename a file missing every earlier op).
set -e
exec 9>>"$TORTURE_STATE.lock"
flock 9
tmp=$(mktemp "$TORTURE_STATE.tmp-XXXXXX")
trap 'rm -f "$tmp"' EXIT
if [ -e "$TORTURE_STATE" ]; then grep -v '^end ' "$TORTURE_STATE" > "$tmp" || [ $? -eq 1 ]; fi
echo "$TORTURE_OP" >> "$tmp"
n=$(grep -c . "$tmp")
echo "end $n" >> "$tmp"
sync "$tmp"
mv "$tmp" "$TORTURE_STATE"
sync "$(dirname "$TORTURE_STATE")"
trap - EXIT
