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

/// A scenario that passes in a moment, the same way every time: one
/// writer, no kills, five operations, a fixed seed.
const QUICK: &str =
    "strategy = \"reference\"\nwriters = 1\nreaders = 0\nkill_rate = 0.0\nops = 5\nseed = 3\n";

/// Writes `name.toml`: [`QUICK`] expecting `expect` (`"pass"` meets it,
/// `["torn"]` misses it, always).
fn quick(t: &TestDir, name: &str, expect: &str) -> String {
    let file = format!("{name}.toml");
    std::fs::write(t.join(&file), format!("{QUICK}expect = {expect}\n")).unwrap();
    file
}

/// The scenarios `torture run --list ARGS` selects, as (name, mode,
/// expectation) words, checking that nothing ran.
fn listed(t: &TestDir, args: &[&str]) -> Vec<Vec<String>> {
    let mut all = vec!["run", "--list"];
    all.extend_from_slice(args);
    let run = t.run(&all);
    run.expect_code(0);
    assert!(
        util::torture_dirs(t.path()).is_empty(),
        "nothing runs\n{}",
        run.describe()
    );
    run.stdout()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn filters_select_scenarios_by_name_and_list_prints_them() {
    let t = TestDir::new();
    let files = [
        quick(&t, "py-one", "\"pass\""),
        quick(&t, "py-two", "\"pass\""),
        quick(&t, "sh-one", "[\"torn\", \"lost\"]"),
    ];
    std::fs::write(
        t.join("explore-py.toml"),
        "mode = \"explore\"\nstrategy = \"naive\"\nfaults = [\"kill\"]\nexpect = [\"torn@kill\"]\n",
    )
    .unwrap();
    let mut all: Vec<&str> = files.iter().map(String::as_str).collect();
    all.push("explore-py.toml");
    let names = |args: &[&str]| -> Vec<String> {
        let mut with = args.to_vec();
        with.extend_from_slice(&all);
        listed(&t, &with)
            .into_iter()
            .map(|l| l[0].clone())
            .collect()
    };
    // The listing: name, mode, expectation, in the order given.
    assert_eq!(
        listed(&t, &all),
        [
            ["py-one", "run", "pass"],
            ["py-two", "run", "pass"],
            ["sh-one", "run", "torn+lost"],
            ["explore-py", "explore", "torn@kill"],
        ]
    );
    // A glob matches the whole name; a plain word any part of it.
    assert_eq!(names(&["-E", "py-*"]), ["py-one", "py-two"]);
    assert_eq!(names(&["-E", "*-py"]), ["explore-py"]);
    assert_eq!(
        names(&["--filter", "py"]),
        ["py-one", "py-two", "explore-py"]
    );
    assert_eq!(names(&["-E", "?h-*", "-E", "two"]), ["py-two", "sh-one"]);
    // The partition slices what the filter selected (sorted by file).
    assert_eq!(names(&["-E", "py-*", "--partition", "2/2"]), ["py-two"]);
    // A filtered run runs only the selection.
    let run = t.run(&[&["run", "-E", "py-o*", "--json", "r.json"], &all[..]].concat());
    run.expect_code(0);
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["scenarios"].as_array().unwrap().len(), 1);
    assert_eq!(r["scenarios"][0]["name"], "py-one");
}

#[test]
fn fail_fast_stops_at_the_first_miss_and_reports_the_rest_as_not_run() {
    let t = TestDir::new();
    let miss = quick(&t, "miss", "[\"torn\"]");
    let ok = quick(&t, "ok", "\"pass\"");
    // Without it every scenario runs.
    let run = t.run(&["run", "--json", "all.json", &miss, &ok]);
    run.expect_code(1);
    assert_eq!(
        read_json(&t.join("all.json"))["scenarios"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let run = t.run(&[
        "run",
        "--fail-fast",
        "--json",
        "r.json",
        "--junit",
        "r.xml",
        &miss,
        &ok,
    ]);
    run.expect_code(1);
    let out = run.stdout();
    assert!(
        out.contains("not run (--fail-fast: miss missed its expectation): ok"),
        "{}",
        run.describe()
    );
    assert!(out.contains("0 of 2 scenario(s) met"), "{}", run.describe());
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["all_met"], false);
    let made = r["scenarios"].as_array().unwrap();
    assert_eq!((made.len(), &made[0]["name"]), (1, &"miss".into()));
    assert_eq!(r["not_run"][0]["name"], "ok");
    assert_eq!(r["not_run"][0]["runs"], 1);
    assert_eq!(r["rates"][1]["runs"], 0);
    assert_eq!(r["rates"][1]["not_run"], 1);
    // In the JUnit file the scenario not run is skipped, not failed.
    let xml = std::fs::read_to_string(t.join("r.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suite = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("ok (not run)"))
        .unwrap_or_else(|| panic!("no suite for the scenario not run\n{xml}"));
    assert_eq!(suite.attribute("skipped"), Some("1"));
    assert_eq!(suite.attribute("failures"), Some("0"));
    assert!(
        suite.descendants().any(|n| n.has_tag_name("skipped")),
        "{xml}"
    );
}

#[test]
fn duration_ops_and_seed_override_every_run_scenario() {
    let t = TestDir::new();
    // A long timed run, and a quota.
    std::fs::write(
        t.join("timed.toml"),
        "strategy = \"reference\"\nwriters = 1\nreaders = 0\nkill_rate = 0.0\nduration = \"1h\"\nseed = 1\nexpect = \"pass\"\n",
    )
    .unwrap();
    let quota = quick(&t, "quota", "\"pass\"");
    std::fs::write(
        t.join("explore-naive.toml"),
        "mode = \"explore\"\nstrategy = \"naive\"\nfaults = [\"kill\"]\nexpect = [\"torn@kill\"]\n",
    )
    .unwrap();
    let run = t.run(&[
        "run",
        "--ops",
        "4",
        "--seed",
        "9",
        "--json",
        "ops.json",
        "timed.toml",
        &quota,
        "explore-naive.toml",
    ]);
    run.expect_code(0);
    let r = read_json(&t.join("ops.json"));
    for i in 0..2 {
        let config = &r["scenarios"][i]["report"]["config"];
        assert_eq!(config["ops_limit"], 4, "{config}");
        assert_eq!(config["duration_s"], serde_json::Value::Null);
        assert_eq!(config["seed"], 9);
    }
    // An exploration has no length: it explores as its file says.
    assert_eq!(r["scenarios"][2]["observed"], "torn@kill");
    // A duration replaces a quota too.
    let run = t.run(&["run", "--duration", "300ms", "--json", "d.json", &quota]);
    // Whatever 300 ms of a loaded machine allows: a pass, or too little
    // evidence; the configuration is what is checked.
    assert!(matches!(run.code(), Some(0 | 3)), "{}", run.describe());
    let config = &read_json(&t.join("d.json"))["scenarios"][0]["report"]["config"];
    assert_eq!(config["duration_s"], 0.3);
    assert_eq!(config["ops_limit"], serde_json::Value::Null);
    assert_eq!(config["seed"], 3, "the file's seed stays");
}

/// The example: naive, repeated, meets its expectation (torn)
/// every time. Kills land at syscalls with a fixed quota and seed, so the
/// evidence is the same on a loaded machine.
#[test]
fn repeat_reports_the_rate_of_met_expectations_everywhere() {
    let t = TestDir::new();
    let naive = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/naive.toml");
    let naive = naive.display().to_string();
    let run = t.run(&[
        "run",
        "--repeat",
        "5",
        "--seed",
        "42",
        "--json",
        "r.json",
        "--junit",
        "r.xml",
        "--markdown",
        "r.md",
        &naive,
    ]);
    run.expect_code(0);
    let out = run.stdout();
    assert!(
        out.contains("naive: 5 of 5 met (expected torn)"),
        "{}",
        run.describe()
    );
    assert!(out.contains("naive #5 "), "{}", run.describe());
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["all_met"], true);
    let entries = r["scenarios"].as_array().unwrap();
    let repetitions: Vec<u64> = entries
        .iter()
        .map(|e| e["repetition"].as_u64().unwrap())
        .collect();
    assert_eq!(repetitions, [1, 2, 3, 4, 5]);
    assert!(entries.iter().all(|e| e["report"]["config"]["seed"] == 42));
    let rate = &r["rates"][0];
    assert_eq!((&rate["runs"], &rate["met"]), (&5.into(), &5.into()));
    assert_eq!(rate["not_run"], 0);
    assert_eq!(r["not_run"].as_array().unwrap().len(), 0);
    // A suite per run, the rate as its properties.
    let xml = std::fs::read_to_string(t.join("r.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 5, "{xml}");
    for (k, suite) in suites.iter().enumerate() {
        let name = format!("naive (run {} of 5)", k + 1);
        assert_eq!(suite.attribute("name"), Some(name.as_str()));
        assert_eq!(suite.attribute("failures"), Some("0"));
        let met = suite
            .descendants()
            .find(|p| p.attribute("name") == Some("torture.met"));
        assert_eq!(met.and_then(|p| p.attribute("value")), Some("5"), "{xml}");
    }
    let md = std::fs::read_to_string(t.join("r.md")).unwrap();
    assert!(
        md.contains("| naive | run | torn | 5 of 5 | 0 | ✅ |"),
        "{md}"
    );
}

#[test]
fn a_repeated_miss_fails_and_fail_fast_stops_its_repeats() {
    let t = TestDir::new();
    let miss = quick(&t, "miss", "[\"torn\"]");
    let run = t.run(&["run", "--repeat", "3", &miss]);
    run.expect_code(1);
    assert!(
        run.stdout().contains("miss: 0 of 3 met (expected torn)"),
        "{}",
        run.describe()
    );
    let run = t.run(&[
        "run",
        "--repeat",
        "3",
        "--fail-fast",
        "--json",
        "r.json",
        &miss,
    ]);
    run.expect_code(1);
    assert!(
        run.stdout()
            .contains("miss: 0 of 1 met (expected torn), 2 not run"),
        "{}",
        run.describe()
    );
    let r = read_json(&t.join("r.json"));
    assert_eq!(r["scenarios"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&r["rates"][0]["runs"], &r["rates"][0]["not_run"]),
        (&1.into(), &2.into())
    );
    assert_eq!(r["not_run"][0]["runs"], 2);
}

/// On a terminal (a pseudo-terminal made by script(1)) each run is
/// announced as `[i/N] name` on stderr; on a pipe it is not.
#[test]
fn progress_names_each_run_on_a_terminal_only() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no script(1) to make a pseudo-terminal");
        return;
    }
    let t = TestDir::new();
    let a = quick(&t, "a", "\"pass\"");
    let b = quick(&t, "b", "\"pass\"");
    let command = format!(
        "{} run --repeat 2 {a} {b}",
        torture_harness::shell::quote(&util::bin().display().to_string())
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(t.path())
        .env("TMPDIR", t.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for line in [
        "[1/4] a (run 1 of 2)",
        "[2/4] a (run 2 of 2)",
        "[4/4] b (run 2 of 2)",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    let piped = t.run(&["run", "--repeat", "2", &a, &b]);
    piped.expect_code(0);
    assert!(!piped.stderr().contains("[1/4]"), "{}", piped.describe());
}
