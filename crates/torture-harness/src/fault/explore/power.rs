//! `--faults power`: the power-loss tier of an exploration.
//!
//! 1. After the initial state, the [`Recorder`] scans the run directory: the
//!    durable starting point. The warm-up operations and the explored one
//!    run under `tracer::trace_recording`, each acknowledged (exit 0) in the
//!    log; their checks run on a copy, so that nothing untraced changes the
//!    recorded directory. At the end the recorder checks its model against
//!    the directory: what it missed makes the verdict inconclusive.
//! 2. Crash points: one at the entry of each fault point of the explored
//!    operation (the same instant as `kill` there), and one after it exited
//!    0. A crash at point `k` keeps the log's operations up to it.
//! 3. At each crash point, the persistence model says which subsets of the
//!    operations not yet durable may be on disk ([`model::states`], capped
//!    by `--max-states`, seeded). Each state is replayed into an image of the
//!    directory, materialized in a worker directory and checked like a
//!    faulted run: unreadable is `torn`, an operation acknowledged before the
//!    crash and missing is `lost`, a next operation that fails is
//!    `no_recovery`. Identical directories are checked once.
//! 4. A crash point's cell is the union of its states' classes; each finding
//!    is the failing state that dropped the fewest operations, naming them
//!    and what would have made each durable.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{Check, Explorer, bad, harness};
use crate::fault::power::log::{Image, OpKind};
use crate::fault::power::model::{self, Model};
use crate::fault::power::record::Recorder;
use crate::fault::report::{FaultedRun, PowerSummary, RunEnd};
use crate::fault::tracer::{self, Point, TraceOptions};
use crate::runner::exec::Which;
use crate::vocab::{Finding, OpId};

/// The recorded workload.
pub(super) struct Recording {
    /// The recorder, finished: the durable base, the log, what it missed.
    pub rec: Recorder,
    /// The explored operation's fault points.
    pub points: Vec<Point>,
}

/// One crash state to check.
pub(super) struct StateJob {
    /// The crash point: `k` below the point count is a crash at the entry of
    /// fault point `k`; the point count is after the operation exited 0.
    pub row: usize,
    /// The directory the state leaves.
    pub image: Arc<Image>,
    /// What a check can see of it: equal digests, equal directories.
    pub digest: u64,
    /// Operations `0..acked` were acknowledged before the crash.
    pub acked: u64,
    /// The operations not persisted (at least partly), each with what would
    /// have made it durable.
    pub dropped: Vec<String>,
    /// What the state did with each operation of the log before the crash.
    pub marks: Arc<[Mark]>,
}

impl StateJob {
    /// The same state at crash point `row` (one with the same prefix).
    fn at(&self, row: usize) -> StateJob {
        StateJob {
            row,
            image: Arc::clone(&self.image),
            digest: self.digest,
            acked: self.acked,
            dropped: self.dropped.clone(),
            marks: Arc::clone(&self.marks),
        }
    }
}

/// What a crash state did with one operation of the log, from the least
/// to the most lost (an operation is marked by its worst piece).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Mark {
    /// A durability point or an acknowledgement: nothing of its own to
    /// persist.
    Point,
    /// Made durable before the crash: in every state.
    Durable,
    /// Not yet durable, but in this state.
    Kept,
    /// Not in this state, at least partly.
    Dropped,
}

impl Mark {
    /// The word `ops.txt` shows.
    pub(super) fn name(self) -> &'static str {
        match self {
            Mark::Point => "point",
            Mark::Durable => "durable",
            Mark::Kept => "kept",
            Mark::Dropped => "dropped",
        }
    }
}

/// The mark of each of the first `c` operations, from whether each unit is
/// `durable` and whether the state `applied` it.
fn marks(units: &[model::Unit], durable: &[bool], applied: &[bool], c: usize) -> Arc<[Mark]> {
    let mut marks = vec![Mark::Point; c];
    for (u, unit) in units.iter().enumerate().filter(|(_, unit)| unit.op < c) {
        let mark = match (durable[u], applied[u]) {
            (true, _) => Mark::Durable,
            (false, true) => Mark::Kept,
            (false, false) => Mark::Dropped,
        };
        marks[unit.op] = marks[unit.op].max(mark);
    }
    marks.into()
}

/// The crash states of a recording, and what the report says of them.
pub(super) struct CrashStates {
    pub jobs: Vec<StateJob>,
    pub summary: PowerSummary,
}

impl Explorer<'_> {
    /// Records the warm-ups and the explored operation (the initial state is
    /// made): `checker` is where their checks run, on a copy; `snapshot`
    /// gets the directory after the warm-ups, for the other faults' runs.
    pub(super) fn record_workload(
        &self,
        checker: &Explorer<'_>,
        snapshot: &std::path::Path,
    ) -> Result<Recording, crate::Error> {
        let mut rec = Recorder::new(&self.dir).map_err(harness("cannot scan the run directory"))?;
        for seq in 0..self.cfg.warmup_ops {
            rec.begin(seq);
            self.recorded_op(seq, "warm-up", &mut rec, checker)?;
            rec.ack(seq, 0);
        }
        crate::copy::copy_tree(&self.dir, snapshot, crashsafe::atomic::Durability::None)
            .map_err(harness("cannot snapshot the run directory"))?;
        rec.begin_explored(self.seq);
        let points = self.recorded_op(self.seq, "explored", &mut rec, checker)?;
        rec.ack(self.seq, points.len());
        rec.finish(&self.dir);
        if let Some(p) = self.cfg.only_point
            && p > points.len()
        {
            return Err(bad(format!(
                "--point {p}: the operation has {} crash points (0 to {}, the last after it exited 0)",
                points.len() + 1,
                points.len()
            )));
        }
        Ok(Recording { rec, points })
    }

    /// Runs operation `seq` under the recorder; it must succeed and show,
    /// as a check on a copy of the directory says. Returns its fault points.
    fn recorded_op(
        &self,
        seq: u64,
        what: &str,
        rec: &mut Recorder,
        checker: &Explorer<'_>,
    ) -> Result<Vec<Point>, crate::Error> {
        let cmd = self.command(Which::Op(0, seq))?;
        let options = TraceOptions {
            timeout: Some(self.cfg.op_timeout),
            own_group: true,
            points: true,
            end_with_leader: false,
        };
        let t = tracer::trace_recording(cmd, &self.scope, rec, options)?;
        if !t.end.success() || t.timed_out {
            return Err(bad(format!(
                "the {what} operation {} fails without any fault ({}): {}",
                OpId::new(0, seq),
                super::describe(&t),
                crate::runner::exec::tail(&self.output())
            )));
        }
        if seq == self.seq && t.points.is_empty() {
            // No crash point inside the operation: its states would prove
            // nothing about it.
            return Err(bad(format!(
                "the operation made no file-system syscall in {}: does it use $TORTURE_STATE? (--all-syscalls counts syscalls anywhere)",
                self.dir.display()
            )));
        }
        super::restore(&self.dir, &checker.dir)
            .map_err(harness("cannot copy the run directory for its check"))?;
        let must: Vec<u64> = (0..=seq).collect();
        match checker.check()? {
            Check::Readable(p) if p.missing(&must).is_none() => Ok(t.points),
            Check::Readable(_) => Err(bad(format!(
                "after the {what} operation {} the check does not show every op so far, without any fault: is --check right?",
                OpId::new(0, seq)
            ))),
            Check::Unreadable(why) => Err(bad(format!(
                "after the {what} operation {} the state is unreadable without any fault: {why}",
                OpId::new(0, seq)
            ))),
        }
    }

    /// Checks one crash state: materialized in this worker's directory,
    /// read, then one more operation and a check again.
    pub(super) fn power_run(&self, job: &StateJob) -> Result<FaultedRun, crate::Error> {
        super::clear(&self.dir).map_err(harness("cannot empty the worker directory"))?;
        job.image
            .materialize(&self.dir)
            .map_err(harness("cannot build the crash state"))?;
        let mut v = FaultedRun::default();
        let check = self.check()?;
        let must: Vec<u64> = (0..job.acked).collect();
        match &check {
            Check::Unreadable(why) => v
                .findings
                .push((Finding::Torn, format!("the state cannot be read: {why}"))),
            Check::Readable(present) => {
                if let Some(what) = present.missing(&must) {
                    v.findings.push((Finding::Lost, what));
                }
                if let Some(why) = self.recovery(present, &[])? {
                    v.findings.push((Finding::NoRecovery, why));
                }
            }
        }
        let classes: BTreeSet<Finding> = v.findings.iter().map(|f| f.0).collect();
        v.outcome.classes = classes.into_iter().collect();
        v.outcome.end = RunEnd::Ok;
        Ok(v)
    }
}

/// The crash states of `recording` under `model`: every crash point (or
/// `only` one), each with at most `cap` states, sampled with `seed`.
pub(super) fn crash_states(
    recording: &Recording,
    model: Model,
    cap: usize,
    seed: u64,
    only: Option<usize>,
) -> CrashStates {
    let rec = &recording.rec;
    let log = &rec.log;
    let points = recording.points.len();
    let units = model::units(log);
    let mut summary = PowerSummary {
        model: Some(model),
        seed,
        max_states: cap,
        log: log
            .iter()
            .map(|op| format!("[{}] {}", OpId::new(0, op.seq), op.text))
            .collect(),
        crash_points: points + 1,
        unmodelled: rec.unmodelled.clone(),
        blind: rec.blind.clone(),
        notes: rec.notes.clone(),
        ..PowerSummary::default()
    };
    let mut jobs = Vec::new();
    let mut last: Option<(usize, Vec<StateJob>)> = None;
    for row in (0..=points).filter(|r| only.is_none_or(|k| k == *r)) {
        // A crash at the entry of point `row` keeps the operations up to
        // it; after the exit, every operation.
        let c = if row == points {
            log.len()
        } else {
            log.iter().take_while(|op| op.key <= row).count()
        };
        if let Some((prev, states)) = &last
            && *prev == c
        {
            // The same prefix as the previous crash point: the same states.
            jobs.extend(states.iter().map(|j| j.at(row)));
            summary.states += states.len() as u64;
            continue;
        }
        let acked = log[..c]
            .iter()
            .filter(|op| matches!(op.kind, OpKind::Ack { .. }))
            .count() as u64;
        let durable = model::durable(log, &units, c);
        let set = model::states(model, log, &units, c, cap, seed);
        let needs = model::requirements(&rec.base, log, &units, c, &set.undurable);
        if set.sampled {
            summary.sampled_points += 1;
        }
        summary.skipped += set.skipped();
        let mut here = Vec::with_capacity(set.states.len());
        for s in 0..set.states.len() {
            let applied = set.applied(&durable, s);
            let image = model::replay(&rec.base, log, &units, &applied);
            let dropped = model::dropped_ops(&units, &set, s)
                .into_iter()
                .map(|op| {
                    let need = set
                        .undurable
                        .iter()
                        .zip(&needs)
                        .find(|(u, _)| units[**u].op == op)
                        .map_or("", |(_, n)| n.as_str());
                    format!("[{}] {} ({need})", OpId::new(0, log[op].seq), log[op].text)
                })
                .collect();
            here.push(StateJob {
                row,
                digest: image.digest(),
                image: Arc::new(image),
                acked,
                dropped,
                marks: marks(&units, &durable, &applied, c),
            });
        }
        summary.states += here.len() as u64;
        jobs.extend(here.iter().map(|j| j.at(j.row)));
        last = Some((c, here));
    }
    CrashStates { jobs, summary }
}

/// One crash point's cell and findings from its states' runs: the union of
/// the classes; for each class, the state that dropped the fewest
/// operations, with where the crash was.
pub(super) fn combine(
    states: &[(&StateJob, &FaultedRun)],
    at: &str,
) -> (FaultedRun, Vec<(Finding, Vec<String>)>) {
    let mut v = FaultedRun::default();
    let mut dropped = Vec::new();
    let mut classes = BTreeSet::new();
    for class in Finding::ALL {
        let best = states
            .iter()
            .filter_map(|(job, run)| {
                run.findings
                    .iter()
                    .find(|f| f.0 == class)
                    .map(|f| (job, &f.1))
            })
            .min_by_key(|(job, _)| job.dropped.len());
        if let Some((job, detail)) = best {
            classes.insert(class);
            let lost = if job.dropped.is_empty() {
                "with every operation persisted".to_string()
            } else {
                format!("not persisted: {}", job.dropped.join("; "))
            };
            v.findings
                .push((class, format!("{detail} (crash {at}, {lost})")));
            dropped.push((class, job.dropped.clone()));
        }
    }
    v.outcome.classes = classes.into_iter().collect();
    v.outcome.end = RunEnd::Ok;
    (v, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::power::log::{LogOp, ROOT};

    #[test]
    fn an_operation_is_marked_by_its_worst_piece() {
        let op = |kind| LogOp {
            kind,
            text: String::new(),
            seq: 0,
            key: 0,
        };
        let write = |byte| OpKind::Write {
            ino: 1,
            off: 0,
            data: vec![byte; 8192].into(),
        };
        let log = [
            op(OpKind::Create {
                dir: ROOT,
                name: "f".into(),
                ino: 1,
            }),
            op(write(1)),
            op(OpKind::FsyncFile { ino: 1 }),
            op(write(2)),
            op(OpKind::Ack { seq: 0 }),
            op(write(3)),
        ];
        let units = model::units(&log);
        // The crash is before the last write: it is not listed.
        let c = 5;
        let durable = model::durable(&log, &units, c);
        // Units: the create's entry, two pieces of each write. Besides the
        // durable first write, the state keeps the create and the first
        // piece of the second write.
        assert_eq!(units.len(), 7);
        let applied = [true, true, true, true, false, false, false];
        let marks = marks(&units, &durable, &applied, c);
        assert_eq!(
            *marks,
            [
                Mark::Kept,
                Mark::Durable,
                Mark::Point,
                Mark::Dropped,
                Mark::Point
            ]
        );
    }
}
