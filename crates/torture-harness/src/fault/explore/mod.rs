//! `torture explore`: every fault at every fault point of one operation.
//!
//! 1. A fresh run directory gets the initial state and `warmup_ops`
//!    ordinary operations, so there is acknowledged state to lose; then it is
//!    snapshotted.
//! 2. One operation is recorded under ptrace: its fault points. The run
//!    directory is then sealed (its manifest lists what the program made)
//!    and left alone.
//! 3. For each point and each fault that can happen there, a worker
//!    directory (in the exploration's own temporary directory, never the
//!    run directory) is restored from the snapshot and the operation rerun
//!    with the fault injected at that point, matched by ordinal.
//! 4. After each faulted run: the state must be readable (`torn`), keep
//!    every acknowledged op (`lost`), hold the faulted op if it exited 0
//!    (`lost`), not have been acknowledged after a failed fsync
//!    (`unsafe_ack`), and an ordinary operation must still succeed in time
//!    (`no_recovery`).
//!
//! With `cfg.progress`, a bar on stderr counts the faulted runs done of all
//! (see [`crate::term::Bar`]); it is erased before `explore` returns, so
//! the caller's summary starts on a clean line.
//!
//! With `power` among the faults, the workload is recorded instead and its
//! crash states checked in the same workers (`power.rs`). With `--fs`, the
//! operations run on a real file system on a recording disk instead, and
//! the crash states are those of its block log (`real_fs.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crashsafe::atomic::Durability;
use crashsafe::{IoContext, Step};

use super::report::{ExploreReport, FaultedRun, Outcome, PointRow, RunEnd};
use super::syscalls::Class;
use super::tracer::{self, End, Injection, Point, Scope, Trace, TraceError, TraceOptions};
use crate::config::{ExploreConfig, STATE_FILE, Workload};
use crate::copy::copy_tree;
use crate::owned::{Kind, ScratchDir};
use crate::process::Watchdog;
use crate::runner::child;
use crate::runner::exec::{Which, tail};
use crate::state::Document;
use crate::strategy::Strategy;
use crate::term::Bar;
use crate::vocab::{Fault, Finding, OpId};

mod power;
mod real_fs;

use power::{CrashStates, StateJob};

impl From<TraceError> for crate::Error {
    fn from(e: TraceError) -> Self {
        match e {
            TraceError::NotPermitted(_) => crate::Error::BadInput(e.to_string()),
            TraceError::Io(_) => crate::Error::Harness(e.to_string()),
        }
    }
}

fn harness<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> crate::Error + '_ {
    move |e| crate::Error::Harness(format!("{what}: {e}"))
}

/// What a check of the state found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    /// The state is readable and holds these ops.
    Readable(Present),
    /// The state cannot be read, and why.
    Unreadable(String),
}

/// The ops a readable state holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Present {
    /// The sequence numbers of writer 0's ops (an outside program's check).
    Ids(BTreeSet<u64>),
    /// How many ops were applied (a built-in document counts them).
    Count(u64),
}

impl Present {
    /// The ops that must be present after one more op, `next`.
    fn plus(&self, next: u64) -> Vec<u64> {
        match self {
            Present::Ids(ids) => ids.iter().copied().chain([next]).collect(),
            Present::Count(n) => (0..=*n).collect(),
        }
    }

    /// What is missing of the ops `must`, in words; `None` if nothing.
    fn missing(&self, must: &[u64]) -> Option<String> {
        match self {
            Present::Ids(ids) => {
                let gone: Vec<String> = must
                    .iter()
                    .filter(|s| !ids.contains(s))
                    .map(|&s| OpId::new(0, s).to_string())
                    .collect();
                (!gone.is_empty()).then(|| format!("op(s) missing: {}", gone.join(", ")))
            }
            Present::Count(n) => (*n < must.len() as u64).then(|| {
                format!(
                    "the document counts {n} op(s), {} were acknowledged",
                    must.len()
                )
            }),
        }
    }
}

/// Explores every fault point of one operation and returns the report.
pub fn explore(cfg: &ExploreConfig) -> Result<ExploreReport, crate::Error> {
    let started = Instant::now();
    cfg.validate()?;
    if cfg.faults.is_empty() {
        return Err(crate::Error::BadInput("--faults names no fault".into()));
    }
    crate::paths::check_each(&[
        ("--dir", cfg.dir.as_deref()),
        ("--artifacts", cfg.artifacts.as_deref()),
    ])
    .map_err(crate::Error::BadInput)?;
    if let Some(a) = &cfg.artifacts {
        crate::runner::artifacts::check_target(a)?;
    }
    if let Some(fs) = &cfg.fs {
        let report = real_fs::explore(cfg, fs)?;
        keep_report(cfg, &report)?;
        return Ok(report);
    }
    // Removes the temporary directories if `torture` is killed.
    let watchdog = Watchdog::start(&cfg.program).map_err(harness("cannot start the watchdog"))?;
    let watchdog = Arc::new(watchdog);
    let run_dir = crate::runner::prepare_dir(cfg.dir.as_deref(), Some(&watchdog))?;
    let scratch = ScratchDir::in_tmp(Kind::Explore, Some(watchdog.clone()))
        .map_err(|e| crate::Error::Harness(format!("cannot create a scratch directory: {e}")))?;
    let mut first = Explorer::new(cfg, &run_dir.path, scratch.path().join("first"))?;
    let snapshot = scratch.path().join("snapshot");
    let power = cfg.faults.contains(&Fault::Power);
    let (recorded, recording) = if power {
        first.init()?;
        let checker = Explorer::new(
            cfg,
            &scratch.path().join("check").join("run"),
            scratch.path().join("check"),
        )?;
        let recording = first.record_workload(&checker, &snapshot)?;
        (recording.points.clone(), Some(recording))
    } else {
        first.prepare()?;
        copy_tree(&first.dir, &snapshot, Durability::None)
            .map_err(harness("cannot snapshot the run directory"))?;
        (first.record()?, None)
    };
    let crash = recording
        .as_ref()
        .map(|r| power::crash_states(r, cfg.model, cfg.max_states, cfg.seed, cfg.only_point));
    let clean_names = names(&first.dir);
    // The program is done with the run directory: what is in it now is its.
    run_dir.seal(&cfg.workload);
    let mut jobs: Vec<Job<'_>> = recorded
        .iter()
        .filter(|p| cfg.only_point.is_none_or(|only| only == p.ordinal))
        .flat_map(|p| {
            cfg.faults
                .iter()
                .filter(|f| p.admits(**f))
                .map(move |&f| Job::Point(p, f))
        })
        .collect();
    if let Some(c) = &crash {
        jobs.extend(c.jobs.iter().map(Job::State));
    }
    // More workers than jobs would only make directories.
    let workers = (0..cfg.jobs.clamp(1, jobs.len().max(1)))
        .map(|i| {
            let home = scratch.path().join(format!("w{i}"));
            Explorer::new(cfg, &home.join("run"), home)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut bar = Bar::new(
        cfg.progress,
        jobs.len() as u64,
        format!("0/{} faulted runs", jobs.len()),
    );
    let ctx = Shared {
        bar: &bar,
        finished: std::sync::atomic::AtomicUsize::new(0),
        violating: std::sync::atomic::AtomicUsize::new(0),
        jobs: &jobs,
        snapshot: &snapshot,
        clean_names: &clean_names,
        recorded: &recorded,
        next: std::sync::atomic::AtomicUsize::new(0),
        results: std::sync::Mutex::new(vec![None; jobs.len()]),
        error: std::sync::Mutex::new(None),
        checked: std::sync::Mutex::new(std::collections::HashMap::new()),
    };
    let states_started = Instant::now();
    std::thread::scope(|s| {
        for w in &workers {
            let ctx = &ctx;
            s.spawn(move || w.work(ctx));
        }
    });
    if let Some(e) = ctx.error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let states_seconds = states_started.elapsed().as_secs_f64();
    let distinct = ctx.checked.into_inner().map_or(0, |c| c.len()) as u64;
    let results = ctx.results.into_inner().unwrap_or_else(|p| p.into_inner());
    // Erased before the caller prints the summary (and on an error, when dropped).
    bar.clear();
    let mut report = ExploreReport::new(cfg, &run_dir.path, &recorded);
    let mut rows: BTreeMap<usize, PointRow> = BTreeMap::new();
    let mut by_row: BTreeMap<usize, Vec<(&StateJob, &FaultedRun)>> = BTreeMap::new();
    for (job, v) in jobs.iter().zip(&results) {
        let Some(v) = v else {
            report.interrupted = true;
            continue;
        };
        match job {
            Job::Point(point, fault) => {
                let row = rows
                    .entry(point.ordinal)
                    .or_insert_with(|| PointRow::new(point));
                report.record(point, *fault, v, &workers[0].replay(point.ordinal, *fault));
                row.outcomes.insert(*fault, v.outcome.clone());
            }
            Job::State(state) => by_row.entry(state.row).or_default().push((state, v)),
        }
    }
    if let Some(CrashStates { summary, .. }) = &crash {
        report.power = Some(summary.clone());
        for (row, states) in &by_row {
            let (text, at) = match recorded.get(*row) {
                Some(p) => (p.text.clone(), format!("at the entry of #{row} {}", p.text)),
                None => (
                    ACKED_ROW.to_string(),
                    "after the operation exited 0".to_string(),
                ),
            };
            let (v, dropped) = power::combine(states, &at);
            let replay = workers[0].replay(*row, Fault::Power);
            report.record_at(*row, &text, Fault::Power, &v, &replay, &dropped);
            if !v.findings.is_empty()
                && let Some(best) = states
                    .iter()
                    .filter(|(_, r)| !r.findings.is_empty())
                    .min_by_key(|(j, _)| j.dropped.len())
            {
                keep_power_artifacts(cfg, best.0, &at, &summary.log, &replay)?;
            }
            rows.entry(*row)
                .or_insert_with(|| PointRow {
                    index: *row,
                    syscall: text,
                    outcomes: BTreeMap::new(),
                })
                .outcomes
                .insert(Fault::Power, v.outcome);
        }
        if let Some(p) = report.power.as_mut() {
            p.distinct = distinct;
            p.seconds = states_seconds;
            p.states_per_second = p.states as f64 / states_seconds.max(1e-9);
        }
    }
    report.table = rows.into_values().collect();
    report.finish(started.elapsed());
    keep_report(cfg, &report)?;
    Ok(report)
}

/// `--artifacts`: the JSON report beside the evidence, when there is any.
fn keep_report(cfg: &ExploreConfig, report: &ExploreReport) -> Result<(), crate::Error> {
    if let Some(a) = &cfg.artifacts
        && report.failed()
    {
        let dir = artifacts_dir(a);
        dir.create()
            .and_then(|()| report.write_json(&dir.file("report.json")))
            .map_err(|e| crate::Error::Harness(e.to_string()))?;
    }
    Ok(())
}

/// What the workers share: the job list, handed out one at a time, and
/// the results in job order.
struct Shared<'j> {
    /// The progress bar: jobs done of all.
    bar: &'j Bar,
    /// Jobs done, and those that found something, for the bar.
    finished: std::sync::atomic::AtomicUsize,
    violating: std::sync::atomic::AtomicUsize,
    jobs: &'j [Job<'j>],
    snapshot: &'j Path,
    clean_names: &'j BTreeSet<String>,
    recorded: &'j [Point],
    next: std::sync::atomic::AtomicUsize,
    results: std::sync::Mutex<Vec<Option<FaultedRun>>>,
    error: std::sync::Mutex<Option<crate::Error>>,
    /// Crash states checked, by (digest, acknowledged ops): an identical
    /// directory owing the same operations is not checked twice.
    checked: std::sync::Mutex<std::collections::HashMap<(u64, u64), FaultedRun>>,
}

/// One unit of work: a fault at a point, or a crash state.
enum Job<'a> {
    /// Rerun the operation with this fault at this point.
    Point(&'a Point, Fault),
    /// Check this crash state (`--faults power`).
    State(&'a StateJob),
}

/// The row of the crash after the explored operation exited 0.
const ACKED_ROW: &str = "exit 0 (acknowledged)";

impl Shared<'_> {
    fn failed(&self) -> bool {
        self.error.lock().map(|e| e.is_some()).unwrap_or(true)
    }

    /// One more job done, on the bar.
    fn done(&self, v: &FaultedRun) {
        use std::sync::atomic::Ordering;
        let found = usize::from(!v.findings.is_empty());
        let violating = self.violating.fetch_add(found, Ordering::SeqCst) + found;
        let done = self.finished.fetch_add(1, Ordering::SeqCst) + 1;
        self.bar.set(
            done as u64,
            format!(
                "{done}/{} faulted runs, {violating} violating",
                self.jobs.len()
            ),
        );
    }

    fn fail(&self, e: crate::Error) {
        if let Ok(mut slot) = self.error.lock() {
            slot.get_or_insert(e);
        }
    }
}

struct Explorer<'a> {
    cfg: &'a ExploreConfig,
    /// Where its operations run.
    dir: PathBuf,
    scope: Scope,
    /// Its own working directory: command output, the copy after a fault.
    scratch: PathBuf,
    /// The sequence number of the explored operation.
    seq: u64,
}

impl<'a> Explorer<'a> {
    /// An explorer running in `dir` (made if missing) and keeping its
    /// files in `scratch` (made).
    fn new(cfg: &'a ExploreConfig, dir: &Path, scratch: PathBuf) -> Result<Self, crate::Error> {
        fs::create_dir_all(&scratch).map_err(harness("cannot create a scratch directory"))?;
        fs::create_dir_all(dir).map_err(harness("cannot create a worker directory"))?;
        Ok(Explorer {
            cfg,
            dir: dir.to_path_buf(),
            scope: Scope {
                dir: dir.to_path_buf(),
                all: cfg.all_syscalls,
            },
            scratch,
            seq: cfg.warmup_ops,
        })
    }

    fn state(&self) -> PathBuf {
        match &self.cfg.workload {
            Workload::Builtin(_) => self.dir.join(STATE_FILE),
            Workload::Exec(spec) => spec.state_path(&self.dir),
        }
    }

    fn output(&self) -> PathBuf {
        self.scratch.join("output")
    }

    /// The command of one of the program's commands (a built-in strategy
    /// has only operations).
    fn command(&self, which: Which) -> Result<Command, crate::Error> {
        let out = self.output();
        match &self.cfg.workload {
            Workload::Exec(spec) => spec
                .command(which, &self.dir, &out)
                .map_err(harness("cannot create the output file")),
            Workload::Builtin(strategy) => {
                let Which::Op(slot, seq) = which else {
                    unreachable!("built-in strategies are checked in process")
                };
                let file =
                    fs::File::create(&out).map_err(harness("cannot create the output file"))?;
                let err = file
                    .try_clone()
                    .map_err(harness("cannot create the output file"))?;
                let mut cmd = Command::new(&self.cfg.program);
                cmd.arg(child::OP_SUBCOMMAND)
                    .arg(strategy.name())
                    .arg(self.state())
                    .arg(slot.to_string())
                    .arg(seq.to_string())
                    .current_dir(&self.dir)
                    .stdin(Stdio::null())
                    .stdout(file)
                    .stderr(err);
                Ok(cmd)
            }
        }
    }

    /// Runs one command to its end under the tracer; `points`: stop at
    /// file-system syscalls to find fault points (the recorded and the
    /// faulted runs), else only follow it (checks, warm-up, recovery).
    fn run(
        &self,
        which: Which,
        injection: Option<Injection>,
        timeout: Duration,
        points: bool,
    ) -> Result<(Trace, String), crate::Error> {
        let cmd = self.command(which)?;
        let options = TraceOptions {
            timeout: Some(timeout),
            own_group: true,
            points,
            end_with_leader: false,
        };
        let mut policy = injection;
        let trace = tracer::trace(cmd, &self.scope, &mut policy, options, &|_| {})?;
        Ok((trace, tail(&self.output())))
    }

    /// Initial state, preflight check, warm-up operations.
    fn prepare(&mut self) -> Result<(), crate::Error> {
        self.init()?;
        for seq in 0..self.cfg.warmup_ops {
            self.clean_op(seq, "warm-up", false)?;
        }
        Ok(())
    }

    /// Initial state and preflight check.
    fn init(&mut self) -> Result<(), crate::Error> {
        match &self.cfg.workload {
            Workload::Builtin(strategy) => {
                let fresh = Document::new(1, self.cfg.payload).encode();
                strategy
                    .update(&self.state(), &mut |_| Ok(fresh.clone()))
                    .map_err(|e| {
                        crate::Error::Harness(format!("cannot create the initial state: {e}"))
                    })?;
            }
            Workload::Exec(spec) => {
                if spec.init.is_some() {
                    let (t, out) = self.run(Which::Init, None, self.cfg.op_timeout, false)?;
                    if !t.end.success() || t.timed_out {
                        return Err(bad(format!("--init failed ({}): {out}", describe(&t))));
                    }
                }
                match self.check()? {
                    Check::Readable(Present::Ids(ids)) if ids.is_empty() => {}
                    Check::Readable(_) => {
                        return Err(bad(
                            "--check printed op ids on the fresh state, before any operation"
                                .into(),
                        ));
                    }
                    Check::Unreadable(why) => {
                        return Err(bad(format!("--check failed on the fresh state: {why}")));
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs operation `seq` with no fault; it must succeed and show.
    fn clean_op(&self, seq: u64, what: &str, points: bool) -> Result<Trace, crate::Error> {
        let (t, out) = self.run(Which::Op(0, seq), None, self.cfg.op_timeout, points)?;
        if !t.end.success() || t.timed_out {
            return Err(bad(format!(
                "the {what} operation {} fails without any fault ({}): {out}",
                OpId::new(0, seq),
                describe(&t)
            )));
        }
        if points && t.points.is_empty() {
            return Err(bad(format!(
                "the operation made no file-system syscall in {}: does it use $TORTURE_STATE? (--all-syscalls counts syscalls anywhere)",
                self.dir.display()
            )));
        }
        let must: Vec<u64> = (0..=seq).collect();
        match self.check()? {
            Check::Readable(p) if p.missing(&must).is_none() => Ok(t),
            Check::Readable(_) => Err(bad(format!(
                "after the {what} operation {} the check does not show every op so far, without any fault: is --check right?",
                OpId::new(0, seq)
            ))),
            Check::Unreadable(why) => Err(bad(format!(
                "after the {what} operation {} the state is unreadable without any fault: {why}",
                OpId::new(0, seq)
            ))),
        }
    }

    /// Records the explored operation's fault points.
    fn record(&self) -> Result<Vec<Point>, crate::Error> {
        let t = self.clean_op(self.seq, "explored", true)?;
        if let Some(p) = self.cfg.only_point
            && p >= t.points.len()
        {
            return Err(bad(format!(
                "--point {p}: the operation has {} fault points (0 to {})",
                t.points.len(),
                t.points.len() - 1
            )));
        }
        Ok(t.points)
    }

    /// The ops present in the state, as the program (or strategy) reads it.
    fn check(&self) -> Result<Check, crate::Error> {
        match &self.cfg.workload {
            Workload::Builtin(strategy) => Ok(check_builtin(*strategy, &self.state())),
            Workload::Exec(_) => {
                let (t, out) = self.run(Which::Check, None, self.cfg.op_timeout, false)?;
                if t.timed_out {
                    return Ok(Check::Unreadable(format!(
                        "the check did not finish within {:?}",
                        self.cfg.op_timeout
                    )));
                }
                if !t.end.success() {
                    return Ok(Check::Unreadable(format!(
                        "the check failed ({}): {out}",
                        t.end
                    )));
                }
                let printed = fs::read_to_string(self.output()).unwrap_or_default();
                let ids = printed
                    .lines()
                    .filter_map(|l| l.trim().parse::<OpId>().ok())
                    .filter(|id| id.slot == 0)
                    .map(|id| id.seq)
                    .collect();
                Ok(Check::Readable(Present::Ids(ids)))
            }
        }
    }

    /// Takes jobs until none is left, a signal asks to stop, or a worker
    /// fails. Everything it traces, it traces from this thread.
    fn work(&self, ctx: &Shared<'_>) {
        use std::sync::atomic::Ordering;
        loop {
            let i = ctx.next.fetch_add(1, Ordering::SeqCst);
            if i >= ctx.jobs.len() || crate::platform::stop_requested() || ctx.failed() {
                return;
            }
            let done = match ctx.jobs[i] {
                Job::Point(point, fault) => restore(ctx.snapshot, &self.dir)
                    .map_err(harness("cannot restore the run directory"))
                    .and_then(|()| self.faulted_run(point, fault, ctx.clean_names, ctx.recorded))
                    .and_then(|v| {
                        if !v.findings.is_empty() {
                            self.keep_artifacts(point, fault)?;
                        }
                        Ok(v)
                    }),
                Job::State(state) => {
                    let key = (state.digest, state.acked);
                    let known = ctx.checked.lock().ok().and_then(|c| c.get(&key).cloned());
                    match known {
                        Some(v) => Ok(v),
                        None => self.power_run(state).inspect(|v| {
                            if let Ok(mut c) = ctx.checked.lock() {
                                c.insert(key, v.clone());
                            }
                        }),
                    }
                }
            };
            if crate::platform::stop_requested() {
                // The stop may have killed this run: its verdict is void.
                return;
            }
            match done {
                Ok(v) => {
                    ctx.done(&v);
                    if let Ok(mut results) = ctx.results.lock() {
                        results[i] = Some(v);
                    }
                }
                Err(e) => return ctx.fail(e),
            }
        }
    }

    fn faulted_run(
        &self,
        point: &Point,
        fault: Fault,
        clean_names: &BTreeSet<String>,
        recorded: &[Point],
    ) -> Result<FaultedRun, crate::Error> {
        let injection = Injection {
            ordinal: point.ordinal,
            fault,
        };
        let (t, _) = self.run(
            Which::Op(0, self.seq),
            Some(injection),
            self.cfg.op_timeout,
            true,
        )?;
        let mut v = FaultedRun::default();
        let Some(hit) = &t.injected else {
            v.outcome.unreached = true;
            return Ok(v);
        };
        let same_path = t.points.len() > point.ordinal
            && t.points[..=point.ordinal]
                .iter()
                .zip(recorded)
                .all(|(a, b)| a.syscall.nr == b.syscall.nr);
        let acked = t.end.success() && !t.timed_out;
        let check = self.check()?;
        match &check {
            Check::Unreadable(why) => v.findings.push((Finding::Torn, why.clone())),
            Check::Readable(present) => {
                let before: Vec<u64> = (0..self.seq).collect();
                if let Some(what) = present.missing(&before) {
                    v.findings.push((Finding::Lost, what));
                }
                let all: Vec<u64> = (0..=self.seq).collect();
                if acked && present.missing(&before).is_none() && present.missing(&all).is_some() {
                    v.findings.push((
                        Finding::Lost,
                        format!(
                            "the operation exited 0 but its op {} is missing",
                            OpId::new(0, self.seq)
                        ),
                    ));
                }
            }
        }
        if acked && fault.loses_data() && hit.syscall.class == Class::Fsync {
            v.findings.push((
                Finding::UnsafeAck,
                format!(
                    "{} failed with {} and the operation still exited 0",
                    hit.syscall.name,
                    fault.name().to_uppercase()
                ),
            ));
        }
        let after = names(&self.dir);
        // A file whose own removal was made to fail is not litter, nor are
        // SQLite's companions of the state (its WAL, shared memory, journal).
        let state = self.state();
        let state_name = state
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let companion = |name: &String| {
            ["-wal", "-shm", "-journal"]
                .iter()
                .any(|s| *name == format!("{state_name}{s}"))
        };
        let unremovable =
            |name: &String| hit.syscall.class == Class::Unlink && hit.files.contains(name);
        v.litter = after
            .difference(clean_names)
            .filter(|n| !unremovable(n) && !companion(n))
            .cloned()
            .collect();
        if let Check::Readable(present) = &check {
            self.keep_after_fault()?;
            if let Some(why) = self.recovery(present, &v.litter)? {
                v.findings.push((Finding::NoRecovery, why));
            }
        }
        v.outcome = outcome(&t, fault, &v.findings);
        v.outcome.diverged = !same_path;
        Ok(v)
    }

    /// Runs the next operation; `Some(why)` if it fails, hangs, or loses.
    /// Runs the next operation on the state the faulted one left (`present`
    /// holds); `Some(why)` if it fails, hangs, or loses what was there.
    fn recovery(
        &self,
        present: &Present,
        leftovers: &[String],
    ) -> Result<Option<String>, crate::Error> {
        let next = self.seq + 1;
        let (t, out) = self.run(Which::Op(0, next), None, self.cfg.recovery_timeout, false)?;
        let cause = || probable_cause(leftovers);
        if t.timed_out {
            return Ok(Some(format!(
                "the next operation did not finish within {:?}{}",
                self.cfg.recovery_timeout,
                cause()
            )));
        }
        if !t.end.success() {
            return Ok(Some(format!(
                "the next operation failed ({}): {out}{}",
                t.end,
                cause()
            )));
        }
        let must = present.plus(next);
        match self.check()? {
            Check::Readable(p) => Ok(p
                .missing(&must)
                .map(|what| format!("after the next operation, {what}"))),
            Check::Unreadable(why) => Ok(Some(format!(
                "after the next operation the state is unreadable: {why}"
            ))),
        }
    }

    fn keep_after_fault(&self) -> Result<(), crate::Error> {
        if self.cfg.artifacts.is_none() {
            return Ok(());
        }
        let kept = self.scratch.join("after-fault");
        let _ = fs::remove_dir_all(&kept);
        copy_tree(&self.dir, &kept, Durability::None)
            .map_err(harness("cannot copy the run directory"))
    }

    fn keep_artifacts(&self, point: &Point, fault: Fault) -> Result<(), crate::Error> {
        let Some(root) = &self.cfg.artifacts else {
            return Ok(());
        };
        let here = root.join(format!("point-{:03}-{}", point.ordinal, fault.name()));
        let kept = self.scratch.join("after-fault");
        let source = if kept.exists() {
            kept
        } else {
            self.dir.clone()
        };
        let io = |e: &dyn std::fmt::Display| {
            crate::Error::Harness(format!("cannot keep artifacts in {}: {e}", here.display()))
        };
        let harness = |e: crate::output::OutputError| crate::Error::Harness(e.to_string());
        artifacts_dir(root).create().map_err(harness)?;
        fs::create_dir_all(&here).map_err(|e| io(&e))?;
        // Durable, as every file of the artifacts directory is.
        copy_tree(&source, &here.join("dir"), Durability::Full).map_err(|e| io(&e))?;
        let script = format!(
            "#!/bin/sh\n# Reruns exactly this fault point and fault.\n{}\n",
            self.replay(point.ordinal, fault)
        );
        crate::output::OutputTarget::file("--artifacts", here.join("replay.sh"))
            .executable()
            .write(script.as_bytes())
            .map_err(harness)
    }

    /// The command line that reruns exactly `point` under `fault`.
    fn replay(&self, point: usize, fault: Fault) -> String {
        self.cfg.replay(&[fault], Some(point))
    }
}

/// The `--artifacts` directory: made private in a shared directory, and
/// refused if someone else planted it.
fn artifacts_dir(path: &Path) -> crate::output::OutputDir {
    crate::output::OutputDir::new("--artifacts", path)
}

/// Files left behind by the faulted operation, lock files first: what
/// most likely blocks the next operation.
fn probable_cause(leftovers: &[String]) -> String {
    if leftovers.is_empty() {
        return String::new();
    }
    let mut sorted: Vec<&String> = leftovers.iter().collect();
    sorted.sort_by_key(|n| !n.contains("lock"));
    let shown: Vec<&str> = sorted.iter().take(3).map(|s| s.as_str()).collect();
    format!(
        "; probable cause: left behind by the faulted operation: {}",
        shown.join(", ")
    )
}

fn bad(message: String) -> crate::Error {
    crate::Error::BadInput(message)
}

fn describe(t: &Trace) -> String {
    if t.timed_out {
        "timed out".into()
    } else {
        t.end.to_string()
    }
}

/// The outcome of a faulted run for the table.
fn outcome(t: &Trace, fault: Fault, findings: &[(Finding, String)]) -> Outcome {
    let classes: BTreeSet<Finding> = findings.iter().map(|f| f.0).collect();
    let end = match t.end {
        _ if t.timed_out => RunEnd::Hung,
        End::Exited(0) => RunEnd::Ok,
        End::Signaled(libc::SIGKILL) if fault == Fault::Kill => RunEnd::Killed,
        _ => RunEnd::Error,
    };
    Outcome {
        classes: classes.into_iter().collect(),
        end,
        ..Outcome::default()
    }
}

fn check_builtin(strategy: &dyn Strategy, state: &Path) -> Check {
    match strategy.read(state) {
        Ok(Some(bytes)) => match Document::decode(&bytes) {
            Ok(doc) => Check::Readable(Present::Count(doc.counters.first().copied().unwrap_or(0))),
            Err(why) => Check::Unreadable(why),
        },
        Ok(None) => Check::Unreadable("the state file is missing".into()),
        Err(e) => Check::Unreadable(e.to_string()),
    }
}

/// The names in `dir`, recursively, relative to it.
fn names(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p.clone());
            }
            if let Ok(rel) = p.strip_prefix(dir) {
                out.insert(rel.display().to_string());
            }
        }
    }
    out
}

/// Makes `dir` hold exactly what `snapshot` holds; `dir` itself stays.
fn restore(snapshot: &Path, dir: &Path) -> crashsafe::Result<()> {
    clear(dir)?;
    copy_tree(snapshot, dir, Durability::None)
}

/// Empties `dir`; `dir` itself stays.
fn clear(dir: &Path) -> crashsafe::Result<()> {
    for entry in fs::read_dir(dir).at(Step::ListDir, dir)? {
        let p = entry.at(Step::ListDir, dir)?.path();
        if fs::symlink_metadata(&p).at(Step::Remove, &p)?.is_dir() {
            fs::remove_dir_all(&p).at(Step::Remove, &p)?;
        } else {
            fs::remove_file(&p).at(Step::Remove, &p)?;
        }
    }
    Ok(())
}

/// `--artifacts` for a crash point's finding under power loss: the crash
/// state as built (`dir/`), the operations it did not persist
/// (`dropped.txt`), what it did with every operation of the `log` before
/// the crash `at` (`ops.txt`) and the command that reruns the crash point.
fn keep_power_artifacts(
    cfg: &ExploreConfig,
    job: &StateJob,
    at: &str,
    log: &[String],
    replay: &str,
) -> Result<(), crate::Error> {
    let Some(root) = &cfg.artifacts else {
        return Ok(());
    };
    let here = root.join(format!("point-{:03}-power", job.row));
    let io = |e: &dyn std::fmt::Display| {
        crate::Error::Harness(format!("cannot keep artifacts in {}: {e}", here.display()))
    };
    let harness = |e: crate::output::OutputError| crate::Error::Harness(e.to_string());
    artifacts_dir(root).create().map_err(harness)?;
    if here.exists() {
        return Ok(());
    }
    fs::create_dir_all(here.join("dir")).map_err(|e| io(&e))?;
    job.image
        .materialize(&here.join("dir"))
        .map_err(|e| io(&e))?;
    let mut listed = job.dropped.join("\n");
    listed.push('\n');
    crate::output::OutputTarget::file("--artifacts", here.join("dropped.txt"))
        .write(listed.as_bytes())
        .map_err(harness)?;
    crate::output::OutputTarget::file("--artifacts", here.join("ops.txt"))
        .write(ops_listing(job, at, log).as_bytes())
        .map_err(harness)?;
    let script = format!("#!/bin/sh\n# Rechecks this crash point.\n{replay}\n");
    crate::output::OutputTarget::file("--artifacts", here.join("replay.sh"))
        .executable()
        .write(script.as_bytes())
        .map_err(harness)
}

/// `ops.txt`: the crash point, then each operation before it with its mark.
fn ops_listing(job: &StateJob, at: &str, log: &[String]) -> String {
    let mut out = format!("crash {at}\n");
    for (mark, op) in job.marks.iter().zip(log) {
        out.push_str(&format!("{:<7} {op}\n", mark.name()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_and_restore_keep_hard_links_and_modes() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let root = tempfile::tempdir().unwrap();
        let (dir, snap) = (root.path().join("dir"), root.path().join("snap"));
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("a"), b"one").unwrap();
        fs::hard_link(dir.join("a"), dir.join("b")).unwrap();
        fs::write(dir.join("ro"), b"x").unwrap();
        fs::set_permissions(dir.join("ro"), fs::Permissions::from_mode(0o444)).unwrap();
        copy_tree(&dir, &snap, Durability::None).unwrap();
        fs::write(dir.join("junk"), b"later").unwrap();
        fs::remove_file(dir.join("a")).unwrap();
        restore(&snap, &dir).unwrap();
        let listed = names(&dir);
        assert_eq!(
            listed,
            ["a", "b", "ro"].iter().map(|s| s.to_string()).collect()
        );
        let (a, b) = (
            fs::metadata(dir.join("a")).unwrap(),
            fs::metadata(dir.join("b")).unwrap(),
        );
        assert_eq!(a.ino(), b.ino());
        assert_eq!(fs::read(dir.join("b")).unwrap(), b"one");
        assert_eq!(
            fs::metadata(dir.join("ro")).unwrap().permissions().mode() & 0o777,
            0o444
        );
    }
}
