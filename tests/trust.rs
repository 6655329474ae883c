//! A green verdict rests on evidence: runs that proved nothing are never a
//! pass, and a correct program is never a false alarm.

mod util;

use util::{GOOD_CHECK, GOOD_EXEC, TestDir, read_json};

/// Each of these used to exit 0 with PASS: now each is inconclusive (exit
/// 3) and says why on one line of stderr.
#[test]
fn runs_that_prove_nothing_are_inconclusive() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--exec",
                "nosuchprog_xyz",
                "--check",
                "true",
                "--duration",
                "2s",
            ],
            "not found",
        ),
        (
            &["--exec", "exit 1", "--check", "true", "--duration", "2s"],
            "none of",
        ),
        (
            &[
                "--exec",
                "sleep 1000",
                "--check",
                "true",
                "--duration",
                "3s",
            ],
            "none of",
        ),
    ];
    for (args, why) in cases {
        let t = TestDir::new();
        let mut all = args.to_vec();
        all.extend(["--json", "r.json"]);
        let run = t.run(&all);
        run.expect_code(3);
        let stderr = run.stderr();
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("inconclusive"))
            .collect();
        assert_eq!(lines.len(), 1, "one line says why\n{}", run.describe());
        assert!(lines[0].contains(why), "{why}\n{}", run.describe());
        let r = read_json(&t.join("r.json"));
        assert_eq!(r["verdict"], "inconclusive", "{}", run.describe());
        assert_eq!(r["ops"]["acked"], 0);
        assert!(!r["basis"]["shortfall"].as_array().unwrap().is_empty());
        assert!(run.stdout().contains("INCONCLUSIVE"), "{}", run.describe());
        assert!(!run.stdout().contains("PASS"), "{}", run.describe());
    }
}

/// A scenario whose `exec` has a typo is inconclusive too, and so is the
/// set: exit 3, not 0.
#[test]
fn a_scenario_with_a_typo_in_exec_is_inconclusive() {
    let t = TestDir::new();
    std::fs::write(
        t.join("typo.toml"),
        "exec = 'nosuchprog_xyz add'\ncheck = 'true'\nwriters = 2\nops = 20\nexpect = \"pass\"\n",
    )
    .unwrap();
    let run = t.run(&["run", "typo.toml"]);
    run.expect_code(3);
    assert!(
        run.stdout().contains("observed inconclusive"),
        "{}",
        run.describe()
    );
}

/// Too few landed kills: no violation, and no pass either; the line says
/// what to raise.
#[test]
fn too_few_kills_is_inconclusive_and_says_what_to_raise() {
    let t = TestDir::new();
    let run = t.run(&[
        "--ops",
        "40",
        "--kill-rate",
        "0.05",
        "--seed",
        "42",
        "--json",
        "r.json",
    ]);
    run.expect_code(3);
    let r = read_json(&t.join("r.json"));
    let kills = r["kills"].as_u64().unwrap();
    assert!(kills < 20, "{}", run.describe());
    assert!(
        run.stderr().contains("--kill-rate") && run.stderr().contains("--duration"),
        "{}",
        run.describe()
    );
    // The same run with the minimum lowered to what it got is a pass.
    let min = kills.to_string();
    let t = TestDir::new();
    t.run(&[
        "--ops",
        "40",
        "--kill-rate",
        "0.05",
        "--seed",
        "42",
        "--min-kills",
        &min,
    ])
    .expect_code(0);
}

/// Too large a payload is bad input, before anything runs.
#[test]
fn a_gigabyte_payload_is_bad_input() {
    let t = TestDir::new();
    t.run(&["--payload", "1073741824", "--duration", "1s"])
        .expect_code(2)
        .expect_one_error_line("--payload");
}

/// On a full file system every operation fails with ENOSPC: inconclusive,
/// never a pass. Needs root for the small tmpfs.
#[test]
fn a_full_file_system_is_inconclusive() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to mount a small tmpfs");
        return;
    }
    let t = TestDir::new();
    let mnt = t.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8k", "tiny"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mount tmpfs");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    // Two pages: one for this filler, one for the run's marker file.
    std::fs::write(mnt.join("filler"), vec![0u8; 4096]).unwrap();
    let dir = mnt.join("run").display().to_string();
    let run = t.run(&[
        "--exec",
        "echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\"",
        "--check",
        GOOD_CHECK,
        "--dir",
        &dir,
        "--writers",
        "2",
        "--ops",
        "20",
        "--json",
        "r.json",
    ]);
    assert!(
        matches!(run.code(), Some(2) | Some(3)),
        "bad input or inconclusive, never a verdict\n{}",
        run.describe()
    );
    if run.code() == Some(3) {
        let r = read_json(&t.join("r.json"));
        assert_eq!(r["ops"]["acked"], 0, "{}", run.describe());
    }
}

/// A correct program whose check warns on stderr every time it runs (an
/// interpreter's deprecation warning, say) passes: only stdout carries ids.
#[test]
fn a_check_that_warns_on_stderr_is_no_false_alarm() {
    let t = TestDir::new();
    let check = format!("echo 'DeprecationWarning: w9-999 is not an id' >&2; {GOOD_CHECK}");
    let run = t.run(&[
        "--exec",
        GOOD_EXEC,
        "--check",
        &check,
        "--writers",
        "3",
        "--kill-rate",
        "0.25",
        "--ops",
        "200",
        "--seed",
        "42",
        "--json",
        "r.json",
    ]);
    run.expect_code(0);
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["violations"]["phantom"], 0, "{}", run.describe());
    assert!(r["checks"].as_u64().unwrap() > 1, "{}", run.describe());
}

/// A timed run of an outside program ends with a crash: the op in flight
/// at the end is SIGKILLed (here it holds its lock dir and sleeps), a check
/// reads the state it left, and the final operation finds the stale lock.
/// No kill of the schedule is needed (seeded: none is drawn in 2 s).
#[test]
fn the_crash_that_ends_a_run_finds_a_lock_left_by_an_op_in_flight() {
    let t = TestDir::new();
    let exec = "mkdir \"$TORTURE_STATE.lock\" || exit 1; \
                echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\"; \
                if [ \"$(wc -l < \"$TORTURE_STATE\")\" -gt 1 ]; then sleep 60; fi; \
                rmdir \"$TORTURE_STATE.lock\"";
    let run = t.run(&[
        "--exec",
        exec,
        "--check",
        "cat \"$TORTURE_STATE\" 2>/dev/null || true",
        "--writers",
        "1",
        "--readers",
        "0",
        "--kill-rate",
        "0.000001",
        "--seed",
        "7",
        "--duration",
        "2s",
        "--stall-timeout",
        "5s",
        "--json",
        "r.json",
    ]);
    run.expect_code(1);
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["basis"]["kills_landed"], 0, "{}", run.describe());
    assert_eq!(r["basis"]["kills_at_end"], 1, "{}", run.describe());
    assert_eq!(r["basis"]["final_op"], "failed", "{}", run.describe());
    // The check after the end's crash, and the final check.
    assert_eq!(r["basis"]["checks"], 2, "{}", run.describe());
    assert!(r["violations"]["stall"].as_u64().unwrap() > 0);
    assert_eq!(r["violations"]["lost"], 0, "{}", run.describe());
    assert!(
        run.stdout()
            .contains("1 cut by the crash that ended the run"),
        "{}",
        run.describe()
    );
    assert!(run.stdout().contains("state.lock"), "{}", run.describe());
}

/// The end's crash is a crash: nothing of a correct program is lost to it,
/// and an `--ops` run (nothing in flight at its end) has none.
#[test]
fn the_crash_that_ends_a_run_is_no_false_alarm() {
    let t = TestDir::new();
    let run = t.run(&[
        "--exec",
        GOOD_EXEC,
        "--check",
        GOOD_CHECK,
        "--writers",
        "4",
        "--duration",
        "2s",
        // Only a false alarm may fail this: not a writer that a loaded
        // machine left without an ack in 2 s.
        "--min-kills",
        "0",
        "--min-acked",
        "0",
        "--json",
        "r.json",
    ]);
    run.expect_code(0);
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["basis"]["final_op"], "ok", "{}", run.describe());
    let t = TestDir::new();
    let run = t.run(&[
        "--exec",
        GOOD_EXEC,
        "--check",
        GOOD_CHECK,
        "--writers",
        "2",
        "--ops",
        "20",
        "--min-kills",
        "0",
        "--json",
        "r.json",
    ]);
    run.expect_code(0);
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["basis"]["kills_at_end"], 0, "{}", run.describe());
}
