//! The live progress bar on stderr (`--progress` in the configuration: a
//! terminal, not `-q`): the time elapsed of the run's duration, or the
//! operations done of its `--ops`, with what was acknowledged, killed and
//! violated so far. The bar is drawn from the supervisor's clock, so a fake
//! clock drives it too; with `progress` off it draws nothing.

use std::time::{Duration, Instant};

use super::Supervisor;
use super::driver::Driver;
use crate::config::RunLength;
use crate::term::Bar;
use crate::vocab::ViolationKind;

/// How often the bar's counts are updated.
pub(super) const PROGRESS_EVERY: Duration = Duration::from_millis(250);

impl<D: Driver> Supervisor<'_, D> {
    /// The run's bar: milliseconds of the duration, or operations of the
    /// quota.
    pub(super) fn new_bar(&self) -> Bar {
        let len = match self.cfg.length {
            RunLength::Duration(d) => d.as_millis().try_into().unwrap_or(u64::MAX),
            RunLength::Ops(n) => n,
        };
        Bar::new(self.cfg.progress, len, self.progress_message(0.0))
    }

    pub(super) fn progress(&mut self, now: Instant) {
        if !self.bar.is_drawn() || now - self.last_progress < PROGRESS_EVERY {
            return;
        }
        self.last_progress = now;
        let elapsed = now - self.start;
        let pos = match self.cfg.length {
            RunLength::Duration(_) => elapsed.as_millis().try_into().unwrap_or(u64::MAX),
            RunLength::Ops(_) => self.ops_done(),
        };
        let message = self.progress_message(elapsed.as_secs_f64());
        self.bar.set(pos, message);
    }

    /// Operations that ended one way or another: what an `--ops` run counts.
    fn ops_done(&self) -> u64 {
        self.out.acked + self.out.failed + self.out.indeterminate
    }

    fn progress_message(&self, secs: f64) -> String {
        let done = match self.cfg.length {
            RunLength::Duration(d) => format!("{secs:.1}/{}s", d.as_secs_f64()),
            RunLength::Ops(n) => format!("{}/{n} ops", self.ops_done()),
        };
        let violations: u64 = ViolationKind::ALL
            .iter()
            .map(|&k| self.verifier.count(k))
            .sum();
        format!(
            "{done}  acked {}  killed {}  violations {violations}",
            self.out.acked, self.out.kills
        )
    }
}
