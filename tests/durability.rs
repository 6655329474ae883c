//! `harness/durability.sh`'s parts that run without the power-loss tier:
//! every program it explores keeps its state correctly (it passes the
//! process-crash runner, so a power-loss verdict is the library's, not the
//! adapter's), and its argument handling.

mod util;

use std::path::PathBuf;
use std::process::Command;

use util::{Run, TestDir};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("harness/durability.sh")
}

/// Runs `harness/durability.sh args...` against the binary under test.
fn durability(t: &TestDir, args: &[&str]) -> Run {
    let output = Command::new(script())
        .args(args)
        .current_dir(t.path())
        .env("TORTURE", util::bin())
        .env("TMPDIR", t.path())
        .output()
        .expect("bash runs the script");
    Run {
        command: format!("harness/durability.sh {}", args.join(" ")),
        output,
        listing: String::new(),
    }
}

/// The value of `option` in one planned `torture explore` command line.
fn option<'a>(words: &'a [String], option: &str) -> &'a str {
    let at = words.iter().position(|w| w == option).unwrap();
    &words[at + 1]
}

/// Every library the script explores, driven by the SIGKILL runner at a
/// fixed seed: each one passes.
#[test]
fn every_explored_program_passes_the_process_crash_runner() {
    let t = TestDir::new();
    let plan = durability(&t, &["--dry-run", "--models", "posix"]);
    plan.expect_code(0);
    let lines: Vec<String> = plan.stdout().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 8, "{}", plan.describe());
    for line in &lines {
        let words = shlex::split(line).unwrap();
        assert_eq!(option(&words, "--faults"), "power", "{line}");
        assert_eq!(option(&words, "--model"), "posix", "{line}");
        let (exec, check, init) = (
            option(&words, "--exec"),
            option(&words, "--check"),
            option(&words, "--init"),
        );
        let args = [
            "--exec",
            exec,
            "--check",
            check,
            "--init",
            init,
            "--ops",
            "120",
            "--kill-rate",
            "0.3",
            "--seed",
            "42",
        ];
        let run = TestDir::new().run(&args);
        run.expect_code(0);
        assert!(run.stdout().contains("verdict: PASS"), "{}", run.describe());
    }
}

#[test]
fn the_plan_is_one_exploration_per_library_and_model() {
    let t = TestDir::new();
    let run = durability(
        &t,
        &[
            "--dry-run",
            "--libraries",
            "atomicwrites,os.replace",
            "--models",
            "ordered,none",
        ],
    );
    run.expect_code(0);
    let models: Vec<(String, String)> = run
        .stdout()
        .lines()
        .map(|line| {
            let words = shlex::split(line).unwrap();
            let json = option(&words, "--json")
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            (option(&words, "--model").to_string(), json)
        })
        .collect();
    assert_eq!(
        models,
        [
            ("ordered", "atomicwrites--ordered.json"),
            ("none", "atomicwrites--none.json"),
            ("ordered", "os.replace--ordered.json"),
            ("none", "os.replace--none.json"),
        ]
        .map(|(m, j)| (m.to_string(), j.to_string())),
        "{}",
        run.describe()
    );
    assert!(
        std::fs::read_dir(t.path()).unwrap().next().is_none(),
        "a dry run writes nothing"
    );
}

#[test]
fn bad_usage_is_one_line_and_exit_2() {
    let t = TestDir::new();
    for (args, needle) in [
        (&["--bogus"][..], "unknown argument \"--bogus\""),
        (&["--models", "posix,weird"], "--models: unknown \"weird\""),
        (&["--libraries", "nope"], "--libraries: unknown \"nope\""),
        (&["--models"], "--models needs a list"),
        (&["--render", "no-such-dir"], "--render: no directory"),
        (&["--render", ".", "--dry-run"], "drop --dry-run"),
    ] {
        durability(&t, args)
            .expect_code(2)
            .expect_one_error_line(needle);
    }
}
