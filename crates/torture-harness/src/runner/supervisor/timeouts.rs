//! The op timeout (an operation running too long is killed) and the stall
//! watch (nothing acknowledged for too long ends the run).

use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;

use crate::report::StopReason;

use crate::verifier::Evidence;

use super::Supervisor;
use super::driver::Driver;
use super::final_phase::FinalPhase;
use crate::vocab::OpId;
use crate::vocab::ViolationKind;

impl<D: Driver> Supervisor<'_, D> {
    /// Kills operations that ran past `--op-timeout`, and ends the run with a
    /// `stall` when nothing was acknowledged for `--stall-timeout`.
    pub(super) fn enforce_timeouts(&mut self, now: Instant) {
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
                    OpId::new(slot, seq)
                ));
            }
        }
        self.driver.enforce_check_timeout(now, limit);
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
    pub(super) fn stall_detail(&self, headline: String) -> String {
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
        for (slot, w) in self
            .writers
            .iter()
            .enumerate()
            .filter(|(_, w)| w.in_flight.is_some())
            .take(3)
        {
            let out = self.driver.printed_by(slot);
            if !out.is_empty() {
                detail += &format!(
                    "; {} printed: {out}",
                    OpId::new(slot, w.in_flight.map_or(0, |f| f.0))
                );
            }
        }
        if let Some(e) = self.errors.back() {
            detail += &format!("; last error: {e}");
        }
        detail
    }
}
