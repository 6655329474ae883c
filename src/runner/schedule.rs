//! The kill schedule: which operations get cut, and when inside them.
//!
//! A seam: the supervisor asks a [`KillSchedule`], so tests can drive kills
//! exactly. The default draws each decision from the run's seed and the
//! operation's identity (slot, sequence number), not from the order in which
//! messages arrive, so a run with the same seed draws the same decisions.

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

#[cfg(test)]
mod tests {
    use super::*;

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
