//! The kill schedule: which operations get cut, and when inside them.
//!
//! A seam: the supervisor asks a [`KillSchedule`], so tests can drive kills
//! exactly. The default draws each decision from the run's seed and the
//! operation's identity (slot, sequence number), not from the order in which
//! messages arrive, so a run with the same seed draws the same decisions.

use std::time::Duration;

use crate::seed;
use crate::vocab::Seq;

/// Where inside an operation a kill lands: after `fraction` of a duration
/// picked from the recent operations' durations at `quantile`. Picking the
/// duration from the whole distribution, not a mean or a median, spreads
/// kills over long operations too, whose last steps (the write, after a long
/// wait for a lock) would otherwise never be hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KillPoint {
    /// Which recent duration, as a quantile in `[0, 1)`.
    pub quantile: f64,
    /// The fraction of it after which to kill, in `[0, 1)`.
    pub fraction: f64,
}

/// Decides, for each operation that begins, whether and when to kill it.
pub trait KillSchedule: Send {
    /// Where to kill operation `seq` of writer `slot`, or `None` to let it be.
    fn decide(&mut self, slot: usize, seq: Seq) -> Option<KillPoint>;
}

/// Kills each operation independently with probability `rate`, except the
/// first operation of each writer slot (sequence number 0): every slot first
/// shows that the program can acknowledge an operation before anything is
/// done to it. Without that, a kill in the very first operation can leave a
/// stale lock before anything was acknowledged, and such a run could not be
/// told from a program that never works (inconclusive) rather than stalled.
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
const WHICH_KEY: u64 = 0x7768_6963;

impl KillSchedule for SeededSchedule {
    fn decide(&mut self, slot: usize, seq: Seq) -> Option<KillPoint> {
        let key = [slot as u64, seq];
        let kill = seq > 0 && seed::unit(self.seed ^ KILL_KEY, &key) < self.rate;
        kill.then(|| KillPoint {
            quantile: seed::unit(self.seed ^ WHICH_KEY, &key),
            fraction: seed::unit(self.seed ^ WHEN_KEY, &key),
        })
    }
}

/// Recent observations of one quantity (operation durations, fault points
/// per operation), for picking one at a quantile.
#[derive(Debug, Clone)]
pub struct Recent<T> {
    recent: Vec<T>,
    next: usize,
    since_update: usize,
    sorted: Vec<T>,
    initial: T,
}

/// The durations of recent operations as the supervisor sees them (from the
/// begin message, or the spawn, to the acknowledgement).
pub type RecentDurations = Recent<Duration>;

/// How many recent observations are kept.
const WINDOW: usize = 255;
/// How often (in observations) the sorted copy is refreshed.
const REFRESH: usize = 16;

impl<T: Copy + Ord> Recent<T> {
    /// Answers `initial` until something has been observed.
    pub fn new(initial: T) -> Self {
        Recent {
            recent: Vec::with_capacity(WINDOW),
            next: 0,
            since_update: 0,
            sorted: Vec::new(),
            initial,
        }
    }

    /// Adds one observation.
    pub fn observe(&mut self, d: T) {
        if self.recent.len() < WINDOW {
            self.recent.push(d);
        } else {
            self.recent[self.next] = d;
        }
        self.next = (self.next + 1) % WINDOW;
        self.since_update += 1;
        if self.since_update >= REFRESH || self.recent.len() < REFRESH {
            self.since_update = 0;
            self.sorted.clone_from(&self.recent);
            self.sorted.sort_unstable();
        }
    }

    /// The recent observation at quantile `q` in `[0, 1)`.
    pub fn quantile(&self, q: f64) -> T {
        if self.sorted.is_empty() {
            return self.initial;
        }
        let i = ((q * self.sorted.len() as f64) as usize).min(self.sorted.len() - 1);
        self.sorted[i]
    }
}

impl Recent<Duration> {
    /// The delay after which to kill, for `point`.
    pub fn delay(&self, point: KillPoint) -> Duration {
        self.quantile(point.quantile).mul_f64(point.fraction)
    }
}

/// Fault points per operation, for `--kill-at syscall`.
pub type RecentCounts = Recent<u64>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_the_recent_distribution() {
        let mut t = RecentDurations::new(Duration::from_millis(1));
        assert_eq!(t.quantile(0.5), Duration::from_millis(1));
        for i in 0..300u64 {
            let d = if i % 10 == 0 {
                Duration::from_secs(1)
            } else {
                Duration::from_micros(500)
            };
            t.observe(d);
        }
        assert_eq!(t.quantile(0.5), Duration::from_micros(500));
        assert_eq!(
            t.quantile(0.99),
            Duration::from_secs(1),
            "the long tail is reachable"
        );
        let point = KillPoint {
            quantile: 0.5,
            fraction: 0.5,
        };
        assert_eq!(t.delay(point), Duration::from_micros(250));
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
        assert!((1..1000).all(|s| always.decide(0, s).is_some()));
        assert!(
            (0..64).all(|slot| always.decide(slot, 0).is_none()),
            "a slot's first operation is never killed"
        );
        let mut tenth = SeededSchedule::new(1, 0.1);
        let n = (0..10_000)
            .filter(|&s| tenth.decide(2, s).is_some())
            .count();
        assert!((850..1150).contains(&n), "{n}");
    }
}
