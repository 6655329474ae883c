//! The per-slot ledger: each writer slot's process, its operation in flight,
//! and how each operation ended (acknowledged, failed, indeterminate).

use std::cmp::Reverse;
use std::io;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::config::RunLength;
use crate::runner::artifacts::OpRecord;

use crate::process::ChildProcess;

use crate::config::KillAt;

use super::Supervisor;
use super::driver::Driver;
use super::final_phase::{FinalOpEnd, FinalPhase};
use crate::vocab::OpId;
use crate::vocab::Seq;

/// The duration assumed for an operation before any was measured.
pub(super) const INITIAL_OP_ESTIMATE: Duration = Duration::from_millis(1);

/// A child process as the loop handles it: the seam under which the loop's
/// unit tests put processes that do not exist.
pub(super) trait Process {
    /// The pid, which is also the process group id.
    fn pid(&self) -> i32;
    /// Sends `signal` to the whole process group.
    fn signal(&self, signal: Signal) -> io::Result<()>;
    /// Kills what is left of the group, without reaping the leader.
    fn kill_group(&self);
    /// Reaps the leader without touching the rest of its group.
    fn wait(self: Box<Self>) -> io::Result<ExitStatus>;
    /// Kills what is left of the group, then reaps the leader.
    fn finish(self: Box<Self>) -> io::Result<ExitStatus>;
}

impl Process for ChildProcess {
    fn pid(&self) -> i32 {
        ChildProcess::pid(self)
    }

    fn signal(&self, signal: Signal) -> io::Result<()> {
        ChildProcess::signal(self, signal)
    }

    fn kill_group(&self) {
        ChildProcess::kill_group(self)
    }

    fn wait(self: Box<Self>) -> io::Result<ExitStatus> {
        ChildProcess::wait(*self)
    }

    fn finish(self: Box<Self>) -> io::Result<ExitStatus> {
        ChildProcess::finish(*self)
    }
}

/// A child the loop started, and which of the slot's children it is.
pub(super) struct Running {
    pub(super) process: Box<dyn Process>,
    /// Tells this child's events from an earlier one's of the same slot.
    pub(super) generation: u64,
}

/// How an operation ended.
pub(super) enum OpEnd {
    Acked(Duration),
    Failed(String),
    Indeterminate,
}

/// The ways a child may exit without a warning.
#[derive(Debug, Clone, Copy)]
pub(super) struct AllowedExit {
    /// With status 0 (it was asked to stop, or finished its quota).
    pub(super) clean: bool,
    /// By SIGKILL (the supervisor killed it).
    pub(super) sigkill: bool,
}

#[derive(Default)]
pub(super) struct WriterSlot {
    pub(super) running: Option<Running>,
    pub(super) next_seq: Seq,
    /// The slot's quota: it stops before this sequence number.
    pub(super) end_seq: Seq,
    pub(super) in_flight: Option<(Seq, Instant)>,
    /// The operation the supervisor killed (a scheduled kill or a timeout).
    pub(super) killed: Option<Seq>,
    /// Whether that kill was counted in `kills` (a scheduled kill, not a
    /// timeout): if the operation turns out to have been acknowledged, the
    /// kill came too late and counts as missed instead.
    pub(super) kill_counted: bool,
    /// An outside program's operation asked of the spawner, not started yet:
    /// (generation, sequence number).
    pub(super) pending: Option<(u64, Seq)>,
    /// `--kill-at syscall`: the fault point planned for the slot's next kill.
    pub(super) planned: Option<usize>,
    /// `--kill-at syscall`, outside programs: the last planned kill missed
    /// (the operation ended before its point), so the slot's next operation
    /// is killed instead: the scheduled kills land.
    pub(super) carried: bool,
}

/// The sequence number before which writer `slot` stops: `--ops` split
/// evenly over the writers (the first ones take the remainder).
pub(super) fn quota(length: RunLength, writers: usize, slot: usize) -> Seq {
    match length {
        RunLength::Duration(_) => Seq::MAX,
        RunLength::Ops(n) => {
            let w = writers as u64;
            n / w + u64::from((slot as u64) < n % w)
        }
    }
}

impl<D: Driver> Supervisor<'_, D> {
    pub(super) fn on_begin(&mut self, slot: usize, seq: Seq, at: Instant) {
        self.ledgers[slot].attempted += 1;
        if let Some(d) = self.disk.as_mut() {
            d.begin(slot, seq);
        }
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
    pub(super) fn end_op(&mut self, slot: usize, seq: Seq, at: Instant, end: OpEnd) {
        let w = &mut self.writers[slot];
        let Some((s, began)) = w.in_flight.filter(|f| f.0 == seq) else {
            return;
        };
        w.in_flight = None;
        if let Some(d) = self.disk.as_mut() {
            d.end(slot, s, matches!(end, OpEnd::Acked(_)));
        }
        let w = &mut self.writers[slot];
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
                if D::KEEPS_ACKED_IDS {
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
                self.remember_error(format!("{}: {error}", OpId::new(slot, s)));
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
                id: OpId::new(slot, s).to_string(),
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
    pub(super) fn end_final_op(&mut self, seq: Seq, end: OpEnd) {
        let ledger = &mut self.ledgers[0];
        self.final_op = Some(match end {
            OpEnd::Acked(_) => {
                ledger.acked += 1;
                self.acked_ids[0].insert(seq);
                FinalOpEnd::Acked
            }
            OpEnd::Failed(e) => {
                ledger.failed += 1;
                FinalOpEnd::Failed(format!("{}: {e}", OpId::new(0, seq)))
            }
            OpEnd::Indeterminate => {
                ledger.indeterminate += 1;
                FinalOpEnd::Hung
            }
        });
    }

    /// Writer `slot`'s process died (it runs many operations): its
    /// operation in flight is indeterminate, the state is checked, and the
    /// slot is respawned at its next sequence number.
    pub(super) fn on_writer_exit(&mut self, slot: usize) {
        let w = &mut self.writers[slot];
        let Some(running) = w.running.take() else {
            return;
        };
        let killed = w.killed;
        let cut = w.in_flight.map(|f| f.0);
        if let Some(seq) = cut {
            if killed.is_none() && self.stopping.is_none() {
                self.remember_error(format!("{}: writer died in flight", OpId::new(slot, seq)));
            }
            self.end_op(slot, seq, self.clock.now(), OpEnd::Indeterminate);
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
            Some(seq) => format!("check after the death of {}", OpId::new(slot, seq)),
            None => format!("check after the death of writer {slot}"),
        };
        D::request_check(self, seen_by);
        if !quota_done && self.stopping.is_none() {
            self.out.respawns += 1;
            self.respawn(|s| D::spawn_writer(s, slot));
        }
    }
}
