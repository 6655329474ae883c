"""Correct: flock on a sibling state.lock held across read-modify-write,
then an atomic write (temp in the same directory, fsync, rename, fsync dir)."""
import fcntl
import os

from common import OP, STATE, encode, read_state, write_atomic

with open(STATE + ".lock", "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    state = read_state()
    state["ops"].append(OP)
    write_atomic(encode(state))
