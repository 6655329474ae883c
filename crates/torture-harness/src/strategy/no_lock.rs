//! `no-lock`: atomic writes without a lock.
//!
//! Every write is whole, but two read-modify-write cycles can interleave:
//! both read version N, both write N+1, and one edit silently disappears.

use std::path::Path;

use crashsafe::Result;
use crashsafe::atomic::write_file_atomic;

use super::{Compute, Strategy};
use crate::vocab::{Expectation, ViolationKind};

/// Atomic write, no lock.
pub struct NoLock;

impl Strategy for NoLock {
    fn name(&self) -> &'static str {
        "no-lock"
    }
    fn summary(&self) -> &'static str {
        "atomic write (temp, fsync, rename) with no lock around read-compute-write"
    }
    fn expected(&self) -> Expectation {
        Expectation::Fails(vec![ViolationKind::Lost])
    }
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()> {
        let current = crashsafe::update::read(state)?;
        let next = f(current.as_deref())?;
        write_file_atomic(state, &next, 0o644)
    }
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>> {
        crashsafe::update::read(state)
    }
}
