#!/bin/sh
# The check for every shell example: the state is one op id per line and a
# trailer "end N". Prints the ids; exits 1 when the trailer does not match.
f="$TORTURE_STATE"
[ -e "$f" ] || exit 0
content=$(cat "$f") || exit 1
last=$(printf '%s\n' "$content" | tail -n 1)
ids=$(printf '%s\n' "$content" | grep -v '^end ')
n=$(printf '%s' "$ids" | grep -c .)
if [ "$last" != "end $n" ]; then
  echo "torn state: last line '$last' but $n ids" >&2
  exit 1
fi
[ -n "$ids" ] && printf '%s\n' "$ids"
exit 0
