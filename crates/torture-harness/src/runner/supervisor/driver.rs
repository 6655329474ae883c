//! The driver seam: what differs between the two workloads. A built-in
//! strategy runs in `torture`'s own writer and reader processes, which run
//! many operations each and report them over their stdout; an outside
//! program runs one command per operation, each watched for its exit. The
//! loop, the per-slot ledgers, the kill schedule, the timeouts and the
//! final phase are the same for both, and for the fake driver of the
//! loop's unit tests.
//!
//! A driver's functions take the whole [`Supervisor`] (the driver is its
//! `driver` field), so a driver uses the shared ledgers and helpers freely
//! and the loop calls it as `D::spawn_writer(self, slot)`.

use std::time::{Duration, Instant};

use crate::process::ChildProcess;
use crate::report::StopReason;

use super::Supervisor;
use super::events::ChildId;
use super::slot::Running;

/// One workload, as the loop sees it.
pub(super) trait Driver: Sized {
    /// Whether the loop keeps the acknowledged op ids (an outside
    /// program's checks compare the ids printed against them; a built-in
    /// strategy's state counts its ops, and an hour-long run must not
    /// hold a range per kill for nothing).
    const KEEPS_ACKED_IDS: bool = false;

    /// Before the first operation: the initial state, or whatever shows
    /// the workload can run at all (a failure here is bad input or a
    /// harness failure, before anything was killed).
    fn prepare(sup: &mut Supervisor<'_, Self>) -> Result<(), crate::Error>;

    /// Starts writer `slot` at its next sequence number, up to its quota.
    fn spawn_writer(sup: &mut Supervisor<'_, Self>, slot: usize) -> Result<(), crate::Error>;

    /// Starts reader `index`.
    fn spawn_reader(sup: &mut Supervisor<'_, Self>, index: usize) -> Result<(), crate::Error>;

    /// The stdout of child `id` closed: it is dying or dead.
    fn on_eof(_sup: &mut Supervisor<'_, Self>, _id: ChildId) {}

    /// Child `id` exited at `at` (not reaped yet).
    fn on_exited(_sup: &mut Supervisor<'_, Self>, _id: ChildId, _at: Instant) {}

    /// A writer's operation asked of a spawner thread started at `at`, or
    /// could not start.
    fn on_spawned(
        _sup: &mut Supervisor<'_, Self>,
        _id: ChildId,
        _process: Result<ChildProcess, String>,
        _at: Instant,
    ) {
    }

    /// The state must be checked (an operation was cut): now, or as soon
    /// as the check under way is over. A check that finds the state
    /// destroyed stops the run.
    fn request_check(sup: &mut Supervisor<'_, Self>, seen_by: String);

    /// Starts a check of what the crash that ended the run left, before
    /// the final operation; false if none was started.
    fn check_end_crash(_sup: &mut Supervisor<'_, Self>, _seen_by: String) -> bool {
        false
    }

    /// The run begins to stop for `reason`: ask the children to finish
    /// their operation, or crash them.
    fn on_stop(sup: &mut Supervisor<'_, Self>, reason: StopReason);

    /// Once every writer and reader is gone: the final check, if it runs
    /// in the loop. True once it is over.
    fn final_check_done(_sup: &mut Supervisor<'_, Self>) -> bool {
        true
    }

    /// Start-up failed and every child was SIGKILLed: collect what is
    /// still being started, before the children are reaped.
    fn abandon(_sup: &mut Supervisor<'_, Self>) {}

    /// The loop is over: the final check, or the last sweep.
    fn finish(sup: &mut Supervisor<'_, Self>);

    /// The check running in the background, if any.
    fn check_process(&self) -> Option<&Running> {
        None
    }

    /// Whether the check running in the background is the final check
    /// (it has its own timeout and is never signalled with the children).
    fn is_final_check(&self) -> bool {
        false
    }

    /// Kills the background check if it ran for `limit` by `now`.
    fn enforce_check_timeout(&mut self, _now: Instant, _limit: Duration) {}

    /// The last lines writer `slot`'s operation printed, for a stall's
    /// evidence; empty if none.
    fn printed_by(&self, _slot: usize) -> String {
        String::new()
    }
}
