//! Scheduled kills: the timers of `--kill-at delay`, and the fault points
//! planned for `--kill-at syscall`.

use std::cmp::Reverse;
use std::time::Instant;

use nix::sys::signal::Signal;

use super::Supervisor;
use super::driver::Driver;
use crate::vocab::Seq;

impl<D: Driver> Supervisor<'_, D> {
    /// The tracer of `--kill-at syscall` killed operation `seq` of `slot`.
    pub(super) fn on_killed(&mut self, slot: usize, seq: Seq) {
        let w = &mut self.writers[slot];
        if w.in_flight.is_some_and(|f| f.0 == seq) {
            w.killed = Some(seq);
            w.kill_counted = true;
        }
        self.out.kills += 1;
    }

    pub(super) fn fire_timers(&mut self, now: Instant) {
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
                    w.kill_counted = true;
                    self.out.kills += 1;
                }
                _ => self.out.kills_missed += 1,
            }
        }
    }

    /// Plans where the slot's next kill lands: the least-hit fault point.
    pub(super) fn plan_kill(&mut self, slot: usize, seq: Seq) -> usize {
        const PLAN_KEY: u64 = 0x706c_616e;
        self.unplan(slot);
        let draw = crate::seed::unit(self.cfg.seed ^ PLAN_KEY, &[slot as u64, seq]);
        let ordinal = self.coverage.plan(draw);
        self.writers[slot].planned = Some(ordinal);
        ordinal
    }

    /// The slot's planned kill will not land.
    pub(super) fn unplan(&mut self, slot: usize) {
        if let Some(o) = self.writers[slot].planned.take() {
            self.coverage.unplan(o);
        }
    }

    /// A precise kill landed at fault point `ordinal` of operation `seq`.
    pub(super) fn on_landed(&mut self, slot: usize, seq: Seq, ordinal: usize, syscall: &str) {
        self.unplan(slot);
        self.coverage.landed(ordinal, syscall);
        self.on_killed(slot, seq);
    }
}
