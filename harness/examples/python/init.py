"""The init for every Python example: an empty state, written atomically."""
from common import encode, write_atomic

write_atomic(encode({"ops": []}))
