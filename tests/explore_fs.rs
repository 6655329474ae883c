//! `torture explore --faults power --fs FS`: one operation explored on a
//! real file system, with a crash point between every pair of block writes
//! of its log. What each discipline must show on ext4 (`data=ordered`)
//! follows from what it syncs: a rename not followed by an fsync of its
//! directory is still in ext4's running transaction when the operation
//! exits, so a power cut there loses an acknowledged operation; with the
//! directory fsynced, the journal commit happens before the exit and no
//! crash point loses anything.
//!
//! These need root, /dev/fuse and loop devices; where the machine lacks
//! one, each test says so and returns.

mod util;

use serde_json::Value;
use util::{TestDir, read_json};

macro_rules! needs_disk {
    () => {
        if !util::can_record_disk() {
            eprintln!("skipped: explore --fs needs root, /dev/fuse and loop devices here");
            return;
        }
    };
}

/// Runs `torture explore --faults power --fs ext4 ARGS... --json e.json`
/// and checks what every such report must hold.
fn explore_ext4(t: &TestDir, args: &[&str]) -> (util::Run, Value) {
    let mut all = vec![
        "explore",
        "--faults",
        "power",
        "--fs",
        "ext4",
        "--image-mib",
        "256",
        "--max-states",
        "4",
        "--json",
        "e.json",
    ];
    all.extend_from_slice(args);
    let run = t.run(&all);
    assert!(
        t.join("e.json").exists(),
        "no JSON report\n{}",
        run.describe()
    );
    let report = read_json(&t.join("e.json"));
    well_formed(&report, &run);
    assert!(
        util::leftovers(t.path()).is_empty(),
        "left behind: {:?}",
        util::leftovers(t.path())
    );
    (run, report)
}

/// A row per crash point, the last at the exit; the disk named.
fn well_formed(report: &Value, run: &util::Run) {
    let p = &report["power"];
    assert_eq!(p["fs"], "ext4", "{p}");
    assert_eq!(p["label"], "power loss (ext4, data=ordered)", "{p}");
    assert!(p["mkfs"].as_str().unwrap().contains("mkfs"), "{p}");
    assert!(p.get("model").is_none(), "no model with --fs: {p}");
    let rows = report["table"].as_array().unwrap();
    assert_eq!(p["crash_points"].as_u64(), Some(rows.len() as u64), "{p}");
    assert_eq!(rows.last().unwrap()["syscall"], "exit 0 (acknowledged)");
    assert!(
        p["crash_states"].as_u64().unwrap() >= rows.len() as u64,
        "{p}"
    );
    assert!(p["distinct_images"].as_u64().unwrap() >= 1, "{p}");
    assert!(
        p["op_exit"].as_u64().unwrap() >= p["op_begin"].as_u64().unwrap(),
        "{p}"
    );
    assert!(report["replay"].as_str().unwrap().contains("--fs ext4"));
    assert!(
        run.stdout().contains("power loss (ext4, data=ordered)"),
        "{}",
        run.describe()
    );
}

/// The classes found, sorted, each once.
fn classes(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["outcome"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn no_dir_fsync_loses_an_acknowledged_operation_on_ext4() {
    needs_disk!();
    let t = TestDir::new();
    let (run, report) = explore_ext4(&t, &["--strategy", "no-dir-fsync"]);
    run.expect_code(1);
    assert!(
        classes(&report).contains(&"lost".to_string()),
        "{}",
        run.describe()
    );
    let lost = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["outcome"] == "lost")
        .unwrap();
    let state = &lost["crash_state"];
    assert!(state["position"].as_u64().is_some(), "{lost}");
    assert!(
        state["kept"].as_array().unwrap().len() as u64 <= state["unflushed"].as_u64().unwrap(),
        "{lost}"
    );
    // Lost at the exit: the rename was acknowledged before its commit.
    let exit = report["table"].as_array().unwrap().last().unwrap();
    assert!(
        exit["outcomes"]["power"].as_str().unwrap().contains("lost"),
        "{exit}"
    );
}

#[test]
fn reference_passes_every_crash_point_on_ext4() {
    needs_disk!();
    let t = TestDir::new();
    let (run, report) = explore_ext4(&t, &["--strategy", "reference"]);
    run.expect_code(0);
    assert_eq!(report["verdict"], "pass", "{}", run.describe());
    assert!(
        report["table"].as_array().unwrap().len() > 1,
        "reference writes between its begin and its exit: {}",
        run.describe()
    );
}

/// A small outside program: a list of op ids replaced atomically, with or
/// without the fsync of the directory after the rename.
const PROGRAM: &str = r#"import os, sys
state = os.environ["TORTURE_STATE"]
what = sys.argv[1]
if what == "check":
    if os.path.exists(state):
        sys.stdout.write(open(state).read())
    sys.exit(0)
old = open(state).read() if os.path.exists(state) else ""
tmp = state + ".tmp"
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, (old + os.environ["TORTURE_OP"] + "\n").encode())
os.fsync(fd)
os.close(fd)
os.rename(tmp, state)
if what == "correct":
    d = os.open(os.path.dirname(state), os.O_RDONLY)
    os.fsync(d)
    os.close(d)
"#;

fn explore_program(t: &TestDir, mode: &str) -> (util::Run, Value) {
    std::fs::write(t.join("list.py"), PROGRAM).unwrap();
    let script = t.join("list.py").display().to_string();
    let exec = format!("python3 {script} {mode}");
    let check = format!("python3 {script} check");
    explore_ext4(t, &["--exec", &exec, "--check", &check])
}

#[test]
fn an_outside_program_is_judged_by_what_its_check_prints() {
    needs_disk!();
    if std::process::Command::new("python3")
        .arg("-c")
        .arg("")
        .status()
        .is_err()
    {
        eprintln!("skipped: no python3");
        return;
    }
    let t = TestDir::new();
    let (run, report) = explore_program(&t, "correct");
    run.expect_code(0);
    assert_eq!(report["verdict"], "pass", "{}", run.describe());

    let (run, report) = explore_program(&t, "no-dir-fsync");
    run.expect_code(1);
    assert!(
        classes(&report).contains(&"lost".to_string()),
        "{}",
        run.describe()
    );
}

/// Interrupted or killed while its operations run, it leaves no mount,
/// loop device, FUSE mount, image or directory.
#[test]
fn nothing_survives_an_interrupt_or_a_kill() {
    needs_disk!();
    for signal in [libc::SIGINT, libc::SIGKILL] {
        let t = TestDir::new();
        let mut child = t
            .cmd(&[
                "explore",
                "--faults",
                "power",
                "--fs",
                "ext4",
                "--image-mib",
                "256",
                "--strategy",
                "reference",
                "--warmup-ops",
                "100000",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Mid-run: the disk's file system is mounted.
        let running = util::wait_for(std::time::Duration::from_secs(60), || {
            util::leftovers(t.path()).iter().any(|l| l.contains("/mnt"))
        });
        assert!(running, "never mounted: {:?}", util::leftovers(t.path()));
        // SAFETY: kill(2) of our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        if signal == libc::SIGINT {
            assert_eq!(status.code(), Some(130), "interrupted: exit 130");
        }
        let clean = util::wait_for(std::time::Duration::from_secs(30), || {
            util::leftovers(t.path()).is_empty()
        });
        assert!(
            clean,
            "signal {signal}: left {:?}",
            util::leftovers(t.path())
        );
    }
}
