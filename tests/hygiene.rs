//! Process hygiene: no child outlives the run, whatever happens to the
//! supervisor.

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
        Some(2),
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
    assert_eq!(out.status.code(), Some(2));
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
