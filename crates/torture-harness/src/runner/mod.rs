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

use crate::config::{RunConfig, STATE_FILE, Workload};
use crate::owned::{self, ScratchDir};
use crate::process::Watchdog;

pub mod artifacts;
pub mod child;
pub mod coverage;
pub mod exec;
pub(crate) mod power;
pub mod protocol;
pub mod schedule;
mod supervisor;
pub mod traced;

pub use schedule::{KillPoint, KillSchedule, SeededSchedule};
pub(crate) use supervisor::Positions;

/// The manifest that says a directory was created by `torture`, and what
/// its run made in it (see [`crate::owned::manifest`]).
pub const MARKER_FILE: &str = owned::MANIFEST_FILE;

/// The file `--baseline` updates in the run directory.
pub const BASELINE_FILE: &str = "baseline-state";

/// How long children get to finish their operation after being asked to stop.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

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
) -> Result<RunDir, crate::Error> {
    let Some(dir) = dir else {
        let temp = ScratchDir::in_tmp(owned::Kind::Run, watchdog.map(|w| w.clone() as _))
            .map_err(crate::Error::Harness)?;
        return Ok(RunDir {
            path: temp.path().to_path_buf(),
            temp: Some(temp),
        });
    };
    if dir.as_os_str().is_empty() {
        return Err(crate::Error::BadInput(
            "--dir is empty: give a directory".into(),
        ));
    }
    crate::paths::check("--dir", dir).map_err(crate::Error::BadInput)?;
    let refused = |why: owned::Refusal| {
        crate::Error::BadInput(format!(
            "--dir {} {why}: give an empty or new directory of your own",
            dir.display()
        ))
    };
    let mut created = Vec::new();
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            created = create_dirs(dir).map_err(|e| {
                crate::Error::BadInput(format!("--dir {}: cannot create: {e}", dir.display()))
            })?;
        }
        Err(e) => {
            return Err(crate::Error::BadInput(format!(
                "--dir {}: {e}",
                dir.display()
            )));
        }
        Ok(_) => owned::clear_for_reuse(dir).map_err(refused)?,
    }
    let marked = owned::Manifest::fresh(owned::Kind::Run)
        .write(dir)
        .map_err(|e| crate::Error::Harness(format!("--dir {}: {e}", dir.display())))
        .and_then(|()| {
            dir.canonicalize()
                .map_err(|e| crate::Error::Harness(format!("--dir {}: {e}", dir.display())))
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
pub fn run(config: &RunConfig) -> Result<crate::report::Report, crate::Error> {
    prepare(config)?.execute()
}

/// Validates `config` and makes its run directory; nothing else is touched
/// when this fails.
pub fn prepare(config: &RunConfig) -> Result<PreparedRun<'_>, crate::Error> {
    config.validate()?;
    if let Some(a) = &config.artifacts {
        artifacts::check_target(a)?;
    }
    if let Some(p) = &config.power_loss {
        power::preflight(p)?;
    }
    let watchdog = Watchdog::start(&config.program)
        .map_err(|e| crate::Error::Harness(format!("cannot start the watchdog: {e}")))?;
    let watchdog = Arc::new(watchdog);
    let (dir, disk) = match &config.power_loss {
        Some(p) => {
            let disk = power::create_disk(p, &watchdog)?;
            (power::run_dir(&disk, &watchdog)?, Some(disk))
        }
        None => (prepare_dir(config.dir.as_deref(), Some(&watchdog))?, None),
    };
    Ok(PreparedRun {
        config,
        dir,
        watchdog,
        disk,
    })
}

/// A run whose configuration is valid and whose directory is ready.
pub struct PreparedRun<'a> {
    config: &'a RunConfig,
    dir: RunDir,
    /// Removes the temporary directories and kills what is left if
    /// `torture` dies; stopped when the run is over.
    watchdog: Arc<Watchdog>,
    /// `--power-loss`: the recording disk the run directory is on. Dropped
    /// after the run directory (a field declared later drops later).
    disk: Option<crate::disk::RecordingDisk>,
}

impl PreparedRun<'_> {
    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir.path
    }

    /// Runs the torture and returns its report.
    pub fn execute(self) -> Result<crate::report::Report, crate::Error> {
        let PreparedRun {
            config,
            dir,
            watchdog,
            disk,
        } = self;
        let schedule = Box::new(SeededSchedule::new(config.seed, config.kill_rate));
        let probe = disk.as_ref().map(|d| supervisor::DiskProbe {
            clock: d.clock(),
            position_file: d.position_file(),
        });
        let result = supervisor::run(config, &dir.path, schedule, Arc::clone(&watchdog), probe);
        if let (Some(disk), Some(power)) = (disk, &config.power_loss) {
            // On the disk, the run directory goes with it, pass or fail.
            let (report, positions) = match result {
                Ok(r) => r,
                Err(e) => {
                    drop(dir);
                    drop(disk);
                    return Err(e);
                }
            };
            let positions = positions.unwrap_or_default();
            return power::finish(config, power, dir, disk, report, positions, &watchdog);
        }
        let result = result.map(|(report, _)| report);
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
