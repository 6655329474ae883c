#!/bin/sh
# Broken (lost updates): atomic temp + mv, but no lock around the
# read-modify-write.
set -e
tmp=$(mktemp "$TORTURE_STATE.tmp-XXXXXX")
if [ -e "$TORTURE_STATE" ]; then grep -v '^end ' "$TORTURE_STATE" > "$tmp" || true; fi
echo "$TORTURE_OP" >> "$tmp"
echo "end $(grep -c . "$tmp")" >> "$tmp"
mv "$tmp" "$TORTURE_STATE"
