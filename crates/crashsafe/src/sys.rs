//! The operating-system calls the disciplines make, and nothing else.
//!
//! Public: the few checks the atomic write needs (directory fsync, who this
//! process is, whether a directory is shared, the `protected_symlinks`
//! rule), which the `torture` harness uses too. Internal: the directory
//! handle through which the disciplines work by name inside a directory
//! opened once (`openat`, `renameat`, `fstatat`, ...). Unix only: a Windows
//! twin would implement the same functions.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Opens a directory and fsyncs it, making a rename or link in it durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The effective user id of this process: who creates and follows files.
pub fn effective_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Whether a directory is shared: sticky and world-writable, as `/tmp` is.
/// Anyone can create names there, but only their owner can remove them.
pub fn is_shared_dir(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_dir() && meta.permissions().mode() & 0o1002 == 0o1002
}

/// The directory a path's last component sits in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The owner of the symlink `link` (its `lstat` is `meta`) when the
/// kernel's `protected_symlinks` rule forbids following it: the link sits
/// in a shared directory and belongs to neither that directory's owner nor
/// this process's effective user. `None` when following it is allowed.
///
/// The rule is applied whatever `fs.protected_symlinks` says: a program
/// that reads a link and then works on its target (as the atomic write
/// does) bypasses the kernel's own check.
pub fn forbidden_link_owner(link: &Path, meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let owner = meta.uid();
    if owner == effective_uid() {
        return None;
    }
    let dir = std::fs::metadata(parent_dir(link)).ok()?;
    (is_shared_dir(&dir) && dir.uid() != owner).then_some(owner)
}

/// A directory opened to work inside it by name (`openat`, `renameat`,
/// ...): one path walk for the directory, then one component per call,
/// instead of a full walk of the path at every step.
#[derive(Debug)]
pub(crate) struct Dir(File);

/// What a name in a [`Dir`] is, without following a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Nothing by that name (or it cannot be looked at).
    Missing,
    /// A symbolic link.
    Symlink,
    /// Anything else, with its mode bits.
    Other {
        /// Whether it is a regular file.
        regular: bool,
        /// Its permission bits.
        mode: u32,
    },
}

impl Dir {
    /// Opens the directory `path`.
    pub fn open(path: &Path) -> io::Result<Dir> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(path)
            .map(Dir)
    }

    /// What `name` is in this directory (`fstatat` without following links).
    pub fn entry(&self, c: &std::ffi::CStr) -> Entry {
        // SAFETY: a zeroed stat is valid; fstatat writes it whole on success.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid descriptor, NUL-terminated name, valid out pointer.
        let rc = unsafe {
            libc::fstatat(
                self.0.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if rc != 0 {
            return Entry::Missing;
        }
        match st.st_mode & libc::S_IFMT {
            libc::S_IFLNK => Entry::Symlink,
            kind => Entry::Other {
                regular: kind == libc::S_IFREG,
                mode: st.st_mode & 0o7777,
            },
        }
    }

    /// Creates `name` exclusively (`O_EXCL`) for writing, with `mode`
    /// (the umask applies).
    pub fn create_new(&self, c: &std::ffi::CStr, mode: u32) -> io::Result<File> {
        use std::os::fd::FromRawFd;
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
        // SAFETY: valid descriptor and NUL-terminated name.
        let fd =
            unsafe { libc::openat(self.0.as_raw_fd(), c.as_ptr(), flags, mode as libc::c_uint) };
        check(fd)?;
        // SAFETY: openat returned a fresh descriptor that nothing else owns.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Renames `from` over `to`, both in this directory.
    pub fn rename(&self, a: &std::ffi::CStr, b: &std::ffi::CStr) -> io::Result<()> {
        let fd = self.0.as_raw_fd();
        // SAFETY: valid descriptor and NUL-terminated names.
        check(unsafe { libc::renameat(fd, a.as_ptr(), fd, b.as_ptr()) })
    }

    /// Removes the file `name`.
    pub fn remove(&self, c: &std::ffi::CStr) -> io::Result<()> {
        // SAFETY: valid descriptor and NUL-terminated name.
        check(unsafe { libc::unlinkat(self.0.as_raw_fd(), c.as_ptr(), 0) })
    }

    /// The names in this directory (without `.` and `..`), read through
    /// this descriptor: a directory renamed or replaced at its path since it
    /// was opened is not listed instead.
    pub fn names(&self) -> io::Result<Vec<std::ffi::CString>> {
        // fdopendir takes the descriptor it is given: give it a duplicate
        // and keep ours. The duplicate shares our position, so rewind.
        // SAFETY: valid descriptor; F_DUPFD_CLOEXEC returns a new one or -1.
        let fd = unsafe { libc::fcntl(self.0.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
        check(fd)?;
        // SAFETY: `fd` is an open directory descriptor that nothing else owns.
        let stream = unsafe { libc::fdopendir(fd) };
        if stream.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: fdopendir failed, so `fd` is still ours to close.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        // SAFETY: `stream` is open.
        unsafe { libc::rewinddir(stream) };
        let mut names = Vec::new();
        let result = loop {
            // readdir signals its errors only through errno.
            nix::errno::Errno::clear();
            // SAFETY: `stream` is open until closedir below.
            let entry = unsafe { libc::readdir(stream) };
            if entry.is_null() {
                let e = io::Error::last_os_error();
                break if e.raw_os_error() == Some(0) {
                    Ok(())
                } else {
                    Err(e)
                };
            }
            // SAFETY: readdir returned a valid entry whose d_name is NUL-terminated.
            let name = unsafe { std::ffi::CStr::from_ptr((*entry).d_name.as_ptr()) };
            if name.to_bytes() != b"." && name.to_bytes() != b".." {
                names.push(name.to_owned());
            }
        };
        // SAFETY: closes the stream and the duplicate descriptor it owns.
        unsafe { libc::closedir(stream) };
        result.map(|()| names)
    }

    /// fsyncs the directory: the renames and links in it become durable.
    pub fn sync(&self) -> io::Result<()> {
        self.0.sync_all()
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
