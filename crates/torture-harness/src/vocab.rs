//! The shared vocabulary of the harness: the words every report, scenario
//! file and command line uses, defined once each.
//!
//! - [`Verdict`]: what a run, an exploration or a file-system comparison
//!   proved, with one precedence;
//! - [`Tier`] and [`Fault`]: what a fault simulates, and the faults;
//!   [`Model`], the persistence model of the power-loss tier;
//! - [`ViolationKind`] (a run's classes) and [`Finding`] (an exploration's);
//! - [`Expectation`] and [`ExploreExpectation`]: what a strategy or a
//!   scenario must get;
//! - [`Seq`] and [`OpId`]: operations, as `w{slot}-{seq}` on every wire.
//!
//! This module is at the bottom of the harness: it imports nothing of the
//! crate, so every other module may use it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a run, an exploration or a comparison proved.
///
/// Precedence, highest first, the same for every command: a violation is
/// `Fail` however it ended (the evidence stands); then `Interrupted`; then
/// `Error` (the harness failed); then `Inconclusive` (too little evidence);
/// only then `Pass`. [`Verdict::worst`] applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No violation was seen, on enough evidence.
    Pass,
    /// At least one violation was seen.
    Fail,
    /// No violation, but too little evidence to call it a pass.
    Inconclusive,
    /// SIGINT or SIGTERM cut it short before any violation.
    Interrupted,
    /// The harness itself failed before any violation.
    Error,
}

impl Verdict {
    /// The word used in JSON and Markdown reports.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Interrupted => "interrupted",
            Verdict::Error => "error",
        }
    }

    /// Its rank in the precedence: higher wins.
    fn rank(self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::Inconclusive => 1,
            Verdict::Error => 2,
            Verdict::Interrupted => 3,
            Verdict::Fail => 4,
        }
    }

    /// The one of `self` and `other` that wins by the precedence.
    pub fn worst(self, other: Verdict) -> Verdict {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// The verdict of what was seen, by the precedence: any violation
    /// fails; else an interrupt, a harness error, too little evidence.
    pub fn of(violated: bool, interrupted: bool, error: bool, short: bool) -> Verdict {
        if violated {
            Verdict::Fail
        } else if interrupted {
            Verdict::Interrupted
        } else if error {
            Verdict::Error
        } else if short {
            Verdict::Inconclusive
        } else {
            Verdict::Pass
        }
    }
}

impl Verdict {
    /// What a missed expectation means, given the verdict observed: on
    /// evidence (a pass or a fail that was not the one expected) it is a
    /// failure; a run that proved nothing (inconclusive, interrupted,
    /// harness error) keeps its own verdict.
    pub fn of_miss(observed: Verdict) -> Verdict {
        match observed {
            Verdict::Pass | Verdict::Fail => Verdict::Fail,
            other => other,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a fault simulates, named in every verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// The process dies; the kernel and its page cache live on.
    ProcessCrash,
    /// A syscall fails or does less than asked; the process lives on.
    IoError,
    /// The machine stops: what was not durable may be lost, as a
    /// persistence model allows.
    PowerLoss,
}

impl Tier {
    /// The name used in every JSON report (`tier`) and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Tier::ProcessCrash => "process-crash",
            Tier::IoError => "io-error",
            Tier::PowerLoss => "power-loss",
        }
    }

    /// The name in prose (`process crash`), as the run report's older
    /// `fault_tier` field spells it.
    pub fn words(self) -> &'static str {
        match self {
            Tier::ProcessCrash => "process crash",
            Tier::IoError => "I/O error",
            Tier::PowerLoss => "power loss",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault put at one syscall boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// SIGKILL of the whole operation at the syscall's entry: it never runs.
    Kill,
    /// The syscall is skipped and returns `EIO`.
    Eio,
    /// The syscall is skipped and returns `ENOSPC`.
    Enospc,
    /// The syscall is skipped and returns `EDQUOT`.
    Edquot,
    /// The syscall is skipped and returns `EINTR`.
    Eintr,
    /// A write-like syscall runs with half its byte count.
    ShortWrite,
    /// Power loss: not a syscall's fault but a crash state of the whole
    /// recorded workload, as a persistence model allows (`--model`).
    Power,
}

impl Fault {
    /// Every fault put at a syscall, in the order reports list them: what
    /// `all` and the default of `--faults` mean.
    pub const ALL: [Fault; 6] = [
        Fault::Kill,
        Fault::Eio,
        Fault::Enospc,
        Fault::Edquot,
        Fault::Eintr,
        Fault::ShortWrite,
    ];

    /// Every fault a command line may name: [`Fault::ALL`] and
    /// [`Fault::Power`].
    pub const NAMED: [Fault; 7] = [
        Fault::Kill,
        Fault::Eio,
        Fault::Enospc,
        Fault::Edquot,
        Fault::Eintr,
        Fault::ShortWrite,
        Fault::Power,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Eio => "eio",
            Fault::Enospc => "enospc",
            Fault::Edquot => "edquot",
            Fault::Eintr => "eintr",
            Fault::ShortWrite => "short-write",
            Fault::Power => "power",
        }
    }

    /// The fault called `name`.
    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::NAMED.into_iter().find(|f| f.name() == name)
    }

    /// The errno an error fault makes the syscall return.
    pub fn errno(self) -> Option<i32> {
        match self {
            Fault::Eio => Some(libc::EIO),
            Fault::Enospc => Some(libc::ENOSPC),
            Fault::Edquot => Some(libc::EDQUOT),
            Fault::Eintr => Some(libc::EINTR),
            Fault::Kill | Fault::ShortWrite | Fault::Power => None,
        }
    }

    /// The tier this fault belongs to.
    pub fn tier(self) -> Tier {
        match self {
            Fault::Kill => Tier::ProcessCrash,
            Fault::Power => Tier::PowerLoss,
            _ => Tier::IoError,
        }
    }

    /// Whether an error this fault injects means the data may not be on disk
    /// (an `EINTR` may be retried; an `EIO` from fsync may not).
    pub fn loses_data(self) -> bool {
        matches!(self, Fault::Eio | Fault::Enospc | Fault::Edquot)
    }

    /// Parses a comma-separated list (`all` for every fault).
    pub fn parse_list(s: &str) -> Result<Vec<Fault>, String> {
        if s.trim() == "all" {
            return Ok(Fault::ALL.to_vec());
        }
        let mut faults = Vec::new();
        for name in s.split(',').map(str::trim) {
            let fault = Fault::from_name(name).ok_or_else(|| {
                let valid: Vec<_> = Fault::NAMED.iter().map(|f| f.name()).collect();
                format!("unknown fault {name:?} (valid: {}, all)", valid.join(", "))
            })?;
            if !faults.contains(&fault) {
                faults.push(fault);
            }
        }
        faults.sort();
        Ok(faults)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A persistence model: what may reach the disk before a power loss
/// (`--model`; see `crate::fault::power::model` for the rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Only what POSIX promises.
    #[default]
    Posix,
    /// A journal in program order, data before the metadata that follows it.
    Ordered,
    /// Everything: a process crash.
    None,
}

impl Model {
    /// Every model, the default first.
    pub const ALL: [Model; 3] = [Model::Posix, Model::Ordered, Model::None];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Model::Posix => "posix",
            Model::Ordered => "ordered",
            Model::None => "none",
        }
    }

    /// The model named `name`.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }

    /// One line for reports and the README.
    pub fn describe(self) -> &'static str {
        match self {
            Model::Posix => {
                "only what POSIX promises: data is durable after fsync of its file, a name after fsync of its directory; the rest may persist or not, independently, writes in 4 KiB pieces"
            }
            Model::Ordered => {
                "a journal like ext4 data=ordered: unsynced names and sizes persist in program order, a file's data no later than the name changes that follow it"
            }
            Model::None => "every operation persists: the state a process crash leaves",
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The violation classes of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// The state at rest does not decode.
    Torn,
    /// A reader saw a state that does not decode.
    TornReads,
    /// An acknowledged update is missing.
    Lost,
    /// The state holds more than was attempted.
    Phantom,
    /// An outside program's check printed the same op id twice.
    Duplicate,
    /// Operations were attempted but none was acknowledged for too long.
    Stall,
}

impl ViolationKind {
    /// Every class, in report order.
    pub const ALL: [ViolationKind; 6] = [
        Self::Torn,
        Self::TornReads,
        Self::Lost,
        Self::Phantom,
        Self::Duplicate,
        Self::Stall,
    ];

    /// The name used in reports, scenarios and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Torn => "torn",
            Self::TornReads => "torn_reads",
            Self::Lost => "lost",
            Self::Phantom => "phantom",
            Self::Duplicate => "duplicate",
            Self::Stall => "stall",
        }
    }

    /// Parses a name as printed by [`ViolationKind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The violation classes of an exploration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// The state is unreadable after the faulted operation.
    Torn,
    /// An acknowledged operation is missing: one acknowledged before, or the
    /// faulted one although it exited 0.
    Lost,
    /// The program exited 0 although an fsync-like call failed: it
    /// acknowledged data it could not make durable.
    UnsafeAck,
    /// An ordinary operation after the faulted one failed or hung.
    NoRecovery,
}

impl Finding {
    /// Every class, in report order.
    pub const ALL: [Finding; 4] = [
        Finding::Torn,
        Finding::Lost,
        Finding::UnsafeAck,
        Finding::NoRecovery,
    ];

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Finding::Torn => "torn",
            Finding::Lost => "lost",
            Finding::UnsafeAck => "unsafe_ack",
            Finding::NoRecovery => "no_recovery",
        }
    }

    /// The class called `name`.
    pub fn from_name(name: &str) -> Option<Finding> {
        Finding::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether an exploration can find this class under `fault` at all:
    /// `unsafe_ack` needs an injected error that loses data.
    pub fn possible_under(self, fault: Fault) -> bool {
        match self {
            Finding::UnsafeAck => fault.loses_data(),
            _ => true,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The verdict a run must get: what a strategy declares under SIGKILL
/// torture, or what a scenario file expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// No violation.
    Pass,
    /// At least these violation classes.
    Fails(Vec<ViolationKind>),
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Pass => f.write_str("pass"),
            Expectation::Fails(kinds) => {
                let names: Vec<_> = kinds.iter().map(|k| k.name()).collect();
                f.write_str(&names.join("+"))
            }
        }
    }
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
            let valid: Vec<_> = Fault::NAMED.iter().map(|f| f.name()).collect();
            format!(
                "unknown fault {fault:?} in {text:?} (valid: {})",
                valid.join(", ")
            )
        })?;
        Ok((fault, finding))
    }
}

impl fmt::Display for ExploreExpectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExploreExpectation::Pass => f.write_str("pass"),
            ExploreExpectation::Finds(pairs) => f.write_str(&finding_list(pairs)),
        }
    }
}

/// A result held against its expectation, in the words every line that
/// shows one uses (fscompare's, an expected failure after a verdict):
/// `expected torn: met`; on a miss, what was found instead
/// (`expected torn: NOT met (found lost)`) or, with no violation, the
/// verdict it got (`expected torn: NOT met (got pass)`). `expected` and
/// `observed` are an expectation's and a result's words (`torn+lost`,
/// `torn@kill,lost@eio`). An expected failure met is no failure.
pub fn against(expected: &str, met: bool, verdict: Verdict, observed: &str) -> String {
    match (met, verdict) {
        (true, _) => format!("expected {expected}: met"),
        (false, Verdict::Fail) => format!("expected {expected}: NOT met (found {observed})"),
        (false, other) => format!("expected {expected}: NOT met (got {other})"),
    }
}

/// `class@fault` pairs, comma-separated.
pub fn finding_list(pairs: &[(Fault, Finding)]) -> String {
    finding_words(pairs).join(",")
}

/// `class@fault` pairs, one word each (the JSON of `torture list`).
pub fn finding_words(pairs: &[(Fault, Finding)]) -> Vec<String> {
    pairs
        .iter()
        .map(|(fault, finding)| format!("{}@{}", finding.name(), fault.name()))
        .collect()
}

/// Operation sequence number within one writer slot.
pub type Seq = u64;

/// One operation: number `seq` of writer `slot`. Written `w{slot}-{seq}`
/// (`w3-17`) in the environment of an outside program, in its check's
/// output, in `ops.jsonl` and in the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId {
    /// The writer slot.
    pub slot: usize,
    /// The operation's number within its slot.
    pub seq: Seq,
}

impl OpId {
    /// Operation `seq` of writer `slot`.
    pub fn new(slot: usize, seq: Seq) -> OpId {
        OpId { slot, seq }
    }
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "w{}-{}", self.slot, self.seq)
    }
}

/// Why a text is not an [`OpId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an op id (w<slot>-<seq>, as in w3-17)")]
pub struct BadOpId(pub String);

impl FromStr for OpId {
    type Err = BadOpId;

    /// Parses `w{slot}-{seq}`: ASCII digits only, no sign, no spaces.
    fn from_str(text: &str) -> Result<OpId, BadOpId> {
        let bad = || BadOpId(text.to_string());
        let (slot, seq) = text
            .strip_prefix('w')
            .and_then(|rest| rest.split_once('-'))
            .ok_or_else(bad)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(slot) || !digits(seq) {
            return Err(bad());
        }
        Ok(OpId {
            slot: slot.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_ids_round_trip_and_refuse_near_misses() {
        for id in [OpId::new(0, 0), OpId::new(3, 17), OpId::new(31, u64::MAX)] {
            assert_eq!(id.to_string().parse::<OpId>(), Ok(id));
        }
        assert_eq!(OpId::new(3, 17).to_string(), "w3-17");
        for bad in [
            "",
            "w",
            "w-1",
            "w1-",
            "w1",
            "x1-2",
            "w+1-2",
            "w1--2",
            "w1-2 ",
            " w1-2",
            "w1-2-3",
            "w１-2",
            "w1-18446744073709551616",
        ] {
            let err = bad.parse::<OpId>().unwrap_err();
            assert_eq!(err, BadOpId(bad.to_string()), "{bad:?}");
        }
    }

    #[test]
    fn verdict_precedence_is_one_order() {
        use Verdict::*;
        let order = [Pass, Inconclusive, Error, Interrupted, Fail];
        for (i, a) in order.iter().enumerate() {
            for (j, b) in order.iter().enumerate() {
                assert_eq!(a.worst(*b), order[i.max(j)], "{a} vs {b}");
            }
        }
        assert_eq!(Verdict::of(true, true, true, true), Fail);
        assert_eq!(Verdict::of(false, true, true, true), Interrupted);
        assert_eq!(Verdict::of(false, false, true, true), Error);
        assert_eq!(Verdict::of(false, false, false, true), Inconclusive);
        assert_eq!(Verdict::of(false, false, false, false), Pass);
        assert_eq!(Verdict::of_miss(Pass), Fail);
        assert_eq!(Verdict::of_miss(Fail), Fail);
        assert_eq!(Verdict::of_miss(Inconclusive), Inconclusive);
        assert_eq!(Verdict::of_miss(Interrupted), Interrupted);
    }

    #[test]
    fn tiers_have_one_spelling_in_json() {
        assert_eq!(
            serde_json::to_string(&Tier::ProcessCrash).unwrap(),
            "\"process-crash\""
        );
        assert_eq!(
            serde_json::to_string(&Tier::IoError).unwrap(),
            "\"io-error\""
        );
        assert_eq!(Tier::ProcessCrash.words(), "process crash");
        for fault in Fault::NAMED {
            let json = serde_json::to_string(&fault).unwrap();
            assert_eq!(json, format!("{:?}", fault.name()));
        }
        for finding in Finding::ALL {
            let json = serde_json::to_string(&finding).unwrap();
            assert_eq!(json, format!("{:?}", finding.name()));
        }
    }

    #[test]
    fn fault_lists_parse() {
        assert_eq!(Fault::parse_list("all").unwrap(), Fault::ALL.to_vec());
        assert_eq!(
            Fault::parse_list("short-write, kill,kill").unwrap(),
            vec![Fault::Kill, Fault::ShortWrite]
        );
        let err = Fault::parse_list("kill,eagain").unwrap_err();
        assert!(
            err.contains("eagain") && err.contains("short-write"),
            "{err}"
        );
    }

    #[test]
    fn findings_parse_as_list_prints_them() {
        let pairs = vec![
            (Fault::Kill, Finding::Torn),
            (Fault::Eio, Finding::UnsafeAck),
        ];
        let text = finding_list(&pairs);
        assert_eq!(text, "torn@kill,unsafe_ack@eio");
        let back: Vec<_> = text
            .split(',')
            .map(|t| ExploreExpectation::parse_finding(t).unwrap())
            .collect();
        assert_eq!(back, pairs);
        assert!(ExploreExpectation::parse_finding("torn").is_err());
    }

    #[test]
    fn results_against_expectations_say_met_or_what_came_instead() {
        let torn = Expectation::Fails(vec![ViolationKind::Torn]).to_string();
        assert_eq!(
            against(&torn, true, Verdict::Fail, "torn"),
            "expected torn: met"
        );
        assert_eq!(
            against(&torn, false, Verdict::Fail, "lost"),
            "expected torn: NOT met (found lost)"
        );
        assert_eq!(
            against(&torn, false, Verdict::Pass, "pass"),
            "expected torn: NOT met (got pass)"
        );
        assert_eq!(
            against("pass", false, Verdict::Inconclusive, "inconclusive"),
            "expected pass: NOT met (got inconclusive)"
        );
        assert_eq!(
            against("pass", true, Verdict::Pass, "pass"),
            "expected pass: met"
        );
        let pairs = ExploreExpectation::Finds(vec![(Fault::Kill, Finding::Torn)]).to_string();
        assert_eq!(
            against(&pairs, false, Verdict::Interrupted, "interrupted"),
            "expected torn@kill: NOT met (got interrupted)"
        );
    }
}
