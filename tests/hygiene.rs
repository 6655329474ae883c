//! Process hygiene: no child outlives the run, whatever happens to the
//! supervisor, and no process outlives the operation that started it.

mod util;

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use util::{TestDir, processes_with, read_json, wait_for};

/// Starts a long run in `t/run` and waits until all its children are up.
fn start(t: &TestDir, writers: usize) -> (std::process::Child, String) {
    start_with(t, writers, &[])
}

fn start_with(t: &TestDir, writers: usize, extra: &[&str]) -> (std::process::Child, String) {
    let marker = t.join("run").display().to_string();
    let n = writers.to_string();
    let mut args = vec![
        "--dir",
        "run",
        "--writers",
        &n,
        "--readers",
        "1",
        "--kill-rate",
        "0.05",
        "--duration",
        "60s",
        "--json",
        "r.json",
    ];
    args.extend_from_slice(extra);
    let child = t
        .cmd(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let up = wait_for(Duration::from_secs(20), || {
        processes_with(&marker).len() > writers
    });
    assert!(up, "children never started: {:?}", processes_with(&marker));
    if !extra.is_empty() {
        // Tracers and their writers: two processes per writer.
        let traced = wait_for(Duration::from_secs(20), || {
            processes_with(&marker).len() > 2 * writers
        });
        assert!(
            traced,
            "tracers never started: {:?}",
            processes_with(&marker)
        );
    }
    (child, marker)
}

#[test]
fn sigint_stops_children_and_reports_the_partial_run() {
    let t = TestDir::new();
    let (child, marker) = start(&t, 6);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(130),
        "interrupted without violation\n{stdout}"
    );
    assert!(stdout.contains("interrupted"), "{stdout}");
    assert!(
        processes_with(&marker).is_empty(),
        "children survived: {:?}",
        processes_with(&marker)
    );
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["stopped"], "interrupted");
    assert_eq!(
        r["verdict"], "interrupted",
        "an interrupted run is never a pass"
    );
    assert!(r["ops"]["acked"].as_u64().unwrap() > 0);
}

#[test]
fn sigterm_stops_children() {
    let t = TestDir::new();
    let (child, marker) = start(&t, 4);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "interrupted: exit 130");
    assert!(
        processes_with(&marker).is_empty(),
        "children survived: {:?}",
        processes_with(&marker)
    );
}

/// SIGKILLs the supervisor of a run started with `extra` options and
/// checks that nothing of the run survives it.
fn sigkill_takes_everything_down(writers: usize, extra: &[&str]) {
    let t = TestDir::new();
    let (mut child, marker) = start_with(&t, writers, extra);
    child.kill().unwrap();
    child.wait().unwrap();
    let gone = wait_for(Duration::from_secs(10), || {
        processes_with(&marker).is_empty()
    });
    assert!(
        gone,
        "orphans after SIGKILL of the supervisor: {:?}",
        processes_with(&marker)
    );
}

#[test]
fn sigkill_of_the_supervisor_takes_every_child_down() {
    sigkill_takes_everything_down(8, &[]);
}

/// With --kill-at syscall each writer runs under a tracer process: killing
/// the supervisor takes the tracers and the writers they trace down.
#[test]
fn sigkill_of_the_supervisor_takes_tracers_and_writers_down() {
    sigkill_takes_everything_down(4, &["--kill-at", "syscall"]);
}

/// Checks an outside program's state: one op id per line, none yet.
const CHECK_IDS: &str = "cat \"$TORTURE_STATE\" 2>/dev/null || true";

/// The live processes matching `needle` that lead their own session: the
/// sleepers that escaped with `setsid`, not the shells whose script names them.
fn session_leaders(needle: &str) -> Vec<i32> {
    processes_with(needle)
        .into_iter()
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let session = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .nth(3);
            session == Some(pid.to_string().as_str())
        })
        .collect()
}

/// Six operations over two writers, each leaving one sleeper outside its
/// process group; returns the JSON report once the run is over. With
/// `--kill-at delay` the supervisor's reaper finds the sleepers; with
/// `syscall` each op runs under a tracer that kills what its command left.
fn run_leaving_sleepers(t: &TestDir, exec: &str, kill_at: &str) -> (util::Run, serde_json::Value) {
    let run = t.run(&[
        "--kill-at",
        kill_at,
        "--exec",
        exec,
        "--check",
        CHECK_IDS,
        "--writers",
        "2",
        "--readers",
        "0",
        "--kill-rate",
        "0",
        "--ops",
        "6",
        "--json",
        "r.json",
    ]);
    let report = read_json(&t.join("r.json"));
    (run, report)
}

/// Asserts that the run passed, that no sleeper is left, and that the
/// report counts one escaped process per operation.
fn assert_sleepers_killed_and_counted(run: &util::Run, r: &serde_json::Value, needle: &str) {
    run.expect_code(0);
    assert_eq!(r["verdict"], "pass", "{}", run.describe());
    assert_eq!(r["ops"]["acked"], 6, "{}", run.describe());
    let left = processes_with(needle);
    assert!(
        left.is_empty(),
        "sleepers survived the run: {left:?}\n{}",
        run.describe()
    );
    // Six ops and the final liveness op: one sleeper each.
    assert_eq!(
        r["warnings"]["escaped_processes"],
        7,
        "one escaped sleeper per op\n{}",
        run.describe()
    );
    assert!(
        run.stdout().contains("escaped (warning)"),
        "{}",
        run.describe()
    );
}

/// `setsid` takes a process out of its op's group and session: the group
/// kill at the end of the op cannot reach it. The op ends only once the
/// sleeper leads its own session, so every op really leaves one behind.
#[test]
fn sleepers_that_setsid_out_of_their_op_are_killed_and_counted() {
    let t = TestDir::new();
    let exec = "setsid sleep 1021 & \
        until [ \"$(cut -d' ' -f6 /proc/$!/stat)\" = $! ]; do :; done; \
        echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\"";
    for kill_at in ["delay", "syscall"] {
        let (run, r) = run_leaving_sleepers(&t, exec, kill_at);
        assert_sleepers_killed_and_counted(&run, &r, "sleep 1021");
    }
}

/// A daemon's double fork: a child calls `setsid`, forks the sleeper and
/// exits, so the sleeper is an orphan in the session and group its parent
/// made, out of its op's group.
#[test]
fn double_forked_sleepers_are_killed_and_counted() {
    let t = TestDir::new();
    let exec = "setsid sh -c 'sleep 1022 &' & wait $!; echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\"";
    for kill_at in ["delay", "syscall"] {
        let (run, r) = run_leaving_sleepers(&t, exec, kill_at);
        assert_sleepers_killed_and_counted(&run, &r, "sleep 1022");
    }
}

/// A helper an op detaches and then waits for belongs to the op while it
/// runs: sweeps after the other ops' ends must leave it alone, or the op
/// would hang until its timeout.
#[test]
fn a_running_ops_detached_helper_is_left_alone() {
    let t = TestDir::new();
    let exec = "setsid sh -c '(sleep 0.05; echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\") &'; \
        until grep -qx \"$TORTURE_OP\" \"$TORTURE_STATE\" 2>/dev/null; do :; done";
    let run = t.run(&[
        "--exec",
        exec,
        "--check",
        CHECK_IDS,
        "--writers",
        "3",
        "--readers",
        "0",
        "--kill-rate",
        "0",
        "--ops",
        "30",
        "--op-timeout",
        "5s",
        "--json",
        "r.json",
    ]);
    run.expect_code(0);
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["ops"]["acked"], 30, "{}", run.describe());
    assert_eq!(r["timeouts"], 0, "{}", run.describe());
}

/// If the supervisor is SIGKILLed, the sleepers that left their op's group
/// are not in any group the watchdog knows: it finds them by the run's tag.
#[test]
fn sigkill_of_the_supervisor_takes_escaped_sleepers_down() {
    let t = TestDir::new();
    let needle = "sleep 1023";
    let mut child = t
        .cmd(&[
            "--exec",
            "setsid sleep 1023 & wait",
            "--check",
            CHECK_IDS,
            "--writers",
            "2",
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
    let escaped = wait_for(Duration::from_secs(20), || {
        session_leaders(needle).len() >= 2
    });
    assert!(
        escaped,
        "sleepers never escaped: {:?}",
        processes_with(needle)
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let gone = wait_for(Duration::from_secs(10), || {
        processes_with(needle).is_empty()
    });
    assert!(
        gone,
        "escaped sleepers survived: {:?}",
        processes_with(needle)
    );
}
