//! Outside programs: the protocol, liveness, artifacts and CI formats.

mod util;

use std::process::Stdio;
use std::time::Duration;

use util::{GOOD_CHECK, GOOD_EXEC, TestDir, processes_with, read_json, wait_for};

/// Appends the op id to the state, unlocked: enough when runs are sequential.
const APPEND_OP: &str = "echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\"";

/// Runs a program with no kills and no readers for `ops` operations over
/// `writers` writers; returns the run and its JSON report.
fn quiet_run(
    t: &TestDir,
    exec: &str,
    check: &str,
    writers: &str,
    ops: &str,
) -> (util::Run, serde_json::Value) {
    let run = t.run(&[
        "--exec",
        exec,
        "--check",
        check,
        "--writers",
        writers,
        "--readers",
        "0",
        "--kill-rate",
        "0",
        "--ops",
        ops,
        "--json",
        "r.json",
    ]);
    let report = read_json(&t.join("r.json"));
    (run, report)
}

#[test]
fn a_correct_program_passes_with_kills() {
    let t = TestDir::new();
    let run = t.run(&[
        "--exec",
        GOOD_EXEC,
        "--check",
        GOOD_CHECK,
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
    assert_eq!(r["config"]["strategy"], "exec");
    // Outside programs default to kills at fault points: each one lands.
    assert_eq!(r["config"]["kill_at"], "syscall");
    assert!(r["kills"].as_u64().unwrap() >= 20, "{}", run.describe());
    assert_eq!(r["basis"]["final_op"], "ok", "{}", run.describe());
    assert!(
        r["ops"]["acked"].as_u64().unwrap() > 20,
        "{}",
        run.describe()
    );
    assert!(r["replay"].as_str().unwrap().contains("--exec"));
}

#[test]
fn exec_without_check_is_bad_input() {
    let t = TestDir::new();
    t.run(&["--exec", "true"])
        .expect_code(2)
        .expect_one_error_line("--check");
    t.run(&["--check", "true"])
        .expect_code(2)
        .expect_one_error_line("--exec");
}

#[test]
fn failing_init_is_bad_input() {
    let t = TestDir::new();
    let run = t.run(&[
        "--exec",
        "true",
        "--check",
        "true",
        "--init",
        "echo no schema >&2; exit 3",
    ]);
    run.expect_code(2)
        .expect_one_error_line("--init failed before any operation");
    assert!(run.stderr().contains("no schema"), "{}", run.describe());
}

#[test]
fn a_check_that_does_not_exist_is_caught_by_the_preflight() {
    let t = TestDir::new();
    let run = t.run(&["--exec", "true", "--check", "no-such-checker-xyz"]);
    run.expect_code(2)
        .expect_one_error_line("--check failed on the fresh state");
}

#[test]
fn a_check_that_prints_junk_on_the_fresh_state_is_bad_input() {
    let t = TestDir::new();
    t.run(&["--exec", "true", "--check", "echo header"])
        .expect_code(2)
        .expect_one_error_line("header");
}

#[test]
fn a_check_failing_after_ops_ran_is_torn_not_bad_input() {
    let t = TestDir::new();
    let exec = APPEND_OP;
    let check = "if [ -s \"$TORTURE_STATE\" ]; then echo corrupt >&2; exit 1; fi";
    let (run, r) = quiet_run(&t, exec, check, "8", "5");
    run.expect_code(1);
    assert!(
        r["violations"]["torn"].as_u64().unwrap() > 0,
        "{}",
        run.describe()
    );
    assert!(
        run.stdout().contains("corrupt"),
        "the check's stderr is evidence\n{}",
        run.describe()
    );
}

#[test]
fn lines_that_are_not_op_ids_are_phantoms_in_the_evidence() {
    let t = TestDir::new();
    let exec = APPEND_OP;
    let check = "if [ -e \"$TORTURE_STATE\" ]; then cat \"$TORTURE_STATE\"; echo stray-line; fi";
    let (run, r) = quiet_run(&t, exec, check, "8", "4");
    run.expect_code(1);
    assert_eq!(r["violations"]["phantom"], 1, "{}", run.describe());
    let details: Vec<&str> = r["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert!(
        details.iter().any(|d| d.contains("stray-line")),
        "{details:?}"
    );
}

#[test]
fn duplicates_and_lost_ids_are_named() {
    let t = TestDir::new();
    // Forgets every op but the first, and prints the first twice.
    let exec = "[ -e \"$TORTURE_STATE\" ] || echo \"$TORTURE_OP\" > \"$TORTURE_STATE\"";
    let check = "if [ -e \"$TORTURE_STATE\" ]; then cat \"$TORTURE_STATE\" \"$TORTURE_STATE\"; fi";
    let (run, r) = quiet_run(&t, exec, check, "1", "3");
    run.expect_code(1);
    // Three ops, then the final liveness op (w0-3): all acknowledged.
    assert_eq!(r["violations"]["lost"], 3, "{}", run.describe());
    assert_eq!(r["violations"]["duplicate"], 1, "{}", run.describe());
    assert!(
        run.stdout().contains("w0-1, w0-2, w0-3"),
        "{}",
        run.describe()
    );
}

#[test]
fn a_stale_lock_file_ends_in_stall_naming_it() {
    let t = TestDir::new();
    // Takes an exclusive lock file, and "crashes" (exits without removing
    // it) on its second operation: every later operation waits forever.
    let exec = "until (set -C; echo $$ > \"$TORTURE_STATE.lock\") 2>/dev/null; do sleep 0.01; done; \
        echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\"; case $TORTURE_OP in w0-1) exit 0;; esac; rm -f \"$TORTURE_STATE.lock\"";
    let run = t.run(&[
        "--exec",
        exec,
        "--check",
        GOOD_CHECK,
        "--writers",
        "2",
        "--kill-rate",
        "0",
        "--duration",
        "60s",
        "--stall-timeout",
        "1s",
        "--json",
        "r.json",
    ]);
    run.expect_code(1);
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["violations"]["stall"], 1, "{}", run.describe());
    assert_eq!(r["stopped"], "stalled");
    let stall = r["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "stall")
        .unwrap();
    assert!(
        stall["detail"]
            .as_str()
            .unwrap()
            .contains("leftover lock file state.lock"),
        "{stall}"
    );
    assert!(
        r["elapsed_s"].as_f64().unwrap() < 30.0,
        "the run ended well before --duration"
    );
}

#[test]
fn an_op_past_its_timeout_is_killed_and_counted() {
    let t = TestDir::new();
    let run = t.run(&[
        "--exec",
        "sleep 30",
        "--check",
        "true",
        "--writers",
        "1",
        "--readers",
        "0",
        "--kill-rate",
        "0",
        "--ops",
        "2",
        "--op-timeout",
        "300ms",
        "--json",
        "r.json",
    ]);
    // Exactly two operations, each killed at its timeout: counted by the
    // quota, not by how many fit in some seconds of a busy machine.
    run.expect_code(3);
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["timeouts"], 2, "{}", run.describe());
    assert_eq!(r["ops"]["acked"], 0);
    assert_eq!(
        r["verdict"], "inconclusive",
        "never a pass with nothing acknowledged"
    );
}

#[test]
fn sigkill_of_the_supervisor_takes_grandchildren_down() {
    let t = TestDir::new();
    // The op's shell starts a grandchild, which has no parent-death signal.
    let marker = "31.4159";
    let exec = format!("sleep {marker} & wait");
    let mut child = t
        .cmd(&[
            "--exec",
            &exec,
            "--check",
            "true",
            "--writers",
            "3",
            "--readers",
            "0",
            "--kill-rate",
            "0",
            "--duration",
            "60s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || processes_with(marker).len()
            >= 3),
        "ops never started"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let gone = wait_for(Duration::from_secs(10), || {
        processes_with(marker).is_empty()
    });
    assert!(gone, "grandchildren survived: {:?}", processes_with(marker));
}

#[test]
fn artifacts_of_a_failing_run() {
    let t = TestDir::new();
    let run = t.run(&[
        "--strategy",
        "no-lock",
        "--writers",
        "8",
        "--kill-rate",
        "0.05",
        "--duration",
        "2s",
        "--artifacts",
        "art",
        "--json",
        "r.json",
    ]);
    run.expect_code(1);
    let art = t.join("art");
    for f in [
        "first-violation/state",
        "final/state",
        "ops.jsonl",
        "evidence.json",
        "report.json",
        "repro.sh",
    ] {
        assert!(art.join(f).exists(), "{f} missing\n{}", run.describe());
    }
    let r = read_json(&t.join("r.json"));
    let ledger = std::fs::read_to_string(art.join("ops.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = ledger
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, r["ops"]["attempted"].as_u64().unwrap());
    assert!(
        lines
            .iter()
            .all(|l| l["id"].is_string() && l["outcome"].is_string() && l["killed"].is_boolean())
    );
    // Every op our kill cut is marked, and only those: they match the
    // report's count of landed kills, and none of them was acknowledged.
    let killed: Vec<&serde_json::Value> = lines.iter().filter(|l| l["killed"] == true).collect();
    assert_eq!(
        killed.len() as u64,
        r["kills"].as_u64().unwrap(),
        "{ledger}"
    );
    assert!(
        killed.iter().all(|l| l["outcome"] == "indeterminate"),
        "{ledger}"
    );
    let repro = std::fs::read_to_string(art.join("repro.sh")).unwrap();
    assert!(
        repro.contains(&format!("--seed {}", r["config"]["seed"])),
        "{repro}"
    );
    let replay = format!("replay: {} --strategy no-lock", util::torture_word());
    assert!(run.stdout().contains(&replay), "{}", run.describe());
}

#[test]
fn a_passing_run_leaves_no_artifacts() {
    let t = TestDir::new();
    t.run(&["--ops", "30", "--kill-rate", "0", "--artifacts", "art"])
        .expect_code(0);
    assert!(!t.join("art").join("report.json").exists());
}

#[test]
fn junit_is_well_formed_with_the_right_counts() {
    let t = TestDir::new();
    let run = t.run(&[
        "--strategy",
        "no-lock",
        "--writers",
        "8",
        "--kill-rate",
        "0",
        "--duration",
        "1s",
        "--junit",
        "j.xml",
    ]);
    run.expect_code(1);
    let xml = std::fs::read_to_string(t.join("j.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    // One case per violation class, and one for the evidence.
    assert_eq!(suites[0].attribute("tests"), Some("7"), "{xml}");
    assert_eq!(suites[0].attribute("failures"), Some("1"), "{xml}");
    let failed: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase") && n.children().any(|c| c.has_tag_name("failure")))
        .map(|n| n.attribute("name").unwrap().to_string())
        .collect();
    assert_eq!(failed, ["lost"]);
}

#[test]
fn github_step_summary_is_appended() {
    let t = TestDir::new();
    std::fs::write(t.join("summary.md"), "earlier step\n").unwrap();
    let out = t
        .cmd(&["--ops", "20", "--kill-rate", "0"])
        .env("GITHUB_STEP_SUMMARY", t.join("summary.md"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let md = std::fs::read_to_string(t.join("summary.md")).unwrap();
    assert!(
        md.starts_with("earlier step\n"),
        "appended, not replaced: {md}"
    );
    assert!(
        md.contains("## torture") && md.contains("| reference | pass | pass |"),
        "{md}"
    );
}

#[test]
fn partitions_are_disjoint_and_cover_the_set() {
    let t = TestDir::new();
    let mut files = Vec::new();
    for i in 0..7 {
        let name = format!("s{i}.toml");
        std::fs::write(
            t.join(&name),
            "strategy = \"reference\"\nwriters = 1\nreaders = 0\nops = 5\nkill_rate = 0\nexpect = \"pass\"\n",
        )
        .unwrap();
        files.push(name);
    }
    let mut seen = Vec::new();
    for k in 1..=3 {
        let part = format!("{k}/3");
        let json = format!("p{k}.json");
        let mut args = vec!["run", "--partition", &part, "--json", &json];
        args.extend(files.iter().map(String::as_str));
        t.run(&args).expect_code(0);
        let r = read_json(&t.join(&json));
        seen.extend(
            r["scenarios"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["name"].as_str().unwrap().to_string()),
        );
    }
    seen.sort();
    let mut all: Vec<String> = (0..7).map(|i| format!("s{i}")).collect();
    all.sort();
    assert_eq!(seen, all, "every scenario exactly once");
    for bad in ["0/3", "4/3", "1/0", "x"] {
        t.run(&["run", "--partition", bad, "s0.toml"])
            .expect_code(2)
            .expect_one_error_line("--partition");
    }
}
