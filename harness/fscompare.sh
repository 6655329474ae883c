#!/usr/bin/env bash
# Regenerates the committed sample comparison, reports/fscompare/: every
# strategy of the zoo on tmpfs, ext4, XFS and Btrfs under SIGKILL torture,
# and again under power loss on a recording disk of each file system with a
# block device (`torture fscompare --power-loss`), with precise kills
# (`--kill-at syscall`: every kill lands inside an operation, where a
# delay kill arrives after a fast one is over). The README's "The sample
# report" and "Power loss on a real file system" figures come from it.
# Each run is 400 operations (not a duration): the evidence each verdict
# rests on does not depend on how fast a file system is, or how busy the
# machine.
#
#   harness/fscompare.sh [EXTRA FSCOMPARE OPTIONS]
#
# Needs root, loop devices, /dev/fuse and the mkfs of each file system.
# TORTURE names the binary (default target/release/torture, built here).
# Takes about 10 minutes on 2 CPUs. Exit: fscompare's own.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -z "${TORTURE:-}" ]; then
  cargo build --release --quiet
  TORTURE=$root/target/release/torture
fi
exec "$TORTURE" fscompare --fs tmpfs,ext4,xfs,btrfs --ops 400 --seed 1 --kill-at syscall \
  --power-loss --out reports/fscompare "$@"
