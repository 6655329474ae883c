//! The kill schedule: which operations get cut, and when inside them.
//!
//! A seam: the supervisor asks a [`KillSchedule`], so tests can drive kills
//! exactly. The default draws each decision from the run's seed and the
//! operation's identity (slot, sequence number), not from the order in which
//! messages arrive, so a run with the same seed draws the same decisions.

use std::time::Duration;

use super::protocol::Seq;
use crate::seed;

/// Decides, for each operation that begins, whether and when to kill it.
pub trait KillSchedule: Send {
    /// `Some(f)` to kill operation `seq` of writer `slot` after the fraction
    /// `f` in `[0, 1)` of an operation's typical duration; `None` to let it be.
    fn decide(&mut self, slot: usize, seq: Seq) -> Option<f64>;
}

/// Kills each operation independently with probability `rate`.
#[derive(Debug, Clone, Copy)]
pub struct SeededSchedule {
    seed: u64,
    rate: f64,
}

impl SeededSchedule {
    /// A schedule drawing from `seed` with kill probability `rate`.
    pub fn new(seed: u64, rate: f64) -> Self {
        SeededSchedule { seed, rate }
    }
}

const KILL_KEY: u64 = 0x6b69_6c6c;
const WHEN_KEY: u64 = 0x7768_656e;

impl KillSchedule for SeededSchedule {
    fn decide(&mut self, slot: usize, seq: Seq) -> Option<f64> {
        let key = [slot as u64, seq];
        let kill = seed::unit(self.seed ^ KILL_KEY, &key) < self.rate;
        kill.then(|| seed::unit(self.seed ^ WHEN_KEY, &key))
    }
}

/// The typical duration of an operation as the supervisor sees it (from
/// its begin message to its acknowledgement): the median of the most recent
/// ones. A median, not a mean: under load a few operations take a hundred
/// times longer, and a mean would push most kills past the end of ordinary
/// operations.
#[derive(Debug, Clone)]
pub struct TypicalDuration {
    recent: Vec<Duration>,
    next: usize,
    since_update: usize,
    median: Duration,
}

/// How many recent durations the median is taken over.
const WINDOW: usize = 255;
/// How often (in observations) the median is recomputed.
const REFRESH: usize = 16;

impl TypicalDuration {
    /// Starts from `initial` until operations have been observed.
    pub fn new(initial: Duration) -> Self {
        TypicalDuration {
            recent: Vec::with_capacity(WINDOW),
            next: 0,
            since_update: 0,
            median: initial,
        }
    }

    /// Adds one observed duration.
    pub fn observe(&mut self, d: Duration) {
        if self.recent.len() < WINDOW {
            self.recent.push(d);
        } else {
            self.recent[self.next] = d;
        }
        self.next = (self.next + 1) % WINDOW;
        self.since_update += 1;
        if self.since_update >= REFRESH || self.recent.len() < REFRESH {
            self.since_update = 0;
            let mut sorted = self.recent.clone();
            let mid = sorted.len() / 2;
            self.median = *sorted.select_nth_unstable(mid).1;
        }
    }

    /// The current estimate.
    pub fn get(&self) -> Duration {
        self.median
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_duration_ignores_outliers() {
        let mut t = TypicalDuration::new(Duration::from_millis(1));
        assert_eq!(t.get(), Duration::from_millis(1));
        for i in 0..300u64 {
            let d = if i % 10 == 0 {
                Duration::from_secs(1)
            } else {
                Duration::from_micros(500)
            };
            t.observe(d);
        }
        assert_eq!(t.get(), Duration::from_micros(500));
    }

    #[test]
    fn same_seed_same_decisions() {
        let mut a = SeededSchedule::new(9, 0.3);
        let mut b = SeededSchedule::new(9, 0.3);
        for seq in 0..200 {
            assert_eq!(a.decide(1, seq), b.decide(1, seq));
        }
    }

    #[test]
    fn rate_bounds() {
        let mut never = SeededSchedule::new(1, 0.0);
        let mut always = SeededSchedule::new(1, 1.0);
        assert!((0..1000).all(|s| never.decide(0, s).is_none()));
        assert!((0..1000).all(|s| always.decide(0, s).is_some()));
        let mut tenth = SeededSchedule::new(1, 0.1);
        let n = (0..10_000)
            .filter(|&s| tenth.decide(2, s).is_some())
            .count();
        assert!((850..1150).contains(&n), "{n}");
    }
}
