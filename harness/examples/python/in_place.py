"""Broken (torn): under a correct lock, rewrites the state in place, one
line at a time through a line-buffered file, as a logger-style writer does.
A crash between the truncating open and the last line leaves half a file."""
import fcntl

from common import OP, STATE, encode, read_state

with open(STATE + ".lock", "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    state = read_state()
    state["ops"].append(OP)
    with open(STATE, "w", buffering=1, encoding="utf-8") as f:
        for line in encode(state).splitlines(keepends=True):
            f.write(line)
