#!/bin/sh
# Broken (stall): locks by creating state.lock exclusively (noclobber) and
# removes it when done. A crash while holding it leaves it behind for good.
lock="$TORTURE_STATE.lock"
until (set -C; echo $$ > "$lock") 2>/dev/null; do sleep 0.01; done
tmp=$(mktemp "$TORTURE_STATE.tmp-XXXXXX")
if [ -e "$TORTURE_STATE" ]; then grep -v '^end ' "$TORTURE_STATE" > "$tmp" || true; fi
echo "$TORTURE_OP" >> "$tmp"
echo "end $(grep -c . "$tmp")" >> "$tmp"
mv "$tmp" "$TORTURE_STATE"
rm -f "$lock"
