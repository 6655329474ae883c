//! The verifier: from what was acknowledged and what is on disk, to a verdict.
//!
//! Every operation ends `ok` (acknowledged), `failed` (the writer reported an
//! error; it may or may not have applied) or `indeterminate` (killed in
//! flight; it may or may not have applied). A slot's counter in the state
//! must therefore lie between the number of its acknowledged operations and
//! the number of its attempted ones:
//!
//! - below the acknowledged count is `lost` (an acknowledged update vanished);
//! - above the attempted count is `phantom` (more happened than was tried);
//! - a state that does not decode is `torn` (seen by a check or a writer);
//! - a reader that read an invalid state reports `torn_reads`.
//!
//! Lost updates are checked during the run too, safely: an acknowledgement
//! is only sent after the write completed, so a read started after the
//! supervisor received it must see it. Phantoms are only checked at the end,
//! when every attempt is known.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::state::Document;
use crate::vocab::{OpId, Seq, ViolationKind};

/// The most evidence items a report keeps.
pub const MAX_EVIDENCE: usize = 32;

/// What is kept about one violation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The class.
    pub kind: ViolationKind,
    /// Where it was seen: `final check`, `check after kill of w3-17`, ...
    pub seen_by: String,
    /// The operation concerned, when there is one.
    pub op: Option<String>,
    /// The writer slot concerned, when there is one.
    pub writer: Option<usize>,
    /// Milliseconds since the start of the run.
    pub at_ms: u64,
    /// What exactly is wrong.
    pub detail: String,
    /// The bytes that were read, hex-encoded (at most 64 KiB of them).
    pub bytes_hex: Option<String>,
    /// The run's seed (set by the verifier when the evidence is recorded).
    pub seed: u64,
}

/// The outcome counts of one writer slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlotLedger {
    /// Operations begun.
    pub attempted: u64,
    /// Operations acknowledged.
    pub acked: u64,
    /// Operations that reported an error.
    pub failed: u64,
    /// Operations killed in flight.
    pub indeterminate: u64,
}

/// Where a state check happens, which decides what can be concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckPoint {
    /// While writers run: only lost updates can be concluded.
    MidRun,
    /// After every writer stopped and every message was read.
    Final,
}

/// Accumulates violations and their evidence.
#[derive(Debug, Default)]
pub struct Verifier {
    seed: u64,
    counts: BTreeMap<ViolationKind, u64>,
    evidence: Vec<Evidence>,
}

impl Verifier {
    /// A verifier for a run with this seed, which every evidence item carries.
    pub fn new(seed: u64) -> Self {
        Verifier {
            seed,
            ..Default::default()
        }
    }

    fn keep(&mut self, mut evidence: Evidence) {
        if self.evidence.len() < MAX_EVIDENCE {
            evidence.seed = self.seed;
            self.evidence.push(evidence);
        }
    }

    /// Records one violation of `kind` (`count` instances) with its evidence.
    pub fn record(&mut self, count: u64, evidence: Evidence) {
        *self.counts.entry(evidence.kind).or_default() += count;
        self.keep(evidence);
    }

    /// Sets the count of `kind` to at least `count` (for lost updates, which
    /// are seen again by every later check).
    fn raise(&mut self, count: u64, evidence: Evidence) {
        let entry = self.counts.entry(evidence.kind).or_default();
        if count > *entry {
            *entry = count;
            self.keep(evidence);
        }
    }

    /// The number of violations of `kind`.
    pub fn count(&self, kind: ViolationKind) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    /// Whether any violation was recorded.
    pub fn any(&self) -> bool {
        self.counts.values().any(|&c| c > 0)
    }

    /// The evidence kept.
    pub fn evidence(&self) -> &[Evidence] {
        &self.evidence
    }

    /// Checks a state read at `point` against the ledgers. Returns false when
    /// the state is torn (the run cannot go on meaningfully).
    pub fn check_state(
        &mut self,
        bytes: Option<&[u8]>,
        ledgers: &[SlotLedger],
        point: CheckPoint,
        seen_by: &str,
        at_ms: u64,
    ) -> bool {
        let ev = |kind, writer, detail: String, bytes: Option<&[u8]>| Evidence {
            kind,
            seen_by: seen_by.to_string(),
            op: None,
            writer,
            at_ms,
            detail,
            bytes_hex: bytes.map(crate::hex::encode),
            seed: 0,
        };
        let Some(bytes) = bytes else {
            self.record(
                1,
                ev(
                    ViolationKind::Torn,
                    None,
                    "the state file is missing".into(),
                    None,
                ),
            );
            return false;
        };
        let doc = match Document::decode(bytes) {
            Ok(d) => d,
            Err(reason) => {
                self.record(1, ev(ViolationKind::Torn, None, reason, Some(bytes)));
                return false;
            }
        };
        let lost = deficits(&doc, ledgers);
        if !lost.is_empty() {
            let total = lost.iter().map(|d| d.1).sum();
            let detail = describe(&lost, "acknowledged update(s) missing");
            self.raise(
                total,
                ev(ViolationKind::Lost, Some(lost[0].0), detail, None),
            );
        }
        if point == CheckPoint::Final {
            let extra = excesses(&doc, ledgers);
            if !extra.is_empty() {
                let total = extra.iter().map(|d| d.1).sum();
                let detail = describe(&extra, "more update(s) than attempted");
                self.record(
                    total,
                    ev(ViolationKind::Phantom, Some(extra[0].0), detail, None),
                );
            }
        }
        true
    }
}

/// What an outside program's check reported.
#[derive(Debug, Clone, Copy)]
pub enum CheckOutput<'a> {
    /// It exited 0 and printed this.
    Printed(&'a str),
    /// It failed; the reason (exit status and last output lines).
    Failed(&'a str),
}

impl Verifier {
    /// Checks an outside program's view of the state against what was
    /// acknowledged (`acked[slot]`) and attempted (sequence numbers below
    /// `attempted_end[slot]`). Returns false when the check failed (torn).
    pub fn check_ids(
        &mut self,
        output: CheckOutput<'_>,
        acked: &[SeqSet],
        attempted_end: &[Seq],
        seen_by: &str,
        at_ms: u64,
    ) -> bool {
        let ev = |kind, detail: String| Evidence {
            kind,
            seen_by: seen_by.to_string(),
            op: None,
            writer: None,
            at_ms,
            detail,
            bytes_hex: None,
            seed: 0,
        };
        let text = match output {
            CheckOutput::Printed(text) => text,
            CheckOutput::Failed(reason) => {
                self.record(
                    1,
                    ev(ViolationKind::Torn, format!("the check failed: {reason}")),
                );
                return false;
            }
        };
        let seen = IdsSeen::parse(text, attempted_end);
        let lost: Vec<String> = acked
            .iter()
            .enumerate()
            .flat_map(|(slot, seqs)| {
                let present = &seen.present;
                seqs.iter()
                    .filter(move |&q| !present.contains(&OpId::new(slot, q)))
                    .map(move |q| OpId::new(slot, q).to_string())
            })
            .collect();
        let classes = [
            (ViolationKind::Lost, lost, "acknowledged op(s) missing"),
            (
                ViolationKind::Phantom,
                seen.phantoms,
                "line(s) that are not ops of this run",
            ),
            (
                ViolationKind::Duplicate,
                seen.duplicates,
                "op(s) printed more than once",
            ),
        ];
        for (kind, mut ids, what) in classes {
            if ids.is_empty() {
                continue;
            }
            ids.sort();
            let shown: Vec<&str> = ids.iter().take(20).map(String::as_str).collect();
            let more = if ids.len() > 20 {
                format!(" and {} more", ids.len() - 20)
            } else {
                String::new()
            };
            let detail = format!("{} {what}: {}{more}", ids.len(), shown.join(", "));
            self.raise(ids.len() as u64, ev(kind, detail));
        }
        true
    }
}

/// A set of sequence numbers kept as sorted, disjoint ranges: a writer's
/// acknowledged operations are runs broken only where an op was killed or
/// failed, so the set costs memory per gap, not per operation, and a copy
/// of it (one per check of an outside program's state) stays cheap over an
/// hour-long run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqSet {
    ranges: Vec<Range<Seq>>,
}

impl SeqSet {
    /// Adds `seq` (cheapest when it is above every member, as acks come).
    pub fn insert(&mut self, seq: Seq) {
        if let Some(last) = self.ranges.last_mut() {
            if last.end == seq {
                last.end += 1;
                return;
            }
            if last.end < seq {
                self.ranges.push(seq..seq + 1);
                return;
            }
        }
        // Out of order: the index of the first range ending at or above seq.
        let i = self.ranges.partition_point(|r| r.end < seq);
        match self.ranges.get(i) {
            Some(r) if r.contains(&seq) => {}
            Some(r) if r.end == seq => {
                self.ranges[i].end += 1;
                self.merge_at(i);
            }
            Some(r) if r.start == seq + 1 => self.ranges[i].start = seq,
            _ => self.ranges.insert(i, seq..seq + 1),
        }
    }

    fn merge_at(&mut self, i: usize) {
        if i + 1 < self.ranges.len() && self.ranges[i].end == self.ranges[i + 1].start {
            self.ranges[i].end = self.ranges[i + 1].end;
            self.ranges.remove(i + 1);
        }
    }

    /// Whether `seq` is in the set.
    pub fn contains(&self, seq: Seq) -> bool {
        let i = self.ranges.partition_point(|r| r.end <= seq);
        self.ranges.get(i).is_some_and(|r| r.contains(&seq))
    }

    /// The members, ascending.
    pub fn iter(&self) -> impl Iterator<Item = Seq> + '_ {
        self.ranges.iter().flat_map(Clone::clone)
    }

    /// How many members.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }

    /// Whether it has no member.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

impl FromIterator<Seq> for SeqSet {
    fn from_iter<I: IntoIterator<Item = Seq>>(iter: I) -> Self {
        let mut set = SeqSet::default();
        for seq in iter {
            set.insert(seq);
        }
        set
    }
}

/// The ids a check printed, sorted into present, phantom and duplicate.
struct IdsSeen {
    present: HashSet<OpId>,
    phantoms: Vec<String>,
    duplicates: Vec<String>,
}

impl IdsSeen {
    fn parse(text: &str, attempted_end: &[Seq]) -> Self {
        let mut seen = IdsSeen {
            present: HashSet::new(),
            phantoms: Vec::new(),
            duplicates: Vec::new(),
        };
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let known = line
                .parse::<OpId>()
                .ok()
                .filter(|id| attempted_end.get(id.slot).is_some_and(|&end| id.seq < end));
            match known {
                None => seen.phantoms.push(line.chars().take(80).collect()),
                Some(id) if !seen.present.insert(id) => seen.duplicates.push(line.to_string()),
                Some(_) => {}
            }
        }
        seen
    }
}

/// `(slot, how many)` for every slot whose counter is below its acks.
fn deficits(doc: &Document, ledgers: &[SlotLedger]) -> Vec<(usize, u64)> {
    ledgers
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let have = doc.counters.get(i).copied().unwrap_or(0);
            (have < l.acked).then(|| (i, l.acked - have))
        })
        .collect()
}

/// `(slot, how many)` for every slot whose counter is above its attempts.
fn excesses(doc: &Document, ledgers: &[SlotLedger]) -> Vec<(usize, u64)> {
    ledgers
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let have = doc.counters.get(i).copied().unwrap_or(0);
            (have > l.attempted).then(|| (i, have - l.attempted))
        })
        .collect()
}

fn describe(per_slot: &[(usize, u64)], what: &str) -> String {
    let parts: Vec<String> = per_slot
        .iter()
        .map(|(w, n)| format!("writer {w}: {n}"))
        .collect();
    format!("{what}: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(attempted: u64, acked: u64) -> SlotLedger {
        SlotLedger {
            attempted,
            acked,
            ..Default::default()
        }
    }

    fn doc(counters: &[u64]) -> Vec<u8> {
        let mut d = Document::new(counters.len(), 16);
        d.counters = counters.to_vec();
        d.encode()
    }

    #[test]
    fn counters_within_bounds_pass() {
        let mut v = Verifier::default();
        let ok = v.check_state(
            Some(&doc(&[3, 5])),
            &[ledger(4, 3), ledger(5, 5)],
            CheckPoint::Final,
            "t",
            0,
        );
        assert!(ok && !v.any());
    }

    #[test]
    fn counter_below_acks_is_lost_with_writer() {
        let mut v = Verifier::default();
        v.check_state(
            Some(&doc(&[1, 5])),
            &[ledger(4, 3), ledger(5, 5)],
            CheckPoint::MidRun,
            "t",
            0,
        );
        assert_eq!(v.count(ViolationKind::Lost), 2);
        assert_eq!(v.evidence()[0].writer, Some(0));
        // Seen again by a later check: not counted twice.
        v.check_state(
            Some(&doc(&[1, 5])),
            &[ledger(4, 3), ledger(5, 5)],
            CheckPoint::Final,
            "t",
            1,
        );
        assert_eq!(v.count(ViolationKind::Lost), 2);
    }

    #[test]
    fn phantom_only_at_final_check() {
        let mut v = Verifier::default();
        let ledgers = [ledger(2, 2)];
        v.check_state(Some(&doc(&[3])), &ledgers, CheckPoint::MidRun, "t", 0);
        assert!(!v.any());
        v.check_state(Some(&doc(&[3])), &ledgers, CheckPoint::Final, "t", 0);
        assert_eq!(v.count(ViolationKind::Phantom), 1);
    }

    #[test]
    fn garbage_is_torn_with_bytes() {
        let mut v = Verifier::default();
        assert!(!v.check_state(
            Some(b"torture-st"),
            &[ledger(1, 1)],
            CheckPoint::Final,
            "t",
            0
        ));
        assert_eq!(v.count(ViolationKind::Torn), 1);
        assert_eq!(
            crate::hex::decode(v.evidence()[0].bytes_hex.as_ref().unwrap()).unwrap(),
            b"torture-st"
        );
    }

    #[test]
    fn ids_lost_phantom_duplicate() {
        let mut v = Verifier::default();
        let acked: Vec<SeqSet> = vec![[0, 1].into_iter().collect(), [0].into_iter().collect()];
        let out = "w0-0\nw0-0\nw1-0\nw1-5\nheader\n\n";
        assert!(v.check_ids(CheckOutput::Printed(out), &acked, &[3, 2], "t", 0));
        assert_eq!(v.count(ViolationKind::Lost), 1, "w0-1 missing");
        assert_eq!(
            v.count(ViolationKind::Phantom),
            2,
            "w1-5 never attempted, header"
        );
        assert_eq!(v.count(ViolationKind::Duplicate), 1);
        assert!(v.evidence().iter().any(|e| e.detail.contains("w0-1")));
    }

    #[test]
    fn indeterminate_ops_may_be_present_or_not() {
        let mut v = Verifier::default();
        let acked: Vec<SeqSet> = vec![[0].into_iter().collect()];
        assert!(v.check_ids(CheckOutput::Printed("w0-0\nw0-1\n"), &acked, &[2], "t", 0));
        assert!(v.check_ids(CheckOutput::Printed("w0-0\n"), &acked, &[2], "t", 0));
        assert!(!v.any());
    }

    #[test]
    fn failed_check_is_torn() {
        let mut v = Verifier::default();
        assert!(!v.check_ids(CheckOutput::Failed("exit 1"), &[], &[], "t", 0));
        assert_eq!(v.count(ViolationKind::Torn), 1);
    }

    #[test]
    fn missing_state_is_torn() {
        let mut v = Verifier::default();
        assert!(!v.check_state(None, &[], CheckPoint::Final, "t", 0));
        assert_eq!(v.count(ViolationKind::Torn), 1);
    }

    #[test]
    fn seq_set_keeps_ranges_in_any_order() {
        let mut set = SeqSet::default();
        for q in [0, 1, 2, 5, 6, 9, 4, 3, 8, 1, 20] {
            set.insert(q);
        }
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4, 5, 6, 8, 9, 20]
        );
        assert_eq!(set.ranges, vec![0..7, 8..10, 20..21]);
        assert_eq!(set.len(), 10);
        assert!(set.contains(8) && !set.contains(7) && !set.contains(21));
        let acks: SeqSet = (0..100_000).filter(|q| q % 10 != 3).collect();
        assert_eq!(
            acks.ranges.len(),
            10_001,
            "one range per gap, not per member"
        );
    }
}
