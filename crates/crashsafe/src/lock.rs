//! The lock: the reference discipline against lost updates.
//!
//! An exclusive `flock(2)` on a sibling file `PATH.lock`, held by an RAII
//! guard across the whole read-compute-write. The lock file is created once
//! and is never renamed and never deleted: a lock on a file that gets renamed
//! over (the state file itself) stays on the old inode and excludes nobody,
//! and a deleted lock file lets two processes lock two different inodes.
//!
//! `flock` locks belong to the open file description, so, unlike POSIX
//! `fcntl` locks, they do not vanish when some other descriptor of the same
//! file is closed. They are released when the guard is dropped, when
//! [`StateLock::unlock`] is called, or when the process dies, so a SIGKILLed
//! holder never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::atomic::retry_eintr;
use crate::error::{Error, IoContext, Result, Step};

/// The lock file that guards `state`: `state` with `.lock` appended.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut os = state.as_os_str().to_owned();
    os.push(".lock");
    PathBuf::from(os)
}

/// A held lock on `PATH.lock`. Dropping it releases the lock.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

/// Exclusive or shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// One holder at a time: for read-modify-write.
    Exclusive,
    /// Many readers at once, excluding exclusive holders.
    Shared,
}

impl StateLock {
    /// Takes the exclusive lock guarding `state`, waiting as long as it takes.
    pub fn acquire(state: &Path) -> Result<Self> {
        Self::acquire_mode(state, LockMode::Exclusive)
    }

    /// Takes the lock guarding `state` in `mode`, waiting as long as it takes.
    pub fn acquire_mode(state: &Path, mode: LockMode) -> Result<Self> {
        let lock = Self::open(state)?;
        let taken = retry_eintr(|| match mode {
            LockMode::Exclusive => lock.file.lock(),
            LockMode::Shared => lock.file.lock_shared(),
        });
        taken.at(Step::Lock, &lock.path)?;
        Ok(lock)
    }

    /// Takes the exclusive lock, or fails with [`Error::LockTimeout`] after
    /// `timeout` instead of waiting forever.
    pub fn acquire_timeout(state: &Path, timeout: Duration) -> Result<Self> {
        let lock = Self::open(state)?;
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_micros(200);
        loop {
            match lock.file.try_lock() {
                Ok(()) => return Ok(lock),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(Error::io(Step::Lock, &lock.path, e)),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::LockTimeout {
                    path: lock.path,
                    timeout,
                });
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Releases the lock now, reporting an error that drop would swallow.
    pub fn unlock(self) -> Result<()> {
        retry_eintr(|| self.file.unlock()).at(Step::Lock, &self.path)
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(state: &Path) -> Result<Self> {
        let path = lock_path(state);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .at(Step::OpenLock, &path)?;
        Ok(StateLock { file, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_path_is_a_sibling() {
        assert_eq!(
            lock_path(Path::new("/a/state.json")),
            Path::new("/a/state.json.lock")
        );
    }

    #[test]
    fn exclusive_excludes_and_unlock_releases() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s");
        let held = StateLock::acquire(&state).unwrap();
        let err = StateLock::acquire_timeout(&state, Duration::from_millis(30)).unwrap_err();
        assert!(matches!(err, Error::LockTimeout { .. }), "{err}");
        assert!(err.to_string().contains("s.lock"), "{err}");
        held.unlock().unwrap();
        StateLock::acquire_timeout(&state, Duration::from_millis(30)).unwrap();
        assert!(
            dir.path().join("s.lock").exists(),
            "the lock file is never deleted"
        );
    }

    #[test]
    fn drop_releases() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s");
        drop(StateLock::acquire(&state).unwrap());
        StateLock::acquire_timeout(&state, Duration::from_millis(30)).unwrap();
    }

    #[test]
    fn shared_locks_coexist_but_exclude_writers() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s");
        let a = StateLock::acquire_mode(&state, LockMode::Shared).unwrap();
        let _b = StateLock::acquire_mode(&state, LockMode::Shared).unwrap();
        assert!(StateLock::acquire_timeout(&state, Duration::from_millis(20)).is_err());
        drop(a);
    }

    #[test]
    fn missing_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = StateLock::acquire(&dir.path().join("no/s")).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io {
                    step: Step::OpenLock,
                    ..
                }
            ),
            "{err}"
        );
    }
}
