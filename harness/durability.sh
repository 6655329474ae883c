#!/usr/bin/env bash
# The durability of the atomic-write libraries people pick, under power loss:
# builds the adapters (examples/durability_adapter.rs for the Rust crates,
# harness/examples/python/os_replace.py for os.replace), puts each one under
# `torture explore --faults power --model M` for every persistence model,
# and writes the table to reports/durability.md (library, version, what it
# syncs, the verdict under each model, the first failing crash state).
#
#   harness/durability.sh [OPTIONS]
#
#   --out FILE          the report (default reports/durability.md)
#   --libraries LIST    comma-separated (default: every one; --list names them)
#   --models LIST       comma-separated, of posix, ordered, none (default: all)
#   --json-dir DIR      keep each exploration's JSON report there, as
#                       LIBRARY--MODEL.json (default: a temporary directory)
#   --render DIR        write the report from the JSON reports already in DIR;
#                       build and run nothing
#   --dry-run           print the explorations it would run, run nothing
#   --list              print the libraries and what each one syncs
#   -h, --help          this text
#
# TORTURE names the binary (default target/release/torture, built here with
# the adapters; a TORTURE of your own is not built, and its adapter is the
# one in its directory's examples/).
# Exit 0 when the report is written, whatever the verdicts; 1 when an
# exploration could not be run (among others: a torture without the
# power-loss tier); 2 on bad usage.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
me=harness/durability.sh
out=$root/reports/durability.md
models=posix,ordered,none
libraries=
json_dir=
render=
dry_run=
torture=${TORTURE:-$root/target/release/torture}
# The adapter is built with the binary, next to it.
adapter=$(dirname "$torture")/examples/durability_adapter
python_run=$root/harness/examples/python/run

# name | how it is driven | what it syncs (the Rust ones say it themselves)
python_libraries=(
    'os.replace|none|nothing: `os.replace` is `rename(2)` alone, and no `os.fsync` is called'
    'os.replace+fsync-file|file|file fsync only: `os.fsync` of the temporary file before `os.replace`, not of the directory'
    'os.replace+fsync-file+dir|full|file fsync + dir fsync: `os.fsync` of the temporary file before `os.replace`, of the directory after it'
)
rust_libraries=(torture tempfile-persist tempfile-sync-persist atomicwrites atomic-write-file)
all_models=(posix ordered none)

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() { echo "$me: $1" >&2; exit "${2:-1}"; }
bad_usage() { echo "$me: $1 (see --help)" >&2; exit 2; }

every_library() {
    printf '%s\n' "${rust_libraries[@]}"
    local entry
    for entry in "${python_libraries[@]}"; do printf '%s\n' "${entry%%|*}"; done
}

# The Python entry called $1, or nothing.
python_entry() {
    local entry
    for entry in "${python_libraries[@]}"; do
        [ "${entry%%|*}" = "$1" ] && { printf '%s\n' "$entry"; return; }
    done
}

is_rust() { printf '%s\n' "${rust_libraries[@]}" | grep -qxF -- "$1"; }

# $1 quoted for sh -c (which runs --exec, --check and --init), when it
# needs quotes.
q() {
    if [[ $1 =~ ^[A-Za-z0-9_./+,=:-]+$ ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}

# The exec, check and init commands of library $1, one per line.
commands_of() {
    if is_rust "$1"; then
        local a
        a=$(q "$adapter")
        printf '%s\n' "$a $1 op" "$a $1 check" "$a $1 init"
    else
        local mode py
        mode=$(python_entry "$1" | cut -d'|' -f2)
        py=$(q "$python_run")
        printf '%s\n' "$py os_replace $mode" "$py check" "$py init"
    fi
}

# What library $1 syncs, as the report says it, and the crate it comes from.
syncs_of() {
    if is_rust "$1"; then
        "$adapter" "$1" syncs
    else
        printf 'python\t%s\n' "$(python_entry "$1" | cut -d'|' -f3)"
    fi
}

# Splits the comma-separated $3 into the array named $2, each item one of
# the lines of $4; $1 names the option.
split_checked() {
    local option=$1 list=$3 valid=$4 item
    local -n into=$2
    [ -n "$list" ] || bad_usage "$option needs a comma-separated list"
    IFS=, read -r -a into <<< "$list"
    for item in "${into[@]}"; do
        grep -qxF -- "$item" <<< "$valid" ||
            bad_usage "$option: unknown \"$item\" (valid: $(paste -sd, <<< "$valid"))"
    done
}

while [ $# -gt 0 ]; do
    case $1 in
        --out) [ $# -ge 2 ] || bad_usage "--out needs a file"; out=$2; shift 2 ;;
        --libraries) [ $# -ge 2 ] || bad_usage "--libraries needs a list"; libraries=$2; shift 2 ;;
        --models) [ $# -ge 2 ] || bad_usage "--models needs a list"; models=$2; shift 2 ;;
        --json-dir) [ $# -ge 2 ] || bad_usage "--json-dir needs a directory"; json_dir=$2; shift 2 ;;
        --render) [ $# -ge 2 ] || bad_usage "--render needs a directory"; render=$2; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        --list) list=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) bad_usage "unknown argument \"$1\"" ;;
    esac
done
[ -z "$render" ] || [ -z "$json_dir" ] || bad_usage "--render reads its own directory: drop --json-dir"
[ -z "$render" ] || [ -z "$dry_run" ] || bad_usage "--render runs nothing already: drop --dry-run"
[ -z "$render" ] || [ -d "$render" ] || bad_usage "--render: no directory $render"
split_checked --models chosen_models "$models" "$(printf '%s\n' "${all_models[@]}")"
split_checked --libraries chosen "${libraries:-$(every_library | paste -sd,)}" "$(every_library)"
command -v python3 > /dev/null || die "python3 not found: it writes the report"

cd "$root"
if [ -z "$dry_run" ] && [ -z "$render" ]; then
    if [ -z "${TORTURE:-}" ]; then
        echo "$me: building torture and the adapters" >&2
        cargo build --release --bin torture --examples -q
    fi
    [ -x "$torture" ] || die "no torture binary at $torture"
    [ -x "$adapter" ] || die "no adapter at $adapter: cargo build --release --examples"
fi
if [ -n "${list:-}" ]; then
    [ -x "$adapter" ] || die "no adapter at $adapter: cargo build --release --examples"
    for lib in $(every_library); do printf '%-28s %s\n' "$lib" "$(syncs_of "$lib" | cut -f2)"; done
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$render" ]; then
    json_dir=$render
else
    json_dir=${json_dir:-$work/json}
    [ -n "$dry_run" ] || mkdir -p "$json_dir"
fi

# Explores library $1 under model $2 into $json_dir/$1--$2.json; exits the
# script when torture refuses the power-loss tier or writes no report.
explore() {
    local lib=$1 model=$2 json=$json_dir/$1--$2.json code=0
    local cmds
    mapfile -t cmds < <(commands_of "$lib")
    local args=(explore --exec "${cmds[0]}" --check "${cmds[1]}" --init "${cmds[2]}"
        --faults power --model "$model" --json "$json")
    if [ -n "$dry_run" ]; then
        local arg line
        line=$(q "$torture")
        for arg in "${args[@]}"; do line+=" $(q "$arg")"; done
        printf '%s\n' "$line"
        return
    fi
    echo "$me: $lib under $model" >&2
    rm -f "$json"
    "$torture" "${args[@]}" > "$work/stdout" 2> "$work/stderr" || code=$?
    if [ "$code" = 2 ]; then
        die "torture refused the power-loss tier (exit 2): $(head -n1 "$work/stderr")
this torture cannot run \`explore --faults power --model $model\`: the power-loss tier is not wired into explore in this build"
    fi
    [ "$code" = 0 ] || [ "$code" = 1 ] ||
        die "$lib under $model: torture explore exited $code: $(tail -n3 "$work/stderr")"
    [ -s "$json" ] || die "$lib under $model: torture explore wrote no JSON report"
    # A torture that takes --faults power without running the tier explores
    # nothing and passes: that is no verdict.
    python3 - "$json" "$model" <<'PY' || die "$lib under $model: not a power-loss exploration (see $json)"
import json, sys
r = json.load(open(sys.argv[1]))
if r.get("model", sys.argv[2]) != sys.argv[2]:
    sys.exit("the report is of model %r, not %r" % (r.get("model"), sys.argv[2]))
power = [f for f in r.get("faults", []) if f.get("name") == "power"]
if not power or power[0].get("tier") != "power-loss":
    sys.exit("the report's faults have no power-loss tier: " + json.dumps(r.get("faults")))
if not r.get("runs"):
    sys.exit("it checked no crash state (runs: %r): the power-loss tier did not run" % r.get("runs"))
PY
}

if [ -z "$render" ]; then
    for lib in "${chosen[@]}"; do
        for model in "${chosen_models[@]}"; do explore "$lib" "$model"; done
    done
    [ -z "$dry_run" ] || exit 0
fi

# The report's rows: library, crate, what it syncs; the JSON reports say
# the rest.
[ -x "$adapter" ] || die "no adapter at $adapter: cargo build --release --examples"
for lib in "${chosen[@]}"; do
    printf '%s\t%s\n' "$lib" "$(syncs_of "$lib")"
done > "$work/rows.tsv"
python3 - "$work/rows.tsv" "$json_dir" "$out" "$(paste -sd, <<< "$(printf '%s\n' "${chosen_models[@]}")")" \
    "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(uname -r)" \
    "$(/usr/bin/python3 --version 2>/dev/null || python3 --version)" <<'PY'
import json, os, sys, tomllib

rows_file, json_dir, out, models, commit, kernel, python = sys.argv[1:8]
models = models.split(",")
with open("Cargo.lock", "rb") as f:
    versions = {p["name"]: p["version"] for p in tomllib.load(f)["package"]}

def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")

def verdict(report):
    if report is None:
        return "not run"
    if report["verdict"] != "fail":
        return f"{report['verdict']} ({report['runs']} states)"
    classes = [k for k, n in report["violations"].items() if n]
    return "**FAIL**: " + ", ".join(classes)

def first_failure(reports):
    if all(r is None for r in reports.values()):
        return "-"
    for model in models:
        r = reports.get(model)
        if r and r.get("findings"):
            f = r["findings"][0]
            return (f"{model}: #{f['point']} `{cell(f['syscall'])}`: "
                    f"{f['outcome']} ({cell(f.get('detail') or '')})")
    return "none"

lines = [
    "# Durability of the atomic-write libraries under power loss",
    "",
    "Generated by `harness/durability.sh` (torture at " + commit + ", Linux " + kernel + ", "
    + python + "). Each library keeps a JSON list of op ids through a small adapter "
    "(`examples/durability_adapter.rs`, `harness/examples/python/os_replace.py`) under a "
    "flock, and `torture explore --faults power --model M` builds the crash states the "
    "model allows from the syscalls it recorded (a seeded sample beyond `--max-states`), "
    "then checks each: `torn` is a state that "
    "does not parse, `lost` an acknowledged op missing. What each library syncs was read "
    "in its source (the lines are named). `none` is the process-crash state, for comparison.",
    "",
    "| library | version | what it syncs | " + " | ".join(models) + " | first failing crash state |",
    "|---|---|---|" + "---|" * len(models) + "---|",
]
for row in open(rows_file).read().splitlines():
    lib, krate, syncs = row.split("\t", 2)
    version = python.replace("Python ", "") if krate == "python" else versions.get(krate, "?")
    crate = "Python" if krate == "python" else f"`{krate}`"
    reports = {}
    for model in models:
        path = os.path.join(json_dir, f"{lib}--{model}.json")
        reports[model] = json.load(open(path)) if os.path.exists(path) else None
    lines.append(f"| `{lib}` | {crate} {version} | {cell(syncs)} | "
                 + " | ".join(verdict(reports[m]) for m in models)
                 + f" | {first_failure(reports)} |")
text = "\n".join(lines) + "\n"
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
tmp = out + ".tmp"
with open(tmp, "w") as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
os.replace(tmp, out)
fd = os.open(os.path.dirname(os.path.abspath(out)), os.O_RDONLY)
try:
    os.fsync(fd)
finally:
    os.close(fd)
print(text, end="")
PY
