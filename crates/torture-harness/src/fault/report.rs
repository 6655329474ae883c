//! The report of an exploration: the `torture/explore/v1` JSON contract,
//! the table printed on stdout, and what a scenario expects of it
//! ([`ExploreExpectation`], its findings written `class@fault`).
//!
//! Fields are only ever added, never renamed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::explore::ExploreConfig;
use super::tracer::Point;
use super::{Fault, Finding};

/// The schema name of the JSON report.
pub const SCHEMA: &str = "torture/explore/v1";

/// How many findings the text summary lists.
const SHOWN_FINDINGS: usize = 12;

/// A fault and its tier.
#[derive(Debug, Clone, Serialize)]
pub struct FaultInfo {
    /// The fault's name.
    pub name: &'static str,
    /// `process-crash` or `io-error`.
    pub tier: &'static str,
}

/// The count of each violation class.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Violations {
    /// Unreadable state after a faulted operation.
    pub torn: u64,
    /// Acknowledged ops missing.
    pub lost: u64,
    /// Exit 0 after a failed fsync.
    pub unsafe_ack: u64,
    /// The next operation failed or hung.
    pub no_recovery: u64,
}

impl Violations {
    fn add(&mut self, finding: Finding) {
        match finding {
            Finding::Torn => self.torn += 1,
            Finding::Lost => self.lost += 1,
            Finding::UnsafeAck => self.unsafe_ack += 1,
            Finding::NoRecovery => self.no_recovery += 1,
        }
    }

    fn total(&self) -> u64 {
        self.torn + self.lost + self.unsafe_ack + self.no_recovery
    }
}

/// One violation at one point under one fault.
#[derive(Debug, Clone, Serialize)]
pub struct FindingRecord {
    /// The ordinal of the fault point.
    pub point: usize,
    /// The decoded syscall.
    pub syscall: String,
    /// The fault.
    pub fault: &'static str,
    /// The fault's tier.
    pub tier: &'static str,
    /// The violation class.
    pub outcome: &'static str,
    /// What was seen.
    pub detail: String,
    /// The command that reruns exactly this point and fault.
    pub replay: String,
}

/// One row of the table: a fault point and its outcome under each fault.
#[derive(Debug, Clone, Serialize)]
pub struct PointRow {
    /// The ordinal of the fault point.
    pub index: usize,
    /// The decoded syscall, as recorded.
    pub syscall: String,
    /// Fault name to outcome: `ok`, `error`, `killed`, `hung`, `diverged`,
    /// or the violation classes found. Faults that cannot happen at this
    /// syscall are absent.
    pub outcomes: BTreeMap<String, String>,
}

impl PointRow {
    /// A row for `point`, no outcome yet.
    pub fn new(point: &Point) -> Self {
        PointRow {
            index: point.ordinal,
            syscall: point.text.clone(),
            outcomes: BTreeMap::new(),
        }
    }
}

/// A run of consecutive fault points where one fault shows one class: the
/// window in which a crash (or an error) does the damage.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// The fault.
    pub fault: &'static str,
    /// The violation class.
    pub outcome: &'static str,
    /// The first point of the window.
    pub first: usize,
    /// The last point of the window.
    pub last: usize,
    /// The syscall of the point before the window: the last one whose
    /// effect is harmless to cut after (none when the window opens at #0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened_by: Option<String>,
}

/// What an exploration must show, as a scenario file says it: no finding
/// at all, or at least these findings (others may show too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExploreExpectation {
    /// No finding, and the exploration finished.
    Pass,
    /// Each (fault, class) pair found at one point or more.
    Finds(Vec<(Fault, Finding)>),
}

impl ExploreExpectation {
    /// Parses one finding written `class@fault`, as `torture list` prints
    /// them (`torn@kill`, `unsafe_ack@eio`).
    pub fn parse_finding(text: &str) -> Result<(Fault, Finding), String> {
        let Some((class, fault)) = text.split_once('@') else {
            return Err(format!(
                "{text:?} is not class@fault (e.g. \"torn@kill\", as `torture list` prints them)"
            ));
        };
        let finding = Finding::from_name(class).ok_or_else(|| {
            let valid: Vec<_> = Finding::ALL.iter().map(|f| f.name()).collect();
            format!(
                "unknown class {class:?} in {text:?} (valid: {})",
                valid.join(", ")
            )
        })?;
        let fault = Fault::from_name(fault).ok_or_else(|| {
            let valid: Vec<_> = Fault::ALL.iter().map(|f| f.name()).collect();
            format!(
                "unknown fault {fault:?} in {text:?} (valid: {})",
                valid.join(", ")
            )
        })?;
        Ok((fault, finding))
    }

    /// Whether `report` meets this expectation.
    pub fn met_by(&self, report: &ExploreReport) -> bool {
        match self {
            ExploreExpectation::Pass => !report.failed() && !report.interrupted,
            ExploreExpectation::Finds(pairs) => {
                let found = report.found();
                pairs.iter().all(|p| found.contains(p))
            }
        }
    }
}

impl std::fmt::Display for ExploreExpectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExploreExpectation::Pass => f.write_str("pass"),
            ExploreExpectation::Finds(pairs) => f.write_str(&finding_list(pairs)),
        }
    }
}

/// `class@fault` pairs, comma-separated.
pub fn finding_list(pairs: &[(Fault, Finding)]) -> String {
    let names: Vec<String> = pairs
        .iter()
        .map(|(fault, finding)| format!("{}@{}", finding.name(), fault.name()))
        .collect();
    names.join(",")
}

/// The result of an exploration.
#[derive(Debug, Clone, Serialize)]
pub struct ExploreReport {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// `pass`, `fail`, or `interrupted` (stopped early with no violation).
    pub verdict: &'static str,
    /// The strategy's name, or `exec`.
    pub target: String,
    /// The program's command, for an outside program.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<String>,
    /// The faults explored, with their tiers.
    pub faults: Vec<FaultInfo>,
    /// The fault points of the recorded operation.
    pub points: usize,
    /// Faulted runs carried out.
    pub runs: u64,
    /// Runs whose syscalls differed from the recording up to the fault point
    /// (or never reached it).
    pub diverged: u64,
    /// Count of faulted runs showing each class.
    pub violations: Violations,
    /// Every violation found.
    pub findings: Vec<FindingRecord>,
    /// Every fault point with its outcomes.
    pub table: Vec<PointRow>,
    /// The windows of consecutive points with the same fault and class.
    pub windows: Vec<Window>,
    /// Files left behind by an operation that failed on an injected error
    /// (not a kill): warnings, not violations.
    pub litter: Vec<String>,
    /// Ordinary operations run before the explored one.
    pub warmup_ops: u64,
    /// The run directory.
    pub dir: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Faulted runs per second.
    pub runs_per_second: f64,
    /// The exploration was stopped by a signal before it finished.
    pub interrupted: bool,
    /// The command that reruns the whole exploration.
    pub replay: String,
    /// What the tiers cannot show.
    pub limits: &'static str,
}

impl ExploreReport {
    /// An empty report for the recorded operation.
    pub fn new(cfg: &ExploreConfig, dir: &Path, recorded: &[Point]) -> Self {
        let exec = match &cfg.workload {
            crate::runner::Workload::Exec(spec) => Some(spec.exec.clone()),
            crate::runner::Workload::Builtin(_) => None,
        };
        ExploreReport {
            schema: SCHEMA,
            verdict: "pass",
            target: cfg.workload.name().to_string(),
            exec,
            faults: cfg
                .faults
                .iter()
                .map(|f| FaultInfo {
                    name: f.name(),
                    tier: f.tier().name(),
                })
                .collect(),
            points: recorded.len(),
            runs: 0,
            diverged: 0,
            violations: Violations::default(),
            findings: Vec::new(),
            table: Vec::new(),
            windows: Vec::new(),
            litter: Vec::new(),
            warmup_ops: cfg.warmup_ops,
            dir: dir.display().to_string(),
            seconds: 0.0,
            runs_per_second: 0.0,
            interrupted: false,
            replay: super::explore::replay_command(cfg, &cfg.faults, cfg.only_point),
            limits: "kill is the process-crash tier, the others the I/O-error tier; neither can show a missing fsync, which needs power loss",
        }
    }

    /// Records one faulted run.
    pub(super) fn record(
        &mut self,
        point: &Point,
        fault: Fault,
        v: &super::explore::RunVerdicts,
        replay: &str,
    ) {
        self.runs += 1;
        if v.outcome.starts_with("diverged") || v.outcome.ends_with("(diverged)") {
            self.diverged += 1;
        }
        let mut classes: Vec<Finding> = v.findings.iter().map(|f| f.0).collect();
        classes.sort();
        classes.dedup();
        for class in classes {
            self.violations.add(class);
        }
        for (finding, detail) in &v.findings {
            self.findings.push(FindingRecord {
                point: point.ordinal,
                syscall: point.text.clone(),
                fault: fault.name(),
                tier: fault.tier().name(),
                outcome: finding.name(),
                detail: detail.clone(),
                replay: replay.to_string(),
            });
        }
        if fault != Fault::Kill {
            for name in &v.litter {
                self.litter
                    .push(format!("#{} {fault}: {name} left behind", point.ordinal));
            }
        }
    }

    /// Sets the verdict and the timing.
    pub fn finish(&mut self, elapsed: Duration) {
        self.verdict = match (self.violations.total() > 0, self.interrupted) {
            (true, _) => "fail",
            (false, true) => "interrupted",
            (false, false) => "pass",
        };
        self.windows = self.find_windows();
        self.seconds = elapsed.as_secs_f64();
        self.runs_per_second = self.runs as f64 / self.seconds.max(1e-9);
    }

    fn find_windows(&self) -> Vec<Window> {
        let mut windows = Vec::new();
        for fault in &self.faults {
            for class in Finding::ALL {
                let mut open: Option<Window> = None;
                for row in &self.table {
                    let Some(outcome) = row.outcomes.get(fault.name) else {
                        continue;
                    };
                    let hit = outcome.split(['+', ' ']).any(|c| c == class.name());
                    match (&mut open, hit) {
                        (Some(w), true) => w.last = row.index,
                        (None, true) => {
                            let before = row.index.checked_sub(1);
                            open = Some(Window {
                                fault: fault.name,
                                outcome: class.name(),
                                first: row.index,
                                last: row.index,
                                opened_by: before.and_then(|b| {
                                    self.table
                                        .iter()
                                        .find(|r| r.index == b)
                                        .map(|r| r.syscall.clone())
                                }),
                            });
                        }
                        (Some(_), false) => windows.extend(open.take()),
                        (None, false) => {}
                    }
                }
                windows.extend(open);
            }
        }
        windows
    }

    /// Whether a violation was found.
    pub fn failed(&self) -> bool {
        self.violations.total() > 0
    }

    /// The (fault, class) pairs found, each once, faults and classes in
    /// report order.
    pub fn found(&self) -> Vec<(Fault, Finding)> {
        let mut pairs: Vec<(Fault, Finding)> = self
            .findings
            .iter()
            .filter_map(|f| Some((Fault::from_name(f.fault)?, Finding::from_name(f.outcome)?)))
            .collect();
        pairs.sort();
        pairs.dedup();
        pairs
    }

    /// What was observed, in a scenario's words: the findings as
    /// `class@fault`, comma-separated, or `pass` or `interrupted`.
    pub fn observed(&self) -> String {
        match self.found() {
            pairs if !pairs.is_empty() => finding_list(&pairs),
            _ if self.interrupted => "interrupted".into(),
            _ => "pass".into(),
        }
    }

    /// The JSON document.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("the report serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Writes the JSON document to `target` (see [`crate::output`]).
    pub fn write_json(
        &self,
        target: &crate::output::OutputTarget,
    ) -> Result<(), crate::output::OutputError> {
        target.write(&self.to_json())
    }

    /// The table and the summary, for a terminal.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let width = self
            .table
            .iter()
            .map(|r| r.syscall.chars().count())
            .max()
            .unwrap_or(7)
            .clamp(7, 72);
        let faults: Vec<&str> = self.faults.iter().map(|f| f.name).collect();
        let _ = write!(out, "{:>4}  {:<width$}", "#", "syscall");
        for f in &faults {
            let _ = write!(out, "  {f:<11}");
        }
        out.push('\n');
        for row in &self.table {
            let text: String = row.syscall.chars().take(width).collect();
            let _ = write!(out, "{:>4}  {text:<width$}", row.index);
            for f in &faults {
                let cell = row.outcomes.get(*f).map_or("-", String::as_str);
                let cell = if cell.contains(['_', '+']) || ["torn", "lost"].contains(&cell) {
                    cell.to_uppercase()
                } else {
                    cell.to_string()
                };
                let _ = write!(out, "  {cell:<11}");
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "\n{} fault points, {} faulted runs ({} diverged) in {:.1}s ({:.1} runs/s)",
            self.points, self.runs, self.diverged, self.seconds, self.runs_per_second
        );
        let v = &self.violations;
        let _ = writeln!(
            out,
            "violations: torn {}, lost {}, unsafe_ack {}, no_recovery {}",
            v.torn, v.lost, v.unsafe_ack, v.no_recovery
        );
        for w in &self.windows {
            let text = |i: usize| {
                self.table
                    .iter()
                    .find(|r| r.index == i)
                    .map_or(String::new(), |r| r.syscall.clone())
            };
            let _ = write!(
                out,
                "window: {} under {} from #{} {} to #{} {}",
                w.outcome.to_uppercase(),
                w.fault,
                w.first,
                text(w.first),
                w.last,
                text(w.last)
            );
            match &w.opened_by {
                Some(by) => {
                    let _ = writeln!(out, ", opened once #{} {by} has run", w.first - 1);
                }
                None => out.push('\n'),
            }
        }
        for f in self.findings.iter().take(SHOWN_FINDINGS) {
            let _ = writeln!(
                out,
                "  {} [{} tier] at #{} {} under {}: {}",
                f.outcome.to_uppercase(),
                f.tier,
                f.point,
                f.syscall,
                f.fault,
                f.detail
            );
        }
        if self.findings.len() > SHOWN_FINDINGS {
            let _ = writeln!(
                out,
                "  ... and {} more",
                self.findings.len() - SHOWN_FINDINGS
            );
        }
        if let Some(first) = self.findings.first() {
            let _ = writeln!(out, "replay the first: {}", first.replay);
        }
        if !self.litter.is_empty() {
            let _ = writeln!(
                out,
                "warning: {} file(s) left behind after an injected error, e.g. {}",
                self.litter.len(),
                self.litter[0]
            );
        }
        let verdict = match (self.failed(), self.interrupted) {
            (true, _) => "FAIL",
            (false, true) => "INTERRUPTED",
            (false, false) => "PASS",
        };
        let _ = writeln!(out, "verdict: {verdict} ({})", self.limits);
        out
    }
}
