"""Broken for power loss only: flock on state.lock held across the
read-modify-write, then a temp file in the same directory os.replace'd over
the state, with no fsync at all (the common `os.replace` recipe).

A process crash cannot show it: the page cache keeps the data and the
rename, so it passes the SIGKILL runner. A power loss can keep the rename
without the temp file's data (an empty state, which does not parse: torn)
or drop the rename (the old state: acknowledged ops lost)."""
import fcntl

from common import OP, STATE, encode, read_state, write_atomic

with open(STATE + ".lock", "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    state = read_state()
    state["ops"].append(OP)
    write_atomic(encode(state), fsync_file=False, fsync_dir=False)
