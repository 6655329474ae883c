//! `no-dir-fsync`: the reference discipline without the fsync of the
//! directory after the rename.
//!
//! The new content is fsynced before the rename, so it is never torn; but
//! the rename itself is never made durable. A process crash cannot show it
//! (the page cache keeps the rename), so it passes SIGKILL torture. After a
//! power loss the directory may still name the old file although the
//! update was acknowledged: `lost`, the class of the most common durability
//! bug, found by `explore --faults power`.

use std::path::Path;

use crashsafe::Result;
use crashsafe::atomic::{Durability, write_atomic_with};
use crashsafe::lock::StateLock;

use super::{Compute, Strategy};
use crate::vocab::{Expectation, Fault, Finding};

/// Lock + temp + fsync + rename, no fsync of the directory.
pub struct NoDirFsync;

impl Strategy for NoDirFsync {
    fn name(&self) -> &'static str {
        "no-dir-fsync"
    }
    fn summary(&self) -> &'static str {
        "lock + temp + fsync + rename without the directory's fsync: passes process kills; its lost rename needs power-loss simulation"
    }
    fn expected(&self) -> Expectation {
        Expectation::Pass
    }
    fn explore_expected(&self) -> &'static [(Fault, Finding)] {
        // Under `posix` (the default model) an undurable rename may be
        // dropped: the old content, an acknowledged update missing.
        &[(Fault::Power, Finding::Lost)]
    }
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()> {
        let lock = StateLock::acquire(state)?;
        let current = crashsafe::update::read(state)?;
        let next = f(current.as_deref())?;
        write_atomic_with(state, &next, 0o644, Durability::FileOnly)?;
        lock.unlock()
    }
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>> {
        crashsafe::update::read(state)
    }
}
