//! `torture --power-loss FS`: the run on a recording disk, then power cuts
//! at crash points of its block log. The acceptance pair
//! (`no-dir-fsync` loses acknowledged updates on ext4, `reference` loses
//! nothing), an exact single-writer run where every crash point is checked,
//! and that nothing (mount, loop device, FUSE mount, image, directory)
//! outlives a run, however it ends.
//!
//! These need root, /dev/fuse and loop devices; where the machine lacks
//! one, each test says so and returns.

mod util;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use util::{TestDir, wait_for};

macro_rules! needs_disk {
    () => {
        if !util::can_record_disk() {
            eprintln!("skipped: --power-loss needs root, /dev/fuse and loop devices here");
            return;
        }
    };
}

fn power_args<'a>(strategy: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--power-loss",
        "ext4",
        "--image-mib",
        "256",
        "--strategy",
        strategy,
        "--seed",
        "5",
        "--json",
        "report.json",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn no_dir_fsync_loses_acknowledged_updates_and_reference_loses_nothing() {
    needs_disk!();
    let t = TestDir::new();
    // The command, with 30 crash points to keep the suite short.
    let common = [
        "--writers",
        "8",
        "--kill-rate",
        "0.1",
        "--ops",
        "400",
        "--min-kills",
        "1",
        "--crash-points",
        "30",
    ];
    let run = t.run(&power_args("no-dir-fsync", &common));
    run.expect_code(1);
    let r = util::read_json(&t.join("report.json"));
    assert_eq!(r["tier"], "power-loss", "{r}");
    let p = &r["power_loss"];
    assert_eq!(p["crash_points"], 30, "{p}");
    assert!(p["crash_states"].as_u64().unwrap() >= 30, "{p}");
    assert!(p["violations"]["lost"].as_u64().unwrap() > 0, "{p}");
    assert!(r["violations"]["lost"].as_u64().unwrap() > 0, "{r}");
    assert!(run.stdout().contains("power loss (ext4, data=ordered)"));
    assert!(
        util::leftovers(t.path()).is_empty(),
        "{:?}",
        util::leftovers(t.path())
    );

    let run = t.run(&power_args("reference", &common));
    run.expect_code(0);
    let r = util::read_json(&t.join("report.json"));
    let p = &r["power_loss"];
    assert_eq!(r["verdict"], "pass", "{r}");
    assert_eq!(p["crash_points"], 30, "{p}");
    assert!(p["crash_states"].as_u64().unwrap() >= 30, "{p}");
    assert_eq!(
        p["violations"],
        serde_json::json!({"torn": 0, "lost": 0, "phantom": 0})
    );
    assert!(p["log"]["flushes"].as_u64().unwrap() > 0, "{p}");
    assert!(p["positions_reported"].as_u64().unwrap() > 0, "{p}");
    assert!(
        util::leftovers(t.path()).is_empty(),
        "{:?}",
        util::leftovers(t.path())
    );
}

/// One writer, no kills, every crash point: every acknowledged rename of
/// `no-dir-fsync` is checked at its own acknowledgement, where it is not
/// yet durable. Deterministic: no draw decides whether it is seen.
#[test]
fn every_crash_point_of_a_single_writer_finds_the_missing_directory_fsync() {
    needs_disk!();
    let t = TestDir::new();
    let single = [
        "--writers",
        "1",
        "--readers",
        "0",
        "--kill-rate",
        "0",
        "--ops",
        "20",
        "--crash-points",
        "all",
        "--max-states",
        "2",
    ];
    let args = power_args("no-dir-fsync", &single);
    let run = t.run(&args);
    run.expect_code(1);
    let r = util::read_json(&t.join("report.json"));
    let p = &r["power_loss"];
    assert_eq!(p["crash_points"], p["candidates"], "{p}");
    assert!(p["violations"]["lost"].as_u64().unwrap() > 0, "{p}");
    let ev = r["evidence"].as_array().unwrap();
    assert!(
        ev.iter()
            .any(|e| e["kind"] == "lost" && e["seen_by"].as_str().unwrap().contains("power cut")),
        "{ev:?}"
    );

    // The same with the directory fsynced: nothing lost at any point.
    let args = power_args("reference", &single);
    t.run(&args).expect_code(0);
}

#[test]
fn refusals_are_one_line_and_exit_2() {
    let t = TestDir::new();
    for (args, needle) in [
        (vec!["--power-loss", "tmpfs"], "tmpfs has no disk"),
        (vec!["--power-loss", "zfs"], "unknown file system"),
        (vec!["--power-loss", "ext4", "--dir", "d"], "--dir"),
        (vec!["--crash-points", "5"], "needs --power-loss"),
        (
            vec!["--power-loss", "ext4", "--crash-points", "0"],
            "--crash-points",
        ),
        (
            vec!["--power-loss", "ext4", "--crash-points", "some"],
            "--crash-points",
        ),
        (
            vec!["--power-loss", "xfs", "--image-mib", "100"],
            "too small",
        ),
    ] {
        t.run(&args).expect_code(2).expect_one_error_line(needle);
    }
    assert!(!t.join("d").exists(), "nothing made for a refused run");
}

#[test]
fn without_root_it_says_so_and_touches_nothing() {
    if !nix::unistd::geteuid().is_root() || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root and setpriv to drop to nobody");
        return;
    }
    let t = TestDir::new();
    std::fs::set_permissions(
        t.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let out = std::process::Command::new("/usr/bin/setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(util::bin())
        .args(["--power-loss", "ext4", "--ops", "10"])
        .current_dir(t.path())
        .env("TMPDIR", t.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("needs root"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        util::leftovers(t.path()).is_empty(),
        "{:?}",
        util::leftovers(t.path())
    );
}

/// Interrupted or killed mid-run, it leaves no mount, loop device, FUSE
/// mount, image or directory.
#[test]
fn nothing_survives_an_interrupt_or_a_kill() {
    needs_disk!();
    for signal in [libc::SIGINT, libc::SIGKILL] {
        let t = TestDir::new();
        let mut child = t
            .cmd(&power_args(
                "reference",
                &["--duration", "60s", "--writers", "4"],
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Mid-run: the run directory exists on the mounted disk.
        let running = wait_for(Duration::from_secs(60), || {
            util::leftovers(t.path()).iter().any(|l| l.contains("/mnt"))
        });
        assert!(
            running,
            "the disk was never mounted: {:?}",
            util::leftovers(t.path())
        );
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: kill(2) of our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        if signal == libc::SIGINT {
            assert_eq!(status.code(), Some(130), "interrupted: exit 130");
        }
        let clean = wait_for(Duration::from_secs(30), || {
            util::leftovers(t.path()).is_empty()
        });
        assert!(
            clean,
            "signal {signal}: left {:?}",
            util::leftovers(t.path())
        );
    }
}
