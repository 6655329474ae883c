//! Unix implementation of the platform seam.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

pub use crashsafe::sys::{
    effective_uid, forbidden_link_owner, fsync_dir, is_shared_dir, parent_dir,
};

/// Takes (or with `wait == false`, tries to take) a POSIX `fcntl` write lock
/// on the whole file. Returns `Ok(false)` when the lock is busy and
/// `wait` is false.
///
/// These locks belong to the process, not to the descriptor: closing *any*
/// descriptor of the file releases them. The `fcntl-close` strategy exists to
/// show exactly that trap.
pub fn fcntl_lock(file: &File, wait: bool) -> io::Result<bool> {
    // SAFETY: a zeroed flock is a valid value for every field.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    let cmd = if wait { libc::F_SETLKW } else { libc::F_SETLK };
    loop {
        // SAFETY: fd is open for the life of `file`; `fl` is a valid flock.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), cmd, &fl) };
        if rc == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) | Some(libc::EACCES) if !wait => return Ok(false),
            _ => return Err(err),
        }
    }
}

/// What [`die_with_parent`] exits with when the parent is already gone
/// (`crate::exit::ORPHANED`, internal: nobody is left to see it).
pub const ORPHANED: i32 = 111;

/// Asks the kernel to SIGKILL the calling process when its parent dies, then
/// checks that the parent is still `expected_parent`: if the parent died
/// before the request took effect, the signal would never come, so exit
/// now, with [`ORPHANED`].
///
/// Meant to run in a freshly forked child (it is async-signal-safe).
pub fn die_with_parent(expected_parent: i32) -> io::Result<()> {
    // Both nix calls are single syscalls, and an Errno becomes an io::Error
    // without allocating: fine between fork and exec.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    if nix::unistd::getppid().as_raw() != expected_parent {
        // nix has no `_exit`, and std's `exit` runs atexit handlers, which
        // is not async-signal-safe.
        // SAFETY: _exit is async-signal-safe and never returns.
        unsafe { libc::_exit(ORPHANED) };
    }
    Ok(())
}

/// A path that executes this very program, even if its file was replaced
/// or deleted since it started (an upgrade during a run): `/proc/self/exe`
/// where there is a `/proc`, else the path the program was started from.
pub fn self_exe() -> io::Result<std::path::PathBuf> {
    let proc_exe = Path::new("/proc/self/exe");
    if proc_exe.exists() {
        return Ok(proc_exe.to_path_buf());
    }
    std::env::current_exe()
}

/// Whether the shell would run a file with this metadata as a command: a
/// regular file with an execute bit.
pub fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

/// What `statvfs` says of the file system holding a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsState {
    /// Bytes an unprivileged writer may still use.
    pub available: u64,
    /// Read-only: mounted so, or turned so by the file system itself (ext4
    /// with `errors=remount-ro` after its journal aborted).
    pub read_only: bool,
}

/// The free space and the read-only flag of the file system holding `path`.
pub fn fs_state(path: &Path) -> io::Result<FsState> {
    use nix::sys::statvfs::{FsFlags, statvfs};
    let st = statvfs(path).map_err(io::Error::from)?;
    Ok(FsState {
        available: (st.blocks_available() as u64).saturating_mul(st.fragment_size() as u64),
        read_only: st.flags().contains(FsFlags::ST_RDONLY),
    })
}

/// The pid of this process.
pub fn current_pid() -> i32 {
    std::process::id() as i32
}

/// Whether this process may create entries in the directory `dir`
/// (write and search permission, for its effective user; a read-only file
/// system says no).
pub fn can_create_in(dir: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: NUL-terminated path; faccessat reads nothing else.
    let rc = unsafe {
        libc::faccessat(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::W_OK | libc::X_OK,
            libc::AT_EACCESS,
        )
    };
    check(rc)
}

/// The device and inode of this process's stdout when it is a pipe, a
/// socket or a regular file (`None` for a terminal, a device, or none).
pub fn stdout_pipe_or_file() -> Option<(u64, u64)> {
    // SAFETY: a zeroed stat is valid; fstat writes it whole on success.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat of descriptor 1 with a valid out pointer.
    if unsafe { libc::fstat(libc::STDOUT_FILENO, &mut st) } != 0 {
        return None;
    }
    let kind = st.st_mode & libc::S_IFMT;
    let pipe_or_file = matches!(kind, libc::S_IFIFO | libc::S_IFSOCK | libc::S_IFREG);
    pipe_or_file.then_some((st.st_dev, st.st_ino))
}

/// Keeps this process's stdout on a new descriptor (close-on-exec), which
/// it returns, and makes descriptor 1 a copy of stderr.
pub fn move_stdout_to_stderr() -> io::Result<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on descriptor 1; no pointers.
    let saved = unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_DUPFD_CLOEXEC, 3) };
    check(saved)?;
    // SAFETY: fcntl returned a fresh descriptor that nothing else owns.
    let saved = unsafe { File::from_raw_fd(saved) };
    // SAFETY: dup2 of two open descriptors; no pointers.
    check(unsafe { libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) })?;
    Ok(saved)
}

/// A target for a signal: one process, or the whole process group it leads.
///
/// Which one is meant is a type, not the sign of a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalTarget {
    /// Just this process.
    Process(i32),
    /// The process group whose id is this (the leader's pid).
    Group(i32),
}

impl SignalTarget {
    /// Sends `signal`; a target that is already gone is not an error.
    pub fn send(self, signal: Signal) -> io::Result<()> {
        let res = match self {
            SignalTarget::Process(pid) => kill(Pid::from_raw(pid), signal),
            SignalTarget::Group(pgid) => killpg(Pid::from_raw(pgid), signal),
        };
        match res {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(e) => Err(io::Error::from(e)),
        }
    }
}

extern "C" fn on_sigpipe(_: libc::c_int) {
    let mut fds = [1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll and the two calls below are async-signal-safe; `fds` is
    // a valid array of two entries.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, 0) };
    // The write end of a pipe nobody reads any more reports POLLERR.
    if ready > 0 && fds.iter().any(|p| p.revents & libc::POLLERR != 0) {
        // SAFETY: see above.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::raise(libc::SIGPIPE);
        }
    }
}

/// Makes a closed standard output or error end the process quietly, killed
/// by SIGPIPE as `ls` is, instead of a panic of `println!` (exit 101):
/// `torture list | head -1` is not an error. Any other pipe (a child's,
/// the watchdog's) keeps Rust's default: its write fails with `EPIPE` and
/// the caller decides. The handler is reset in children by `exec`.
pub fn die_on_closed_output() -> io::Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(on_sigpipe),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only makes async-signal-safe calls.
    unsafe { sigaction(Signal::SIGPIPE, &action) }
        .map(drop)
        .map_err(io::Error::from)
}

static STOP_REQUESTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn raise_stop_flag(_: libc::c_int) {
    STOP_REQUESTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Makes each of `signals` set the process-wide stop flag instead of killing
/// the process. Interrupted system calls are restarted (`SA_RESTART`), so a
/// blocking `flock` keeps waiting and the operation in flight completes.
pub fn stop_on(signals: &[Signal]) -> io::Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(raise_stop_flag),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for &sig in signals {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { sigaction(sig, &action) }.map_err(io::Error::from)?;
    }
    Ok(())
}

/// Whether one of the signals given to [`stop_on`] arrived.
pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Blocks (or unblocks) `signal` for the calling thread; a blocked signal
/// stays pending, and the mask is inherited across `exec`.
pub fn block_signal(signal: Signal, block: bool) -> io::Result<()> {
    use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};
    let mut set = SigSet::empty();
    set.add(signal);
    let how = if block {
        SigmaskHow::SIG_BLOCK
    } else {
        SigmaskHow::SIG_UNBLOCK
    };
    pthread_sigmask(how, Some(&set), None).map_err(io::Error::from)
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
