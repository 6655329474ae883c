//! `explore` as a CI gate: its JUnit XML and step summary, scenario files
//! with `mode = "explore"` run by `torture run`, their expectations, their
//! bad keys, and an interrupted exploration in a set.

mod util;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use util::{TestDir, read_json, wait_for};

fn scenario(name: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    root.join("scenarios").join(name).display().to_string()
}

/// The four shipped explore scenarios.
fn explore_scenarios() -> Vec<String> {
    [
        "explore-naive.toml",
        "explore-fsync-ignore.toml",
        "explore-reference.toml",
        "explore-example-py-lockfile.toml",
    ]
    .iter()
    .map(|s| scenario(s))
    .collect()
}

/// The JUnit document at `path`: each suite's name with its cases, each
/// case's name with its failure (message and text), if any.
type Case = (String, Option<(String, String)>);

fn junit(path: &std::path::Path) -> Vec<(String, Vec<Case>)> {
    let xml = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|suite| {
            let cases = suite
                .children()
                .filter(|n| n.has_tag_name("testcase"))
                .map(|case| {
                    let failure = case
                        .children()
                        .find(|c| c.has_tag_name("failure"))
                        .map(|f| {
                            let message = f.attribute("message").unwrap_or("").to_string();
                            (message, f.text().unwrap_or("").to_string())
                        });
                    (case.attribute("name").unwrap().to_string(), failure)
                })
                .collect();
            (suite.attribute("name").unwrap().to_string(), cases)
        })
        .collect()
}

fn failing(cases: &[Case]) -> Vec<&str> {
    cases
        .iter()
        .filter(|(_, f)| f.is_some())
        .map(|(n, _)| n.as_str())
        .collect()
}

/// naive under kill: one suite, a `kill` case failing with every torn point
/// and its replay; reference under kill: the same cases, none failing.
#[test]
fn junit_of_an_exploration_fails_the_fault_that_found_something() {
    let t = TestDir::new();
    let run = t.run(&[
        "explore",
        "--strategy",
        "naive",
        "--faults",
        "kill",
        "--junit",
        "naive.xml",
    ]);
    run.expect_code(1);
    let suites = junit(&t.join("naive.xml"));
    assert_eq!(suites.len(), 1, "{}", run.describe());
    let (name, cases) = &suites[0];
    assert_eq!(name, "explore-naive");
    let names: Vec<&str> = cases.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["kill", "evidence"]);
    assert_eq!(failing(cases), ["kill"]);
    let (message, text) = cases[0].1.as_ref().unwrap();
    assert!(message.starts_with("torn@kill at "), "{message}");
    assert!(
        text.contains("at #") && text.contains("write(state"),
        "the point and syscall: {text}"
    );
    assert!(
        text.contains(&format!(
            "replay: {} explore --strategy naive --faults kill --point ",
            util::torture_word()
        )),
        "{text}"
    );

    let run = t.run(&[
        "explore",
        "--strategy",
        "reference",
        "--faults",
        "kill",
        "--junit",
        "reference.xml",
    ]);
    run.expect_code(0);
    let suites = junit(&t.join("reference.xml"));
    assert_eq!(suites.len(), 1);
    assert_eq!(suites[0].1.len(), 2, "kill and evidence");
    assert!(failing(&suites[0].1).is_empty(), "{:?}", suites[0]);
}

#[test]
fn junit_path_is_checked_before_exploring() {
    let t = TestDir::new();
    let run = t.run(&["explore", "--strategy", "naive", "--junit", "nowhere/j.xml"]);
    run.expect_code(2).expect_one_error_line("does not exist");
    assert!(
        run.stdout().is_empty(),
        "explored anyway: {}",
        run.describe()
    );
}

#[test]
fn github_step_summary_gets_an_explore_section() {
    let t = TestDir::new();
    std::fs::write(t.join("summary.md"), "earlier step\n").unwrap();
    let out = t
        .cmd(&["explore", "--strategy", "naive", "--faults", "kill"])
        .env("GITHUB_STEP_SUMMARY", t.join("summary.md"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let md = std::fs::read_to_string(t.join("summary.md")).unwrap();
    assert!(md.starts_with("earlier step\n"), "appended: {md}");
    assert!(
        md.contains("| explore-naive | kill | pass | torn@kill |")
            && md.contains("| torn | lost | unsafe_ack | no_recovery |"),
        "{md}"
    );
    assert!(md.contains("Verdict: **fail**"), "{md}");
    assert!(
        md.contains("- `torn` under `kill` at #")
            && md.contains(&format!(
                "replay: `{} explore --strategy naive --faults kill --point ",
                util::torture_word()
            )),
        "{md}"
    );
}

/// `torture run` gates explorations: the four shipped ones meet their
/// expectations, and every output format carries them.
#[test]
fn run_meets_the_shipped_explore_scenarios() {
    let t = TestDir::new();
    let files = explore_scenarios();
    let mut args = vec!["run", "--json", "all.json", "--junit", "all.xml"];
    args.extend(files.iter().map(String::as_str));
    let mut cmd = t.cmd(&args);
    let out = cmd
        .env("GITHUB_STEP_SUMMARY", t.join("summary.md"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("4 of 4 scenario(s) met"), "{stdout}");
    for line in [
        "explore-naive                expected torn@kill    observed torn@kill ",
        "expected unsafe_ack@eio observed unsafe_ack@eio",
        "expected no_recovery@kill observed no_recovery@kill",
        "explore-reference            expected pass         observed pass ",
    ] {
        assert!(stdout.contains(line), "{line:?} not in\n{stdout}");
    }
    let r = read_json(&t.join("all.json"));
    assert_eq!(r["all_met"], true);
    for s in r["scenarios"].as_array().unwrap() {
        assert_eq!(s["mode"], "explore", "{s}");
        assert_eq!(s["explore"]["schema"], "torture/explore/v1", "{s}");
        assert!(s.get("report").is_none(), "{s}");
    }
    let suites = junit(&t.join("all.xml"));
    assert_eq!(suites.len(), 4);
    for (name, cases) in &suites {
        assert!(failing(cases).is_empty(), "{name}: {cases:?}");
    }
    let md = std::fs::read_to_string(t.join("summary.md")).unwrap();
    assert!(md.contains("4 of 4 exploration(s) as expected"), "{md}");
}

/// An expectation the exploration contradicts is a mismatch, exit 1, with
/// what was not found or what was found, and the replay.
#[test]
fn a_wrong_explore_expectation_is_a_mismatch() {
    let t = TestDir::new();
    std::fs::write(
        t.join("wrong-reference.toml"),
        "mode = \"explore\"\nstrategy = \"reference\"\nfaults = \"kill\"\nexpect = [\"torn@kill\"]\n",
    )
    .unwrap();
    std::fs::write(
        t.join("wrong-naive.toml"),
        "mode = \"explore\"\nstrategy = \"naive\"\nfaults = \"kill\"\nexpect = \"pass\"\n",
    )
    .unwrap();
    let run = t.run(&[
        "run",
        "--junit",
        "j.xml",
        "wrong-reference.toml",
        "wrong-naive.toml",
    ]);
    run.expect_code(1);
    let out = run.stdout();
    assert_eq!(out.matches("MISMATCH").count(), 2, "{}", run.describe());
    assert!(out.contains("not found: torn@kill"), "{out}");
    assert!(
        out.contains(&format!(
            "replay: {} explore --strategy reference --faults kill\n",
            util::torture_word()
        )),
        "{out}"
    );
    assert!(out.contains("found torn@kill at #"), "{out}");
    assert!(out.contains("0 of 2 scenario(s) met"), "{out}");
    let suites = junit(&t.join("j.xml"));
    for (name, cases) in &suites {
        assert_eq!(failing(cases), ["kill"], "{name}");
    }
    let message = &suites[0].1[0].1.as_ref().unwrap().0;
    assert_eq!(message, "expected torn@kill, found none");
}

/// Runs and explorations in one set: each in its own mode, each under its
/// own key of the JSON, and sliced together by --partition.
#[test]
fn a_set_mixes_runs_and_explorations() {
    let t = TestDir::new();
    std::fs::write(
        t.join("a-run.toml"),
        "strategy = \"reference\"\nwriters = 1\nreaders = 0\nkill_rate = 0.0\nops = 5\nexpect = \"pass\"\n",
    )
    .unwrap();
    let naive = scenario("explore-naive.toml");
    let run = t.run(&["run", "--json", "both.json", "a-run.toml", &naive]);
    run.expect_code(0);
    let r = read_json(&t.join("both.json"));
    let entries = r["scenarios"].as_array().unwrap();
    assert_eq!(entries[0]["mode"], "run");
    assert_eq!(entries[0]["report"]["schema"], "torture/report/v1");
    assert!(entries[0].get("explore").is_none());
    assert_eq!(entries[1]["mode"], "explore");
    assert_eq!(entries[1]["observed"], "torn@kill");
    let mut seen = Vec::new();
    for part in ["1/2", "2/2"] {
        let run = t.run(&[
            "run",
            "--partition",
            part,
            "--kill-at",
            "syscall",
            "--json",
            "p.json",
            "a-run.toml",
            &naive,
        ]);
        run.expect_code(0);
        let r = read_json(&t.join("p.json"));
        let names: Vec<Value> = r["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].clone())
            .collect();
        assert_eq!(names.len(), 1, "{}", run.describe());
        seen.extend(names);
    }
    seen.sort_by_key(|v| v.to_string());
    assert_eq!(seen, [Value::from("a-run"), Value::from("explore-naive")]);
}

/// `explore --scenario` takes an explore-mode file's faults unless
/// `--faults` overrides them.
#[test]
fn explore_takes_an_explore_scenarios_settings() {
    let t = TestDir::new();
    let naive = scenario("explore-naive.toml");
    let faults = |r: &Value| -> Vec<String> {
        r["faults"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    };
    let run = t.run(&["explore", "--scenario", &naive, "--json", "a.json"]);
    run.expect_code(1);
    assert_eq!(faults(&read_json(&t.join("a.json"))), ["kill"]);
    let run = t.run(&[
        "explore",
        "--scenario",
        &naive,
        "--faults",
        "eintr",
        "--json",
        "b.json",
    ]);
    run.expect_code(0);
    assert_eq!(faults(&read_json(&t.join("b.json"))), ["eintr"]);
}

/// A key the scenario's mode has no use for is one line, exit 2, naming the
/// file and the key, and nothing runs.
#[test]
fn keys_of_the_wrong_mode_are_one_line_errors() {
    let explore = "mode = \"explore\"\nstrategy = \"reference\"\nexpect = \"pass\"\n";
    let cases = [
        (format!("{explore}writers = 4\n"), "`writers`: not for mode = \"explore\""),
        (format!("{explore}kill_rate = 0.1\n"), "`kill_rate`"),
        (format!("{explore}duration = \"3s\"\n"), "`duration`"),
        (format!("{explore}min_kills = 2\n"), "`min_kills`"),
        (
            "strategy = \"reference\"\nfaults = \"kill\"\nexpect = \"pass\"\n".into(),
            "`faults`: only for mode = \"explore\"",
        ),
        (
            "mode = \"explore\"\nstrategy = \"naive\"\nexpect = [\"torn\"]\n".into(),
            "`expect`: \"torn\" is not class@fault",
        ),
        (
            "mode = \"explore\"\nstrategy = \"naive\"\nfaults = \"kill\"\nexpect = [\"torn@eio\"]\n"
                .into(),
            "`expect`: torn@eio needs eio in `faults`",
        ),
        (
            "mode = \"explore\"\nstrategy = \"naive\"\nfaults = \"kill,zap\"\nexpect = \"pass\"\n"
                .into(),
            "`faults`: unknown fault \"zap\"",
        ),
    ];
    for (text, needle) in cases {
        let t = TestDir::new();
        std::fs::write(t.join("bad.toml"), &text).unwrap();
        let naive = scenario("explore-naive.toml");
        let run = t.run(&["run", &naive, "bad.toml"]);
        run.expect_code(2).expect_one_error_line(needle);
        assert!(run.stderr().contains("bad.toml"), "{}", run.describe());
        assert!(run.stdout().is_empty(), "nothing runs: {}", run.describe());
    }
}

/// SIGINT during an exploration in a set stops the set: exit 130, no
/// summary line, and the scenarios after it never run.
#[test]
fn an_interrupted_exploration_stops_the_set() {
    let t = TestDir::new();
    let waiting = t.join("waiting");
    // A lock-file program that says when it finds the lock taken (a kill
    // left it behind) and then waits for it forever.
    std::fs::write(
        t.join("lock.sh"),
        format!(
            "if ! (set -C; : > \"$TORTURE_STATE.lock\") 2>/dev/null; then\n\
             : > {waiting}\n\
             until (set -C; : > \"$TORTURE_STATE.lock\") 2>/dev/null; do sleep 0.05; done\n\
             fi\n\
             echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\"\n\
             rm -f \"$TORTURE_STATE.lock\"\n",
            waiting = waiting.display()
        ),
    )
    .unwrap();
    std::fs::write(
        t.join("hang.toml"),
        format!(
            "mode = \"explore\"\nexec = 'sh {}'\ncheck = 'cat \"$TORTURE_STATE\" 2>/dev/null || true'\nfaults = \"kill\"\nrecovery_timeout = \"60s\"\nexpect = [\"no_recovery@kill\"]\n",
            t.join("lock.sh").display()
        ),
    )
    .unwrap();
    let naive = scenario("explore-naive.toml");
    let child = t
        .cmd(&["run", "hang.toml", &naive])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(30), || waiting.exists()),
        "the program never waited for a lock"
    );
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stdout.contains("met their expectation"), "{stdout}");
    assert!(!stdout.contains("explore-naive"), "ran on: {stdout}");
}
