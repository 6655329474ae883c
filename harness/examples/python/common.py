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


def write_atomic(data):
    """Temp file in the same directory, fsync, rename, fsync the directory."""
    import tempfile

    directory = os.path.dirname(STATE) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".state.tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, STATE)
    except BaseException:
        os.unlink(tmp)
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)
