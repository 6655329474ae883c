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
//! While it runs, `cfg.progress` draws a bar of the runs done of all, and
//! `cfg.announce` prints a line per run on stderr: the run against its
//! strategy's expected verdict (`naive on shm: expected torn: met`, never a
//! bare `Fail` for a failure that was expected), coloured by `cfg.paint`.
//!
//! With `--power-loss`, each strategy on each file system with a block
//! device runs a second time on a recording disk of that file system (the
//! runner's `--power-loss`, in `$TMPDIR`), and its crash states are judged
//! (see [`power`]): the report gets a power-loss cell beside each run.
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
pub mod power;
pub mod report;

pub use mount::FsSpec;
pub use power::PowerParams;
pub use report::FsCompareReport;

use crate::owned::{Kind, ScratchDir};
use crate::process::Watchdog;

use crate::config::{CrashPoints, KillAt, Naming, RunSettings, Workload};
use crate::report::Report;
use crate::strategy::Strategy;
use crate::term::{Bar, Paint, Style};
use crate::vocab::against;
use power::{PowerCell, Predictions};

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
    /// Draw a progress bar of the runs on stderr (the binary sets it from
    /// [`crate::term::progress`]).
    pub progress: bool,
    /// Print the seed and a line per run on stderr (off under `-q`).
    pub announce: bool,
    /// The colour of those lines' verdicts.
    pub paint: Paint,
    /// `--power-loss`: each run again on a recording disk.
    pub power: Option<PowerParams>,
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
    check_power_settings(cfg)?;
    out.check().map_err(|e| err(e.to_string()))?;
    check_scratch(cfg).map_err(err)?;
    mount::preflight(&cfg.filesystems).map_err(err)?;
    preflight_power(cfg).map_err(err)?;
    out.create().map_err(crate::Error::harness)?;
    let watchdog = Watchdog::start(&cfg.program)
        .map_err(|e| err(format!("cannot start the watchdog: {e}")))?;
    let watchdog = Arc::new(watchdog);
    let scratch = ScratchDir::create(Kind::Fscompare, &cfg.scratch, Some(watchdog.clone()))
        .map_err(|e| err(format!("--scratch {}: {e}", cfg.scratch.display())))?;
    if cfg.announce {
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

/// With `--power-loss`, checks the settings of every power run before
/// anything is made (`--image-mib` must be large enough for each file
/// system's recording disk).
fn check_power_settings(cfg: &CompareConfig) -> Result<(), crate::Error> {
    let Some(params) = &cfg.power else {
        return Ok(());
    };
    for fs in cfg.filesystems.iter().filter_map(power::recording_fs) {
        for strategy in &cfg.strategies {
            settings(cfg, *strategy, Place::Recording(fs, params))
                .build(cfg.program.clone(), Naming::Flags)?;
        }
    }
    Ok(())
}

/// With `--power-loss`, checks that this machine can make each recording
/// disk: root, FUSE, loop devices, the mkfs.
fn preflight_power(cfg: &CompareConfig) -> Result<(), String> {
    if cfg.power.is_none() {
        return Ok(());
    }
    for spec in &cfg.filesystems {
        if let Some(fs) = power::recording_fs(spec) {
            crate::disk::preflight_recording(spec)
                .map_err(|e| format!("--power-loss on {fs}: {e}"))?;
        }
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
    let bar = Bar::new(cfg.progress, runs(cfg), format!("0/{} runs", runs(cfg)));
    let models = predictions(cfg, &bar);
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
            now_running(cfg, &bar, format!("{} on {}", strategy.name(), spec.name));
            let mut run = run_one(cfg, *strategy, Place::In(work.path()))?;
            bar.step(format!("{}/{} runs", bar.position() + 1, runs(cfg)));
            if let Some(why) = broken(&mounted.root) {
                let why = format!("{} {why} during the run of {}", spec.name, strategy.name());
                run.verdict = crate::vocab::Verdict::Error;
                run.harness_error = Some(why.clone());
                report.add_run(&spec.name, *strategy, &run);
                return Ok(Some(why));
            }
            if cfg.announce {
                bar.line(&run_line(cfg.paint, *strategy, &spec.name, &run));
            }
            if run.stopped == crate::report::StopReason::Interrupted {
                report.interrupted = true;
                return Ok(None);
            }
            report.add_run(&spec.name, *strategy, &run);
            let Some(params) = &cfg.power else { continue };
            let Some(fs) = power::recording_fs(spec) else {
                report.skip_power(&spec.name, strategy.name(), power::NO_BLOCK_DEVICE);
                continue;
            };
            // None only when an interrupt cut the explorations short.
            let predicted = models.iter().find(|(s, _)| s == &strategy.name());
            let Some((_, predicted)) = predicted else {
                continue;
            };
            let plain = run.throughput_ops_per_s;
            if !run_power(
                cfg,
                (&spec.name, fs),
                (*strategy, plain),
                (params, predicted),
                report,
                &bar,
            )? {
                report.interrupted = true;
                return Ok(None);
            }
        }
    }
    Ok(None)
}

/// What the models predict for each strategy, when there will be a power
/// run to compare them with; explored before anything is mounted.
fn predictions(cfg: &CompareConfig, bar: &Bar) -> Vec<(&'static str, Predictions)> {
    let recorded = cfg
        .filesystems
        .iter()
        .any(|s| power::recording_fs(s).is_some());
    if cfg.power.is_none() || !recorded {
        return Vec::new();
    }
    let mut models = Vec::new();
    for strategy in &cfg.strategies {
        if crate::platform::stop_requested() {
            break;
        }
        now_running(
            cfg,
            bar,
            format!("{} under the ordered model", strategy.name()),
        );
        let p = Predictions::of(*strategy, &cfg.program, cfg.seed);
        if cfg.announce {
            let ordered = match &p.ordered {
                Ok(f) => power::words(f),
                Err(why) => format!("no prediction ({why})"),
            };
            bar.line(&format!(
                "torture: {} under the ordered model: {ordered}",
                strategy.name()
            ));
        }
        models.push((strategy.name(), p));
    }
    models
}

/// The power run of `strategy` on the recording disk of `fs` (its name in
/// the report, and in `--power-loss`), after its plain run did
/// `plain_ops_per_s`, with the `models`' predictions. `false` when an
/// interrupt stopped it.
fn run_power(
    cfg: &CompareConfig,
    (name, fs): (&str, &'static str),
    (strategy, plain_ops_per_s): (&'static dyn Strategy, f64),
    (params, models): (&PowerParams, &Predictions),
    report: &mut FsCompareReport,
    bar: &Bar,
) -> Result<bool, crate::Error> {
    if crate::platform::stop_requested() {
        return Ok(false);
    }
    now_running(
        cfg,
        bar,
        format!("{} on {name} (power loss)", strategy.name()),
    );
    let run = run_one(cfg, strategy, Place::Recording(fs, params))?;
    bar.step(format!("{}/{} runs", bar.position() + 1, runs(cfg)));
    let cell = PowerCell::new(strategy, plain_ops_per_s, &run, models);
    if cfg.announce {
        let words = cfg.paint.paint(
            Style::of_expectation(cell.met, cell.verdict),
            &power_words(&cell),
        );
        bar.line(&format!(
            "torture: {} on {name} (power loss): {words}, {} crash states, {:.1} states/s, recording {}",
            strategy.name(),
            cell.crash_states,
            cell.states_per_second,
            cell.slowdown
                .map_or("-".into(), |s| format!("{s:.1}x slower"))
        ));
    }
    let interrupted = run.stopped == crate::report::StopReason::Interrupted
        || run.power_loss.as_ref().is_some_and(|p| p.interrupted);
    if interrupted {
        return Ok(false);
    }
    report.add_power(name, strategy.name(), cell);
    Ok(true)
}

/// How many runs the comparison makes: every strategy on every file
/// system, and with `--power-loss` again on each recording disk.
fn runs(cfg: &CompareConfig) -> u64 {
    let recorded = match cfg.power {
        Some(_) => cfg
            .filesystems
            .iter()
            .filter(|s| power::recording_fs(s).is_some())
            .count(),
        None => 0,
    };
    ((cfg.filesystems.len() + recorded) * cfg.strategies.len()) as u64
}

/// Says on the bar what runs now.
fn now_running(cfg: &CompareConfig, bar: &Bar, what: String) {
    let done = bar.position();
    bar.set(done, format!("{done}/{} runs, now {what}", runs(cfg)));
}

/// A plain run's line: the strategy, the file system, the run against the
/// strategy's expected verdict (an expected failure found is met, not a
/// failure), coloured by `paint`, and its speed.
fn run_line(paint: Paint, strategy: &dyn Strategy, fs: &str, run: &Report) -> String {
    let expected = strategy.expected();
    let met = meets(run, &expected);
    let words = against(&expected.to_string(), met, run.verdict, &observed(run));
    format!(
        "torture: {} on {fs}: {}, {:.0} ops/s",
        strategy.name(),
        paint.paint(Style::of_expectation(met, run.verdict), &words),
        run.throughput_ops_per_s
    )
}

/// A power cell against its expectation: as a plain run's, or, when
/// `posix` finds the strategy guilty and any verdict with evidence will
/// do, what it observed.
fn power_words(cell: &PowerCell) -> String {
    let observed = cell.expected == power::PowerExpectation::Observed.to_string();
    match (observed, cell.met) {
        (true, true) => format!("observed {}", cell.observed),
        (true, false) => against("a verdict", false, cell.verdict, &cell.observed),
        (false, _) => against(&cell.expected, cell.met, cell.verdict, &cell.observed),
    }
}

/// Whether a plain run got its strategy's `expected` verdict: a run the
/// harness could not carry out meets nothing, whatever it saw.
fn meets(run: &Report, expected: &crate::vocab::Expectation) -> bool {
    run.verdict != crate::vocab::Verdict::Error && run.meets(expected)
}

/// What a run showed, in every row and cell: its violation classes joined
/// by `+`, or its verdict's name when it showed none.
fn observed(r: &Report) -> String {
    r.observed_classes()
}

/// Where a run happens.
#[derive(Debug, Clone, Copy)]
enum Place<'a> {
    /// In the directory `work/run-STRATEGY` (`work` is a fresh directory
    /// of torture's own on the file system under comparison).
    In(&'a Path),
    /// On a recording disk of this file system, which the runner makes.
    Recording(&'static str, &'a PowerParams),
}

/// One torture run of `strategy` at `place`.
fn run_one(
    cfg: &CompareConfig,
    strategy: &'static dyn Strategy,
    place: Place<'_>,
) -> Result<Report, crate::Error> {
    let at = || match place {
        Place::In(work) => format!("{} in {}", strategy.name(), work.display()),
        Place::Recording(fs, _) => format!("{} on a recording {fs} disk", strategy.name()),
    };
    let config = settings(cfg, strategy, place)
        .build(cfg.program.clone(), Naming::Flags)
        .map_err(|e| crate::Error::from(e).context(at()))?;
    crate::runner::run(&config).map_err(|e| e.context(at()))
}

/// The settings of a run of `strategy` at `place`: the comparison's, the
/// same for the plain run and the power run.
fn settings(cfg: &CompareConfig, strategy: &'static dyn Strategy, place: Place<'_>) -> RunSettings {
    let base = RunSettings {
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
        ..RunSettings::default()
    };
    match place {
        Place::In(work) => RunSettings {
            dir: Some(work.join(format!("run-{}", strategy.name()))),
            ..base
        },
        Place::Recording(fs, params) => RunSettings {
            power_loss: Some(fs.to_string()),
            crash_points: Some(
                params
                    .crash_points
                    .map_or(CrashPoints::All, CrashPoints::Count),
            ),
            max_states: Some(params.max_states),
            image_mib: Some(cfg.image_size >> 20),
            ..base
        },
    }
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

    fn config(power: Option<PowerParams>, image_mib: u64) -> CompareConfig {
        CompareConfig {
            filesystems: vec![
                FsSpec::parse("tmpfs").unwrap(),
                FsSpec::parse("xfs").unwrap(),
            ],
            strategies: vec![crate::strategy::reference()],
            duration: Duration::from_secs(3),
            ops: Some(100),
            kill_at: KillAt::Delay,
            writers: 8,
            readers: 1,
            kill_rate: 0.1,
            minimums: crate::config::Minimums::default(),
            seed: 7,
            scratch: "/tmp".into(),
            image_size: image_mib << 20,
            out: "/tmp/out".into(),
            program: "torture".into(),
            command: "torture fscompare".into(),
            progress: false,
            announce: false,
            paint: Paint::PLAIN,
            power,
        }
    }

    const POWER: PowerParams = PowerParams {
        crash_points: Some(10),
        max_states: 3,
    };

    /// The power run is the plain run's configuration on a recording disk
    /// of the runner's own: no directory, the comparison's crash points,
    /// states and image size.
    #[test]
    fn a_power_run_is_the_plain_run_on_a_recording_disk() {
        let cfg = config(Some(POWER), 512);
        let work = Path::new("/mnt/work");
        let build = |place| {
            settings(&cfg, crate::strategy::reference(), place)
                .build("torture".into(), Naming::Flags)
                .unwrap()
        };
        let plain = build(Place::In(work));
        let power = build(Place::Recording("xfs", &POWER));
        assert_eq!(
            plain.dir.as_deref(),
            Some(work.join("run-reference").as_path())
        );
        assert_eq!(plain.power_loss, None);
        assert_eq!(power.dir, None);
        assert_eq!(
            power.power_loss,
            Some(crate::config::PowerLoss {
                fs: "xfs".into(),
                crash_points: Some(10),
                max_states: 3,
                image_mib: 512,
            })
        );
        let same = |c: &crate::config::RunConfig| {
            (
                c.writers,
                c.readers,
                c.kill_rate,
                c.kill_at,
                c.length,
                c.seed,
                c.minimums,
            )
        };
        assert_eq!(same(&plain), same(&power));
        let all = PowerParams {
            crash_points: None,
            ..POWER
        };
        let every = build(Place::Recording("xfs", &all));
        assert_eq!(every.power_loss.unwrap().crash_points, None);
    }

    /// An image too small for a recording disk is refused before anything
    /// is made, naming the flag; tmpfs needs none.
    #[test]
    fn the_power_settings_are_checked_first() {
        let err = check_power_settings(&config(Some(POWER), 128)).unwrap_err();
        assert!(err.is_bad_input(), "{err}");
        assert!(err.to_string().contains("--image-mib"), "{err}");
        check_power_settings(&config(Some(POWER), 512)).unwrap();
        check_power_settings(&config(None, 128)).unwrap();
        let mut tmpfs_only = config(Some(POWER), 16);
        tmpfs_only.filesystems.truncate(1);
        check_power_settings(&tmpfs_only).unwrap();
        assert_eq!(preflight_power(&tmpfs_only), Ok(()));
    }

    /// A run of `strategy` that saw a torn state, or nothing.
    fn report(strategy: &str, torn: bool) -> Report {
        let cfg = RunSettings {
            workload: Some(Workload::Builtin(
                crate::strategy::by_name(strategy).unwrap(),
            )),
            ..RunSettings::default()
        }
        .build("torture".into(), Naming::Flags)
        .unwrap();
        let mut verifier = crate::verifier::Verifier::new(1);
        if torn {
            verifier.record(
                1,
                crate::verifier::Evidence {
                    kind: crate::vocab::ViolationKind::Torn,
                    seen_by: "final check".into(),
                    op: None,
                    writer: None,
                    at_ms: 1,
                    detail: "empty file".into(),
                    bytes_hex: None,
                    seed: 1,
                },
            );
        }
        let outcome = crate::report::Outcome::default();
        Report::new(&cfg, Path::new("/x"), outcome, verifier)
    }

    /// An expected failure found is met, not a `Fail`; a miss says what
    /// came instead; the colour follows the expectation, not the verdict.
    #[test]
    fn a_run_line_holds_the_run_against_its_expected_verdict() {
        let line = |s: &str, torn, paint| {
            run_line(
                paint,
                crate::strategy::by_name(s).unwrap(),
                "shm",
                &report(s, torn),
            )
        };
        let met = line("naive", true, Paint::PLAIN);
        assert!(
            met.starts_with("torture: naive on shm: expected torn: met, "),
            "{met}"
        );
        assert!(!met.contains("Fail") && !met.contains("fail"), "{met}");
        assert!(
            line("naive", false, Paint::PLAIN)
                .starts_with("torture: naive on shm: expected torn: NOT met (got inconclusive), ")
        );
        assert!(
            line("reference", true, Paint::PLAIN)
                .starts_with("torture: reference on shm: expected pass: NOT met (found torn), ")
        );
        let green = line("naive", true, Paint::new(true));
        assert!(
            green.contains("\x1b[1;32mexpected torn: met\x1b[0m"),
            "{green:?}"
        );
        let red = line("reference", true, Paint::new(true));
        assert!(red.contains("\x1b[1;31mexpected pass: NOT met"), "{red:?}");
    }

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
