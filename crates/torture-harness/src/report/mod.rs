//! The report of a run: the versioned JSON contract (`Report`), what the
//! supervisor counted (`Outcome`), what a verdict rests on (`Basis`), and
//! the human summary.
//!
//! The JSON report is a contract: its `schema` is `torture/report/v1`, and
//! fields are only ever added, never renamed or removed. This module is the
//! model only; the formats it is written in, and the writing, are
//! [`crate::export`]'s, which sits above it.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{RunConfig, RunLength};
use crate::verifier::{Evidence, Verifier};
use crate::vocab::{Expectation, Tier, Verdict, ViolationKind};

mod human;
pub use human::{summary, summary_painted, verdict_line};

/// The schema of [`Report`].
pub const REPORT_SCHEMA: &str = "torture/report/v1";

/// What a verdict rests on: the evidence the run gathered, the minimums it
/// was held to, and what fell short of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    /// Acknowledged operations.
    pub acked: u64,
    /// The fewest acknowledged operations of any writer slot.
    pub acked_min_per_writer: u64,
    /// Kills that landed inside an operation.
    pub kills_landed: u64,
    /// Operations cut by the crash that ends a timed run of an outside
    /// program (not counted in `kills_landed`: they are not spread over the
    /// fault points).
    #[serde(default)]
    pub kills_at_end: u64,
    /// Checks of the state on disk: after each kill and death, and at the end.
    pub checks: u64,
    /// The final liveness step: an ordinary operation after the writers
    /// stopped, then a check (`ok`, `failed`, `hung`, or `skipped`).
    pub final_op: String,
    /// Required acknowledged operations per writer.
    pub min_acked_per_writer: u64,
    /// Required landed kills (0 when the kill rate is 0).
    pub min_kills: u64,
    /// Why the evidence is not enough, one sentence each; empty when it is.
    pub shortfall: Vec<String>,
}

/// Why the run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It ran its full length.
    #[default]
    Completed,
    /// SIGINT or SIGTERM cut it short.
    Interrupted,
    /// The state became unreadable, so nothing after could be judged.
    StateDestroyed,
    /// The harness could not go on (for example, a child failed to start).
    HarnessFailed,
    /// Operations stopped being acknowledged (`stall`).
    Stalled,
}

/// Latency percentiles, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Maximum.
    pub max: u64,
}

impl From<&hdrhistogram::Histogram<u64>> for Latency {
    fn from(h: &hdrhistogram::Histogram<u64>) -> Self {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        }
    }
}

/// What the supervisor counted during a run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Operations begun.
    pub attempted: u64,
    /// Operations acknowledged.
    pub acked: u64,
    /// Operations that reported an error.
    pub failed: u64,
    /// Operations killed in flight.
    pub indeterminate: u64,
    /// Kills delivered inside an operation.
    pub kills: u64,
    /// Kills scheduled whose operation ended before the timer fired.
    pub kills_missed: u64,
    /// Operations of an outside program in flight when a timed run ended,
    /// cut by SIGKILL: the run ends with a crash, and the final check and
    /// final operation show what the program makes of it.
    pub kills_at_end: u64,
    /// Writers restarted after dying.
    pub respawns: u64,
    /// Operations killed for running past the op timeout.
    pub timeouts: u64,
    /// Checks of an outside program's state run by the supervisor.
    pub checks: u64,
    /// Valid reads by readers.
    pub reads: u64,
    /// Children that exited in a way the supervisor did not cause.
    pub unexpected_exits: u64,
    /// Temporary files left at the end.
    pub litter: Vec<String>,
    /// Processes that outlived their command and were killed.
    pub escaped: u64,
    /// The last error messages of failed operations.
    pub errors: Vec<String>,
    /// Latency of acknowledged operations, measured by the writers.
    pub latency: Latency,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Why it ended.
    pub stop: StopReason,
    /// What the harness failed on, if it did.
    pub harness_error: Option<String>,
    /// In-process update rate, when a baseline was asked for.
    pub baseline_ops_per_s: Option<f64>,
    /// Acknowledged operations of each writer slot.
    pub acked_per_writer: Vec<u64>,
    /// How the final liveness operation went.
    pub final_op: String,
    /// Fault-point coverage of the kills, with `--kill-at syscall`.
    pub coverage: Option<Coverage>,
}

/// Where the kills landed, with `--kill-at syscall`: one entry per fault
/// point of the operation, by ordinal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Fault points of one operation (the most common count).
    pub points: u64,
    /// Points with at least one landed kill.
    pub covered: u64,
    /// `--until-covered K`, when given.
    pub until_covered: Option<u64>,
    /// Whether every point got its K kills.
    pub complete: bool,
    /// Each point: its ordinal, the syscall last seen there, kills landed.
    pub by_point: Vec<PointKills>,
}

/// The kills that landed at one fault point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointKills {
    /// The ordinal of the point within the operation.
    pub point: u64,
    /// The syscall last seen at that ordinal, as `explore` names it.
    pub syscall: String,
    /// Kills that landed there.
    pub kills: u64,
}

impl Outcome {
    /// Operations that ended, one way or another.
    pub fn completed(&self) -> u64 {
        self.acked + self.failed + self.indeterminate
    }
}

/// The run's parameters, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigReport {
    /// Strategy name.
    pub strategy: String,
    /// Writer processes.
    pub writers: usize,
    /// Reader processes.
    pub readers: usize,
    /// Kill probability per operation.
    pub kill_rate: f64,
    /// Where kills land: `delay` (after a random delay) or `syscall` (at
    /// the entry of a file-system syscall).
    #[serde(default = "default_kill_at")]
    pub kill_at: String,
    /// Configured duration in seconds (null when the run is bounded by ops).
    pub duration_s: Option<f64>,
    /// Configured operation count (null when bounded by time).
    pub ops_limit: Option<u64>,
    /// Padding bytes.
    pub payload_bytes: usize,
    /// Seed.
    pub seed: u64,
    /// Run directory.
    pub dir: String,
}

/// Operation outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ops {
    /// Begun.
    pub attempted: u64,
    /// Acknowledged.
    pub acked: u64,
    /// Reported an error.
    pub failed: u64,
    /// Killed in flight.
    pub indeterminate: u64,
}

/// Violation counts by class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violations {
    /// Unreadable state at rest.
    pub torn: u64,
    /// Unreadable states seen by readers.
    pub torn_reads: u64,
    /// Acknowledged updates missing.
    pub lost: u64,
    /// Updates present that were never attempted.
    pub phantom: u64,
    /// Op ids an outside program's check printed twice.
    pub duplicate: u64,
    /// Runs where operations stopped being acknowledged.
    pub stall: u64,
}

impl Violations {
    /// The count of `kind`.
    pub fn get(&self, kind: ViolationKind) -> u64 {
        match kind {
            ViolationKind::Torn => self.torn,
            ViolationKind::TornReads => self.torn_reads,
            ViolationKind::Lost => self.lost,
            ViolationKind::Phantom => self.phantom,
            ViolationKind::Duplicate => self.duplicate,
            ViolationKind::Stall => self.stall,
        }
    }
}

/// Warnings: worth knowing, not violations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warnings {
    /// Temporary files left in the run directory.
    pub litter: u64,
    /// Their names (at most 20).
    pub litter_files: Vec<String>,
    /// Children that died in a way the supervisor did not cause.
    pub unexpected_exits: u64,
    /// Processes that outlived the command that started them (they left its
    /// process group: `setsid`, a double fork) and were killed.
    #[serde(default)]
    pub escaped_processes: u64,
}

/// The report of one run: the `torture/report/v1` contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always `torture/report/v1`.
    pub schema: String,
    /// `pass` or `fail`.
    pub verdict: Verdict,
    /// The fault tier the verdict holds for, spelled as every report
    /// spells it (`process-crash`).
    pub tier: Tier,
    /// The same tier in words (`process crash`): the field's older
    /// spelling, kept until the schema's next version.
    pub fault_tier: String,
    /// Why the run ended.
    pub stopped: StopReason,
    /// The parameters.
    pub config: ConfigReport,
    /// Operation outcomes.
    pub ops: Ops,
    /// Kills delivered inside an operation.
    pub kills: u64,
    /// Kills drawn whose operation had already ended.
    pub kills_missed: u64,
    /// Writers restarted.
    pub respawns: u64,
    /// Operations killed for running past `--op-timeout`.
    pub timeouts: u64,
    /// Checks of an outside program's state run by the supervisor (after
    /// kills and at the end).
    pub checks: u64,
    /// Valid reads by readers.
    pub reads: u64,
    /// Violation counts.
    pub violations: Violations,
    /// Warnings.
    pub warnings: Warnings,
    /// Acknowledged operations per second.
    pub throughput_ops_per_s: f64,
    /// In-process update rate on the same directory, when measured.
    pub baseline_ops_per_s: Option<f64>,
    /// Latency of acknowledged operations.
    pub latency_us: Latency,
    /// Wall time.
    pub elapsed_s: f64,
    /// Evidence of each violation (at most 32 items).
    pub evidence: Vec<Evidence>,
    /// The last error messages of failed operations.
    pub errors: Vec<String>,
    /// What the harness failed on, if it did.
    pub harness_error: Option<String>,
    /// A command line that replays the run with the same seed.
    pub replay: String,
    /// Whether the run directory was a temporary one, removed after a pass.
    pub dir_removed: bool,
    /// Whether the run directory was a temporary one, kept as evidence of a
    /// failure (`torture clean` removes it; added in v1: older reports lack
    /// it).
    #[serde(default)]
    pub dir_kept: bool,
    /// What the verdict rests on (added in v1: older reports lack it).
    #[serde(default)]
    pub basis: Basis,
    /// With `--kill-at syscall`: the kills landed at each fault point.
    #[serde(default)]
    pub coverage: Option<Coverage>,
    /// With `--power-loss`: the recording disk, the crash points and
    /// states checked, and what they showed (added in v1: older reports
    /// lack it).
    #[serde(default)]
    pub power_loss: Option<PowerLossReport>,
}

/// What `--power-loss` checked and found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerLossReport {
    /// The file system (`ext4`, `ext4-journal`, `xfs`, `btrfs`).
    pub fs: String,
    /// The tier and the file system in words: `power loss (ext4, data=ordered)`.
    pub label: String,
    /// How the file system was made.
    pub mkfs: String,
    /// How it was mounted.
    pub mount_options: String,
    /// The disk's size (sparse).
    pub image_bytes: u64,
    /// The block log.
    pub log: PowerLog,
    /// Positions of begins and acknowledgements the writers reported.
    pub positions_reported: u64,
    /// Positions the supervisor stood in with, on the safe side (a writer
    /// died between its report and its message).
    pub positions_stood_in: u64,
    /// The seed of the crash points and states.
    pub seed: u64,
    /// Crash points checked.
    pub crash_points: u64,
    /// The positions they were drawn from.
    pub candidates: u64,
    /// The most crash states checked at one crash point.
    pub max_states: u64,
    /// Crash states judged.
    pub crash_states: u64,
    /// Distinct crash images mounted (a state shared by crash points is
    /// mounted once).
    pub distinct_images: u64,
    /// Crash images the file system refused to mount.
    pub unmountable: u64,
    /// Crash states showing each class.
    pub violations: PowerViolations,
    /// Wall time of the check.
    pub check_seconds: f64,
    /// Crash states judged per second of the check.
    pub states_per_second: f64,
    /// Crash images mounted, read and unmounted per second of the check.
    pub images_per_second: f64,
    /// Whether an interrupt ended the check early.
    pub interrupted: bool,
}

/// The recording disk's block log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerLog {
    /// The position after the initial state was synced: crash points lie after it.
    pub start: u64,
    /// The position when the run ended.
    pub end: u64,
    /// Block writes logged.
    pub writes: u64,
    /// Cache flushes logged.
    pub flushes: u64,
    /// Discards and write-zeroes logged.
    pub zeroes: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Crash states showing each class under power loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerViolations {
    /// Not mountable, the state missing or undecodable.
    pub torn: u64,
    /// An update acknowledged before the crash point missing.
    pub lost: u64,
    /// More updates than had begun before the crash point.
    pub phantom: u64,
}

impl Report {
    /// Whether this run meets `expect`: a pass for `Pass`; every listed
    /// class present for `Fails` (other classes may appear too).
    pub fn meets(&self, expect: &Expectation) -> bool {
        match expect {
            Expectation::Pass => self.verdict == Verdict::Pass,
            Expectation::Fails(kinds) => kinds.iter().all(|&k| self.violations.get(k) > 0),
        }
    }

    /// Assembles the report of a finished run.
    pub fn new(cfg: &RunConfig, dir: &Path, out: Outcome, verifier: Verifier) -> Self {
        let count = |k| verifier.count(k);
        let basis = basis(cfg, &out);
        let verdict = match out.stop {
            _ if verifier.any() => Verdict::Fail,
            StopReason::Interrupted => Verdict::Interrupted,
            StopReason::HarnessFailed => Verdict::Error,
            _ if !basis.shortfall.is_empty() => Verdict::Inconclusive,
            _ => Verdict::Pass,
        };
        let (duration_s, ops_limit) = match cfg.length {
            RunLength::Duration(d) => (Some(d.as_secs_f64()), None),
            RunLength::Ops(n) => (None, Some(n)),
        };
        let secs = out.elapsed.as_secs_f64().max(1e-9);
        Report {
            schema: REPORT_SCHEMA.into(),
            verdict,
            tier: Tier::ProcessCrash,
            fault_tier: Tier::ProcessCrash.words().into(),
            stopped: out.stop,
            config: ConfigReport {
                strategy: cfg.workload.name().into(),
                writers: cfg.writers,
                readers: cfg.readers,
                kill_rate: cfg.kill_rate,
                kill_at: cfg.kill_at.name().into(),
                duration_s,
                ops_limit,
                payload_bytes: cfg.payload,
                seed: cfg.seed,
                dir: dir.display().to_string(),
            },
            ops: Ops {
                attempted: out.attempted,
                acked: out.acked,
                failed: out.failed,
                indeterminate: out.indeterminate,
            },
            kills: out.kills,
            kills_missed: out.kills_missed,
            respawns: out.respawns,
            timeouts: out.timeouts,
            checks: out.checks,
            reads: out.reads,
            violations: Violations {
                torn: count(ViolationKind::Torn),
                torn_reads: count(ViolationKind::TornReads),
                lost: count(ViolationKind::Lost),
                phantom: count(ViolationKind::Phantom),
                duplicate: count(ViolationKind::Duplicate),
                stall: count(ViolationKind::Stall),
            },
            warnings: Warnings {
                litter: out.litter.len() as u64,
                litter_files: out.litter.iter().take(20).cloned().collect(),
                unexpected_exits: out.unexpected_exits,
                escaped_processes: out.escaped,
            },
            throughput_ops_per_s: out.acked as f64 / secs,
            baseline_ops_per_s: out.baseline_ops_per_s,
            latency_us: out.latency,
            elapsed_s: out.elapsed.as_secs_f64(),
            evidence: verifier.evidence().to_vec(),
            errors: out.errors,
            harness_error: out.harness_error,
            replay: cfg.replay(),
            dir_removed: false,
            dir_kept: false,
            basis,
            coverage: out.coverage,
            power_loss: None,
        }
    }

    /// Adds what the crash states of a `--power-loss` run showed: the
    /// tier becomes power loss, each crash state showing a class counts
    /// once in that class (`lost` counts the most acknowledged updates one
    /// state lacks, as a process-crash check does), and the verdict is
    /// judged again. A check that judged no crash state proved nothing.
    pub fn add_power_loss(
        &mut self,
        power: PowerLossReport,
        evidence: Vec<Evidence>,
        most_lost: u64,
    ) {
        self.tier = Tier::PowerLoss;
        self.fault_tier = Tier::PowerLoss.words().into();
        self.violations.torn += power.violations.torn;
        self.violations.phantom += power.violations.phantom;
        self.violations.lost = self.violations.lost.max(most_lost);
        let room = crate::verifier::MAX_EVIDENCE.saturating_sub(self.evidence.len());
        self.evidence
            .extend(evidence.into_iter().take(room).map(|e| Evidence {
                seed: power.seed,
                ..e
            }));
        if power.crash_states == 0 && !power.interrupted {
            self.basis.shortfall.push(
                "no crash state was checked: the run wrote nothing to the disk after its initial state (raise --duration or --ops)".into(),
            );
        }
        let violated = ViolationKind::ALL
            .into_iter()
            .any(|k| self.violations.get(k) > 0);
        self.verdict = match self.verdict {
            _ if violated => Verdict::Fail,
            Verdict::Pass if power.interrupted => Verdict::Interrupted,
            Verdict::Pass if !self.basis.shortfall.is_empty() => Verdict::Inconclusive,
            v => v,
        };
        self.power_loss = Some(power);
    }

    /// The classes with a non-zero count.
    pub fn violated(&self) -> Vec<ViolationKind> {
        ViolationKind::ALL
            .into_iter()
            .filter(|&k| self.violations.get(k) > 0)
            .collect()
    }

    /// What the run showed, in an expectation's words: its violation
    /// classes joined by `+` (`torn+lost`), or its verdict's name when it
    /// showed none.
    pub fn observed_classes(&self) -> String {
        let violated = self.violated();
        if violated.is_empty() {
            return self.verdict.name().to_string();
        }
        let names: Vec<&str> = violated.iter().map(|k| k.name()).collect();
        names.join("+")
    }
}

/// What the run gathered against what a pass needs.
fn basis(cfg: &RunConfig, out: &Outcome) -> Basis {
    let min = cfg.minimums;
    let min_kills = if cfg.kill_rate > 0.0 { min.kills } else { 0 };
    let acked_min = out.acked_per_writer.iter().copied().min().unwrap_or(0);
    let mut shortfall = Vec::new();
    if out.acked == 0 {
        let why = match (out.attempted, out.errors.last()) {
            (0, _) => "no operation was even started".to_string(),
            (n, Some(e)) => format!("none of {n} operation(s) was acknowledged (last error: {e})"),
            (n, None) => format!("none of {n} operation(s) was acknowledged"),
        };
        shortfall.push(why);
    } else if acked_min < min.acked_per_writer {
        let idle = out
            .acked_per_writer
            .iter()
            .filter(|&&a| a < min.acked_per_writer)
            .count();
        shortfall.push(format!(
            "{idle} writer(s) acknowledged fewer than {} operation(s) (raise --duration, or lower --writers; --min-acked sets the minimum)",
            min.acked_per_writer
        ));
    }
    if out.kills < min_kills {
        shortfall.push(format!(
            "only {} kill(s) landed inside an operation, {min_kills} needed (raise --duration or --kill-rate; --min-kills sets the minimum)",
            out.kills
        ));
    }
    if let Some(c) = out
        .coverage
        .as_ref()
        .filter(|c| c.until_covered.is_some() && !c.complete)
    {
        let k = c.until_covered.unwrap_or(0);
        shortfall.push(format!(
            "--until-covered {k}: {} of {} fault point(s) got {k} kill(s) before the end (raise --duration)",
            c.by_point.iter().filter(|p| p.kills >= k).count(),
            c.points
        ));
    }
    Basis {
        acked: out.acked,
        acked_min_per_writer: acked_min,
        kills_landed: out.kills,
        kills_at_end: out.kills_at_end,
        checks: out.checks,
        final_op: out.final_op.clone(),
        min_acked_per_writer: min.acked_per_writer,
        min_kills,
        shortfall,
    }
}

fn default_kill_at() -> String {
    crate::config::KillAt::Delay.name().into()
}
