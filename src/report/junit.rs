//! JUnit XML: one test suite per run or scenario, one test case per
//! violation class. A case fails when its class contradicts the expectation
//! (for a plain run: when the class was seen); the failure carries the
//! evidence and the replay command.

use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};

use super::{Exporter, RunResult, Verdict};
use crate::strategy::Expectation;
use crate::verifier::ViolationKind;

/// The JUnit exporter.
#[derive(Debug, Clone, Copy, Default)]
pub struct JunitExporter;

impl Exporter for JunitExporter {
    fn render(&self, runs: &[RunResult]) -> Vec<u8> {
        let mut junit = Junit::new("torture");
        for run in runs {
            junit.add_test_suite(suite(run));
        }
        junit.to_string().expect("JUnit serializes").into_bytes()
    }
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
