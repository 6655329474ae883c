//! `no-fsync`: lock + temp + rename, without any fsync.
//!
//! Correct against process crashes: the page cache survives a SIGKILL, so
//! the rename is seen whole. After a power loss the rename may be on disk
//! before the data (an empty file: `torn`) or not at all (the old content:
//! `lost`); showing that needs the power-loss tier (`explore --faults
//! power`), which the SIGKILL runner does not have.

use std::path::Path;

use crashsafe::Result;
use crashsafe::atomic::{Durability, write_atomic_with};
use crashsafe::lock::StateLock;

use super::{Compute, Strategy};
use crate::vocab::{Expectation, Fault, Finding};

/// Lock + rename, no fsync.
pub struct NoFsync;

impl Strategy for NoFsync {
    fn name(&self) -> &'static str {
        "no-fsync"
    }
    fn summary(&self) -> &'static str {
        "lock + temp + rename without fsync: passes process kills; its durability flaw needs power-loss simulation"
    }
    fn expected(&self) -> Expectation {
        Expectation::Pass
    }
    fn explore_expected(&self) -> &'static [(Fault, Finding)] {
        // Under `posix` nothing of the update is durable: the rename kept
        // without the temporary file's data leaves an empty state, and the
        // rename dropped leaves the old content, losing what was acked.
        &[(Fault::Power, Finding::Torn), (Fault::Power, Finding::Lost)]
    }
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()> {
        let lock = StateLock::acquire(state)?;
        let current = crashsafe::update::read(state)?;
        let next = f(current.as_deref())?;
        write_atomic_with(state, &next, 0o644, Durability::None)?;
        lock.unlock()
    }
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>> {
        crashsafe::update::read(state)
    }
}
