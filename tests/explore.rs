//! `torture explore`: the verdicts of the zoo and of the shipped examples
//! under every fault at every point, determinism, threads, bad input,
//! artifacts and replay, and process hygiene.

mod util;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use torture_harness::vocab::{Fault, Finding};
use util::{TestDir, processes_with, read_json, wait_for};

/// The example program `examples/counter.rs`, built by `cargo test`.
fn counter() -> String {
    let bin = util::bin();
    let dir = bin.parent().expect("target dir");
    dir.join("examples/counter").display().to_string()
}

fn scenario(name: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    root.join("scenarios").join(name).display().to_string()
}

/// Runs `torture explore args... --json e.json` and returns the run and report.
fn explore(t: &TestDir, args: &[&str]) -> (util::Run, Value) {
    let mut all = vec!["explore"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", "e.json"]);
    let run = t.run(&all);
    assert!(
        t.join("e.json").exists(),
        "no JSON report\n{}",
        run.describe()
    );
    let report = read_json(&t.join("e.json"));
    (run, report)
}

/// The (class, fault) pairs of the findings.
fn found(report: &Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["outcome"].as_str().unwrap().to_string(),
                f["fault"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs.dedup();
    pairs
}

/// The outcome cells of the table, in order: what must not change between
/// two explorations of the same program.
fn cells(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for row in report["table"].as_array().unwrap() {
        for (fault, outcome) in row["outcomes"].as_object().unwrap() {
            out.push(format!("{} {fault} {outcome}", row["index"]));
        }
    }
    out
}

/// Every strategy of the zoo gets exactly the verdict its model declares
/// under the faults put at a syscall (the default of `--faults`): the ones
/// that must pass them have no finding at all (and, for the reference
/// disciplines, no file left behind after an error); the others show each
/// declared (class, fault) pair. The declared power-loss pairs are another
/// tier's, checked in tests/explore_power.rs.
#[test]
fn every_strategy_meets_its_explore_model() {
    for s in torture_harness::strategy::all() {
        let t = TestDir::new();
        // Operations take milliseconds; SQLite hangs after one injected
        // error (see its module), so a short timeout keeps the test short.
        let (run, report) = explore(&t, &["--strategy", s.name(), "--op-timeout", "2s"]);
        let expected: Vec<&(Fault, Finding)> = s
            .explore_expected()
            .iter()
            .filter(|(fault, _)| Fault::ALL.contains(fault))
            .collect();
        let cells = cells(&report);
        assert_eq!(
            report["runs"].as_u64().unwrap() as usize,
            cells.len(),
            "{}",
            run.describe()
        );
        assert_eq!(report["schema"], "torture/explore/v1");
        assert_eq!(report["diverged"], 0, "{}: {}", s.name(), run.describe());
        for row in report["table"].as_array().unwrap() {
            for fault in ["kill", "eio"] {
                assert!(
                    row["outcomes"].get(fault).is_some(),
                    "{}: #{} not explored under {fault}",
                    s.name(),
                    row["index"]
                );
            }
        }
        if expected.is_empty() {
            run.expect_code(0);
            assert_eq!(report["verdict"], "pass", "{}", s.name());
            assert!(
                found(&report).is_empty(),
                "{}: {}",
                s.name(),
                run.describe()
            );
        } else {
            run.expect_code(1);
            let pairs = found(&report);
            for (fault, class) in expected {
                let want = (class.name().to_string(), fault.name().to_string());
                assert!(
                    pairs.contains(&want),
                    "{}: {want:?} not in {pairs:?}",
                    s.name()
                );
            }
        }
        if ["reference", "cas-excl"].contains(&s.name()) {
            assert_eq!(report["litter"], serde_json::json!([]), "{}", s.name());
        }
    }
}

/// The three broken strategies of the issue, each under its one fault.
#[test]
fn each_flaw_is_found_under_its_own_fault() {
    for (strategy, fault, class) in [
        ("naive", "kill", "torn"),
        ("short-write", "short-write", "torn"),
        ("fsync-ignore", "eio", "unsafe_ack"),
    ] {
        let t = TestDir::new();
        let (run, report) = explore(&t, &["--strategy", strategy, "--faults", fault]);
        run.expect_code(1);
        assert_eq!(
            found(&report),
            vec![(class.to_string(), fault.to_string())],
            "{strategy}: {}",
            run.describe()
        );
        assert!(run.stdout().contains("verdict: FAIL"), "{}", run.describe());
    }
}

/// naive's torn window opens once the truncating open has run: a kill at
/// any of the writes after it tears the state, a kill before it does not.
#[test]
fn naive_names_its_torn_window() {
    let t = TestDir::new();
    let (run, report) = explore(&t, &["--strategy", "naive", "--faults", "kill"]);
    run.expect_code(1);
    let windows = report["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1, "{}", run.describe());
    let w = &windows[0];
    assert_eq!(w["outcome"], "torn");
    let opened_by = w["opened_by"].as_str().unwrap();
    assert!(
        opened_by.starts_with("openat(state,") && opened_by.contains("O_TRUNC"),
        "{opened_by}"
    );
    let (first, last) = (w["first"].as_u64().unwrap(), w["last"].as_u64().unwrap());
    for row in report["table"].as_array().unwrap() {
        let i = row["index"].as_u64().unwrap();
        let torn = row["outcomes"]["kill"] == "torn";
        assert_eq!(torn, (first..=last).contains(&i), "#{i}: {row}");
        if torn {
            assert!(row["syscall"].as_str().unwrap().starts_with("write(state,"));
        }
    }
    assert!(
        run.stdout().contains("window: TORN under kill from #"),
        "{}",
        run.describe()
    );
}

/// The same program explored again gives the same table, cell for cell.
#[test]
fn explorations_are_deterministic() {
    for args in [
        &["--strategy", "naive"][..],
        &["--strategy", "short-write", "--faults", "short-write"],
        &["--strategy", "fsync-ignore", "--faults", "eio"],
        &["--strategy", "reference"],
    ] {
        let t = TestDir::new();
        let (_, first) = explore(&t, args);
        for _ in 0..2 {
            let (run, again) = explore(&t, args);
            assert_eq!(cells(&first), cells(&again), "{args:?}: {}", run.describe());
            assert_eq!(first["violations"], again["violations"], "{args:?}");
        }
    }
}

/// The shipped outside-program examples get their verdicts from explore too.
/// A single operation cannot race, so the examples whose flaw is a lost
/// update under concurrency pass here: that tier is the runner's.
#[test]
fn shipped_examples_get_their_verdicts() {
    let cases: &[(&str, &[&str], Option<&str>)] = &[
        ("example-py-correct.toml", &[], None),
        ("example-sh-correct.toml", &[], None),
        ("example-py-no-lock.toml", &["--faults", "kill"], None),
        (
            "example-py-in-place.toml",
            &["--faults", "kill"],
            Some("torn"),
        ),
        (
            "example-sh-in-place.toml",
            &["--faults", "kill"],
            Some("torn"),
        ),
        (
            "example-py-lockfile.toml",
            &["--faults", "kill", "--recovery-timeout", "1s"],
            Some("no_recovery"),
        ),
        (
            "example-sh-lockfile.toml",
            &["--faults", "kill", "--recovery-timeout", "1s"],
            Some("no_recovery"),
        ),
    ];
    for (file, extra, class) in cases {
        let t = TestDir::new();
        let path = scenario(file);
        let mut args = vec!["--scenario", path.as_str()];
        args.extend_from_slice(extra);
        let (run, report) = explore(&t, &args);
        match class {
            None => {
                run.expect_code(0);
                assert!(found(&report).is_empty(), "{file}: {}", run.describe());
            }
            Some(class) => {
                run.expect_code(1);
                let classes: Vec<String> = found(&report).into_iter().map(|p| p.0).collect();
                assert!(classes.iter().any(|c| c == class), "{file}: {classes:?}");
            }
        }
    }
}

/// The lock-file example's no_recovery names the file that blocks.
#[test]
fn no_recovery_names_the_leftover_lock() {
    let t = TestDir::new();
    let path = scenario("example-sh-lockfile.toml");
    let (run, report) = explore(
        &t,
        &[
            "--scenario",
            &path,
            "--faults",
            "kill",
            "--recovery-timeout",
            "500ms",
        ],
    );
    run.expect_code(1);
    let detail = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["outcome"] == "no_recovery")
        .map(|f| f["detail"].as_str().unwrap().to_string())
        .expect("a no_recovery finding");
    assert!(
        detail.contains("probable cause") && detail.contains("state.lock"),
        "{detail}"
    );
}

/// A program that does all its file-system work from a second thread is
/// traced: its points are found and faulted like a single-threaded one's.
#[test]
fn a_multi_threaded_program_is_traced() {
    let prog = counter();
    let mut tables = Vec::new();
    for mode in ["op", "op-threaded"] {
        let t = TestDir::new();
        let exec = format!("{prog} {mode}");
        let check = format!("{prog} check");
        let (run, report) = explore(&t, &["--exec", &exec, "--check", &check]);
        run.expect_code(0);
        let syscalls: Vec<String> = report["table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let s = r["syscall"].as_str().unwrap();
                s[..s.find('(').unwrap()].to_string()
            })
            .collect();
        for needed in ["flock", "write", "fsync", "rename"] {
            assert!(
                syscalls.iter().any(|s| s.starts_with(needed)),
                "{mode}: {needed} not seen in {syscalls:?}"
            );
        }
        tables.push(syscalls);
    }
    assert_eq!(tables[0], tables[1], "the thread makes the same calls");
}

/// A kill at an explored point leaves exactly the state the check expects,
/// and the tool keeps the run and a replay command that reruns only it.
#[test]
fn artifacts_keep_each_violating_run_and_replay_it() {
    let t = TestDir::new();
    let (run, report) = explore(
        &t,
        &[
            "--strategy",
            "naive",
            "--faults",
            "kill",
            "--artifacts",
            "art",
        ],
    );
    run.expect_code(1);
    let first = &report["findings"][0];
    let point = first["point"].as_u64().unwrap();
    let kept = t.join(&format!("art/point-{point:03}-kill"));
    assert!(kept.join("dir/state").exists(), "{}", run.describe());
    assert!(t.join("art/report.json").exists());
    let script = std::fs::read_to_string(kept.join("replay.sh")).unwrap();
    let replay = first["replay"].as_str().unwrap();
    assert!(script.contains(replay), "{script}");
    assert!(replay.contains(&format!("--point {point}")) && replay.contains("--faults kill"));
    let words = shlex::split(replay).unwrap();
    assert_eq!(shlex::try_quote(&words[0]).unwrap(), util::torture_word());
    let args: Vec<&str> = words[2..].iter().map(String::as_str).collect();
    let t2 = TestDir::new();
    let (again, replayed) = explore(&t2, &args);
    again.expect_code(1);
    assert_eq!(replayed["runs"], 1, "{}", again.describe());
    assert_eq!(replayed["findings"][0]["point"], point);
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let t = TestDir::new();
    t.run(&["explore", "--faults", "kill,nope"])
        .expect_code(2)
        .expect_one_error_line("unknown fault \"nope\"");
    t.run(&["explore", "--strategy", "reference", "--point", "999"])
        .expect_code(2)
        .expect_one_error_line("fault points");
    t.run(&["explore", "--exec", "false", "--check", "true"])
        .expect_code(2)
        .expect_one_error_line("fails without any fault");
    t.run(&[
        "explore",
        "--exec",
        "true",
        "--check",
        "true",
        "--warmup-ops",
        "0",
    ])
    .expect_code(2)
    .expect_one_error_line("no file-system syscall");
    t.run(&[
        "explore",
        "--strategy",
        "reference",
        "--exec",
        "true",
        "--check",
        "true",
    ])
    .expect_code(2);
}

/// A lock-file program whose next operation hangs after a kill.
fn hanging_program(t: &TestDir) -> (String, String) {
    let script = t.join("lock.sh");
    std::fs::write(
        &script,
        "until (set -C; : > \"$TORTURE_STATE.lock\") 2>/dev/null; do sleep 0.05; done\n\
         echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\"\n\
         rm -f \"$TORTURE_STATE.lock\"\n",
    )
    .unwrap();
    (
        format!("sh {}", script.display()),
        "cat \"$TORTURE_STATE\" 2>/dev/null || true".to_string(),
    )
}

/// Killed or interrupted while an operation hangs, explore leaves no
/// process behind; interrupted, it reports what it did and exits 130.
#[test]
fn no_process_survives_explore() {
    for signal in [libc::SIGKILL, libc::SIGINT] {
        let t = TestDir::new();
        let (exec, check) = hanging_program(&t);
        let needle = t.join("lock.sh").display().to_string();
        let mut child = t
            .cmd(&[
                "explore",
                "--exec",
                &exec,
                "--check",
                &check,
                "--faults",
                "kill",
                "--recovery-timeout",
                "60s",
                "--jobs",
                "1",
                "--dir",
                "run",
                "--json",
                "e.json",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Faulted runs happen in the worker directory, in explore's own
        // temporary directory; a lock file left there by a kill then blocks
        // the next operation for 60 s.
        let worker_lock = || {
            std::fs::read_dir(t.path())
                .unwrap()
                .flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("torture-explore-")
                })
                .any(|e| e.path().join("w0/run/state.lock").exists())
        };
        assert!(
            // Any operation holds the lock for a moment: wait until one has
            // hung for seconds, so the exploration is under way, not still
            // preparing (an interrupt there has no report to write).
            wait_for(Duration::from_secs(60), || worker_lock()
                && util::running_for(&needle, Duration::from_secs(3))),
            "the program never hung"
        );
        // SAFETY: plain kill(2) of our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        assert!(
            wait_for(Duration::from_secs(5), || processes_with(&needle)
                .is_empty()),
            "{signal}: left {:?}",
            processes_with(&needle)
        );
        if signal == libc::SIGINT {
            assert_eq!(status.code(), Some(130), "interrupted: exit 130");
            let report = read_json(&t.join("e.json"));
            assert_eq!(report["interrupted"], true);
            assert_eq!(report["verdict"], "interrupted");
        }
    }
}
