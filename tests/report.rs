//! The JSON report contract, run lengths and run directories.

mod util;

use util::{TestDir, read_json};

#[test]
fn report_carries_every_contract_key() {
    let t = TestDir::new();
    let run = t.run(&[
        "--writers",
        "4",
        "--kill-rate",
        "0.2",
        "--ops",
        "300",
        "--min-kills",
        "1",
        "--seed",
        "7",
        "--json",
        "r.json",
    ]);
    run.expect_code(0);
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["schema"], "torture/report/v1");
    assert_eq!(r["verdict"], "pass");
    let config = [
        "strategy",
        "writers",
        "readers",
        "kill_rate",
        "ops_limit",
        "payload_bytes",
        "seed",
        "dir",
    ];
    for k in config {
        assert!(!r["config"][k].is_null(), "config.{k}");
    }
    assert!(r["config"].get("duration_s").is_some(), "null, but present");
    for k in [
        "acked",
        "acked_min_per_writer",
        "kills_landed",
        "checks",
        "final_op",
        "min_acked_per_writer",
        "min_kills",
        "shortfall",
    ] {
        assert!(r["basis"].get(k).is_some(), "basis.{k}");
    }
    assert_eq!(r["basis"]["kills_landed"], r["kills"]);
    assert_eq!(r["config"]["seed"], 7);
    assert_eq!(r["config"]["writers"], 4);
    for k in ["attempted", "acked", "failed", "indeterminate"] {
        assert!(r["ops"][k].is_u64(), "ops.{k}");
    }
    for k in ["torn", "torn_reads", "lost", "phantom"] {
        assert!(r["violations"][k].is_u64(), "violations.{k}");
    }
    assert!(r["warnings"]["litter"].is_u64());
    assert!(r["kills"].is_u64());
    assert!(r["throughput_ops_per_s"].as_f64().unwrap() > 0.0);
    for k in ["p50", "p99", "max"] {
        assert!(r["latency_us"][k].as_u64().unwrap() > 0, "latency_us.{k}");
    }
    assert!(r["evidence"].is_array());
    let ops = &r["ops"];
    let ended = ops["acked"].as_u64().unwrap()
        + ops["failed"].as_u64().unwrap()
        + ops["indeterminate"].as_u64().unwrap();
    assert_eq!(
        ended,
        ops["attempted"].as_u64().unwrap(),
        "every attempt has an outcome"
    );
    assert!(r["replay"].as_str().unwrap().contains("--seed 7"));
}

#[test]
fn ops_bounds_the_run_exactly() {
    let t = TestDir::new();
    let run = t.run(&[
        "--writers",
        "2",
        "--kill-rate",
        "0",
        "--ops",
        "200",
        "--json",
        "r.json",
    ]);
    run.expect_code(0);
    let r = read_json(&t.join("r.json"));
    let attempted = r["ops"]["attempted"].as_u64().unwrap();
    assert_eq!(attempted, 200, "{}", run.describe());
    assert_eq!(r["config"]["ops_limit"], 200);
}

#[test]
fn dir_is_created_and_reusable() {
    let t = TestDir::new();
    let args = [
        "--dir",
        "run",
        "--writers",
        "2",
        "--ops",
        "50",
        "--kill-rate",
        "0",
    ];
    t.run(&args).expect_code(0);
    assert!(t.join("run/state").is_file());
    assert!(t.join("run/.torture-run").is_file());
    // A directory torture made may be given again.
    t.run(&args).expect_code(0);
}

#[test]
fn empty_dir_is_accepted_and_kept() {
    let t = TestDir::new();
    std::fs::create_dir(t.join("e")).unwrap();
    t.run(&["--dir", "e", "--ops", "20", "--kill-rate", "0"])
        .expect_code(0);
    assert!(
        t.join("e/state").is_file(),
        "a given directory is never removed"
    );
}

#[test]
fn failing_run_keeps_its_temporary_directory() {
    let t = TestDir::new();
    let run = t.run(&[
        "--strategy",
        "no-lock",
        "--writers",
        "16",
        "--kill-rate",
        "0",
        "--duration",
        "2s",
        "--json",
        "r.json",
    ]);
    run.expect_code(1);
    let r = read_json(&t.join("r.json"));
    let dir = std::path::PathBuf::from(r["config"]["dir"].as_str().unwrap());
    assert!(
        dir.join("state").is_file(),
        "evidence directory kept\n{}",
        run.describe()
    );
    assert!(run.stdout().contains("FAIL: lost"), "{}", run.describe());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn passing_run_removes_its_temporary_directory() {
    let t = TestDir::new();
    t.run(&["--ops", "20", "--kill-rate", "0", "--json", "r.json"])
        .expect_code(0);
    let r = read_json(&t.join("r.json"));
    assert!(!std::path::Path::new(r["config"]["dir"].as_str().unwrap()).exists());
    assert_eq!(r["dir_removed"], true);
}
