//! The built-in workload: `torture`'s own writer and reader processes
//! running a strategy of the zoo, talking over their stdout.

use std::sync::Arc;
use std::time::Duration;

use crate::fault::precise::{self, Plan};
use crate::report::StopReason;
use crate::runner::child::{ChildSpec, Role, SUBCOMMAND};
use crate::runner::exec::op_id;
use crate::runner::process::ChildProcess;
use crate::runner::schedule::KillAt;
use crate::runner::{BASELINE_FILE, RunError, RunLength, Workload};
use crate::state::Document;
use crate::verifier::CheckPoint;

use super::Supervisor;
use super::events::{ChildId, forward};
use super::final_phase::FinalPhase;
use super::slot::{AllowedExit, OpEnd, Running};

impl Supervisor<'_> {
    pub(super) fn init_state(&self) -> Result<(), RunError> {
        let Workload::Builtin(strategy) = &self.cfg.workload else {
            return Ok(());
        };
        let fresh = Document::new(self.cfg.writers, self.cfg.payload).encode();
        strategy
            .update(&self.state, &mut |_| Ok(fresh.clone()))
            .map_err(|e| RunError::Harness(format!("cannot create the initial state: {e}")))
    }

    /// Runs updates in this process, on a separate file of the same
    /// directory, for a comparison with what the harness reaches.
    pub(super) fn baseline(&self) -> Result<f64, RunError> {
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
        let start = self.clock.now();
        let mut n = 0u64;
        while self.clock.now() - start < budget {
            doc.apply(0, n).map_err(RunError::Harness)?;
            let bytes = doc.encode();
            strategy
                .update(&path, &mut |_| Ok(bytes.clone()))
                .map_err(|e| RunError::Harness(format!("baseline update failed: {e}")))?;
            n += 1;
        }
        let rate = n as f64 / (self.clock.now() - start).as_secs_f64();
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            if crate::runner::is_file_of(BASELINE_FILE, &entry.file_name().to_string_lossy()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(rate)
    }

    pub(super) fn spawn_builtin(&mut self, spec: &ChildSpec) -> Result<Running, RunError> {
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
        let (tx, clock) = (self.tx.clone(), Arc::clone(&self.clock));
        std::thread::spawn(move || forward(stdout, id, tx, &*clock));
        Ok(Running {
            process,
            generation: id.generation,
        })
    }

    pub(super) fn on_exit(&mut self, id: ChildId) {
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

    pub(super) fn on_writer_exit(&mut self, slot: usize) {
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
}
