//! The runner: a supervisor process, writer and reader children, a kill
//! schedule, and the verifier.
//!
//! [`run`] prepares the run directory, creates the initial state through the
//! strategy, starts `writers` writer and `readers` reader processes, SIGKILLs
//! operations as the [`KillSchedule`] says, respawns killed writers at once,
//! checks the state after every death and at the end, and returns a
//! [`crate::report::Report`].

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::owned::{self, ScratchDir};
use crate::process::Watchdog;
use crate::strategy::Strategy;

pub mod artifacts;
pub mod child;
pub mod coverage;
pub mod exec;
pub mod protocol;
pub mod schedule;
mod supervisor;
pub mod traced;

pub use schedule::{KillAt, KillPoint, KillSchedule, SeededSchedule};

/// The name of the state file inside the run directory.
pub const STATE_FILE: &str = "state";

/// The manifest that says a directory was created by `torture`, and what
/// its run made in it (see [`crate::owned::manifest`]).
pub const MARKER_FILE: &str = owned::MANIFEST_FILE;

/// The file `--baseline` updates in the run directory.
pub const BASELINE_FILE: &str = "baseline-state";

/// How long children get to finish their operation after being asked to stop.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

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

/// The largest `--payload` accepted: a document this size is already far
/// beyond what a state file of this kind holds.
pub const MAX_PAYLOAD: usize = 256 << 20;

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

/// What is tortured: a built-in strategy or an outside program.
#[derive(Clone)]
pub enum Workload {
    /// A strategy of the zoo, driven by `torture`'s own writer processes.
    Builtin(&'static dyn Strategy),
    /// An outside program, driven through `--exec`, `--check`, `--init`.
    Exec(exec::ExecSpec),
}

impl Workload {
    /// Where kills land when nothing says: at a fault point for an outside
    /// program (`harness/coverage-rates.sh` measured timed kills missing a
    /// slow program's narrow window where kills at fault points, spread over
    /// them, do not), after a delay for a built-in strategy (no tracer, so
    /// the harness runs at full speed).
    pub fn default_kill_at(&self) -> KillAt {
        match self {
            Workload::Builtin(_) => KillAt::Delay,
            Workload::Exec(_) => KillAt::Syscall,
        }
    }

    /// The kill probability per operation when nothing says: 0.05 for a
    /// built-in strategy (thousands of operations a second), 0.2 for an
    /// outside program, whose operations are slow (a process start or an
    /// interpreter each), so that a run of the default length lands the
    /// kills `--min-kills` asks for and a short one still cuts the narrow
    /// windows (a lock file held across an update) more than once.
    pub fn default_kill_rate(&self) -> f64 {
        match self {
            Workload::Builtin(_) => BUILTIN_KILL_RATE,
            Workload::Exec(_) => EXEC_KILL_RATE,
        }
    }

    /// The strategy's name, or `exec` for an outside program.
    pub fn name(&self) -> &str {
        match self {
            Workload::Builtin(s) => s.name(),
            Workload::Exec(_) => "exec",
        }
    }
}

/// Everything a run needs.
#[derive(Clone)]
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

/// Why a run could not be carried out (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is invalid; nothing was touched.
    #[error("{0}")]
    BadConfig(String),
    /// The harness itself failed.
    #[error("{0}")]
    Harness(String),
}

impl RunConfig {
    /// Checks the values that the command line cannot check alone.
    pub fn validate(&self) -> Result<(), RunError> {
        let bad = |m: String| Err(RunError::BadConfig(m));
        let most = crate::scenario::defaults::MAX_CHILDREN;
        if self.writers == 0 {
            return bad("--writers must be at least 1".into());
        }
        if self.writers > most || self.readers > most {
            return bad(format!(
                "--writers {} and --readers {}: at most {most} processes each",
                self.writers, self.readers
            ));
        }
        if !(0.0..=1.0).contains(&self.kill_rate) || self.kill_rate.is_nan() {
            return bad(format!("--kill-rate {} is outside [0, 1]", self.kill_rate));
        }
        check_payload(self.payload)?;
        if self.until_covered.is_some() && self.kill_at != KillAt::Syscall {
            return bad("--until-covered needs --kill-at syscall (kills at fault points)".into());
        }
        if self.until_covered.is_some() && self.kill_rate == 0.0 {
            return bad("--until-covered needs a --kill-rate above 0".into());
        }
        crate::paths::check_each(&[
            ("--dir", self.dir.as_deref()),
            ("--artifacts", self.artifacts.as_deref()),
        ])
        .map_err(RunError::BadConfig)?;
        if self.op_timeout.is_zero() || self.stall_timeout.is_zero() {
            return bad("--op-timeout and --stall-timeout must be more than 0".into());
        }
        for (flag, d) in [
            ("--op-timeout", self.op_timeout),
            ("--stall-timeout", self.stall_timeout),
        ] {
            check_duration(flag, d)?;
        }
        if let Workload::Exec(spec) = &self.workload {
            check_spec(spec)?;
        }
        match self.length {
            RunLength::Duration(d) if d.is_zero() => bad("--duration must be more than 0".into()),
            RunLength::Duration(d) => check_duration("--duration", d),
            RunLength::Ops(0) => bad("--ops must be at least 1".into()),
            _ => Ok(()),
        }
    }
}

/// Refuses a duration above [`crate::duration::MAX`], naming its option.
pub(crate) fn check_duration(flag: &str, d: Duration) -> Result<(), RunError> {
    if d > crate::duration::MAX {
        return Err(RunError::BadConfig(format!(
            "{flag} {} is more than 30 days, the longest duration taken",
            crate::duration::format(d)
        )));
    }
    Ok(())
}

/// Refuses a payload above [`MAX_PAYLOAD`], naming its option.
pub(crate) fn check_payload(payload: usize) -> Result<(), RunError> {
    if payload > MAX_PAYLOAD {
        return Err(RunError::BadConfig(format!(
            "--payload {payload} is more than the limit of {MAX_PAYLOAD} bytes (256 MiB)"
        )));
    }
    Ok(())
}

/// Refuses an outside program that cannot run, naming its option.
pub(crate) fn check_spec(spec: &exec::ExecSpec) -> Result<(), RunError> {
    match spec.problem() {
        Some(p) => Err(RunError::BadConfig(format!("--{} {}", p.field, p.reason))),
        None => Ok(()),
    }
}

/// A run directory, and whether we must remove it afterwards.
pub(crate) struct RunDir {
    pub path: PathBuf,
    pub temp: Option<ScratchDir>,
}

impl RunDir {
    /// Writes the directory's complete manifest: what the run made in it,
    /// by `workload`'s rule (see [`made_by`]). A failure leaves the
    /// directory refused for reuse, so it is only a warning.
    pub(crate) fn seal(&self, workload: &Workload) {
        if let Err(e) = owned::seal(&self.path, &made_by(workload)) {
            eprintln!(
                "torture: cannot list what the run made in {} ({e}): it will not be reused",
                self.path.display()
            );
        }
    }
}

/// Which entries of a finished run's directory the run made: a built-in
/// strategy's own file names (see [`is_own_file`]); for an outside program,
/// everything (the directory held nothing when the run began).
pub(crate) fn made_by(workload: &Workload) -> impl Fn(&owned::tree::Found) -> bool + use<> {
    let builtin = matches!(workload, Workload::Builtin(_));
    move |f| {
        !builtin
            || (f.kind == owned::EntryType::File && !f.path.contains('/') && is_own_file(&f.path))
    }
}

/// Makes the run directory: a fresh temporary one (registered with
/// `watchdog`), or `dir` if it does not exist, is empty, or is a finished
/// run's directory holding only what that run made (which is removed; see
/// [`crate::owned`]). Refuses anything else without touching it.
pub(crate) fn prepare_dir(
    dir: Option<&Path>,
    watchdog: Option<&Arc<Watchdog>>,
) -> Result<RunDir, RunError> {
    let Some(dir) = dir else {
        let temp = ScratchDir::in_tmp(owned::Kind::Run, watchdog.map(|w| w.clone() as _))
            .map_err(RunError::Harness)?;
        return Ok(RunDir {
            path: temp.path().to_path_buf(),
            temp: Some(temp),
        });
    };
    if dir.as_os_str().is_empty() {
        return Err(RunError::BadConfig(
            "--dir is empty: give a directory".into(),
        ));
    }
    crate::paths::check("--dir", dir).map_err(RunError::BadConfig)?;
    let refused = |why: owned::Refusal| {
        RunError::BadConfig(format!(
            "--dir {} {why}: give an empty or new directory of your own",
            dir.display()
        ))
    };
    let mut created = Vec::new();
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            created = create_dirs(dir).map_err(|e| {
                RunError::BadConfig(format!("--dir {}: cannot create: {e}", dir.display()))
            })?;
        }
        Err(e) => return Err(RunError::BadConfig(format!("--dir {}: {e}", dir.display()))),
        Ok(_) => owned::clear_for_reuse(dir).map_err(refused)?,
    }
    let marked = owned::Manifest::fresh(owned::Kind::Run)
        .write(dir)
        .map_err(|e| RunError::Harness(format!("--dir {}: {e}", dir.display())))
        .and_then(|()| {
            dir.canonicalize()
                .map_err(|e| RunError::Harness(format!("--dir {}: {e}", dir.display())))
        });
    match marked {
        Ok(path) => Ok(RunDir { path, temp: None }),
        Err(e) => {
            // What we made for nothing goes: a failed run leaves no empty
            // directory behind (a full file system, say).
            if !created.is_empty() {
                let _ = fs::remove_file(dir.join(MARKER_FILE));
            }
            remove_dirs(&created);
            Err(e)
        }
    }
}

/// Creates `dir` and its missing parents; returns those it created, the
/// deepest last. On an error, removes them again.
fn create_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .take_while(|a| fs::symlink_metadata(a).is_err())
        .collect();
    let mut created = Vec::new();
    for d in missing.into_iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => created.push(d.to_path_buf()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => {
                remove_dirs(&created);
                return Err(e);
            }
        }
    }
    Ok(created)
}

/// Removes directories made by [`create_dirs`], deepest first, each only if
/// it is empty.
fn remove_dirs(created: &[PathBuf]) {
    for d in created.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

/// Whether `name` is a file a built-in strategy's run creates in its
/// directory: the manifest; the state, its lock, SQLite's `-wal`, `-shm`
/// and `-journal`, compare-and-swap versions `state.vN`, the atomic write's
/// `.state.tmp-XXXXXXXXXXXX`; the same of the `--baseline` file. Exactly
/// these: a user's `state.bak` or `baseline-results.csv` is not one.
pub fn is_own_file(name: &str) -> bool {
    name == MARKER_FILE
        || [STATE_FILE, BASELINE_FILE]
            .iter()
            .any(|b| is_file_of(b, name))
}

/// Whether `name` is one of the files a strategy makes for the state file
/// `base` (see [`is_own_file`]).
pub fn is_file_of(base: &str, name: &str) -> bool {
    let temp = name
        .strip_prefix('.')
        .and_then(|n| n.strip_prefix(base))
        .and_then(|n| n.strip_prefix(crashsafe::atomic::TEMP_INFIX))
        .is_some_and(|suffix| {
            suffix.len() == 12 && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    let Some(rest) = name.strip_prefix(base) else {
        return temp;
    };
    let version = rest
        .strip_prefix(".v")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    temp || version || matches!(rest, "" | ".lock" | "-wal" | "-shm" | "-journal")
}

/// Runs the torture described by `config` and returns its report.
pub fn run(config: &RunConfig) -> Result<crate::report::Report, RunError> {
    prepare(config)?.execute()
}

/// Validates `config` and makes its run directory; nothing else is touched
/// when this fails.
pub fn prepare(config: &RunConfig) -> Result<PreparedRun<'_>, RunError> {
    config.validate()?;
    if let Some(a) = &config.artifacts {
        artifacts::check_target(a)?;
    }
    let watchdog = Watchdog::start(&config.program)
        .map_err(|e| RunError::Harness(format!("cannot start the watchdog: {e}")))?;
    let watchdog = Arc::new(watchdog);
    let dir = prepare_dir(config.dir.as_deref(), Some(&watchdog))?;
    Ok(PreparedRun {
        config,
        dir,
        watchdog,
    })
}

/// A run whose configuration is valid and whose directory is ready.
pub struct PreparedRun<'a> {
    config: &'a RunConfig,
    dir: RunDir,
    /// Removes the temporary directories and kills what is left if
    /// `torture` dies; stopped when the run is over.
    watchdog: Arc<Watchdog>,
}

impl PreparedRun<'_> {
    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir.path
    }

    /// Runs the torture and returns its report.
    pub fn execute(self) -> Result<crate::report::Report, RunError> {
        let PreparedRun {
            config,
            dir,
            watchdog,
        } = self;
        let schedule = Box::new(SeededSchedule::new(config.seed, config.kill_rate));
        let result = supervisor::run(config, &dir.path, schedule, Arc::clone(&watchdog));
        let failed = result
            .as_ref()
            .is_ok_and(|r| r.verdict == crate::vocab::Verdict::Fail);
        // A temporary directory is evidence when the run failed: keep it
        // then, with its manifest complete, for `torture clean`.
        if dir.temp.is_none() || failed {
            dir.seal(&config.workload);
        }
        let mut report = result?;
        if let Some(temp) = dir.temp {
            if failed {
                temp.keep();
                report.dir_kept = true;
            } else {
                drop(temp);
                report.dir_removed = true;
            }
        }
        Ok(report)
    }
}
