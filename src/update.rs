//! `update`: the read-modify-write discipline, the one call application code
//! should use.
//!
//! Lock `PATH.lock` exclusively, read `PATH` (absent is `None`), compute the
//! new bytes, write them with [`write_file_atomic`], unlock. Two concurrent
//! updates are serialised by the lock, so neither is lost; a crash at any
//! point leaves either the old or the new state, never a torn one. Readers
//! need no lock: the rename makes every read whole.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use crate::atomic::{resolve_symlinks, write_file_atomic};
use crate::error::{IoContext, Result, Step};
use crate::lock::StateLock;

/// The mode given to a state file that did not exist yet.
pub const DEFAULT_MODE: u32 = 0o644;

/// Applies `f` to the current content of `path` (or `None` when it does not
/// exist) and replaces it with the result, under the lock, atomically.
///
/// An error from `f` leaves the state untouched. The existing file's mode is
/// kept; a new file gets [`DEFAULT_MODE`].
pub fn update<F>(path: impl AsRef<Path>, f: F) -> Result<()>
where
    F: FnOnce(Option<&[u8]>) -> Result<Vec<u8>>,
{
    let path = resolve_symlinks(path.as_ref())?;
    let lock = StateLock::acquire(&path)?;
    apply(&path, f)?;
    lock.unlock()
}

/// [`update`], but fails with [`crate::Error::LockTimeout`] when the lock is
/// not free within `timeout`.
pub fn update_timeout<F>(path: impl AsRef<Path>, timeout: Duration, f: F) -> Result<()>
where
    F: FnOnce(Option<&[u8]>) -> Result<Vec<u8>>,
{
    let path = resolve_symlinks(path.as_ref())?;
    let lock = StateLock::acquire_timeout(&path, timeout)?;
    apply(&path, f)?;
    lock.unlock()
}

/// Reads the state at `path`, `None` when it does not exist. No lock needed.
pub fn read(path: impl AsRef<Path>) -> Result<Option<Vec<u8>>> {
    let path = path.as_ref();
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::Error::io(Step::Read, path, e)),
    }
}

fn apply<F>(path: &Path, f: F) -> Result<()>
where
    F: FnOnce(Option<&[u8]>) -> Result<Vec<u8>>,
{
    let current = read(path)?;
    let mode = match fs::metadata(path) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(e) if e.kind() == io::ErrorKind::NotFound => DEFAULT_MODE,
        Err(e) => return Err(e).at(Step::Read, path),
    };
    let next = f(current.as_deref())?;
    write_file_atomic(path, &next, mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn bump(cur: Option<&[u8]>) -> Result<Vec<u8>> {
        let n: u64 = cur
            .map(|b| String::from_utf8_lossy(b).parse().unwrap())
            .unwrap_or(0);
        Ok((n + 1).to_string().into_bytes())
    }

    #[test]
    fn creates_then_increments() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("count");
        update(&p, bump).unwrap();
        update(&p, bump).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"2");
        assert!(dir.path().join("count.lock").exists());
    }

    #[test]
    fn concurrent_threads_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("count");
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| (0..25).for_each(|_| update(&p, bump).unwrap()));
            }
        });
        assert_eq!(fs::read(&p).unwrap(), b"200");
    }

    #[test]
    fn rejected_update_leaves_state() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("count");
        fs::write(&p, b"7").unwrap();
        let err = update(&p, |_| Err(Error::Rejected("no".into()))).unwrap_err();
        assert!(matches!(err, Error::Rejected(_)));
        assert_eq!(fs::read(&p).unwrap(), b"7");
    }

    #[test]
    fn keeps_existing_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("count");
        fs::write(&p, b"1").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        update(&p, bump).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn lock_timeout_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("count");
        let _held = StateLock::acquire(&p).unwrap();
        let err = update_timeout(&p, Duration::from_millis(20), bump).unwrap_err();
        assert!(matches!(err, Error::LockTimeout { .. }), "{err}");
        assert!(!p.exists());
    }

    #[test]
    fn unwritable_directory_keeps_old_state() {
        let Some(ro) = crate::testutil::ReadOnlyDir::new() else {
            eprintln!("skipped: cannot make a read-only directory here");
            return;
        };
        let p = ro.path().join("state.json");
        assert!(update(&p, |_| Ok(b"new".to_vec())).is_err());
        assert_eq!(fs::read(&p).unwrap(), b"old");
    }
}
