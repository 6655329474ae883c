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

use super::tracer::Point;
use crate::config::ExploreConfig;
use crate::term::{Paint, Style};
use crate::vocab::{ExploreExpectation, Fault, Finding, Model, Tier, Verdict, finding_list};

/// The schema name of the JSON report.
pub const SCHEMA: &str = "torture/explore/v1";

/// How many findings the text summary lists.
const SHOWN_FINDINGS: usize = 12;

/// A fault and its tier.
#[derive(Debug, Clone, Serialize)]
pub struct FaultInfo {
    /// The fault.
    pub name: Fault,
    /// `process-crash` or `io-error`.
    pub tier: Tier,
}

/// How a faulted run ended, when it showed no violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunEnd {
    /// It exited 0.
    #[default]
    Ok,
    /// It exited non-zero or died of another signal.
    Error,
    /// The injected kill killed it.
    Killed,
    /// It outlived its timeout.
    Hung,
}

impl RunEnd {
    fn name(self) -> &'static str {
        match self {
            RunEnd::Ok => "ok",
            RunEnd::Error => "error",
            RunEnd::Killed => "killed",
            RunEnd::Hung => "hung",
        }
    }
}

/// The outcome of one faulted run, as a cell of the table: `diverged` when
/// it never reached its fault point; else the violation classes found,
/// joined by `+`, or how it ended; and ` (diverged)` after it when its
/// syscalls differed from the recording before the point.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The fault point was never reached.
    pub unreached: bool,
    /// The violation classes found, sorted, each once.
    pub classes: Vec<Finding>,
    /// How the run ended.
    pub end: RunEnd,
    /// Its syscalls differed from the recording up to the fault point.
    pub diverged: bool,
}

impl Outcome {
    /// Whether the run counts as diverged (unreached, or another path).
    pub fn counts_as_diverged(&self) -> bool {
        self.unreached || self.diverged
    }

    /// Whether it is a violation worth shouting in the table.
    fn violated(&self) -> bool {
        !self.classes.is_empty()
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.unreached {
            return f.write_str("diverged");
        }
        if self.classes.is_empty() {
            f.write_str(self.end.name())?;
        } else {
            let names: Vec<&str> = self.classes.iter().map(|c| c.name()).collect();
            f.write_str(&names.join("+"))?;
        }
        if self.diverged {
            f.write_str(" (diverged)")?;
        }
        Ok(())
    }
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What one faulted run showed.
#[derive(Debug, Clone, Default)]
pub struct FaultedRun {
    /// Its cell in the table.
    pub outcome: Outcome,
    /// Each violation found, with what was seen.
    pub findings: Vec<(Finding, String)>,
    /// Files it left behind.
    pub litter: Vec<String>,
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
    pub fault: Fault,
    /// The fault's tier.
    pub tier: Tier,
    /// The violation class.
    pub outcome: Finding,
    /// What was seen.
    pub detail: String,
    /// The command that reruns exactly this point and fault.
    pub replay: String,
    /// Power loss: the persistence model of the crash state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<Model>,
    /// Power loss: the operations the crash state did not persist (at
    /// least partly), each with what would have made it durable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
    /// Power loss on a real file system (`--fs`): the crash state that
    /// showed it, the one that kept the most of the unflushed writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash_state: Option<CrashState>,
}

/// A crash state of a recording disk's block log: every entry before
/// `durable_end`, plus the `kept` ones of the unflushed writes after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrashState {
    /// The crash point: entries `0..position` had reached the disk's cache.
    pub position: u64,
    /// One past the last flush before the crash point.
    pub durable_end: u64,
    /// Writes after the last flush: each may or may not be on the media.
    pub unflushed: u64,
    /// The sequence numbers of those this state keeps.
    pub kept: Vec<u64>,
}

/// The power-loss tier of an exploration (`--faults power`): the workload
/// recorded, and the crash states its persistence model allows, checked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PowerSummary {
    /// The persistence model (none with `--fs`: the file system's own
    /// behaviour makes the crash states).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<Model>,
    /// The seed of the sampled crash states.
    pub seed: u64,
    /// Crash states checked at most per crash point.
    pub max_states: usize,
    /// The recorded logical operations, in order (`[w0-1] renameat(...)`).
    pub log: Vec<String>,
    /// Crash points: one per fault point of the explored operation (at its
    /// entry), and one after it exited 0.
    pub crash_points: usize,
    /// Crash states checked (identical directories counted each time).
    pub states: u64,
    /// Of those, distinct directories actually checked.
    pub distinct: u64,
    /// Crash points whose states were sampled, not all enumerated.
    pub sampled_points: usize,
    /// States the model allows that were not checked (sampling).
    pub skipped: f64,
    /// What the recorder could not model: the verdict is at best
    /// inconclusive while this is not empty.
    pub unmodelled: Vec<String>,
    /// Files written through a shared mapping, whose writes the model
    /// cannot see.
    pub blind: Vec<String>,
    /// Other remarks of the recorder.
    pub notes: Vec<String>,
    /// Seconds spent checking crash states.
    pub seconds: f64,
    /// Crash states checked per second.
    pub states_per_second: f64,
    /// `--fs`: the recording disk and its crash images.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskPower>,
}

/// The power-loss tier on a real file system (`--fs`): the operations ran
/// on a recording disk, and the crash points are positions of its block
/// log. Its keys sit beside the others of `power`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiskPower {
    /// The file system, as `--fs` names it.
    pub fs: String,
    /// The tier as the findings name it: `power loss (ext4, data=ordered)`.
    pub label: String,
    /// The mkfs command line.
    pub mkfs: String,
    /// The mount options of the file system and of its crash images.
    pub mount_options: String,
    /// The recording disk's size in bytes (sparse).
    pub image_bytes: u64,
    /// The block log: from the synced initial state to the end.
    pub block_log: crate::report::PowerLog,
    /// The log position when the explored operation was started.
    pub op_begin: u64,
    /// The log position once it had exited.
    pub op_exit: u64,
    /// Crash states checked (the same as `states`).
    pub crash_states: u64,
    /// Distinct crash images mounted (each once, whatever the crash
    /// points sharing it).
    pub distinct_images: u64,
    /// Of those, images the file system refused to mount.
    pub unmountable: u64,
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
    pub outcomes: BTreeMap<Fault, Outcome>,
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
    pub fault: Fault,
    /// The violation class.
    pub outcome: Finding,
    /// The first point of the window.
    pub first: usize,
    /// The last point of the window.
    pub last: usize,
    /// The syscall of the point before the window: the last one whose
    /// effect is harmless to cut after (none when the window opens at #0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened_by: Option<String>,
}

/// The result of an exploration.
#[derive(Debug, Clone, Serialize)]
pub struct ExploreReport {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// `pass`, `fail`, or `interrupted` (stopped early with no violation).
    pub verdict: Verdict,
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
    /// `--faults power`: the recorded workload and its crash states.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<PowerSummary>,
}

impl ExploreReport {
    /// An empty report for the recorded operation.
    pub fn new(cfg: &ExploreConfig, dir: &Path, recorded: &[Point]) -> Self {
        let exec = match &cfg.workload {
            crate::config::Workload::Exec(spec) => Some(spec.exec.clone()),
            crate::config::Workload::Builtin(_) => None,
        };
        ExploreReport {
            schema: SCHEMA,
            verdict: Verdict::Pass,
            target: cfg.workload.name().to_string(),
            exec,
            faults: cfg
                .faults
                .iter()
                .map(|f| FaultInfo {
                    name: *f,
                    tier: f.tier(),
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
            replay: cfg.replay(&cfg.faults, cfg.only_point),
            limits: if cfg.fs.is_some() {
                "power is the power-loss tier on a real file system: a cut between every pair of block writes of the operation, its own journal and recovery included; the disk never tears a sector, and a rerun repeats the configuration, not the block log"
            } else if cfg.faults.contains(&Fault::Power) {
                "kill is the process-crash tier, power the power-loss tier under its persistence model (which cannot see writes through a shared mapping), the others the I/O-error tier"
            } else {
                "kill is the process-crash tier, the others the I/O-error tier; neither can show a missing fsync, which needs power loss (--faults power)"
            },
            power: None,
        }
    }

    /// Records one faulted run.
    pub(super) fn record(&mut self, point: &Point, fault: Fault, v: &FaultedRun, replay: &str) {
        self.record_at(point.ordinal, &point.text, fault, v, replay, &[]);
    }

    /// Records one faulted run, or one crash point's states under power
    /// loss (`dropped`: the operations its finding's state did not persist),
    /// at point `ordinal`, shown as `text`.
    pub(super) fn record_at(
        &mut self,
        ordinal: usize,
        text: &str,
        fault: Fault,
        v: &FaultedRun,
        replay: &str,
        dropped: &[(Finding, Vec<String>)],
    ) {
        self.runs += 1;
        if v.outcome.counts_as_diverged() {
            self.diverged += 1;
        }
        let mut classes: Vec<Finding> = v.findings.iter().map(|f| f.0).collect();
        classes.sort();
        classes.dedup();
        for class in classes {
            self.violations.add(class);
        }
        for (finding, detail) in &v.findings {
            let power = fault == Fault::Power;
            self.findings.push(FindingRecord {
                point: ordinal,
                syscall: text.to_string(),
                fault,
                tier: fault.tier(),
                outcome: *finding,
                detail: detail.clone(),
                replay: replay.to_string(),
                model: self.power.as_ref().filter(|_| power).and_then(|p| p.model),
                dropped: dropped
                    .iter()
                    .find(|(f, _)| f == finding)
                    .map(|(_, d)| d.clone())
                    .unwrap_or_default(),
                crash_state: None,
            });
        }
        if fault != Fault::Kill {
            for name in &v.litter {
                self.litter
                    .push(format!("#{ordinal} {fault}: {name} left behind"));
            }
        }
    }

    /// Records one crash point of a real file system's block log (`--fs`)
    /// at row `ordinal`, shown as `text`: each finding with the crash
    /// state that showed it.
    pub(super) fn record_crash(
        &mut self,
        ordinal: usize,
        text: &str,
        v: &FaultedRun,
        replay: &str,
        states: &[(Finding, CrashState)],
    ) {
        let first = self.findings.len();
        self.record_at(ordinal, text, Fault::Power, v, replay, &[]);
        for f in &mut self.findings[first..] {
            f.crash_state = states
                .iter()
                .find(|(class, _)| *class == f.outcome)
                .map(|(_, s)| s.clone());
        }
    }

    /// Sets the verdict and the timing.
    pub fn finish(&mut self, elapsed: Duration) {
        let unmodelled = self
            .power
            .as_ref()
            .is_some_and(|p| !p.unmodelled.is_empty());
        self.verdict = Verdict::of(
            self.violations.total() > 0,
            self.interrupted,
            false,
            unmodelled,
        );
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
                    let Some(outcome) = row.outcomes.get(&fault.name) else {
                        continue;
                    };
                    let hit = outcome.classes.contains(&class);
                    match (&mut open, hit) {
                        (Some(w), true) => w.last = row.index,
                        (None, true) => {
                            let before = row.index.checked_sub(1);
                            open = Some(Window {
                                fault: fault.name,
                                outcome: class,
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

    /// Whether this exploration meets `expect`: no finding and finished
    /// for `Pass`; each listed pair found for `Finds` (others may show too).
    pub fn meets(&self, expect: &ExploreExpectation) -> bool {
        match expect {
            ExploreExpectation::Pass => !self.failed() && !self.interrupted,
            ExploreExpectation::Finds(pairs) => {
                let found = self.found();
                pairs.iter().all(|p| found.contains(p))
            }
        }
    }

    /// Whether a violation was found.
    pub fn failed(&self) -> bool {
        self.violations.total() > 0
    }

    /// The (fault, class) pairs found, each once, faults and classes in
    /// report order.
    pub fn found(&self) -> Vec<(Fault, Finding)> {
        let mut pairs: Vec<(Fault, Finding)> =
            self.findings.iter().map(|f| (f.fault, f.outcome)).collect();
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

    /// The table and the summary, for a terminal; no colour.
    pub fn summary(&self) -> String {
        self.summary_painted(Paint::PLAIN)
    }

    /// The verdict line (`verdict: FAIL (...)`), coloured by the verdict
    /// when `paint` colours: all that `-q` prints.
    pub fn verdict_line(&self, paint: Paint) -> String {
        let verdict = self.verdict.name().to_uppercase();
        let line = format!("verdict: {verdict} ({})", self.limits);
        paint.paint(Style::of(self.verdict), &line)
    }

    /// The table and the summary, its verdict line coloured by `paint`.
    pub fn summary_painted(&self, paint: Paint) -> String {
        let mut out = String::new();
        let width = self
            .table
            .iter()
            .map(|r| r.syscall.chars().count())
            .max()
            .unwrap_or(7)
            .clamp(7, 72);
        let faults: Vec<Fault> = self.faults.iter().map(|f| f.name).collect();
        let _ = write!(out, "{:>4}  {:<width$}", "#", "syscall");
        for f in &faults {
            let _ = write!(out, "  {:<11}", f.name());
        }
        out.push('\n');
        for row in &self.table {
            let text: String = row.syscall.chars().take(width).collect();
            let _ = write!(out, "{:>4}  {text:<width$}", row.index);
            for f in &faults {
                let cell = match row.outcomes.get(f) {
                    None => "-".to_string(),
                    Some(o) if o.violated() => o.to_string().to_uppercase(),
                    Some(o) => o.to_string(),
                };
                let _ = write!(out, "  {cell:<11}");
            }
            out.push('\n');
        }
        match self
            .power
            .as_ref()
            .and_then(|p| p.disk.as_ref().map(|d| (p, d)))
        {
            Some((p, d)) => power_on_disk(&mut out, p, d, self.seconds),
            None => {
                let _ = writeln!(
                    out,
                    "\n{} fault points, {} faulted runs ({} diverged) in {:.1}s ({:.1} runs/s)",
                    self.points, self.runs, self.diverged, self.seconds, self.runs_per_second
                );
            }
        }
        if let Some(p) = self.power.as_ref().filter(|p| p.disk.is_none()) {
            let sampled = if p.sampled_points > 0 {
                format!(
                    ", sampled at {} point(s) ({:.3e} states not checked), seed {}",
                    p.sampled_points, p.skipped, p.seed
                )
            } else {
                ", every state the model allows".to_string()
            };
            let model = p.model.map_or_else(String::new, |m| m.to_string());
            let _ = writeln!(
                out,
                "power loss ({model}): {} crash points, {} crash states ({} distinct directories) checked in {:.1}s ({:.1} states/s){sampled}",
                p.crash_points, p.states, p.distinct, p.seconds, p.states_per_second
            );
            for what in &p.unmodelled {
                let _ = writeln!(out, "not modelled (the verdict is inconclusive): {what}");
            }
            for what in &p.blind {
                let _ = writeln!(out, "warning: {what}");
            }
        }
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
                w.outcome.name().to_uppercase(),
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
        let label = self
            .power
            .as_ref()
            .and_then(|p| p.disk.as_ref())
            .map(|d| d.label.as_str());
        for f in self.findings.iter().take(SHOWN_FINDINGS) {
            let tier = match (f.model, label) {
                (Some(m), _) => format!("{} ({m})", f.tier.words()),
                (None, Some(label)) if f.fault == Fault::Power => label.to_string(),
                (None, _) => f.tier.words().to_string(),
            };
            let _ = writeln!(
                out,
                "  {} [{tier} tier] at #{} {} under {}: {}",
                f.outcome.name().to_uppercase(),
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
        let _ = writeln!(out, "{}", self.verdict_line(paint));
        out
    }
}

/// The summary's lines on a real file system's power loss (`--fs`).
fn power_on_disk(out: &mut String, p: &PowerSummary, d: &DiskPower, seconds: f64) {
    let sampled = if p.sampled_points > 0 {
        format!(
            ", sampled at {} point(s) ({:.3e} states not checked), seed {}",
            p.sampled_points, p.skipped, p.seed
        )
    } else {
        ", every state of the unflushed writes".to_string()
    };
    let _ = writeln!(
        out,
        "\n{}: {} crash points (a cut after each block write of the operation, log {}..{}, and at its exit), \
         {} crash states ({} distinct images, {} unmountable) checked in {:.1}s ({:.1} states/s){sampled}; {:.1}s in all",
        d.label,
        p.crash_points,
        d.op_begin,
        d.op_exit,
        d.crash_states,
        d.distinct_images,
        d.unmountable,
        p.seconds,
        p.states_per_second,
        seconds
    );
    let _ = writeln!(out, "disk: {} (mounted -o {})", d.mkfs, d.mount_options);
}
