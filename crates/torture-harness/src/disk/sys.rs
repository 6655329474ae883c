//! The Linux calls around a recording disk: unmounting with a grace for a
//! busy file system, the loop devices still holding a file, aborting a
//! FUSE connection, `syncfs`.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::mount::{MntFlags, umount2};

/// How an unmount ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmounted {
    /// Unmounted: the file system is gone.
    Clean,
    /// Busy past the grace, detached: the path is free, the file system
    /// goes when its last user does.
    Detached,
    /// Nothing was mounted there.
    NotMounted,
}

/// Unmounts `path`; while it is busy, tries again for `grace`, then
/// detaches it (`MNT_DETACH`).
pub fn unmount(path: &Path, grace: Duration) -> io::Result<Unmounted> {
    let deadline = Instant::now() + grace;
    loop {
        match umount2(path, MntFlags::empty()) {
            Ok(()) => return Ok(Unmounted::Clean),
            Err(Errno::EINVAL | Errno::ENOENT) => return Ok(Unmounted::NotMounted),
            Err(Errno::EINTR) => {}
            Err(Errno::EBUSY) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(Errno::EBUSY) => {
                umount2(path, MntFlags::MNT_DETACH)?;
                return Ok(Unmounted::Detached);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The loop devices (`loopN`) whose backing file is `file` or lies under
/// it (a directory), as `/sys/block/loop*/loop/backing_file` names them.
pub fn loops_backed_by(file: &Path) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let backing = std::fs::read_to_string(e.path().join("loop/backing_file")).ok()?;
            let backing = PathBuf::from(backing.trim_end_matches('\n'));
            (name.starts_with("loop") && backing.starts_with(file)).then_some(name)
        })
        .collect()
}

/// Polls `done` every 10 ms until it holds or `within` has passed;
/// whether it held.
pub fn wait_for(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The FUSE connection of the file system mounted at `path`: its
/// directory name in `/sys/fs/fuse/connections`, the minor of its device.
pub fn fuse_connection(path: &Path) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(path)?.dev();
    Ok(u64::from(libc::minor(dev)))
}

/// The last resort for a FUSE mount at `path` that will not unmount (a
/// loop device still holds its file): abort the connection, so that every
/// request pending or to come fails at once (`ENOTCONN`) and nothing waits
/// on a server that will not answer, then detach the mount. A forced
/// unmount aborts a FUSE connection (its `umount_begin`) whether or not
/// the unmount itself succeeds; `conn`'s `abort` file in
/// `/sys/fs/fuse/connections` does the same where `fusectl` is mounted
/// (often not: the forced unmount is what counts).
pub fn abort_fuse(path: &Path, conn: Option<u64>) {
    let _ = umount2(path, MntFlags::MNT_FORCE);
    if let Some(conn) = conn {
        let _ = std::fs::write(format!("/sys/fs/fuse/connections/{conn}/abort"), "1");
    }
    let _ = umount2(path, MntFlags::MNT_DETACH);
}

/// `syncfs(2)` on the file system holding `path`.
pub fn syncfs(path: &Path) -> io::Result<()> {
    let dir = std::fs::File::open(path)?;
    nix::unistd::syncfs(&dir)?;
    Ok(())
}
