//! The supervisor's event loop.
//!
//! One thread per child turns its stdout into [`Event`]s on a channel; the
//! main thread owns all state, spawns and reaps children (it must be the
//! main thread: see [`super::process`]), fires kill timers and runs checks.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use nix::sys::signal::Signal;

use super::child::{ChildSpec, Role, SUBCOMMAND};
use super::process::ChildProcess;
use super::protocol::{Message, Seq};
use super::{KillSchedule, RunConfig, RunError, RunLength, STATE_FILE, STOP_GRACE};
use crate::report::{Outcome, Report, StopReason};
use crate::state::Document;
use crate::verifier::{CheckPoint, Evidence, SlotLedger, Verifier, ViolationKind, hex};

/// The longest the loop sleeps, so interrupts and deadlines are noticed.
const TICK: Duration = Duration::from_millis(50);
/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// How many recent error messages are kept as evidence.
const KEEP_ERRORS: usize = 8;
/// The duration assumed for an operation before any was measured.
const INITIAL_OP_ESTIMATE: Duration = Duration::from_millis(1);

/// Which child an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChildId {
    role: Role,
    index: usize,
    generation: u64,
}

enum Event {
    Line(ChildId, Message, Instant),
    Eof(ChildId),
}

struct Running {
    process: ChildProcess,
    generation: u64,
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
    killed: Option<Seq>,
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
    timers: BinaryHeap<Reverse<(Instant, usize, Seq)>>,
    schedule: Box<dyn KillSchedule>,
    ledgers: Vec<SlotLedger>,
    verifier: Verifier,
    latency: Histogram<u64>,
    op_estimate: Duration,
    out: Outcome,
    errors: VecDeque<String>,
    stopping: Option<(StopReason, Instant)>,
    force_killed: bool,
    last_progress: Instant,
}

impl<'a> Supervisor<'a> {
    pub(super) fn new(cfg: &'a RunConfig, dir: &Path, schedule: Box<dyn KillSchedule>) -> Self {
        let (tx, rx) = mpsc::channel();
        let now = Instant::now();
        Supervisor {
            cfg,
            dir: dir.to_path_buf(),
            state: dir.join(STATE_FILE),
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
            timers: BinaryHeap::new(),
            schedule,
            ledgers: vec![SlotLedger::default(); cfg.writers],
            verifier: Verifier::new(cfg.seed),
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            op_estimate: INITIAL_OP_ESTIMATE,
            out: Outcome::default(),
            errors: VecDeque::new(),
            stopping: None,
            force_killed: false,
            last_progress: now,
        }
    }

    pub(super) fn run(mut self) -> Result<Report, RunError> {
        crate::platform::stop_on(&[Signal::SIGINT, Signal::SIGTERM])
            .map_err(|e| RunError::Harness(format!("cannot install signal handlers: {e}")))?;
        if self.cfg.baseline {
            self.out.baseline_ops_per_s = Some(self.baseline()?);
        }
        self.init_state()?;
        self.start = Instant::now();
        let spawned = self.spawn_all();
        if let Err(e) = spawned {
            self.stop_now();
            return Err(e);
        }
        self.event_loop();
        self.finish()
    }

    fn init_state(&self) -> Result<(), RunError> {
        let fresh = Document::new(self.cfg.writers, self.cfg.payload).encode();
        self.cfg
            .strategy
            .update(&self.state, &mut |_| Ok(fresh.clone()))
            .map_err(|e| RunError::Harness(format!("cannot create the initial state: {e}")))
    }

    /// Runs updates in this process, on a separate file of the same
    /// directory, for a comparison with what the harness reaches.
    fn baseline(&self) -> Result<f64, RunError> {
        let path = self.dir.join("baseline-state");
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
            self.cfg
                .strategy
                .update(&path, &mut |_| Ok(bytes.clone()))
                .map_err(|e| RunError::Harness(format!("baseline update failed: {e}")))?;
            n += 1;
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with("baseline-") {
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

    fn spawn_writer(&mut self, slot: usize) -> Result<(), RunError> {
        let spec = ChildSpec {
            role: Role::Writer,
            strategy: self.cfg.strategy.name().to_string(),
            state: self.state.clone(),
            slot,
            first_seq: self.writers[slot].next_seq,
            end_seq: self.writers[slot].end_seq,
        };
        let running = self.spawn(&spec)?;
        self.writers[slot].running = Some(running);
        Ok(())
    }

    fn spawn_reader(&mut self, index: usize) -> Result<(), RunError> {
        let spec = ChildSpec {
            role: Role::Reader,
            strategy: self.cfg.strategy.name().to_string(),
            state: self.state.clone(),
            slot: index,
            first_seq: 0,
            end_seq: 0,
        };
        self.readers[index] = Some(self.spawn(&spec)?);
        Ok(())
    }

    fn spawn(&mut self, spec: &ChildSpec) -> Result<Running, RunError> {
        let mut args = vec![SUBCOMMAND.into()];
        args.extend(spec.to_args());
        let (process, stdout) = ChildProcess::spawn(&self.cfg.program, &args).map_err(|e| {
            RunError::Harness(format!("cannot start {}: {e}", self.cfg.program.display()))
        })?;
        self.generation += 1;
        let id = ChildId {
            role: spec.role,
            index: spec.slot,
            generation: self.generation,
        };
        let tx = self.tx.clone();
        std::thread::spawn(move || forward(stdout, id, tx));
        Ok(Running {
            process,
            generation: self.generation,
        })
    }

    fn event_loop(&mut self) {
        loop {
            let now = Instant::now();
            self.maybe_stop(now);
            if self.stopping.is_some() && self.all_gone() {
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
        }
        if self.cfg.progress {
            eprint!("\r\x1b[K");
        }
    }

    fn maybe_stop(&mut self, now: Instant) {
        if let Some((_, grace_end)) = self.stopping {
            if now >= grace_end && !self.force_killed {
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
            self.signal_all(Signal::SIGUSR1);
        }
    }

    fn signal_all(&self, signal: Signal) {
        let writers = self.writers.iter().filter_map(|w| w.running.as_ref());
        for running in writers.chain(self.readers.iter().flatten()) {
            let _ = running.process.signal(signal);
        }
    }

    /// Kills every child at once and reaps it (used when start-up fails).
    fn stop_now(&mut self) {
        self.signal_all(Signal::SIGKILL);
        for slot in &mut self.writers {
            if let Some(r) = slot.running.take() {
                let _ = r.process.wait();
            }
        }
        for r in self.readers.iter_mut().filter_map(Option::take) {
            let _ = r.process.wait();
        }
    }

    /// Whether every writer used up its quota and exited.
    fn quotas_done(&self) -> bool {
        self.writers
            .iter()
            .all(|w| w.running.is_none() && w.next_seq >= w.end_seq)
    }

    fn all_gone(&self) -> bool {
        self.writers.iter().all(|w| w.running.is_none()) && self.readers.iter().all(Option::is_none)
    }

    fn next_wakeup(&self, now: Instant) -> Instant {
        let mut at = now + TICK;
        if let Some(Reverse((t, _, _))) = self.timers.peek() {
            at = at.min(*t);
        }
        at
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Line(id, msg, at) if self.is_current(id) => self.on_message(id, msg, at),
            Event::Line(..) => {}
            Event::Eof(id) if self.is_current(id) => self.on_exit(id),
            Event::Eof(_) => {}
        }
    }

    fn is_current(&self, id: ChildId) -> bool {
        let running = match id.role {
            Role::Writer => self.writers[id.index].running.as_ref(),
            Role::Reader => self.readers[id.index].as_ref(),
        };
        running.is_some_and(|r| r.generation == id.generation)
    }

    fn on_message(&mut self, id: ChildId, msg: Message, at: Instant) {
        let slot = id.index;
        match msg {
            Message::Begin(seq) => self.on_begin(slot, seq, at),
            Message::Ack(seq, took) => {
                self.end_op(slot, seq, at);
                self.ledgers[slot].acked += 1;
                self.out.acked += 1;
                let _ = self.latency.record(took.as_micros().max(1) as u64);
            }
            Message::Fail(seq, error) => {
                self.end_op(slot, seq, at);
                self.ledgers[slot].failed += 1;
                self.out.failed += 1;
                self.remember_error(format!("w{slot}-{seq}: {error}"));
            }
            Message::Torn(seq, why, bytes) => {
                self.end_op(slot, seq, at);
                self.ledgers[slot].failed += 1;
                self.out.failed += 1;
                let op = format!("w{slot}-{seq}");
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

    fn on_begin(&mut self, slot: usize, seq: Seq, at: Instant) {
        self.ledgers[slot].attempted += 1;
        self.out.attempted += 1;
        let w = &mut self.writers[slot];
        w.in_flight = Some((seq, at));
        w.next_seq = seq + 1;
        if self.stopping.is_some() {
            return;
        }
        if let Some(fraction) = self.schedule.decide(slot, seq) {
            let when = at + self.op_estimate.mul_f64(fraction);
            self.timers.push(Reverse((when, slot, seq)));
        }
    }

    fn end_op(&mut self, slot: usize, seq: Seq, at: Instant) {
        let w = &mut self.writers[slot];
        if let Some((s, began)) = w.in_flight
            && s == seq
        {
            w.in_flight = None;
            // An exponentially weighted mean of what the supervisor sees.
            let took = at.saturating_duration_since(began);
            self.op_estimate = self.op_estimate.mul_f64(0.95) + took.mul_f64(0.05);
        }
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
        let killed = w.killed.take();
        let cut = w.in_flight.take();
        if let Some((seq, _)) = cut {
            self.ledgers[slot].indeterminate += 1;
            self.out.indeterminate += 1;
            if killed.is_none() && self.stopping.is_none() {
                self.remember_error(format!("w{slot}-{seq}: writer died in flight"));
            }
        }
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
            Some((seq, _)) => format!("check after the death of w{slot}-{seq}"),
            None => format!("check after the death of writer {slot}"),
        };
        if !self.check(CheckPoint::MidRun, &seen_by) {
            self.begin_stop(StopReason::StateDestroyed);
            return;
        }
        if !quota_done {
            self.out.respawns += 1;
            self.respawn(|s| s.spawn_writer(slot));
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

    /// Reads the state through the strategy and checks it. False if torn.
    fn check(&mut self, point: CheckPoint, seen_by: &str) -> bool {
        let at_ms = self.elapsed_ms();
        match self.cfg.strategy.read(&self.state) {
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
        if self.verifier.count(ViolationKind::Torn) == 0 {
            self.check(CheckPoint::Final, "final check");
        }
        self.out.litter = litter(&self.dir);
        self.out.stop = self.stopping.map(|s| s.0).unwrap_or(StopReason::Completed);
        self.out.errors = self.errors.into_iter().collect();
        self.out.latency = (&self.latency).into();
        Ok(Report::new(self.cfg, &self.dir, self.out, self.verifier))
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
        .filter(|n| n.contains(crate::atomic::TEMP_INFIX))
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
