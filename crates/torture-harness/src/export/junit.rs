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
//! A comparison has one test suite per file system, and in it one test case
//! per strategy: it fails when the strategy did not get the verdict it must
//! get, with what it got and what it must get in the message. A run the
//! harness could not carry out (its file system broke) is an error, and a
//! run not made (the comparison was interrupted or ended first) is skipped.
//! With `--power-loss`, each power run is a case of its own beside its
//! strategy's, `STRATEGY (power loss)`, failing in the same way; it is
//! there only when the power run was made.
//!
//! A scenario run more than once (`torture run --repeat N`) has a suite
//! per run, named `NAME (run K of N)`, with its rate of met expectations
//! as properties; a scenario `--fail-fast` or an interrupt left undone has
//! a suite `NAME (not run)` with one skipped case saying why.
//!
//! Each has an `evidence` case (a comparison's in a suite of its own, named
//! for it) that fails when the run, exploration or comparison was cut short
//! (or, for a run, proved too little; for a comparison, it is an error when
//! a file system broke): a green suite is a verdict. A failing case means
//! the result did not meet its expectation, and only then.

use quick_junit::{NonSuccessKind, Property, Report as Junit, TestCase, TestCaseStatus, TestSuite};

use super::{CompareResult, ExploreResult, Exporter, Finished, NotRun, Rate, RunResult};
use crate::fault::report::FindingRecord;
use crate::fscompare::power::PowerCell;
use crate::fscompare::report::Row;
use crate::vocab::{Expectation, ExploreExpectation, Fault, Finding, Verdict, ViolationKind};

/// The JUnit exporter.
#[derive(Debug, Clone, Copy, Default)]
pub struct JunitExporter;

impl Exporter for JunitExporter {
    fn render(&self, results: &[Finished]) -> Vec<u8> {
        let mut junit = Junit::new("torture");
        let rates = super::rates(results);
        for (result, (k, n)) in results.iter().zip(super::repetitions(results)) {
            let mut suite = match result {
                Finished::Run(run) => suite(run),
                Finished::Explore(e) => explore_suite(e),
                Finished::NotRun(not_run) => not_run_suite(not_run),
                Finished::Compare(c) => {
                    junit.add_test_suites(compare_suites(c));
                    continue;
                }
            };
            let rate = rates
                .iter()
                .find(|r| (r.file.as_deref(), r.name.as_str()) == (result.file(), result.name()));
            if let Some(rate) = rate.filter(|_| n > 1 && result.ran()) {
                repetition(&mut suite, k, n, rate);
            }
            junit.add_test_suite(suite);
        }
        junit.to_string().expect("JUnit serializes").into_bytes()
    }
}

/// A run of a repeated scenario (`torture run --repeat`): its suite is
/// named for the run (`naive (run 2 of 5)`), and carries the scenario's
/// rate as properties (`torture.repetition`, `torture.runs`,
/// `torture.met`, `torture.not_run`).
fn repetition(suite: &mut TestSuite, k: u32, n: u32, rate: &Rate) {
    suite.name = format!("{} (run {k} of {n})", suite.name.as_str()).into();
    for (name, value) in [
        ("torture.repetition", k),
        ("torture.runs", rate.runs),
        ("torture.met", rate.met),
        ("torture.not_run", rate.not_run),
    ] {
        suite.add_property(Property::new(name, value.to_string()));
    }
}

/// A scenario (or some runs of it) not run: one skipped case that says why.
fn not_run_suite(n: &NotRun) -> TestSuite {
    let mut suite = TestSuite::new(format!("{} (not run)", n.name));
    let mut status = TestCaseStatus::skipped();
    let runs = match n.runs {
        1 => String::new(),
        k => format!(" ({k} runs)"),
    };
    status.set_message(format!("not run{runs}: {}", n.reason));
    let mut case = TestCase::new("run", status);
    case.set_classname(format!("torture.{}", n.name));
    suite.add_test_case(case);
    suite
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
    let tier = match &run.report.power_loss {
        Some(p) => format!(
            "{} and process crash: {} crash state(s) at {} crash point(s)",
            p.label, p.crash_states, p.crash_points
        ),
        None => run.report.fault_tier.clone(),
    };
    text += &format!("fault tier: {tier}\nreplay: {}\n", run.report.replay);
    text
}

/// A suite per file system, a case per strategy; then the comparison's own
/// suite with its `evidence` case.
fn compare_suites(c: &CompareResult) -> Vec<TestSuite> {
    let r = &c.report;
    let mut suites: Vec<TestSuite> = r
        .filesystems
        .iter()
        .map(|fs| {
            let mut suite = TestSuite::new(format!("{}.{}", c.name, fs.name));
            for strategy in &r.strategies {
                let mut case =
                    TestCase::new(strategy.as_str(), compare_status(c, &fs.name, strategy));
                case.set_classname(format!("torture.{}.{}", c.name, fs.name));
                suite.add_test_case(case);
                if let Some((row, cell)) = r
                    .row(&fs.name, strategy)
                    .and_then(|row| row.power.as_ref().map(|cell| (row, cell)))
                {
                    let name = format!("{strategy} (power loss)");
                    let mut case = TestCase::new(name, power_status(row, cell, &r.command));
                    case.set_classname(format!("torture.{}.{}", c.name, fs.name));
                    suite.add_test_case(case);
                }
            }
            suite
        })
        .collect();
    let mut suite = TestSuite::new(c.name.as_str());
    suite.set_time(std::time::Duration::from_secs_f64(r.seconds));
    let mut case = TestCase::new("evidence", compare_evidence(c));
    case.set_classname(format!("torture.{}", c.name));
    suite.add_test_case(case);
    suites.push(suite);
    suites
}

/// One strategy on one file system: met, missed, an error, or not run.
fn compare_status(c: &CompareResult, fs: &str, strategy: &str) -> TestCaseStatus {
    let r = &c.report;
    let Some(row) = r.row(fs, strategy) else {
        let why = match &r.broken {
            Some(why) => format!("not run: {why}"),
            None => "not run: the comparison was interrupted first".into(),
        };
        let mut status = TestCaseStatus::skipped();
        status.set_message(why);
        return status;
    };
    match (row.met, row.verdict) {
        (true, _) => TestCaseStatus::success(),
        (false, Verdict::Error) => {
            let why = r
                .broken
                .as_deref()
                .unwrap_or("the harness could not carry out the run");
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message(format!("error: {why}"))
                .set_type("error")
                .set_description(row_text(row, &r.command));
            status
        }
        (false, verdict) => failure(
            format!("observed {}, expected {}", row.observed, row.expected),
            verdict.name(),
            row_text(row, &r.command),
        ),
    }
}

/// One power run: met, missed, or an error.
fn power_status(row: &Row, cell: &PowerCell, command: &str) -> TestCaseStatus {
    let v = &cell.violations;
    let text = format!(
        "{} on {} ({}): verdict {}, observed {}, expected {}\n\
         crash points {}, crash states {} ({} distinct images, {} unmountable), {:.1} states/s\n\
         crash states torn {}, lost {}, phantom {}\n\
         models: posix {}, ordered {}{}\n\
         replay the comparison: {command}\n",
        row.strategy,
        row.fs,
        cell.label,
        cell.verdict.name(),
        cell.observed,
        cell.expected,
        cell.crash_points,
        cell.crash_states,
        cell.distinct_images,
        cell.unmountable,
        cell.states_per_second,
        v.torn,
        v.lost,
        v.phantom,
        cell.model_posix.as_deref().unwrap_or("?"),
        cell.model_ordered.as_deref().unwrap_or("?"),
        cell.disagreement()
            .map_or(String::new(), |d| format!(" ({d})")),
    );
    match (cell.met, cell.verdict) {
        (true, _) => TestCaseStatus::success(),
        (false, Verdict::Error) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message("error: the harness could not carry out the power run")
                .set_type("error")
                .set_description(text);
            status
        }
        (false, verdict) => failure(
            format!("observed {}, expected {}", cell.observed, cell.expected),
            verdict.name(),
            text,
        ),
    }
}

/// What a run counted, then the command that replays the comparison.
fn row_text(row: &Row, command: &str) -> String {
    let v = &row.violations;
    // Spelled as the JSON spells it (`completed`, `state_destroyed`).
    let stopped = serde_json::to_value(row.stopped)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    format!(
        "{} on {}: verdict {}, observed {}, expected {}\n\
         acked {}, kills {} (missed {}), stopped {stopped}\n\
         torn {}, torn_reads {}, lost {}, phantom {}, duplicate {}, stall {}\n\
         replay the comparison: {command}\n",
        row.strategy,
        row.fs,
        row.verdict.name(),
        row.observed,
        row.expected,
        row.acked,
        row.kills,
        row.kills_missed,
        v.torn,
        v.torn_reads,
        v.lost,
        v.phantom,
        v.duplicate,
        v.stall
    )
}

/// Fails when the comparison was cut short: interrupted (a failure), or a
/// file system broke (an error); its misses are the other cases'.
fn compare_evidence(c: &CompareResult) -> TestCaseStatus {
    let r = &c.report;
    if let Some(why) = &r.broken {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_message(format!("no verdict: {why}"))
            .set_type("error")
            .set_description(format!("replay the comparison: {}\n", r.command));
        return status;
    }
    match r.interrupted {
        true => failure(
            format!("interrupted: {} run(s) done before the stop", r.rows.len()),
            "interrupted",
            format!("replay the comparison: {}\n", r.command),
        ),
        false => TestCaseStatus::success(),
    }
}
