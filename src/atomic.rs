//! The atomic write: the reference discipline against torn writes.
//!
//! A reader of the target sees either the whole old content or the whole new
//! content, never a mix, and after [`write_file_atomic`] returns the new
//! content survives a crash of the process and of the machine:
//!
//! 1. create a temporary file exclusively (`O_EXCL`, unpredictable hidden name
//!    `.NAME.tmp-XXXXXXXXXXXX`) in the target's own directory, so the rename
//!    below never crosses a file system;
//! 2. write all the bytes (short writes and `EINTR` are retried);
//! 3. fsync the temporary file;
//! 4. set its mode;
//! 5. rename it over the target;
//! 6. fsync the parent directory, making the rename itself durable.
//!
//! On any error the temporary file is removed and the error names the step
//! and the path. A SIGKILL between steps 1 and 5 leaves the temporary file
//! behind (nothing can remove it); the target is intact and the runner reports
//! such files as `litter`.
//!
//! **Symbolic links.** When the target is a symlink, the link is followed
//! (to any depth) and the file it points to is replaced; the link itself is
//! kept. This is the behaviour dotfile managers rely on, and it keeps the
//! temporary file on the real file's file system. A dangling link creates its
//! target.
//!
//! **Read-only targets.** An existing target whose mode has no write bit is
//! refused with [`Error::ReadOnlyTarget`], even for root, although a rename
//! could replace it: somebody made it read-only on purpose.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngExt;
use rand::distr::Alphanumeric;

use crate::error::{Error, IoContext, Result, Step};
use crate::platform;

/// The infix of every temporary file this crate creates; the runner counts
/// files carrying it as litter.
pub const TEMP_INFIX: &str = ".tmp-";

/// How many symlinks we follow before calling it a loop (as the kernel does).
const MAX_SYMLINK_DEPTH: usize = 40;

/// Which fsyncs an atomic write makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync of the file and of the parent directory: survives power loss.
    Full,
    /// No fsync at all: atomic against process crashes only.
    None,
}

/// Replaces `path` with `data` atomically and durably, giving it mode `perm`
/// (for example `0o644`). See the module documentation for the steps.
pub fn write_file_atomic(path: impl AsRef<Path>, data: &[u8], perm: u32) -> Result<()> {
    write_atomic_with(path.as_ref(), data, perm, Durability::Full)
}

/// [`write_file_atomic`] with a chosen [`Durability`]; the strategies under
/// test use it to drop the fsyncs.
pub fn write_atomic_with(
    path: &Path,
    data: &[u8],
    perm: u32,
    durability: Durability,
) -> Result<()> {
    stage(path, data, perm, durability)?.commit()
}

/// Steps 1 to 4 of the atomic write: the new content is complete and (with
/// [`Durability::Full`]) durable in its temporary file, not yet visible.
/// [`StagedWrite::commit`] renames it into place; dropping it instead removes
/// the temporary file. Useful to do a last check before publishing.
pub fn stage(path: &Path, data: &[u8], perm: u32, durability: Durability) -> Result<StagedWrite> {
    let target = resolve_symlinks(path)?;
    refuse_read_only(&target)?;
    let (dir, name) = split(&target)?;
    let (tmp, file) = create_temp(&dir, &name)?;
    let staged = StagedWrite {
        tmp,
        target,
        dir,
        durability,
        done: false,
    };
    staged.fill(file, data, perm)?;
    Ok(staged)
}

/// A complete temporary file waiting to be renamed over its target.
#[derive(Debug)]
pub struct StagedWrite {
    tmp: PathBuf,
    target: PathBuf,
    dir: PathBuf,
    durability: Durability,
    done: bool,
}

impl StagedWrite {
    fn fill(&self, mut file: File, data: &[u8], perm: u32) -> Result<()> {
        file.write_all(data).at(Step::Write, &self.tmp)?;
        if self.durability == Durability::Full {
            retry_eintr(|| file.sync_all()).at(Step::Fsync, &self.tmp)?;
        }
        retry_eintr(|| file.set_permissions(Permissions::from_mode(perm)))
            .at(Step::SetMode, &self.tmp)
    }

    /// Steps 5 and 6: rename over the target, fsync the directory.
    pub fn commit(mut self) -> Result<()> {
        retry_eintr(|| fs::rename(&self.tmp, &self.target)).at(Step::Rename, &self.target)?;
        self.done = true;
        if self.durability == Durability::Full {
            retry_eintr(|| platform::fsync_dir(&self.dir)).at(Step::FsyncDir, &self.dir)?;
        }
        Ok(())
    }
}

impl Drop for StagedWrite {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A target whose mode has no write bit was made read-only on purpose;
/// replacing it by rename would silently defeat that, so we refuse.
fn refuse_read_only(target: &Path) -> Result<()> {
    match fs::metadata(target) {
        Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o222 == 0 => {
            Err(Error::ReadOnlyTarget {
                path: target.to_path_buf(),
            })
        }
        _ => Ok(()),
    }
}

/// Creates a fresh hidden temporary file next to `name` in `dir`, exclusively.
pub(crate) fn create_temp(dir: &Path, name: &str) -> Result<(PathBuf, File)> {
    loop {
        let tmp = dir.join(temp_name(name));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp);
        match opened {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(Step::CreateTemp, tmp, e)),
        }
    }
}

fn temp_name(name: &str) -> String {
    let suffix: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(12)
        .map(char::from)
        .collect();
    format!(".{name}{TEMP_INFIX}{suffix}")
}

/// Splits a file path into its directory (never empty) and file name.
pub(crate) fn split(path: &Path) -> Result<(PathBuf, String)> {
    let bad = || Error::BadPath {
        path: path.to_path_buf(),
    };
    let name = path.file_name().ok_or_else(bad)?.to_str().ok_or_else(bad)?;
    let dir = match path.parent() {
        Some(p) if p.as_os_str().is_empty() => PathBuf::from("."),
        Some(p) => p.to_path_buf(),
        None => return Err(bad()),
    };
    Ok((dir, name.to_string()))
}

/// Follows symlinks at `path` until it names a non-link (or nothing).
pub(crate) fn resolve_symlinks(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_DEPTH {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current).at(Step::ResolveSymlink, &current)?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(Error::io(
        Step::ResolveSymlink,
        path,
        io::Error::other("too many levels of symbolic links"),
    ))
}

/// Retries `op` while it fails with `EINTR`.
pub(crate) fn retry_eintr<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn temps_in(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(TEMP_INFIX))
            .collect()
    }

    #[test]
    fn writes_new_file_with_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        write_file_atomic(&p, b"hello", 0o640).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"hello");
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert!(temps_in(dir.path()).is_empty());
    }

    #[test]
    fn replaces_existing_content_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        fs::write(&p, vec![b'x'; 100_000]).unwrap();
        write_file_atomic(&p, b"short", 0o644).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"short");
    }

    #[test]
    fn missing_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope/state.json");
        let err = write_file_atomic(&p, b"x", 0o644).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io {
                    step: Step::CreateTemp,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn follows_symlink_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        fs::write(&real, b"old").unwrap();
        symlink("real.json", &link).unwrap();
        write_file_atomic(&link, b"new", 0o644).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        symlink("a", &a).unwrap();
        let err = write_file_atomic(&a, b"x", 0o644).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io {
                    step: Step::ResolveSymlink,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn read_only_target_is_refused_and_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, Permissions::from_mode(0o444)).unwrap();
        let err = write_file_atomic(&p, b"new", 0o644).unwrap_err();
        assert!(matches!(err, Error::ReadOnlyTarget { .. }), "{err}");
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert!(temps_in(dir.path()).is_empty());
    }

    #[test]
    fn unwritable_directory_is_a_clear_error() {
        let Some(ro) = crate::testutil::ReadOnlyDir::new() else {
            eprintln!("skipped: cannot make a read-only directory here");
            return;
        };
        let p = ro.path().join("state.json");
        let err = write_file_atomic(&p, b"new", 0o644).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io {
                    step: Step::CreateTemp,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert!(temps_in(ro.path()).is_empty());
    }

    #[test]
    fn path_without_file_name_is_rejected() {
        let err = write_file_atomic("/", b"x", 0o644).unwrap_err();
        assert!(matches!(err, Error::BadPath { .. }), "{err}");
    }

    #[test]
    fn rename_failure_removes_temp_and_keeps_old_state() {
        // The target is a non-empty directory: rename(2) fails with EISDIR or
        // ENOTEMPTY after the temp file was fully written.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("state");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), b"old").unwrap();
        let err = write_file_atomic(&target, b"new", 0o644).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io {
                    step: Step::Rename,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(fs::read(target.join("keep")).unwrap(), b"old");
        assert!(temps_in(dir.path()).is_empty());
    }
}
