//! `torture fscompare`: the zoo on several file systems, side by side.
//!
//! For each file system (a loop image made with its mkfs and mounted, a
//! tmpfs, or a directory already mounted), each strategy runs as an ordinary
//! torture run with the same parameters and seed; the fsync cost of the file
//! system is measured on its own. The result is a [`FsCompareReport`],
//! which the exporters write like every other command's (`report.json` and
//! `report.md` in `--out`, `--json`, `--junit`, the step summary), beside
//! its own renderings, a self-contained `report.html` and the charts as
//! `.svg`. The output directory is checked and made before anything is
//! mounted: new, empty, or one `torture` made (see
//! [`crate::output::OutputDir::reusable`]), never someone else's reports.
//! Mounts and images are removed on every way out, and by the watchdog if
//! `torture` itself is killed.
//!
//! Everything is made in directories of torture's own: images and mount
//! points in a `torture-fscompare-*` directory under `--scratch`, and on
//! each file system (a `--dir` one included) the fsync probe and the run
//! directories in another, fresh one. A file of the user's is never
//! touched, whatever its name.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod chart;
pub mod mount;
pub mod report;

pub use mount::FsSpec;
pub use report::FsCompareReport;

use crate::owned::{Kind, ScratchDir};
use crate::process::Watchdog;

use crate::config::{KillAt, Naming, RunSettings, Workload};
use crate::strategy::Strategy;

/// The default image size: room for every run, and above XFS's minimum.
pub const DEFAULT_IMAGE_SIZE: u64 = 1 << 30;

/// Everything a comparison needs.
#[derive(Clone)]
pub struct CompareConfig {
    /// The file systems, in report order.
    pub filesystems: Vec<FsSpec>,
    /// The strategies, in report order.
    pub strategies: Vec<&'static dyn Strategy>,
    /// Each run's length.
    pub duration: Duration,
    /// Each run's exact operation count, instead of `duration`.
    pub ops: Option<u64>,
    /// Where kills land.
    pub kill_at: KillAt,
    /// Writers per run.
    pub writers: usize,
    /// Readers per run.
    pub readers: usize,
    /// Kill probability per operation.
    pub kill_rate: f64,
    /// The evidence each run's pass needs.
    pub minimums: crate::config::Minimums,
    /// The seed of every run.
    pub seed: u64,
    /// Where images and mount points are made.
    pub scratch: PathBuf,
    /// The size of each image (and of the tmpfs).
    pub image_size: u64,
    /// The output directory.
    pub out: PathBuf,
    /// The `torture` binary, for the runs' children.
    pub program: PathBuf,
    /// The command line, for the report.
    pub command: String,
    /// Print a line per run on stderr.
    pub progress: bool,
}

/// Runs the comparison and returns its report; the caller writes it (into
/// `cfg.out`, made here before anything is mounted, and wherever else it
/// was asked for).
///
/// Nothing is made before the input is checked: the file systems can be
/// made, and the scratch directory exists with room for every image. A
/// file system that turns read-only or fails a write during a run ends the
/// comparison without a verdict: the report says why in
/// [`FsCompareReport::broken`] and marks that run as `error`, since its
/// verdicts would be the broken disk's, not the strategies'.
pub fn compare(cfg: &CompareConfig) -> Result<FsCompareReport, crate::Error> {
    // Checked before anything is made: bad input, exit 2.
    let err = |m: String| crate::Error::BadInput(m);
    crate::paths::check_each(&[
        ("--scratch", Some(cfg.scratch.as_path())),
        ("--out", Some(cfg.out.as_path())),
    ])
    .map_err(err)?;
    let out = out_dir(&cfg.out);
    out.check().map_err(|e| err(e.to_string()))?;
    check_scratch(cfg).map_err(err)?;
    mount::preflight(&cfg.filesystems).map_err(err)?;
    out.create().map_err(crate::Error::harness)?;
    let watchdog = Watchdog::start(&cfg.program)
        .map_err(|e| err(format!("cannot start the watchdog: {e}")))?;
    let watchdog = Arc::new(watchdog);
    let scratch = ScratchDir::create(Kind::Fscompare, &cfg.scratch, Some(watchdog.clone()))
        .map_err(|e| err(format!("--scratch {}: {e}", cfg.scratch.display())))?;
    if cfg.progress {
        eprintln!("torture: seed {}", cfg.seed);
    }
    let started = Instant::now();
    let mut report = FsCompareReport::new(cfg, scratch.path());
    let result = run_all(cfg, scratch.path(), &watchdog, &mut report);
    report.seconds = started.elapsed().as_secs_f64();
    drop(scratch);
    watchdog.stop();
    report.broken = result?;
    Ok(report)
}

/// `--out`: new, empty, or a directory `torture` made, which it may write
/// its reports into again.
pub fn out_dir(out: &Path) -> crate::output::OutputDir {
    crate::output::OutputDir::reusable("--out", out)
}

/// Refuses a scratch directory that is missing, or too small for the
/// images: a loop image is sparse, but a run may fill it, and an image whose
/// backing file system is full makes its file system fail mid-run.
fn check_scratch(cfg: &CompareConfig) -> Result<(), String> {
    let scratch = &cfg.scratch;
    match std::fs::metadata(scratch) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(format!(
                "--scratch {} is not a directory",
                scratch.display()
            ));
        }
        Err(e) => return Err(format!("--scratch {}: {e}", scratch.display())),
    }
    let images = cfg
        .filesystems
        .iter()
        .filter(|s| s.mkfs().is_some())
        .count() as u64;
    if images == 0 {
        return Ok(());
    }
    let free = crate::platform::fs_state(scratch)
        .map_err(|e| format!("--scratch {}: {e}", scratch.display()))?
        .available;
    let need = cfg.image_size.saturating_mul(images);
    if free < need {
        return Err(format!(
            "--scratch {} has {} MiB free, but {images} image(s) of {} MiB (--image-mib) need {} MiB: free some space, lower --image-mib or give another --scratch",
            scratch.display(),
            free >> 20,
            cfg.image_size >> 20,
            need >> 20
        ));
    }
    Ok(())
}

/// Why the file system at `root` cannot be trusted any more, if it cannot:
/// it turned read-only (ext4 with `errors=remount-ro` after its journal
/// aborted), or a small write and fsync fails (XFS shut down).
pub fn broken(root: &Path) -> Option<String> {
    match crate::platform::fs_state(root) {
        Ok(st) if st.read_only => return Some("turned read-only".into()),
        Ok(_) => {}
        Err(e) => return Some(format!("cannot be examined ({e})")),
    }
    let probe = root.join("health-probe");
    let written = std::fs::File::create(&probe).and_then(|mut f| {
        use std::io::Write;
        f.write_all(b"probe")?;
        f.sync_all()
    });
    let removed = std::fs::remove_file(&probe);
    match written.and(removed) {
        Ok(()) => None,
        Err(e) => Some(format!("fails a write and fsync ({e})")),
    }
}

/// Runs every strategy on every file system; `Some(why)` when a file
/// system broke during a run (the run is in the report as an error).
fn run_all(
    cfg: &CompareConfig,
    scratch: &Path,
    watchdog: &Arc<Watchdog>,
    report: &mut FsCompareReport,
) -> Result<Option<String>, crate::Error> {
    for spec in &cfg.filesystems {
        if crate::platform::stop_requested() {
            report.interrupted = true;
            return Ok(None);
        }
        let mounted =
            mount::mount(spec, scratch, cfg.image_size, watchdog).map_err(crate::Error::Harness)?;
        // Dropped before `mounted`: the work happens in a directory of our own.
        let work = ScratchDir::create(Kind::Fscompare, &mounted.root, Some(watchdog.clone()))
            .map_err(|e| crate::Error::Harness(format!("{}: {e}", spec.name)))?;
        let fsync = fsync_cost(work.path()).map_err(|e| {
            crate::Error::Harness(format!("{}: cannot measure fsync: {e}", spec.name))
        })?;
        report.add_filesystem(spec, &mounted.backing, fsync);
        for strategy in &cfg.strategies {
            if crate::platform::stop_requested() {
                report.interrupted = true;
                return Ok(None);
            }
            let mut run = run_one(cfg, work.path(), *strategy)?;
            if let Some(why) = broken(&mounted.root) {
                let why = format!("{} {why} during the run of {}", spec.name, strategy.name());
                run.verdict = crate::vocab::Verdict::Error;
                run.harness_error = Some(why.clone());
                report.add_run(&spec.name, *strategy, &run);
                return Ok(Some(why));
            }
            if cfg.progress {
                eprintln!(
                    "torture: {} on {}: {:?}, {:.0} ops/s",
                    strategy.name(),
                    spec.name,
                    run.verdict,
                    run.throughput_ops_per_s
                );
            }
            if run.stopped == crate::report::StopReason::Interrupted {
                report.interrupted = true;
                return Ok(None);
            }
            report.add_run(&spec.name, *strategy, &run);
        }
    }
    Ok(None)
}

/// One torture run of `strategy` in the directory `work/run-STRATEGY`
/// (`work` is a fresh directory of torture's own).
fn run_one(
    cfg: &CompareConfig,
    work: &Path,
    strategy: &'static dyn Strategy,
) -> Result<crate::report::Report, crate::Error> {
    let dir = work.join(format!("run-{}", strategy.name()));
    let config = RunSettings {
        workload: Some(Workload::Builtin(strategy)),
        writers: Some(cfg.writers),
        readers: Some(cfg.readers),
        kill_rate: Some(cfg.kill_rate),
        kill_at: Some(cfg.kill_at),
        duration: cfg.ops.is_none().then_some(cfg.duration),
        ops: cfg.ops,
        seed: Some(cfg.seed),
        min_acked: Some(cfg.minimums.acked_per_writer),
        min_kills: Some(cfg.minimums.kills),
        dir: Some(dir),
        ..RunSettings::default()
    }
    .build(cfg.program.clone(), Naming::Flags)
    .map_err(|e| {
        crate::Error::from(e).context(format!("{} in {}", strategy.name(), work.display()))
    })?;
    crate::runner::run(&config)
        .map_err(|e| e.context(format!("{} in {}", strategy.name(), work.display())))
}

/// How many 4 KiB write + fsync rounds measure a file system's fsync cost.
const FSYNC_ROUNDS: usize = 100;

/// The median time of overwriting 4 KiB and fsyncing it, on `dir`'s file
/// system: what one durable write costs there, before any discipline. The
/// probe file `fsync-probe` is created exclusively: an existing file of
/// that name is an error, never overwritten.
pub fn fsync_cost(dir: &Path) -> std::io::Result<Duration> {
    use std::io::{Seek, SeekFrom, Write};
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create_new(&path)?;
    let block = [0x5au8; 4096];
    let mut times = Vec::with_capacity(FSYNC_ROUNDS);
    for _ in 0..FSYNC_ROUNDS {
        let start = Instant::now();
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&block)?;
        file.sync_all()?;
        times.push(start.elapsed());
    }
    drop(file);
    std::fs::remove_file(&path)?;
    times.sort();
    Ok(times[times.len() / 2])
}

/// The machine, as the report states it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Machine {
    /// `uname -r`.
    pub kernel: String,
    /// Online CPUs.
    pub cpus: usize,
    /// Total memory in bytes.
    pub memory_bytes: u64,
    /// The file system the images are made on: device and type.
    pub scratch_device: String,
}

impl Machine {
    /// Reads the machine's description; `scratch` is where images go.
    pub fn read(scratch: &Path) -> Self {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let memory_bytes = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map_or(0, |kb| kb * 1024);
        Machine {
            kernel,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes,
            scratch_device: backing_device(scratch),
        }
    }
}

/// The device and type of the file system holding `path`, from
/// `/proc/self/mountinfo` (the longest mount point that contains it).
fn backing_device(path: &Path) -> String {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return String::new();
    };
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut best: Option<(usize, String)> = None;
    for line in info.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(mnt), Some(fstype), Some(source)) =
            (fields.get(4), fields.get(sep + 1), fields.get(sep + 2))
        else {
            continue;
        };
        if path.starts_with(mnt) && best.as_ref().is_none_or(|b| mnt.len() >= b.0) {
            best = Some((mnt.len(), format!("{source} ({fstype}, mounted on {mnt})")));
        }
    }
    best.map(|b| b.1).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_healthy_directory_is_not_broken_and_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(broken(dir.path()), None);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_read_only_file_system_is_broken() {
        let Some(ro) = crashsafe::testutil::ReadOnlyDir::new() else {
            eprintln!("skipped: cannot make a read-only directory here");
            return;
        };
        let why = broken(ro.path()).expect("a read-only directory is no place to run");
        assert!(why.contains("read-only") || why.contains("write"), "{why}");
    }
}
