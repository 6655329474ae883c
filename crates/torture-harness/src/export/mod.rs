//! Exporters: the formats results are written in (JSON, JUnit XML,
//! Markdown), one small type each behind the [`Exporter`] trait.
//!
//! This module sits at the top of the harness: it takes the finished
//! results of every command ([`Finished`]: a run's [`crate::report`], an
//! exploration's [`crate::fault`] report, a comparison's
//! [`crate::fscompare`] report) and renders them, so that `torture`,
//! `torture run`, `torture explore` and `torture fscompare` write JSON,
//! JUnit and the step summary the same way. Nothing else in the harness
//! imports it.
//!
//! Every output is written through [`crate::output`]: to stdout, in place
//! to a FIFO or device, else with the crate's own atomic write.

use serde::Serialize;

use crate::output::{OutputDir, OutputError, OutputTarget};
use crate::report::Report;
use crate::vocab::Verdict;

mod finished;
mod junit;
mod markdown;
mod rates;
mod strategies;
pub use finished::{CompareResult, ExploreResult, Finished, NotRun};
pub use junit::JunitExporter;
pub use markdown::MarkdownExporter;
pub use rates::{Rate, rates, repeated, repetitions};
pub use strategies::{STRATEGIES_SCHEMA, strategies_json};

/// One finished run under random kills, as the exporters see it: a plain
/// run or a scenario (see [`Finished`] for explorations).
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The run's name: the strategy, or the scenario's name.
    pub name: String,
    /// The scenario file, if any.
    pub file: Option<String>,
    /// The scenario's expectation, if any.
    pub expected: Option<crate::vocab::Expectation>,
    /// The report.
    pub report: Report,
}

impl RunResult {
    /// Whether the run met its expectation (a plain run: whether it passed).
    pub fn met(&self) -> bool {
        match &self.expected {
            Some(e) => self.report.meets(e),
            None => self.report.verdict == Verdict::Pass,
        }
    }

    /// `pass`, the violated classes with their counts, or the verdict's
    /// name when it is neither (`inconclusive`, `interrupted`, `error`).
    pub fn observed(&self) -> String {
        let kinds = self.report.violated();
        if kinds.is_empty() {
            return self.report.verdict.name().into();
        }
        let parts: Vec<String> = kinds
            .iter()
            .map(|&k| format!("{}={}", k.name(), self.report.violations.get(k)))
            .collect();
        parts.join(" ")
    }
}

/// Writes a set of finished runs, explorations and comparisons in some
/// format: the one way reports are written.
pub trait Exporter {
    /// The bytes of the file.
    fn render(&self, results: &[Finished]) -> Vec<u8>;

    /// Renders and writes the output (see [`crate::output`]: stdout, a
    /// FIFO or device in place, else the crate's own atomic write).
    fn write(&self, results: &[Finished], target: &OutputTarget) -> Result<(), OutputError> {
        target.write(&self.render(results))
    }

    /// Renders and appends to the output, never replacing it (the GitHub
    /// step summary).
    fn append(&self, results: &[Finished], target: &OutputTarget) -> Result<(), OutputError> {
        target.append(&self.render(results))
    }
}

/// The JSON report of the first result given: a run's
/// `torture/report/v1`, an exploration's `torture/explore/v1`, or a
/// comparison's `torture/fscompare/v1` (a scenario not run, which only a
/// set holds, as its entry in the set's `not_run`).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn render(&self, results: &[Finished]) -> Vec<u8> {
        match &results[0] {
            Finished::Run(run) => pretty_json(&run.report),
            Finished::Explore(e) => e.report.to_json(),
            Finished::Compare(c) => pretty_json(&c.report),
            Finished::NotRun(n) => pretty_json(&NotRunEntry::new(n)),
        }
    }
}

/// `value` as indented JSON, with a final newline.
fn pretty_json(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("a report always serializes");
    bytes.push(b'\n');
    bytes
}

/// The JSON of a scenario set (`torture/scenarios/v1`): in `scenarios`,
/// one entry per run made, with a run's report under `report` and an
/// exploration's under `explore` (`repetition`: which run of its scenario
/// it is, from 1); in `rates`, one entry per scenario (`runs` made, `met`,
/// `not_run`); in `not_run`, the scenarios `--fail-fast` or an interrupt
/// left undone, with the runs not made and why. `all_met` is true only
/// when every run was made and met its expectation.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScenariosJsonExporter;

#[derive(Serialize)]
struct ScenarioDoc<'a> {
    schema: &'static str,
    all_met: bool,
    scenarios: Vec<ScenarioEntry<'a>>,
    rates: Vec<Rate>,
    not_run: Vec<NotRunEntry<'a>>,
}

/// A scenario not run, in a set's JSON.
#[derive(Serialize)]
struct NotRunEntry<'a> {
    file: Option<&'a str>,
    name: &'a str,
    mode: &'static str,
    expected: &'a str,
    runs: u32,
    reason: &'a str,
}

impl<'a> NotRunEntry<'a> {
    fn new(n: &'a NotRun) -> Self {
        NotRunEntry {
            file: n.file.as_deref(),
            name: &n.name,
            mode: n.mode,
            expected: &n.expected,
            runs: n.runs,
            reason: &n.reason,
        }
    }
}

#[derive(Serialize)]
struct ScenarioEntry<'a> {
    file: Option<&'a str>,
    name: &'a str,
    mode: &'static str,
    expected: String,
    observed: String,
    met: bool,
    repetition: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<&'a Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    explore: Option<&'a crate::fault::ExploreReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fscompare: Option<&'a crate::fscompare::FsCompareReport>,
}

impl<'a> ScenarioEntry<'a> {
    fn new(result: &'a Finished, repetition: u32) -> Self {
        let (mut report, mut explore, mut fscompare) = (None, None, None);
        match result {
            Finished::Run(r) => report = Some(&r.report),
            Finished::Explore(e) => explore = Some(&e.report),
            Finished::Compare(c) => fscompare = Some(&c.report),
            Finished::NotRun(_) => {}
        }
        ScenarioEntry {
            file: result.file(),
            name: result.name(),
            mode: result.mode(),
            expected: result.expected(),
            observed: result.observed(),
            met: result.met(),
            repetition,
            report,
            explore,
            fscompare,
        }
    }
}

impl Exporter for ScenariosJsonExporter {
    fn render(&self, results: &[Finished]) -> Vec<u8> {
        let repetitions = repetitions(results);
        let doc = ScenarioDoc {
            schema: "torture/scenarios/v1",
            all_met: results.iter().all(Finished::met),
            scenarios: results
                .iter()
                .zip(&repetitions)
                .filter(|(r, _)| r.ran())
                .map(|(r, &(k, _))| ScenarioEntry::new(r, k))
                .collect(),
            rates: rates(results),
            not_run: results
                .iter()
                .filter_map(|r| match r {
                    Finished::NotRun(n) => Some(NotRunEntry::new(n)),
                    _ => None,
                })
                .collect(),
        };
        pretty_json(&doc)
    }
}

/// Writes an output directory (`fscompare --out`): `report.json` and
/// `report.md` as [`JsonExporter`] and [`MarkdownExporter`] render
/// `results`, then the files only a comparison has (its HTML page and
/// charts), each through [`crate::output`].
pub fn write_out_dir(results: &[Finished], out: &OutputDir) -> Result<(), OutputError> {
    JsonExporter.write(results, &out.file("report.json"))?;
    MarkdownExporter.write(results, &out.file("report.md"))?;
    for result in results {
        if let Finished::Compare(c) = result {
            for (name, text) in c.report.renderings() {
                out.file(name).write(text.as_bytes())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
