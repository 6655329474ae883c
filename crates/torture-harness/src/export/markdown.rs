//! A Markdown summary of runs and explorations, for `GITHUB_STEP_SUMMARY`:
//! one table per kind, then, for each result that missed its expectation,
//! its evidence or first findings and the commands that replay them.

use std::fmt::Write;

use super::{ExploreResult, Exporter, Finished, RunResult};
use crate::vocab::Fault;

/// How many findings of an exploration the summary lists.
const SHOWN_FINDINGS: usize = 5;

/// The Markdown exporter.
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn render(&self, results: &[Finished]) -> Vec<u8> {
        let runs: Vec<&RunResult> = results
            .iter()
            .filter_map(|r| match r {
                Finished::Run(r) => Some(r),
                Finished::Explore(_) => None,
            })
            .collect();
        let explorations: Vec<&ExploreResult> = results
            .iter()
            .filter_map(|r| match r {
                Finished::Explore(e) => Some(e),
                Finished::Run(_) => None,
            })
            .collect();
        let mut s = String::from("## torture\n\n");
        let met = results.iter().filter(|r| r.met()).count();
        let noun = match (runs.is_empty(), explorations.is_empty()) {
            (_, true) => "run(s)",
            (true, false) => "exploration(s)",
            (false, false) => "scenario(s)",
        };
        let _ = writeln!(s, "**{met} of {} {noun} as expected**\n", results.len());
        if !runs.is_empty() {
            runs_table(&mut s, &runs);
        }
        if !explorations.is_empty() {
            explore_table(&mut s, &explorations);
        }
        for r in runs.iter().filter(|r| !r.met()) {
            run_details(&mut s, r);
        }
        for e in explorations.iter().filter(|e| !e.met()) {
            explore_details(&mut s, e);
        }
        s.into_bytes()
    }
}

fn runs_table(s: &mut String, runs: &[&RunResult]) {
    *s += "| run | expected | observed | acked ops | kills | ops/s | result |\n";
    *s += "|---|---|---|---|---|---|---|\n";
    for r in runs {
        let expected = r.expected.as_ref().map_or("pass".into(), |e| e.to_string());
        let _ = writeln!(
            s,
            "| {} | {expected} | {} | {} | {} | {:.0} | {} |",
            r.name,
            r.observed(),
            r.report.ops.acked,
            r.report.kills,
            r.report.throughput_ops_per_s,
            mark(r.met())
        );
    }
}

fn run_details(s: &mut String, r: &RunResult) {
    let _ = writeln!(s, "\n### {}\n", r.name);
    for e in &r.report.evidence {
        let _ = writeln!(s, "- `{}` {}: {}", e.kind.name(), e.seen_by, e.detail);
    }
    let _ = writeln!(s, "\nReplay: `{}`", r.report.replay);
}

fn explore_table(s: &mut String, explorations: &[&ExploreResult]) {
    if s.ends_with("|\n") {
        s.push('\n');
    }
    *s += "| exploration | faults | expected | observed | points | runs | diverged \
           | torn | lost | unsafe_ack | no_recovery | result |\n";
    *s += "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for e in explorations {
        let r = &e.report;
        let v = &r.violations;
        let expected = e.expected.as_ref().map_or("pass".into(), |x| x.to_string());
        let _ = writeln!(
            s,
            "| {} | {} | {expected} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            e.name,
            faults(e),
            e.observed(),
            r.points,
            r.runs,
            r.diverged,
            v.torn,
            v.lost,
            v.unsafe_ack,
            v.no_recovery,
            mark(e.met())
        );
    }
}

/// The faults explored, or `all`.
fn faults(e: &ExploreResult) -> String {
    let names: Vec<&str> = e.report.faults.iter().map(|f| f.name.name()).collect();
    if names.len() == Fault::ALL.len() {
        "all".into()
    } else {
        names.join(", ")
    }
}

fn explore_details(s: &mut String, e: &ExploreResult) {
    let r = &e.report;
    let _ = writeln!(s, "\n### {}\n", e.name);
    let _ = writeln!(
        s,
        "Verdict: **{}** ({} fault points, {} faulted runs, {} diverged; faults: {})\n",
        r.verdict,
        r.points,
        r.runs,
        r.diverged,
        faults(e)
    );
    for f in r.findings.iter().take(SHOWN_FINDINGS) {
        let _ = writeln!(
            s,
            "- `{}` under `{}` at #{} {}: {}  \n  replay: {}",
            f.outcome,
            f.fault,
            f.point,
            code(&f.syscall),
            f.detail.replace('\n', " "),
            code(&f.replay)
        );
    }
    if r.findings.len() > SHOWN_FINDINGS {
        let _ = writeln!(s, "- … and {} more", r.findings.len() - SHOWN_FINDINGS);
    }
    let _ = writeln!(s, "\nReplay: {}", code(&r.replay));
}

/// `text` as inline code, fenced so that a backtick inside cannot end it.
fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

fn mark(met: bool) -> &'static str {
    if met { "✅" } else { "❌" }
}
