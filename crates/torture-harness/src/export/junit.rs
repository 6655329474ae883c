//! JUnit XML: one test suite per run, exploration or scenario.
//!
//! A run has one test case per violation class; a case fails when its class
//! contradicts the expectation (for a plain run: when the class was seen),
//! and the failure carries the evidence and the replay command.
//!
//! An exploration has one test case per fault explored, named for the
//! fault: it fails when a finding under that fault contradicts the
//! expectation (`pass`, or no expectation: any finding; a list: a listed
//! `class@fault` not found), and the failure carries every finding under
//! the fault (point, syscall, detail) with the command that replays it.
//!
//! Both have an `evidence` case that fails when the run or exploration was
//! cut short (or, for a run, proved too little): a green suite is a verdict.
//! A failing case means the result did not meet its expectation, and only then.

use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};

use super::{ExploreResult, Exporter, Finished, RunResult};
use crate::fault::report::FindingRecord;
use crate::vocab::{Expectation, ExploreExpectation, Fault, Finding, Verdict, ViolationKind};

/// The JUnit exporter.
#[derive(Debug, Clone, Copy, Default)]
pub struct JunitExporter;

impl Exporter for JunitExporter {
    fn render(&self, results: &[Finished]) -> Vec<u8> {
        let mut junit = Junit::new("torture");
        for result in results {
            junit.add_test_suite(match result {
                Finished::Run(run) => suite(run),
                Finished::Explore(e) => explore_suite(e),
            });
        }
        junit.to_string().expect("JUnit serializes").into_bytes()
    }
}

fn failure(message: String, kind: &str, description: String) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status
        .set_message(message)
        .set_type(kind)
        .set_description(description);
    status
}

fn explore_suite(e: &ExploreResult) -> TestSuite {
    let mut suite = TestSuite::new(e.name.as_str());
    suite.set_time(std::time::Duration::from_secs_f64(e.report.seconds));
    for fault in e.report.faults.iter().map(|f| f.name) {
        suite.add_test_case(fault_case(e, fault));
    }
    let status = if e.report.interrupted {
        let message = format!(
            "interrupted: {} faulted run(s) done before the stop",
            e.report.runs
        );
        failure(message, "interrupted", String::new())
    } else {
        TestCaseStatus::success()
    };
    let mut case = TestCase::new("evidence", status);
    case.set_classname(format!("torture.{}", e.name));
    suite.add_test_case(case);
    suite
}

/// The case of one fault: every finding under it, judged by the expectation.
fn fault_case(e: &ExploreResult, fault: Fault) -> TestCase {
    let findings: Vec<&FindingRecord> = e
        .report
        .findings
        .iter()
        .filter(|f| f.fault == fault)
        .collect();
    let found: Vec<Finding> = e
        .report
        .found()
        .into_iter()
        .filter(|(f, _)| *f == fault)
        .map(|(_, class)| class)
        .collect();
    let status = match &e.expected {
        Some(ExploreExpectation::Finds(pairs)) => {
            let missing: Vec<String> = pairs
                .iter()
                .filter(|(f, class)| *f == fault && !found.contains(class))
                .map(|(f, class)| format!("{}@{}", class.name(), f.name()))
                .collect();
            match missing.is_empty() {
                true => TestCaseStatus::success(),
                false => failure(
                    format!("expected {}, found none", missing.join(", ")),
                    "missing",
                    findings_text(&findings, &e.report.replay),
                ),
            }
        }
        _ if found.is_empty() => TestCaseStatus::success(),
        _ => failure(
            counts(&findings, &found, fault),
            &found.iter().map(|c| c.name()).collect::<Vec<_>>().join("+"),
            findings_text(&findings, &e.report.replay),
        ),
    };
    let mut case = TestCase::new(fault.name(), status);
    case.set_classname(format!("torture.{}", e.name));
    case
}

/// `torn@kill at 9 point(s), no_recovery@kill at 1 point(s)`.
fn counts(findings: &[&FindingRecord], found: &[Finding], fault: Fault) -> String {
    let parts: Vec<String> = found
        .iter()
        .map(|class| {
            let mut points: Vec<usize> = findings
                .iter()
                .filter(|f| f.outcome == *class)
                .map(|f| f.point)
                .collect();
            points.dedup();
            format!("{}@{} at {} point(s)", class.name(), fault, points.len())
        })
        .collect();
    parts.join(", ")
}

/// Each finding on two lines, where and what, then its replay command;
/// last, the command that replays the whole exploration.
fn findings_text(findings: &[&FindingRecord], replay: &str) -> String {
    let mut text = String::new();
    for f in findings {
        text += &format!(
            "{} [{} tier] at #{} {}: {}\n  replay: {}\n",
            f.outcome, f.tier, f.point, f.syscall, f.detail, f.replay
        );
    }
    text + &format!("replay the exploration: {replay}\n")
}

fn suite(run: &RunResult) -> TestSuite {
    let mut suite = TestSuite::new(run.name.as_str());
    suite.set_time(std::time::Duration::from_secs_f64(run.report.elapsed_s));
    for kind in ViolationKind::ALL {
        suite.add_test_case(case(run, kind));
    }
    suite.add_test_case(evidence_case(run));
    suite
}

/// A case that fails when the run proved nothing either way: inconclusive,
/// interrupted, or a harness error with no violation to show.
fn evidence_case(run: &RunResult) -> TestCase {
    let r = &run.report;
    let status = match r.verdict {
        Verdict::Pass | Verdict::Fail => TestCaseStatus::success(),
        other => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let why = match other {
                Verdict::Inconclusive => r.basis.shortfall.join("; "),
                Verdict::Error => r.harness_error.clone().unwrap_or_default(),
                _ => "the run was interrupted".into(),
            };
            status
                .set_message(format!("{}: {why}", other.name()))
                .set_type(other.name())
                .set_description(format!("replay: {}\n", r.replay));
            status
        }
    };
    let mut case = TestCase::new("evidence", status);
    case.set_classname(format!("torture.{}", run.name));
    case
}

fn case(run: &RunResult, kind: ViolationKind) -> TestCase {
    let count = run.report.violations.get(kind);
    let expected = match &run.expected {
        Some(Expectation::Fails(kinds)) => kinds.contains(&kind),
        _ => false,
    };
    let message = match (expected, count) {
        (true, 0) => Some(format!("expected {} violations, found none", kind.name())),
        (false, n) if n > 0 && !matches!(run.expected, Some(Expectation::Fails(_))) => {
            Some(format!("{n} {} violation(s)", kind.name()))
        }
        _ => None,
    };
    let status = match message {
        None => TestCaseStatus::success(),
        Some(message) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(message)
                .set_type(kind.name())
                .set_description(description(run, kind));
            status
        }
    };
    let mut case = TestCase::new(kind.name(), status);
    case.set_classname(format!("torture.{}", run.name));
    case
}

fn description(run: &RunResult, kind: ViolationKind) -> String {
    let mut text = String::new();
    for e in run.report.evidence.iter().filter(|e| e.kind == kind) {
        text += &format!(
            "{} at {} ms, {}: {}\n",
            e.kind.name(),
            e.at_ms,
            e.seen_by,
            e.detail
        );
    }
    text += &format!(
        "fault tier: {}\nreplay: {}\n",
        run.report.fault_tier, run.report.replay
    );
    text
}
