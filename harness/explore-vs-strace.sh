#!/usr/bin/env bash
# Fault points checked per second: `torture explore --faults kill` against
# the peer, a shell loop of `strace -f -e inject=SYSCALL:signal=SIGKILL:when=N`
# plus the check command, over every kill point of one operation of a small
# outside program (examples/counter.rs), on the same machine in the same run.
#
#   harness/explore-vs-strace.sh [ROUNDS]      (REPEAT=N explorations per round)
#
# TORTURE (default target/release/torture) and PROG (default
# target/release/examples/counter) name the binaries; build them with
# `cargo build --release --bins --examples`. The peer gets every advantage: its
# points are found by a recording that is not timed, it runs the program
# without a shell, and it does no recovery check. torture's time is the
# whole command: preparation, recording, and per point a restore, the
# faulted run, the check, the next operation and its check.
set -euo pipefail
rounds=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
torture=${TORTURE:-$root/target/release/torture}
prog=${PROG:-$root/target/release/examples/counter}
for b in "$torture" "$prog"; do
    [ -x "$b" ] || { echo "explore-vs-strace: $b not found: cargo build --release --bins --examples" >&2; exit 2; }
done
command -v strace >/dev/null || { echo "explore-vs-strace: strace not found: apt-get install strace" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
set_list=open,openat,creat,write,pwrite64,writev,fsync,fdatasync,rename,renameat,renameat2,link,linkat,unlink,unlinkat,mkdir,ftruncate,fallocate,close,flock,fcntl

now() { date +%s.%N; }

peer_round() {
    local dir=$work/run snap=$work/snap
    rm -rf "$dir" "$snap"
    mkdir "$dir"
    export TORTURE_DIR=$dir TORTURE_STATE=$dir/state TORTURE_WRITER=0
    (cd "$dir" && TORTURE_OP=w0-0 "$prog" op && TORTURE_OP=w0-1 "$prog" op)
    cp -a "$dir" "$snap"
    # Untimed recording: the Nth call of each syscall, per process, that
    # names a file in the run directory is a kill point.
    (cd "$dir" && TORTURE_OP=w0-2 strace -f -y -qq -o "$work/rec" -e trace=$set_list "$prog" op)
    awk -v d="$dir" '{
        split($2, a, "("); name = a[1]; key = $1 " " name; n[key]++
        line = $0; gsub(/AT_FDCWD<[^>]*>/, "", line); if (index(line, d "/") || index(line, d ">") || index(line, d "\"")) print name ":" n[key]
    }' "$work/rec" > "$work/points"
    local points=0 caught=0 start end
    start=$(now)
    while IFS=: read -r sc nth; do
        rm -rf "$dir"; cp -a "$snap" "$dir"
        (cd "$dir" && TORTURE_OP=w0-2 strace -f -qq -o /dev/null -e trace=$sc \
            -e inject=$sc:signal=SIGKILL:when=$nth "$prog" op) 2>/dev/null || true
        if ! (cd "$dir" && "$prog" check) > "$work/out" 2>&1 \
            || ! grep -qx w0-0 "$work/out" || ! grep -qx w0-1 "$work/out"; then
            caught=$((caught + 1))
        fi
        points=$((points + 1))
    done < "$work/points"
    end=$(now)
    echo "$points $(echo "$end - $start" | bc -l) $caught"
}

torture_round() {
    local start end
    start=$(now)
    "$torture" explore --exec "$prog op" --check "$prog check" --faults kill \
        --json "$work/t.json" > /dev/null
    end=$(now)
    local points
    points=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['runs'])" "$work/t.json")
    echo "$points $(echo "$end - $start" | bc -l)"
}

# Each round repeats each side REPEAT times (default 5) and adds them up,
# so that start-up noise of a few milliseconds does not decide the ratio.
repeat=${REPEAT:-5}
sum() { awk '{p += $1; t += $2; c += $3} END {print p, t, c}'; }

printf "%-6s %-28s %-28s %s\n" round "torture explore (points/s)" "strace loop (points/s)" ratio
for r in $(seq 1 "$rounds"); do
    read -r tp ts _ < <(for _ in $(seq 1 "$repeat"); do torture_round; done | sum)
    # The shell reports each killed strace on stderr: not news here.
    read -r sp ss scaught < <(for _ in $(seq 1 "$repeat"); do peer_round 2>/dev/null; done | sum)
    trate=$(echo "$tp / $ts" | bc -l)
    srate=$(echo "$sp / $ss" | bc -l)
    printf "%-6s %-28s %-28s %.2f\n" "$r" "$(printf '%d in %.2fs = %.1f' "$tp" "$ts" "$trate")" \
        "$(printf '%d in %.2fs = %.1f' "$sp" "$ss" "$srate")" "$(echo "$trate / $srate" | bc -l)"
    [ "$scaught" -eq 0 ] || echo "note: the strace loop saw $scaught violations" >&2
done
