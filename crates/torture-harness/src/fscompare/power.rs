//! `fscompare --power-loss`: the power-loss cell of each (file system,
//! strategy), and what the persistence models predict for each strategy.
//!
//! A strategy runs a second time on a *recording disk* of the same file
//! system (the runner's `--power-loss`), and the crash states at crash
//! points of its block log are judged. The cell says what they showed next
//! to what the strategy must get:
//!
//! - A strategy that declares no [`Fault::Power`] finding (see
//!   [`Strategy::explore_expected`]) must get under power loss what it gets
//!   under SIGKILL ([`Strategy::expected`]): `pass` for a correct
//!   discipline, on every real file system. (A strategy with a concurrency
//!   flaw, `no-lock`, keeps it under power loss: every tier of a run shows
//!   it.)
//! - A strategy that declares one is guilty under the `posix` model; what a
//!   real file system does to it is an observation (`expected` is
//!   `observed`), met by any verdict resting on evidence.
//!
//! The models are those of `torture explore --faults power`: `posix` is
//! read from the strategy's declared findings (`tests/explore_power.rs`
//! keeps them honest), `ordered` is explored once per strategy, in process.
//! A model is *too lax* when a real file system showed a class of violation
//! in its crash states that the model does not predict: a model that passes
//! what a file system fails is a bug in the model. Only strategies that pass
//! the process-crash tier are compared: the explorer runs one operation at a
//! time and cannot see a concurrency flaw, which the crash states of a run
//! show as well.

use std::path::Path;

use serde::Serialize;

use super::mount::{FsKind, FsSpec};
use crate::config::{ExploreSettings, Naming, Workload};
use crate::report::{PowerViolations, Report};
use crate::strategy::Strategy;
use crate::vocab::{Expectation, Fault, Finding, Model, Verdict};

/// `--crash-points` of a comparison when not given: fewer than a run's,
/// since every strategy runs on every file system.
pub const DEFAULT_CRASH_POINTS: u64 = 30;

/// `--max-states` of a comparison when not given.
pub const DEFAULT_MAX_STATES: u64 = 2;

/// Crash states per crash point of the `ordered` model's exploration: a
/// prediction, cheap (a fraction of a second a strategy), not a proof.
pub const ORDERED_MAX_STATES: usize = 64;

/// The most a recording may slow a run against the same run on a plain loop
/// image of the same file system (issue §5); beyond it the reports flag the
/// slowdown. A measurement, not a verdict.
pub const SLOWDOWN_LIMIT: f64 = 3.0;

/// Why a row has no power-loss cell although `--power-loss` was given.
pub const NO_BLOCK_DEVICE: &str = "no block device";

/// The power-loss settings of a comparison (`--power-loss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PowerParams {
    /// Crash points checked per run; `None` (null): every candidate.
    pub crash_points: Option<u64>,
    /// The most crash states checked at one crash point.
    pub max_states: u64,
}

impl PowerParams {
    /// What the power-loss matrix shows, in one paragraph for the reports.
    pub fn describe(&self) -> String {
        let points = match self.crash_points {
            Some(n) => format!("{n} crash points"),
            None => "every crash point".into(),
        };
        format!(
            "Each strategy ran again on a recording disk of each file system with a block device, \
             and the power was cut at {points} of its block log, at most {} crash state(s) each. \
             A cell: what the run showed (its SIGKILLs and its crash states), the crash states checked, \
             and how many times slower the recorded run went than the plain one (over {SLOWDOWN_LIMIT}× is flagged). \
             A strategy the posix model finds guilty is observed; the others must get their process-crash verdict. \
             The models are what `torture explore --faults power` predicts; \
             one is too lax when a file system showed a class it does not predict.",
            self.max_states
        )
    }
}

/// The `--power-loss` name of the file system `spec` makes, if it makes
/// one on a block device: not a tmpfs, nor a directory already mounted
/// (whatever its name).
pub fn recording_fs(spec: &FsSpec) -> Option<&'static str> {
    match spec.kind {
        FsKind::Ext4 => Some("ext4"),
        FsKind::Ext4Journal => Some("ext4-journal"),
        FsKind::Xfs => Some("xfs"),
        FsKind::Btrfs => Some("btrfs"),
        FsKind::Tmpfs | FsKind::Dir(_) => None,
    }
}

/// What a model predicts for a strategy: the classes its crash states
/// show (empty: it passes), or why there is no prediction.
pub type Prediction = Result<Vec<Finding>, String>;

/// The predictions of the two models for one strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predictions {
    /// `posix`: the strategy's declared power findings.
    pub posix: Prediction,
    /// `ordered`: what `explore --faults power --model ordered` found.
    pub ordered: Prediction,
}

impl Predictions {
    /// Both models' predictions for `strategy`; `program` is the `torture`
    /// binary the explorer runs the operation with.
    pub fn of(strategy: &'static dyn Strategy, program: &Path, seed: u64) -> Predictions {
        Predictions {
            posix: Ok(declared(strategy)),
            ordered: explored(strategy, Model::Ordered, program, seed),
        }
    }
}

/// The findings `strategy` declares under power loss: what the `posix`
/// model must find, in report order.
pub fn declared(strategy: &dyn Strategy) -> Vec<Finding> {
    let pairs = strategy.explore_expected();
    Finding::ALL
        .into_iter()
        .filter(|f| pairs.contains(&(Fault::Power, *f)))
        .collect()
}

/// Explores `strategy` under power loss with `model`, as `torture explore
/// --faults power --model M --max-states` [`ORDERED_MAX_STATES`] does.
fn explored(
    strategy: &'static dyn Strategy,
    model: Model,
    program: &Path,
    seed: u64,
) -> Prediction {
    let config = ExploreSettings {
        workload: Some(Workload::Builtin(strategy)),
        faults: Some(vec![Fault::Power]),
        model: Some(model),
        max_states: Some(ORDERED_MAX_STATES),
        seed: Some(seed),
        ..ExploreSettings::default()
    }
    .build(program.to_path_buf(), Naming::Flags)
    .map_err(|e| format!("cannot explore it: {e}"))?;
    let report = crate::fault::explore(&config).map_err(|e| format!("cannot explore it: {e}"))?;
    let v = &report.violations;
    let found = [
        (Finding::Torn, v.torn),
        (Finding::Lost, v.lost),
        (Finding::UnsafeAck, v.unsafe_ack),
        (Finding::NoRecovery, v.no_recovery),
    ];
    match report.verdict {
        Verdict::Pass | Verdict::Fail => Ok(found
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(f, _)| f)
            .collect()),
        other => Err(format!("its exploration was {}", other.name())),
    }
}

/// A prediction in words: `pass`, or the classes joined by `+`.
pub fn words(findings: &[Finding]) -> String {
    match findings {
        [] => "pass".into(),
        _ => findings
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join("+"),
    }
}

/// What a strategy must get under power loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PowerExpectation {
    /// What it gets under SIGKILL: it declares no power finding.
    Same(Expectation),
    /// Whatever the file system does: `posix` finds it guilty.
    Observed,
}

impl PowerExpectation {
    /// The expectation of `strategy`.
    pub fn of(strategy: &dyn Strategy) -> PowerExpectation {
        match declared(strategy).is_empty() {
            true => PowerExpectation::Same(strategy.expected()),
            false => PowerExpectation::Observed,
        }
    }

    /// Whether the power run `run` meets it. A run the harness could not
    /// carry out meets nothing; an observation needs evidence (a pass or a
    /// fail), so an inconclusive or interrupted run meets no expectation.
    pub fn met_by(&self, run: &Report) -> bool {
        match self {
            PowerExpectation::Same(expect) => run.verdict != Verdict::Error && run.meets(expect),
            PowerExpectation::Observed => matches!(run.verdict, Verdict::Pass | Verdict::Fail),
        }
    }
}

impl std::fmt::Display for PowerExpectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PowerExpectation::Same(e) => e.fmt(f),
            PowerExpectation::Observed => f.write_str("observed"),
        }
    }
}

/// One strategy on the recording disk of one file system: what its crash
/// states showed, what it cost, and what the models predicted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerCell {
    /// The tier and the file system: `power loss (ext4, data=ordered)`.
    pub label: String,
    /// `pass`, the classes it must show, or `observed` (see
    /// [`PowerExpectation`]).
    pub expected: String,
    /// The run's verdict, both tiers: its SIGKILLs and its crash states.
    pub verdict: Verdict,
    /// The classes seen, `+`-joined, both tiers (the verdict's name if none).
    pub observed: String,
    /// Whether it got what it must.
    pub met: bool,
    /// Crash points checked.
    pub crash_points: u64,
    /// Crash states judged.
    pub crash_states: u64,
    /// Distinct crash images mounted.
    pub distinct_images: u64,
    /// Crash images the file system refused to mount (counted `torn`).
    pub unmountable: u64,
    /// Crash states showing each class (the power-loss tier alone).
    pub violations: PowerViolations,
    /// Wall time of the check of the crash states.
    pub check_seconds: f64,
    /// Crash states judged per second of the check.
    pub states_per_second: f64,
    /// Acknowledged operations per second of the recorded run.
    pub ops_per_s: f64,
    /// The plain run's ops/s over the recorded run's: what recording costs
    /// (null when either did nothing).
    pub slowdown: Option<f64>,
    /// What the `posix` model predicts (`pass` or classes).
    pub model_posix: Option<String>,
    /// What the `ordered` model predicts; null when it could not be
    /// explored (`model_note` says why).
    pub model_ordered: Option<String>,
    /// Why a model has no prediction.
    pub model_note: Option<String>,
    /// A model predicts less than this file system showed.
    pub model_disagrees: bool,
    /// The models that predict less than this file system showed.
    pub lax_models: Vec<String>,
}

impl PowerCell {
    /// The cell of `strategy`'s power run `run`, whose plain run did
    /// `plain_ops_per_s`.
    pub fn new(
        strategy: &dyn Strategy,
        plain_ops_per_s: f64,
        run: &Report,
        models: &Predictions,
    ) -> PowerCell {
        let expect = PowerExpectation::of(strategy);
        let p = run.power_loss.as_ref();
        let crash = p.map(|p| p.violations).unwrap_or_default();
        let lax_models = match strategy.expected() {
            Expectation::Pass => lax(models, &crash),
            Expectation::Fails(_) => Vec::new(),
        };
        let note = [("posix", &models.posix), ("ordered", &models.ordered)]
            .iter()
            .filter_map(|(name, m)| m.as_ref().err().map(|why| format!("{name}: {why}")))
            .collect::<Vec<_>>();
        PowerCell {
            label: p.map_or_else(|| "power loss".into(), |p| p.label.clone()),
            expected: expect.to_string(),
            verdict: run.verdict,
            observed: super::observed(run),
            met: expect.met_by(run),
            crash_points: p.map_or(0, |p| p.crash_points),
            crash_states: p.map_or(0, |p| p.crash_states),
            distinct_images: p.map_or(0, |p| p.distinct_images),
            unmountable: p.map_or(0, |p| p.unmountable),
            violations: crash,
            check_seconds: p.map_or(0.0, |p| p.check_seconds),
            states_per_second: p.map_or(0.0, |p| p.states_per_second),
            ops_per_s: run.throughput_ops_per_s,
            slowdown: slowdown(plain_ops_per_s, run.throughput_ops_per_s),
            model_posix: models.posix.as_deref().ok().map(words),
            model_ordered: models.ordered.as_deref().ok().map(words),
            model_note: (!note.is_empty()).then(|| note.join("; ")),
            model_disagrees: !lax_models.is_empty(),
            lax_models,
        }
    }

    /// The matrix's cell: what it showed (and what it must, when missed),
    /// how many crash states, how much slower recorded.
    pub fn summary(&self) -> String {
        let mut text = self.observed.clone();
        if !self.met {
            text += &format!(" (expected {})", self.expected);
        }
        text += &format!(" · {} states", self.crash_states);
        if let Some(s) = self.slowdown {
            text += &format!(" · {}", slowdown_words(s));
        }
        text
    }

    /// `model too lax (posix, ordered)`, when a model predicts less than
    /// this file system showed.
    pub fn disagreement(&self) -> Option<String> {
        self.model_disagrees
            .then(|| format!("model too lax ({})", self.lax_models.join(", ")))
    }
}

/// `1.8×`, or `4.2× (over 3×)` beyond [`SLOWDOWN_LIMIT`].
pub fn slowdown_words(s: f64) -> String {
    match s > SLOWDOWN_LIMIT {
        true => format!("{s:.1}× (over {SLOWDOWN_LIMIT}×)"),
        false => format!("{s:.1}×"),
    }
}

/// How many times slower the recorded run was; `None` when either run
/// acknowledged nothing.
pub fn slowdown(plain_ops_per_s: f64, recorded_ops_per_s: f64) -> Option<f64> {
    (plain_ops_per_s > 0.0 && recorded_ops_per_s > 0.0)
        .then(|| plain_ops_per_s / recorded_ops_per_s)
}

/// The classes the crash states showed, by name.
fn crash_classes(v: &PowerViolations) -> Vec<&'static str> {
    [("torn", v.torn), ("lost", v.lost), ("phantom", v.phantom)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, _)| name)
        .collect()
}

/// The models whose prediction lacks a class the crash states showed.
fn lax(models: &Predictions, crash: &PowerViolations) -> Vec<String> {
    let seen = crash_classes(crash);
    [("posix", &models.posix), ("ordered", &models.ordered)]
        .into_iter()
        .filter_map(|(name, m)| m.as_ref().ok().map(|m| (name, m)))
        .filter(|(_, predicted)| {
            seen.iter()
                .any(|class| !predicted.iter().any(|f| f.name() == *class))
        })
        .map(|(name, _)| name.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunSettings;
    use crate::report::{Outcome, PowerLog, PowerLossReport};
    use crate::strategy::by_name;
    use crate::verifier::Verifier;

    fn strategy(name: &str) -> &'static dyn Strategy {
        by_name(name).unwrap()
    }

    /// A power run of `strategy` at 500 ops/s, its crash states showing
    /// `crash`, with `verdict` (the both tiers').
    fn power_run(strategy: &str, verdict: Verdict, crash: PowerViolations) -> Report {
        let cfg = RunSettings {
            workload: Some(Workload::Builtin(by_name(strategy).unwrap())),
            seed: Some(7),
            ..RunSettings::default()
        }
        .build("torture".into(), Naming::Flags)
        .unwrap();
        let mut run = Report::new(&cfg, Path::new("/x"), Outcome::default(), Verifier::new(7));
        run.add_power_loss(
            PowerLossReport {
                fs: "ext4".into(),
                label: "power loss (ext4, data=ordered)".into(),
                mkfs: "mkfs.ext4".into(),
                mount_options: String::new(),
                image_bytes: 256 << 20,
                log: PowerLog::default(),
                positions_reported: 40,
                positions_stood_in: 0,
                seed: 7,
                crash_points: 30,
                candidates: 90,
                max_states: 2,
                crash_states: 60,
                distinct_images: 41,
                unmountable: 0,
                violations: crash,
                check_seconds: 5.0,
                states_per_second: 12.0,
                images_per_second: 8.2,
                interrupted: false,
            },
            Vec::new(),
            crash.lost,
        );
        run.verdict = verdict;
        run.throughput_ops_per_s = 500.0;
        run
    }

    fn clean() -> PowerViolations {
        PowerViolations::default()
    }

    fn lost() -> PowerViolations {
        PowerViolations {
            lost: 3,
            ..PowerViolations::default()
        }
    }

    fn models(posix: &[Finding], ordered: Prediction) -> Predictions {
        Predictions {
            posix: Ok(posix.to_vec()),
            ordered,
        }
    }

    #[test]
    fn posix_is_read_from_the_declared_findings() {
        assert_eq!(declared(strategy("reference")), []);
        assert_eq!(declared(strategy("no-dir-fsync")), [Finding::Lost]);
        assert_eq!(
            declared(strategy("no-fsync")),
            [Finding::Torn, Finding::Lost]
        );
        // Its other faults' findings are not power's.
        assert_eq!(declared(strategy("fsync-ignore")), []);
        assert_eq!(words(&declared(strategy("no-fsync"))), "torn+lost");
        assert_eq!(words(&[]), "pass");
    }

    #[test]
    fn a_strategy_without_power_findings_must_get_its_sigkill_verdict() {
        let reference = PowerExpectation::of(strategy("reference"));
        assert_eq!(reference, PowerExpectation::Same(Expectation::Pass));
        assert_eq!(reference.to_string(), "pass");
        assert!(reference.met_by(&power_run("reference", Verdict::Pass, clean())));
        assert!(!reference.met_by(&power_run("reference", Verdict::Fail, lost())));
        assert!(!reference.met_by(&power_run("reference", Verdict::Inconclusive, clean())));
        // A concurrency flaw shows in every tier: still `lost`.
        let no_lock = PowerExpectation::of(strategy("no-lock"));
        assert_eq!(no_lock.to_string(), "lost");
        let mut run = power_run("no-lock", Verdict::Fail, lost());
        run.violations.lost = 5;
        assert!(no_lock.met_by(&run));
    }

    #[test]
    fn a_strategy_posix_finds_guilty_is_an_observation() {
        let e = PowerExpectation::of(strategy("no-dir-fsync"));
        assert_eq!(e, PowerExpectation::Observed);
        assert_eq!(e.to_string(), "observed");
        for verdict in [Verdict::Pass, Verdict::Fail] {
            assert!(e.met_by(&power_run("no-dir-fsync", verdict, clean())));
        }
        for verdict in [Verdict::Inconclusive, Verdict::Error, Verdict::Interrupted] {
            assert!(
                !e.met_by(&power_run("no-dir-fsync", verdict, clean())),
                "{verdict}"
            );
        }
    }

    #[test]
    fn slowdown_is_plain_over_recorded() {
        assert_eq!(slowdown(1000.0, 500.0), Some(2.0));
        assert_eq!(slowdown(1000.0, 0.0), None);
        assert_eq!(slowdown(0.0, 500.0), None);
        assert_eq!(slowdown_words(2.0), "2.0×");
        assert_eq!(slowdown_words(4.25), "4.2× (over 3×)");
    }

    #[test]
    fn a_cell_carries_the_runs_numbers_and_the_models() {
        let run = power_run("reference", Verdict::Pass, clean());
        let cell = PowerCell::new(
            strategy("reference"),
            1500.0,
            &run,
            &models(&[], Ok(vec![])),
        );
        assert_eq!(cell.label, "power loss (ext4, data=ordered)");
        assert_eq!(
            (cell.expected.as_str(), cell.observed.as_str()),
            ("pass", "pass")
        );
        assert!(cell.met);
        assert_eq!(
            (cell.crash_points, cell.crash_states, cell.distinct_images),
            (30, 60, 41)
        );
        assert_eq!(cell.states_per_second, 12.0);
        assert_eq!(cell.ops_per_s, 500.0);
        assert_eq!(cell.slowdown, Some(3.0));
        assert_eq!(cell.model_posix.as_deref(), Some("pass"));
        assert_eq!(cell.model_ordered.as_deref(), Some("pass"));
        assert_eq!(
            (cell.model_note.as_deref(), cell.model_disagrees),
            (None, false)
        );
        assert_eq!(cell.summary(), "pass · 60 states · 3.0×");
        assert_eq!(cell.disagreement(), None);
    }

    #[test]
    fn a_model_that_passes_what_a_file_system_fails_is_too_lax() {
        // reference lost on a real file system: both models said pass.
        let mut run = power_run("reference", Verdict::Fail, lost());
        run.violations.lost = 3;
        let cell = PowerCell::new(
            strategy("reference"),
            1000.0,
            &run,
            &models(&[], Ok(vec![])),
        );
        assert!(!cell.met);
        assert_eq!(cell.observed, "lost");
        assert!(cell.model_disagrees);
        assert_eq!(cell.lax_models, ["posix", "ordered"]);
        assert_eq!(cell.summary(), "lost (expected pass) · 60 states · 2.0×");
        assert_eq!(
            cell.disagreement().unwrap(),
            "model too lax (posix, ordered)"
        );
    }

    #[test]
    fn only_the_models_that_miss_a_class_disagree() {
        // no-dir-fsync lost: posix predicts it, ordered (here) did not.
        let run = power_run("no-dir-fsync", Verdict::Fail, lost());
        let cell = PowerCell::new(
            strategy("no-dir-fsync"),
            1000.0,
            &run,
            &models(&[Finding::Lost], Ok(vec![])),
        );
        assert!(cell.met, "an observation");
        assert_eq!(cell.expected, "observed");
        assert_eq!(cell.lax_models, ["ordered"]);
        // torn as well: posix predicted lost only.
        let torn_too = PowerViolations { torn: 1, ..lost() };
        let run = power_run("no-dir-fsync", Verdict::Fail, torn_too);
        let cell = PowerCell::new(
            strategy("no-dir-fsync"),
            1000.0,
            &run,
            &models(&[Finding::Lost], Ok(vec![Finding::Torn, Finding::Lost])),
        );
        assert_eq!(cell.lax_models, ["posix"]);
        // Nothing shown, nothing to disagree with.
        let run = power_run("no-dir-fsync", Verdict::Pass, clean());
        let cell = PowerCell::new(
            strategy("no-dir-fsync"),
            1000.0,
            &run,
            &models(&[Finding::Lost], Ok(vec![])),
        );
        assert!(!cell.model_disagrees);
    }

    #[test]
    fn a_missing_prediction_is_null_with_why_and_never_disagrees() {
        let mut run = power_run("reference", Verdict::Fail, lost());
        run.violations.lost = 3;
        let why = "cannot explore it: ptrace is not permitted".to_string();
        let cell = PowerCell::new(
            strategy("reference"),
            1000.0,
            &run,
            &models(&[], Err(why.clone())),
        );
        assert_eq!(cell.model_ordered, None);
        assert_eq!(cell.model_note, Some(format!("ordered: {why}")));
        assert_eq!(cell.lax_models, ["posix"]);
    }

    #[test]
    fn a_concurrency_flaw_is_no_disagreement() {
        // no-lock loses updates with or without a power cut; the one-op
        // explorer cannot see it.
        let mut run = power_run("no-lock", Verdict::Fail, lost());
        run.violations.lost = 9;
        let cell = PowerCell::new(strategy("no-lock"), 1000.0, &run, &models(&[], Ok(vec![])));
        assert!(cell.met);
        assert!(!cell.model_disagrees);
    }

    /// A comparison over tmpfs and ext4 of `reference` and `no-dir-fsync`,
    /// with `--power-loss`.
    fn comparison() -> super::super::FsCompareReport {
        let cfg = super::super::CompareConfig {
            filesystems: vec![
                FsSpec::parse("tmpfs").unwrap(),
                FsSpec::parse("ext4").unwrap(),
            ],
            strategies: vec![strategy("reference"), strategy("no-dir-fsync")],
            duration: std::time::Duration::from_secs(3),
            ops: Some(100),
            kill_at: crate::config::KillAt::Delay,
            writers: 8,
            readers: 1,
            kill_rate: 0.1,
            minimums: crate::config::Minimums::default(),
            seed: 7,
            scratch: "/tmp".into(),
            image_size: 256 << 20,
            out: "/tmp/out".into(),
            program: "torture".into(),
            command: "torture fscompare --power-loss".into(),
            progress: false,
            announce: false,
            paint: crate::term::Paint::PLAIN,
            power: Some(PowerParams {
                crash_points: Some(30),
                max_states: 2,
            }),
        };
        super::super::FsCompareReport::new(&cfg, Path::new("/tmp"))
    }

    /// The rows as `run_all` builds them: the plain run, then its power
    /// cell beside it, or why there is none.
    #[test]
    fn a_row_gets_its_power_cell_or_why_not() {
        let mut report = comparison();
        assert_eq!(report.params.power.unwrap().crash_points, Some(30));
        let plain = {
            let mut r = power_run("reference", Verdict::Pass, clean());
            r.power_loss = None;
            r.throughput_ops_per_s = 1000.0;
            r
        };
        for fs in ["tmpfs", "ext4"] {
            let spec = FsSpec::parse(fs).unwrap();
            report.add_filesystem(&spec, "test", std::time::Duration::from_micros(80));
        }
        for s in ["reference", "no-dir-fsync"] {
            report.add_run("tmpfs", strategy(s), &plain);
            report.skip_power("tmpfs", s, NO_BLOCK_DEVICE);
            report.add_run("ext4", strategy(s), &plain);
        }
        let cell = |s: &str, run: &Report| {
            PowerCell::new(
                strategy(s),
                1000.0,
                run,
                &models(&declared(strategy(s)), Ok(vec![])),
            )
        };
        report.add_power(
            "ext4",
            "reference",
            cell("reference", &power_run("reference", Verdict::Pass, clean())),
        );
        assert!(report.all_met);
        assert_eq!(report.verdict(), Verdict::Pass);
        let mut lost_run = power_run("no-dir-fsync", Verdict::Fail, lost());
        lost_run.throughput_ops_per_s = 250.0;
        report.add_power("ext4", "no-dir-fsync", cell("no-dir-fsync", &lost_run));
        assert!(report.all_met, "no-dir-fsync's lost is an observation");
        assert_eq!(report.row("tmpfs", "reference").unwrap().power, None);
        assert_eq!(
            report
                .row("tmpfs", "reference")
                .unwrap()
                .power_skipped
                .as_deref(),
            Some(NO_BLOCK_DEVICE)
        );
        assert_eq!(report.row("ext4", "reference").unwrap().power_skipped, None);
        assert_eq!(report.power_filesystems(), ["ext4"]);
        assert_eq!(report.power_skipped(), [("tmpfs", NO_BLOCK_DEVICE)]);
        let nd = report.power("ext4", "no-dir-fsync").unwrap();
        assert_eq!(
            (nd.observed.as_str(), nd.expected.as_str()),
            ("lost", "observed")
        );
        assert_eq!(nd.lax_models, ["ordered"]);
        assert_eq!(
            report
                .models_of("no-dir-fsync")
                .unwrap()
                .model_posix
                .as_deref(),
            Some("lost")
        );
        let speed = report.power_speed();
        assert_eq!(speed.len(), 1);
        assert_eq!((speed[0].fs, speed[0].strategy), ("ext4", "reference"));
        assert_eq!(speed[0].slowdown, Some(2.0));
        assert_eq!(speed[0].worst, Some(("no-dir-fsync", 4.0)));
        // reference lost on ext4: a miss, which fails the comparison.
        let mut missed = power_run("reference", Verdict::Fail, lost());
        missed.violations.lost = 3;
        report.add_power("ext4", "reference", cell("reference", &missed));
        assert!(!report.all_met);
        assert_eq!(report.verdict(), Verdict::Fail);
    }

    #[test]
    fn only_file_systems_on_a_block_device_are_recorded() {
        for (name, power) in [
            ("ext4", Some("ext4")),
            ("ext4-journal", Some("ext4-journal")),
            ("xfs", Some("xfs")),
            ("btrfs", Some("btrfs")),
            ("tmpfs", None),
        ] {
            assert_eq!(recording_fs(&FsSpec::parse(name).unwrap()), power, "{name}");
        }
        let dir = tempfile::tempdir().unwrap();
        let named_ext4 = FsSpec::parse_dir(&format!("ext4={}", dir.path().display())).unwrap();
        assert_eq!(
            recording_fs(&named_ext4),
            None,
            "a --dir is no block device"
        );
    }
}
