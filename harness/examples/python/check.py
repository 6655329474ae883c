"""The check for every Python example: prints the op ids in the state.

Exits 1 when the state does not parse (torn)."""
import json
import sys

from common import STATE

try:
    with open(STATE, encoding="utf-8") as f:
        text = f.read()
except FileNotFoundError:
    sys.exit(0)
try:
    state = json.loads(text)
except ValueError as e:
    print(f"state does not parse: {e} ({len(text)} bytes)", file=sys.stderr)
    sys.exit(1)
for op in state["ops"]:
    print(op)
