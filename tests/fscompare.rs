//! `torture fscompare`: a short comparison over tmpfs and an ext4 loop
//! image, its report files and their content, and that no mount and no image
//! outlive it, however it ends.
//!
//! Making file systems needs root and loop devices; where the machine has
//! neither, the tests that mount say so and return.

mod util;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use util::{TestDir, read_json, wait_for};

/// Why this machine cannot mount, if it cannot.
fn cannot_mount() -> Option<&'static str> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root");
    }
    if !Path::new("/dev/loop-control").exists() {
        return Some("no loop devices");
    }
    None
}

macro_rules! needs_mount {
    () => {
        if let Some(why) = cannot_mount() {
            eprintln!("skipped: fscompare must mount file systems here ({why})");
            return;
        }
    };
}

/// The mount points under `dir` that are still mounted.
fn mounts_under(dir: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.display().to_string();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&dir))
        .map(str::to_string)
        .collect()
}

/// Every file under `dir` whose name ends with `.img`.
fn images_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "img") {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

fn short_args(scratch: &str) -> Vec<&str> {
    vec![
        "fscompare",
        "--fs",
        "tmpfs,ext4",
        "--strategies",
        "reference,naive",
        // Sized by counts: a second of a loaded machine may hold too few
        // operations for a pass. The comparison is the point here, so one
        // landed kill of the 60 drawn is enough evidence.
        "--ops",
        "200",
        "--kill-rate",
        "0.3",
        "--kill-at",
        "syscall",
        "--min-kills",
        "1",
        "--writers",
        "8",
        "--image-mib",
        "256",
        "--scratch",
        scratch,
        "--seed",
        "7",
        "--out",
        "out",
    ]
}

#[test]
fn a_short_comparison_writes_every_report_with_content() {
    needs_mount!();
    let t = TestDir::new();
    let scratch = t.path().display().to_string();
    let run = t.run(&short_args(&scratch));
    run.expect_code(0);
    let r = read_json(&t.join("out/report.json"));
    assert_eq!(r["schema"], "torture/fscompare/v1");
    assert_eq!(r["all_met"], true, "{}", run.describe());
    assert!(r["command"].as_str().unwrap().contains("fscompare"));
    assert!(!r["machine"]["kernel"].as_str().unwrap().is_empty());
    assert!(r["machine"]["cpus"].as_u64().unwrap() >= 1);
    assert!(r["machine"]["memory_bytes"].as_u64().unwrap() > 0);
    let fss: Vec<&str> = r["filesystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(fss, ["tmpfs", "ext4"]);
    for fs in r["filesystems"].as_array().unwrap() {
        assert!(fs["fsync_p50_us"].as_f64().unwrap() > 0.0, "{fs}");
    }
    assert!(
        r["filesystems"][1]["backing"]
            .as_str()
            .unwrap()
            .contains("loop image")
    );
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for row in rows {
        let (strategy, fs) = (
            row["strategy"].as_str().unwrap(),
            row["fs"].as_str().unwrap(),
        );
        assert_eq!(row["met"], true, "{strategy} on {fs}: {row}");
        match strategy {
            "reference" => {
                assert_eq!(row["verdict"], "pass");
                assert!(row["ops_per_s"].as_f64().unwrap() > 0.0, "{row}");
                assert!(row["p99_us"].as_u64().unwrap() >= row["p50_us"].as_u64().unwrap());
                assert!(row["kills"].as_u64().unwrap() > 0, "{row}");
            }
            _ => assert!(row["violations"]["torn"].as_u64().unwrap() > 0, "{row}"),
        }
    }
    let md = std::fs::read_to_string(t.join("out/report.md")).unwrap();
    assert!(md.contains("| strategy | tmpfs | ext4 |"), "{md}");
    assert!(md.contains("| naive | torn"), "{md}");
    assert!(md.contains("![throughput](throughput.svg)"));
    assert!(md.contains("fsync p50"));
    let html = std::fs::read_to_string(t.join("out/report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 2, "two inline charts");
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "no outside asset"
    );
    assert!(html.contains("class=\"met\""));
    for chart in ["throughput.svg", "p99.svg"] {
        let svg = std::fs::read_to_string(t.join("out").join(chart)).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let bars = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.children().any(|c| c.has_tag_name("title")))
            .count();
        assert_eq!(bars, 4, "{chart}: one bar per run");
    }
    assert!(
        mounts_under(t.path()).is_empty(),
        "{:?}",
        mounts_under(t.path())
    );
    assert!(
        images_under(t.path()).is_empty(),
        "{:?}",
        images_under(t.path())
    );
}

/// Interrupted or killed while a file system is mounted, it leaves no
/// mount and no image behind.
#[test]
fn no_mount_and_no_image_survive_an_interrupt_or_a_kill() {
    needs_mount!();
    for signal in [libc::SIGINT, libc::SIGKILL] {
        let t = TestDir::new();
        let scratch = t.path().display().to_string();
        let mut args = short_args(&scratch);
        let ops = args.iter().position(|a| *a == "--ops").unwrap();
        args[ops] = "--duration";
        args[ops + 1] = "30s";
        let mut child = t
            .cmd(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mounted = wait_for(Duration::from_secs(60), || {
            !mounts_under(t.path()).is_empty()
        });
        assert!(mounted, "nothing was mounted");
        // SAFETY: kill(2) of our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        if signal == libc::SIGINT {
            assert_eq!(status.code(), Some(2));
        }
        let clean = wait_for(Duration::from_secs(20), || {
            mounts_under(t.path()).is_empty() && images_under(t.path()).is_empty()
        });
        assert!(
            clean,
            "signal {signal}: left {:?} {:?}",
            mounts_under(t.path()),
            images_under(t.path())
        );
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let t = TestDir::new();
    t.run(&["fscompare", "--fs", "zfs", "--out", "o"])
        .expect_code(2)
        .expect_one_error_line("unknown file system \"zfs\"");
    t.run(&["fscompare", "--dir", "nonsense", "--out", "o"])
        .expect_code(2)
        .expect_one_error_line("NAME=PATH");
    t.run(&[
        "fscompare",
        "--dir",
        "here=/tmp",
        "--strategies",
        "nope",
        "--out",
        "o",
    ])
    .expect_code(2)
    .expect_one_error_line("nope");
    assert!(!t.join("o").exists(), "nothing written on bad input");
}

/// A directory already mounted needs no root: a one-strategy comparison
/// in the test's own directory.
#[test]
fn an_already_mounted_directory_is_compared_in_place() {
    let t = TestDir::new();
    let dir = format!("here={}", t.path().display());
    let run = t.run(&[
        "fscompare",
        "--dir",
        &dir,
        "--strategies",
        "reference",
        "--ops",
        "200",
        "--kill-rate",
        "0.3",
        "--min-kills",
        "1",
        "--writers",
        "4",
        "--out",
        "out",
    ]);
    run.expect_code(0);
    let r = read_json(&t.join("out/report.json"));
    assert_eq!(r["rows"][0]["fs"], "here");
    assert_eq!(r["rows"][0]["met"], true);
    assert!(
        r["filesystems"][0]["backing"]
            .as_str()
            .unwrap()
            .contains("already mounted")
    );
}
