//! Every line `torture run` prints, in one place: the result of each run,
//! what a miss leaves to replay, the progress, the rates and the totals.
//! The loop in `mod.rs` decides what to say; this module how it reads.

use std::fmt::Write;

use torture_harness::export::{ExploreResult, NotRun, Rate, RunResult};
use torture_harness::scenario::AnyScenario;
use torture_harness::term::{Paint, Style};
use torture_harness::vocab::{ExploreExpectation, Verdict, finding_list};

/// The word of a result: `ok` (green) or `MISMATCH` (red; yellow for a
/// miss without a verdict), coloured when stdout is.
fn verdict_word(met: bool, verdict: Verdict) -> String {
    let word = if met { "ok" } else { "MISMATCH" };
    Paint::stdout().paint(Style::of_expectation(met, verdict), word)
}

/// A scenario's name in its result line: with `--repeat`, its run too.
pub fn run_name(name: &str, k: u32, repeat: u32) -> String {
    match repeat {
        1 => name.to_string(),
        _ => format!("{name} #{k}"),
    }
}

/// `naive   expected torn   observed torn=32   ok   (seed 7)`.
pub fn run_result(name: &str, result: &RunResult) -> String {
    let expected = result
        .expected
        .as_ref()
        .map_or("pass".into(), |e| e.to_string());
    format!(
        "{:<28} expected {:<12} observed {:<24} {}   (seed {})",
        name,
        expected,
        result.observed(),
        verdict_word(result.met(), result.report.verdict),
        result.report.config.seed
    )
}

/// What a run that missed its expectation leaves: why it proved too
/// little, the replay line and its directory.
pub fn run_miss(result: &RunResult) -> String {
    let r = &result.report;
    let mut s = String::new();
    if r.verdict == torture_harness::vocab::Verdict::Inconclusive {
        for why in &r.basis.shortfall {
            let _ = writeln!(s, "  not enough evidence: {why}");
        }
    }
    let _ = writeln!(s, "  replay: {}", r.replay);
    let kept = if r.dir_kept {
        " (`torture clean` removes it)"
    } else {
        ""
    };
    let _ = writeln!(s, "  run directory: {}{kept}", r.config.dir);
    s
}

/// `explore-naive   expected torn@kill   observed torn@kill   ok   (explore: 9 points, 9 runs)`.
pub fn explore_result(name: &str, result: &ExploreResult) -> String {
    let expected = result
        .expected
        .as_ref()
        .map_or("pass".into(), |e| e.to_string());
    format!(
        "{:<28} expected {:<12} observed {:<24} {}   (explore: {} points, {} runs)",
        name,
        expected,
        result.observed(),
        verdict_word(result.met(), result.report.verdict),
        result.report.points,
        result.report.runs
    )
}

/// What an exploration that missed its expectation did not find, its
/// first findings, and the commands that replay them.
pub fn explore_miss(result: &ExploreResult) -> String {
    let mut s = String::new();
    if let Some(ExploreExpectation::Finds(pairs)) = &result.expected {
        let found = result.report.found();
        let missing: Vec<_> = pairs
            .iter()
            .filter(|p| !found.contains(p))
            .copied()
            .collect();
        if !missing.is_empty() {
            let _ = writeln!(s, "  not found: {}", finding_list(&missing));
        }
    }
    for f in result.report.findings.iter().take(3) {
        let _ = writeln!(
            s,
            "  found {}@{} at #{} {}: {}",
            f.outcome, f.fault, f.point, f.syscall, f.detail
        );
        let _ = writeln!(s, "    replay: {}", f.replay);
    }
    let _ = writeln!(s, "  replay: {}", result.report.replay);
    s
}

/// `[3/10] naive` on stderr before a run, on a terminal; with `--repeat`,
/// `[3/10] naive (run 2 of 5)`.
pub fn progress(i: usize, total: usize, name: &str, k: u32, repeat: u32) -> String {
    match repeat {
        1 => format!("[{i}/{total}] {name}"),
        _ => format!("[{i}/{total}] {name} (run {k} of {repeat})"),
    }
}

/// `naive: 5 of 5 met (expected torn)`, and the runs not made.
pub fn rate(r: &Rate) -> String {
    let not_run = match r.not_run {
        0 => String::new(),
        n => format!(", {n} not run"),
    };
    format!(
        "{}: {} of {} met (expected {}){not_run}",
        r.name, r.met, r.runs, r.expected
    )
}

/// The last line: how many scenarios met their expectation (with
/// `--repeat`, in every run).
pub fn total(rates: &[Rate], repeat: u32) -> String {
    let every = rates.iter().filter(|r| r.all_met()).count();
    if repeat == 1 {
        return format!(
            "{every} of {} scenario(s) met their expectation",
            rates.len()
        );
    }
    let (met, runs) = rates
        .iter()
        .fold((0, 0), |(m, n), r| (m + r.met, n + r.runs));
    format!(
        "{every} of {} scenario(s) met their expectation in every run ({met} of {runs} runs)",
        rates.len()
    )
}

/// The scenarios `--fail-fast` left undone: `not run (REASON): a, b (3 runs)`.
pub fn not_run(not_run: &[&NotRun]) -> Option<String> {
    let first = not_run.first()?;
    let names: Vec<String> = not_run
        .iter()
        .map(|n| match n.runs {
            1 => n.name.clone(),
            k => format!("{} ({k} runs)", n.name),
        })
        .collect();
    Some(format!("not run ({}): {}", first.reason, names.join(", ")))
}

/// Why the rest was not run after a miss.
pub fn fail_fast_reason(name: &str) -> String {
    format!("--fail-fast: {name} missed its expectation")
}

/// On stderr after an interrupt: how many of the runs were made.
pub fn interrupted(done: usize, total: usize, repeat: u32) -> String {
    let noun = if repeat == 1 { "scenario(s)" } else { "runs" };
    format!("torture: interrupted after {done} of {total} {noun}")
}

/// `--list`: `naive   run   torn`.
pub fn listed(s: &AnyScenario) -> String {
    format!("{:<28} {:<8} {}", s.name(), s.mode().name(), s.expected())
}
