//! The supervisor's event loop.
//!
//! Threads turn what children do into [`Event`]s on a channel: for built-in
//! writers and readers, the lines of their stdout; for an outside program's
//! commands, the moment each process exits (seen with `waitid(WNOWAIT)`, so
//! the main thread still reaps it and no pid can be reused under a pending
//! kill). The main thread owns all state, spawns and reaps children (it must
//! be the main thread: see [`crate::process`]), fires kill timers, enforces
//! the op and stall timeouts, and runs checks.
//!
//! This file holds the loop and the stop ladder (ask, grace, SIGKILL); each
//! other responsibility has its own file: [`events`] (what threads post and
//! where it goes), [`slot`] (each writer slot's ledger), [`kills`] (kill
//! timers and planned fault points), [`checks`], [`timeouts`] (op timeout
//! and stall), [`progress`], [`final_phase`] (the liveness step after the
//! writers stopped).
//!
//! Three seams make the loop testable without processes or sleeps: the
//! [`Driver`] (what differs between the two workloads: [`BuiltinDriver`],
//! a strategy's own writer and reader processes, and [`ExecDriver`], an
//! outside program's commands), the [`KillSchedule`], and the [`Clock`].

mod builtin;
mod checks;
mod clock;
mod disk;
mod driver;
mod events;
mod exec;
mod final_phase;
mod kills;
mod progress;
mod slot;
#[cfg(test)]
mod tests;
mod timeouts;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use nix::sys::signal::Signal;

use super::artifacts::Artifacts;
use super::coverage::CoverageTracker;
use crate::process::Watchdog;

use super::schedule::RecentDurations;
use super::{KillSchedule, STOP_GRACE};
use crate::report::{Outcome, Report, StopReason};
use crate::term::Bar;
use crate::verifier::{Evidence, SeqSet, SlotLedger, Verifier};

use crate::config::{KillAt, RunConfig, RunLength, Workload};
use crate::vocab::{Seq, ViolationKind};
use builtin::BuiltinDriver;
use clock::{Clock, SystemClock};
use driver::Driver;
use events::Event;
use exec::ExecDriver;
use final_phase::{FinalOpEnd, FinalPhase};
use slot::{AllowedExit, INITIAL_OP_ESTIMATE, Running, WriterSlot, quota};

use disk::DiskTrack;
pub use disk::{DiskProbe, Positions};
pub(crate) use exec::describe_status;

/// The longest the loop sleeps, so interrupts and deadlines are noticed.
const TICK: Duration = Duration::from_millis(50);

/// How many recent error messages are kept as evidence.
const KEEP_ERRORS: usize = 8;

/// Runs the torture `cfg` describes in the directory `dir`, killing
/// operations as `schedule` says; an outside program's commands are
/// registered with `watchdog`. On a recording disk (`disk`), also returns
/// where each operation began and was acknowledged in its log.
pub(super) fn run(
    cfg: &RunConfig,
    dir: &Path,
    schedule: Box<dyn KillSchedule>,
    watchdog: Arc<Watchdog>,
    disk: Option<DiskProbe>,
) -> Result<(Report, Option<Positions>), crate::Error> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let track = disk.map(|probe| DiskTrack::new(probe, cfg.writers));
    match &cfg.workload {
        Workload::Builtin(strategy) => {
            let driver = BuiltinDriver::new(*strategy, dir);
            let mut sup = Supervisor::new(cfg, dir, driver, schedule, clock);
            sup.disk = track;
            sup.run()
        }
        Workload::Exec(spec) => {
            let driver = ExecDriver::new(spec, watchdog)?;
            let mut sup = Supervisor::new(cfg, dir, driver, schedule, clock);
            sup.disk = track;
            sup.run()
        }
    }
}

/// The run's state, owned by the main thread; `D` drives the workload.
struct Supervisor<'a, D> {
    cfg: &'a RunConfig,
    dir: PathBuf,
    start: Instant,
    /// Every reading of the time, and the loop's wait.
    clock: Arc<dyn Clock>,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    generation: u64,
    writers: Vec<WriterSlot>,
    readers: Vec<Option<Running>>,
    driver: D,
    timers: BinaryHeap<Reverse<(Instant, usize, Seq)>>,
    schedule: Box<dyn KillSchedule>,
    ledgers: Vec<SlotLedger>,
    /// The acknowledged ops, for an outside program's checks (a built-in
    /// strategy's state counts them: its checks use the ledgers).
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
    /// The progress bar on stderr (`cfg.progress`), drawn from the start.
    bar: Bar,
    last_progress: Instant,
    last_ack: Instant,
    artifacts: Option<Artifacts>,
    final_phase: FinalPhase,
    final_op: Option<FinalOpEnd>,
    /// `--power-loss`: the operations' positions in the disk's log.
    disk: Option<DiskTrack>,
}

impl<'a, D: Driver> Supervisor<'a, D> {
    /// A supervisor of the run `cfg` in `dir`, through its seams.
    fn new(
        cfg: &'a RunConfig,
        dir: &Path,
        driver: D,
        schedule: Box<dyn KillSchedule>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let (tx, rx) = mpsc::channel();
        let now = clock.now();
        Supervisor {
            cfg,
            dir: dir.to_path_buf(),
            start: now,
            clock,
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
            driver,
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
            bar: Bar::hidden(),
            last_progress: now,
            last_ack: now,
            artifacts: cfg.artifacts.as_deref().map(Artifacts::new),
            final_phase: FinalPhase::NotYet,
            final_op: None,
            disk: None,
        }
    }

    fn run(mut self) -> Result<(Report, Option<Positions>), crate::Error> {
        crate::platform::stop_on(&[Signal::SIGINT, Signal::SIGTERM])
            .map_err(|e| crate::Error::Harness(format!("cannot install signal handlers: {e}")))?;
        D::prepare(&mut self)?;
        if self.cfg.announce {
            eprintln!(
                "torture: seed {}, directory {}",
                self.cfg.seed,
                self.dir.display()
            );
        }
        self.start = self.clock.now();
        self.last_ack = self.start;
        self.bar = self.new_bar();
        if let Err(e) = self.spawn_all() {
            self.stop_now();
            return Err(e);
        }
        self.event_loop();
        self.finish()
    }

    fn spawn_all(&mut self) -> Result<(), crate::Error> {
        for slot in 0..self.cfg.writers {
            if self.writers[slot].end_seq > 0 {
                D::spawn_writer(self, slot)?;
            }
        }
        for index in 0..self.cfg.readers {
            D::spawn_reader(self, index)?;
        }
        Ok(())
    }

    fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    fn event_loop(&mut self) {
        while !self.turn() {}
        // Erased before anything else is printed: the summary starts clean.
        self.bar.clear();
    }

    /// One turn of the loop: deadlines, then at most one event, then the
    /// kill timers due. True once the run is over.
    fn turn(&mut self) -> bool {
        let now = self.clock.now();
        self.maybe_stop(now);
        self.enforce_timeouts(now);
        if self.stopping.is_some()
            && self.all_gone()
            && self.final_op_done()
            && D::final_check_done(self)
        {
            return true;
        }
        self.progress(now);
        let wait = self.next_wakeup(now).saturating_duration_since(now);
        if let Some(event) = self.clock.wait(&self.rx, wait) {
            self.handle(event);
        }
        self.fire_timers(self.clock.now());
        if self.verifier.any()
            && let Some(a) = self.artifacts.as_mut()
        {
            a.first_violation(&self.dir);
        }
        false
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
            self.stopping = Some((reason, self.clock.now() + STOP_GRACE));
            self.timers.clear();
            D::on_stop(self, reason);
        }
    }

    /// Signals every writer, reader and background check; never the final
    /// check, which has its own timeout.
    fn signal_all(&self, signal: Signal) {
        let writers = self.writers.iter().filter_map(|w| w.running.as_ref());
        let check = self
            .driver
            .check_process()
            .filter(|_| !self.driver.is_final_check());
        for running in writers.chain(self.readers.iter().flatten()).chain(check) {
            let _ = running.process.signal(signal);
        }
    }

    /// Kills every child at once and reaps it (used when start-up fails).
    fn stop_now(&mut self) {
        self.signal_all(Signal::SIGKILL);
        D::abandon(self);
        for slot in &mut self.writers {
            if let Some(r) = slot.running.take() {
                let _ = r.process.finish();
            }
        }
        for r in self.readers.iter_mut().filter_map(Option::take) {
            let _ = r.process.finish();
        }
    }

    /// Whether every writer used up its quota and exited.
    fn quotas_done(&self) -> bool {
        self.writers
            .iter()
            .all(|w| w.running.is_none() && w.pending.is_none() && w.next_seq >= w.end_seq)
    }

    fn all_gone(&self) -> bool {
        let check_gone = self.driver.check_process().is_none() || self.driver.is_final_check();
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

    fn respawn(&mut self, spawn: impl FnOnce(&mut Self) -> Result<(), crate::Error>) {
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
            bytes_hex: Some(crate::hex::encode(bytes)),
            seed: self.cfg.seed,
        }
    }

    fn elapsed_ms(&self) -> u64 {
        self.elapsed().as_millis() as u64
    }

    /// The time since the run started.
    fn elapsed(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.start)
    }

    fn remember_error(&mut self, e: String) {
        if self.errors.len() == KEEP_ERRORS {
            self.errors.pop_front();
        }
        self.errors.push_back(e);
    }

    fn finish(mut self) -> Result<(Report, Option<Positions>), crate::Error> {
        self.out.elapsed = self.elapsed();
        D::finish(&mut self);
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
            return Err(crate::Error::Harness(format!(
                "cannot write artifacts to {}: {e}",
                a.dir().display()
            )));
        }
        Ok((report, self.disk.map(|d| d.positions)))
    }

    /// On a recording disk: makes what is in the run directory durable
    /// (`syncfs`) and takes the log position as the base of every crash
    /// point.
    fn sync_disk(&mut self) -> Result<(), crate::Error> {
        let Some(disk) = self.disk.as_mut() else {
            return Ok(());
        };
        let dir = std::fs::File::open(&self.dir).map_err(|e| {
            crate::Error::Harness(format!("cannot open {}: {e}", self.dir.display()))
        })?;
        nix::unistd::syncfs(&dir)
            .map_err(|e| crate::Error::Harness(format!("syncfs of {}: {e}", self.dir.display())))?;
        disk.positions.base = disk.probe.now();
        Ok(())
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
