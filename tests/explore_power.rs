//! `torture explore --faults power`: the power-loss tier. The broken
//! disciplines are found under the models that must find them, the correct
//! ones pass every crash state of every model, the same seed gives the same
//! table, and the settings are refused where they do not apply.

mod util;

use serde_json::Value;
use util::{TestDir, read_json};

/// Runs `torture explore args... --faults power --json e.json`.
fn power(t: &TestDir, args: &[&str]) -> (util::Run, Value) {
    let mut all = vec!["explore", "--faults", "power"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", "e.json"]);
    let run = t.run(&all);
    assert!(
        t.join("e.json").exists(),
        "no JSON report\n{}",
        run.describe()
    );
    let report = read_json(&t.join("e.json"));
    (run, report)
}

/// The classes found under power loss, sorted, each once.
fn classes(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["fault"] == "power")
        .map(|f| f["outcome"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The power column of the table, in row order.
fn cells(report: &Value) -> Vec<String> {
    report["table"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| format!("{} {}", row["index"], row["outcomes"]["power"]))
        .collect()
}

/// The checks every power report must pass: every crash point has a row,
/// one per fault point and one after exit 0, and states were checked.
fn well_formed(report: &Value, model: &str) {
    let p = &report["power"];
    assert_eq!(p["model"], model, "{p}");
    let points = report["points"].as_u64().unwrap();
    assert_eq!(p["crash_points"].as_u64(), Some(points + 1), "{p}");
    assert_eq!(
        report["table"].as_array().unwrap().len() as u64,
        points + 1,
        "a row per crash point"
    );
    let last = report["table"].as_array().unwrap().last().unwrap();
    assert_eq!(last["syscall"], "exit 0 (acknowledged)");
    assert!(p["states"].as_u64().unwrap() > points, "{p}");
    assert!(p["distinct"].as_u64().unwrap() >= 1, "{p}");
    assert_eq!(p["unmodelled"], Value::Array(vec![]), "{p}");
    assert!(
        report["faults"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "power" && f["tier"] == "power-loss"),
        "{}",
        report["faults"]
    );
}

/// The reference discipline, compare-and-swap by link(2) and SQLite: no
/// crash state of any model loses or tears anything.
#[test]
fn correct_disciplines_pass_every_crash_state_of_every_model() {
    for strategy in ["reference", "cas-excl"] {
        for model in ["posix", "ordered", "none"] {
            let t = TestDir::new();
            let (run, report) = power(&t, &["--strategy", strategy, "--model", model]);
            let ctx = format!("{strategy} {model}\n{}", run.describe());
            assert_eq!(run.code(), Some(0), "{ctx}");
            assert_eq!(report["verdict"], "pass", "{ctx}");
            assert!(classes(&report).is_empty(), "{ctx}");
            well_formed(&report, model);
            // Small enough to check every state the model allows.
            assert_eq!(report["power"]["sampled_points"], 0, "{ctx}");
        }
    }
    // SQLite's WAL writes make thousands of states: a sample, seeded.
    for model in ["posix", "ordered"] {
        let t = TestDir::new();
        let (run, report) = power(
            &t,
            &[
                "--strategy",
                "sqlite",
                "--model",
                model,
                "--max-states",
                "24",
            ],
        );
        assert_eq!(run.code(), Some(0), "sqlite {model}\n{}", run.describe());
        well_formed(&report, model);
    }
}

/// Renamed into place before its data was made durable: the rename can
/// persist without the data (`torn`), and an acknowledged rename without
/// its directory's fsync can vanish (`lost`). A process crash, the `none`
/// model, shows neither.
#[test]
fn no_fsync_is_torn_and_lost_under_posix_and_passes_under_none() {
    let t = TestDir::new();
    let (run, report) = power(&t, &["--strategy", "no-fsync"]);
    assert_eq!(run.code(), Some(1), "{}", run.describe());
    assert_eq!(classes(&report), ["lost", "torn"], "{}", run.stdout());
    well_formed(&report, "posix");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["outcome"] == "torn")
        .unwrap();
    assert_eq!(finding["tier"], "power-loss");
    assert_eq!(finding["model"], "posix");
    let dropped = finding["dropped"].as_array().unwrap();
    assert!(
        dropped
            .iter()
            .any(|d| d.as_str().unwrap().contains("write(")
                && d.as_str().unwrap().contains("needs fsync(.state.tmp-")),
        "the torn state names the unsynced write: {finding}"
    );
    assert!(
        finding["replay"]
            .as_str()
            .unwrap()
            .contains("--faults power --point"),
        "{finding}"
    );
    assert!(
        run.stdout().contains("[power loss (posix) tier]"),
        "{}",
        run.stdout()
    );

    let t = TestDir::new();
    let (run, report) = power(&t, &["--strategy", "no-fsync", "--model", "none"]);
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    assert_eq!(report["power"]["states"], report["power"]["crash_points"]);
}

/// The same seed gives the same crash states and the same table, even when
/// they are sampled; the replay of one crash point checks just that one.
#[test]
fn sampled_states_are_seeded_and_a_point_replays_alone() {
    let args = [
        "--strategy",
        "naive",
        "--max-states",
        "6",
        "--seed",
        "7",
        "--jobs",
        "2",
    ];
    let t = TestDir::new();
    let (first, a) = power(&t, &args);
    let t = TestDir::new();
    let (_, b) = power(&t, &args);
    assert_eq!(first.code(), Some(1), "{}", first.describe());
    assert!(
        a["power"]["sampled_points"].as_u64().unwrap() > 0,
        "{}",
        a["power"]
    );
    assert_eq!(cells(&a), cells(&b));
    assert_eq!(a["power"]["states"], b["power"]["states"]);
    assert_eq!(a["power"]["distinct"], b["power"]["distinct"]);
    // The first finding's replay line, run as printed (with --json added).
    let line = a["findings"][0]["replay"].as_str().unwrap().to_string();
    let words = shlex::split(&line).unwrap();
    assert_eq!(shlex::try_quote(&words[0]).unwrap(), util::torture_word());
    let words: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let t = TestDir::new();
    let mut again = words.clone();
    again.extend(["--json", "e.json"]);
    let run = t.run(&again);
    assert_eq!(run.code(), Some(1), "{line}\n{}", run.describe());
    let r = read_json(&t.join("e.json"));
    let rows = r["table"].as_array().unwrap();
    let with_power: Vec<&Value> = rows
        .iter()
        .filter(|row| !row["outcomes"]["power"].is_null())
        .collect();
    assert_eq!(with_power.len(), 1, "one crash point: {line}");
    assert_eq!(with_power[0]["index"], a["findings"][0]["point"]);
}

/// --artifacts keeps each failing crash point's state as built, the
/// operations it dropped, and the replay script.
#[test]
fn artifacts_keep_the_crash_state_and_what_it_dropped() {
    let t = TestDir::new();
    let (run, report) = power(&t, &["--strategy", "no-fsync", "--artifacts", "a"]);
    assert_eq!(run.code(), Some(1), "{}", run.describe());
    let point = report["findings"][0]["point"].as_u64().unwrap();
    let here = t.join(&format!("a/point-{point:03}-power"));
    assert!(here.join("dir").is_dir(), "{}", here.display());
    let dropped = std::fs::read_to_string(here.join("dropped.txt")).unwrap();
    assert!(dropped.contains("needs fsync("), "{dropped}");
    // ops.txt: the crash point, then every operation before it, marked.
    let ops = std::fs::read_to_string(here.join("ops.txt")).unwrap();
    let mut lines = ops.lines();
    let first = lines.next().unwrap();
    assert!(
        first.starts_with("crash at the entry of #")
            || first == "crash after the operation exited 0",
        "{ops}"
    );
    let marked: Vec<(&str, &str)> = lines.map(|l| l.split_once(' ').unwrap()).collect();
    for (mark, _) in &marked {
        assert!(
            ["durable", "kept", "dropped", "point"].contains(mark),
            "{ops}"
        );
    }
    let named = |mark: &str| -> Vec<String> {
        let ops = marked.iter().filter(|(m, _)| *m == mark);
        ops.map(|(_, op)| op.trim().to_string()).collect()
    };
    // What dropped.txt names is what ops.txt marks dropped: the unsynced
    // write or rename.
    let lost = named("dropped");
    assert!(
        !lost.is_empty()
            && lost
                .iter()
                .all(|op| op.contains("write(") || op.contains("rename")),
        "{ops}"
    );
    for line in dropped.lines() {
        assert!(
            lost.iter().any(|op| line.starts_with(op.as_str())),
            "{line}: {ops}"
        );
    }
    // no-fsync never syncs: nothing after the durable start is durable, and
    // the warm-ups' acknowledgements are points.
    assert!(named("durable").is_empty(), "{ops}");
    assert!(
        named("point").iter().any(|op| op.ends_with("exit 0")),
        "{ops}"
    );
    let script = std::fs::read_to_string(here.join("replay.sh")).unwrap();
    assert!(script.contains("--faults power"), "{script}");
}

/// Every strategy of the zoo gets the power-loss verdict it declares under
/// `posix`: its declared (class, power) pairs all show, and one that
/// declares none passes every crash state. `no-dir-fsync`, whose only flaw is
/// the missing directory fsync, is found `lost` under `ordered` too, and
/// nothing is found under `none`, the process-crash state.
#[test]
fn every_strategy_meets_its_power_model() {
    use torture_harness::vocab::Fault;
    for s in torture_harness::strategy::all() {
        let t = TestDir::new();
        // SQLite's WAL makes thousands of states: a seeded sample is enough.
        let (run, report) = power(&t, &["--strategy", s.name(), "--max-states", "32"]);
        let mut expected: Vec<String> = s
            .explore_expected()
            .iter()
            .filter(|(fault, _)| *fault == Fault::Power)
            .map(|(_, finding)| finding.name().to_string())
            .collect();
        expected.sort();
        let found = classes(&report);
        let ctx = format!("{}: found {found:?}\n{}", s.name(), run.stdout());
        if expected.is_empty() {
            assert_eq!(run.code(), Some(0), "{ctx}");
            assert!(found.is_empty(), "{ctx}");
        } else {
            assert_eq!(run.code(), Some(1), "{ctx}");
            for class in &expected {
                assert!(found.contains(class), "{class} missing: {ctx}");
            }
        }
    }
    for (model, code) in [("ordered", 1), ("none", 0)] {
        let t = TestDir::new();
        let (run, report) = power(&t, &["--strategy", "no-dir-fsync", "--model", model]);
        assert_eq!(run.code(), Some(code), "{model}: {}", run.describe());
        if code == 1 {
            assert_eq!(classes(&report), ["lost"], "{model}");
            let f = &report["findings"][0];
            assert!(
                f["dropped"].as_array().unwrap().iter().any(|d| d
                    .as_str()
                    .unwrap()
                    .contains("rename")
                    && d.as_str().unwrap().contains("needs fsync(.)")),
                "the lost state names the rename the directory's fsync would have kept: {f}"
            );
        }
    }
}

/// The settings of the power-loss tier are refused without it, and bad
/// values are refused, each in one line, exit 2; so is a program whose
/// operation touches nothing in the run directory (its crash states would
/// prove nothing).
#[test]
fn power_settings_are_refused_where_they_do_not_apply() {
    let t = TestDir::new();
    // Its ops go to a file outside the run directory.
    let outside = t.join("outside");
    let exec = format!("echo \"$TORTURE_OP\" >> '{}'", outside.display());
    let check = format!("cat '{}' 2>/dev/null || true", outside.display());
    t.run(&[
        "explore", "--faults", "power", "--exec", &exec, "--check", &check,
    ])
    .expect_code(2)
    .expect_one_error_line("no file-system syscall");
    for (args, needle) in [
        (vec!["explore", "--model", "posix"], "--model"),
        (vec!["explore", "--faults", "kill", "--seed", "3"], "--seed"),
        (
            vec!["explore", "--faults", "power", "--model", "ext4"],
            "--model",
        ),
        (
            vec!["explore", "--faults", "power", "--max-states", "0"],
            "--max-states",
        ),
        (vec!["explore", "--faults", "powr"], "power"),
    ] {
        t.run(&args).expect_code(2).expect_one_error_line(needle);
    }
}

/// The power-loss tier needs no root: as an ordinary user (nobody, through
/// `setpriv`), `no-dir-fsync` is found `lost`. Without root there is no
/// other user to become; the suite's other tests then run as that user.
#[test]
fn power_loss_runs_as_an_ordinary_user() {
    use std::os::unix::fs::PermissionsExt;
    let setpriv = std::path::Path::new("/usr/bin/setpriv");
    if !nix::unistd::geteuid().is_root() || !setpriv.exists() {
        eprintln!("skipped: needs root and setpriv to become another user");
        return;
    }
    let t = TestDir::new();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    // A copy the user can run, wherever the build directory is.
    let bin = t.join("torture");
    std::fs::copy(util::bin(), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin)
        .args(["explore", "--strategy", "no-dir-fsync", "--faults", "power"])
        .args(["--json", "e.json"])
        .current_dir(t.path())
        .env("TMPDIR", t.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report = read_json(&t.join("e.json"));
    assert_eq!(classes(&report), ["lost"]);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(t.join("e.json")).unwrap().uid(),
        65534,
        "written by the ordinary user"
    );
}

/// What the recorder cannot model (here a symbolic link made in the run
/// directory) makes the verdict inconclusive (exit 3), never a pass: the
/// states built without it prove nothing about it.
#[test]
fn what_cannot_be_modelled_is_inconclusive_not_a_pass() {
    let t = TestDir::new();
    let (run, report) = power(
        &t,
        &[
            "--exec",
            "echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\" && ln -sfn state link",
            "--check",
            "cat \"$TORTURE_STATE\" 2>/dev/null || true",
            "--model",
            "none",
        ],
    );
    assert_eq!(run.code(), Some(3), "{}", run.describe());
    assert_eq!(report["verdict"], "inconclusive");
    let unmodelled = report["power"]["unmodelled"].as_array().unwrap();
    assert!(
        unmodelled
            .iter()
            .any(|u| u.as_str().unwrap().contains("symlink")),
        "{unmodelled:?}"
    );
    assert!(run.stdout().contains("not modelled"), "{}", run.stdout());
}
