"""Broken (lost updates): flock on the state file itself, then rename a new
file over it. The lock stays on the old inode; a waiter then reads the stale
content through its descriptor while a newcomer locks the new inode."""
import fcntl
import os

from common import OP, STATE, encode, load, write_atomic

fd = os.open(STATE, os.O_RDWR | os.O_CREAT, 0o644)
with os.fdopen(fd, "r+", encoding="utf-8") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    state = load(f.read())
    state["ops"].append(OP)
    write_atomic(encode(state))
