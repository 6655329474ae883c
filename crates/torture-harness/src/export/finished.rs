//! What the exporters write: finished runs, explorations and comparisons.
//!
//! A scenario set mixes runs and explorations, so every exporter takes
//! [`Finished`] values and says, per kind, what a run's, an exploration's
//! or a comparison's report looks like in its format. `met` and `observed`
//! mean the same in every format and on stdout.

use super::RunResult;
use crate::fault::ExploreReport;
use crate::fscompare::FsCompareReport;
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

/// One finished comparison, as the exporters see it: `torture fscompare`.
/// Its expectation is every strategy's own verdict, on every file system.
#[derive(Debug, Clone)]
pub struct CompareResult {
    /// The comparison's name (`fscompare`).
    pub name: String,
    /// The `torture/fscompare/v1` report.
    pub report: FsCompareReport,
}

impl CompareResult {
    /// A comparison of `report`, named `fscompare`.
    pub fn new(report: FsCompareReport) -> Self {
        CompareResult {
            name: "fscompare".into(),
            report,
        }
    }

    /// Whether every run got its strategy's verdict, and the comparison
    /// ended neither interrupted nor on a broken file system.
    pub fn met(&self) -> bool {
        let r = &self.report;
        r.all_met && !r.interrupted && r.broken.is_none()
    }

    /// `error` (a file system broke), `interrupted`, `expected verdicts`,
    /// or the runs that missed theirs as `strategy@fs=observed` (a power
    /// run as `strategy@fs(power loss)=observed`).
    pub fn observed(&self) -> String {
        let r = &self.report;
        if r.broken.is_some() {
            return "error".into();
        }
        if r.interrupted {
            return "interrupted".into();
        }
        let missed = r.missed();
        match missed.is_empty() {
            true => EXPECTED_VERDICTS.into(),
            false => missed.join(" "),
        }
    }
}

/// What a scenario not run observed, in words.
const NOT_RUN: &str = "not run";

/// A comparison's expectation, in words.
const EXPECTED_VERDICTS: &str = "expected verdicts";

/// A scenario selected but not run, or some of its repetitions:
/// `--fail-fast` stopped the set after a miss, or it was interrupted.
/// It met nothing and failed nothing: the exporters report it as skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRun {
    /// The scenario's name.
    pub name: String,
    /// The scenario file.
    pub file: Option<String>,
    /// `run` or `explore`.
    pub mode: &'static str,
    /// Its expectation, in words.
    pub expected: String,
    /// How many of its runs were not made (with `--repeat N`, up to N).
    pub runs: u32,
    /// Why, in words: `--fail-fast: NAME missed its expectation`, or
    /// `interrupted`.
    pub reason: String,
}

/// A finished run, exploration or comparison.
// A process holds a handful of these, once: boxing the larger would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Finished {
    /// A run under random kills.
    Run(RunResult),
    /// An exploration of every fault at every fault point.
    Explore(ExploreResult),
    /// The zoo on several file systems.
    Compare(CompareResult),
    /// A scenario of a set that was not run.
    NotRun(NotRun),
}

impl Finished {
    /// The run's, exploration's or comparison's name.
    pub fn name(&self) -> &str {
        match self {
            Finished::Run(r) => &r.name,
            Finished::Explore(e) => &e.name,
            Finished::Compare(c) => &c.name,
            Finished::NotRun(n) => &n.name,
        }
    }

    /// The scenario file, if any.
    pub fn file(&self) -> Option<&str> {
        match self {
            Finished::Run(r) => r.file.as_deref(),
            Finished::Explore(e) => e.file.as_deref(),
            Finished::Compare(_) => None,
            Finished::NotRun(n) => n.file.as_deref(),
        }
    }

    /// `run` or `explore`, as a scenario file's `mode` says, or
    /// `fscompare`.
    pub fn mode(&self) -> &'static str {
        match self {
            Finished::Run(_) => "run",
            Finished::Explore(_) => "explore",
            Finished::Compare(_) => "fscompare",
            Finished::NotRun(n) => n.mode,
        }
    }

    /// The expectation in words (`pass` when none was given; for a
    /// comparison, `expected verdicts`).
    pub fn expected(&self) -> String {
        match self {
            Finished::Run(r) => r.expected.as_ref().map_or("pass".into(), |e| e.to_string()),
            Finished::Explore(e) => e.expected.as_ref().map_or("pass".into(), |e| e.to_string()),
            Finished::Compare(_) => EXPECTED_VERDICTS.into(),
            Finished::NotRun(n) => n.expected.clone(),
        }
    }

    /// What was observed, in words (`not run` for a scenario not run).
    pub fn observed(&self) -> String {
        match self {
            Finished::Run(r) => r.observed(),
            Finished::Explore(e) => e.observed(),
            Finished::Compare(c) => c.observed(),
            Finished::NotRun(_) => NOT_RUN.into(),
        }
    }

    /// Whether it met its expectation (a scenario not run did not).
    pub fn met(&self) -> bool {
        match self {
            Finished::Run(r) => r.met(),
            Finished::Explore(e) => e.met(),
            Finished::Compare(c) => c.met(),
            Finished::NotRun(_) => false,
        }
    }

    /// The verdict it adds to a set: a miss on evidence counts as a
    /// violation, one that proved nothing keeps its own verdict (see
    /// [`Verdict::of_miss`]); a result that met its expectation, or a
    /// scenario not run, adds nothing ([`Verdict::Pass`]).
    pub fn set_verdict(&self) -> Verdict {
        if self.met() {
            return Verdict::Pass;
        }
        match self {
            Finished::Run(run) => Verdict::of_miss(run.report.verdict),
            Finished::Explore(e) => Verdict::of_miss(e.report.verdict),
            Finished::Compare(c) => Verdict::of_miss(c.report.verdict()),
            Finished::NotRun(_) => Verdict::Pass,
        }
    }

    /// Whether it was made (not a scenario that was not run).
    pub fn ran(&self) -> bool {
        !matches!(self, Finished::NotRun(_))
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

impl From<NotRun> for Finished {
    fn from(n: NotRun) -> Self {
        Finished::NotRun(n)
    }
}

impl From<CompareResult> for Finished {
    fn from(c: CompareResult) -> Self {
        Finished::Compare(c)
    }
}
