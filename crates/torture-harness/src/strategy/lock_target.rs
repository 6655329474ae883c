//! `lock-target`: flock the state file itself, then rename a new file over it.
//!
//! The lock stays on the old inode. A writer that was waiting on it gets the
//! lock after the rename and reads the stale content through its descriptor,
//! while a newcomer opens and locks the new inode at the same time: two
//! holders, lost updates.

use std::fs::OpenOptions;
use std::io::Read;
use std::path::Path;

use crashsafe::atomic::{retry_eintr, write_file_atomic};
use crashsafe::{IoContext, Result, Step};

use super::{Compute, Strategy};
use crate::vocab::{Expectation, ViolationKind};

/// Lock on the file that gets renamed over.
pub struct LockTarget;

impl Strategy for LockTarget {
    fn name(&self) -> &'static str {
        "lock-target"
    }
    fn summary(&self) -> &'static str {
        "flock on the state file itself, then rename a new file over it (the lock stays on the old inode)"
    }
    fn expected(&self) -> Expectation {
        Expectation::Fails(vec![ViolationKind::Lost])
    }
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(state)
            .at(Step::OpenLock, state)?;
        retry_eintr(|| file.lock()).at(Step::Lock, state)?;
        let mut current = Vec::new();
        file.read_to_end(&mut current).at(Step::Read, state)?;
        let current = (!current.is_empty()).then_some(current);
        let next = f(current.as_deref())?;
        write_file_atomic(state, &next, 0o644)
    }
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>> {
        crashsafe::update::read(state)
    }
}
