#!/usr/bin/env bash
# What a clean build costs: `cargo build --release` of the disciplines alone
# (`-p crashsafe`) and of the whole workspace (the `torture` binary), each
# from a copy of the committed tree (git archive HEAD) into an empty target
# directory of its own, one after the other. The crates' sources must be in
# Cargo's cache already (a first build downloads them: not timed here).
#
#   harness/build-time.sh
#
# Prints one row per build: the crates compiled, the wall-clock time and the
# CPU time (user + sys) of the build and its children, then the machine
# (CPUs, load average at the start, rustc). The README's "Prerequisites" and
# "What it costs to depend on" figures come from it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$root" archive HEAD | tar -x -C "$work"
load=$(cut -d' ' -f1-3 /proc/loadavg)

# One clean build; prints "crates wall_s cpu_s".
build() {
    local target=$work/target-$1; shift
    local start end
    start=$(date +%s.%N)
    # bash's `times` gives the children's CPU time; run the build in a
    # subshell so that only its own children count.
    (cd "$work" && cargo build --release --locked --target-dir "$target" "$@" 2>"$target.log" && times) \
        | tail -1 > "$target.times"
    end=$(date +%s.%N)
    local crates cpu
    crates=$(grep -c '^ *Compiling ' "$target.log")
    cpu=$(awk '{ for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } } END { printf "%.1f", s }' "$target.times")
    printf '%s %.1f %s\n' "$crates" "$(echo "$end - $start" | bc -l)" "$cpu"
}

read -r c_crates c_wall c_cpu < <(build crashsafe -p crashsafe)
read -r w_crates w_wall w_cpu < <(build workspace --workspace)
printf '%-34s %8s %10s %16s\n' build crates "wall (s)" "CPU u+s (s)"
printf '%-34s %8s %10s %16s\n' "-p crashsafe" "$c_crates" "$c_wall" "$c_cpu"
printf '%-34s %8s %10s %16s\n' "--workspace (the torture binary)" "$w_crates" "$w_wall" "$w_cpu"
printf 'ratio crashsafe / workspace: wall %.1f %%, CPU %.1f %%\n' \
    "$(echo "100 * $c_wall / $w_wall" | bc -l)" "$(echo "100 * $c_cpu / $w_cpu" | bc -l)"
echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average at the start $load; $(rustc --version)"
