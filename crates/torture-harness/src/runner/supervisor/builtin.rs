//! The built-in workload: `torture`'s own writer and reader processes
//! running a strategy of the zoo, talking over their stdout. A writer runs
//! its quota of operations; when it dies, the slot's ledger marks the
//! operation in flight, the state is checked at once through the
//! strategy's read path, and the slot is respawned.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::config::KillAt;
use crate::process::ChildProcess;
use crate::report::StopReason;
use crate::runner::BASELINE_FILE;
use crate::runner::child::{ChildSpec, Role, SUBCOMMAND};
use crate::runner::traced::{self, Plan};
use crate::state::Document;
use crate::strategy::Strategy;
use crate::verifier::CheckPoint;

use super::Supervisor;
use super::driver::Driver;
use super::events::{Child, ChildId, forward};
use super::final_phase::FinalPhase;
use super::slot::{AllowedExit, Running};
use crate::config::{RunLength, STATE_FILE};
use crate::vocab::ViolationKind;

/// Drives a built-in strategy.
pub(super) struct BuiltinDriver {
    pub(super) strategy: &'static dyn Strategy,
    /// The state file in the run directory.
    pub(super) state: PathBuf,
}

impl BuiltinDriver {
    /// Drives `strategy` on the state file in `dir`.
    pub(super) fn new(strategy: &'static dyn Strategy, dir: &Path) -> Self {
        BuiltinDriver {
            strategy,
            state: dir.join(STATE_FILE),
        }
    }
}

impl Driver for BuiltinDriver {
    fn prepare(sup: &mut Supervisor<'_, Self>) -> Result<(), crate::Error> {
        if sup.cfg.baseline {
            sup.out.baseline_ops_per_s = Some(sup.baseline()?);
        }
        sup.init_state()?;
        sup.sync_disk()
    }

    fn spawn_writer(sup: &mut Supervisor<'_, Self>, slot: usize) -> Result<(), crate::Error> {
        let spec = ChildSpec {
            role: Role::Writer,
            strategy: sup.driver.strategy.name().to_string(),
            state: sup.driver.state.clone(),
            slot,
            first_seq: sup.writers[slot].next_seq,
            end_seq: sup.writers[slot].end_seq,
            position: sup.disk.as_ref().map(|d| d.probe.position_file.clone()),
        };
        if let Some(d) = sup.disk.as_mut() {
            d.spawning(slot);
        }
        let running = sup.spawn_builtin(&spec)?;
        sup.writers[slot].running = Some(running);
        Ok(())
    }

    fn spawn_reader(sup: &mut Supervisor<'_, Self>, index: usize) -> Result<(), crate::Error> {
        let spec = ChildSpec {
            role: Role::Reader,
            strategy: sup.driver.strategy.name().to_string(),
            state: sup.driver.state.clone(),
            slot: index,
            first_seq: 0,
            end_seq: 0,
            position: None,
        };
        let running = sup.spawn_builtin(&spec)?;
        sup.readers[index] = Some(running);
        Ok(())
    }

    fn on_eof(sup: &mut Supervisor<'_, Self>, id: ChildId) {
        match id.child {
            Child::Reader(index) => sup.on_reader_exit(index),
            Child::Writer(slot) => sup.on_writer_exit(slot),
            Child::Check => {}
        }
    }

    fn request_check(sup: &mut Supervisor<'_, Self>, seen_by: String) {
        if !sup.check_builtin(CheckPoint::MidRun, &seen_by) {
            sup.begin_stop(StopReason::StateDestroyed);
        }
    }

    /// Built-in children finish their operation on SIGUSR1.
    fn on_stop(sup: &mut Supervisor<'_, Self>, _reason: StopReason) {
        sup.signal_all(Signal::SIGUSR1);
    }

    fn finish(sup: &mut Supervisor<'_, Self>) {
        if sup.verifier.count(ViolationKind::Torn) == 0 {
            sup.check_builtin(CheckPoint::Final, "final check");
        }
    }
}

impl Supervisor<'_, BuiltinDriver> {
    fn init_state(&self) -> Result<(), crate::Error> {
        let fresh = Document::new(self.cfg.writers, self.cfg.payload).encode();
        self.driver
            .strategy
            .update(&self.driver.state, &mut |_| Ok(fresh.clone()))
            .map_err(|e| crate::Error::Harness(format!("cannot create the initial state: {e}")))
    }

    /// Runs updates in this process, on a separate file of the same
    /// directory, for a comparison with what the harness reaches.
    fn baseline(&self) -> Result<f64, crate::Error> {
        let strategy = self.driver.strategy;
        let path = self.dir.join(BASELINE_FILE);
        let mut doc = Document::new(1, self.cfg.payload);
        let budget = match self.cfg.length {
            RunLength::Duration(d) => d.min(Duration::from_secs(2)),
            RunLength::Ops(_) => Duration::from_secs(2),
        };
        let start = self.clock.now();
        let mut n = 0u64;
        while self.clock.now() - start < budget {
            doc.apply(0, n).map_err(crate::Error::Harness)?;
            let bytes = doc.encode();
            strategy
                .update(&path, &mut |_| Ok(bytes.clone()))
                .map_err(|e| crate::Error::Harness(format!("baseline update failed: {e}")))?;
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

    fn spawn_builtin(&mut self, spec: &ChildSpec) -> Result<Running, crate::Error> {
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
            args = traced::args(&plan, &self.dir, &command);
        }
        let (process, stdout) =
            ChildProcess::spawn_piped(&self.cfg.program, &args).map_err(|e| {
                crate::Error::Harness(format!("cannot start {}: {e}", self.cfg.program.display()))
            })?;
        let child = match spec.role {
            Role::Writer => Child::Writer(spec.slot),
            Role::Reader => Child::Reader(spec.slot),
        };
        let id = ChildId {
            child,
            generation: self.next_generation(),
        };
        let (tx, clock) = (self.tx.clone(), Arc::clone(&self.clock));
        std::thread::spawn(move || forward(stdout, id, tx, &*clock));
        Ok(Running {
            process: Box::new(process),
            generation: id.generation,
        })
    }

    fn on_reader_exit(&mut self, index: usize) {
        if let Some(r) = self.readers[index].take() {
            let allowed = AllowedExit {
                clean: self.stopping.is_some(),
                sigkill: self.force_killed,
            };
            self.note_exit(r, format!("reader {index}"), allowed);
        }
        if self.stopping.is_none() {
            self.respawn(|s| BuiltinDriver::spawn_reader(s, index));
        }
    }
}
