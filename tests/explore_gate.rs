//! `explore` as a CI gate: its JUnit XML and step summary.

mod util;

use util::TestDir;

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
        text.contains("replay: torture explore --strategy naive --faults kill --point "),
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
            && md.contains("replay: `torture explore --strategy naive --faults kill --point "),
        "{md}"
    );
}
