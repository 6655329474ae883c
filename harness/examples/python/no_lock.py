"""Broken (lost updates): every write is atomic, but nothing stops two
read-modify-write cycles from interleaving."""
from common import OP, encode, read_state, write_atomic

state = read_state()
state["ops"].append(OP)
write_atomic(encode(state))
