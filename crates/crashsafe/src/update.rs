//! `update`: the read-modify-write discipline, the one call application code
//! should use.
//!
//! Lock `PATH.lock` exclusively, read `PATH` (absent is `None`), compute the
//! new bytes, write them with [`write_file_atomic`], unlock. Two concurrent
//! updates are serialised by the lock, so neither is lost; a crash at any
//! point leaves either the old or the new state, never a torn one. Readers
//! need no lock: the rename makes every read whole.
//!
//! **Litter is removed.** A writer killed between creating its temporary
//! file and renaming it leaves that file behind, and a program that updates
//! its state for years would gather them without end. Before writing,
//! under the lock, `update` removes them: the regular files named
//! `.NAME.tmp-` and 12 letters or digits next to the target, exactly the
//! names the atomic write gives its temporary files for that target (see
//! [`crate::atomic::sweep`] for what is left alone). This is safe only
//! because of the lock: a live writer creates its temporary file only
//! while it holds the lock, so while we hold it every such file belongs to
//! a writer that died. Do not mix `update` with unlocked
//! [`write_file_atomic`] calls on the same path: such a writer's temporary
//! file may be taken for litter and its write fail at the rename.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

#[cfg(doc)]
use crate::atomic::write_file_atomic;
use crate::atomic::{resolve_symlinks, write_file_atomic_swept};
use crate::error::{IoContext, Result, Step};
use crate::lock::StateLock;

/// The mode given to a state file that did not exist yet.
pub const DEFAULT_MODE: u32 = 0o644;

/// Applies `f` to the current content of `path` (or `None` when it does not
/// exist) and replaces it with the result, under the lock, atomically.
///
/// An error from `f` leaves the state untouched. The existing file's mode is
/// kept; a new file gets [`DEFAULT_MODE`]. Temporary files left by killed
/// writers of `path` are removed first (see the module documentation).
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
    write_file_atomic_swept(path, &next, mode)
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

    /// What a writer killed before its rename leaves: a complete
    /// temporary file under the atomic write's own naming.
    fn killed_writer_litter(p: &Path) {
        let staged = crate::atomic::stage(p, b"half", 0o644, crate::atomic::Durability::None);
        std::mem::forget(staged.unwrap());
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn litter_of_killed_writers_is_removed_by_the_next_update() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state");
        update(&p, bump).unwrap();
        killed_writer_litter(&p);
        killed_writer_litter(&p);
        fs::write(dir.path().join(".state.tmp-0123456789ab"), b"x").unwrap();
        assert_eq!(names(dir.path()).len(), 5, "{:?}", names(dir.path()));
        update_timeout(&p, Duration::from_secs(60), bump).unwrap();
        assert_eq!(names(dir.path()), ["state", "state.lock"]);
        assert_eq!(fs::read(&p).unwrap(), b"2");
    }

    #[test]
    fn files_with_similar_foreign_names_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state");
        let foreign = [
            "state.bak",
            ".state.notes",
            ".state.tmp-",
            ".state.tmp-short",
            ".state.tmp-0123456789abc",
            ".state.tmp-0123456789a!",
            "state.tmp-0123456789ab",
            ".state.lock.tmp-0123456789ab",
            ".other.tmp-0123456789ab",
            "x.state.tmp-0123456789ab",
        ];
        for name in foreign {
            fs::write(dir.path().join(name), name).unwrap();
        }
        update(&p, bump).unwrap();
        for name in foreign {
            assert_eq!(fs::read(dir.path().join(name)).unwrap(), name.as_bytes());
        }
    }

    #[test]
    fn a_link_or_directory_with_a_temporary_name_is_left_alone() {
        // The atomic write only ever creates regular files: anything else
        // by that name is somebody else's, and a link is never followed.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state");
        let precious = dir.path().join("precious");
        fs::write(&precious, b"mine").unwrap();
        let link = dir.path().join(".state.tmp-L1nkL1nkL1nk");
        std::os::unix::fs::symlink(&precious, &link).unwrap();
        let dangling = dir.path().join(".state.tmp-Dang1ingL1nk");
        std::os::unix::fs::symlink("nowhere", &dangling).unwrap();
        let sub = dir.path().join(".state.tmp-D1rectoryDir");
        fs::create_dir(&sub).unwrap();
        update(&p, bump).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
        assert!(fs::symlink_metadata(&dangling).unwrap().is_symlink());
        assert!(sub.is_dir());
        assert_eq!(fs::read(&precious).unwrap(), b"mine");
    }

    #[test]
    fn litter_next_to_a_linked_state_is_removed_there() {
        // update() follows a symlink at the path; the temporary files are
        // next to the real file, and so is the sweep.
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("real");
        fs::create_dir(&real_dir).unwrap();
        let real = real_dir.join("state");
        fs::write(&real, b"1").unwrap();
        let link = dir.path().join("state");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        killed_writer_litter(&real);
        update(&link, bump).unwrap();
        assert_eq!(names(&real_dir), ["state", "state.lock"]);
        assert_eq!(fs::read(&real).unwrap(), b"2");
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
