//! `fcntl-close`: a POSIX `fcntl` lock that silently vanishes.
//!
//! The writer takes an `fcntl` write lock on `state.lock`, then records its
//! pid in the lock file through a second descriptor. Closing that descriptor
//! releases every `fcntl` lock the process holds on the file, so the rest of
//! the read-compute-write runs unprotected.

use std::fs::{File, OpenOptions};
use std::path::Path;

use crashsafe::atomic::write_file_atomic;
use crashsafe::lock::lock_path;
use crashsafe::{IoContext, Result, Step};

use super::{Compute, Strategy};
use crate::platform;
use crate::vocab::{Expectation, ViolationKind};

/// fcntl lock lost by closing another descriptor.
pub struct FcntlClose;

impl Strategy for FcntlClose {
    fn name(&self) -> &'static str {
        "fcntl-close"
    }
    fn summary(&self) -> &'static str {
        "fcntl lock on state.lock, then writes its pid through another descriptor; the close drops the lock"
    }
    fn expected(&self) -> Expectation {
        Expectation::Fails(vec![ViolationKind::Lost])
    }
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()> {
        let lock_file = lock_path(state);
        let held: File = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_file)
            .at(Step::OpenLock, &lock_file)?;
        platform::fcntl_lock(&held, true).at(Step::Lock, &lock_file)?;
        // The trap: this open + close of a second descriptor drops the lock.
        std::fs::write(&lock_file, std::process::id().to_string())
            .at(Step::OpenLock, &lock_file)?;
        let current = crashsafe::update::read(state)?;
        let next = f(current.as_deref())?;
        write_file_atomic(state, &next, 0o644)?;
        drop(held);
        Ok(())
    }
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>> {
        crashsafe::update::read(state)
    }
}
