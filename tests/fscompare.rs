//! `torture fscompare`: a short comparison over tmpfs and an ext4 loop
//! image, its report files and their content, and that no mount and no image
//! outlive it, however it ends; `--json`, `--junit` and the step summary,
//! written by the same exporters as a run's.
//!
//! Making file systems needs root and loop devices; where the machine has
//! neither, the tests that mount say so and return. The tests of a
//! directory already mounted (`--dir NAME=PATH`) need neither.

mod util;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use util::{TestDir, read_json, wait_for};

/// Why this machine cannot make a recording disk, if it cannot.
fn cannot_record() -> Option<&'static str> {
    if let Some(why) = cannot_mount() {
        return Some(why);
    }
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .is_err()
    {
        return Some("no usable /dev/fuse");
    }
    None
}

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
    // torture is named the way replay lines name it.
    let command = r["command"].as_str().unwrap();
    assert!(
        command.starts_with(&format!("{} fscompare ", util::torture_word())),
        "{command}"
    );
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
            assert_eq!(status.code(), Some(130), "interrupted: exit 130");
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
    for flag in ["--crash-points", "--max-states"] {
        t.run(&["fscompare", "--fs", "tmpfs", flag, "5", "--out", "o"])
            .expect_code(2)
            .expect_one_error_line(&format!("{flag} needs --power-loss"));
    }
    // A recording disk of ext4 needs 64 MiB, whatever the plain image takes.
    t.run(&[
        "fscompare",
        "--fs",
        "ext4",
        "--power-loss",
        "--image-mib",
        "32",
        "--out",
        "o",
    ])
    .expect_code(2)
    .expect_one_error_line("--image-mib");
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
        "--junit",
        "junit.xml",
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
    // Every run met its verdict: every case passes, one per row.
    let cases = junit_cases(&t.join("junit.xml"));
    assert_eq!(
        cases,
        [
            ("fscompare.here".into(), "reference".into(), None),
            ("fscompare".into(), "evidence".into(), None),
        ],
        "{}",
        run.describe()
    );
}

/// Each test case of the JUnit file at `path`: its suite, its name, and
/// its failure, error or skipped element (tag and message), if any.
type Case = (String, String, Option<(String, String)>);

fn junit_cases(path: &Path) -> Vec<Case> {
    let xml = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|case| {
            let suite = case.parent().unwrap().attribute("name").unwrap();
            let outcome = case.children().find(|c| c.is_element()).map(|c| {
                let message = c.attribute("message").unwrap_or("").to_string();
                (c.tag_name().name().to_string(), message)
            });
            let name = case.attribute("name").unwrap();
            (suite.to_string(), name.to_string(), outcome)
        })
        .collect()
}

/// `--json -` puts the `torture/fscompare/v1` report alone on stdout (the
/// same bytes as `--out`'s report.json), `--junit FILE` has a case per
/// strategy that fails exactly for the runs that missed their verdict, and
/// the step summary gets the comparison's tables. `reference` must miss:
/// 200 operations cannot land the 1000 kills `--min-kills` asks for, so
/// it is inconclusive; `naive` fails one way or the other.
#[test]
fn json_on_stdout_and_junit_fail_exactly_the_missed_runs() {
    let t = TestDir::new();
    let dir = format!("here={}", t.path().display());
    std::fs::write(t.join("summary.md"), "earlier step\n").unwrap();
    let args = [
        "fscompare",
        "--dir",
        &dir,
        "--strategies",
        "reference,naive",
        "--ops",
        "200",
        "--kill-rate",
        "0.3",
        "--kill-at",
        "syscall",
        "--min-kills",
        "1000",
        "--writers",
        "4",
        "--seed",
        "7",
        "--out",
        "out",
        "--json",
        "-",
        "--junit",
        "junit.xml",
    ];
    let out = t
        .cmd(&args)
        .env("GITHUB_STEP_SUMMARY", t.join("summary.md"))
        .output()
        .unwrap();
    let describe = || {
        format!(
            "torture {}\nstatus {:?}\nstderr:\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    };
    // The only miss is inconclusive (too few kills): exit 3, as for `run`.
    assert_eq!(out.status.code(), Some(3), "{}", describe());
    assert_eq!(
        out.stdout,
        std::fs::read(t.join("out/report.json")).unwrap(),
        "stdout holds report.json alone"
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "all_met",
            "command",
            "filesystems",
            "interrupted",
            "machine",
            "params",
            "rows",
            "schema",
            "seconds",
            "strategies"
        ]
    );
    assert_eq!(r["schema"], "torture/fscompare/v1");
    assert_eq!(r["all_met"], false);
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{}", describe());
    let missed: Vec<&str> = rows
        .iter()
        .filter(|row| row["met"] == false)
        .map(|row| row["strategy"].as_str().unwrap())
        .collect();
    assert!(missed.contains(&"reference"), "{rows:?}");

    let cases = junit_cases(&t.join("junit.xml"));
    let per_strategy: Vec<&Case> = cases.iter().filter(|c| c.0 == "fscompare.here").collect();
    assert_eq!(per_strategy.len(), rows.len(), "a case per row: {cases:?}");
    let failed: Vec<&str> = per_strategy
        .iter()
        .filter(|c| c.2.is_some())
        .map(|c| c.1.as_str())
        .collect();
    assert_eq!(failed, missed, "{cases:?}");
    let reference = per_strategy.iter().find(|c| c.1 == "reference").unwrap();
    assert_eq!(
        reference.2,
        Some((
            "failure".into(),
            "observed inconclusive, expected pass".into()
        ))
    );
    assert!(
        cases.contains(&("fscompare".into(), "evidence".into(), None)),
        "{cases:?}"
    );

    let md = std::fs::read_to_string(t.join("summary.md")).unwrap();
    assert!(md.starts_with("earlier step\n"), "appended: {md}");
    assert!(md.contains("# File-system comparison"), "{md}");
    assert!(
        md.contains("| reference | inconclusive **(expected pass)** |"),
        "{md}"
    );
    assert_eq!(
        std::fs::read_to_string(t.join("out/report.md")).unwrap(),
        md["earlier step\n".len()..],
        "report.md and the step summary are one rendering"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("| strategy | here |"),
        "the tables go to stderr"
    );
}

/// `--power-loss`: each strategy again on a recording disk of ext4, its
/// crash states judged, and the matrix in every report: `reference` must
/// pass, `no-dir-fsync` (guilty under `posix`) is observed, each with its
/// crash states, its slowdown against the plain run and the models'
/// predictions.
#[test]
fn power_loss_matrix_is_written() {
    if let Some(why) = cannot_record() {
        eprintln!("skipped: fscompare --power-loss needs a recording disk here ({why})");
        return;
    }
    let t = TestDir::new();
    let scratch = t.path().display().to_string();
    let run = t.run(&[
        "fscompare",
        "--fs",
        "ext4",
        "--strategies",
        "reference,no-dir-fsync",
        "--ops",
        "100",
        "--power-loss",
        "--crash-points",
        "10",
        "--image-mib",
        "256",
        // Sized by counts, as the short comparison: one landed kill is
        // enough evidence for the process-crash tier.
        "--kill-rate",
        "0.3",
        "--min-kills",
        "1",
        "--writers",
        "4",
        "--seed",
        "7",
        "--scratch",
        &scratch,
        "--out",
        "out",
        "--junit",
        "junit.xml",
    ]);
    run.expect_code(0);
    let r = read_json(&t.join("out/report.json"));
    assert_eq!(r["schema"], "torture/fscompare/v1");
    assert_eq!(r["params"]["power"]["crash_points"], 10);
    assert_eq!(r["params"]["power"]["max_states"], 2);
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{}", run.describe());
    for row in rows {
        let strategy = row["strategy"].as_str().unwrap();
        let cell = &row["power"];
        assert!(cell.is_object(), "{strategy}: {row}");
        assert_eq!(row["power_skipped"], serde_json::Value::Null);
        assert_eq!(cell["met"], true, "{strategy}: {cell}");
        assert!(cell["label"].as_str().unwrap().contains("ext4"), "{cell}");
        let points = cell["crash_points"].as_u64().unwrap();
        assert!((1..=10).contains(&points), "{cell}");
        assert!(cell["crash_states"].as_u64().unwrap() >= points, "{cell}");
        assert!(cell["states_per_second"].as_f64().unwrap() > 0.0, "{cell}");
        assert!(cell["ops_per_s"].as_f64().unwrap() > 0.0, "{cell}");
        assert!(cell["slowdown"].as_f64().unwrap() > 0.0, "{cell}");
        match strategy {
            "reference" => {
                assert_eq!(cell["expected"], "pass");
                assert_eq!(cell["verdict"], "pass");
                assert_eq!(cell["model_posix"], "pass");
                assert_eq!(cell["model_disagrees"], false, "{cell}");
            }
            _ => {
                assert_eq!(cell["expected"], "observed");
                assert_eq!(cell["model_posix"], "lost");
            }
        }
    }
    let md = std::fs::read_to_string(t.join("out/report.md")).unwrap();
    for needle in [
        "## Power loss\n",
        "at 10 crash points of its block log",
        "| strategy | ext4 | posix model | ordered model |",
        "| reference | pass · ",
        "| no-dir-fsync | ",
        "### Speed of the power tier",
        "| ext4 | reference | ",
    ] {
        assert!(md.contains(needle), "{needle:?} missing from:\n{md}");
    }
    let html = std::fs::read_to_string(t.join("out/report.html")).unwrap();
    assert!(html.contains("<h2>Power loss</h2>"), "{html}");
    assert!(html.contains("<h3>Speed</h3>"), "{html}");
    let cases = junit_cases(&t.join("junit.xml"));
    for strategy in ["reference", "no-dir-fsync"] {
        let name = format!("{strategy} (power loss)");
        assert!(
            cases.contains(&("fscompare.ext4".into(), name, None)),
            "{cases:?}"
        );
    }
    assert!(
        run.stderr()
            .contains("torture: reference on ext4 (power loss): expected pass: met, "),
        "{}",
        run.describe()
    );
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

/// `--power-loss` over a directory already mounted: no block device, so
/// no power run and no model explored; the rows say why, and the reports
/// say there was none. No root needed.
#[test]
fn power_loss_skips_a_file_system_without_a_block_device() {
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
        "--power-loss",
        "--crash-points",
        "all",
        "--out",
        "out",
    ]);
    run.expect_code(0);
    let r = read_json(&t.join("out/report.json"));
    assert_eq!(
        r["params"]["power"]["crash_points"],
        serde_json::Value::Null
    );
    assert_eq!(r["params"]["power"]["max_states"], 2);
    assert_eq!(r["rows"][0]["power"], serde_json::Value::Null);
    assert_eq!(r["rows"][0]["power_skipped"], "no block device");
    let md = std::fs::read_to_string(t.join("out/report.md")).unwrap();
    assert!(md.contains("Not on here: no block device."), "{md}");
    assert!(
        md.contains("No power run: no file system with a block device."),
        "{md}"
    );
    assert!(
        !run.stderr().contains("ordered model"),
        "{}",
        run.describe()
    );
}
