//! What the exporters write: finished runs and explorations.
//!
//! A scenario set mixes both kinds, so every exporter takes [`Finished`]
//! values and says, per kind, what a run's or an exploration's report looks
//! like in its format. `met` and `observed` mean the same in every format
//! and on stdout.

use super::RunResult;
use crate::fault::ExploreReport;
use crate::vocab::{ExploreExpectation, Verdict};

/// One finished exploration, as the exporters see it: `torture explore`, or
/// a scenario with `mode = "explore"`.
#[derive(Debug, Clone)]
pub struct ExploreResult {
    /// The scenario's name, or `explore-` and the target.
    pub name: String,
    /// The scenario file, if any.
    pub file: Option<String>,
    /// The scenario's expectation, if any.
    pub expected: Option<ExploreExpectation>,
    /// The `torture/explore/v1` report.
    pub report: ExploreReport,
}

impl ExploreResult {
    /// Whether the exploration met its expectation (with none: whether it
    /// found nothing and finished).
    pub fn met(&self) -> bool {
        match &self.expected {
            Some(e) => self.report.meets(e),
            None => self.report.meets(&ExploreExpectation::Pass),
        }
    }

    /// `pass`, `interrupted`, or the findings as `class@fault`.
    pub fn observed(&self) -> String {
        self.report.observed()
    }
}

/// A finished run or exploration.
// A process holds a handful of these, once: boxing the larger would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Finished {
    /// A run under random kills.
    Run(RunResult),
    /// An exploration of every fault at every fault point.
    Explore(ExploreResult),
}

impl Finished {
    /// The run's or exploration's name.
    pub fn name(&self) -> &str {
        match self {
            Finished::Run(r) => &r.name,
            Finished::Explore(e) => &e.name,
        }
    }

    /// The scenario file, if any.
    pub fn file(&self) -> Option<&str> {
        match self {
            Finished::Run(r) => r.file.as_deref(),
            Finished::Explore(e) => e.file.as_deref(),
        }
    }

    /// `run` or `explore`, as a scenario file's `mode` says.
    pub fn mode(&self) -> &'static str {
        match self {
            Finished::Run(_) => "run",
            Finished::Explore(_) => "explore",
        }
    }

    /// The expectation in words (`pass` when none was given).
    pub fn expected(&self) -> String {
        match self {
            Finished::Run(r) => r.expected.as_ref().map_or("pass".into(), |e| e.to_string()),
            Finished::Explore(e) => e.expected.as_ref().map_or("pass".into(), |e| e.to_string()),
        }
    }

    /// What was observed, in words.
    pub fn observed(&self) -> String {
        match self {
            Finished::Run(r) => r.observed(),
            Finished::Explore(e) => e.observed(),
        }
    }

    /// Whether it met its expectation.
    pub fn met(&self) -> bool {
        match self {
            Finished::Run(r) => r.met(),
            Finished::Explore(e) => e.met(),
        }
    }

    /// Whether it proved nothing for want of evidence (only a run can).
    pub fn inconclusive(&self) -> bool {
        matches!(self, Finished::Run(r) if r.report.verdict == Verdict::Inconclusive)
    }
}

impl From<RunResult> for Finished {
    fn from(r: RunResult) -> Self {
        Finished::Run(r)
    }
}

impl From<ExploreResult> for Finished {
    fn from(e: ExploreResult) -> Self {
        Finished::Explore(e)
    }
}
