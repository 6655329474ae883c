//! `fsync-ignore`: the atomic write that ignores fsync errors.
//!
//! After a failed fsync the data may never reach the disk (and a second
//! fsync may report success for pages the kernel already dropped: the
//! PostgreSQL "fsyncgate"). Renaming anyway and reporting success
//! acknowledges an update that a power loss can take back. SIGKILL torture
//! cannot see that; `torture explore --faults eio` reports it as
//! `unsafe_ack`.

use std::path::Path;

use crashsafe::atomic::{create_temp, split};
use crashsafe::lock::StateLock;
use crashsafe::{IoContext, Result, Step};

use super::{Compute, Strategy};

use crate::platform;
use crate::vocab::{Expectation, Fault, Finding};

/// Lock + temp + fsync whose error is dropped + rename.
pub struct FsyncIgnore;

impl Strategy for FsyncIgnore {
    fn name(&self) -> &'static str {
        "fsync-ignore"
    }
    fn summary(&self) -> &'static str {
        "lock + temp + rename, but fsync errors are ignored and the update is acknowledged"
    }
    fn expected(&self) -> Expectation {
        Expectation::Pass
    }
    fn explore_expected(&self) -> &'static [(Fault, Finding)] {
        &[(Fault::Eio, Finding::UnsafeAck)]
    }
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()> {
        use std::io::Write;
        let lock = StateLock::acquire(state)?;
        let current = crashsafe::update::read(state)?;
        let next = f(current.as_deref())?;
        let (dir, name) = split(state)?;
        let (tmp, mut file) = create_temp(&dir, &name)?;
        if let Err(e) = file.write_all(&next) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e).at(Step::Write, &tmp);
        }
        let _ = file.sync_all();
        std::fs::rename(&tmp, state).at(Step::Rename, state)?;
        let _ = platform::fsync_dir(&dir);
        lock.unlock()
    }
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>> {
        crashsafe::update::read(state)
    }
}
