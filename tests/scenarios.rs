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
