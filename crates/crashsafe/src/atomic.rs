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
//! 4. give it its mode (at creation when the umask keeps the mode whole,
//!    else with `fchmod`);
//! 5. rename it over the target;
//! 6. fsync the parent directory, making the rename itself durable.
//!
//! On any error the temporary file is removed and the error names the step
//! and the path. A SIGKILL between steps 1 and 5 leaves the temporary file
//! behind: the target is intact, and the `torture` runner reports such
//! files as `litter`.
//!
//! **Litter.** The killed process cannot remove its temporary file, and
//! [`write_file_atomic`] takes no lock, so it cannot tell a dead writer's
//! temporary file from a live one's: it never removes any. Whoever
//! serialises the writers of a path can. [`crate::update()`] removes them
//! under its lock before each write, and [`sweep`] does it for callers that
//! hold a lock of their own. Either removes only regular files named as this
//! module names them for that target (`.NAME.tmp-` and 12 letters or
//! digits), by name inside the open directory, never following a link.
//!
//! **Symbolic links.** When the target is a symlink, the link is followed
//! (to any depth) and the file it points to is replaced; the link itself is
//! kept. This is the behaviour dotfile managers rely on, and it keeps the
//! temporary file on the real file's file system. A dangling link creates its
//! target. A link that the kernel's `protected_symlinks` rule forbids
//! following (in a sticky world-writable directory such as `/tmp`, owned by
//! neither that directory's owner nor the caller) is refused with
//! [`Error::ProtectedSymlink`], whatever the sysctl says: reading the link
//! and then writing its target would bypass the kernel's own check, and let
//! another user of `/tmp` aim a root process at any file.
//!
//! **Read-only targets.** An existing target whose mode has no write bit is
//! refused with [`Error::ReadOnlyTarget`], even for root, although a rename
//! could replace it: somebody made it read-only on purpose.

use std::ffi::{CStr, CString};
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngExt;
use rand::distr::Alphanumeric;

use crate::error::{Error, IoContext, Result, Step};
use crate::sys::{Dir, Entry};

/// The infix of every temporary file this crate creates; the `torture` runner
/// counts files carrying it as litter.
pub const TEMP_INFIX: &str = ".tmp-";

/// The length of the random part of a temporary file's name.
const SUFFIX_LEN: usize = 12;

/// How many symlinks we follow before calling it a loop (as the kernel does).
const MAX_SYMLINK_DEPTH: usize = 40;

/// Which fsyncs an atomic write makes.
///
/// Only [`Durability::Full`] is durable; the others exist so that tests
/// and the `torture` zoo can show what each missing fsync costs. A
/// program should use [`Durability::Full`] (what [`write_file_atomic`]
/// does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync of the file and of the parent directory: survives power loss.
    Full,
    /// **Broken on purpose.** fsync of the file only, not of the parent
    /// directory: the rename is never made durable, so after a power loss
    /// the target may still hold the old content, although the write
    /// returned. Atomic against process crashes, and the new content is
    /// never torn (its data is durable before the rename), but an
    /// acknowledged write can be lost. The mistake of `fsync` then `rename`
    /// without the directory's fsync.
    FileOnly,
    /// No fsync at all: atomic against process crashes only.
    None,
}

impl Durability {
    /// Whether the temporary file is fsynced before the rename.
    pub fn syncs_file(self) -> bool {
        matches!(self, Durability::Full | Durability::FileOnly)
    }

    /// Whether the parent directory is fsynced after the rename, making
    /// the rename itself durable.
    pub fn syncs_dir(self) -> bool {
        self == Durability::Full
    }
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

/// Steps 1 to 4 of the atomic write: the new content is complete and (when
/// [`Durability::syncs_file`]) durable in its temporary file, not yet visible.
/// [`StagedWrite::commit`] renames it into place; dropping it instead removes
/// the temporary file. Useful to do a last check before publishing.
pub fn stage(path: &Path, data: &[u8], perm: u32, durability: Durability) -> Result<StagedWrite> {
    stage_with(path, data, perm, durability, false)
}

/// [`write_file_atomic`] that first removes the target's litter, as
/// [`sweep`] does, in the directory it opens anyway. Only for callers
/// holding the lock that serialises every writer of `path`
/// ([`crate::update()`]).
pub(crate) fn write_file_atomic_swept(path: &Path, data: &[u8], perm: u32) -> Result<()> {
    stage_with(path, data, perm, Durability::Full, true)?.commit()
}

fn stage_with(
    path: &Path,
    data: &[u8],
    perm: u32,
    durability: Durability,
    sweep_first: bool,
) -> Result<StagedWrite> {
    // Everything happens relative to the directory, opened once: one path
    // walk instead of one per step, which pays for the check of the target.
    let (mut dir_path, mut name) = split_c(path)?;
    let mut dir = open_dir(&dir_path)?;
    let mut existing = dir.entry(&name);
    if existing == Entry::Symlink {
        let target = resolve_symlinks(path)?;
        (dir_path, name) = split_c(&target)?;
        dir = open_dir(&dir_path)?;
        existing = dir.entry(&name);
    }
    if let Entry::Other {
        regular: true,
        mode,
    } = existing
        && mode & 0o222 == 0
    {
        return Err(Error::ReadOnlyTarget {
            path: dir_path.join(name.to_string_lossy().as_ref()),
        });
    }
    if sweep_first {
        sweep_in(&dir, &dir_path, &name.to_string_lossy())?;
    }
    // When the umask keeps `perm` whole, the file is created with it and
    // needs no chmod: one syscall less on every write.
    let exact = perm & !0o777 == 0 && process_umask().is_some_and(|u| perm & u == 0);
    let (tmp, file) = create_temp_in(&dir, &dir_path, &name, if exact { perm } else { 0o600 })?;
    let staged = StagedWrite {
        tmp,
        name,
        dir_path,
        dir,
        durability,
        done: false,
    };
    staged.fill(file, data, (!exact).then_some(perm))?;
    Ok(staged)
}

/// Removes the temporary files that [`write_file_atomic`] left for `path`
/// when its process was killed before the rename, and returns how many.
///
/// **Call it only while holding the lock that serialises writers of
/// `path`**: a writer that is alive has its temporary file open, and
/// without that lock nothing tells it from a dead writer's. (With
/// [`crate::update()`] there is nothing to call: it sweeps under its own
/// lock.)
///
/// A symlink at `path` is followed, as [`write_file_atomic`] does, to the
/// directory where the temporary files are. Removed: regular files named
/// `.NAME.tmp-` followed by 12 letters or digits, `NAME` being the target's
/// name, each removed by name inside the directory opened once (`unlinkat`).
/// Left alone: anything else, whatever its name (`NAME.bak`, `.NAME.notes`,
/// another target's temporary files), and a symlink, a directory or a
/// special file even with a temporary file's name, since this module only
/// ever creates regular files (the target of such a link is never touched);
/// also a file this process may not remove (`EACCES`, `EPERM`: another
/// user's, in a sticky directory), which is not counted.
pub fn sweep(path: impl AsRef<Path>) -> Result<usize> {
    let target = resolve_symlinks(path.as_ref())?;
    let (dir_path, name) = split(&target)?;
    let dir = open_dir(&dir_path)?;
    sweep_in(&dir, &dir_path, &name)
}

/// [`sweep`] of the target `name` in the open directory `dir` (at `dir_path`).
fn sweep_in(dir: &Dir, dir_path: &Path, name: &str) -> Result<usize> {
    let names = dir.names().at(Step::ListDir, dir_path)?;
    let mut removed = 0;
    for candidate in names.iter().filter(|c| is_temp_of(c.to_bytes(), name)) {
        if !matches!(dir.entry(candidate), Entry::Other { regular: true, .. }) {
            continue;
        }
        match dir.remove(candidate) {
            Ok(()) => removed += 1,
            // Gone already, replaced by a directory since the check, or
            // not ours to remove: none of it is litter we can clear.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOENT | libc::EISDIR | libc::EACCES | libc::EPERM)
                ) => {}
            Err(e) => {
                let path = dir_path.join(candidate.to_string_lossy().as_ref());
                return Err(Error::io(Step::Remove, path, e));
            }
        }
    }
    Ok(removed)
}

/// Whether `candidate` is a name this module gives a temporary file of
/// the target `name`: `.NAME.tmp-` and exactly [`SUFFIX_LEN`] letters or
/// digits.
fn is_temp_of(candidate: &[u8], name: &str) -> bool {
    let prefix = format!(".{name}{TEMP_INFIX}");
    candidate
        .strip_prefix(prefix.as_bytes())
        .is_some_and(|suffix| {
            suffix.len() == SUFFIX_LEN && suffix.iter().all(u8::is_ascii_alphanumeric)
        })
}

fn open_dir(path: &Path) -> Result<Dir> {
    Dir::open(path).at(Step::OpenDir, path)
}

/// A complete temporary file waiting to be renamed over its target.
#[derive(Debug)]
pub struct StagedWrite {
    /// The temporary file's name in `dir`.
    tmp: CString,
    /// The target's name in `dir`.
    name: CString,
    dir_path: PathBuf,
    dir: Dir,
    durability: Durability,
    done: bool,
}

impl StagedWrite {
    /// Writes, fsyncs, and sets the mode `chmod` if the file was not
    /// created with it.
    fn fill(&self, mut file: File, data: &[u8], chmod: Option<u32>) -> Result<()> {
        // The path is only built for an error message.
        let at = |step| {
            move |e| {
                Error::io(
                    step,
                    self.dir_path.join(self.tmp.to_string_lossy().as_ref()),
                    e,
                )
            }
        };
        file.write_all(data).map_err(at(Step::Write))?;
        if self.durability.syncs_file() {
            retry_eintr(|| file.sync_all()).map_err(at(Step::Fsync))?;
        }
        match chmod {
            Some(perm) => retry_eintr(|| file.set_permissions(Permissions::from_mode(perm)))
                .map_err(at(Step::SetMode)),
            None => Ok(()),
        }
    }

    /// Steps 5 and 6: rename over the target, fsync the directory.
    pub fn commit(mut self) -> Result<()> {
        retry_eintr(|| self.dir.rename(&self.tmp, &self.name)).at(
            Step::Rename,
            &self.dir_path.join(self.name.to_string_lossy().as_ref()),
        )?;
        self.done = true;
        if self.durability.syncs_dir() {
            retry_eintr(|| self.dir.sync()).at(Step::FsyncDir, &self.dir_path)?;
        }
        Ok(())
    }
}

impl Drop for StagedWrite {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.dir.remove(&self.tmp);
        }
    }
}

/// The process's umask, read once from `/proc/self/status` (reading it
/// with umask(2) would change it, racing other threads). `None` where it
/// cannot be read: the caller then sets the mode explicitly.
fn process_umask() -> Option<u32> {
    static UMASK: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let value = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
        u32::from_str_radix(value.trim(), 8).ok()
    })
}

/// Creates a fresh hidden temporary file next to `name` in `dir`,
/// exclusively (`O_EXCL`, mode 0600, close-on-exec), with a random name
/// carrying [`TEMP_INFIX`]; returns its path and the open file.
///
/// A building block for writers of their own (the harness's broken
/// strategies use it): [`write_file_atomic`] is the whole discipline.
pub fn create_temp(dir: &Path, name: &str) -> Result<(PathBuf, File)> {
    create_temp_mode(dir, name, 0o600)
}

/// A fresh hidden temporary file next to `name` in the open directory
/// `dir` (at `dir_path`), created exclusively with `mode` (the umask
/// applies); returns its name.
fn create_temp_in(dir: &Dir, dir_path: &Path, name: &CStr, mode: u32) -> Result<(CString, File)> {
    // This process's own name first: it is free again once the last write
    // renamed its temporary file away, and creating a name the directory
    // has just seen is cheaper than a new one. A clash (a crashed write's
    // leftover, another thread's write in flight) falls back to fresh
    // random names.
    let name = name.to_string_lossy();
    let mut tmp = format!(".{name}{TEMP_INFIX}{}", process_suffix());
    loop {
        let c = CString::new(tmp).expect("names from split have no NUL");
        match dir.create_new(&c, mode) {
            Ok(f) => return Ok((c, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => tmp = temp_name(&name),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                tmp = c.into_string().unwrap_or_default()
            }
            Err(e) => {
                let path = dir_path.join(c.to_string_lossy().as_ref());
                return Err(Error::io(Step::CreateTemp, path, e));
            }
        }
    }
}

/// [`split`], with the name as a C string for the `*at` calls.
fn split_c(path: &Path) -> Result<(PathBuf, CString)> {
    let (dir, name) = split(path)?;
    let name = CString::new(name).map_err(|_| Error::BadPath {
        path: path.to_path_buf(),
    })?;
    Ok((dir, name))
}

/// A random suffix drawn once per process: temporary names stay
/// unpredictable to other processes.
fn process_suffix() -> &'static str {
    static SUFFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SUFFIX.get_or_init(|| {
        rand::rng()
            .sample_iter(&Alphanumeric)
            .take(SUFFIX_LEN)
            .map(char::from)
            .collect()
    })
}

/// [`create_temp`] with the given creation mode (the umask applies).
fn create_temp_mode(dir: &Path, name: &str, mode: u32) -> Result<(PathBuf, File)> {
    loop {
        let tmp = dir.join(temp_name(name));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
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
        .take(SUFFIX_LEN)
        .map(char::from)
        .collect();
    format!(".{name}{TEMP_INFIX}{suffix}")
}

/// Splits a file path into its directory (never empty: `.` for a bare
/// name) and its file name; [`Error::BadPath`] when it has no file name or
/// the name is not UTF-8.
pub fn split(path: &Path) -> Result<(PathBuf, String)> {
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

/// Follows symlinks at `path` until it names a non-link (or nothing),
/// refusing with [`Error::ProtectedSymlink`] a link that the
/// `protected_symlinks` rule forbids following. This is the file
/// [`write_file_atomic`] replaces.
pub fn resolve_symlinks(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_DEPTH {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                // In a shared directory nobody else can swap a link they do
                // not own, so the link checked here is the link read below.
                if let Some(owner) = crate::sys::forbidden_link_owner(&current, &meta) {
                    return Err(Error::ProtectedSymlink {
                        path: current,
                        owner,
                    });
                }
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

/// Retries `op` while it fails with `EINTR` (`io::ErrorKind::Interrupted`).
pub fn retry_eintr<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
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

    /// Each durability makes the fsyncs it names, and every one of them
    /// replaces the content whole: the weaker ones differ only after a
    /// power loss.
    #[test]
    fn each_durability_makes_its_fsyncs_and_replaces_whole() {
        for (durability, file, dir) in [
            (Durability::Full, true, true),
            (Durability::FileOnly, true, false),
            (Durability::None, false, false),
        ] {
            assert_eq!(durability.syncs_file(), file, "{durability:?}");
            assert_eq!(durability.syncs_dir(), dir, "{durability:?}");
            let tmp = tempfile::tempdir().unwrap();
            let p = tmp.path().join("state.json");
            fs::write(&p, vec![b'x'; 10_000]).unwrap();
            write_atomic_with(&p, b"new", 0o644, durability).unwrap();
            assert_eq!(fs::read(&p).unwrap(), b"new", "{durability:?}");
            assert!(temps_in(tmp.path()).is_empty(), "{durability:?}");
        }
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
                    step: Step::OpenDir,
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
    fn planted_symlink_in_a_shared_directory_is_refused() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: planting another user's link needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("pub");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, Permissions::from_mode(0o1777)).unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"secret").unwrap();
        let link = shared.join("state.json");
        symlink(&victim, &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(12345), None).unwrap();
        let err = write_file_atomic(&link, b"new", 0o644).unwrap_err();
        assert!(
            matches!(err, Error::ProtectedSymlink { owner: 12345, .. }),
            "{err}"
        );
        assert_eq!(fs::read(&victim).unwrap(), b"secret");
        assert!(temps_in(dir.path()).is_empty() && temps_in(&shared).is_empty());
        // The caller's own link (here also the directory owner's) is followed.
        std::os::unix::fs::lchown(&link, Some(0), None).unwrap();
        write_file_atomic(&link, b"new", 0o644).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"new");
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
    fn sweep_removes_only_this_targets_litter_and_counts_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        for _ in 0..3 {
            std::mem::forget(stage(&p, b"half", 0o644, Durability::None).unwrap());
        }
        let other = dir.path().join("other.json");
        std::mem::forget(stage(&other, b"half", 0o644, Durability::None).unwrap());
        fs::write(dir.path().join(".state.json.notes"), b"keep").unwrap();
        assert_eq!(sweep(&p).unwrap(), 3);
        assert_eq!(sweep(&p).unwrap(), 0);
        let left = temps_in(dir.path());
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(left[0].starts_with(".other.json.tmp-"), "{left:?}");
        assert!(dir.path().join(".state.json.notes").exists());
    }

    #[test]
    fn temporary_names_are_recognised_exactly() {
        let (_, own) = {
            let dir = tempfile::tempdir().unwrap();
            let staged = stage(&dir.path().join("s"), b"", 0o644, Durability::None).unwrap();
            (dir, staged.tmp.clone())
        };
        assert!(is_temp_of(own.to_bytes(), "s"), "{own:?}");
        assert!(is_temp_of(temp_name("s").as_bytes(), "s"));
        for foreign in [
            ".s.tmp-abc",
            ".s.tmp-abcdefghijkl/",
            "s.tmp-abcdefghijkl",
            ".s.tmp-abcdefghijk-",
        ] {
            assert!(!is_temp_of(foreign.as_bytes(), "s"), "{foreign}");
        }
        assert!(!is_temp_of(temp_name("s").as_bytes(), "t"));
    }

    #[test]
    fn sweep_of_a_missing_directory_names_step_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = sweep(dir.path().join("nope/state.json")).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io {
                    step: Step::OpenDir,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("nope"), "{err}");
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
