//! Walking and removing a directory tree by descriptors.
//!
//! Every step is relative to an open directory (`openat`, `fstatat`,
//! `unlinkat`), a directory is opened with `O_NOFOLLOW`, and a directory on
//! another file system (a mount point) is never entered. So a symbolic link
//! swapped in for a directory mid-walk, by anybody, cannot lead a removal
//! outside the tree, and a file system mounted inside it is never emptied.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, fstat, fstatat};
use nix::unistd::{UnlinkatFlags, unlinkat};

use super::manifest::EntryType;

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

/// One entry found under a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its path relative to the walked directory, `/`-separated (lossy if
    /// the name is not UTF-8).
    pub path: String,
    /// What it is (a link is never followed).
    pub kind: EntryType,
    /// Its inode number.
    pub ino: u64,
    /// Whether every component of its name is UTF-8 (a manifest can only
    /// name such entries).
    pub utf8: bool,
    /// Whether it is on another file system (a mount point).
    pub other_fs: bool,
}

/// Opens the directory `path` itself, never a symbolic link to one.
pub fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    Ok(nix::fcntl::open(path, DIR_FLAGS, Mode::empty())?)
}

/// The status of an open descriptor.
pub fn stat(fd: &impl AsFd) -> io::Result<FileStat> {
    Ok(fstat(fd.as_fd())?)
}

/// Everything under the open directory `dir` (on device `dev`), parents
/// before their children.
pub fn list(dir: OwnedFd, dev: u64) -> io::Result<Vec<Found>> {
    let mut out = Vec::new();
    list_into(&mut Dir::from_fd(dir)?, dev, "", true, &mut out)?;
    Ok(out)
}

fn list_into(
    dir: &mut Dir,
    dev: u64,
    prefix: &str,
    utf8: bool,
    out: &mut Vec<Found>,
) -> io::Result<()> {
    for name in names(dir) {
        let Some(found) = found(dir, &name, dev, prefix, utf8)? else {
            continue;
        };
        let descend = found.kind == EntryType::Dir && !found.other_fs;
        let (path, utf8) = (found.path.clone(), found.utf8);
        out.push(found);
        if descend {
            match Dir::openat(dir.as_fd(), name.as_c_str(), DIR_FLAGS, Mode::empty()) {
                Ok(mut sub) => list_into(&mut sub, dev, &path, utf8, out)?,
                Err(Errno::ENOENT) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// The first name in the open directory `dir` (but `.` and `..`), without
/// walking further: enough to tell an empty directory.
pub fn first_name(dir: OwnedFd) -> io::Result<Option<String>> {
    let mut dir = Dir::from_fd(dir)?;
    Ok(names(&mut dir)
        .first()
        .map(|n| n.to_string_lossy().into_owned()))
}

/// The names in `dir`, but `.` and `..`.
fn names(dir: &mut Dir) -> Vec<CString> {
    dir.iter()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect()
}

/// `prefix/name`, or `name` at the top.
fn join(prefix: &str, name: &CStr) -> String {
    let name = name.to_string_lossy();
    if prefix.is_empty() {
        name.into_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// What `name` in `dir` is; `None` if it is gone.
fn found(dir: &Dir, name: &CStr, dev: u64, prefix: &str, utf8: bool) -> io::Result<Option<Found>> {
    let st = match fstatat(dir.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(Found {
        path: join(prefix, name),
        kind: EntryType::of_mode(st.st_mode),
        ino: st.st_ino,
        utf8: utf8 && std::str::from_utf8(name.to_bytes()).is_ok(),
        other_fs: st.st_dev != dev,
    }))
}

/// Removes, under the open directory `dir` (on device `dev`), every entry
/// `doomed` says (a directory once it is empty; a directory not doomed is
/// not entered), never following a link nor entering another file system.
/// Returns the paths left behind.
pub fn remove(dir: OwnedFd, dev: u64, doomed: &dyn Fn(&Found) -> bool) -> io::Result<Vec<String>> {
    let mut left = Vec::new();
    remove_in(&mut Dir::from_fd(dir)?, dev, "", true, doomed, &mut left);
    Ok(left)
}

fn remove_in(
    dir: &mut Dir,
    dev: u64,
    prefix: &str,
    utf8: bool,
    doomed: &dyn Fn(&Found) -> bool,
    left: &mut Vec<String>,
) {
    for name in names(dir) {
        let found = match found(dir, &name, dev, prefix, utf8) {
            Ok(Some(f)) => f,
            Ok(None) => continue,
            Err(_) => {
                left.push(join(prefix, &name));
                continue;
            }
        };
        if found.other_fs || !doomed(&found) {
            left.push(found.path);
            continue;
        }
        let flag = if found.kind == EntryType::Dir {
            match Dir::openat(dir.as_fd(), name.as_c_str(), DIR_FLAGS, Mode::empty()) {
                Ok(mut sub) => remove_in(&mut sub, dev, &found.path, found.utf8, doomed, left),
                Err(Errno::ENOENT) => continue,
                Err(_) => {}
            }
            UnlinkatFlags::RemoveDir
        } else {
            UnlinkatFlags::NoRemoveDir
        };
        match unlinkat(dir.as_fd(), name.as_c_str(), flag) {
            Ok(()) | Err(Errno::ENOENT) => {}
            // A directory that keeps what was not doomed is named by it.
            Err(Errno::ENOTEMPTY) => {}
            Err(_) => left.push(found.path),
        }
    }
}

/// Removes the directory `path` and everything under it on its own file
/// system, never following a link. A mount point inside, and so the
/// directory, are left; `Err` lists what was left. A `path` that is gone
/// is no error.
pub fn remove_all(path: &Path) -> Result<(), Vec<String>> {
    let fd = match open_dir(path) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(vec![format!("{}: {e}", path.display())]),
    };
    let dev = stat(&fd).map_err(|e| vec![e.to_string()])?.st_dev;
    let left = remove(fd, dev, &|_| true).map_err(|e| vec![e.to_string()])?;
    if !left.is_empty() {
        return Err(left);
    }
    match std::fs::remove_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(vec![format!("{}: {e}", path.display())]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_never_follows_a_link() {
        let root = tempfile::tempdir().unwrap();
        let (dir, outside) = (root.path().join("dir"), root.path().join("outside"));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep"), b"mine").unwrap();
        std::fs::write(dir.join("sub/a"), b"a").unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
        remove_all(&dir).unwrap();
        assert!(!dir.exists());
        assert_eq!(std::fs::read(outside.join("keep")).unwrap(), b"mine");
    }

    #[test]
    fn only_doomed_entries_go() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        std::fs::create_dir(dir.join("d")).unwrap();
        std::fs::write(dir.join("d/x"), b"x").unwrap();
        std::fs::write(dir.join("d/keep"), b"k").unwrap();
        std::fs::write(dir.join("y"), b"y").unwrap();
        let fd = open_dir(dir).unwrap();
        let dev = stat(&fd).unwrap().st_dev;
        let listed = list(open_dir(dir).unwrap(), dev).unwrap();
        let paths: Vec<&str> = listed.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"d/x") && paths.contains(&"y"), "{paths:?}");
        let left = remove(fd, dev, &|f| f.path != "d/keep").unwrap();
        assert_eq!(left, ["d/keep"]);
        assert!(dir.join("d/keep").exists() && !dir.join("y").exists());
    }
}
