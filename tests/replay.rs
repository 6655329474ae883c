//! Replay lines and `repro.sh` run as printed: through `sh`, from another
//! directory, naming the binary that printed them (its absolute path when
//! `torture` on PATH is not it, plain `torture` when it is).

mod util;

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use util::{TestDir, read_json};

/// A program that acknowledges every operation and keeps none: `lost` on
/// every run, whatever the seed, with no kill needed. Its operation fails
/// unless it sees the scenario's directory, so a replay that dropped the
/// environment would fail differently.
const LOSE_EXEC: &str = "test -d \"$TORTURE_SCENARIO_DIR\"";
const LOSE_CHECK: &str = "cat \"$TORTURE_STATE\" 2>/dev/null || true";

/// The arguments of a run of that program, without the scenario's
/// directory (a plain `true` stands in for its operation).
const LOSE_RUN: [&str; 12] = [
    "--exec",
    "true",
    "--check",
    LOSE_CHECK,
    "--writers",
    "1",
    "--readers",
    "0",
    "--kill-rate",
    "0",
    "--ops",
    "5",
];

/// Runs `line` with `sh -c` in `cwd` (its temporary directories there
/// too), with `path` as PATH when given.
fn sh(line: &str, cwd: &Path, path: Option<&OsString>) -> Output {
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(line).current_dir(cwd).env("TMPDIR", cwd);
    if let Some(p) = path {
        c.env("PATH", p);
    }
    c.output().unwrap()
}

fn describe(line: &str, out: &Output) -> String {
    format!(
        "line: {line}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The verdict, lost count and seed of a run report.
fn outcome(r: &Value) -> (Value, Value, Value) {
    (
        r["verdict"].clone(),
        r["violations"]["lost"].clone(),
        r["config"]["seed"].clone(),
    )
}

#[test]
fn a_scenarios_replay_line_reruns_from_another_directory() {
    let t = TestDir::new();
    let toml = format!(
        "exec = '{LOSE_EXEC}'\ncheck = '{LOSE_CHECK}'\n\
         writers = 1\nreaders = 0\nkill_rate = 0\nops = 5\nexpect = [\"lost\"]\n"
    );
    std::fs::write(t.join("lose.toml"), toml).unwrap();
    let run = t.run(&["run", "lose.toml", "--json", "s.json"]);
    run.expect_code(0);
    let first = read_json(&t.join("s.json"))["scenarios"][0]["report"].clone();
    assert_eq!(first["violations"]["lost"], 6, "{}", run.describe());
    let line = first["replay"].as_str().unwrap().to_string();
    let env = format!("TORTURE_SCENARIO_DIR={} ", t.path().display());
    assert!(
        line.starts_with(&format!("{env}{} --exec ", util::torture_word())),
        "{line}"
    );

    let other = TestDir::new();
    let line = format!("{line} --json r.json");
    let out = sh(&line, other.path(), None);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&line, &out));
    let again = read_json(&other.join("r.json"));
    assert_eq!(
        outcome(&again),
        outcome(&first),
        "{}",
        describe(&line, &out)
    );
}

#[test]
fn repro_sh_reruns_a_failing_run_from_another_directory() {
    let t = TestDir::new();
    let mut args = LOSE_RUN.to_vec();
    args.extend(["--artifacts", "art", "--json", "r.json"]);
    let run = t.run(&args);
    run.expect_code(1);
    let first = read_json(&t.join("r.json"));
    let repro = t.join("art/repro.sh");
    let script = std::fs::read_to_string(&repro).unwrap();
    assert!(
        script.contains(&format!("\n{} --exec true ", util::torture_word())),
        "{script}"
    );

    let other = TestDir::new();
    let line = format!(
        "{} --json r.json",
        shlex::try_quote(repro.to_str().unwrap()).unwrap()
    );
    let out = sh(&line, other.path(), None);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&line, &out));
    let again = read_json(&other.join("r.json"));
    assert_eq!(
        outcome(&again),
        outcome(&first),
        "{}",
        describe(&line, &out)
    );
    assert_eq!(again["violations"]["lost"], 6);
}

/// With this very binary first on PATH (through a link), the line says
/// plain `torture`, and runs; without it, the absolute path.
#[test]
fn torture_is_named_plainly_only_when_path_runs_this_binary() {
    let t = TestDir::new();
    let bin_dir = t.join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(util::bin(), bin_dir.join("torture")).unwrap();
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin_dir];
    dirs.extend(std::env::split_paths(&inherited));
    let with_it = std::env::join_paths(dirs).unwrap();

    let mut args = LOSE_RUN.to_vec();
    args.extend(["--json", "r.json"]);
    let mut c = t.cmd(&args);
    let out = c.env("PATH", &with_it).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe("", &out));
    let first = read_json(&t.join("r.json"));
    let line = first["replay"].as_str().unwrap().to_string();
    assert!(line.starts_with("torture --exec true "), "{line}");

    let other = TestDir::new();
    let line = format!("{line} --json r.json");
    let out = sh(&line, other.path(), Some(&with_it));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&line, &out));
    assert_eq!(outcome(&read_json(&other.join("r.json"))), outcome(&first));

    // The same run without the link names the binary by its path.
    let bare = TestDir::new();
    let mut c = bare.cmd(&args);
    let out = c.env("PATH", "/usr/bin:/bin").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe("", &out));
    let line = read_json(&bare.join("r.json"))["replay"]
        .as_str()
        .unwrap()
        .to_string();
    let real = util::bin().canonicalize().unwrap();
    let quoted = shlex::try_quote(real.to_str().unwrap())
        .unwrap()
        .into_owned();
    assert!(
        line.starts_with(&format!("{quoted} --exec true ")),
        "{line}"
    );
}
