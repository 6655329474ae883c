//! `--power-loss`: where each operation began and was acknowledged in the
//! recording disk's write log, so that a crash state at log position `p`
//! can be judged: an operation acknowledged at or before `p` must be in
//! it, one begun at or after `p` cannot be.
//!
//! An outside program's operation is one process: it begins no earlier
//! than the position read when the supervisor asks for it to be spawned,
//! and is acknowledged no later than the position read when its exit 0 is
//! handled.
//!
//! A built-in writer reads the disk's position file itself right before it
//! announces an operation and right after its update returns
//! ([`Message::Position`](crate::runner::protocol::Message::Position)): the
//! tightest sound bounds. When a writer died between the two lines, the
//! supervisor's own readings stand in, each on the safe side: for a begin,
//! the position before the writer process was spawned (earlier than any
//! write of it); for an acknowledgement, the position when the supervisor
//! read the `Ack` (later than every write and flush the operation waited
//! for). A bound on the safe side can hide a violation, never invent one.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::vocab::Seq;

/// The recording disk as the supervisor sees it.
#[derive(Debug, Clone)]
pub struct DiskProbe {
    /// The log position, published by the disk before it answers a write.
    pub clock: Arc<AtomicU64>,
    /// The file a writer reads the position from.
    pub position_file: PathBuf,
}

impl DiskProbe {
    /// The log position now.
    pub fn now(&self) -> u64 {
        self.clock.load(Ordering::Acquire)
    }
}

/// Where the operations of a run began and were acknowledged in the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions {
    /// The position after the initial state was synced (`syncfs`): every
    /// crash point lies after it.
    pub base: u64,
    /// Per writer slot, the begin position and sequence number of each
    /// operation attempted, in order (a slot's operations are sequential).
    pub begins: Vec<Vec<(u64, Seq)>>,
    /// Per writer slot, the acknowledgement position and sequence number
    /// of each acknowledged operation, in order.
    pub acks: Vec<Vec<(u64, Seq)>>,
    /// Positions reported by the writers themselves.
    pub reported: u64,
    /// Positions the supervisor stood in with (a writer died in between).
    pub stand_ins: u64,
}

/// The supervisor's bookkeeping of positions.
#[derive(Debug)]
pub(super) struct DiskTrack {
    pub(super) probe: DiskProbe,
    pub(super) positions: Positions,
    /// The position a writer reported last and no begin or ack used yet.
    reported: Vec<Option<u64>>,
    /// The position before each slot's current process was spawned.
    spawned_at: Vec<u64>,
}

impl DiskTrack {
    pub(super) fn new(probe: DiskProbe, writers: usize) -> Self {
        DiskTrack {
            probe,
            positions: Positions {
                begins: vec![Vec::new(); writers],
                acks: vec![Vec::new(); writers],
                ..Positions::default()
            },
            reported: vec![None; writers],
            spawned_at: vec![0; writers],
        }
    }

    /// Writer `slot`'s process is about to be spawned.
    pub(super) fn spawning(&mut self, slot: usize) {
        self.spawned_at[slot] = self.probe.now();
        self.reported[slot] = None;
    }

    /// Writer `slot` reported position `p`.
    pub(super) fn report(&mut self, slot: usize, p: u64) {
        if let Some(r) = self.reported.get_mut(slot) {
            *r = Some(p);
        }
    }

    /// Writer `slot` began operation `seq`.
    pub(super) fn begin(&mut self, slot: usize, seq: Seq) {
        let p = match self.reported[slot].take() {
            Some(p) => {
                self.positions.reported += 1;
                p
            }
            None => {
                self.positions.stand_ins += 1;
                self.spawned_at[slot]
            }
        };
        self.positions.begins[slot].push((p, seq));
    }

    /// Writer `slot`'s operation `seq` ended: acknowledged or not.
    pub(super) fn end(&mut self, slot: usize, seq: Seq, acked: bool) {
        let reported = self.reported[slot].take();
        if !acked {
            return;
        }
        let now = self.probe.now();
        let p = match reported {
            Some(p) => {
                self.positions.reported += 1;
                p.min(now)
            }
            None => {
                self.positions.stand_ins += 1;
                now
            }
        };
        self.positions.acks[slot].push((p, seq));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_positions_are_used_and_stand_ins_are_on_the_safe_side() {
        let clock = Arc::new(AtomicU64::new(10));
        let probe = DiskProbe {
            clock: Arc::clone(&clock),
            position_file: "/nowhere".into(),
        };
        let mut t = DiskTrack::new(probe, 2);
        t.spawning(0);
        clock.store(20, Ordering::Release);
        t.report(0, 12);
        t.begin(0, 0);
        t.report(0, 18);
        clock.store(25, Ordering::Release);
        t.end(0, 0, true);
        // Died between Begin and its position: the spawn position stands in.
        t.begin(0, 1);
        clock.store(30, Ordering::Release);
        t.end(0, 1, true);
        // A failed op leaves no ack, and its stale report is dropped.
        t.report(1, 26);
        t.begin(1, 0);
        t.report(1, 29);
        t.end(1, 0, false);
        t.begin(1, 1);
        assert_eq!(
            t.positions.begins,
            vec![vec![(12, 0), (10, 1)], vec![(26, 0), (0, 1)]]
        );
        assert_eq!(t.positions.acks, vec![vec![(18, 0), (30, 1)], vec![]]);
        assert_eq!((t.positions.reported, t.positions.stand_ins), (3, 3));
    }
}
