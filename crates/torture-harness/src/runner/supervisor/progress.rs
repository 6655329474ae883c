//! The live progress line on stderr.

use std::time::{Duration, Instant};

use super::Supervisor;
use super::driver::Driver;
use crate::vocab::ViolationKind;

/// How often the progress line is redrawn.
pub(super) const PROGRESS_EVERY: Duration = Duration::from_millis(250);

impl<D: Driver> Supervisor<'_, D> {
    pub(super) fn progress(&mut self, now: Instant) {
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
}
