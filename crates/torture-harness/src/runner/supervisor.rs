//! The supervisor's event loop.
//!
//! Threads turn what children do into [`Event`]s on a channel: for built-in
//! writers and readers, the lines of their stdout; for an outside program's
//! commands, the moment each process exits (seen with `waitid(WNOWAIT)`, so
//! the main thread still reaps it and no pid can be reused under a pending
//! kill). The main thread owns all state, spawns and reaps children (it must
//! be the main thread: see [`super::process`]), fires kill timers, enforces
//! the op and stall timeouts, and runs checks.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;
use nix::sys::signal::Signal;

use super::artifacts::{Artifacts, OpRecord};
use super::child::{ChildSpec, Role, SUBCOMMAND};
use super::coverage::CoverageTracker;
use super::exec::{ExecSpec, Which, op_id, tail};
use super::process::{ChildProcess, Watchdog, wait_exited};
use super::protocol::{Message, Seq};
use super::reaper::{self, Reaper, RunTag};
use super::schedule::{KillAt, RecentDurations};
use super::{
    BASELINE_FILE, KillSchedule, RunConfig, RunError, RunLength, STATE_FILE, STOP_GRACE, Workload,
};
use crate::fault::precise::{self, OpReport, Plan};
use crate::owned::{Kind, ScratchDir};
use crate::report::{Outcome, Report, StopReason};
use crate::state::Document;
use crate::verifier::{
    CheckOutput, CheckPoint, Evidence, SeqSet, SlotLedger, Verifier, ViolationKind, hex,
};

/// The longest the loop sleeps, so interrupts and deadlines are noticed.
const TICK: Duration = Duration::from_millis(50);
/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// How many recent error messages are kept as evidence.
const KEEP_ERRORS: usize = 8;
/// The stack of a thread that waits for one process to exit.
const WATCHER_STACK: usize = 64 * 1024;
/// The duration assumed for an operation before any was measured.
const INITIAL_OP_ESTIMATE: Duration = Duration::from_millis(1);

/// Which child an event comes from. Outside programs' checks use
/// [`Role::Reader`] with index `usize::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChildId {
    role: Role,
    index: usize,
    generation: u64,
}

/// The index that marks the supervisor's own check of an outside program.
const CHECK_INDEX: usize = usize::MAX;

enum Event {
    Line(ChildId, Message, Instant),
    Eof(ChildId),
    Spawned(ChildId, Result<ChildProcess, String>, Instant),
    Exited(ChildId, Instant),
}

struct Running {
    process: ChildProcess,
    generation: u64,
}

/// How an operation ended.
enum OpEnd {
    Acked(Duration),
    Failed(String),
    Indeterminate,
}

/// The ways a child may exit without a warning.
#[derive(Debug, Clone, Copy)]
struct AllowedExit {
    /// With status 0 (it was asked to stop, or finished its quota).
    clean: bool,
    /// By SIGKILL (the supervisor killed it).
    sigkill: bool,
}

#[derive(Default)]
struct WriterSlot {
    running: Option<Running>,
    next_seq: Seq,
    /// The slot's quota: it stops before this sequence number.
    end_seq: Seq,
    in_flight: Option<(Seq, Instant)>,
    /// The operation the supervisor killed (a scheduled kill or a timeout).
    killed: Option<Seq>,
    /// Whether that kill was counted in `kills` (a scheduled kill, not a
    /// timeout): if the operation turns out to have been acknowledged, the
    /// kill came too late and counts as missed instead.
    kill_counted: bool,
    /// An outside program's operation asked of the spawner, not started yet:
    /// (generation, sequence number).
    pending: Option<(u64, Seq)>,
    /// `--kill-at syscall`: the fault point planned for the slot's next kill.
    planned: Option<usize>,
    /// `--kill-at syscall`, outside programs: the last planned kill missed
    /// (the operation ended before its point), so the slot's next operation
    /// is killed instead: the scheduled kills land.
    carried: bool,
}

/// A check of an outside program's state, running in the background.
struct RunningCheck {
    running: Running,
    /// The acknowledged ops when it started: those it must see.
    acked: Vec<SeqSet>,
    seen_by: String,
    output: PathBuf,
    started: Instant,
    /// Killed for running past the op timeout.
    timed_out: bool,
}

/// An operation asked of a slot's spawner thread.
struct OpRequest {
    id: ChildId,
    seq: Seq,
    /// `--kill-at syscall`: run it under a tracer, killing it at this fault
    /// point (`Some(None)`: traced, not killed).
    traced: Option<Option<usize>>,
}

/// Where an outside program's command output goes.
struct ExecRun<'s> {
    spec: &'s ExecSpec,
    /// One spawner thread per writer slot, so operations start in parallel.
    spawners: Vec<Sender<OpRequest>>,
    logs: ScratchDir,
    watchdog: std::sync::Arc<Watchdog>,
    check: Option<RunningCheck>,
    check_wanted: Option<String>,
    final_check: FinalCheck,
    /// Finds what ended commands left outside their groups.
    reaper: Reaper,
}

/// The liveness step after the writers stopped: one more ordinary
/// operation, then the final check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FinalPhase {
    /// Writers are still running or stopping.
    NotYet,
    /// The check after the crash that ended the run is running.
    EndCheck,
    /// The final operation (slot 0) is running.
    Op(Seq),
    /// The final operation is over (or was skipped).
    Done,
}

/// How the final operation ended.
enum FinalOpEnd {
    Acked,
    Failed(String),
    Hung,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FinalCheck {
    NotYet,
    Running,
    Done,
}

pub(super) struct Supervisor<'a> {
    cfg: &'a RunConfig,
    dir: PathBuf,
    state: PathBuf,
    start: Instant,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    generation: u64,
    writers: Vec<WriterSlot>,
    readers: Vec<Option<Running>>,
    exec: Option<ExecRun<'a>>,
    timers: BinaryHeap<Reverse<(Instant, usize, Seq)>>,
    schedule: Box<dyn KillSchedule>,
    ledgers: Vec<SlotLedger>,
    /// An outside program's acknowledged ops, for its checks (a built-in
    /// strategy's state counts them: the ledgers are enough).
    acked_ids: Vec<SeqSet>,
    verifier: Verifier,
    latency: Histogram<u64>,
    op_durations: RecentDurations,
    /// `--kill-at syscall`: fault points per operation of an outside program.
    coverage: CoverageTracker,
    out: Outcome,
    errors: VecDeque<String>,
    stopping: Option<(StopReason, Instant)>,
    force_killed: bool,
    last_progress: Instant,
    last_ack: Instant,
    artifacts: Option<Artifacts>,
    final_phase: FinalPhase,
    final_op: Option<FinalOpEnd>,
    /// The run's watchdog: an outside program's groups and token, and the
    /// log directory, are registered with it.
    watchdog: Arc<Watchdog>,
}

impl<'a> Supervisor<'a> {
    pub(super) fn new(
        cfg: &'a RunConfig,
        dir: &Path,
        schedule: Box<dyn KillSchedule>,
        watchdog: Arc<Watchdog>,
    ) -> Self {
        let (tx, rx) = mpsc::channel();
        let now = Instant::now();
        let state = match &cfg.workload {
            Workload::Builtin(_) => dir.join(STATE_FILE),
            Workload::Exec(spec) => spec.state_path(dir),
        };
        Supervisor {
            cfg,
            dir: dir.to_path_buf(),
            state,
            start: now,
            tx,
            rx,
            generation: 0,
            writers: (0..cfg.writers)
                .map(|slot| WriterSlot {
                    end_seq: quota(cfg.length, cfg.writers, slot),
                    ..WriterSlot::default()
                })
                .collect(),
            readers: (0..cfg.readers).map(|_| None).collect(),
            exec: None,
            timers: BinaryHeap::new(),
            schedule,
            ledgers: vec![SlotLedger::default(); cfg.writers],
            acked_ids: vec![SeqSet::default(); cfg.writers],
            verifier: Verifier::new(cfg.seed),
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            op_durations: RecentDurations::new(INITIAL_OP_ESTIMATE),
            coverage: CoverageTracker::new(cfg.until_covered),
            out: Outcome::default(),
            errors: VecDeque::new(),
            stopping: None,
            force_killed: false,
            last_progress: now,
            last_ack: now,
            artifacts: cfg.artifacts.as_deref().map(Artifacts::new),
            final_phase: FinalPhase::NotYet,
            final_op: None,
            watchdog,
        }
    }

    pub(super) fn run(mut self) -> Result<Report, RunError> {
        crate::platform::stop_on(&[Signal::SIGINT, Signal::SIGTERM])
            .map_err(|e| RunError::Harness(format!("cannot install signal handlers: {e}")))?;
        match &self.cfg.workload {
            Workload::Builtin(_) => {
                if self.cfg.baseline {
                    self.out.baseline_ops_per_s = Some(self.baseline()?);
                }
                self.init_state()?;
            }
            Workload::Exec(spec) => self.exec = Some(self.prepare_exec(spec)?),
        }
        if self.cfg.announce {
            eprintln!(
                "torture: seed {}, directory {}",
                self.cfg.seed,
                self.dir.display()
            );
        }
        self.start = Instant::now();
        self.last_ack = self.start;
        if let Err(e) = self.spawn_all() {
            self.stop_now();
            return Err(e);
        }
        self.event_loop();
        self.finish()
    }

    fn init_state(&self) -> Result<(), RunError> {
        let Workload::Builtin(strategy) = &self.cfg.workload else {
            return Ok(());
        };
        let fresh = Document::new(self.cfg.writers, self.cfg.payload).encode();
        strategy
            .update(&self.state, &mut |_| Ok(fresh.clone()))
            .map_err(|e| RunError::Harness(format!("cannot create the initial state: {e}")))
    }

    /// Runs the outside program's init, then its check on the fresh state:
    /// a failure of either, before any operation, is bad input.
    fn prepare_exec(&self, spec: &'a ExecSpec) -> Result<ExecRun<'a>, RunError> {
        let harness = |what: &str, e: std::io::Error| RunError::Harness(format!("{what}: {e}"));
        let reaper = Reaper::start().map_err(|e| harness("cannot become a subreaper", e))?;
        let watchdog = Arc::clone(&self.watchdog);
        watchdog.watch_run(reaper.tag());
        let logs = ScratchDir::in_tmp(Kind::Logs, Some(&watchdog))
            .map_err(|e| RunError::Harness(format!("cannot create a log directory: {e}")))?;
        let out = logs.path().join("preflight.out");
        let tag = reaper.tag().command(reaper::PREFLIGHT);
        if spec.init.is_some() {
            let status = self.run_to_end(spec, Which::Init, &out, &watchdog, &tag)?;
            if !status.success() {
                return Err(RunError::BadConfig(format!(
                    "--init failed before any operation ({}): {}",
                    describe_status(status),
                    tail(&out)
                )));
            }
        }
        let status = self.run_to_end(spec, Which::Check, &out, &watchdog, &tag)?;
        let printed = std::fs::read_to_string(&out).unwrap_or_default();
        if !status.success() {
            return Err(RunError::BadConfig(format!(
                "--check failed on the fresh state before any operation ({}): {}",
                describe_status(status),
                tail(&out)
            )));
        }
        if let Some(line) = printed.lines().map(str::trim).find(|l| !l.is_empty()) {
            return Err(RunError::BadConfig(format!(
                "--check printed {line:?} on the fresh state, before any operation: it must print only op ids"
            )));
        }
        let spawners = (0..self.cfg.writers)
            .map(|slot| self.start_spawner(spec, slot, logs.path(), &watchdog, reaper.tag()))
            .collect::<Result<_, _>>()?;
        Ok(ExecRun {
            spec,
            spawners,
            logs,
            watchdog,
            check: None,
            check_wanted: None,
            final_check: FinalCheck::NotYet,
            reaper,
        })
    }

    /// Runs one command of the outside program to its end, or kills it after
    /// the op timeout.
    fn run_to_end(
        &self,
        spec: &ExecSpec,
        which: Which,
        out: &Path,
        watchdog: &Watchdog,
        tag: &str,
    ) -> Result<ExitStatus, RunError> {
        let harness = |e: std::io::Error| {
            RunError::Harness(format!("cannot run {}: {e}", spec.program(which)))
        };
        let process = spec.spawn(which, &self.dir, out, tag).map_err(harness)?;
        let (tx, rx) = mpsc::channel();
        let pid = process.pid();
        watchdog.watch(pid);
        std::thread::spawn(move || tx.send(wait_exited(pid)));
        let finished = rx.recv_timeout(self.cfg.op_timeout).is_ok();
        process.kill_group();
        watchdog.forget(pid);
        let status = process.wait().map_err(harness)?;
        if !finished {
            return Err(RunError::BadConfig(format!(
                "{which:?} did not finish within --op-timeout {:?}",
                self.cfg.op_timeout
            )));
        }
        Ok(status)
    }

    /// Runs updates in this process, on a separate file of the same
    /// directory, for a comparison with what the harness reaches.
    fn baseline(&self) -> Result<f64, RunError> {
        let Workload::Builtin(strategy) = &self.cfg.workload else {
            return Err(RunError::BadConfig(
                "--baseline needs a built-in strategy".into(),
            ));
        };
        let path = self.dir.join(BASELINE_FILE);
        let mut doc = Document::new(1, self.cfg.payload);
        let budget = match self.cfg.length {
            RunLength::Duration(d) => d.min(Duration::from_secs(2)),
            RunLength::Ops(_) => Duration::from_secs(2),
        };
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < budget {
            doc.apply(0, n).map_err(RunError::Harness)?;
            let bytes = doc.encode();
            strategy
                .update(&path, &mut |_| Ok(bytes.clone()))
                .map_err(|e| RunError::Harness(format!("baseline update failed: {e}")))?;
            n += 1;
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            if super::is_file_of(BASELINE_FILE, &entry.file_name().to_string_lossy()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(rate)
    }

    fn spawn_all(&mut self) -> Result<(), RunError> {
        for slot in 0..self.cfg.writers {
            if self.writers[slot].end_seq > 0 {
                self.spawn_writer(slot)?;
            }
        }
        for index in 0..self.cfg.readers {
            self.spawn_reader(index)?;
        }
        Ok(())
    }

    fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    fn spawn_writer(&mut self, slot: usize) -> Result<(), RunError> {
        if self.exec.is_some() {
            return self.spawn_op(slot);
        }
        let spec = ChildSpec {
            role: Role::Writer,
            strategy: self.cfg.workload.name().to_string(),
            state: self.state.clone(),
            slot,
            first_seq: self.writers[slot].next_seq,
            end_seq: self.writers[slot].end_seq,
        };
        let running = self.spawn_builtin(&spec)?;
        self.writers[slot].running = Some(running);
        Ok(())
    }

    fn spawn_reader(&mut self, index: usize) -> Result<(), RunError> {
        let running = if self.exec.is_some() {
            let output = format!("r{index}.out");
            self.spawn_exec(Which::Check, Role::Reader, index, &output)?
        } else {
            let spec = ChildSpec {
                role: Role::Reader,
                strategy: self.cfg.workload.name().to_string(),
                state: self.state.clone(),
                slot: index,
                first_seq: 0,
                end_seq: 0,
            };
            self.spawn_builtin(&spec)?
        };
        self.readers[index] = Some(running);
        Ok(())
    }

    fn spawn_builtin(&mut self, spec: &ChildSpec) -> Result<Running, RunError> {
        let mut args: Vec<std::ffi::OsString> = vec![SUBCOMMAND.into()];
        args.extend(spec.to_args());
        if self.cfg.kill_at == KillAt::Syscall
            && spec.role == Role::Writer
            && self.final_phase == FinalPhase::NotYet
        {
            let target = self.plan_kill(spec.slot, spec.first_seq);
            let plan = Plan::Writer {
                seed: self.cfg.seed,
                rate: self.cfg.kill_rate,
                slot: spec.slot,
                target,
            };
            let mut command = vec![self.cfg.program.clone().into_os_string()];
            command.append(&mut args);
            args = precise::args(&plan, &self.dir, &command);
        }
        let (process, stdout) =
            ChildProcess::spawn_piped(&self.cfg.program, &args).map_err(|e| {
                RunError::Harness(format!("cannot start {}: {e}", self.cfg.program.display()))
            })?;
        let id = ChildId {
            role: spec.role,
            index: spec.slot,
            generation: self.next_generation(),
        };
        let tx = self.tx.clone();
        std::thread::spawn(move || forward(stdout, id, tx));
        Ok(Running {
            process,
            generation: id.generation,
        })
    }

    /// Starts one command of the outside program, watched for its exit.
    fn spawn_exec(
        &mut self,
        which: Which,
        role: Role,
        index: usize,
        output: &str,
    ) -> Result<Running, RunError> {
        let id = ChildId {
            role,
            index,
            generation: self.next_generation(),
        };
        let exec = self.exec.as_mut().expect("exec mode");
        let output = exec.logs.path().join(output);
        let tag = exec.reaper.tag().command(id.generation);
        let process = exec
            .spec
            .spawn(which, &self.dir, &output, &tag)
            .map_err(|e| {
                RunError::Harness(format!("cannot run {}: {e}", exec.spec.program(which)))
            })?;
        exec.watchdog.watch(process.pid());
        let (pid, tx) = (process.pid(), self.tx.clone());
        // The watcher only blocks in waitid: a small stack is plenty and
        // cheaper to map, and one is started per operation.
        let watcher = std::thread::Builder::new()
            .stack_size(WATCHER_STACK)
            .spawn(move || {
                let _ = wait_exited(pid);
                let _ = tx.send(Event::Exited(id, Instant::now()));
            });
        watcher.map_err(|e| RunError::Harness(format!("cannot start a watcher thread: {e}")))?;
        Ok(Running {
            process,
            generation: id.generation,
        })
    }

    /// A thread that starts the operations of writer `slot` of an outside
    /// program when asked, and reports each start and each exit.
    fn start_spawner(
        &self,
        spec: &ExecSpec,
        slot: usize,
        logs: &Path,
        watchdog: &Arc<Watchdog>,
        run: &RunTag,
    ) -> Result<Sender<OpRequest>, RunError> {
        let (requests, rx) = mpsc::channel::<OpRequest>();
        let (spec, dir, tx) = (spec.clone(), self.dir.clone(), self.tx.clone());
        let watchdog = Arc::clone(watchdog);
        let output = logs.join(format!("w{slot}.out"));
        let report = logs.join(format!("w{slot}.kill"));
        let program = self.cfg.program.clone();
        let run = run.clone();
        let spawned = std::thread::Builder::new()
            .stack_size(WATCHER_STACK)
            .spawn(move || {
                for OpRequest { id, seq, traced } in rx {
                    let at = Instant::now();
                    let which = Which::Op(slot, seq);
                    let tag = run.command(id.generation);
                    let started = match traced {
                        None => spec.spawn(which, &dir, &output, &tag),
                        Some(kill_at) => {
                            let plan = Plan::Op {
                                kill_at,
                                report: report.clone(),
                            };
                            let mut argv = vec![program.clone().into_os_string()];
                            argv.extend(precise::args(&plan, &dir, &spec.argv(which)));
                            spec.command_argv(which, &dir, &output, &argv, Some(&tag))
                                .and_then(ChildProcess::spawn_fast)
                        }
                    };
                    match started {
                        Ok(process) => {
                            let pid = process.pid();
                            watchdog.watch(pid);
                            let _ = tx.send(Event::Spawned(id, Ok(process), at));
                            // Even if waiting fails, say so: the loop waits for it.
                            let _ = wait_exited(pid);
                            let _ = tx.send(Event::Exited(id, Instant::now()));
                        }
                        Err(e) => {
                            let _ = tx.send(Event::Spawned(id, Err(e.to_string()), at));
                        }
                    }
                }
            });
        spawned.map_err(|e| RunError::Harness(format!("cannot start a spawner thread: {e}")))?;
        Ok(requests)
    }

    /// Asks the slot's spawner for its next operation.
    fn spawn_op(&mut self, slot: usize) -> Result<(), RunError> {
        let id = ChildId {
            role: Role::Writer,
            index: slot,
            generation: self.next_generation(),
        };
        let seq = self.writers[slot].next_seq;
        let scheduled = self.final_phase == FinalPhase::NotYet;
        let traced = (self.cfg.kill_at == KillAt::Syscall && scheduled).then(|| {
            let carried = std::mem::take(&mut self.writers[slot].carried);
            let decided = self.schedule.decide(slot, seq).is_some() || carried;
            decided.then(|| self.plan_kill(slot, seq))
        });
        let exec = self.exec.as_ref().expect("exec mode");
        exec.spawners[slot]
            .send(OpRequest { id, seq, traced })
            .map_err(|_| RunError::Harness("a spawner thread is gone".into()))?;
        self.writers[slot].pending = Some((id.generation, seq));
        Ok(())
    }

    fn on_spawned(&mut self, id: ChildId, process: Result<ChildProcess, String>, at: Instant) {
        let slot = id.index;
        let Some((_, seq)) = self.writers[slot].pending.take() else {
            return;
        };
        match process {
            Ok(process) => {
                self.writers[slot].running = Some(Running {
                    process,
                    generation: id.generation,
                });
                self.on_begin(slot, seq, at);
                if self.force_killed && self.final_phase == FinalPhase::NotYet {
                    // Asked of the spawner before the end's crash, started
                    // after it: the crash cuts it too.
                    if let Some(r) = &self.writers[slot].running {
                        let _ = r.process.signal(Signal::SIGKILL);
                    }
                    if self.stopping.is_some_and(|s| self.ends_with_crash(s.0)) {
                        self.out.kills_at_end += 1;
                    }
                }
            }
            Err(e) => {
                let program = self
                    .exec
                    .as_ref()
                    .map(|x| x.spec.program(Which::Op(slot, seq)));
                let program = program.unwrap_or_default();
                let e = RunError::Harness(format!("cannot run {program}: {e}"));
                self.respawn(|_| Err(e));
            }
        }
    }

    fn event_loop(&mut self) {
        loop {
            let now = Instant::now();
            self.maybe_stop(now);
            self.enforce_timeouts(now);
            if self.stopping.is_some()
                && self.all_gone()
                && self.final_op_done()
                && self.final_check_done()
            {
                break;
            }
            self.progress(now);
            let wait = self.next_wakeup(now).saturating_duration_since(now);
            match self.rx.recv_timeout(wait) {
                Ok(event) => self.handle(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    unreachable!("the supervisor holds a sender")
                }
            }
            self.fire_timers(Instant::now());
            if self.verifier.any()
                && let Some(a) = self.artifacts.as_mut()
            {
                a.first_violation(&self.dir);
            }
        }
        if self.cfg.progress {
            eprint!("\r\x1b[K");
        }
    }

    /// Once every writer is gone after a completed run, one more ordinary
    /// operation runs (slot 0, never killed by the schedule, with the op
    /// timeout capped by the stall timeout): a program that cannot do an
    /// operation after what the kills left behind (a stale lock file, say)
    /// is found `stall` whatever the run's length. True once it is over or
    /// skipped.
    fn final_op_done(&mut self) -> bool {
        match self.final_phase {
            FinalPhase::Done => true,
            FinalPhase::Op(_) => {
                self.judge_final_op();
                self.final_phase = FinalPhase::Done;
                true
            }
            FinalPhase::EndCheck if self.exec.as_ref().is_some_and(|e| e.check.is_some()) => false,
            FinalPhase::NotYet | FinalPhase::EndCheck => {
                // A program that never acknowledged anything did not stop
                // working: the run is inconclusive, not a stall.
                let completed = self.stopping.is_some_and(|s| s.0 == StopReason::Completed);
                if !completed || self.out.acked == 0 || self.verifier.count(ViolationKind::Torn) > 0
                {
                    self.out.final_op = "skipped".into();
                    self.final_phase = FinalPhase::Done;
                    return true;
                }
                // Nothing is left that our end-of-run kill could have cut.
                self.force_killed = false;
                if self.final_phase == FinalPhase::NotYet && self.out.kills_at_end > 0 {
                    // The state as the crash left it, before the final
                    // operation can repair (or trip over) it.
                    self.final_phase = FinalPhase::EndCheck;
                    let seen_by = format!(
                        "check after the crash that ended the run cut {} op(s)",
                        self.out.kills_at_end
                    );
                    if self.spawn_check(seen_by).is_ok() {
                        return false;
                    }
                }
                let seq = self.writers[0].next_seq;
                self.writers[0].end_seq = seq + 1;
                self.final_phase = FinalPhase::Op(seq);
                if let Err(e) = self.spawn_writer(0) {
                    self.final_op = Some(FinalOpEnd::Failed(e.to_string()));
                    self.final_phase = FinalPhase::Done;
                    return true;
                }
                false
            }
        }
    }

    /// Records the final operation's outcome; a failure or a hang is `stall`.
    fn judge_final_op(&mut self) {
        let headline = match &self.final_op {
            Some(FinalOpEnd::Acked) => {
                self.out.final_op = "ok".into();
                return;
            }
            None => {
                self.out.final_op = "skipped".into();
                return;
            }
            Some(FinalOpEnd::Failed(e)) => {
                self.out.final_op = "failed".into();
                format!("the final operation, after the writers stopped, failed: {e}")
            }
            Some(FinalOpEnd::Hung) => {
                self.out.final_op = "hung".into();
                format!(
                    "the final operation, after the writers stopped, did not finish within {:?}",
                    self.final_op_limit()
                )
            }
        };
        let detail = self.stall_detail(headline);
        let ev = self.evidence(ViolationKind::Stall, "final operation".into(), detail, &[]);
        self.verifier.record(
            1,
            Evidence {
                bytes_hex: None,
                ..ev
            },
        );
    }

    /// How long the final operation may run.
    fn final_op_limit(&self) -> Duration {
        self.cfg.op_timeout.min(self.cfg.stall_timeout)
    }

    /// For an outside program, the final check runs in the loop once every
    /// writer and reader is gone; built-in runs check in [`Self::finish`].
    fn final_check_done(&mut self) -> bool {
        let torn = self.verifier.count(ViolationKind::Torn) > 0;
        let Some(exec) = self.exec.as_mut() else {
            return true;
        };
        match exec.final_check {
            FinalCheck::Done => true,
            FinalCheck::Running => false,
            FinalCheck::NotYet if torn => true,
            FinalCheck::NotYet if exec.check.is_some() => false,
            FinalCheck::NotYet => {
                exec.final_check = FinalCheck::Running;
                exec.check_wanted = None;
                if self.spawn_check("final check".into()).is_err() {
                    self.exec.as_mut().expect("exec mode").final_check = FinalCheck::Done;
                    return true;
                }
                false
            }
        }
    }

    fn maybe_stop(&mut self, now: Instant) {
        if let Some((_, grace_end)) = self.stopping {
            if now >= grace_end && !self.force_killed && self.final_phase == FinalPhase::NotYet {
                self.force_killed = true;
                self.signal_all(Signal::SIGKILL);
            }
            return;
        }
        let reason = if crate::platform::stop_requested() {
            Some(StopReason::Interrupted)
        } else {
            match self.cfg.length {
                RunLength::Duration(d) if now - self.start >= d => Some(StopReason::Completed),
                RunLength::Ops(_) if self.quotas_done() => Some(StopReason::Completed),
                _ if self.coverage.complete() => Some(StopReason::Completed),
                _ => None,
            }
        };
        if let Some(reason) = reason {
            self.begin_stop(reason);
        }
    }

    fn begin_stop(&mut self, reason: StopReason) {
        if self.stopping.is_none() {
            self.stopping = Some((reason, Instant::now() + STOP_GRACE));
            self.timers.clear();
            // Built-in children finish their operation on SIGUSR1. A timed run
            // of an outside program ends with a crash: its operations in
            // flight are SIGKILLed, then a check and the final operation show
            // what the program makes of what they left (a stale lock held by
            // an operation cut there is found whatever the run's length).
            // Otherwise its commands are left to finish within the grace.
            if self.exec.is_none() {
                self.signal_all(Signal::SIGUSR1);
            } else if self.ends_with_crash(reason) {
                self.out.kills_at_end = self
                    .writers
                    .iter()
                    .filter(|w| w.running.is_some() && w.in_flight.is_some())
                    .count() as u64;
                self.force_killed = true;
                self.signal_all(Signal::SIGKILL);
            }
        }
    }

    /// Whether the run's end is a crash of the operations in flight: a timed
    /// run of an outside program that completed, with kills asked for (a
    /// run at kill rate 0 tests concurrency alone, and an `--ops` run has
    /// nothing in flight at its end).
    fn ends_with_crash(&self, reason: StopReason) -> bool {
        self.exec.is_some()
            && reason == StopReason::Completed
            && self.cfg.kill_rate > 0.0
            && matches!(self.cfg.length, RunLength::Duration(_))
    }

    /// Signals every writer, reader and background check; never the final
    /// check, which has its own timeout.
    fn signal_all(&self, signal: Signal) {
        let writers = self.writers.iter().filter_map(|w| w.running.as_ref());
        let check = self
            .exec
            .as_ref()
            .filter(|e| e.final_check != FinalCheck::Running)
            .and_then(|e| e.check.as_ref())
            .map(|c| &c.running);
        for running in writers.chain(self.readers.iter().flatten()).chain(check) {
            let _ = running.process.signal(signal);
        }
    }

    /// Kills every child at once and reaps it (used when start-up fails).
    fn stop_now(&mut self) {
        self.signal_all(Signal::SIGKILL);
        // Operations already asked of a spawner start anyway: collect them.
        let deadline = Instant::now() + STOP_GRACE;
        while self.writers.iter().any(|w| w.pending.is_some()) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Event::Spawned(id, process, _)) => {
                    self.writers[id.index].pending = None;
                    if let Ok(process) = process {
                        process.kill_group();
                        if let Some(exec) = &self.exec {
                            exec.watchdog.forget(process.pid());
                        }
                        let _ = process.wait();
                    }
                }
                Ok(_) => {}
                // The watchdog, told below, kills whatever is left.
                Err(_) => break,
            }
        }
        for slot in &mut self.writers {
            if let Some(r) = slot.running.take() {
                let _ = r.process.finish();
            }
        }
        for r in self.readers.iter_mut().filter_map(Option::take) {
            let _ = r.process.finish();
        }
        if let Some(exec) = self.exec.take() {
            exec.watchdog.kill_now();
        }
    }

    /// Whether every writer used up its quota and exited.
    fn quotas_done(&self) -> bool {
        self.writers
            .iter()
            .all(|w| w.running.is_none() && w.pending.is_none() && w.next_seq >= w.end_seq)
    }

    fn all_gone(&self) -> bool {
        let check_gone = self
            .exec
            .as_ref()
            .is_none_or(|e| e.check.is_none() || e.final_check == FinalCheck::Running);
        self.writers
            .iter()
            .all(|w| w.running.is_none() && w.pending.is_none())
            && self.readers.iter().all(Option::is_none)
            && check_gone
    }

    fn next_wakeup(&self, now: Instant) -> Instant {
        let mut at = now + TICK;
        if let Some(Reverse((t, _, _))) = self.timers.peek() {
            at = at.min(*t);
        }
        at
    }

    /// Kills operations that ran past `--op-timeout`, and ends the run with a
    /// `stall` when nothing was acknowledged for `--stall-timeout`.
    fn enforce_timeouts(&mut self, now: Instant) {
        let limit = match self.final_phase {
            FinalPhase::Op(_) => self.final_op_limit(),
            _ => self.cfg.op_timeout,
        };
        for slot in 0..self.writers.len() {
            let w = &mut self.writers[slot];
            let Some((seq, began)) = w.in_flight else {
                continue;
            };
            if w.killed == Some(seq) || now - began < limit {
                continue;
            }
            if let Some(running) = &w.running {
                let _ = running.process.signal(Signal::SIGKILL);
                w.killed = Some(seq);
                w.kill_counted = false;
                self.out.timeouts += 1;
                self.remember_error(format!(
                    "{}: timed out after {limit:?} and was killed",
                    op_id(slot, seq)
                ));
            }
        }
        if let Some(check) = self.exec.as_mut().and_then(|e| e.check.as_mut())
            && !check.timed_out
            && now - check.started >= limit
        {
            let _ = check.running.process.signal(Signal::SIGKILL);
            check.timed_out = true;
        }
        let idle = now.saturating_duration_since(self.last_ack);
        // At kill rate 1 no operation can ever be acknowledged: no stall watch.
        let watch = self.cfg.kill_rate < 1.0;
        if watch
            && self.stopping.is_none()
            && self.out.attempted > 0
            && idle >= self.cfg.stall_timeout
        {
            let ev = self.evidence(
                ViolationKind::Stall,
                "stall watch".into(),
                self.stall_detail(format!(
                    "no operation acknowledged for {:.1}s while {} were attempted",
                    idle.as_secs_f64(),
                    self.out.attempted
                )),
                &[],
            );
            self.verifier.record(
                1,
                Evidence {
                    bytes_hex: None,
                    ..ev
                },
            );
            self.begin_stop(StopReason::Stalled);
        }
    }

    /// Why nothing is acknowledged: `headline`, then lock files, the
    /// directory, what the stuck operations printed, the last error.
    fn stall_detail(&self, headline: String) -> String {
        let mut files: Vec<(String, Option<Duration>)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| {
                let age = e
                    .metadata()
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| SystemTime::now().duration_since(t).ok());
                (e.file_name().to_string_lossy().into_owned(), age)
            })
            .collect();
        files.sort();
        let mut detail = headline;
        let locks: Vec<String> = files
            .iter()
            .filter(|(n, _)| n.ends_with(".lock") || n.contains("lock"))
            .map(|(n, age)| {
                format!(
                    "{n} (last modified {:.1}s ago)",
                    age.unwrap_or_default().as_secs_f64()
                )
            })
            .collect();
        if !locks.is_empty() {
            detail += &format!("; probable cause: leftover lock file {}", locks.join(", "));
        }
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        detail += &format!("; files in the run directory: {}", names.join(", "));
        if let Some(exec) = &self.exec {
            for (slot, w) in self
                .writers
                .iter()
                .enumerate()
                .filter(|(_, w)| w.in_flight.is_some())
                .take(3)
            {
                let out = tail(&exec.logs.path().join(format!("w{slot}.out")));
                if !out.is_empty() {
                    detail += &format!(
                        "; {} printed: {out}",
                        op_id(slot, w.in_flight.map_or(0, |f| f.0))
                    );
                }
            }
        }
        if let Some(e) = self.errors.back() {
            detail += &format!("; last error: {e}");
        }
        detail
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Line(id, msg, at) if self.is_current(id) => self.on_message(id, msg, at),
            Event::Eof(id) if self.is_current(id) => self.on_exit(id),
            Event::Exited(id, at) if self.is_current(id) => self.on_exec_exit(id, at),
            Event::Spawned(id, process, at) if self.is_pending(id) => {
                self.on_spawned(id, process, at)
            }
            _ => {}
        }
    }

    fn is_pending(&self, id: ChildId) -> bool {
        id.role == Role::Writer
            && self.writers[id.index]
                .pending
                .is_some_and(|p| p.0 == id.generation)
    }

    fn is_current(&self, id: ChildId) -> bool {
        let running = match (id.role, id.index) {
            (Role::Reader, CHECK_INDEX) => self
                .exec
                .as_ref()
                .and_then(|e| e.check.as_ref())
                .map(|c| &c.running),
            (Role::Writer, i) => self.writers[i].running.as_ref(),
            (Role::Reader, i) => self.readers[i].as_ref(),
        };
        running.is_some_and(|r| r.generation == id.generation)
    }

    fn on_message(&mut self, id: ChildId, msg: Message, at: Instant) {
        let slot = id.index;
        match msg {
            Message::Begin(seq) => self.on_begin(slot, seq, at),
            Message::Ack(seq, took) => self.end_op(slot, seq, at, OpEnd::Acked(took)),
            Message::Fail(seq, error) => self.end_op(slot, seq, at, OpEnd::Failed(error)),
            Message::Torn(seq, why, bytes) => {
                self.end_op(slot, seq, at, OpEnd::Failed("read a torn state".into()));
                let op = op_id(slot, seq);
                let ev = self.evidence(
                    ViolationKind::Torn,
                    format!("writer {slot} reading for {op}"),
                    why,
                    &bytes,
                );
                self.verifier.record(
                    1,
                    Evidence {
                        op: Some(op),
                        writer: Some(slot),
                        ..ev
                    },
                );
                self.begin_stop(StopReason::StateDestroyed);
            }
            Message::Reads(n) => self.out.reads += n,
            Message::Killed(seq, ordinal, syscall) => self.on_landed(slot, seq, ordinal, &syscall),
            Message::Missed(_) => self.out.kills_missed += 1,
            Message::Points(_, n) => self.coverage.observe(n),
            Message::TornRead(why, bytes) => {
                let ev = self.evidence(
                    ViolationKind::TornReads,
                    format!("reader {slot}"),
                    why,
                    &bytes,
                );
                self.verifier.record(1, ev);
            }
        }
    }

    /// The tracer of `--kill-at syscall` killed operation `seq` of `slot`.
    fn on_killed(&mut self, slot: usize, seq: Seq) {
        let w = &mut self.writers[slot];
        if w.in_flight.is_some_and(|f| f.0 == seq) {
            w.killed = Some(seq);
            w.kill_counted = true;
        }
        self.out.kills += 1;
    }

    fn on_begin(&mut self, slot: usize, seq: Seq, at: Instant) {
        self.ledgers[slot].attempted += 1;
        // The final liveness op is in the ledgers (the state must hold it)
        // but not in the run's counts: `--ops N` means N operations.
        if self.final_phase == FinalPhase::NotYet {
            self.out.attempted += 1;
        }
        let w = &mut self.writers[slot];
        w.in_flight = Some((seq, at));
        w.next_seq = seq + 1;
        if self.stopping.is_some() {
            return;
        }
        // With --kill-at syscall, the writer's tracer kills.
        if self.cfg.kill_at == KillAt::Delay
            && let Some(point) = self.schedule.decide(slot, seq)
        {
            let when = at + self.op_durations.delay(point);
            self.timers.push(Reverse((when, slot, seq)));
        }
    }

    /// Records how operation `seq` of `slot` ended, if it is the one in flight.
    fn end_op(&mut self, slot: usize, seq: Seq, at: Instant, end: OpEnd) {
        let w = &mut self.writers[slot];
        let Some((s, began)) = w.in_flight.filter(|f| f.0 == seq) else {
            return;
        };
        w.in_flight = None;
        // `w.killed` stays set until the process is reaped: its death by
        // our SIGKILL is expected even when the op beat the kill.
        let mut killed =
            w.killed == Some(seq) || (self.force_killed && matches!(end, OpEnd::Indeterminate));
        if killed && w.kill_counted && matches!(end, OpEnd::Acked(_)) {
            // The kill reached a writer whose operation was already done.
            self.out.kills -= 1;
            self.out.kills_missed += 1;
            killed = false;
        }
        if self.final_phase == FinalPhase::Op(s) && slot == 0 {
            self.end_final_op(s, end);
            return;
        }
        let outcome = match end {
            OpEnd::Acked(took) => {
                self.ledgers[slot].acked += 1;
                if self.exec.is_some() {
                    self.acked_ids[slot].insert(s);
                }
                self.out.acked += 1;
                self.last_ack = at;
                let _ = self.latency.record(took.as_micros().max(1) as u64);
                self.op_durations
                    .observe(at.saturating_duration_since(began));
                "ok"
            }
            OpEnd::Failed(error) => {
                self.ledgers[slot].failed += 1;
                self.out.failed += 1;
                self.remember_error(format!("{}: {error}", op_id(slot, s)));
                "failed"
            }
            OpEnd::Indeterminate => {
                self.ledgers[slot].indeterminate += 1;
                self.out.indeterminate += 1;
                "indeterminate"
            }
        };
        if let Some(a) = self.artifacts.as_mut() {
            let ms = |t: Instant| t.saturating_duration_since(self.start).as_millis() as u64;
            a.record(OpRecord {
                id: op_id(slot, s),
                writer: slot,
                start_ms: ms(began),
                end_ms: ms(at),
                outcome,
                killed,
            });
        }
    }

    /// The final liveness op ended: only the ledgers hold it (the state
    /// must show it), not the run's counts or its op ledger.
    fn end_final_op(&mut self, seq: Seq, end: OpEnd) {
        let ledger = &mut self.ledgers[0];
        self.final_op = Some(match end {
            OpEnd::Acked(_) => {
                ledger.acked += 1;
                self.acked_ids[0].insert(seq);
                FinalOpEnd::Acked
            }
            OpEnd::Failed(e) => {
                ledger.failed += 1;
                FinalOpEnd::Failed(format!("{}: {e}", op_id(0, seq)))
            }
            OpEnd::Indeterminate => {
                ledger.indeterminate += 1;
                FinalOpEnd::Hung
            }
        });
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(&Reverse((when, slot, seq))) = self.timers.peek() {
            if when > now {
                break;
            }
            self.timers.pop();
            let w = &mut self.writers[slot];
            let target = w
                .running
                .as_ref()
                .filter(|_| w.in_flight.is_some_and(|(s, _)| s == seq));
            match target {
                Some(running) if self.stopping.is_none() => {
                    let _ = running.process.signal(Signal::SIGKILL);
                    w.killed = Some(seq);
                    w.kill_counted = true;
                    self.out.kills += 1;
                }
                _ => self.out.kills_missed += 1,
            }
        }
    }

    fn on_exit(&mut self, id: ChildId) {
        match id.role {
            Role::Reader => {
                if let Some(r) = self.readers[id.index].take() {
                    let allowed = AllowedExit {
                        clean: self.stopping.is_some(),
                        sigkill: self.force_killed,
                    };
                    self.note_exit(r, format!("reader {}", id.index), allowed);
                }
                if self.stopping.is_none() {
                    self.respawn(|s| s.spawn_reader(id.index));
                }
            }
            Role::Writer => self.on_writer_exit(id.index),
        }
    }

    fn on_writer_exit(&mut self, slot: usize) {
        let w = &mut self.writers[slot];
        let Some(running) = w.running.take() else {
            return;
        };
        let killed = w.killed;
        let cut = w.in_flight.map(|f| f.0);
        if let Some(seq) = cut {
            if killed.is_none() && self.stopping.is_none() {
                self.remember_error(format!("{}: writer died in flight", op_id(slot, seq)));
            }
            self.end_op(slot, seq, Instant::now(), OpEnd::Indeterminate);
        }
        self.writers[slot].killed = None;
        self.unplan(slot);
        let quota_done = self.writers[slot].next_seq >= self.writers[slot].end_seq;
        let allowed = AllowedExit {
            clean: self.stopping.is_some() || quota_done,
            sigkill: killed.is_some() || self.force_killed,
        };
        self.note_exit(running, format!("writer {slot}"), allowed);
        if self.stopping.is_some() {
            return;
        }
        let seen_by = match cut {
            Some(seq) => format!("check after the death of {}", op_id(slot, seq)),
            None => format!("check after the death of writer {slot}"),
        };
        if !self.check_builtin(CheckPoint::MidRun, &seen_by) {
            self.begin_stop(StopReason::StateDestroyed);
            return;
        }
        if !quota_done {
            self.out.respawns += 1;
            self.respawn(|s| s.spawn_writer(slot));
        }
    }

    /// An outside program's command exited: reap it and act on its status.
    fn on_exec_exit(&mut self, id: ChildId, at: Instant) {
        match (id.role, id.index) {
            (Role::Reader, CHECK_INDEX) => self.on_check_exit(at),
            (Role::Reader, i) => self.on_exec_reader_exit(i),
            (Role::Writer, slot) => self.on_op_exit(slot, at),
        }
    }

    /// Kills what is left of the group, unregisters it, then reaps the
    /// leader: in that order, the watchdog never holds a reused group id.
    /// Then sweeps for what ended commands left outside their groups.
    fn reap_exec(&mut self, running: Running) -> Option<ExitStatus> {
        running.process.kill_group();
        if let Some(exec) = self.exec.as_ref() {
            exec.watchdog.forget(running.process.pid());
        }
        let status = running.process.wait().ok();
        let live = self.live_commands();
        if let Some(exec) = self.exec.as_mut() {
            self.out.escaped += exec.reaper.after_command(&live, Instant::now());
        }
        status
    }

    /// The numbers (generations) of the commands running or asked of a
    /// spawner: their processes are theirs, wherever they are.
    fn live_commands(&self) -> HashSet<u64> {
        let writers = self.writers.iter().flat_map(|w| {
            let running = w.running.as_ref().map(|r| r.generation);
            w.pending.map(|p| p.0).into_iter().chain(running)
        });
        let readers = self.readers.iter().flatten().map(|r| r.generation);
        let check = self.exec.as_ref().and_then(|e| e.check.as_ref());
        let check = check.map(|c| c.running.generation);
        writers.chain(readers).chain(check).collect()
    }

    /// Whether a command died of the end-of-run SIGKILL (its result says
    /// nothing about the state).
    fn cut_by_force_kill(&self, status: Option<ExitStatus>) -> bool {
        use std::os::unix::process::ExitStatusExt;
        self.force_killed && status.and_then(|s| s.signal()) == Some(libc::SIGKILL)
    }

    fn on_op_exit(&mut self, slot: usize, at: Instant) {
        let Some(running) = self.writers[slot].running.take() else {
            return;
        };
        let status = self.reap_exec(running);
        let Some((seq, began)) = self.writers[slot].in_flight else {
            return;
        };
        if self.cfg.kill_at == KillAt::Syscall {
            self.read_kill_report(slot, seq);
        }
        let killed = self.writers[slot].killed;
        let end = match status {
            Some(s) if s.success() => OpEnd::Acked(at.saturating_duration_since(began)),
            _ if killed == Some(seq) || self.force_killed => OpEnd::Indeterminate,
            Some(s) => {
                let out = self
                    .exec
                    .as_ref()
                    .map(|e| tail(&e.logs.path().join(format!("w{slot}.out"))));
                OpEnd::Failed(format!(
                    "{}: {}",
                    describe_status(s),
                    out.unwrap_or_default()
                ))
            }
            None => OpEnd::Failed("could not be reaped".into()),
        };
        let was_killed = matches!(end, OpEnd::Indeterminate);
        self.end_op(slot, seq, at, end);
        self.writers[slot].killed = None;
        if self.stopping.is_some() {
            return;
        }
        if was_killed {
            self.request_check(format!("check after the kill of {}", op_id(slot, seq)));
        }
        if self.writers[slot].next_seq < self.writers[slot].end_seq && self.stopping.is_none() {
            self.respawn(|s| s.spawn_op(slot));
        }
    }

    /// Plans where the slot's next kill lands: the least-hit fault point.
    fn plan_kill(&mut self, slot: usize, seq: Seq) -> usize {
        const PLAN_KEY: u64 = 0x706c_616e;
        self.unplan(slot);
        let draw = crate::seed::unit(self.cfg.seed ^ PLAN_KEY, &[slot as u64, seq]);
        let ordinal = self.coverage.plan(draw);
        self.writers[slot].planned = Some(ordinal);
        ordinal
    }

    /// The slot's planned kill will not land.
    fn unplan(&mut self, slot: usize) {
        if let Some(o) = self.writers[slot].planned.take() {
            self.coverage.unplan(o);
        }
    }

    /// A precise kill landed at fault point `ordinal` of operation `seq`.
    fn on_landed(&mut self, slot: usize, seq: Seq, ordinal: usize, syscall: &str) {
        self.unplan(slot);
        self.coverage.landed(ordinal, syscall);
        self.on_killed(slot, seq);
    }

    /// What the tracer of an outside program's operation wrote: whether it
    /// killed it, and the fault points it reached.
    fn read_kill_report(&mut self, slot: usize, seq: Seq) {
        let Some(exec) = self.exec.as_ref() else {
            return;
        };
        let path = exec.logs.path().join(format!("w{slot}.kill"));
        let report = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| OpReport::parse(&t));
        let _ = std::fs::remove_file(&path);
        let Some(report) = report else {
            return;
        };
        self.out.escaped += report.outlived;
        for (ordinal, syscall) in report.points.iter().enumerate() {
            self.coverage.label(ordinal, syscall);
        }
        if let Some((ordinal, syscall)) = &report.killed {
            self.on_landed(slot, seq, *ordinal, syscall);
            return;
        }
        self.coverage.observe(report.points.len() as u64);
        if report.missed {
            self.unplan(slot);
            self.out.kills_missed += 1;
            self.writers[slot].carried = true;
        }
    }

    fn on_exec_reader_exit(&mut self, index: usize) {
        let Some(running) = self.readers[index].take() else {
            return;
        };
        let status = self.reap_exec(running);
        match status {
            Some(s) if s.success() => self.out.reads += 1,
            _ if self.cut_by_force_kill(status) => {}
            Some(s) => {
                let out = self
                    .exec
                    .as_ref()
                    .map(|e| tail(&e.logs.path().join(format!("r{index}.out"))));
                let detail = format!(
                    "the check failed ({}): {}",
                    describe_status(s),
                    out.unwrap_or_default()
                );
                let ev = self.evidence(
                    ViolationKind::TornReads,
                    format!("reader {index}"),
                    detail,
                    &[],
                );
                self.verifier.record(
                    1,
                    Evidence {
                        bytes_hex: None,
                        ..ev
                    },
                );
            }
            None => {}
        }
        if self.stopping.is_none() {
            self.respawn(|s| s.spawn_reader(index));
        }
    }

    /// Checks the state now (built-in) or as soon as the running check is done
    /// (outside program).
    fn request_check(&mut self, seen_by: String) {
        let Some(exec) = self.exec.as_mut() else {
            if !self.check_builtin(CheckPoint::MidRun, &seen_by) {
                self.begin_stop(StopReason::StateDestroyed);
            }
            return;
        };
        if exec.check.is_some() {
            exec.check_wanted = Some(seen_by);
        } else if let Err(e) = self.spawn_check(seen_by) {
            self.remember_error(e.to_string());
        }
    }

    fn spawn_check(&mut self, seen_by: String) -> Result<(), RunError> {
        let running = self.spawn_exec(Which::Check, Role::Reader, CHECK_INDEX, "check.out")?;
        let exec = self.exec.as_mut().expect("exec mode");
        exec.check = Some(RunningCheck {
            running,
            acked: self.acked_ids.clone(),
            seen_by,
            output: exec.logs.path().join("check.out"),
            started: Instant::now(),
            timed_out: false,
        });
        Ok(())
    }

    fn on_check_exit(&mut self, at: Instant) {
        let Some(check) = self.exec.as_mut().and_then(|e| e.check.take()) else {
            return;
        };
        let status = self.reap_exec(check.running);
        let printed = std::fs::read_to_string(&check.output).unwrap_or_default();
        let is_final = self
            .exec
            .as_ref()
            .is_some_and(|e| e.final_check == FinalCheck::Running);
        if !is_final && !check.timed_out && self.cut_by_force_kill(status) {
            // Cut by the end-of-run kill: it says nothing about the state.
            return;
        }
        let reason = match status {
            _ if check.timed_out => Some(format!(
                "did not finish within --op-timeout {:?}: {}",
                self.cfg.op_timeout,
                tail(&check.output)
            )),
            Some(s) if s.success() => None,
            Some(s) => Some(format!("{}: {}", describe_status(s), tail(&check.output))),
            None => Some("could not be reaped".into()),
        };
        let output = match &reason {
            None => CheckOutput::Printed(&printed),
            Some(r) => CheckOutput::Failed(r),
        };
        // An op asked of a spawner may have run before its start was seen.
        let attempted_end: Vec<Seq> = self
            .writers
            .iter()
            .map(|w| w.next_seq.max(w.pending.map_or(0, |p| p.1 + 1)))
            .collect();
        let at_ms = at.saturating_duration_since(self.start).as_millis() as u64;
        let whole =
            self.verifier
                .check_ids(output, &check.acked, &attempted_end, &check.seen_by, at_ms);
        self.out.checks += 1;
        let exec = self.exec.as_mut().expect("exec mode");
        if exec.final_check == FinalCheck::Running {
            exec.final_check = FinalCheck::Done;
            return;
        }
        if !whole {
            self.begin_stop(StopReason::StateDestroyed);
            return;
        }
        if let Some(next) = exec.check_wanted.take()
            && self.stopping.is_none()
        {
            let _ = self.spawn_check(next);
        }
    }

    fn respawn(&mut self, spawn: impl FnOnce(&mut Self) -> Result<(), RunError>) {
        if let Err(e) = spawn(self) {
            self.remember_error(e.to_string());
            self.out.harness_error = Some(e.to_string());
            self.begin_stop(StopReason::HarnessFailed);
        }
    }

    /// Reaps a child; an exit we did not cause is worth a warning.
    fn note_exit(&mut self, running: Running, who: String, allowed: AllowedExit) {
        use std::os::unix::process::ExitStatusExt;
        let Ok(status) = running.process.wait() else {
            return;
        };
        let clean = allowed.clean && status.success();
        let our_kill = allowed.sigkill && status.signal() == Some(libc::SIGKILL);
        if !clean && !our_kill {
            self.out.unexpected_exits += 1;
            self.remember_error(format!("{who} exited unexpectedly: {status}"));
        }
    }

    /// Reads a built-in strategy's state and checks it. False if torn.
    fn check_builtin(&mut self, point: CheckPoint, seen_by: &str) -> bool {
        let Workload::Builtin(strategy) = &self.cfg.workload else {
            return true;
        };
        let at_ms = self.elapsed_ms();
        self.out.checks += 1;
        match strategy.read(&self.state) {
            Ok(bytes) => {
                self.verifier
                    .check_state(bytes.as_deref(), &self.ledgers, point, seen_by, at_ms)
            }
            Err(e) => {
                let ev =
                    self.evidence(ViolationKind::Torn, seen_by.to_string(), e.to_string(), &[]);
                self.verifier.record(1, ev);
                false
            }
        }
    }

    fn evidence(
        &self,
        kind: ViolationKind,
        seen_by: String,
        detail: String,
        bytes: &[u8],
    ) -> Evidence {
        Evidence {
            kind,
            seen_by,
            op: None,
            writer: None,
            at_ms: self.elapsed_ms(),
            detail,
            bytes_hex: Some(hex(bytes)),
            seed: self.cfg.seed,
        }
    }

    fn elapsed_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn remember_error(&mut self, e: String) {
        if self.errors.len() == KEEP_ERRORS {
            self.errors.pop_front();
        }
        self.errors.push_back(e);
    }

    fn progress(&mut self, now: Instant) {
        if !self.cfg.progress || now - self.last_progress < PROGRESS_EVERY {
            return;
        }
        self.last_progress = now;
        let secs = (now - self.start).as_secs_f64();
        eprint!(
            "\r\x1b[K[{secs:5.1}s] acked {}  failed {}  killed {}  {:.0} ops/s  violations {}",
            self.out.acked,
            self.out.failed,
            self.out.kills,
            self.out.acked as f64 / secs.max(1e-9),
            ViolationKind::ALL
                .iter()
                .map(|&k| self.verifier.count(k))
                .sum::<u64>(),
        );
    }

    fn finish(mut self) -> Result<Report, RunError> {
        self.out.elapsed = self.start.elapsed();
        if self.exec.is_none() && self.verifier.count(ViolationKind::Torn) == 0 {
            self.check_builtin(CheckPoint::Final, "final check");
        }
        if let Some(mut exec) = self.exec.take() {
            // Every command is over: whatever carries the run's tag goes.
            self.out.escaped += exec.reaper.sweep(&HashSet::new());
            exec.watchdog.kill_now();
        }
        self.out.litter = litter(&self.dir);
        self.out.acked_per_writer = self.ledgers.iter().map(|l| l.acked).collect();
        if self.cfg.kill_at == KillAt::Syscall {
            self.out.coverage = Some(self.coverage.report());
        }
        if self.final_phase == FinalPhase::NotYet {
            self.out.final_op = "skipped".into();
        }
        self.out.stop = self.stopping.map(|s| s.0).unwrap_or(StopReason::Completed);
        self.out.errors = self.errors.into_iter().collect();
        self.out.latency = (&self.latency).into();
        let report = Report::new(self.cfg, &self.dir, self.out, self.verifier);
        if let Some(a) = &self.artifacts
            && let Err(e) = a.finish(&self.dir, &report)
        {
            return Err(RunError::Harness(format!(
                "cannot write artifacts to {}: {e}",
                a.dir().display()
            )));
        }
        Ok(report)
    }
}

fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => status.to_string(),
    }
}

/// The sequence number before which writer `slot` stops: `--ops` split
/// evenly over the writers (the first ones take the remainder).
fn quota(length: RunLength, writers: usize, slot: usize) -> Seq {
    match length {
        RunLength::Duration(_) => Seq::MAX,
        RunLength::Ops(n) => {
            let w = writers as u64;
            n / w + u64::from((slot as u64) < n % w)
        }
    }
}

/// Temporary files left in the run directory.
fn litter(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(crashsafe::atomic::TEMP_INFIX))
        .collect();
    names.sort();
    names
}

/// Turns a child's stdout into events, then reports its end. A last line
/// without its newline was cut by a kill and is dropped.
fn forward(stdout: std::process::ChildStdout, id: ChildId, tx: Sender<Event>) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line.last() != Some(&b'\n') => break,
            Ok(_) => {}
        }
        let text = std::str::from_utf8(&line[..line.len() - 1]).ok();
        if let Some(msg) = text.and_then(Message::parse)
            && tx.send(Event::Line(id, msg, Instant::now())).is_err()
        {
            return;
        }
    }
    let _ = tx.send(Event::Eof(id));
}
