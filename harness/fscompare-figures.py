#!/usr/bin/env python3
"""Prints every figure the README quotes from a comparison's report.json.

    harness/fscompare-figures.py [reports/fscompare/report.json]

The README's "The sample report" and "Power loss on a real file system"
sections quote the committed sample (made by harness/fscompare.sh); after
the sample is regenerated, this prints the figures those sections must
then say, each next to the sentence it belongs to.
"""
import json
import sys

DISKS = ("ext4", "xfs", "btrfs")


def main(path):
    r = json.load(open(path))
    rows = {(x["fs"], x["strategy"]): x for x in r["rows"]}
    fsync = {f["name"]: f["fsync_p50_us"] for f in r["filesystems"]}
    disks = [d for d in DISKS if (d, "reference") in rows]

    def ops(fs, s):
        return rows[(fs, s)]["ops_per_s"]

    p = r["params"]
    print(f"command: {r['command']}")
    print(f"machine: {r['machine']}; {p['duration_s']} s per run, {p['writers']} writers, "
          f"kill rate {p['kill_rate']}, seed {p['seed']}, power {p.get('power')}")
    print(f"all_met {r['all_met']}, {r['seconds']:.0f} s in all")

    print("\n## Reference discipline")
    if ("tmpfs", "reference") in rows:
        print(f"tmpfs reference: {ops('tmpfs', 'reference'):.0f} ops/s")
    for d in disks:
        print(f"{d} reference: {ops(d, 'reference'):.0f} ops/s")
    for fs, us in fsync.items():
        print(f"fsync of a 4 KiB overwrite on {fs}: {us:.0f} us")

    print("\n## What durability costs (no-fsync / reference)")
    for d in disks:
        print(f"{d}: no-fsync {ops(d, 'no-fsync'):.0f} ops/s, "
              f"{ops(d, 'no-fsync') / ops(d, 'reference'):.1f} times reference")

    print("\n## SQLite")
    for d in disks:
        x = rows[(d, "sqlite")]
        pw = x.get("power") or {}
        print(f"{d}: sqlite {x['ops_per_s']:.0f} ops/s (reference {ops(d, 'reference'):.0f}: "
              f"{'faster' if x['ops_per_s'] > ops(d, 'reference') else 'slower'}); "
              f"SIGKILL {x['observed']}, power {pw.get('observed', '-')}")

    print("\n## Verdicts under SIGKILL: the cells that missed their expectation")
    for x in r["rows"]:
        if not x["met"]:
            print(f"{x['fs']} {x['strategy']}: expected {x['expected']}, observed {x['observed']}, "
                  f"{x['kills']} kills landed of {x['kills'] + x['kills_missed']} drawn")

    print("\n## Latency (p99 of runs that completed)")
    for fs in ("tmpfs",) + DISKS:
        if (fs, "reference") not in rows:
            continue
        ref = rows[(fs, "reference")]
        print(f"{fs} reference: p50 {ref['p50_us'] / 1000:.1f} ms, p99 {ref['p99_us'] / 1000:.1f} ms")
    for group, members in (("tmpfs", ("tmpfs",)), ("the disks", DISKS)):
        done = [x for x in r["rows"] if x["fs"] in members and x["stopped"] == "completed"]
        if done:
            lo = min(done, key=lambda x: x["p99_us"])
            hi = max(done, key=lambda x: x["p99_us"])
            print(f"{group}: p99 from {lo['p99_us'] / 1000:.1f} ms ({lo['strategy']} on {lo['fs']}) "
                  f"to {hi['p99_us'] / 1000:.1f} ms ({hi['strategy']} on {hi['fs']})")

    power = [x for x in r["rows"] if x.get("power")]
    if not power:
        return
    print("\n## Power loss")
    correct = ("reference", "cas-excl", "sqlite", "short-write", "fsync-ignore")
    cells = [rows[(d, s)]["power"] for d in disks for s in correct if rows[(d, s)].get("power")]
    print(f"correct disciplines: observed {sorted({c['observed'] for c in cells})}, "
          f"{min(c['crash_states'] for c in cells)} to {max(c['crash_states'] for c in cells)} crash states each")
    for s in ("no-dir-fsync", "no-fsync", "naive", "no-lock", "lock-target", "fcntl-close", "cas-naive"):
        seen = ", ".join(f"{d} {rows[(d, s)]['power']['observed']}" for d in disks if rows[(d, s)].get("power"))
        print(f"{s}: {seen}")
    for x in power:
        if x["power"].get("lax_models"):
            print(f"too lax: {x['power']['lax_models']} for {x['strategy']} on {x['fs']} "
                  f"(posix {x['power']['model_posix']}, ordered {x['power']['model_ordered']})")
    for d in disks:
        c = rows[(d, "reference")]["power"]
        print(f"{d} reference: {c['states_per_second']:.1f} crash states/s, slowdown {c['slowdown']:.1f} "
              f"({c['ops_per_s']:.0f} ops/s recorded against {ops(d, 'reference'):.0f} plain)")
    worst = max(power, key=lambda x: x["power"]["slowdown"] or 0)
    print(f"largest slowdown: {worst['power']['slowdown']:.1f} ({worst['strategy']} on {worst['fs']})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "reports/fscompare/report.json")
