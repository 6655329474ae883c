//! A Markdown summary of runs and explorations, for `GITHUB_STEP_SUMMARY`
//! and `--markdown`: one table per kind (with a repeated scenario, one
//! table of rates), then, for each result that missed its expectation,
//! its evidence or first findings and the commands that replay them, and
//! the scenarios not run.
//!
//! A comparison is its own document (`report.md` in `fscompare --out`):
//! the verdicts, throughput and latency of every strategy on every file
//! system, and what one fsync costs on each.

use std::fmt::Write;

use super::{CompareResult, ExploreResult, Exporter, Finished, NotRun, Rate, RunResult};
use crate::fscompare::FsCompareReport;
use crate::fscompare::power::{PowerCell, slowdown_words};
use crate::fscompare::report::Row;
use crate::vocab::Fault;

/// How many findings of an exploration the summary lists.
const SHOWN_FINDINGS: usize = 5;

/// The Markdown exporter.
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn render(&self, results: &[Finished]) -> Vec<u8> {
        let comparisons: Vec<&CompareResult> = results
            .iter()
            .filter_map(|r| match r {
                Finished::Compare(c) => Some(c),
                _ => None,
            })
            .collect();
        let mut s = String::new();
        if results.is_empty() || comparisons.len() < results.len() {
            s = runs_and_explorations(results);
        }
        for c in comparisons {
            if !s.is_empty() {
                s.push('\n');
            }
            comparison(&mut s, &c.report);
        }
        s.into_bytes()
    }
}

/// The summary of the runs and explorations among `results`: a table
/// each, or with a repeated scenario (`torture run --repeat`) one table of
/// the rates; then the details of every miss, and the scenarios not run.
fn runs_and_explorations(results: &[Finished]) -> String {
    let mut runs: Vec<&RunResult> = Vec::new();
    let mut explorations: Vec<&ExploreResult> = Vec::new();
    let mut not_run: Vec<&NotRun> = Vec::new();
    for result in results {
        match result {
            Finished::Run(r) => runs.push(r),
            Finished::Explore(e) => explorations.push(e),
            Finished::NotRun(n) => not_run.push(n),
            Finished::Compare(_) => {}
        }
    }
    let mut s = String::from("## torture\n\n");
    let met =
        runs.iter().filter(|r| r.met()).count() + explorations.iter().filter(|e| e.met()).count();
    let noun = match (runs.is_empty(), explorations.is_empty()) {
        (_, true) => "run(s)",
        (true, false) => "exploration(s)",
        (false, false) => "scenario(s)",
    };
    let total = runs.len() + explorations.len();
    let rates = super::rates(results);
    if super::repeated(results) {
        let every = rates.iter().filter(|r| r.all_met()).count();
        let _ = writeln!(
            s,
            "**{every} of {} scenario(s) as expected in every run** ({met} of {total} runs)\n",
            rates.len()
        );
        rates_table(&mut s, &rates);
    } else {
        let _ = writeln!(s, "**{met} of {total} {noun} as expected**\n");
        if !runs.is_empty() {
            runs_table(&mut s, &runs);
        }
        if !explorations.is_empty() {
            explore_table(&mut s, &explorations);
        }
    }
    let repetitions = super::repetitions(results);
    for (result, &(k, n)) in results.iter().zip(&repetitions).filter(|(r, _)| !r.met()) {
        let title = match n {
            0 | 1 => result.name().to_string(),
            n => format!("{} (run {k} of {n})", result.name()),
        };
        match result {
            Finished::Run(r) => run_details(&mut s, &title, r),
            Finished::Explore(e) => explore_details(&mut s, &title, e),
            Finished::NotRun(_) | Finished::Compare(_) => {}
        }
    }
    if !not_run.is_empty() {
        let names: Vec<String> = not_run
            .iter()
            .map(|n| match n.runs {
                1 => format!("`{}`", n.name),
                k => format!("`{}` ({k} runs)", n.name),
            })
            .collect();
        let _ = writeln!(
            s,
            "\n**Not run** ({}): {}",
            not_run[0].reason,
            names.join(", ")
        );
    }
    s
}

/// One row per scenario: its runs, how many met the expectation, and
/// how many were not made.
fn rates_table(s: &mut String, rates: &[Rate]) {
    *s += "| scenario | mode | expected | met | not run | result |\n";
    *s += "|---|---|---|---|---|---|\n";
    for r in rates {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} of {} | {} | {} |",
            r.name,
            r.mode,
            r.expected,
            r.met,
            r.runs,
            r.not_run,
            mark(r.all_met())
        );
    }
}

fn runs_table(s: &mut String, runs: &[&RunResult]) {
    *s += "| run | expected | observed | acked ops | kills | ops/s | result |\n";
    *s += "|---|---|---|---|---|---|---|\n";
    for r in runs {
        let expected = r.expected.as_ref().map_or("pass".into(), |e| e.to_string());
        let name = match &r.report.power_loss {
            Some(p) => format!("{} · {}, {} crash states", r.name, p.label, p.crash_states),
            None => r.name.clone(),
        };
        let _ = writeln!(
            s,
            "| {name} | {expected} | {} | {} | {} | {:.0} | {} |",
            r.observed(),
            r.report.ops.acked,
            r.report.kills,
            r.report.throughput_ops_per_s,
            mark(r.met())
        );
    }
}

fn run_details(s: &mut String, title: &str, r: &RunResult) {
    let _ = writeln!(s, "\n### {title}\n");
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

fn explore_details(s: &mut String, title: &str, e: &ExploreResult) {
    let r = &e.report;
    let _ = writeln!(s, "\n### {title}\n");
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

/// A comparison: the verdicts, throughput, latency and fsync cost, one
/// table each; the charts are the files `--out` holds beside it.
fn comparison(out: &mut String, r: &FsCompareReport) {
    let m = &r.machine;
    *out += "# File-system comparison\n\n";
    let _ = writeln!(out, "Produced by `{}`.\n", r.command);
    let _ = writeln!(
        out,
        "Machine: Linux {}, {} CPUs, {:.1} GiB of memory; images on {}.\n",
        m.kernel,
        m.cpus,
        m.memory_bytes as f64 / (1u64 << 30) as f64,
        m.scratch_device
    );
    let p = &r.params;
    let _ = writeln!(
        out,
        "Each run: {}, {} writers, {} reader(s), kill rate {}, seed {}. Process-crash tier (SIGKILL).\n",
        p.length(),
        p.writers,
        p.readers,
        p.kill_rate,
        p.seed
    );
    if r.interrupted {
        *out += "**Interrupted**: the tables are incomplete.\n\n";
    }
    if let Some(why) = &r.broken {
        let _ = writeln!(out, "**No verdict**: {why}; that run is marked error.\n");
    }
    *out += "## Verdicts\n\nWhat each strategy got; a miss of its expected verdict is in bold.\n\n";
    *out += &fs_table(r, verdict_cell);
    power(out, r);
    *out += "\n## Acknowledged operations per second\n\n![throughput](throughput.svg)\n\n";
    *out += &fs_table(r, |row| format!("{:.0}", row.ops_per_s));
    *out += "\n## Latency of an acknowledged update, p50 / p99 (µs)\n\n![p99](p99.svg)\n\n";
    *out += &fs_table(r, |row| format!("{} / {}", row.p50_us, row.p99_us));
    *out += "\n## What one fsync costs\n\nMedian of 100 rounds of a 4 KiB overwrite and fsync.\n\n\
             | file system | backing | fsync p50 |\n|---|---|---:|\n";
    for fs in &r.filesystems {
        let opts = fs
            .mount_options
            .as_deref()
            .map_or(String::new(), |o| format!(" (-o {o})"));
        let _ = writeln!(
            out,
            "| {}{opts} | {} | {:.0} µs |",
            fs.name, fs.backing, fs.fsync_p50_us
        );
    }
}

/// With `--power-loss`: the power-loss matrix (a column per file system
/// with a block device, then the models' predictions) and its speed table.
fn power(out: &mut String, r: &FsCompareReport) {
    let Some(params) = &r.params.power else {
        return;
    };
    let _ = writeln!(out, "\n## Power loss\n\n{}\n", params.describe());
    for (fs, why) in r.power_skipped() {
        let _ = writeln!(out, "Not on {fs}: {why}.\n");
    }
    let filesystems = r.power_filesystems();
    if filesystems.is_empty() {
        *out += "No power run: no file system with a block device.\n";
        return;
    }
    let _ = writeln!(
        out,
        "| strategy | {} | posix model | ordered model |\n|---|{}---|---|",
        filesystems.join(" | "),
        "---:|".repeat(filesystems.len())
    );
    for strategy in &r.strategies {
        let mut line = vec![strategy.clone()];
        line.extend(
            filesystems
                .iter()
                .map(|fs| r.power(fs, strategy).map_or("-".into(), power_cell)),
        );
        let models = r.models_of(strategy);
        for model in [
            models.and_then(|c| c.model_posix.as_deref()),
            models.and_then(|c| c.model_ordered.as_deref()),
        ] {
            line.push(model.unwrap_or("?").to_string());
        }
        let _ = writeln!(out, "| {} |", line.join(" | "));
    }
    for strategy in &r.strategies {
        if let Some(note) = r.models_of(strategy).and_then(|c| c.model_note.as_deref()) {
            let _ = writeln!(out, "\nNo prediction for {strategy}: {note}.");
        }
    }
    *out += "\n### Speed of the power tier\n\n\
             | file system | strategy | crash states/s | ops/s plain | ops/s recorded | slowdown | worst slowdown |\n\
             |---|---|---:|---:|---:|---:|---:|\n";
    for sp in r.power_speed() {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.0} | {:.0} | {} | {} |",
            sp.fs,
            sp.strategy,
            sp.states_per_second,
            sp.plain_ops_per_s,
            sp.recorded_ops_per_s,
            sp.slowdown.map_or("-".into(), slowdown_words),
            sp.worst
                .map_or("-".into(), |(s, x)| format!("{} ({s})", slowdown_words(x)))
        );
    }
}

/// A power-loss cell: its summary, the expectation in bold when missed,
/// and a too-lax model.
fn power_cell(c: &PowerCell) -> String {
    let mut text = c.observed.clone();
    if !c.met {
        let _ = write!(text, " **(expected {})**", c.expected);
    }
    let _ = write!(text, " · {} states", c.crash_states);
    if let Some(s) = c.slowdown {
        let _ = write!(text, " · {}", slowdown_words(s));
    }
    if let Some(lax) = c.disagreement() {
        let _ = write!(text, " · **{lax}**");
    }
    text
}

/// A table of one cell per strategy (rows) and file system (columns); `-`
/// where the run was not made.
fn fs_table(r: &FsCompareReport, cell: impl Fn(&Row) -> String) -> String {
    let mut out = String::from("| strategy |");
    for fs in &r.filesystems {
        let _ = write!(out, " {} |", fs.name);
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(r.filesystems.len()));
    out.push('\n');
    for strategy in &r.strategies {
        let mut line = vec![strategy.clone()];
        line.extend(
            r.filesystems
                .iter()
                .map(|fs| r.row(&fs.name, strategy).map_or("-".into(), &cell)),
        );
        let _ = writeln!(out, "| {} |", line.join(" | "));
    }
    out
}

/// What a run got, with its expected verdict in bold when it missed it.
fn verdict_cell(row: &Row) -> String {
    match row.met {
        true => row.observed.clone(),
        false => format!("{} **(expected {})**", row.observed, row.expected),
    }
}
