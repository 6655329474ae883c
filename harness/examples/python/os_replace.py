"""The os.replace adapter of harness/durability.sh: os_replace.py MODE.

flock on state.lock held across the read-modify-write, then a temp file in
the same directory os.replace'd over the state, with the fsyncs MODE names:
  none  no fsync at all (the common recipe; replace_no_fsync.py);
  file  os.fsync of the temp file before the rename, not of the directory;
  full  os.fsync of the temp file and of the directory after the rename
        (correct.py).
os.replace is rename(2) alone: it syncs nothing itself."""
import fcntl
import sys

from common import OP, STATE, encode, fail, read_state, write_atomic

MODES = {
    "none": {"fsync_file": False, "fsync_dir": False},
    "file": {"fsync_file": True, "fsync_dir": False},
    "full": {"fsync_file": True, "fsync_dir": True},
}

if len(sys.argv) != 2 or sys.argv[1] not in MODES:
    fail(f"usage: os_replace.py {'|'.join(MODES)}")
with open(STATE + ".lock", "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    state = read_state()
    state["ops"].append(OP)
    write_atomic(encode(state), **MODES[sys.argv[1]])
