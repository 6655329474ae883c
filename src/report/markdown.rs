//! A Markdown summary of runs, for `GITHUB_STEP_SUMMARY`.

use std::fmt::Write;

use super::{Exporter, RunResult};

/// The Markdown exporter.
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn render(&self, runs: &[RunResult]) -> Vec<u8> {
        let mut s = String::from("## torture\n\n");
        let met = runs.iter().filter(|r| r.met()).count();
        let _ = writeln!(s, "**{met} of {} run(s) as expected**\n", runs.len());
        s += "| run | expected | observed | acked ops | kills | ops/s | result |\n";
        s += "|---|---|---|---|---|---|---|\n";
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
                if r.met() { "✅" } else { "❌" }
            );
        }
        for r in runs.iter().filter(|r| !r.met()) {
            let _ = writeln!(s, "\n### {}\n", r.name);
            for e in &r.report.evidence {
                let _ = writeln!(s, "- `{}` {}: {}", e.kind.name(), e.seen_by, e.detail);
            }
            let _ = writeln!(s, "\nReplay: `{}`", r.report.replay);
        }
        s.into_bytes()
    }
}
