//! What a terminal gets and what a pipe gets: progress bars only on a
//! terminal, colour by `--color` and `NO_COLOR`, `-q` down to the verdict
//! line, and reports that never hold an escape code.
//!
//! A terminal is a pseudo-terminal made by util-linux's `script -qec CMD
//! /dev/null` (stdout and stderr both on it, `\n` written as `\r\n`). Every
//! run is short and deterministic: a fixed seed, an op quota or an
//! exploration, no kills unless the verdict does not depend on them.

mod util;

use std::process::Command;

use util::{Run, TestDir, read_json};

/// indicatif's bar as this tool draws it: `[=====>    ] ...`, redrawn
/// after erasing the line.
const BAR: &str = "=>";
/// explore's bar says `3/17 faulted runs, 1 violating`.
const EXPLORE_BAR: &str = " violating";
const ERASE_LINE: &str = "\x1b[2K";
/// The start of a coloured verdict (bold green, red or yellow).
const SGR: &str = "\x1b[1;3";

/// `torture args...` on a pseudo-terminal, in `t`, with `env` added; a
/// terminal that can draw (`TERM=xterm`) and no `NO_COLOR` unless `env`
/// says so.
fn on_a_terminal(t: &TestDir, env: &[(&str, &str)], args: &[&str]) -> Run {
    let script = std::path::Path::new("/usr/bin/script");
    let found = script.exists() || Command::new("script").arg("--version").output().is_ok();
    assert!(
        found,
        "these tests need `script` from util-linux (apt-get install util-linux)"
    );
    let mut words = vec![util::bin().display().to_string()];
    words.extend(args.iter().map(|a| a.to_string()));
    let line = shlex::try_join(words.iter().map(String::as_str)).unwrap();
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .current_dir(t.path())
        .env("TMPDIR", t.path())
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let output = c.output().expect("script runs");
    Run {
        command: format!("script -qec {line:?} /dev/null"),
        output,
        listing: String::new(),
    }
}

/// `torture args...` on pipes, without `NO_COLOR` (which must not matter).
fn on_pipes(t: &TestDir, args: &[&str]) -> Run {
    let mut c = t.cmd(args);
    c.env_remove("NO_COLOR").env("TERM", "xterm");
    let output = c.output().expect("the binary runs");
    Run {
        command: format!("torture {}", args.join(" ")),
        output,
        listing: String::new(),
    }
}

/// A run that passes whatever the timing: two writers, 40 operations, no
/// kills.
const PASSING_RUN: &[&str] = &[
    "--ops",
    "40",
    "--kill-rate",
    "0",
    "--writers",
    "2",
    "--readers",
    "0",
    "--seed",
    "7",
];

/// An exploration of `naive` under kills: the same points and findings
/// every time (one operation, no concurrency), a FAIL, exit 1.
const EXPLORATION: &[&str] = &["explore", "--strategy", "naive", "--faults", "kill"];

fn args(base: &[&'static str], extra: &[&'static str]) -> Vec<&'static str> {
    extra.iter().chain(base).copied().collect()
}

/// The lines of `text` holding `needle`.
fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

#[test]
fn explore_draws_progress_on_a_terminal_and_prints_only_its_summary_on_a_pipe() {
    let t = TestDir::new();
    let tty = on_a_terminal(&t, &[], EXPLORATION);
    tty.expect_code(1);
    let out = tty.stdout();
    assert!(
        out.contains(EXPLORE_BAR) && out.contains(BAR) && out.contains(ERASE_LINE),
        "no progress bar on a terminal\n{}",
        tty.describe()
    );
    // Erased before the summary: the table starts on a clean line.
    assert!(
        out.contains(&format!("{ERASE_LINE}   #  syscall")),
        "{out:?}"
    );

    let pipe = on_pipes(&t, EXPLORATION);
    pipe.expect_code(1);
    assert_eq!(pipe.stderr(), "", "{}", pipe.describe());
    let out = pipe.stdout();
    assert!(out.starts_with("   #  syscall"), "{}", pipe.describe());
    assert!(
        !out.contains(EXPLORE_BAR) && !out.contains('\x1b') && !out.contains('\r'),
        "{}",
        pipe.describe()
    );
    assert!(out.contains("\nverdict: FAIL ("), "{}", pipe.describe());
    // The expected failure is said to be one.
    assert!(
        out.contains("\nnaive: expected torn@kill: met\n"),
        "{}",
        pipe.describe()
    );
}

#[test]
fn the_runner_draws_a_bar_on_a_terminal_and_none_on_a_pipe() {
    let t = TestDir::new();
    let tty = on_a_terminal(&t, &[], PASSING_RUN);
    tty.expect_code(0);
    let out = tty.stdout();
    assert!(
        out.contains("/40 ops  acked ") && out.contains(ERASE_LINE),
        "no progress bar on a terminal\n{}",
        tty.describe()
    );
    assert!(
        out.contains(&format!("{ERASE_LINE}torture: reference with 2 writer(s)")),
        "{out:?}"
    );

    let pipe = on_pipes(&t, PASSING_RUN);
    pipe.expect_code(0);
    let err = pipe.stderr();
    assert!(
        !err.contains("acked") && !err.contains('\r') && !err.contains('\x1b'),
        "{err:?}"
    );
    // Only the seed and the directory, as before.
    assert_eq!(err.lines().count(), 1, "{}", pipe.describe());
    assert!(err.starts_with("torture: seed 7, directory "), "{err}");
}

#[test]
fn color_always_colours_the_verdict_on_a_pipe_and_nothing_else() {
    let t = TestDir::new();
    let run = on_pipes(&t, &args(PASSING_RUN, &["--color", "always"]));
    run.expect_code(0);
    let out = run.stdout();
    let coloured = lines_with(&out, "\x1b");
    assert_eq!(
        coloured,
        ["\x1b[1;32mverdict: PASS (process crash tier)\x1b[0m"],
        "{}",
        run.describe()
    );
    // auto on a pipe: none.
    let plain = on_pipes(&t, PASSING_RUN);
    assert!(!plain.stdout().contains('\x1b'), "{}", plain.describe());
}

#[test]
fn no_color_and_color_never_keep_a_terminal_plain() {
    let t = TestDir::new();
    // auto on a terminal colours the verdict: what the other two must not do.
    let auto = on_a_terminal(&t, &[], EXPLORATION);
    assert_eq!(
        lines_with(&auto.stdout(), SGR).len(),
        2,
        "the verdict and the expectation, coloured\n{}",
        auto.describe()
    );
    assert!(
        auto.stdout().contains("\x1b[1;31mverdict: FAIL"),
        "{}",
        auto.describe()
    );
    let no_color = on_a_terminal(&t, &[("NO_COLOR", "1")], EXPLORATION);
    let never = on_a_terminal(&t, &[], &args(EXPLORATION, &["--color", "never"]));
    for run in [no_color, never] {
        run.expect_code(1);
        let out = run.stdout();
        assert!(!out.contains(SGR), "{}", run.describe());
        assert!(out.contains("\nverdict: FAIL ("), "{}", run.describe());
        // Still a terminal: the bar is there.
        assert!(out.contains(EXPLORE_BAR), "{}", run.describe());
    }
}

#[test]
fn reports_hold_no_colour_and_the_verdict_follows_the_human_output() {
    let t = TestDir::new();
    let run = on_pipes(
        &t,
        &args(
            PASSING_RUN,
            &["--color", "always", "--json", "-", "--junit", "junit.xml"],
        ),
    );
    run.expect_code(0);
    let json = run.stdout();
    assert!(!json.contains('\x1b'), "{}", run.describe());
    let report: serde_json::Value = serde_json::from_str(&json).expect("stdout is the JSON report");
    assert_eq!(report["verdict"], "pass");
    let junit = std::fs::read_to_string(t.join("junit.xml")).unwrap();
    assert!(
        !junit.contains('\x1b') && !junit.contains("&#27;"),
        "{junit}"
    );
    // The human summary went to stderr, coloured as asked.
    assert!(
        run.stderr().contains("\x1b[1;32mverdict: PASS"),
        "{}",
        run.describe()
    );
}

#[test]
fn quiet_prints_the_verdict_line_alone_with_the_same_exit_code() {
    let t = TestDir::new();
    for (base, code) in [(PASSING_RUN, 0), (EXPLORATION, 1)] {
        let loud = on_pipes(&t, base);
        loud.expect_code(code);
        let quiet = on_pipes(&t, &args(base, &["-q"]));
        quiet.expect_code(code);
        let verdict = lines_with(&loud.stdout(), "verdict: ")
            .first()
            .map(|l| format!("{l}\n"))
            .unwrap_or_else(|| panic!("no verdict line\n{}", loud.describe()));
        assert_eq!(quiet.stdout(), verdict, "{}", quiet.describe());
        assert_eq!(quiet.stderr(), "", "{}", quiet.describe());
    }
    // On a terminal too: no header, no bar.
    let tty = on_a_terminal(&t, &[("NO_COLOR", "1")], &args(PASSING_RUN, &["-q"]));
    tty.expect_code(0);
    assert_eq!(
        tty.stdout(),
        "verdict: PASS (process crash tier)\r\n",
        "{}",
        tty.describe()
    );
}

/// fscompare on a directory already mounted (no root): a bar of the runs
/// on a terminal, a line per run that holds an expected failure against
/// its expectation, and under `-q` the comparison's verdict alone.
#[test]
fn fscompare_shows_runs_done_and_quiet_keeps_its_verdict() {
    let t = TestDir::new();
    let dir = format!("here={}", t.path().display());
    let base = [
        "fscompare",
        "--dir",
        &dir,
        "--strategies",
        "reference",
        "--ops",
        "40",
        "--writers",
        "2",
        "--readers",
        "0",
        "--kill-rate",
        "0",
        "--seed",
        "7",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let tty_args = with(&["--out", "tty"]);
    let tty = on_a_terminal(
        &t,
        &[],
        &tty_args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    tty.expect_code(0);
    let out = tty.stdout();
    assert!(
        out.contains("/1 runs") && out.contains(ERASE_LINE),
        "{}",
        tty.describe()
    );
    assert!(
        out.contains("torture: reference on here: \x1b[1;32mexpected pass: met\x1b[0m, "),
        "{}",
        tty.describe()
    );

    let loud_args = with(&["--out", "loud"]);
    let loud = on_pipes(
        &t,
        &loud_args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    loud.expect_code(0);
    assert!(
        loud.stderr()
            .contains("torture: reference on here: expected pass: met, "),
        "{}",
        loud.describe()
    );
    let last = loud.stdout().lines().last().unwrap_or_default().to_string();
    assert_eq!(
        last,
        "verdict: PASS (1 of 1 run(s) got their expected verdict)",
        "{}",
        loud.describe()
    );
    let quiet_args = with(&["--out", "quiet", "-q"]);
    let quiet = on_pipes(
        &t,
        &quiet_args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    quiet.expect_code(0);
    assert_eq!(quiet.stdout(), format!("{last}\n"), "{}", quiet.describe());
    assert_eq!(quiet.stderr(), "", "{}", quiet.describe());
    // The reports are written all the same.
    assert_eq!(read_json(&t.join("quiet/report.json"))["all_met"], true);
}

/// A power-loss run's long phase, mounting its crash images, counts them
/// on a terminal and says nothing on a pipe.
#[test]
fn power_loss_counts_its_crash_images_on_a_terminal_only() {
    if !util::can_record_disk() {
        eprintln!("skipped: needs root, loop devices and /dev/fuse");
        return;
    }
    let t = TestDir::new();
    let run = [
        "--power-loss",
        "ext4",
        "--ops",
        "60",
        "--writers",
        "2",
        "--readers",
        "0",
        "--crash-points",
        "6",
        "--min-kills",
        "0",
        "--seed",
        "7",
    ];
    let tty = on_a_terminal(&t, &[], &run);
    tty.expect_code(0);
    let out = tty.stdout();
    // Frames are redrawn in place: `0/T crash images checked` first, and
    // the count reaches its total.
    let total = out
        .split(['\r', '\n'])
        .find_map(|f| f.split("0/").nth(1)?.split_once(" crash images checked"))
        .map(|(t, _)| t.to_string())
        .unwrap_or_else(|| panic!("no first frame: {}", tty.describe()));
    assert!(total.parse::<u64>().unwrap() >= 1, "{}", tty.describe());
    assert!(
        out.contains(&format!("{total}/{total} crash images checked")),
        "{}",
        tty.describe()
    );
    let pipe = on_pipes(&t, &run);
    pipe.expect_code(0);
    assert!(
        !pipe.stderr().contains("crash images checked")
            && !pipe.stdout().contains("crash images checked"),
        "{}",
        pipe.describe()
    );
    assert!(
        util::leftovers(t.path()).is_empty(),
        "{:?}",
        util::leftovers(t.path())
    );
}
