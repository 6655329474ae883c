//! The liveness step after the writers stopped: a check of what the
//! end's crash left, then one more ordinary operation.

use std::time::Duration;

use crate::report::StopReason;

use crate::verifier::Evidence;

use super::Supervisor;
use super::driver::Driver;
use crate::vocab::{Seq, ViolationKind};

/// The liveness step after the writers stopped: one more ordinary
/// operation, then the final check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FinalPhase {
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
pub(super) enum FinalOpEnd {
    Acked,
    Failed(String),
    Hung,
}

impl<D: Driver> Supervisor<'_, D> {
    /// Once every writer is gone after a completed run, one more ordinary
    /// operation runs (slot 0, never killed by the schedule, with the op
    /// timeout capped by the stall timeout): a program that cannot do an
    /// operation after what the kills left behind (a stale lock file, say)
    /// is found `stall` whatever the run's length. True once it is over or
    /// skipped.
    pub(super) fn final_op_done(&mut self) -> bool {
        match self.final_phase {
            FinalPhase::Done => true,
            FinalPhase::Op(_) => {
                self.judge_final_op();
                self.final_phase = FinalPhase::Done;
                true
            }
            FinalPhase::EndCheck if self.driver.check_process().is_some() => false,
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
                    if D::check_end_crash(self, seen_by) {
                        return false;
                    }
                }
                let seq = self.writers[0].next_seq;
                self.writers[0].end_seq = seq + 1;
                self.final_phase = FinalPhase::Op(seq);
                if let Err(e) = D::spawn_writer(self, 0) {
                    self.final_op = Some(FinalOpEnd::Failed(e.to_string()));
                    self.final_phase = FinalPhase::Done;
                    return true;
                }
                false
            }
        }
    }

    /// Records the final operation's outcome; a failure or a hang is `stall`.
    pub(super) fn judge_final_op(&mut self) {
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
    pub(super) fn final_op_limit(&self) -> Duration {
        self.cfg.op_timeout.min(self.cfg.stall_timeout)
    }
}
