//! Checks of the state: a built-in strategy's read path at once, an outside
//! program's `--check` one at a time in the background, each holding the
//! acknowledged ids as they were when it started.

use std::path::PathBuf;
use std::time::Instant;

use crate::report::StopReason;
use crate::runner::exec::{Which, tail};

use crate::verifier::{CheckOutput, CheckPoint, SeqSet};

use super::Supervisor;
use super::builtin::BuiltinDriver;
use super::events::Child;
use super::exec::ExecDriver;
use super::exec::describe_status;
use super::slot::Running;
use crate::vocab::{Seq, ViolationKind};

/// A check of an outside program's state, running in the background.
pub(super) struct RunningCheck {
    pub(super) running: Running,
    /// The acknowledged ops when it started: those it must see.
    pub(super) acked: Vec<SeqSet>,
    pub(super) seen_by: String,
    pub(super) output: PathBuf,
    pub(super) started: Instant,
    /// Killed for running past the op timeout.
    pub(super) timed_out: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FinalCheck {
    NotYet,
    Running,
    Done,
}

impl Supervisor<'_, ExecDriver> {
    /// For an outside program, the final check runs in the loop once every
    /// writer and reader is gone (built-in runs check in their
    /// [`super::driver::Driver::finish`]).
    pub(super) fn exec_final_check_done(&mut self) -> bool {
        let torn = self.verifier.count(ViolationKind::Torn) > 0;
        let exec = &mut self.driver;
        match exec.final_check {
            FinalCheck::Done => true,
            FinalCheck::Running => false,
            FinalCheck::NotYet if torn => true,
            FinalCheck::NotYet if exec.check.is_some() => false,
            FinalCheck::NotYet => {
                exec.final_check = FinalCheck::Running;
                exec.check_wanted = None;
                if self.spawn_check("final check".into()).is_err() {
                    self.driver.final_check = FinalCheck::Done;
                    return true;
                }
                false
            }
        }
    }

    /// Checks the state as soon as the running check is done.
    pub(super) fn request_exec_check(&mut self, seen_by: String) {
        if self.driver.check.is_some() {
            self.driver.check_wanted = Some(seen_by);
        } else if let Err(e) = self.spawn_check(seen_by) {
            self.remember_error(e.to_string());
        }
    }

    pub(super) fn spawn_check(&mut self, seen_by: String) -> Result<(), crate::Error> {
        let running = self.spawn_exec(Which::Check, Child::Check, "check.out")?;
        let exec = &mut self.driver;
        exec.check = Some(RunningCheck {
            running,
            acked: self.acked_ids.clone(),
            seen_by,
            output: exec.logs.path().join("check.out"),
            started: self.clock.now(),
            timed_out: false,
        });
        Ok(())
    }

    pub(super) fn on_check_exit(&mut self, at: Instant) {
        let Some(check) = self.driver.check.take() else {
            return;
        };
        let status = self.reap_exec(check.running);
        let printed = std::fs::read_to_string(&check.output).unwrap_or_default();
        let is_final = self.driver.final_check == FinalCheck::Running;
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
        let exec = &mut self.driver;
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
}

impl Supervisor<'_, BuiltinDriver> {
    /// Reads a built-in strategy's state and checks it. False if torn.
    pub(super) fn check_builtin(&mut self, point: CheckPoint, seen_by: &str) -> bool {
        let at_ms = self.elapsed_ms();
        self.out.checks += 1;
        match self.driver.strategy.read(&self.driver.state) {
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
}
