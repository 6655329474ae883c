//! The configuration of an exploration.

use std::path::PathBuf;
use std::time::Duration;

use super::check::{self, Naming, Setting};
use super::{ConfigError, DEFAULT_IMAGE_MIB, Line, Workload};
use crate::vocab::{Fault, Model};

/// The default of [`ExploreConfig::warmup_ops`].
pub const DEFAULT_WARMUP_OPS: u64 = 2;
/// The default of [`ExploreConfig::op_timeout`].
pub const EXPLORE_OP_TIMEOUT: Duration = Duration::from_secs(10);
/// The default of [`ExploreConfig::recovery_timeout`].
pub const DEFAULT_RECOVERY_TIMEOUT: Duration = Duration::from_secs(3);
/// The default padding of a built-in strategy's document: several writes'
/// worth for the strategies that write in chunks.
pub const EXPLORE_PAYLOAD: usize = 1024;
/// The default of [`ExploreConfig::max_states`]: crash states checked at
/// most per crash point before they are sampled.
pub const DEFAULT_MAX_STATES: usize = 256;

/// Everything an exploration needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ExploreConfig {
    /// What is explored.
    pub workload: Workload,
    /// The faults to put at every point.
    pub faults: Vec<Fault>,
    /// Ordinary operations before the explored one.
    pub warmup_ops: u64,
    /// Every file-system syscall is a point, not only those in the run directory.
    pub all_syscalls: bool,
    /// Explore only the point with this ordinal (a replay).
    pub only_point: Option<usize>,
    /// A faulted operation running longer than this is killed.
    pub op_timeout: Duration,
    /// The operation after a faulted one must finish within this.
    pub recovery_timeout: Duration,
    /// Padding bytes of a built-in strategy's document.
    pub payload: usize,
    /// The run directory; `None` for a fresh temporary one.
    pub dir: Option<PathBuf>,
    /// Where to keep the directory and a replay script of each violating run.
    pub artifacts: Option<PathBuf>,
    /// The `torture` binary, for a built-in strategy's operations.
    pub program: PathBuf,
    /// Faulted runs carried out at once, each in its own directory.
    pub jobs: usize,
    /// With `power` among the faults: the persistence model.
    pub model: Model,
    /// With `power`: crash states checked at most per crash point.
    pub max_states: usize,
    /// With `power`: the seed of the sampled crash states.
    pub seed: u64,
    /// With `power` alone: the file system whose own crash states are
    /// explored, on a recording disk (one of [`POWER_LOSS_FS`](super::POWER_LOSS_FS)); `None`
    /// for the persistence model's.
    pub fs: Option<String>,
    /// With `fs`: the recording disk's size in MiB.
    pub image_mib: u64,
    /// Draw a progress bar of the faulted runs on stderr (the binary sets
    /// it from [`crate::term::progress`]; built settings leave it off).
    pub progress: bool,
}

impl ExploreConfig {
    /// Checks every setting, naming them as command-line options.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_as(Naming::Flags)
    }

    /// Checks every setting, naming them as `naming` does; nothing is
    /// touched when this fails. [`ExploreSettings::build`] calls it.
    pub fn validate_as(&self, naming: Naming) -> Result<(), ConfigError> {
        let err = |setting, reason: String| Err(ConfigError::new(setting, naming, reason));
        let at = |setting, r: Result<(), String>| check::named(r, setting, naming);
        if self.faults.is_empty() {
            return err("faults", "names no fault (give a list, or \"all\")".into());
        }
        at("payload", check::payload(self.payload).map(drop))?;
        at("op_timeout", check::duration(self.op_timeout).map(drop))?;
        at(
            "recovery_timeout",
            check::duration(self.recovery_timeout).map(drop),
        )?;
        if self.jobs == 0 {
            return err("jobs", "must be at least 1".into());
        }
        if self.max_states == 0 {
            return err("max_states", "must be at least 1".into());
        }
        for (setting, path) in [("dir", &self.dir), ("artifacts", &self.artifacts)] {
            if let Some(path) = path {
                crate::paths::check(&Setting(setting).named(naming), path)
                    .or_else(|why| err(setting, why))?;
            }
        }
        if let Workload::Exec(spec) = &self.workload
            && let Some(p) = spec.problem()
        {
            return err(p.field, p.reason);
        }
        if let Some(fs) = &self.fs {
            self.check_fs(fs, naming)?;
        }
        Ok(())
    }

    /// The settings that go with `fs` (a real file system's power loss):
    /// only the power fault, and nothing that needs a tracer or a
    /// directory of the user's.
    fn check_fs(&self, fs: &str, naming: Naming) -> Result<(), ConfigError> {
        let err = |setting, reason: String| Err(ConfigError::new(setting, naming, reason));
        let flag = Setting("fs").named(naming);
        check::named(check::power_fs(fs), "fs", naming)?;
        if self.faults != [Fault::Power] {
            return err(
                "fs",
                format!(
                    "is for the power-loss tier alone: give {} power",
                    Setting("faults").named(naming)
                ),
            );
        }
        let refused = [
            (
                "dir",
                self.dir.is_some(),
                "the exploration happens on a disk torture makes",
            ),
            (
                "point",
                self.only_point.is_some(),
                "a real file system's block log differs from run to run: rerun the whole exploration",
            ),
            (
                "all_syscalls",
                self.all_syscalls,
                "nothing is traced: every block write of the operation is a crash point",
            ),
        ];
        if let Some((setting, _, why)) = refused.iter().find(|r| r.1) {
            return err(*setting, format!("cannot be used with {flag}: {why}"));
        }
        check::named(check::image_mib(fs, self.image_mib), "image_mib", naming)
    }

    /// The command line that reruns this exploration: of `faults`, at
    /// `point` only or at every point. Like [`super::RunConfig::replay`],
    /// it leaves out where (`--dir`, `--artifacts`, `--jobs`) and defaults,
    /// and names torture as [`crate::invocation::word`] says.
    pub fn replay(&self, faults: &[Fault], point: Option<usize>) -> String {
        let mut line = Line::new(&[&crate::invocation::word(&self.program), "explore"]);
        line.workload(&self.workload);
        if matches!(self.workload, Workload::Builtin(_)) && self.payload != EXPLORE_PAYLOAD {
            line.push("--payload", self.payload.to_string());
        }
        if faults != Fault::ALL {
            let names: Vec<&str> = faults.iter().map(|f| f.name()).collect();
            line.push("--faults", names.join(","));
        }
        if let Some(point) = point {
            line.push("--point", point.to_string());
        }
        if self.warmup_ops != DEFAULT_WARMUP_OPS {
            line.push("--warmup-ops", self.warmup_ops.to_string());
        }
        if self.op_timeout != EXPLORE_OP_TIMEOUT {
            line.push("--op-timeout", crate::duration::format(self.op_timeout));
        }
        if self.recovery_timeout != DEFAULT_RECOVERY_TIMEOUT {
            line.push(
                "--recovery-timeout",
                crate::duration::format(self.recovery_timeout),
            );
        }
        if self.all_syscalls {
            line.flag("--all-syscalls");
        }
        if faults.contains(&Fault::Power) {
            if self.model != Model::default() {
                line.push("--model", self.model.name().into());
            }
            if self.max_states != DEFAULT_MAX_STATES {
                line.push("--max-states", self.max_states.to_string());
            }
            if self.seed != 0 {
                line.push("--seed", self.seed.to_string());
            }
        }
        if let Some(fs) = &self.fs {
            line.push("--fs", fs.clone());
            if self.image_mib != DEFAULT_IMAGE_MIB {
                line.push("--image-mib", self.image_mib.to_string());
            }
        }
        line.finish()
    }
}

/// What a source says about an exploration: every setting optional.
/// [`ExploreSettings::or`] lays one source over another (the command line
/// over a scenario file); [`ExploreSettings::build`] fills in the defaults
/// and validates once.
#[derive(Debug, Clone, Default)]
pub struct ExploreSettings {
    /// What is explored [default: the `reference` strategy].
    pub workload: Option<Workload>,
    /// The faults [default: all].
    pub faults: Option<Vec<Fault>>,
    /// [default: [`DEFAULT_WARMUP_OPS`]].
    pub warmup_ops: Option<u64>,
    /// Every file-system syscall is a point.
    pub all_syscalls: bool,
    /// Explore only this point.
    pub only_point: Option<usize>,
    /// [default: [`EXPLORE_OP_TIMEOUT`]].
    pub op_timeout: Option<Duration>,
    /// [default: [`DEFAULT_RECOVERY_TIMEOUT`]].
    pub recovery_timeout: Option<Duration>,
    /// [default: [`EXPLORE_PAYLOAD`]].
    pub payload: Option<usize>,
    /// The run directory [default: a fresh temporary one].
    pub dir: Option<PathBuf>,
    /// Where to keep the evidence of each violating run.
    pub artifacts: Option<PathBuf>,
    /// Faulted runs at once [default: one per CPU].
    pub jobs: Option<usize>,
    /// With `power`: the persistence model [default: posix].
    pub model: Option<Model>,
    /// With `power`: crash states per crash point [default:
    /// [`DEFAULT_MAX_STATES`]].
    pub max_states: Option<usize>,
    /// With `power`: the seed of sampled crash states [default: 0].
    pub seed: Option<u64>,
    /// With `power` alone: a real file system's crash states.
    pub fs: Option<String>,
    /// With `fs`: the recording disk's size [default: [`DEFAULT_IMAGE_MIB`]].
    pub image_mib: Option<u64>,
}

impl ExploreSettings {
    /// These settings, with `base`'s where these say nothing.
    pub fn or(self, base: ExploreSettings) -> ExploreSettings {
        ExploreSettings {
            workload: self.workload.or(base.workload),
            faults: self.faults.or(base.faults),
            warmup_ops: self.warmup_ops.or(base.warmup_ops),
            all_syscalls: self.all_syscalls || base.all_syscalls,
            only_point: self.only_point.or(base.only_point),
            op_timeout: self.op_timeout.or(base.op_timeout),
            recovery_timeout: self.recovery_timeout.or(base.recovery_timeout),
            payload: self.payload.or(base.payload),
            dir: self.dir.or(base.dir),
            artifacts: self.artifacts.or(base.artifacts),
            jobs: self.jobs.or(base.jobs),
            model: self.model.or(base.model),
            max_states: self.max_states.or(base.max_states),
            seed: self.seed.or(base.seed),
            fs: self.fs.or(base.fs),
            image_mib: self.image_mib.or(base.image_mib),
        }
    }

    /// The exploration: defaults filled in, every setting checked, errors
    /// naming the setting as `naming` does.
    pub fn build(self, program: PathBuf, naming: Naming) -> Result<ExploreConfig, ConfigError> {
        let power = self
            .faults
            .as_ref()
            .is_some_and(|f| f.contains(&Fault::Power));
        for (setting, given) in [
            ("model", self.model.is_some()),
            ("max_states", self.max_states.is_some()),
            ("seed", self.seed.is_some()),
        ] {
            if given && !power {
                return Err(ConfigError::new(
                    setting,
                    naming,
                    format!(
                        "is for the power-loss tier: add power to {}",
                        Setting("faults").named(naming)
                    ),
                ));
            }
        }
        if self.image_mib.is_some() && self.fs.is_none() {
            return Err(ConfigError::new(
                "image_mib",
                naming,
                format!(
                    "is for a real file system: add {}",
                    Setting("fs").named(naming)
                ),
            ));
        }
        if self.model.is_some() && self.fs.is_some() {
            return Err(ConfigError::new(
                "model",
                naming,
                format!(
                    "makes no sense with {}: the file system's own behaviour makes the crash states, not a model",
                    Setting("fs").named(naming)
                ),
            ));
        }
        let config = ExploreConfig {
            workload: self
                .workload
                .unwrap_or_else(|| Workload::Builtin(crate::strategy::reference())),
            faults: self.faults.unwrap_or_else(|| Fault::ALL.to_vec()),
            warmup_ops: self.warmup_ops.unwrap_or(DEFAULT_WARMUP_OPS),
            all_syscalls: self.all_syscalls,
            only_point: self.only_point,
            op_timeout: self.op_timeout.unwrap_or(EXPLORE_OP_TIMEOUT),
            recovery_timeout: self.recovery_timeout.unwrap_or(DEFAULT_RECOVERY_TIMEOUT),
            payload: self.payload.unwrap_or(EXPLORE_PAYLOAD),
            dir: self.dir,
            artifacts: self.artifacts,
            program,
            jobs: self.jobs.unwrap_or_else(default_jobs),
            model: self.model.unwrap_or_default(),
            max_states: self.max_states.unwrap_or(DEFAULT_MAX_STATES),
            seed: self.seed.unwrap_or(0),
            fs: self.fs,
            image_mib: self.image_mib.unwrap_or(DEFAULT_IMAGE_MIB),
            progress: false,
        };
        config.validate_as(naming)?;
        Ok(config)
    }
}

/// Faulted runs at once when nothing says: one per CPU.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
