//! `short-write`: the atomic write with one `write(2)` whose count is
//! ignored.
//!
//! `write` may write fewer bytes than asked (a full disk, a signal, a pipe or
//! network file system); code that issues one call and moves on renames a
//! truncated file over the state. On a healthy local disk writes are never
//! short, so SIGKILL torture passes it; `torture explore --faults
//! short-write` finds it.

use std::os::fd::AsRawFd;
use std::path::Path;

use crashsafe::atomic::{create_temp, split};
use crashsafe::lock::StateLock;
use crashsafe::{IoContext, Result, Step};

use super::{Compute, Strategy};

use crate::platform;
use crate::vocab::{Expectation, Fault, Finding};

/// Lock + temp + one unchecked write + fsync + rename.
pub struct ShortWrite;

impl Strategy for ShortWrite {
    fn name(&self) -> &'static str {
        "short-write"
    }
    fn summary(&self) -> &'static str {
        "lock + temp + rename, but one write(2) whose returned count is ignored"
    }
    fn expected(&self) -> Expectation {
        Expectation::Pass
    }
    fn explore_expected(&self) -> &'static [(Fault, Finding)] {
        &[(Fault::ShortWrite, Finding::Torn)]
    }
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()> {
        let lock = StateLock::acquire(state)?;
        let current = crashsafe::update::read(state)?;
        let next = f(current.as_deref())?;
        let (dir, name) = split(state)?;
        let (tmp, file) = create_temp(&dir, &name)?;
        // SAFETY: the pointer and length describe `next`, alive for the call.
        let written = unsafe { libc::write(file.as_raw_fd(), next.as_ptr().cast(), next.len()) };
        if written < 0 {
            let _ = std::fs::remove_file(&tmp);
            return Err(std::io::Error::last_os_error()).at(Step::Write, &tmp);
        }
        file.sync_all().at(Step::Fsync, &tmp)?;
        std::fs::rename(&tmp, state).at(Step::Rename, state)?;
        platform::fsync_dir(&dir).at(Step::FsyncDir, &dir)?;
        lock.unlock()
    }
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>> {
        crashsafe::update::read(state)
    }
}
