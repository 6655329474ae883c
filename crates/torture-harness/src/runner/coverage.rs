//! Where precise kills land: fault-point coverage for `--kill-at syscall`.
//!
//! The seeded schedule decides *which* operations are killed; this tracker
//! decides *where*: each planned kill goes to the fault point (by ordinal
//! within the operation) with the fewest kills landed or already planned, so
//! that N landed kills over P points hit every point once N >= P, instead of
//! leaving narrow windows to luck. Ties are broken by the schedule's seeded
//! draw, so the spread does not always start at the first point.
//!
//! The operation's number of points P is the median of the counts recent
//! operations reported; an operation shorter than its planned point makes
//! the kill a miss, which is counted, never hidden.

use crate::report::{Coverage, PointKills};
use crate::runner::schedule::RecentCounts;

/// Fault points per operation assumed before one was counted.
pub const INITIAL_POINTS: u64 = 16;

/// Kills landed and planned at each fault point.
#[derive(Debug, Clone)]
pub struct CoverageTracker {
    kills: Vec<u64>,
    planned: Vec<u64>,
    labels: Vec<String>,
    counts: RecentCounts,
    until: Option<u64>,
}

impl CoverageTracker {
    /// A tracker; `until` is `--until-covered K`.
    pub fn new(until: Option<u64>) -> Self {
        CoverageTracker {
            kills: Vec::new(),
            planned: Vec::new(),
            labels: Vec::new(),
            counts: RecentCounts::new(INITIAL_POINTS),
            until,
        }
    }

    /// The number of fault points of one operation, as recently seen.
    pub fn points(&self) -> usize {
        (self.counts.quantile(0.5) as usize).max(1)
    }

    /// An operation ended having reached `points` fault points.
    pub fn observe(&mut self, points: u64) {
        if points > 0 {
            self.counts.observe(points);
        }
    }

    /// Names the syscall seen at `ordinal`.
    pub fn label(&mut self, ordinal: usize, syscall: &str) {
        self.grow(ordinal + 1);
        self.labels[ordinal] = syscall.to_string();
    }

    /// Plans one kill: the least-hit point, ties broken at `draw` in [0, 1).
    pub fn plan(&mut self, draw: f64) -> usize {
        let p = self.points();
        self.grow(p);
        let load = |o: usize| self.kills[o] + self.planned[o];
        let least = (0..p).map(load).min().unwrap_or(0);
        let start = ((draw * p as f64) as usize).min(p - 1);
        let chosen = (0..p)
            .map(|i| (start + i) % p)
            .find(|&o| load(o) == least)
            .unwrap_or(start);
        self.planned[chosen] += 1;
        chosen
    }

    /// A planned kill will not land (the operation ended first, or the
    /// writer is gone).
    pub fn unplan(&mut self, ordinal: usize) {
        if let Some(n) = self.planned.get_mut(ordinal) {
            *n = n.saturating_sub(1);
        }
    }

    /// A kill landed at `ordinal`, on `syscall`.
    pub fn landed(&mut self, ordinal: usize, syscall: &str) {
        self.label(ordinal, syscall);
        self.kills[ordinal] += 1;
    }

    /// Whether every point got its `--until-covered` kills (false without
    /// the option).
    pub fn complete(&self) -> bool {
        let Some(k) = self.until else { return false };
        let p = self.points();
        (0..p).all(|o| self.kills.get(o).is_some_and(|&n| n >= k))
    }

    /// The report's view: every point up to P, and any point beyond it
    /// that a kill reached.
    pub fn report(&self) -> Coverage {
        let p = self.points();
        let shown = p.max(self.kills.iter().rposition(|&k| k > 0).map_or(0, |i| i + 1));
        let by_point: Vec<PointKills> = (0..shown)
            .map(|o| PointKills {
                point: o as u64,
                syscall: self
                    .labels
                    .get(o)
                    .filter(|l| !l.is_empty())
                    .cloned()
                    .unwrap_or_else(|| "(not reached yet)".into()),
                kills: self.kills.get(o).copied().unwrap_or(0),
            })
            .collect();
        Coverage {
            points: p as u64,
            covered: by_point.iter().take(p).filter(|b| b.kills > 0).count() as u64,
            until_covered: self.until,
            complete: self.until.is_some() && self.complete(),
            by_point,
        }
    }

    fn grow(&mut self, len: usize) {
        if self.kills.len() < len {
            self.kills.resize(len, 0);
            self.planned.resize(len, 0);
            self.labels.resize(len, String::new());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker_with(points: u64, until: Option<u64>) -> CoverageTracker {
        let mut t = CoverageTracker::new(until);
        for _ in 0..20 {
            t.observe(points);
        }
        t
    }

    #[test]
    fn n_landed_kills_over_p_points_hit_every_point() {
        let mut t = tracker_with(7, None);
        for i in 0..7 {
            let o = t.plan((i as f64 * 0.37) % 1.0);
            t.unplan(o);
            t.landed(o, "write(state)");
        }
        let r = t.report();
        assert_eq!((r.points, r.covered), (7, 7), "{r:?}");
    }

    #[test]
    fn planned_kills_spread_before_they_land() {
        let mut t = tracker_with(4, None);
        let mut chosen: Vec<usize> = (0..4).map(|_| t.plan(0.0)).collect();
        chosen.sort();
        assert_eq!(chosen, vec![0, 1, 2, 3]);
    }

    #[test]
    fn missed_kills_free_their_point() {
        let mut t = tracker_with(2, None);
        let a = t.plan(0.0);
        t.unplan(a);
        assert_eq!(t.plan(0.0), a);
    }

    #[test]
    fn until_covered_needs_k_at_every_point() {
        let mut t = tracker_with(3, Some(2));
        for o in [0, 1, 2, 0, 1] {
            t.landed(o, "x");
        }
        assert!(!t.complete());
        t.landed(2, "x");
        assert!(t.complete());
        assert!(t.report().complete);
        assert!(!tracker_with(3, None).complete());
    }
}
