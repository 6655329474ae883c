"""Broken (stall): locks by creating state.lock exclusively (O_EXCL), the way
index.lock files work, and removes it when done. A crash while holding it
leaves it behind, and every later run waits for it forever."""
import os
import time

from common import OP, STATE, encode, read_state, write_atomic

LOCK = STATE + ".lock"
while True:
    try:
        os.close(os.open(LOCK, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        break
    except FileExistsError:
        time.sleep(0.01)
try:
    state = read_state()
    state["ops"].append(OP)
    write_atomic(encode(state))
finally:
    os.unlink(LOCK)
