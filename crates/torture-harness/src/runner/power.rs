//! `--power-loss FS`: the run on a recording disk, then a power cut at
//! crash points of its block log.
//!
//! The whole run (SIGKILLs included) happens on a file system made on a
//! [`RecordingDisk`]: every block write and every cache flush of the file
//! system reaches the disk's log, in order. Writers report the log position
//! right before each operation begins and right after it is acknowledged
//! (see `supervisor::disk`). After the run:
//!
//! - **Crash points.** A crash point `p` is a log position: entries `0..p`
//!   reached the disk's volatile cache. Candidates are the positions right
//!   after a write (a power cut between two writes) and every
//!   acknowledgement's position (the instant a lost update shows best),
//!   after the initial state was synced, and the end of the run (always
//!   checked: it shows what a strategy that never forces its writes loses,
//!   even when the run wrote nothing to the disk). `--crash-points N` draws
//!   the others, seeded: half at acknowledgements, the rest anywhere (fewer
//!   candidates: all of them).
//! - **Crash states.** At `p`, every write before the last flush before `p`
//!   is durable; each write after it may or may not have reached the media
//!   (a volatile cache writes back in any order). The states are: none of
//!   them, all of them, and seeded subsets, up to `--max-states` (every
//!   subset when there are few enough).
//! - **The check.** Each distinct image is mounted read-write (the file
//!   system's own recovery runs; what it writes goes to a private overlay,
//!   never to the log), the state is read through the strategy's read path,
//!   and the image is unmounted. At each crash point using it, the state is
//!   judged against the positions: not mountable, missing or undecodable is
//!   `torn`; a writer's counter below the number of its operations
//!   acknowledged at or before `p` is `lost`; above the number of its
//!   operations begun before `p` is `phantom`.
//!
//! Approximations, said in the README: the log is the order in which
//! requests arrive at a device that serves one at a time (a real volatile
//! cache; dm-log-writes logs completion order, which can be looser); the
//! crash points are a function of the seed and of the log, which depends
//! on timing, so a replay repeats the configuration, not the states.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{ExecSpec, PowerLoss, RunConfig, Workload};
use crate::disk::{EntryKind, FsSpec, RecordingDisk, ViewError};
use crate::owned::{self, ScratchDir};
use crate::process::Watchdog;
use crate::process::reaper::{self, RunTag};
use crate::report::{PowerLog, PowerLossReport, PowerViolations, Report};
use crate::runner::exec::{Which, tail};
use crate::state::Document;
use crate::strategy::Strategy;
use crate::term::Bar;
use crate::verifier::Evidence;
use crate::vocab::{OpId, ViolationKind};

use super::RunDir;
use super::supervisor::Positions;

/// Checks, before anything is made, that the recording disk of `power`
/// can be made here: root, FUSE, loop devices, the mkfs, a usable TMPDIR.
pub(super) fn preflight(power: &PowerLoss) -> Result<(), crate::Error> {
    preflight_fs(&power.fs)
}

/// [`preflight`] for file system `fs` (`explore --fs` too).
pub(crate) fn preflight_fs(fs: &str) -> Result<(), crate::Error> {
    let spec = FsSpec::parse(fs).map_err(crate::Error::BadInput)?;
    crate::disk::preflight_recording(&spec).map_err(crate::Error::BadInput)?;
    crate::paths::check("TMPDIR", &std::env::temp_dir()).map_err(crate::Error::BadInput)
}

/// Makes the recording disk of `power`, with its file system mounted.
pub(super) fn create_disk(
    power: &PowerLoss,
    watchdog: &Arc<Watchdog>,
) -> Result<RecordingDisk, crate::Error> {
    make_disk(&power.fs, power.image_mib, watchdog)
}

/// A recording disk of `image_mib` MiB (sparse, in TMPDIR) with file
/// system `fs` made and mounted.
pub(crate) fn make_disk(
    fs: &str,
    image_mib: u64,
    watchdog: &Arc<Watchdog>,
) -> Result<RecordingDisk, crate::Error> {
    let spec = FsSpec::parse(fs).map_err(crate::Error::BadInput)?;
    let tmp = std::env::temp_dir();
    RecordingDisk::create(&spec, &tmp, image_mib << 20, watchdog)
        .map_err(|e| crate::Error::Harness(format!("the recording disk: {e}")))
}

/// The run directory: a fresh one on the recording disk's file system.
pub(crate) fn run_dir(
    disk: &RecordingDisk,
    watchdog: &Arc<Watchdog>,
) -> Result<RunDir, crate::Error> {
    let temp = ScratchDir::create(owned::Kind::Run, disk.root(), Some(watchdog.clone() as _))
        .map_err(crate::Error::Harness)?;
    Ok(RunDir {
        path: temp.path().to_path_buf(),
        temp: Some(temp),
    })
}

/// After the run: unmounts the live file system, checks the crash states
/// and adds what they show to `report`.
pub(super) fn finish(
    config: &RunConfig,
    power: &PowerLoss,
    dir: RunDir,
    mut disk: RecordingDisk,
    report: Report,
    positions: Positions,
    watchdog: &Arc<Watchdog>,
) -> Result<Report, crate::Error> {
    let mut report = report;
    let end = disk.position();
    let rel = dir
        .path
        .strip_prefix(disk.root())
        .map(Path::to_path_buf)
        .map_err(|_| crate::Error::Harness("the run directory is not on the disk".into()))?;
    // The run directory goes with the disk: its removal is logged after
    // the last crash point, and the evidence is the crash state itself.
    if let Workload::Builtin(s) = &config.workload {
        s.close_all();
    }
    drop(dir);
    report.dir_removed = true;
    disk.finish()
        .map_err(|e| crate::Error::Harness(format!("unmounting the recording disk: {e}")))?;
    let reader = match &config.workload {
        Workload::Builtin(s) => Reader::Builtin(*s),
        Workload::Exec(spec) => Reader::Exec(ExecReader::new(spec, config.op_timeout, watchdog)?),
    };
    self_check(&disk, positions.base, &rel, &reader)?;
    let plan = Plan::new(
        &disk.kinds(),
        positions.base,
        end,
        &positions,
        power,
        config.seed,
    );
    let checked = check(
        &disk,
        &plan,
        &positions,
        &rel,
        &reader,
        config.writers,
        config.progress,
    )?;
    let spec = FsSpec::parse(&power.fs).map_err(crate::Error::Harness)?;
    let stats = disk.stats();
    let secs = checked.seconds.max(1e-9);
    let summary = PowerLossReport {
        fs: power.fs.clone(),
        label: format!("power loss ({})", spec.label()),
        mkfs: disk.mkfs_line().to_string(),
        mount_options: disk.mount_options().to_string(),
        image_bytes: power.image_mib << 20,
        log: PowerLog {
            start: positions.base,
            end,
            writes: stats.writes,
            flushes: stats.flushes,
            zeroes: stats.zeroes,
            bytes: stats.bytes,
        },
        positions_reported: positions.reported,
        positions_stood_in: positions.stand_ins,
        seed: config.seed,
        crash_points: plan.points.len() as u64,
        candidates: plan.candidates,
        max_states: power.max_states,
        crash_states: checked.states,
        distinct_images: checked.images,
        unmountable: checked.unmountable,
        violations: checked.violations,
        check_seconds: checked.seconds,
        states_per_second: checked.states as f64 / secs,
        images_per_second: checked.images as f64 / secs,
        interrupted: checked.interrupted,
    };
    report.add_power_loss(summary, checked.evidence, checked.most_lost);
    Ok(report)
}

/// The crash points and, at each, the crash states to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The crash points, ascending.
    pub points: Vec<Point>,
    /// How many candidates they were drawn from.
    pub candidates: u64,
}

/// One crash point and its states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Point {
    /// The log position: entries before it reached the disk's cache.
    pub at: u64,
    /// Entries before this one are durable (one past the last flush).
    pub durable_end: u64,
    /// How many writes after the last flush may or may not be on the media.
    pub window: u64,
    /// Each state: the writes of the window it keeps.
    pub states: Vec<Vec<u64>>,
}

impl Plan {
    /// Draws the crash points in `(base, end]` of a log with `kinds`, and
    /// their states, as `power` says, seeded by `seed`.
    pub(crate) fn new(
        kinds: &[EntryKind],
        base: u64,
        end: u64,
        positions: &Positions,
        power: &PowerLoss,
        seed: u64,
    ) -> Plan {
        let end = end.min(kinds.len() as u64);
        let in_range = |p: u64| p > base && p <= end;
        let mut acks: Vec<u64> = positions
            .acks
            .iter()
            .flatten()
            .map(|a| a.0)
            .filter(|&p| in_range(p))
            .collect();
        acks.sort_unstable();
        acks.dedup();
        // The end of the run is always a crash point: after the last
        // acknowledgement, before anything else was flushed, it shows what
        // a strategy that never forces its writes loses, even when the
        // run wrote nothing to the disk at all.
        acks.retain(|&p| p != end);
        let writes: Vec<u64> = (base + 1..end)
            .filter(|&p| kinds[p as usize - 1] != EntryKind::Flush)
            .filter(|p| acks.binary_search(p).is_err())
            .collect();
        let candidates = (acks.len() + writes.len()) as u64 + 1;
        let mut chosen: Vec<u64> = match power.crash_points {
            Some(n) if n < candidates => {
                let n = n - 1;
                let mut rng = Stream::new(seed, 0x6372_6173_6870_7473); // "crashpts"
                let from_acks = (n / 2).min(acks.len() as u64);
                let from_writes = (n - from_acks).min(writes.len() as u64);
                let from_acks = n - from_writes;
                let mut picked = rng.sample(&acks, from_acks as usize);
                picked.extend(rng.sample(&writes, from_writes as usize));
                picked
            }
            _ => acks.iter().chain(&writes).copied().collect(),
        };
        chosen.push(end);
        chosen.sort_unstable();
        let last_flush = durable_ends(kinds);
        let points = chosen
            .into_iter()
            .map(|at| Point::new(kinds, &last_flush, at, power.max_states, seed))
            .collect();
        Plan { points, candidates }
    }
}

impl Point {
    /// The crash point `at` of a log with `kinds` (`last_flush` its
    /// [`durable_ends`]) and at most `max_states` of its states, seeded.
    pub(crate) fn new(
        kinds: &[EntryKind],
        last_flush: &[u64],
        at: u64,
        max_states: u64,
        seed: u64,
    ) -> Point {
        let durable_end = last_flush[at as usize];
        let window: Vec<u64> = (durable_end..at)
            .filter(|&i| kinds[i as usize] != EntryKind::Flush)
            .collect();
        Point {
            at,
            durable_end,
            window: window.len() as u64,
            states: states(&window, max_states, seed ^ at.rotate_left(17)),
        }
    }
}

/// For each position `p` (`0..=len`), one past the last flush before it
/// (0 when there is none): every entry before it is durable at `p`.
pub(crate) fn durable_ends(kinds: &[EntryKind]) -> Vec<u64> {
    let mut out = Vec::with_capacity(kinds.len() + 1);
    let mut last = 0u64;
    out.push(0);
    for (i, k) in kinds.iter().enumerate() {
        if *k == EntryKind::Flush {
            last = i as u64 + 1;
        }
        out.push(last);
    }
    out
}

/// The states of a window of unflushed writes: none kept, all kept, then
/// seeded subsets, up to `max` (every subset when there are at most `max`).
fn states(window: &[u64], max: u64, seed: u64) -> Vec<Vec<u64>> {
    if window.is_empty() {
        return vec![Vec::new()];
    }
    let n = window.len();
    if n < 63 && (1u64 << n) <= max {
        // Every subset, none first and all second, so the cheapest cut
        // shows first.
        let full = (1u64 << n) - 1;
        let mut masks = vec![0, full];
        masks.extend(1..full);
        return masks
            .into_iter()
            .map(|m| subset(window, |i| m >> i & 1 == 1))
            .collect();
    }
    let mut out = vec![Vec::new(), window.to_vec()];
    let mut rng = Stream::new(seed, 0x7374_6174_6573); // "states"
    let mut tries = 0;
    while (out.len() as u64) < max && tries < 8 * max {
        tries += 1;
        let pick = subset(window, |_| rng.next() & 1 == 1);
        if !out.contains(&pick) {
            out.push(pick);
        }
    }
    out
}

fn subset(window: &[u64], mut keep: impl FnMut(usize) -> bool) -> Vec<u64> {
    window
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, &e)| e)
        .collect()
}

/// A SplitMix64 stream: the same draws for the same seed everywhere.
struct Stream(u64);

impl Stream {
    fn new(seed: u64, tag: u64) -> Stream {
        Stream(crate::seed::splitmix64(seed ^ tag))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        crate::seed::splitmix64(self.0)
    }

    /// `k` distinct items of `items`, in draw order (a partial shuffle).
    fn sample(&mut self, items: &[u64], k: usize) -> Vec<u64> {
        let mut pool = items.to_vec();
        let k = k.min(pool.len());
        for i in 0..k {
            let j = i + (self.next() % (pool.len() - i) as u64) as usize;
            pool.swap(i, j);
        }
        pool.truncate(k);
        pool
    }
}

/// What one crash image holds, as far as the verdict goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Image {
    /// The file system refused to mount it.
    Unmountable(String),
    /// The state could not be read, is missing, or does not decode.
    Unreadable(String, Vec<u8>),
    /// The writers' counters (a built-in strategy's document).
    Counters(Vec<u64>),
    /// The op ids an outside program's check printed.
    Ids(Vec<OpId>, Vec<String>),
}

/// Reads a built-in strategy's state in run directory `dir` through its
/// read path, then closes what the strategy keeps open on this thread (a
/// file system holding an open database cannot be unmounted).
pub(crate) fn read_builtin(strategy: &dyn Strategy, dir: &Path) -> Image {
    let path = dir.join(crate::config::STATE_FILE);
    let read = strategy.read(&path);
    strategy.close_all();
    match read {
        Err(e) => Image::Unreadable(format!("cannot read the state: {e}"), Vec::new()),
        Ok(None) => Image::Unreadable("the state file is missing".into(), Vec::new()),
        Ok(Some(bytes)) => match Document::decode(&bytes) {
            Ok(doc) => Image::Counters(doc.counters),
            Err(why) => Image::Unreadable(why, bytes),
        },
    }
}

/// How a crash state is read: a built-in strategy's read path, or an
/// outside program's `--check`.
enum Reader {
    Builtin(&'static dyn Strategy),
    Exec(ExecReader),
}

impl Reader {
    fn read(&self, dir: &Path, worker: usize) -> Result<Image, crate::Error> {
        if !dir.is_dir() {
            return Ok(Image::Unreadable(
                "the run directory is missing".into(),
                Vec::new(),
            ));
        }
        match self {
            Reader::Builtin(s) => Ok(read_builtin(*s, dir)),
            Reader::Exec(exec) => exec.read(dir, worker),
        }
    }
}

/// How a command run by [`Commands::run`] ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ran {
    /// It exited (or died of a signal) with this status.
    Ended(std::process::ExitStatus),
    /// It outlived its timeout and was killed.
    TimedOut,
}

impl Ran {
    /// Whether it exited 0.
    pub(crate) fn succeeded(self) -> bool {
        matches!(self, Ran::Ended(s) if s.success())
    }
}

impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ran::Ended(s) => f.write_str(&super::supervisor::describe_status(*s)),
            Ran::TimedOut => f.write_str("timed out"),
        }
    }
}

/// Runs commands to their end, as the runner's checks run: each in its own
/// process group registered with the watchdog, tagged with a run token
/// (`TORTURE_RUN`), killed after a timeout; their output in a private
/// scratch directory. What a command left outside its group (a double
/// fork) is killed on drop: it would hold a crash image busy.
pub(crate) struct Commands {
    logs: ScratchDir,
    tag: RunTag,
    watchdog: Arc<Watchdog>,
}

impl Drop for Commands {
    fn drop(&mut self) {
        reaper::kill_tagged(&self.tag);
    }
}

impl Commands {
    pub(crate) fn new(watchdog: &Arc<Watchdog>) -> Result<Commands, crate::Error> {
        let logs = ScratchDir::in_tmp(owned::Kind::Logs, Some(watchdog.clone() as _))
            .map_err(crate::Error::Harness)?;
        let tag = RunTag::random();
        watchdog.watch_run(&tag);
        Ok(Commands {
            logs,
            tag,
            watchdog: Arc::clone(watchdog),
        })
    }

    /// Where a command called `name` keeps its stdout (its stderr beside
    /// it, see [`crate::runner::exec::stderr_path`]).
    pub(crate) fn output(&self, name: &str) -> PathBuf {
        self.logs.path().join(name)
    }

    /// Runs `cmd` (its stdio set up by the caller) in its own process
    /// group, tagged as command `n`, until it ends or `timeout` passes; the
    /// group is killed either way once the leader is done.
    pub(crate) fn run(
        &self,
        mut cmd: std::process::Command,
        timeout: Duration,
        n: u64,
    ) -> std::io::Result<Ran> {
        cmd.env(reaper::RUN_VAR, self.tag.command(n));
        let process = crate::process::ChildProcess::spawn_fast(cmd)?;
        let pid = process.pid();
        self.watchdog.watch(pid);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(crate::process::wait_exited(pid)));
        let finished = rx.recv_timeout(timeout).is_ok();
        process.kill_group();
        self.watchdog.forget(pid);
        let status = process.wait()?;
        Ok(if finished {
            Ran::Ended(status)
        } else {
            Ran::TimedOut
        })
    }
}

/// Runs an outside program's check in a crash image, as the runner's
/// checks run (see [`Commands`]), killed after the op timeout.
struct ExecReader {
    spec: ExecSpec,
    commands: Commands,
    timeout: Duration,
}

impl ExecReader {
    fn new(
        spec: &ExecSpec,
        timeout: Duration,
        watchdog: &Arc<Watchdog>,
    ) -> Result<ExecReader, crate::Error> {
        Ok(ExecReader {
            spec: spec.clone(),
            commands: Commands::new(watchdog)?,
            timeout,
        })
    }

    fn read(&self, dir: &Path, worker: usize) -> Result<Image, crate::Error> {
        read_check(&self.spec, &self.commands, self.timeout, dir, worker)
    }
}

/// Runs `spec`'s check in `dir` with `commands`, as worker `worker`,
/// killed after `timeout`: the ids it printed, or why it failed.
pub(crate) fn read_check(
    spec: &ExecSpec,
    commands: &Commands,
    timeout: Duration,
    dir: &Path,
    worker: usize,
) -> Result<Image, crate::Error> {
    let out = commands.output(&format!("power-check-{worker}.out"));
    let program = spec.program(Which::Check);
    let harness = |e: std::io::Error| crate::Error::Harness(format!("cannot run {program}: {e}"));
    let argv = spec.argv(Which::Check);
    let cmd = spec
        .command_argv(Which::Check, dir, &out, &argv, None)
        .map_err(harness)?;
    let status = match commands.run(cmd, timeout, worker as u64).map_err(harness)? {
        Ran::TimedOut => {
            return Ok(Image::Unreadable(
                format!("the check did not finish within --op-timeout {timeout:?}"),
                Vec::new(),
            ));
        }
        Ran::Ended(status) => status,
    };
    if !status.success() {
        return Ok(Image::Unreadable(
            format!(
                "the check failed ({}): {}",
                super::supervisor::describe_status(status),
                tail(&out)
            ),
            Vec::new(),
        ));
    }
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let (mut ids, mut junk) = (Vec::new(), Vec::new());
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.parse::<OpId>() {
            Ok(id) => ids.push(id),
            Err(_) => junk.push(line.chars().take(80).collect()),
        }
    }
    Ok(Image::Ids(ids, junk))
}

/// What the crash states showed.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    pub(crate) states: u64,
    pub(crate) images: u64,
    pub(crate) unmountable: u64,
    pub(crate) violations: PowerViolations,
    pub(crate) evidence: Vec<Evidence>,
    /// The most acknowledged updates missing from one state.
    pub(crate) most_lost: u64,
    pub(crate) seconds: f64,
    pub(crate) interrupted: bool,
}

/// Mounts each distinct image of `plan` once and judges every state; `rel`
/// is the run directory's path on the disk.
fn check(
    disk: &RecordingDisk,
    plan: &Plan,
    positions: &Positions,
    rel: &Path,
    reader: &Reader,
    writers: usize,
    progress: bool,
) -> Result<Checked, crate::Error> {
    let start = Instant::now();
    let (keys, index) = distinct_images(&plan.points);
    let bar = Bar::new(
        progress,
        keys.len() as u64,
        format!("0/{} crash images checked", keys.len()),
    );
    let images = visit_images(disk, &keys, &bar, &|root, worker| match root {
        Err(why) => Ok(Image::Unmountable(why)),
        Ok(root) => reader.read(&root.join(rel), worker),
    })?;
    let mut out = Checked::default();
    let end = plan.points.last().map_or(0, |p| p.at);
    'points: for point in &plan.points {
        for (i, kept) in point.states.iter().enumerate() {
            let Some(image) = &images[index[&(point.durable_end, kept.as_slice())]] else {
                out.interrupted = true;
                break 'points;
            };
            out.states += 1;
            let seen_by = format!(
                "power cut at block-log position {} of {end}, state {} of {}: {} of {} unflushed write(s) kept",
                point.at,
                i + 1,
                point.states.len(),
                kept.len(),
                point.window
            );
            judge(image, point.at, positions, writers, &seen_by, &mut out);
        }
    }
    out.images = images.iter().flatten().count() as u64;
    out.unmountable = images
        .iter()
        .flatten()
        .filter(|i| matches!(i, Image::Unmountable(_)))
        .count() as u64;
    out.seconds = start.elapsed().as_secs_f64();
    Ok(out)
}

/// The recording disk checks itself on every run: the crash image at the
/// sync before the first operation must hold the initial state, whole and
/// untouched (every counter 0; an outside program's check prints no op).
/// If it does not, no crash state of this disk can be trusted: a harness
/// failure, never a finding against the program.
fn self_check(
    disk: &RecordingDisk,
    base: u64,
    rel: &Path,
    reader: &Reader,
) -> Result<(), crate::Error> {
    let durable_end = crate::disk::log::durable_end(&disk.kinds(), base);
    let keys = [(durable_end, &[][..])];
    let images = visit_images(disk, &keys, &Bar::hidden(), &|root, worker| match root {
        Err(why) => Ok(Image::Unmountable(why)),
        Ok(root) => reader.read(&root.join(rel), worker),
    })?;
    let wrong = match images.into_iter().next().flatten() {
        None => return Ok(()), // interrupted: the check will say so
        Some(Image::Counters(c)) if c.iter().all(|&n| n == 0) => None,
        Some(Image::Ids(ids, junk)) if ids.is_empty() && junk.is_empty() => None,
        Some(Image::Counters(c)) => Some(format!("counters {c:?}")),
        Some(Image::Ids(ids, junk)) => Some(format!(
            "{} op id(s), {} other line(s)",
            ids.len(),
            junk.len()
        )),
        Some(Image::Unmountable(why) | Image::Unreadable(why, _)) => Some(why),
    };
    match wrong {
        None => Ok(()),
        Some(why) => Err(crate::Error::Harness(format!(
            "self-check of the recording disk: the crash image at the initial sync (position {base}) does not hold the initial state ({why}); no crash state of it can be trusted"
        ))),
    }
}

/// An image of a crash state: entries before a durable end, plus the kept ones.
pub(crate) type ImageKey<'a> = (u64, &'a [u64]);

/// The distinct images of `points`' states, in the order the crash points
/// first use them, and where each key is in that list.
pub(crate) fn distinct_images(
    points: &[Point],
) -> (Vec<ImageKey<'_>>, HashMap<ImageKey<'_>, usize>) {
    let mut keys: Vec<ImageKey<'_>> = Vec::new();
    let mut index: HashMap<ImageKey<'_>, usize> = HashMap::new();
    for point in points {
        for kept in &point.states {
            let key = (point.durable_end, kept.as_slice());
            index.entry(key).or_insert_with(|| {
                keys.push(key);
                keys.len() - 1
            });
        }
    }
    (keys, index)
}

/// How many crash images are mounted and read at once: two on ext4 and
/// XFS (a mount is mostly the file system's own recovery, which two CPUs
/// halve), one on Btrfs, whose images share one fsid.
fn check_workers(disk: &RecordingDisk) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    match disk.spec().kind {
        crate::disk::FsKind::Btrfs => 1,
        _ => cpus.clamp(1, 2),
    }
}

/// What a visit of a crash image is given: the root of the image, mounted
/// (read-write, on a private overlay), or why mount(8) refused it.
pub(crate) type Mounted<'a> = Result<&'a Path, String>;

/// Mounts every image of `keys` in turn on [`check_workers`] threads and
/// calls `visit` with it and the worker's number (for its own file names),
/// then unmounts it; `bar` counts the images done (it may draw nothing).
/// An entry left `None` was not visited: an interrupt came first. The
/// first error stops every worker and is returned.
pub(crate) fn visit_images<T: Send>(
    disk: &RecordingDisk,
    keys: &[ImageKey<'_>],
    bar: &Bar,
    visit: &(dyn Fn(Mounted<'_>, usize) -> Result<T, crate::Error> + Sync),
) -> Result<Vec<Option<T>>, crate::Error> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..keys.len()).map(|_| None).collect());
    let error: Mutex<Option<crate::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for worker in 0..check_workers(disk) {
            let (next, done, failed, results, error) = (&next, &done, &failed, &results, &error);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= keys.len()
                        || failed.load(Ordering::Relaxed)
                        || crate::platform::stop_requested()
                    {
                        return;
                    }
                    let (durable_end, kept) = keys[i];
                    match visit_image(disk, durable_end, kept, visit, worker) {
                        Ok(image) => {
                            if let Ok(mut r) = results.lock() {
                                r[i] = Some(image);
                            }
                            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                            bar.set(n as u64, format!("{n}/{} crash images checked", keys.len()));
                        }
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            if let Ok(mut slot) = error.lock() {
                                slot.get_or_insert(e);
                            }
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = error.into_inner().ok().flatten() {
        return Err(e);
    }
    results
        .into_inner()
        .map_err(|_| crate::Error::Harness("a crash-image worker panicked".into()))
}

/// Mounts the image (durable prefix + `kept`), visits it, unmounts it.
fn visit_image<T>(
    disk: &RecordingDisk,
    durable_end: u64,
    kept: &[u64],
    visit: &(dyn Fn(Mounted<'_>, usize) -> Result<T, crate::Error> + Sync),
    worker: usize,
) -> Result<T, crate::Error> {
    match disk.mount_view(durable_end, kept) {
        Ok(view) => visit(Ok(view.root()), worker),
        Err(ViewError::MountFailed(why)) => visit(Err(why), worker),
        Err(ViewError::Harness(why)) => Err(crate::Error::Harness(format!("a crash image: {why}"))),
    }
}

/// Judges one crash state at position `at` (see the module docs).
pub(crate) fn judge(
    image: &Image,
    at: u64,
    positions: &Positions,
    writers: usize,
    seen_by: &str,
    out: &mut Checked,
) {
    let evidence = |kind, writer: Option<usize>, op: Option<String>, detail: String| Evidence {
        kind,
        seen_by: seen_by.to_string(),
        op,
        writer,
        at_ms: 0,
        detail,
        bytes_hex: None,
        seed: 0,
    };
    let counters = match image {
        Image::Unmountable(why) => {
            out.violations.torn += 1;
            let ev = evidence(
                ViolationKind::Torn,
                None,
                None,
                format!("the crash image does not mount: {why}"),
            );
            keep(out, ev);
            return;
        }
        Image::Unreadable(why, bytes) => {
            out.violations.torn += 1;
            let mut ev = evidence(ViolationKind::Torn, None, None, why.clone());
            if !bytes.is_empty() {
                ev.bytes_hex = Some(crate::hex::encode(&bytes[..bytes.len().min(64 << 10)]));
            }
            keep(out, ev);
            return;
        }
        Image::Counters(c) => c,
        Image::Ids(ids, junk) => {
            judge_ids(ids, junk, at, positions, seen_by, out);
            return;
        }
    };
    let mut lost_here = 0u64;
    let mut lost_ev = None;
    let mut phantom_ev = None;
    for slot in 0..writers {
        let have = counters.get(slot).copied().unwrap_or(0);
        let acks = positions.acks.get(slot).map_or(&[][..], Vec::as_slice);
        let acked: Vec<_> = acks.iter().filter(|a| a.0 <= at).collect();
        let begun = positions
            .begins
            .get(slot)
            .map_or(0, |b| b.iter().filter(|&&(p, _)| p < at).count() as u64);
        if have < acked.len() as u64 {
            let missing = acked.len() as u64 - have;
            lost_here += missing;
            // Counters count updates, so the first acknowledged one past
            // the counter is the oldest that cannot be in the state.
            let (pos, seq) = *acked[have as usize];
            lost_ev.get_or_insert_with(|| {
                evidence(
                    ViolationKind::Lost,
                    Some(slot),
                    Some(OpId::new(slot, seq).to_string()),
                    format!(
                        "writer {slot}'s counter is {have}, but {} of its updates were acknowledged by position {at}: {} (acknowledged at position {pos}){} missing",
                        acked.len(),
                        OpId::new(slot, seq),
                        match missing - 1 {
                            0 => " is".to_string(),
                            n => format!(" and {n} after it are"),
                        }
                    ),
                )
            });
        }
        if have > begun {
            phantom_ev.get_or_insert_with(|| {
                evidence(
                    ViolationKind::Phantom,
                    Some(slot),
                    None,
                    format!(
                        "writer {slot}'s counter is {have}, but only {begun} of its updates had begun by position {at}"
                    ),
                )
            });
        }
    }
    if let Some(ev) = lost_ev {
        out.violations.lost += 1;
        out.most_lost = out.most_lost.max(lost_here);
        keep(out, ev);
    }
    if let Some(ev) = phantom_ev {
        out.violations.phantom += 1;
        keep(out, ev);
    }
}

/// Judges the op ids an outside program's check printed in a crash state
/// at position `at`: an id acknowledged at or before `at` and absent is
/// `lost`; an id present that had not begun before `at`, or is no op of
/// the run, is `phantom`.
fn judge_ids(
    ids: &[OpId],
    junk: &[String],
    at: u64,
    positions: &Positions,
    seen_by: &str,
    out: &mut Checked,
) {
    let present: std::collections::HashSet<OpId> = ids.iter().copied().collect();
    let mut lost: Vec<(OpId, u64)> = Vec::new();
    for (slot, acks) in positions.acks.iter().enumerate() {
        for &(pos, seq) in acks.iter().filter(|a| a.0 <= at) {
            let id = OpId::new(slot, seq);
            if !present.contains(&id) {
                lost.push((id, pos));
            }
        }
    }
    let begun = |id: &OpId| {
        positions
            .begins
            .get(id.slot)
            .is_some_and(|b| b.iter().any(|&(p, s)| s == id.seq && p < at))
    };
    let mut phantoms: Vec<String> = ids
        .iter()
        .filter(|id| !begun(id))
        .map(|id| id.to_string())
        .collect();
    phantoms.extend(junk.iter().cloned());
    let ev = |kind, op: Option<OpId>, detail: String| Evidence {
        kind,
        seen_by: seen_by.to_string(),
        op: op.map(|o| o.to_string()),
        writer: op.map(|o| o.slot),
        at_ms: 0,
        detail,
        bytes_hex: None,
        seed: 0,
    };
    let list = |ids: Vec<String>| {
        let n = ids.len();
        let mut shown = ids.into_iter().take(20).collect::<Vec<_>>().join(", ");
        if n > 20 {
            shown += &format!(" and {} more", n - 20);
        }
        shown
    };
    if let Some(&(first, pos)) = lost.first() {
        out.violations.lost += 1;
        out.most_lost = out.most_lost.max(lost.len() as u64);
        let detail = format!(
            "{} op(s) acknowledged by position {at} missing ({first} was acknowledged at position {pos}): {}",
            lost.len(),
            list(lost.iter().map(|l| l.0.to_string()).collect())
        );
        keep(out, ev(ViolationKind::Lost, Some(first), detail));
    }
    if !phantoms.is_empty() {
        out.violations.phantom += 1;
        let detail = format!(
            "{} line(s) that are no op begun before position {at}: {}",
            phantoms.len(),
            list(phantoms)
        );
        keep(out, ev(ViolationKind::Phantom, None, detail));
    }
}

/// Keeps the first evidence items of each class (the report keeps 32 in all).
fn keep(out: &mut Checked, ev: Evidence) {
    let same = out.evidence.iter().filter(|e| e.kind == ev.kind).count();
    if same < 8 {
        out.evidence.push(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EntryKind::{Flush as F, Write as W};

    fn power(points: Option<u64>, max_states: u64) -> PowerLoss {
        PowerLoss {
            fs: "ext4".into(),
            crash_points: points,
            max_states,
            image_mib: 256,
        }
    }

    fn positions(begins: Vec<Vec<(u64, u64)>>, acks: Vec<Vec<(u64, u64)>>) -> Positions {
        Positions {
            base: 0,
            begins,
            acks,
            reported: 0,
            stand_ins: 0,
        }
    }

    #[test]
    fn durable_ends_follow_the_last_flush() {
        assert_eq!(durable_ends(&[W, F, W, W, F, W]), vec![0, 0, 2, 2, 2, 5, 5]);
    }

    #[test]
    fn every_point_and_state_when_few() {
        let kinds = [W, W, F, W, W, F, W];
        let pos = positions(vec![vec![]], vec![vec![(6, 0)]]);
        let plan = Plan::new(&kinds, 2, 7, &pos, &power(None, 8), 1);
        // Positions after a write in (2, 7], and the ack at 6.
        let at: Vec<u64> = plan.points.iter().map(|p| p.at).collect();
        assert_eq!(at, vec![4, 5, 6, 7]);
        assert_eq!(plan.candidates, 4);
        let p5 = &plan.points[1];
        assert_eq!((p5.durable_end, p5.window), (3, 2));
        assert_eq!(p5.states, vec![vec![], vec![3, 4], vec![3], vec![4]]);
        let p6 = &plan.points[2];
        assert_eq!((p6.durable_end, p6.states.clone()), (6, vec![vec![]]));
    }

    #[test]
    fn a_run_that_wrote_nothing_is_still_cut_at_its_end() {
        let kinds = [W, F];
        let pos = positions(vec![vec![(2, 0)]], vec![vec![(2, 0)]]);
        let plan = Plan::new(&kinds, 2, 2, &pos, &power(Some(10), 4), 1);
        assert_eq!(plan.candidates, 1);
        assert_eq!(plan.points.len(), 1);
        assert_eq!((plan.points[0].at, plan.points[0].durable_end), (2, 2));
    }

    #[test]
    fn drawn_points_are_seeded_half_at_acks_and_bounded() {
        let kinds: Vec<EntryKind> = (0..400).map(|i| if i % 10 == 9 { F } else { W }).collect();
        let acks: Vec<(u64, u64)> = (0..30).map(|i| (i * 13 + 5, i)).collect();
        let pos = positions(vec![vec![]], vec![acks.clone()]);
        let a = Plan::new(&kinds, 0, 400, &pos, &power(Some(20), 3), 42);
        let b = Plan::new(&kinds, 0, 400, &pos, &power(Some(20), 3), 42);
        let c = Plan::new(&kinds, 0, 400, &pos, &power(Some(20), 3), 43);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.points.len(), 20);
        let at_acks = a
            .points
            .iter()
            .filter(|p| acks.iter().any(|x| x.0 == p.at))
            .count();
        assert!(at_acks >= 9, "{at_acks} of 20 at acknowledgements");
        assert_eq!(
            a.points.last().map(|p| p.at),
            Some(400),
            "the end is always checked"
        );
        for p in &a.points {
            assert!(p.states.len() <= 3 && !p.states.is_empty());
            assert!(p.at >= 1 && p.at <= 400);
            let mut sorted = p.states.clone();
            sorted.dedup();
            assert_eq!(sorted.len(), p.states.len());
        }
    }

    #[test]
    fn judged_against_the_positions() {
        // Writer 0: began at 10, acked at 20; began at 30, acked at 40.
        let pos = positions(vec![vec![(10, 0), (30, 1)]], vec![vec![(20, 0), (40, 1)]]);
        let verdict = |counters: Vec<u64>, at: u64| {
            let mut out = Checked::default();
            judge(&Image::Counters(counters), at, &pos, 1, "t", &mut out);
            (out.violations.lost, out.violations.phantom, out.most_lost)
        };
        assert_eq!(
            verdict(vec![0], 20),
            (1, 0, 1),
            "acked at 20, missing at 20"
        );
        assert_eq!(verdict(vec![0], 19), (0, 0, 0), "not yet acked at 19");
        assert_eq!(verdict(vec![1], 45), (1, 0, 1));
        assert_eq!(verdict(vec![0], 45), (1, 0, 2));
        assert_eq!(verdict(vec![2], 45), (0, 0, 0));
        assert_eq!(
            verdict(vec![1], 10),
            (0, 1, 0),
            "nothing had begun before 10"
        );
        assert_eq!(verdict(vec![1], 11), (0, 0, 0));
        assert_eq!(verdict(vec![2], 30), (0, 1, 0), "the second began at 30");
        let mut out = Checked::default();
        judge(
            &Image::Unmountable("bad superblock".into()),
            5,
            &pos,
            1,
            "t",
            &mut out,
        );
        judge(
            &Image::Unreadable("missing".into(), vec![]),
            5,
            &pos,
            1,
            "t",
            &mut out,
        );
        assert_eq!(out.violations.torn, 2);
        assert!(out.evidence[0].detail.contains("bad superblock"));
    }

    #[test]
    fn printed_ids_are_judged_against_the_positions() {
        let pos = positions(
            vec![vec![(10, 0), (30, 1)], vec![(12, 0)]],
            vec![vec![(20, 0), (40, 1)], vec![]],
        );
        let id = |s: &str| s.parse::<OpId>().unwrap();
        let verdict = |ids: &[&str], junk: &[&str], at: u64| {
            let mut out = Checked::default();
            let ids: Vec<OpId> = ids.iter().map(|s| id(s)).collect();
            let junk: Vec<String> = junk.iter().map(|s| s.to_string()).collect();
            judge(&Image::Ids(ids, junk), at, &pos, 2, "t", &mut out);
            (out.violations.lost, out.violations.phantom, out.most_lost)
        };
        assert_eq!(verdict(&[], &[], 19), (0, 0, 0));
        assert_eq!(verdict(&[], &[], 20), (1, 0, 1), "w0-0 acked at 20");
        assert_eq!(verdict(&["w0-0"], &[], 45), (1, 0, 1), "w0-1 acked at 40");
        assert_eq!(verdict(&["w0-0", "w0-1", "w1-0"], &[], 45), (0, 0, 0));
        assert_eq!(
            verdict(&["w0-0", "w1-0"], &[], 12),
            (0, 1, 0),
            "w1-0 began at 12"
        );
        assert_eq!(
            verdict(&["w0-0", "w0-1"], &[], 30),
            (0, 1, 0),
            "w0-1 began at 30"
        );
        assert_eq!(
            verdict(&["w0-0", "w9-3"], &[], 25),
            (0, 1, 0),
            "no op of the run"
        );
        assert_eq!(verdict(&["w0-0"], &["hello"], 25), (0, 1, 0));
    }
}
