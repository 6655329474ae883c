#!/usr/bin/env bash
# Regenerates the committed sample comparison, reports/fscompare/: every
# strategy of the zoo on tmpfs, ext4, XFS and Btrfs under SIGKILL torture,
# and again under power loss on a recording disk of each file system with a
# block device (`torture fscompare --power-loss`). The README's "The sample
# report" and "Power loss on a real file system" figures come from it.
# Kills are the default delay kills, so the throughput is the strategies'
# own, untraced; on tmpfs an update takes tens of microseconds and few delay
# kills arrive inside one (about 10 land in 3 s), hence --min-kills 5.
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
exec "$TORTURE" fscompare --fs tmpfs,ext4,xfs,btrfs --duration 3s --seed 1 --min-kills 5 \
  --power-loss --out reports/fscompare "$@"
