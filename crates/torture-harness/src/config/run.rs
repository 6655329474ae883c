//! The configuration of a run under random kills.

use std::path::PathBuf;
use std::time::Duration;

use super::check::{self, Naming, Setting};
use super::{ConfigError, KillAt, Line, Workload, defaults};

/// The default of [`RunConfig::op_timeout`].
pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(30);

/// The default of [`RunConfig::stall_timeout`].
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The default of [`Minimums::acked_per_writer`].
pub const DEFAULT_MIN_ACKED: u64 = 1;

/// The default of [`Minimums::kills`].
pub const DEFAULT_MIN_KILLS: u64 = 20;

/// The default kill rate of a built-in strategy.
pub const BUILTIN_KILL_RATE: f64 = 0.05;
/// The default kill rate of an outside program (`--exec`).
pub const EXEC_KILL_RATE: f64 = 0.2;

/// The evidence a run must gather before its lack of violations is called a
/// pass; below it the verdict is inconclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minimums {
    /// Acknowledged operations every writer slot must reach.
    pub acked_per_writer: u64,
    /// Kills that must land inside an operation (only when the kill rate is
    /// above 0: a run with kill rate 0 tests concurrency alone, and says so).
    pub kills: u64,
}

impl Default for Minimums {
    fn default() -> Self {
        Minimums {
            acked_per_writer: DEFAULT_MIN_ACKED,
            kills: DEFAULT_MIN_KILLS,
        }
    }
}

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunLength {
    /// After this much time.
    Duration(Duration),
    /// Exactly this many operations, split evenly over the writers.
    Ops(u64),
}

/// Everything a run needs.
#[derive(Clone, PartialEq)]
pub struct RunConfig {
    /// What is tortured.
    pub workload: Workload,
    /// Number of writer processes.
    pub writers: usize,
    /// Number of reader processes.
    pub readers: usize,
    /// Probability that an operation is cut by SIGKILL.
    pub kill_rate: f64,
    /// Where inside an operation a kill lands.
    pub kill_at: KillAt,
    /// When the run ends.
    pub length: RunLength,
    /// Padding bytes in the state document.
    pub payload: usize,
    /// The run's seed.
    pub seed: u64,
    /// The directory to run in; `None` for a fresh temporary one.
    pub dir: Option<PathBuf>,
    /// Measure an in-process loop of updates first, for comparison.
    pub baseline: bool,
    /// Print a live progress line on stderr.
    pub progress: bool,
    /// Print the seed and the run directory on stderr once the run starts.
    pub announce: bool,
    /// The program to re-execute as children (normally the `torture` binary).
    pub program: PathBuf,
    /// An operation running longer than this is killed and counted as a timeout.
    pub op_timeout: Duration,
    /// No acknowledgement for this long while operations are attempted is a stall.
    pub stall_timeout: Duration,
    /// Where to keep the run directory, ledger, evidence and replay script of
    /// a failing run.
    pub artifacts: Option<PathBuf>,
    /// The evidence a pass needs.
    pub minimums: Minimums,
    /// `--until-covered K`: end the run once every fault point of the
    /// operation has had K kills land on it (with `--kill-at syscall`).
    pub until_covered: Option<u64>,
    /// `--power-loss FS`: the run happens on a recording disk of this file
    /// system, and crash states of its block log are checked after it.
    pub power_loss: Option<PowerLoss>,
}

/// The default of [`PowerLoss::crash_points`].
pub const DEFAULT_CRASH_POINTS: u64 = 100;

/// The default of [`PowerLoss::max_states`].
pub const DEFAULT_POWER_MAX_STATES: u64 = 4;

/// The default of [`PowerLoss::image_mib`]: sparse, so only what the file
/// system writes costs space; XFS refuses less than 300 MB.
pub const DEFAULT_IMAGE_MIB: u64 = 1024;

/// A run with a power cut: see [`RunConfig::power_loss`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerLoss {
    /// The file system: one of [`POWER_LOSS_FS`](super::POWER_LOSS_FS).
    pub fs: String,
    /// How many crash points of the log to check; `None`: every one.
    pub crash_points: Option<u64>,
    /// The most crash states checked at one crash point.
    pub max_states: u64,
    /// The recording disk's size in MiB.
    pub image_mib: u64,
}

/// `--crash-points`: a number, or every candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoints {
    /// Every position between two writes, and every acknowledgement.
    All,
    /// This many, seeded.
    Count(u64),
}

impl CrashPoints {
    /// Parses `all` or a count of at least 1.
    pub fn parse(s: &str) -> Result<CrashPoints, String> {
        if s == "all" {
            return Ok(CrashPoints::All);
        }
        let n: u64 = s
            .parse()
            .map_err(|_| format!("{s:?} is neither a number nor `all`"))?;
        check::at_least_one(n).map(CrashPoints::Count)
    }
}

impl std::fmt::Debug for RunConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunConfig")
            .field("workload", &self.workload.name())
            .field("writers", &self.writers)
            .field("readers", &self.readers)
            .field("kill_rate", &self.kill_rate)
            .field("kill_at", &self.kill_at)
            .field("length", &self.length)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl RunConfig {
    /// Checks every setting, naming them as command-line options; see
    /// [`RunConfig::validate_as`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_as(Naming::Flags)
    }

    /// Checks every setting, and the settings together, naming them as
    /// `naming` does. [`RunSettings::build`] calls it: a configuration
    /// built from settings is valid; one assembled by hand is checked again
    /// by the runner.
    pub fn validate_as(&self, naming: Naming) -> Result<(), ConfigError> {
        let err = |setting, reason: String| Err(ConfigError::new(setting, naming, reason));
        let at = |setting, r: Result<(), String>| check::named(r, setting, naming);
        at("writers", check::processes(self.writers, 1).map(drop))?;
        at("readers", check::processes(self.readers, 0).map(drop))?;
        at("kill_rate", check::kill_rate(self.kill_rate).map(drop))?;
        at("payload", check::payload(self.payload).map(drop))?;
        at("op_timeout", check::duration(self.op_timeout).map(drop))?;
        at(
            "stall_timeout",
            check::duration(self.stall_timeout).map(drop),
        )?;
        match self.length {
            RunLength::Duration(d) => at("duration", check::duration(d).map(drop))?,
            RunLength::Ops(n) => at("ops", check::at_least_one(n).map(drop))?,
        }
        if let Some(k) = self.until_covered {
            at("until_covered", check::at_least_one(k).map(drop))?;
            if self.kill_at != KillAt::Syscall {
                return err(
                    "until_covered",
                    "needs kill_at syscall (kills at fault points)"
                        .replace("kill_at", &super::check::Setting("kill_at").named(naming)),
                );
            }
            if self.kill_rate == 0.0 {
                return err(
                    "until_covered",
                    format!(
                        "needs {} above 0",
                        super::check::Setting("kill_rate").named(naming)
                    ),
                );
            }
        }
        for (setting, path) in [("dir", &self.dir), ("artifacts", &self.artifacts)] {
            if let Some(path) = path {
                crate::paths::check(&Setting(setting).named(naming), path)
                    .or_else(|why| err(setting, why))?;
            }
        }
        if let Some(p) = &self.power_loss {
            self.check_power_loss(p, naming)?;
        }
        if let Workload::Exec(spec) = &self.workload {
            if let Some(p) = spec.problem() {
                return err(p.field, p.reason);
            }
            if self.baseline {
                return err(
                    "baseline",
                    format!(
                        "needs a built-in strategy, not {}",
                        Setting("exec").named(naming)
                    ),
                );
            }
        }
        Ok(())
    }

    fn check_power_loss(&self, p: &PowerLoss, naming: Naming) -> Result<(), ConfigError> {
        let err = |setting, reason: String| Err(ConfigError::new(setting, naming, reason));
        let flag = Setting("power_loss").named(naming);
        check::named(check::power_fs(&p.fs), "power_loss", naming)?;
        if self.dir.is_some() {
            return err(
                "dir",
                format!("cannot be used with {flag}: the run happens on a disk torture makes"),
            );
        }
        if let Some(n) = p.crash_points {
            check::named(check::at_least_one(n), "crash_points", naming)?;
        }
        check::named(check::at_least_one(p.max_states), "max_states", naming)?;
        check::named(check::image_mib(&p.fs, p.image_mib), "image_mib", naming)
    }

    /// The command line that reruns this configuration with the same seed.
    /// It names what the run did, not where: `--dir`, `--artifacts`,
    /// `--baseline` and the output options are left out, and defaults are
    /// left out where the command line has one. Torture itself is named
    /// as [`crate::invocation::word`] says: `torture` when that runs this
    /// binary, else its absolute path.
    pub fn replay(&self) -> String {
        let mut line = Line::new(&[&crate::invocation::word(&self.program)]);
        line.workload(&self.workload);
        line.push("--writers", self.writers.to_string());
        line.push("--readers", self.readers.to_string());
        line.push("--kill-rate", self.kill_rate.to_string());
        if self.kill_at != self.workload.default_kill_at() {
            line.push("--kill-at", self.kill_at.name().into());
        }
        match self.length {
            RunLength::Duration(d) => line.push("--duration", crate::duration::format(d)),
            RunLength::Ops(n) => line.push("--ops", n.to_string()),
        }
        if matches!(self.workload, Workload::Builtin(_)) {
            line.push("--payload", self.payload.to_string());
        }
        if self.op_timeout != DEFAULT_OP_TIMEOUT {
            line.push("--op-timeout", crate::duration::format(self.op_timeout));
        }
        if self.stall_timeout != DEFAULT_STALL_TIMEOUT {
            line.push(
                "--stall-timeout",
                crate::duration::format(self.stall_timeout),
            );
        }
        if self.minimums.acked_per_writer != DEFAULT_MIN_ACKED {
            line.push("--min-acked", self.minimums.acked_per_writer.to_string());
        }
        if self.minimums.kills != DEFAULT_MIN_KILLS {
            line.push("--min-kills", self.minimums.kills.to_string());
        }
        if let Some(k) = self.until_covered {
            line.push("--until-covered", k.to_string());
        }
        if let Some(p) = &self.power_loss {
            line.push("--power-loss", p.fs.clone());
            match p.crash_points {
                Some(n) => line.push("--crash-points", n.to_string()),
                None => line.push("--crash-points", "all".into()),
            }
            if p.max_states != DEFAULT_POWER_MAX_STATES {
                line.push("--max-states", p.max_states.to_string());
            }
            if p.image_mib != DEFAULT_IMAGE_MIB {
                line.push("--image-mib", p.image_mib.to_string());
            }
        }
        line.push("--seed", self.seed.to_string());
        line.finish()
    }
}

/// What a source says about a run: every setting optional.
/// [`RunSettings::build`] fills in the defaults and validates once.
#[derive(Debug, Clone, Default)]
pub struct RunSettings {
    /// What is tortured [default: the `reference` strategy].
    pub workload: Option<Workload>,
    /// Writer processes [default: [`defaults::WRITERS`]].
    pub writers: Option<usize>,
    /// Reader processes [default: [`defaults::READERS`]].
    pub readers: Option<usize>,
    /// Kill probability [default: by workload, [`Workload::default_kill_rate`]].
    pub kill_rate: Option<f64>,
    /// Where kills land [default: by workload, [`Workload::default_kill_at`]].
    pub kill_at: Option<KillAt>,
    /// How long [default: [`defaults::DURATION`]]; not with `ops`.
    pub duration: Option<Duration>,
    /// How many operations, instead of a duration.
    pub ops: Option<u64>,
    /// Padding bytes [default: [`defaults::PAYLOAD`]].
    pub payload: Option<usize>,
    /// The seed [default: a fresh one].
    pub seed: Option<u64>,
    /// [default: [`DEFAULT_OP_TIMEOUT`]].
    pub op_timeout: Option<Duration>,
    /// [default: [`DEFAULT_STALL_TIMEOUT`]].
    pub stall_timeout: Option<Duration>,
    /// [default: [`DEFAULT_MIN_ACKED`]].
    pub min_acked: Option<u64>,
    /// [default: [`DEFAULT_MIN_KILLS`]].
    pub min_kills: Option<u64>,
    /// Kills wanted at every fault point.
    pub until_covered: Option<u64>,
    /// The run directory [default: a fresh temporary one].
    pub dir: Option<PathBuf>,
    /// Where to keep the evidence of a failing run.
    pub artifacts: Option<PathBuf>,
    /// `--power-loss FS`: run on a recording disk of this file system.
    pub power_loss: Option<String>,
    /// Crash points to check [default: [`DEFAULT_CRASH_POINTS`]].
    pub crash_points: Option<CrashPoints>,
    /// Crash states per crash point [default: [`DEFAULT_POWER_MAX_STATES`]].
    pub max_states: Option<u64>,
    /// The recording disk's size [default: [`DEFAULT_IMAGE_MIB`]].
    pub image_mib: Option<u64>,
    /// Time an in-process loop first.
    pub baseline: bool,
    /// A live progress line on stderr.
    pub progress: bool,
    /// The seed and directory on stderr once the run starts.
    pub announce: bool,
}

impl RunSettings {
    /// The run configuration: defaults filled in, every setting checked,
    /// errors naming the setting as `naming` does. `program` is the binary
    /// re-executed as the children.
    pub fn build(self, program: PathBuf, naming: Naming) -> Result<RunConfig, ConfigError> {
        let workload = self
            .workload
            .unwrap_or(Workload::Builtin(crate::strategy::reference()));
        let length = match (self.ops, self.duration) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "ops",
                    naming,
                    format!("give it or {}, not both", Setting("duration").named(naming)),
                ));
            }
            (Some(n), None) => RunLength::Ops(n),
            (None, d) => RunLength::Duration(d.unwrap_or(defaults::DURATION)),
        };
        let power_loss = match self.power_loss {
            Some(fs) => Some(PowerLoss {
                fs,
                crash_points: match self
                    .crash_points
                    .unwrap_or(CrashPoints::Count(DEFAULT_CRASH_POINTS))
                {
                    CrashPoints::All => None,
                    CrashPoints::Count(n) => Some(n),
                },
                max_states: self.max_states.unwrap_or(DEFAULT_POWER_MAX_STATES),
                image_mib: self.image_mib.unwrap_or(DEFAULT_IMAGE_MIB),
            }),
            None => {
                let stray = [
                    ("crash_points", self.crash_points.is_some()),
                    ("max_states", self.max_states.is_some()),
                    ("image_mib", self.image_mib.is_some()),
                ];
                if let Some((setting, _)) = stray.iter().find(|s| s.1) {
                    return Err(ConfigError::new(
                        setting,
                        naming,
                        format!("needs {}", Setting("power_loss").named(naming)),
                    ));
                }
                None
            }
        };
        let config = RunConfig {
            power_loss,
            writers: self.writers.unwrap_or(defaults::WRITERS),
            readers: self.readers.unwrap_or(defaults::READERS),
            kill_rate: self
                .kill_rate
                .unwrap_or_else(|| workload.default_kill_rate()),
            kill_at: self.kill_at.unwrap_or_else(|| workload.default_kill_at()),
            workload,
            length,
            payload: self.payload.unwrap_or(defaults::PAYLOAD),
            seed: self.seed.unwrap_or_else(crate::seed::fresh),
            dir: self.dir,
            baseline: self.baseline,
            progress: self.progress,
            announce: self.announce,
            program,
            op_timeout: self.op_timeout.unwrap_or(DEFAULT_OP_TIMEOUT),
            stall_timeout: self.stall_timeout.unwrap_or(DEFAULT_STALL_TIMEOUT),
            artifacts: self.artifacts,
            minimums: Minimums {
                acked_per_writer: self.min_acked.unwrap_or(DEFAULT_MIN_ACKED),
                kills: self.min_kills.unwrap_or(DEFAULT_MIN_KILLS),
            },
            until_covered: self.until_covered,
        };
        config.validate_as(naming)?;
        Ok(config)
    }
}
