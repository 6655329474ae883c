//! The outside-program workload: `--exec` operations started by a
//! spawner thread per slot, `--check` readers and checks, each command
//! watched for its exit, reaped and swept by the main thread. An
//! operation's exit status says how it ended; after a kill the state is
//! checked by a `--check` in the background, one at a time.

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::owned::{Kind, ScratchDir};
use crate::process::{ChildProcess, Watchdog, wait_exited};
use crate::report::StopReason;
use crate::runner::exec::{Which, tail};
use crate::runner::traced::{self, OpReport, Plan};

use crate::config::KillAt;
use crate::process::reaper::{self, Reaper};
use crate::runner::STOP_GRACE;
use crate::verifier::Evidence;

use super::Supervisor;
use super::checks::{FinalCheck, RunningCheck};
use super::driver::Driver;
use super::events::{Child, ChildId, Event};
use super::final_phase::FinalPhase;
use super::slot::{OpEnd, Running};
use crate::config::{ExecSpec, RunLength};
use crate::vocab::OpId;
use crate::vocab::{Seq, ViolationKind};

/// The stack of a thread that waits for one process to exit.
pub(super) const WATCHER_STACK: usize = 64 * 1024;

/// An operation asked of a slot's spawner thread.
pub(super) struct OpRequest {
    pub(super) id: ChildId,
    pub(super) seq: Seq,
    pub(super) tracing: Tracing,
}

/// Whether an operation runs under a tracer.
pub(super) enum Tracing {
    /// Plainly: `--kill-at delay`, or the final operation.
    Off,
    /// `--kill-at syscall`: under a tracer that counts its fault points,
    /// and kills it at fault point `kill_at` if the schedule says so.
    On { kill_at: Option<usize> },
}

/// Drives an outside program.
pub(super) struct ExecDriver {
    pub(super) spec: ExecSpec,
    /// One spawner thread per writer slot, so operations start in parallel
    /// (started by [`Driver::prepare`]).
    pub(super) spawners: Vec<Sender<OpRequest>>,
    /// Where the commands' output goes.
    pub(super) logs: ScratchDir,
    /// The run's watchdog: the commands' groups, the run's token and the
    /// log directory are registered with it.
    pub(super) watchdog: Arc<Watchdog>,
    pub(super) check: Option<RunningCheck>,
    pub(super) check_wanted: Option<String>,
    pub(super) final_check: FinalCheck,
    /// Finds what ended commands left outside their groups.
    pub(super) reaper: Reaper,
}

pub(crate) fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => status.to_string(),
    }
}

impl ExecDriver {
    /// Drives `spec`: becomes a subreaper, gives the run's token to
    /// `watchdog` and makes the log directory.
    pub(super) fn new(spec: &ExecSpec, watchdog: Arc<Watchdog>) -> Result<Self, crate::Error> {
        let harness = |what: &str, e: std::io::Error| crate::Error::Harness(format!("{what}: {e}"));
        let reaper = Reaper::start().map_err(|e| harness("cannot become a subreaper", e))?;
        watchdog.watch_run(reaper.tag());
        let logs = ScratchDir::in_tmp(Kind::Logs, Some(watchdog.clone()))
            .map_err(|e| crate::Error::Harness(format!("cannot create a log directory: {e}")))?;
        Ok(ExecDriver {
            spec: spec.clone(),
            spawners: Vec::new(),
            logs,
            watchdog,
            check: None,
            check_wanted: None,
            final_check: FinalCheck::NotYet,
            reaper,
        })
    }
}

impl Driver for ExecDriver {
    const KEEPS_ACKED_IDS: bool = true;

    fn prepare(sup: &mut Supervisor<'_, Self>) -> Result<(), crate::Error> {
        sup.preflight()?;
        sup.sync_disk()?;
        let spawners = (0..sup.cfg.writers)
            .map(|slot| sup.start_spawner(slot))
            .collect::<Result<_, _>>()?;
        sup.driver.spawners = spawners;
        Ok(())
    }

    fn spawn_writer(sup: &mut Supervisor<'_, Self>, slot: usize) -> Result<(), crate::Error> {
        sup.spawn_op(slot)
    }

    fn spawn_reader(sup: &mut Supervisor<'_, Self>, index: usize) -> Result<(), crate::Error> {
        let output = format!("r{index}.out");
        let running = sup.spawn_exec(Which::Check, Child::Reader(index), &output)?;
        sup.readers[index] = Some(running);
        Ok(())
    }

    fn on_exited(sup: &mut Supervisor<'_, Self>, id: ChildId, at: Instant) {
        sup.on_exec_exit(id, at)
    }

    fn on_spawned(
        sup: &mut Supervisor<'_, Self>,
        id: ChildId,
        process: Result<ChildProcess, String>,
        at: Instant,
    ) {
        sup.on_op_spawned(id, process, at)
    }

    fn request_check(sup: &mut Supervisor<'_, Self>, seen_by: String) {
        sup.request_exec_check(seen_by)
    }

    fn check_end_crash(sup: &mut Supervisor<'_, Self>, seen_by: String) -> bool {
        sup.spawn_check(seen_by).is_ok()
    }

    /// A timed run of an outside program ends with a crash: its operations
    /// in flight are SIGKILLed, then a check and the final operation show
    /// what the program makes of what they left (a stale lock held by an
    /// operation cut there is found whatever the run's length). Otherwise
    /// its commands are left to finish within the grace.
    fn on_stop(sup: &mut Supervisor<'_, Self>, reason: StopReason) {
        if sup.ends_with_crash(reason) {
            sup.out.kills_at_end = sup
                .writers
                .iter()
                .filter(|w| w.running.is_some() && w.in_flight.is_some())
                .count() as u64;
            sup.force_killed = true;
            sup.signal_all(Signal::SIGKILL);
        }
    }

    fn final_check_done(sup: &mut Supervisor<'_, Self>) -> bool {
        sup.exec_final_check_done()
    }

    /// Operations already asked of a spawner start anyway: collect them.
    /// Then the watchdog kills whatever is left.
    fn abandon(sup: &mut Supervisor<'_, Self>) {
        let deadline = sup.clock.now() + STOP_GRACE;
        while sup.writers.iter().any(|w| w.pending.is_some()) {
            let left = deadline.saturating_duration_since(sup.clock.now());
            match sup.clock.wait(&sup.rx, left) {
                Some(Event::Spawned(id, process, _)) => {
                    if let Child::Writer(slot) = id.child {
                        sup.writers[slot].pending = None;
                    }
                    if let Ok(process) = process {
                        process.kill_group();
                        sup.driver.watchdog.forget(process.pid());
                        let _ = process.wait();
                    }
                }
                Some(_) => {}
                None => break,
            }
        }
        sup.driver.watchdog.kill_now();
    }

    /// Every command is over: whatever carries the run's tag goes.
    fn finish(sup: &mut Supervisor<'_, Self>) {
        sup.out.escaped += sup.driver.reaper.sweep(&HashSet::new());
        sup.driver.watchdog.kill_now();
    }

    fn check_process(&self) -> Option<&Running> {
        self.check.as_ref().map(|c| &c.running)
    }

    fn is_final_check(&self) -> bool {
        self.final_check == FinalCheck::Running
    }

    fn enforce_check_timeout(&mut self, now: Instant, limit: Duration) {
        if let Some(check) = self.check.as_mut()
            && !check.timed_out
            && now - check.started >= limit
        {
            let _ = check.running.process.signal(Signal::SIGKILL);
            check.timed_out = true;
        }
    }

    fn printed_by(&self, slot: usize) -> String {
        tail(&self.logs.path().join(format!("w{slot}.out")))
    }
}

impl Supervisor<'_, ExecDriver> {
    /// Runs the outside program's init, then its check on the fresh state:
    /// a failure of either, before any operation, is bad input.
    fn preflight(&self) -> Result<(), crate::Error> {
        let (spec, watchdog) = (&self.driver.spec, &self.driver.watchdog);
        let out = self.driver.logs.path().join("preflight.out");
        let tag = self.driver.reaper.tag().command(reaper::PREFLIGHT);
        if spec.init.is_some() {
            let status = self.run_to_end(spec, Which::Init, &out, watchdog, &tag)?;
            if !status.success() {
                return Err(crate::Error::BadInput(format!(
                    "--init failed before any operation ({}): {}",
                    describe_status(status),
                    tail(&out)
                )));
            }
        }
        let status = self.run_to_end(spec, Which::Check, &out, watchdog, &tag)?;
        let printed = std::fs::read_to_string(&out).unwrap_or_default();
        if !status.success() {
            return Err(crate::Error::BadInput(format!(
                "--check failed on the fresh state before any operation ({}): {}",
                describe_status(status),
                tail(&out)
            )));
        }
        if let Some(line) = printed.lines().map(str::trim).find(|l| !l.is_empty()) {
            return Err(crate::Error::BadInput(format!(
                "--check printed {line:?} on the fresh state, before any operation: it must print only op ids"
            )));
        }
        Ok(())
    }

    /// Whether the run's end is a crash of the operations in flight: a timed
    /// run that completed, with kills asked for (a run at kill rate 0 tests
    /// concurrency alone, and an `--ops` run has nothing in flight at its
    /// end).
    fn ends_with_crash(&self, reason: StopReason) -> bool {
        reason == StopReason::Completed
            && self.cfg.kill_rate > 0.0
            && matches!(self.cfg.length, RunLength::Duration(_))
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
    ) -> Result<ExitStatus, crate::Error> {
        let harness = |e: std::io::Error| {
            crate::Error::Harness(format!("cannot run {}: {e}", spec.program(which)))
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
            return Err(crate::Error::BadInput(format!(
                "{which:?} did not finish within --op-timeout {:?}",
                self.cfg.op_timeout
            )));
        }
        Ok(status)
    }

    /// Starts one command of the outside program, watched for its exit.
    pub(super) fn spawn_exec(
        &mut self,
        which: Which,
        child: Child,
        output: &str,
    ) -> Result<Running, crate::Error> {
        let id = ChildId {
            child,
            generation: self.next_generation(),
        };
        let exec = &self.driver;
        let output = exec.logs.path().join(output);
        let tag = exec.reaper.tag().command(id.generation);
        let process = exec
            .spec
            .spawn(which, &self.dir, &output, &tag)
            .map_err(|e| {
                crate::Error::Harness(format!("cannot run {}: {e}", exec.spec.program(which)))
            })?;
        exec.watchdog.watch(process.pid());
        let (pid, tx, clock) = (process.pid(), self.tx.clone(), Arc::clone(&self.clock));
        // The watcher only blocks in waitid: a small stack is plenty and
        // cheaper to map, and one is started per operation.
        let watcher = std::thread::Builder::new()
            .stack_size(WATCHER_STACK)
            .spawn(move || {
                let _ = wait_exited(pid);
                let _ = tx.send(Event::Exited(id, clock.now()));
            });
        watcher
            .map_err(|e| crate::Error::Harness(format!("cannot start a watcher thread: {e}")))?;
        Ok(Running {
            process: Box::new(process),
            generation: id.generation,
        })
    }

    /// A thread that starts the operations of writer `slot` of an outside
    /// program when asked, and reports each start and each exit.
    fn start_spawner(&self, slot: usize) -> Result<Sender<OpRequest>, crate::Error> {
        let (requests, rx) = mpsc::channel::<OpRequest>();
        let (spec, dir, tx) = (self.driver.spec.clone(), self.dir.clone(), self.tx.clone());
        let watchdog = Arc::clone(&self.driver.watchdog);
        let logs = self.driver.logs.path();
        let output = logs.join(format!("w{slot}.out"));
        let report = logs.join(format!("w{slot}.kill"));
        let program = self.cfg.program.clone();
        let clock = Arc::clone(&self.clock);
        let run = self.driver.reaper.tag().clone();
        let spawned = std::thread::Builder::new()
            .stack_size(WATCHER_STACK)
            .spawn(move || {
                for OpRequest { id, seq, tracing } in rx {
                    let at = clock.now();
                    let which = Which::Op(slot, seq);
                    let tag = run.command(id.generation);
                    let started = match tracing {
                        Tracing::Off => spec.spawn(which, &dir, &output, &tag),
                        Tracing::On { kill_at } => {
                            let plan = Plan::Op {
                                kill_at,
                                report: report.clone(),
                            };
                            let mut argv = vec![program.clone().into_os_string()];
                            argv.extend(traced::args(&plan, &dir, &spec.argv(which)));
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
                            let _ = tx.send(Event::Exited(id, clock.now()));
                        }
                        Err(e) => {
                            let _ = tx.send(Event::Spawned(id, Err(e.to_string()), at));
                        }
                    }
                }
            });
        spawned
            .map_err(|e| crate::Error::Harness(format!("cannot start a spawner thread: {e}")))?;
        Ok(requests)
    }

    /// Asks the slot's spawner for its next operation.
    fn spawn_op(&mut self, slot: usize) -> Result<(), crate::Error> {
        let id = ChildId {
            child: Child::Writer(slot),
            generation: self.next_generation(),
        };
        let seq = self.writers[slot].next_seq;
        let scheduled = self.final_phase == FinalPhase::NotYet;
        let tracing = if self.cfg.kill_at == KillAt::Syscall && scheduled {
            let carried = std::mem::take(&mut self.writers[slot].carried);
            let decided = self.schedule.decide(slot, seq).is_some() || carried;
            Tracing::On {
                kill_at: decided.then(|| self.plan_kill(slot, seq)),
            }
        } else {
            Tracing::Off
        };
        if let Some(d) = self.disk.as_mut() {
            d.spawning(slot);
        }
        self.driver.spawners[slot]
            .send(OpRequest { id, seq, tracing })
            .map_err(|_| crate::Error::Harness("a spawner thread is gone".into()))?;
        self.writers[slot].pending = Some((id.generation, seq));
        Ok(())
    }

    fn on_op_spawned(&mut self, id: ChildId, process: Result<ChildProcess, String>, at: Instant) {
        let Child::Writer(slot) = id.child else {
            return;
        };
        let Some((_, seq)) = self.writers[slot].pending.take() else {
            return;
        };
        match process {
            Ok(process) => {
                self.writers[slot].running = Some(Running {
                    process: Box::new(process),
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
                let program = self.driver.spec.program(Which::Op(slot, seq));
                let e = crate::Error::Harness(format!("cannot run {program}: {e}"));
                self.respawn(|_| Err(e));
            }
        }
    }

    /// An outside program's command exited: reap it and act on its status.
    fn on_exec_exit(&mut self, id: ChildId, at: Instant) {
        match id.child {
            Child::Check => self.on_check_exit(at),
            Child::Reader(index) => self.on_exec_reader_exit(index),
            Child::Writer(slot) => self.on_op_exit(slot, at),
        }
    }

    /// Kills what is left of the group, unregisters it, then reaps the
    /// leader: in that order, the watchdog never holds a reused group id.
    /// Then sweeps for what ended commands left outside their groups.
    pub(super) fn reap_exec(&mut self, running: Running) -> Option<ExitStatus> {
        running.process.kill_group();
        self.driver.watchdog.forget(running.process.pid());
        let status = running.process.wait().ok();
        let live = self.live_commands();
        let now = self.clock.now();
        self.out.escaped += self.driver.reaper.after_command(&live, now);
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
        let check = self.driver.check.as_ref().map(|c| c.running.generation);
        writers.chain(readers).chain(check).collect()
    }

    /// Whether a command died of the end-of-run SIGKILL (its result says
    /// nothing about the state).
    pub(super) fn cut_by_force_kill(&self, status: Option<ExitStatus>) -> bool {
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
            Some(s) => OpEnd::Failed(format!(
                "{}: {}",
                describe_status(s),
                self.driver.printed_by(slot)
            )),
            None => OpEnd::Failed("could not be reaped".into()),
        };
        let was_killed = matches!(end, OpEnd::Indeterminate);
        self.end_op(slot, seq, at, end);
        self.writers[slot].killed = None;
        if self.stopping.is_some() {
            return;
        }
        if was_killed {
            self.request_exec_check(format!("check after the kill of {}", OpId::new(slot, seq)));
        }
        if self.writers[slot].next_seq < self.writers[slot].end_seq && self.stopping.is_none() {
            self.respawn(|s| s.spawn_op(slot));
        }
    }

    /// What the tracer of an outside program's operation wrote: whether it
    /// killed it, and the fault points it reached.
    fn read_kill_report(&mut self, slot: usize, seq: Seq) {
        let path = self.driver.logs.path().join(format!("w{slot}.kill"));
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
                let out = tail(&self.driver.logs.path().join(format!("r{index}.out")));
                let detail = format!("the check failed ({}): {out}", describe_status(s));
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
            self.respawn(|s| ExecDriver::spawn_reader(s, index));
        }
    }
}
