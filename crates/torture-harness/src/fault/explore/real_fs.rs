//! `--faults power --fs FS`: the power-loss tier on a real file system.
//!
//! Where `--faults power` alone replays a recorded workload under a
//! persistence model, this runs it on the file system itself and cuts the
//! power in the block log the file system wrote, so what shows is that
//! file system's own behaviour: its journal, its write ordering, its
//! recovery on mount.
//!
//! 1. A recording disk with the file system ([`crate::disk`]); a run
//!    directory on it; the initial state (a built-in strategy's through
//!    the strategy, an outside program's `--init`), synced: the base.
//! 2. The warm-up operations, then the explored one, each a plain process
//!    (no tracer) that must exit 0 and show in a check. The log position is
//!    read before each starts (its begin) and after it exited (its
//!    acknowledgement).
//! 3. Crash points: the position after every write the log got between the
//!    explored operation's begin and its exit, and the position at its exit
//!    (the `exit 0 (acknowledged)` row). At each, the crash states of
//!    [`runner::power`](crate::runner::power): every write after the last
//!    flush kept or not (none, all, then subsets up to `--max-states`,
//!    seeded).
//! 4. Each distinct crash image is mounted once (the file system's recovery
//!    runs, its writes going to a private overlay), the state read (a
//!    built-in strategy's read path, or `--check`), then one more operation
//!    run in it and the state read again. At every crash point using the
//!    image, the state is judged as `--power-loss` judges it: not mountable
//!    or unreadable is `torn`, an operation acknowledged at or before the
//!    crash point and missing is `lost` (a state holding an operation that
//!    had not begun is reported as `torn`: no sequence of operations leaves
//!    it); a next operation that fails, hangs or loses is `no_recovery`.
//! 5. A crash point's cell is the union of its states' classes; each finding
//!    names the state that showed it and kept the most unflushed writes.
//!
//! A check's lines that are no op id of writer 0 are ignored, as the other
//! tiers of `explore` ignore them. The log depends on timing (the kernel's
//! own writeback may land in the operation's window), so a rerun repeats
//! the configuration, not the crash points.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use crashsafe::atomic::Durability;

use super::{ACKED_ROW, Present, artifacts_dir, bad, harness};
use crate::config::{ExploreConfig, STATE_FILE, Workload};
use crate::disk::{EntryKind, RecordingDisk};
use crate::fault::report::{
    CrashState, DiskPower, ExploreReport, FaultedRun, PointRow, PowerSummary, RunEnd,
};
use crate::process::Watchdog;
use crate::report::PowerLog;
use crate::runner::Positions;
use crate::runner::exec::{Which, stderr_path, tail};
use crate::runner::power::{self as cut, Checked, Commands, Image, Mounted, Point, Ran};
use crate::state::Document;
use crate::term::Bar;
use crate::vocab::{Fault, Finding, OpId, ViolationKind};

/// Explores the power-loss tier of `cfg`'s operation on file system `fs`.
pub(super) fn explore(cfg: &ExploreConfig, fs: &str) -> Result<ExploreReport, crate::Error> {
    let started = Instant::now();
    cut::preflight_fs(fs)?;
    let watchdog = Watchdog::start(&cfg.program).map_err(harness("cannot start the watchdog"))?;
    let watchdog = Arc::new(watchdog);
    let mut disk = cut::make_disk(fs, cfg.image_mib, &watchdog)?;
    let ops = Ops {
        cfg,
        commands: Commands::new(&watchdog)?,
    };
    let recorded = ops.record(&disk, &watchdog)?;
    disk.finish()
        .map_err(|e| crate::Error::Harness(format!("unmounting the recording disk: {e}")))?;
    let mut report = ExploreReport::new(cfg, &recorded.dir, &[]);
    if crate::platform::stop_requested() {
        report.interrupted = true;
        report.finish(started.elapsed());
        return Ok(report);
    }
    let rows = rows(
        &disk.kinds(),
        recorded.begin,
        recorded.exit,
        cfg.max_states as u64,
        cfg.seed,
    );
    let checked = ops.check(&disk, &rows, &recorded)?;
    report.points = rows.len() - 1;
    report.power = Some(summary(cfg, &disk, &recorded, &rows, &checked));
    let replay = cfg.replay(&cfg.faults, None);
    for (r, row) in rows.iter().enumerate() {
        let Some(states) = checked.rows.get(r) else {
            break;
        };
        let (v, best) = combine(&row.point, states);
        report.record_crash(r, &row.text, &v, &replay, &best);
        if let Some((_, state)) = best.first() {
            ops.keep_artifacts(&disk, &recorded.rel, r, state, &replay)?;
        }
        let mut table_row = PointRow {
            index: r,
            syscall: row.text.clone(),
            outcomes: Default::default(),
        };
        table_row.outcomes.insert(Fault::Power, v.outcome);
        report.table.push(table_row);
    }
    report.interrupted = checked.interrupted;
    report.finish(started.elapsed());
    Ok(report)
}

/// What the workload left on the disk: where each operation began and was
/// acknowledged in the block log.
struct Recorded {
    /// The run directory's path on the disk's file system.
    rel: PathBuf,
    /// The run directory, as it was mounted.
    dir: PathBuf,
    positions: Positions,
    /// The log position when the explored operation was started.
    begin: u64,
    /// The log position after it exited 0.
    exit: u64,
    /// The operations and their positions, in words.
    log: Vec<String>,
}

/// One crash point: where, and its row's text.
struct Row {
    point: Point,
    text: String,
}

/// What a crash image showed: its state, and why the next operation in it
/// failed (`None`: it succeeded, or the state could not be read at all).
struct Visited {
    image: Image,
    recovery: Option<String>,
}

/// The findings of one crash state: its index at its crash point, and each
/// violation with what was seen.
type StateFindings = (usize, Vec<(Finding, String)>);

/// What the crash states showed, row by row.
#[derive(Default)]
struct CheckedRows {
    /// Per row (crash point), each state's findings, in state order.
    rows: Vec<Vec<StateFindings>>,
    states: u64,
    images: u64,
    unmountable: u64,
    seconds: f64,
    interrupted: bool,
}

/// The crash points of a log with `kinds` between `begin` and `exit`: after
/// each write (or zeroed range) before the exit, and the exit.
fn rows(kinds: &[EntryKind], begin: u64, exit: u64, max_states: u64, seed: u64) -> Vec<Row> {
    let exit = exit.min(kinds.len() as u64);
    let begin = begin.min(exit);
    let last_flush = cut::durable_ends(kinds);
    let writes: Vec<u64> = (begin..exit)
        .filter(|&e| kinds[e as usize] != EntryKind::Flush)
        .collect();
    let n = writes.len();
    let mut rows: Vec<Row> = writes
        .iter()
        .enumerate()
        .filter(|&(_, &e)| e + 1 < exit)
        .map(|(i, &e)| {
            let what = match kinds[e as usize] {
                EntryKind::Zero => "zeroing",
                _ => "write",
            };
            Row {
                point: Point::new(kinds, &last_flush, e + 1, max_states, seed),
                text: format!("block log {} ({what} {} of {n} of the op)", e + 1, i + 1),
            }
        })
        .collect();
    rows.push(Row {
        point: Point::new(kinds, &last_flush, exit, max_states, seed),
        text: ACKED_ROW.to_string(),
    });
    rows
}

/// The operations of the exploration, as plain processes.
struct Ops<'a> {
    cfg: &'a ExploreConfig,
    commands: Commands,
}

impl Ops<'_> {
    /// Runs the initial state, the warm-ups and the explored operation in a
    /// fresh run directory on `disk`, which goes again afterwards (its
    /// removal is logged after the last crash point).
    fn record(
        &self,
        disk: &RecordingDisk,
        watchdog: &Arc<Watchdog>,
    ) -> Result<Recorded, crate::Error> {
        let dir = cut::run_dir(disk, watchdog)?;
        let rel = dir
            .path
            .strip_prefix(disk.root())
            .map(Path::to_path_buf)
            .map_err(|_| crate::Error::Harness("the run directory is not on the disk".into()))?;
        let recorded = self.record_in(disk, &dir.path, rel);
        if let Workload::Builtin(s) = &self.cfg.workload {
            s.close_all();
        }
        drop(dir);
        recorded
    }

    fn record_in(
        &self,
        disk: &RecordingDisk,
        dir: &Path,
        rel: PathBuf,
    ) -> Result<Recorded, crate::Error> {
        self.init(dir)?;
        let base = disk
            .sync()
            .map_err(|e| crate::Error::Harness(format!("syncing the initial state: {e}")))?;
        let mut positions = Positions {
            base,
            begins: vec![Vec::new()],
            acks: vec![Vec::new()],
            ..Positions::default()
        };
        let explored = self.cfg.warmup_ops;
        let mut log = Vec::new();
        let (mut begin, mut exit) = (base, base);
        for seq in 0..=explored {
            if crate::platform::stop_requested() {
                break;
            }
            let what = if seq == explored {
                "explored"
            } else {
                "warm-up"
            };
            begin = disk.position();
            self.clean_op(dir, seq, what)?;
            exit = disk.position();
            positions.begins[0].push((begin, seq));
            positions.acks[0].push((exit, seq));
            log.push(format!(
                "[{}] {what} operation: block log {begin}..{exit}, exit 0",
                OpId::new(0, seq)
            ));
            self.shows(dir, seq, what)?;
        }
        Ok(Recorded {
            rel,
            dir: dir.to_path_buf(),
            positions,
            begin,
            exit,
            log,
        })
    }

    /// The initial state; an outside program's check must show no op in it.
    fn init(&self, dir: &Path) -> Result<(), crate::Error> {
        let spec = match &self.cfg.workload {
            Workload::Builtin(strategy) => {
                let fresh = Document::new(1, self.cfg.payload).encode();
                let made = strategy.update(&dir.join(STATE_FILE), &mut |_| Ok(fresh.clone()));
                strategy.close_all();
                return made.map_err(|e| {
                    crate::Error::Harness(format!("cannot create the initial state: {e}"))
                });
            }
            Workload::Exec(spec) => spec,
        };
        if spec.init.is_some() {
            let out = self.commands.output("init.out");
            let cmd = spec
                .command(Which::Init, dir, &out)
                .map_err(harness("cannot create the output file"))?;
            let ran = self
                .commands
                .run(cmd, self.cfg.op_timeout, 0)
                .map_err(harness("cannot run --init"))?;
            if !ran.succeeded() {
                return Err(bad(format!("--init failed ({}): {}", ran, tail(&out))));
            }
        }
        match present(&self.read(dir, 0)?) {
            Ok(Present::Ids(ids)) if ids.is_empty() => Ok(()),
            Ok(_) => Err(bad(
                "--check printed op ids on the fresh state, before any operation".into(),
            )),
            Err(why) => Err(bad(format!("--check failed on the fresh state: {why}"))),
        }
    }

    /// Runs operation `seq` in `dir`; it must exit 0 within the op timeout.
    fn clean_op(&self, dir: &Path, seq: u64, what: &str) -> Result<(), crate::Error> {
        let out = self.commands.output("op.out");
        let cmd = self.op_command(dir, seq, &out)?;
        let ran = self
            .commands
            .run(cmd, self.cfg.op_timeout, 0)
            .map_err(harness("cannot run the operation"))?;
        if ran.succeeded() {
            return Ok(());
        }
        Err(bad(format!(
            "the {what} operation {} fails without any fault ({ran}): {}",
            OpId::new(0, seq),
            tail(&out)
        )))
    }

    /// The state in `dir` must show every op up to `seq`.
    fn shows(&self, dir: &Path, seq: u64, what: &str) -> Result<(), crate::Error> {
        let must: Vec<u64> = (0..=seq).collect();
        match present(&self.read(dir, 0)?) {
            Ok(p) if p.missing(&must).is_none() => Ok(()),
            Ok(_) => Err(bad(format!(
                "after the {what} operation {} the check does not show every op so far, without any fault: is --check right?",
                OpId::new(0, seq)
            ))),
            Err(why) => Err(bad(format!(
                "after the {what} operation {} the state is unreadable without any fault: {why}",
                OpId::new(0, seq)
            ))),
        }
    }

    /// The command of operation `seq` in `dir`, its output to `out`: an
    /// outside program's `--exec`, or a built-in strategy's `__op`.
    fn op_command(&self, dir: &Path, seq: u64, out: &Path) -> Result<Command, crate::Error> {
        let strategy = match &self.cfg.workload {
            Workload::Exec(spec) => {
                return spec
                    .command(Which::Op(0, seq), dir, out)
                    .map_err(harness("cannot create the output file"));
            }
            Workload::Builtin(strategy) => strategy,
        };
        let file = File::create(out).map_err(harness("cannot create the output file"))?;
        let err =
            File::create(stderr_path(out)).map_err(harness("cannot create the output file"))?;
        let mut cmd = Command::new(&self.cfg.program);
        cmd.arg(crate::runner::child::OP_SUBCOMMAND)
            .arg(strategy.name())
            .arg(dir.join(STATE_FILE))
            .arg("0")
            .arg(seq.to_string())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err);
        Ok(cmd)
    }

    /// The state in run directory `dir`, read by worker `worker`: only
    /// writer 0's op ids of a check count.
    fn read(&self, dir: &Path, worker: usize) -> Result<Image, crate::Error> {
        let spec = match &self.cfg.workload {
            Workload::Builtin(s) => return Ok(cut::read_builtin(*s, dir)),
            Workload::Exec(spec) => spec,
        };
        let mut image = cut::read_check(spec, &self.commands, self.cfg.op_timeout, dir, worker)?;
        if let Image::Ids(ids, junk) = &mut image {
            ids.retain(|id| id.slot == 0);
            junk.clear();
        }
        Ok(image)
    }

    /// Mounts each distinct image of `rows` once, reads it and runs the
    /// next operation in it; then judges every state at its crash point.
    fn check(
        &self,
        disk: &RecordingDisk,
        rows: &[Row],
        recorded: &Recorded,
    ) -> Result<CheckedRows, crate::Error> {
        let start = Instant::now();
        let points: Vec<Point> = rows.iter().map(|r| r.point.clone()).collect();
        let (keys, index) = cut::distinct_images(&points);
        let bar = Bar::new(
            self.cfg.progress,
            keys.len() as u64,
            format!("0/{} crash images checked", keys.len()),
        );
        let visited = cut::visit_images(disk, &keys, &bar, &|root, worker| {
            self.visit(root, &recorded.rel, worker)
        })?;
        let mut out = CheckedRows::default();
        'rows: for point in &points {
            let mut here = Vec::with_capacity(point.states.len());
            for (i, kept) in point.states.iter().enumerate() {
                let Some(v) = &visited[index[&(point.durable_end, kept.as_slice())]] else {
                    out.interrupted = true;
                    break 'rows;
                };
                out.states += 1;
                let mut checked = Checked::default();
                cut::judge(&v.image, point.at, &recorded.positions, 1, "", &mut checked);
                let mut findings = findings_of(&checked);
                if let Some(why) = &v.recovery {
                    findings.push((Finding::NoRecovery, why.clone()));
                }
                here.push((i, findings));
            }
            out.rows.push(here);
        }
        let seen: Vec<&Visited> = visited.iter().flatten().collect();
        out.images = seen.len() as u64;
        out.unmountable = seen
            .iter()
            .filter(|v| matches!(v.image, Image::Unmountable(_)))
            .count() as u64;
        out.seconds = start.elapsed().as_secs_f64();
        Ok(out)
    }

    /// Reads one mounted crash image, then runs the next operation in it.
    fn visit(&self, root: Mounted<'_>, rel: &Path, worker: usize) -> Result<Visited, crate::Error> {
        let root = match root {
            Ok(root) => root,
            Err(why) => {
                return Ok(Visited {
                    image: Image::Unmountable(why),
                    recovery: None,
                });
            }
        };
        let dir = root.join(rel);
        let image = self.read(&dir, worker)?;
        let recovery = match present(&image) {
            Ok(p) => self.recovery(&dir, worker, &p)?,
            Err(_) => None,
        };
        Ok(Visited { image, recovery })
    }

    /// Runs the operation after the explored one in `dir`, whose state
    /// holds `held`; `Some(why)` if it fails, hangs, or loses what was there.
    fn recovery(
        &self,
        dir: &Path,
        worker: usize,
        held: &Present,
    ) -> Result<Option<String>, crate::Error> {
        let next = self.cfg.warmup_ops + 1;
        let out = self.commands.output(&format!("recovery-{worker}.out"));
        let cmd = self.op_command(dir, next, &out)?;
        let timeout = self.cfg.recovery_timeout;
        let ran = self
            .commands
            .run(cmd, timeout, worker as u64)
            .map_err(harness("cannot run the next operation"))?;
        match ran {
            Ran::TimedOut => {
                return Ok(Some(format!(
                    "the next operation did not finish within {timeout:?}"
                )));
            }
            Ran::Ended(s) if !s.success() => {
                return Ok(Some(format!(
                    "the next operation failed ({ran}): {}",
                    tail(&out)
                )));
            }
            Ran::Ended(_) => {}
        }
        let must = held.plus(next);
        Ok(match present(&self.read(dir, worker)?) {
            Ok(p) => p
                .missing(&must)
                .map(|what| format!("after the next operation, {what}")),
            Err(why) => Some(format!(
                "after the next operation the state is unreadable: {why}"
            )),
        })
    }

    /// `--artifacts`: crash point `row`'s failing `state`, mounted again,
    /// its run directory copied out (`dir/`, as the file system's recovery
    /// left it, before the next operation), with what the state is
    /// (`state.txt`) and the command that reruns the exploration.
    fn keep_artifacts(
        &self,
        disk: &RecordingDisk,
        rel: &Path,
        row: usize,
        state: &CrashState,
        replay: &str,
    ) -> Result<(), crate::Error> {
        let Some(root) = &self.cfg.artifacts else {
            return Ok(());
        };
        let here = root.join(format!("point-{row:03}-power"));
        let io = |e: &dyn std::fmt::Display| {
            crate::Error::Harness(format!("cannot keep artifacts in {}: {e}", here.display()))
        };
        let harness = |e: crate::output::OutputError| crate::Error::Harness(e.to_string());
        artifacts_dir(root).create().map_err(harness)?;
        std::fs::create_dir_all(&here).map_err(|e| io(&e))?;
        let mounted = match disk.mount_view(state.durable_end, &state.kept) {
            Ok(view) => {
                crate::copy::copy_tree(&view.root().join(rel), &here.join("dir"), Durability::Full)
                    .map(|()| {
                        "its run directory is dir/, as the file system's recovery left it"
                            .to_string()
                    })
                    .map_err(|e| io(&e))?
            }
            Err(crate::disk::ViewError::MountFailed(why)) => format!("it does not mount: {why}"),
            Err(crate::disk::ViewError::Harness(why)) => return Err(io(&why)),
        };
        let kept: Vec<String> = state.kept.iter().map(u64::to_string).collect();
        let text = format!(
            "power cut at block-log position {}\ndurable: every entry before {}\nunflushed writes: {}, kept: [{}]\n{mounted}\n",
            state.position,
            state.durable_end,
            state.unflushed,
            kept.join(", ")
        );
        crate::output::OutputTarget::file("--artifacts", here.join("state.txt"))
            .write(text.as_bytes())
            .map_err(harness)?;
        let script = format!(
            "#!/bin/sh\n# Reruns the exploration (a new block log: the crash points may differ).\n{replay}\n"
        );
        crate::output::OutputTarget::file("--artifacts", here.join("replay.sh"))
            .executable()
            .write(script.as_bytes())
            .map_err(harness)
    }
}

/// The ops a state holds, or why it cannot be read.
fn present(image: &Image) -> Result<Present, String> {
    match image {
        Image::Counters(c) => Ok(Present::Count(c.first().copied().unwrap_or(0))),
        Image::Ids(ids, _) => Ok(Present::Ids(ids.iter().map(|id| id.seq).collect())),
        Image::Unmountable(why) => Err(format!("the crash image does not mount: {why}")),
        Image::Unreadable(why, _) => Err(why.clone()),
    }
}

/// The runner's violations of one state, in the words of an exploration.
fn findings_of(checked: &Checked) -> Vec<(Finding, String)> {
    checked
        .evidence
        .iter()
        .map(|ev| match ev.kind {
            ViolationKind::Lost => (Finding::Lost, ev.detail.clone()),
            ViolationKind::Phantom => (
                Finding::Torn,
                format!(
                    "the state holds an operation that had not begun: {}",
                    ev.detail
                ),
            ),
            _ => (Finding::Torn, ev.detail.clone()),
        })
        .collect()
}

/// One crash point's cell and findings from its states': the union of the
/// classes; for each class, the state that kept the most unflushed writes.
fn combine(point: &Point, states: &[StateFindings]) -> (FaultedRun, Vec<(Finding, CrashState)>) {
    let mut v = FaultedRun::default();
    let mut best_states = Vec::new();
    for class in Finding::ALL {
        let best = states
            .iter()
            .filter_map(|(i, findings)| {
                findings
                    .iter()
                    .find(|f| f.0 == class)
                    .map(|f| (&point.states[*i], &f.1))
            })
            .max_by_key(|(kept, _)| kept.len());
        let Some((kept, detail)) = best else {
            continue;
        };
        v.findings.push((
            class,
            format!(
                "{detail} (power cut at block-log position {}, every entry before {} durable, {} of {} unflushed write(s) kept)",
                point.at,
                point.durable_end,
                kept.len(),
                point.window
            ),
        ));
        best_states.push((
            class,
            CrashState {
                position: point.at,
                durable_end: point.durable_end,
                unflushed: point.window,
                kept: kept.clone(),
            },
        ));
    }
    v.outcome.classes = v.findings.iter().map(|f| f.0).collect();
    v.outcome.end = RunEnd::Ok;
    (v, best_states)
}

/// The `power` section of the report.
fn summary(
    cfg: &ExploreConfig,
    disk: &RecordingDisk,
    recorded: &Recorded,
    rows: &[Row],
    checked: &CheckedRows,
) -> PowerSummary {
    let stats = disk.stats();
    let every = |p: &Point| p.window < 63 && (1u64 << p.window) <= p.states.len() as u64;
    let sampled: Vec<&Point> = rows
        .iter()
        .map(|r| &r.point)
        .filter(|p| !every(p))
        .collect();
    let skipped: f64 = sampled
        .iter()
        .map(|p| 2f64.powi(p.window.min(1023) as i32) - p.states.len() as f64)
        .fold(0.0, |sum, n| sum + n);
    let seconds = checked.seconds;
    let states_per_second = checked.states as f64 / seconds.max(1e-9);
    let label = format!("power loss ({})", disk.spec().label());
    PowerSummary {
        model: None,
        seed: cfg.seed,
        max_states: cfg.max_states,
        log: recorded.log.clone(),
        crash_points: rows.len(),
        states: checked.states,
        distinct: checked.images,
        sampled_points: sampled.len(),
        skipped,
        seconds,
        states_per_second,
        disk: Some(DiskPower {
            fs: disk.spec().name.clone(),
            label,
            mkfs: disk.mkfs_line().to_string(),
            mount_options: disk.mount_options().to_string(),
            image_bytes: cfg.image_mib << 20,
            block_log: PowerLog {
                start: recorded.positions.base,
                end: disk.position(),
                writes: stats.writes,
                flushes: stats.flushes,
                zeroes: stats.zeroes,
                bytes: stats.bytes,
            },
            op_begin: recorded.begin,
            op_exit: recorded.exit,
            crash_states: checked.states,
            distinct_images: checked.images,
            unmountable: checked.unmountable,
        }),
        ..PowerSummary::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EntryKind::{Flush as F, Write as W, Zero as Z};

    #[test]
    fn a_crash_point_after_every_write_of_the_operation_and_its_exit() {
        // Entries 0..2 before the op; the op wrote 2, 3 (a flush), 4, 5, 6.
        let kinds = [W, F, W, F, Z, W, W, F];
        let rows = rows(&kinds, 2, 7, 4, 1);
        let text: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            text,
            [
                "block log 3 (write 1 of 4 of the op)",
                "block log 5 (zeroing 2 of 4 of the op)",
                "block log 6 (write 3 of 4 of the op)",
                ACKED_ROW,
            ],
            "the last write's position is the exit's"
        );
        let at: Vec<u64> = rows.iter().map(|r| r.point.at).collect();
        assert_eq!(at, [3, 5, 6, 7]);
        let exit = &rows[3].point;
        assert_eq!((exit.durable_end, exit.window), (4, 3));
        assert!(exit.states.len() <= 4 && exit.states[0].is_empty());
    }

    #[test]
    fn an_operation_that_wrote_nothing_has_only_its_exit() {
        let kinds = [W, F];
        let rows = rows(&kinds, 2, 2, 8, 1);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].text, ACKED_ROW);
        assert_eq!(rows[0].point.states, vec![Vec::<u64>::new()]);
    }

    #[test]
    fn a_finding_names_the_state_that_kept_the_most() {
        let point = Point {
            at: 9,
            durable_end: 5,
            window: 3,
            states: vec![vec![], vec![5, 6, 7], vec![5], vec![5, 6]],
        };
        let lost = |what: &str| vec![(Finding::Lost, what.to_string())];
        let states = vec![
            (0, lost("none kept")),
            (1, vec![]),
            (2, lost("one kept")),
            (3, vec![(Finding::NoRecovery, "stuck".to_string())]),
        ];
        let (v, best) = combine(&point, &states);
        assert_eq!(v.outcome.classes, [Finding::Lost, Finding::NoRecovery]);
        assert!(v.findings[0].1.starts_with("one kept"), "{:?}", v.findings);
        assert!(
            v.findings[0].1.contains("1 of 3 unflushed"),
            "{:?}",
            v.findings
        );
        assert_eq!(best[0].1.kept, vec![5]);
        assert_eq!(best[1].1.kept, vec![5, 6]);
    }
}
