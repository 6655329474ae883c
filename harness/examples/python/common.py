"""Shared by the Python examples: the state is JSON {"ops": [...]}."""
import json
import os
import sys

STATE = os.environ["TORTURE_STATE"]
OP = os.environ.get("TORTURE_OP", "")


def load(text):
    """Parses the state; a torn file raises, which is what a real program does."""
    return json.loads(text) if text else {"ops": []}


def read_state():
    try:
        with open(STATE, encoding="utf-8") as f:
            return load(f.read())
    except FileNotFoundError:
        return {"ops": []}


def encode(state):
    return json.dumps(state, indent=1) + "\n"


def write_atomic(data, fsync_file=True, fsync_dir=True):
    """Temp file in the same directory, fsync, rename, fsync the directory.

    Dropping an fsync is a durability bug that only a power loss shows:
    without fsync_file the rename can reach the disk before the data (an
    empty state), without fsync_dir the rename may not reach it at all."""
    import tempfile

    directory = os.path.dirname(STATE) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".state.tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            if fsync_file:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, STATE)
    except BaseException:
        os.unlink(tmp)
        raise
    if not fsync_dir:
        return
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)
