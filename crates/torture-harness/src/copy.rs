//! Copying a directory tree: the one copy the harness makes, for the
//! explorer's snapshots, restores and kept directories and for the copies
//! of the run directory in a failing run's artifacts.
//!
//! The source is a directory a program under test wrote, so the copy
//! trusts nothing in it: it never follows a symbolic link, never opens a
//! FIFO, socket or device, and reads every name relative to its open
//! directory (as the removal of what torture made does), so a link swapped
//! in mid-copy cannot lead it out of the tree. Every file it writes goes
//! through the disciplines' own atomic write.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::{self, File, Permissions};
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crashsafe::atomic::{Durability, write_atomic_with};
use crashsafe::{Error, IoContext, Result, Step};
use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat};

/// Opens a directory under the source, never a symbolic link in its place.
const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

/// Opens a regular file of the source, never through a symbolic link, and
/// without blocking if a FIFO took its name since it was looked at
/// (`O_NONBLOCK` changes nothing for a regular file).
const FILE_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_NONBLOCK)
    .union(OFlag::O_CLOEXEC);

/// Copies what is under the directory `src` into `dst` (made if missing,
/// with its parents), entry by entry:
///
/// - a directory is copied recursively, then given its source's mode (last,
///   so that a read-only directory can still be filled);
/// - a regular file is copied with its permission bits (setuid, setgid and
///   sticky included), through the atomic write with `durability`; names
///   of one inode stay names of one inode (hard links);
/// - a symbolic link is copied as a link with the same target, which is
///   never read nor followed and may not exist (a dangling link stays
///   dangling);
/// - a FIFO, a socket or a device is left out: never opened (a FIFO would
///   block the copy, reading a device can have effects) nor recreated.
///
/// No symbolic link under `src` is followed: each name is looked at with
/// `fstatat(AT_SYMLINK_NOFOLLOW)` and opened with `O_NOFOLLOW`, relative to
/// its open directory, so a link swapped in mid-copy fails the copy instead
/// of leading it elsewhere. `src` itself is opened as given. A name removed
/// between its listing and its copy (a live run's temporary file) is left
/// out; any other failure stops the copy with an error naming the step and
/// the path. With [`Durability::Full`] each copied directory is fsynced
/// too, so the whole copy is durable when this returns. Owners and times
/// are not kept.
///
/// `dst` is meant to be new or empty, and the caller's own: a file already
/// there is replaced, a link there fails the copy.
pub fn copy_tree(src: &Path, dst: &Path, durability: Durability) -> Result<()> {
    let flags = DIR_FLAGS.difference(OFlag::O_NOFOLLOW);
    let top = Dir::open(src, flags, Mode::empty())
        .map_err(io::Error::from)
        .at(Step::ListDir, src)?;
    let mut copier = Copier {
        durability,
        copies: HashMap::new(),
    };
    copier.dir(top, src, dst)
}

/// One copy under way.
struct Copier {
    durability: Durability,
    /// The first copy of each source inode with several names: (device,
    /// inode) to the path of its copy.
    copies: HashMap<(u64, u64), PathBuf>,
}

impl Copier {
    fn dir(&mut self, mut dir: Dir, from: &Path, to: &Path) -> Result<()> {
        fs::create_dir_all(to).map_err(failed("mkdir of", to))?;
        let mode = fstat(dir.as_fd())
            .map_err(io::Error::from)
            .at(Step::ListDir, from)?
            .st_mode;
        for name in names(&mut dir).at(Step::ListDir, from)? {
            let os = OsStr::from_bytes(name.to_bytes());
            self.entry(&dir, &name, &from.join(os), &to.join(os))?;
        }
        fs::set_permissions(to, Permissions::from_mode(mode & 0o7777))
            .map_err(failed("chmod of", to))?;
        if self.durability == Durability::Full {
            crate::platform::fsync_dir(to).map_err(failed("fsync of", to))?;
        }
        Ok(())
    }

    fn entry(&mut self, dir: &Dir, name: &CStr, from: &Path, to: &Path) -> Result<()> {
        let found = fstatat(dir.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW);
        let Some(st) = unless_gone(found).map_err(failed("stat of", from))? else {
            return Ok(());
        };
        match kind(&st) {
            SFlag::S_IFDIR => {
                let sub = Dir::openat(dir.as_fd(), name, DIR_FLAGS, Mode::empty());
                match unless_gone(sub).at(Step::ListDir, from)? {
                    Some(sub) => self.dir(sub, from, to),
                    None => Ok(()),
                }
            }
            SFlag::S_IFLNK => {
                let target = unless_gone(readlinkat(dir.as_fd(), name));
                match target.map_err(failed("readlink of", from))? {
                    Some(target) => {
                        std::os::unix::fs::symlink(target, to).map_err(failed("symlink at", to))
                    }
                    None => Ok(()),
                }
            }
            SFlag::S_IFREG => self.file(dir, name, from, to),
            // A FIFO, a socket or a device: left out, see `copy_tree`.
            _ => Ok(()),
        }
    }

    fn file(&mut self, dir: &Dir, name: &CStr, from: &Path, to: &Path) -> Result<()> {
        let opened = openat(dir.as_fd(), name, FILE_FLAGS, Mode::empty());
        let Some(fd) = unless_gone(opened).map_err(failed("open of", from))? else {
            return Ok(());
        };
        let st = fstat(&fd)
            .map_err(io::Error::from)
            .map_err(failed("stat of", from))?;
        if kind(&st) != SFlag::S_IFREG {
            // It was replaced by a special file since it was looked at.
            return Ok(());
        }
        let inode = (st.st_dev, st.st_ino);
        if let Some(first) = self.copies.get(&inode) {
            return fs::hard_link(first, to).map_err(failed("hard link at", to));
        }
        let mut bytes = Vec::new();
        File::from(fd)
            .read_to_end(&mut bytes)
            .map_err(failed("read of", from))?;
        write_atomic_with(to, &bytes, st.st_mode & 0o7777, self.durability)?;
        if st.st_nlink > 1 {
            self.copies.insert(inode, to.to_path_buf());
        }
        Ok(())
    }
}

/// The names in `dir`, but `.` and `..`.
fn names(dir: &mut Dir) -> io::Result<Vec<CString>> {
    let mut out = Vec::new();
    for entry in dir.iter() {
        let name = entry?.file_name().to_owned();
        if name.as_bytes() != b"." && name.as_bytes() != b".." {
            out.push(name);
        }
    }
    Ok(out)
}

/// The file type bits of `st`.
fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
}

/// `r`, or `None` if the name is gone (removed since it was listed).
fn unless_gone<T>(r: nix::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Maps an I/O error of `what` (`"mkdir of"`) on `path` to the library's
/// error, read as "mkdir of PATH failed: ...".
fn failed<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::External {
        what,
        path: path.to_path_buf(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, symlink};
    use std::sync::mpsc;
    use std::time::Duration;

    /// Copies `src` to `dst`, failing the test if that blocks (on a FIFO it
    /// should never have opened) instead of hanging it.
    fn copy_in_time(src: &Path, dst: &Path, durability: Durability) {
        let (tx, rx) = mpsc::channel();
        let (s, d) = (src.to_path_buf(), dst.to_path_buf());
        std::thread::spawn(move || tx.send(copy_tree(&s, &d, durability)));
        rx.recv_timeout(Duration::from_secs(20))
            .expect("the copy blocked: it opened a FIFO")
            .unwrap();
    }

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    fn mkfifo(path: &Path) {
        nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o600)).unwrap();
    }

    #[test]
    fn regular_files_and_nested_directories_keep_content_and_modes() {
        for durability in [Durability::None, Durability::Full] {
            let root = tempfile::tempdir().unwrap();
            let (src, dst) = (root.path().join("src"), root.path().join("dst"));
            fs::create_dir_all(src.join("sub/deeper")).unwrap();
            fs::create_dir(src.join("ro")).unwrap();
            fs::write(src.join("a"), b"one").unwrap();
            fs::write(src.join("sub/deeper/b"), b"two").unwrap();
            fs::write(src.join("ro/c"), b"three").unwrap();
            chmod(&src.join("a"), 0o640);
            chmod(&src.join("sub/deeper/b"), 0o4755);
            chmod(&src.join("sub"), 0o750);
            chmod(&src.join("ro"), 0o555);
            copy_in_time(&src, &dst, durability);
            assert_eq!(fs::read(dst.join("a")).unwrap(), b"one");
            assert_eq!(fs::read(dst.join("sub/deeper/b")).unwrap(), b"two");
            assert_eq!(fs::read(dst.join("ro/c")).unwrap(), b"three");
            assert_eq!(mode(&dst.join("a")), 0o640);
            assert_eq!(mode(&dst.join("sub/deeper/b")), 0o4755);
            assert_eq!(mode(&dst.join("sub")), 0o750);
            assert_eq!(mode(&dst.join("ro")), 0o555);
            assert_eq!(mode(&dst), mode(&src));
            chmod(&src.join("ro"), 0o755);
            chmod(&dst.join("ro"), 0o755);
        }
    }

    #[test]
    fn a_symlink_stays_a_symlink_and_its_target_is_never_read() {
        let root = tempfile::tempdir().unwrap();
        let (src, dst) = (root.path().join("src"), root.path().join("dst"));
        let outside = root.path().join("outside");
        fs::create_dir_all(&src).unwrap();
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("secret"), b"not to be copied").unwrap();
        // Following either link would open the FIFO (the copy blocks) or
        // copy the outside directory.
        mkfifo(&outside.join("pipe"));
        symlink(outside.join("pipe"), src.join("to-pipe")).unwrap();
        symlink(&outside, src.join("to-dir")).unwrap();
        copy_in_time(&src, &dst, Durability::None);
        for (name, target) in [("to-pipe", outside.join("pipe")), ("to-dir", outside)] {
            let link = dst.join(name);
            assert!(fs::symlink_metadata(&link).unwrap().is_symlink(), "{name}");
            assert_eq!(fs::read_link(&link).unwrap(), target);
        }
    }

    #[test]
    fn a_dangling_symlink_is_copied_as_it_is() {
        let root = tempfile::tempdir().unwrap();
        let (src, dst) = (root.path().join("src"), root.path().join("dst"));
        fs::create_dir(&src).unwrap();
        symlink("nowhere", src.join("dangling")).unwrap();
        copy_in_time(&src, &dst, Durability::None);
        let link = dst.join("dangling");
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("nowhere"));
        assert!(!link.exists());
    }

    #[test]
    fn special_files_are_left_out_unopened() {
        let root = tempfile::tempdir().unwrap();
        let (src, dst) = (root.path().join("src"), root.path().join("dst"));
        fs::create_dir(&src).unwrap();
        mkfifo(&src.join("fifo"));
        let socket = std::os::unix::net::UnixListener::bind(src.join("socket")).unwrap();
        fs::write(src.join("kept"), b"x").unwrap();
        copy_in_time(&src, &dst, Durability::None);
        let names: Vec<_> = fs::read_dir(&dst)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["kept"]);
        drop(socket);
    }

    #[test]
    fn hard_links_stay_one_inode() {
        let root = tempfile::tempdir().unwrap();
        let (src, dst) = (root.path().join("src"), root.path().join("dst"));
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("a"), b"one").unwrap();
        fs::hard_link(src.join("a"), src.join("sub/b")).unwrap();
        copy_in_time(&src, &dst, Durability::None);
        let (a, b) = (
            fs::metadata(dst.join("a")).unwrap(),
            fs::metadata(dst.join("sub/b")).unwrap(),
        );
        assert_eq!(a.ino(), b.ino());
        assert_eq!(a.nlink(), 2);
        assert_eq!(fs::read(dst.join("sub/b")).unwrap(), b"one");
    }
}
