//! The outside-program workload: `--exec` operations started by a
//! spawner thread per slot, `--check` readers and checks, each command
//! watched for its exit, reaped and swept by the main thread.

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};
use std::time::Instant;

use nix::sys::signal::Signal;

use crate::fault::precise::{self, OpReport, Plan};
use crate::owned::{Kind, ScratchDir};
use crate::runner::RunError;
use crate::runner::child::Role;
use crate::runner::exec::{ExecSpec, Which, op_id, tail};
use crate::runner::process::{ChildProcess, Watchdog, wait_exited};
use crate::runner::protocol::Seq;
use crate::runner::reaper::{self, Reaper, RunTag};
use crate::runner::schedule::KillAt;
use crate::verifier::{Evidence, ViolationKind};

use super::Supervisor;
use super::checks::{FinalCheck, RunningCheck};
use super::events::{CHECK_INDEX, ChildId, Event};
use super::final_phase::FinalPhase;
use super::slot::{OpEnd, Running};

/// The stack of a thread that waits for one process to exit.
pub(super) const WATCHER_STACK: usize = 64 * 1024;

/// An operation asked of a slot's spawner thread.
pub(super) struct OpRequest {
    pub(super) id: ChildId,
    pub(super) seq: Seq,
    /// `--kill-at syscall`: run it under a tracer, killing it at this fault
    /// point (`Some(None)`: traced, not killed).
    pub(super) traced: Option<Option<usize>>,
}

/// Where an outside program's command output goes.
pub(super) struct ExecRun<'s> {
    pub(super) spec: &'s ExecSpec,
    /// One spawner thread per writer slot, so operations start in parallel.
    pub(super) spawners: Vec<Sender<OpRequest>>,
    pub(super) logs: ScratchDir,
    pub(super) watchdog: std::sync::Arc<Watchdog>,
    pub(super) check: Option<RunningCheck>,
    pub(super) check_wanted: Option<String>,
    pub(super) final_check: FinalCheck,
    /// Finds what ended commands left outside their groups.
    pub(super) reaper: Reaper,
}

pub(super) fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => status.to_string(),
    }
}

impl<'a> Supervisor<'a> {
    /// Runs the outside program's init, then its check on the fresh state:
    /// a failure of either, before any operation, is bad input.
    pub(super) fn prepare_exec(&self, spec: &'a ExecSpec) -> Result<ExecRun<'a>, RunError> {
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
    pub(super) fn run_to_end(
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

    /// Starts one command of the outside program, watched for its exit.
    pub(super) fn spawn_exec(
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
        let (pid, tx, clock) = (process.pid(), self.tx.clone(), Arc::clone(&self.clock));
        // The watcher only blocks in waitid: a small stack is plenty and
        // cheaper to map, and one is started per operation.
        let watcher = std::thread::Builder::new()
            .stack_size(WATCHER_STACK)
            .spawn(move || {
                let _ = wait_exited(pid);
                let _ = tx.send(Event::Exited(id, clock.now()));
            });
        watcher.map_err(|e| RunError::Harness(format!("cannot start a watcher thread: {e}")))?;
        Ok(Running {
            process,
            generation: id.generation,
        })
    }

    /// A thread that starts the operations of writer `slot` of an outside
    /// program when asked, and reports each start and each exit.
    pub(super) fn start_spawner(
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
        let clock = Arc::clone(&self.clock);
        let run = run.clone();
        let spawned = std::thread::Builder::new()
            .stack_size(WATCHER_STACK)
            .spawn(move || {
                for OpRequest { id, seq, traced } in rx {
                    let at = clock.now();
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
                            let _ = tx.send(Event::Exited(id, clock.now()));
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
    pub(super) fn spawn_op(&mut self, slot: usize) -> Result<(), RunError> {
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

    pub(super) fn on_spawned(
        &mut self,
        id: ChildId,
        process: Result<ChildProcess, String>,
        at: Instant,
    ) {
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

    /// An outside program's command exited: reap it and act on its status.
    pub(super) fn on_exec_exit(&mut self, id: ChildId, at: Instant) {
        match (id.role, id.index) {
            (Role::Reader, CHECK_INDEX) => self.on_check_exit(at),
            (Role::Reader, i) => self.on_exec_reader_exit(i),
            (Role::Writer, slot) => self.on_op_exit(slot, at),
        }
    }

    /// Kills what is left of the group, unregisters it, then reaps the
    /// leader: in that order, the watchdog never holds a reused group id.
    /// Then sweeps for what ended commands left outside their groups.
    pub(super) fn reap_exec(&mut self, running: Running) -> Option<ExitStatus> {
        running.process.kill_group();
        if let Some(exec) = self.exec.as_ref() {
            exec.watchdog.forget(running.process.pid());
        }
        let status = running.process.wait().ok();
        let live = self.live_commands();
        if let Some(exec) = self.exec.as_mut() {
            self.out.escaped += exec.reaper.after_command(&live, self.clock.now());
        }
        status
    }

    /// The numbers (generations) of the commands running or asked of a
    /// spawner: their processes are theirs, wherever they are.
    pub(super) fn live_commands(&self) -> HashSet<u64> {
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
    pub(super) fn cut_by_force_kill(&self, status: Option<ExitStatus>) -> bool {
        use std::os::unix::process::ExitStatusExt;
        self.force_killed && status.and_then(|s| s.signal()) == Some(libc::SIGKILL)
    }

    pub(super) fn on_op_exit(&mut self, slot: usize, at: Instant) {
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

    /// What the tracer of an outside program's operation wrote: whether it
    /// killed it, and the fault points it reached.
    pub(super) fn read_kill_report(&mut self, slot: usize, seq: Seq) {
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

    pub(super) fn on_exec_reader_exit(&mut self, index: usize) {
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
}
