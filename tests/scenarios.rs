//! The shipped scenario set passes, and expectation mismatches are exit 1.

mod util;

use util::{TestDir, read_json};

#[test]
fn shipped_scenarios_all_meet_their_expectations() {
    let t = TestDir::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| {
            // A power cut on a recording disk needs root, /dev/fuse and loop
            // devices (CI has them); elsewhere those scenarios are left out.
            let power = std::fs::read_to_string(p).is_ok_and(|t| t.contains("power_loss ="));
            !power || util::can_record_disk()
        })
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 8, "one scenario per zoo strategy at least");
    // A fixed seed and the scenarios' op quotas: the same answer on a loaded machine.
    let mut args = vec!["run", "--seed", "42", "--json", "all.json"];
    args.extend(files.iter().map(String::as_str));
    let run = t.run(&args);
    run.expect_code(0);
    let r = read_json(&t.join("all.json"));
    assert_eq!(r["all_met"], true);
    assert_eq!(r["scenarios"].as_array().unwrap().len(), files.len());
    assert!(run.stdout().contains(&format!(
        "{} of {} scenario(s) met",
        files.len(),
        files.len()
    )));
}

#[test]
fn a_scenario_that_expects_the_wrong_verdict_fails() {
    let t = TestDir::new();
    std::fs::write(
        t.join("wrong.toml"),
        "strategy = \"no-lock\"\nwriters = 16\nkill_rate = 0.0\nduration = \"2s\"\nexpect = \"pass\"\n",
    )
    .unwrap();
    let run = t.run(&["run", "wrong.toml"]);
    run.expect_code(1);
    assert!(run.stdout().contains("MISMATCH"), "{}", run.describe());
}

/// An outside program's scenario in `dir/sub`: its commands are found
/// through `$TORTURE_SCENARIO_DIR`, and each operation writes the value it
/// saw to `sub/seen-dir`.
fn exec_scenarios(t: &TestDir) -> std::path::PathBuf {
    let sub = t.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let write = |name: &str, text: &str| std::fs::write(sub.join(name), text).unwrap();
    write(
        "add.sh",
        "printf '%s\\n' \"$TORTURE_SCENARIO_DIR\" > \"$TORTURE_SCENARIO_DIR/seen-dir\"\n\
         echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\"\n",
    );
    write(
        "check.sh",
        "[ -e \"$TORTURE_STATE\" ] || exit 0\ncat \"$TORTURE_STATE\"\n",
    );
    let commands = "exec = 'sh \"$TORTURE_SCENARIO_DIR/add.sh\"'\n\
                    check = 'sh \"$TORTURE_SCENARIO_DIR/check.sh\"'\n";
    write(
        "run.toml",
        &format!("{commands}writers = 2\nkill_rate = 0.0\nops = 20\nexpect = \"pass\"\n"),
    );
    write(
        "explore.toml",
        &format!("mode = \"explore\"\n{commands}faults = [\"kill\"]\nexpect = \"pass\"\n"),
    );
    sub
}

/// What the operations saw as `$TORTURE_SCENARIO_DIR`, checked to be the
/// scenario's directory, absolute.
fn assert_saw_scenario_dir(sub: &std::path::Path, run: &util::Run) {
    let seen = std::fs::read_to_string(sub.join("seen-dir"))
        .unwrap_or_else(|e| panic!("no operation ran ({e}):\n{}", run.describe()));
    let seen = std::path::Path::new(seen.trim_end());
    assert!(seen.is_absolute(), "{seen:?}");
    assert_eq!(
        seen.canonicalize().unwrap(),
        sub.canonicalize().unwrap(),
        "{}",
        run.describe()
    );
}

#[test]
fn a_scenario_named_by_a_bare_file_name_runs_from_its_directory() {
    let t = TestDir::new();
    let sub = exec_scenarios(&t);
    for args in [
        &["run", "run.toml"][..],
        &["run", "explore.toml"],
        &["explore", "--scenario", "explore.toml"],
    ] {
        let _ = std::fs::remove_file(sub.join("seen-dir"));
        let run = t.run_in(&sub, args);
        run.expect_code(0);
        assert!(
            !run.stderr().contains("cannot resolve"),
            "{}",
            run.describe()
        );
        assert_saw_scenario_dir(&sub, &run);
    }
}
