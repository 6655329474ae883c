//! [`RecordingDisk`]: a file system on a disk whose every write and flush
//! is logged, and the crash images of that log, mounted.
//!
//! Layout, in a fresh `torture-power-*` directory ([`Kind::Power`],
//! registered with the watchdog): `base.img` (the disk as mkfs left it,
//! never written again), `log.data` (the payloads), `fuse/` (the server's
//! directory: `disk`, `position`, `crash-<id>`), `mnt/` (the file system
//! under test, mount(8) `-o loop` over `fuse/disk`) and `view-<id>/` (a
//! crash image mounted).
//!
//! **Cleanup on every way out.** Every mount point is registered with the
//! watchdog before it is mounted and forgotten once unmounted; mkfs and
//! mount(8) run in process groups of their own, registered while they run
//! ([`crate::process::run_guarded`]). Dropping the disk unmounts the views
//! (they borrow it, so they are gone first), then the live file system
//! (busy for 2 s: detached), waits until no loop device holds a file of
//! the server (mount(8) sets autoclear: the device goes with the last
//! close), unmounts the server (or, if that fails, detaches it and aborts
//! the connection), and removes the directory. If `torture` is SIGKILLed,
//! the server's threads die with it and the kernel aborts the connection
//! (see [`super::fuse`]: even while another thread waits for the disk);
//! the watchdog then detaches every mount in the directory, the loop
//! devices go when their file systems let go, and it removes the
//! directory.
//!
//! **What the log is.** The server logs each request as it arrives, one
//! entry at a time (two server threads serve requests, but appending takes
//! the log's write lock, before the reply): the log is the *arrival* order
//! at a device with a volatile cache. A write is
//! logged before the file system above sees it complete, and a file system
//! issues a flush only once the writes it must cover have completed, so
//! those writes are always before the flush in the log. dm-log-writes logs
//! in *completion* order instead, where a flush covers only what completed
//! before it was issued; the two differ only for a write still in flight
//! when the flush was issued, which a file system cannot count on either
//! way: here it counts as covered if it arrived first (optimistic for
//! it), there only if it completed first. The loop device has no
//! FUA (`queue/fua` is 0 over a file): the block layer turns a FUA write
//! into a write and a flush, and a preflush into a flush before the write,
//! so the log sees both. A request may span many blocks (the loop driver
//! passes whole requests, up to `max_sectors_kb`): the log keeps it one
//! entry.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use super::fuse::{DISK_NAME, POSITION_NAME, Server, ServerFiles, Shared, VIEW_PREFIX};
use super::log::{BLOCK, EntryKind, LogStats, ViewSpec};
use super::spec::{FsKind, FsSpec, find_program};
use super::sys;
use crate::owned::{DirWatch, Kind, ScratchDir};
use crate::process::Watchdog;

/// How long a busy file system gets before it is detached.
const BUSY_GRACE: Duration = Duration::from_secs(2);
/// How long a loop device gets to let go of its file after the unmount.
const RELEASE_WITHIN: Duration = Duration::from_secs(5);
/// How long the FUSE session gets to end once unmounted.
const STOP_WITHIN: Duration = Duration::from_secs(5);

/// Why a crash image is not mounted.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// mount(8) refused the image: the crash state does not mount (a
    /// finding for the caller, not a harness failure).
    #[error("the crash image does not mount: {0}")]
    MountFailed(String),
    /// Anything else: the harness failed.
    #[error("{0}")]
    Harness(String),
}

/// A file system on a recording disk. See the module's doc.
pub struct RecordingDisk {
    spec: FsSpec,
    shared: Arc<Shared>,
    server: Option<Server>,
    /// The server's FUSE connection, to abort it as a last resort.
    fuse_conn: Option<u64>,
    /// The server's directory, as registered with the watchdog.
    fuse_dir: PathBuf,
    /// The same, resolved, as loop devices name their files.
    fuse_real: PathBuf,
    live: PathBuf,
    live_mounted: bool,
    end: Option<u64>,
    mkfs_line: String,
    mount_options: String,
    watchdog: Arc<Watchdog>,
    /// Last: removed after everything in it is unmounted.
    dir: ScratchDir,
}

impl std::fmt::Debug for RecordingDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingDisk")
            .field("spec", &self.spec)
            .field("dir", &self.dir)
            .field("position", &self.position())
            .finish_non_exhaustive()
    }
}

impl RecordingDisk {
    /// mkfs + FUSE mount + loop mount, everything under a fresh
    /// `torture-power-*` directory made in `scratch_parent` and registered
    /// with the watchdog. `image_bytes` is rounded down to whole 4 KiB
    /// blocks; the image is sparse (XFS wants at least 300 MB: give it
    /// 1 GiB).
    pub fn create(
        spec: &FsSpec,
        scratch_parent: &Path,
        image_bytes: u64,
        watchdog: &Arc<Watchdog>,
    ) -> Result<RecordingDisk, String> {
        let (program, args) = spec.recording_mkfs().ok_or_else(|| {
            format!(
                "{}: no disk to record (not a file system torture makes)",
                spec.name
            )
        })?;
        let size = image_bytes / BLOCK * BLOCK;
        if size == 0 {
            return Err(format!(
                "a recording disk of {image_bytes} bytes is too small"
            ));
        }
        let dir = ScratchDir::create(
            Kind::Power,
            scratch_parent,
            Some(watchdog.clone() as Arc<dyn DirWatch>),
        )?;
        let real = std::fs::canonicalize(dir.path())
            .map_err(|e| format!("cannot resolve {}: {e}", dir.path().display()))?;
        let mut disk = RecordingDisk {
            spec: spec.clone(),
            shared: Shared::new(size),
            server: None,
            fuse_conn: None,
            fuse_dir: dir.path().join("fuse"),
            fuse_real: real.join("fuse"),
            live: dir.path().join("mnt"),
            live_mounted: false,
            end: None,
            mkfs_line: std::iter::once(program)
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join(" "),
            mount_options: with_loop(&spec.power_loss_mount_options()),
            watchdog: Arc::clone(watchdog),
            dir,
        };
        disk.make_base(program, &args, size)?;
        disk.start_server()?;
        disk.mount_live()?;
        Ok(disk)
    }

    fn base(&self) -> PathBuf {
        self.dir.path().join("base.img")
    }

    fn make_base(&self, program: &str, args: &[&str], size: u64) -> Result<(), String> {
        let base = self.base();
        let file = std::fs::File::create(&base)
            .map_err(|e| format!("cannot create {}: {e}", base.display()))?;
        file.set_len(size)
            .map_err(|e| format!("cannot size {}: {e}", base.display()))?;
        drop(file);
        let path = find_program(program).ok_or_else(|| format!("{program} not found"))?;
        let mut cmd = Command::new(path);
        cmd.args(args).arg(&base);
        let (status, stderr) = crate::process::run_guarded(cmd, &self.watchdog)
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if !status.success() {
            return Err(format!(
                "{} {} failed ({status}): {}",
                self.mkfs_line,
                base.display(),
                stderr.trim()
            ));
        }
        Ok(())
    }

    fn start_server(&mut self) -> Result<(), String> {
        std::fs::create_dir(&self.fuse_dir)
            .map_err(|e| format!("cannot create {}: {e}", self.fuse_dir.display()))?;
        // Registered before it is mounted: a SIGKILL right after the mount
        // must still find it.
        self.watchdog.watch_mount(&self.fuse_dir);
        let files = ServerFiles {
            base: self.base(),
            data: self.dir.path().join("log.data"),
        };
        self.server = Some(Server::start(
            files,
            Arc::clone(&self.shared),
            &self.fuse_dir,
        )?);
        self.fuse_conn = sys::fuse_connection(&self.fuse_dir).ok();
        Ok(())
    }

    fn mount_live(&mut self) -> Result<(), String> {
        std::fs::create_dir(&self.live)
            .map_err(|e| format!("cannot create {}: {e}", self.live.display()))?;
        self.watchdog.watch_mount(&self.live);
        self.live_mounted = true;
        let disk = self.fuse_dir.join(DISK_NAME);
        self.mount(&disk, &self.live, &self.mount_options)
            .map_err(|e| e.to_string())
    }

    /// mount(8) `-t TYPE -o OPTIONS file at`: exit status 32 (mount
    /// failure) is the image refused; anything else the harness's.
    fn mount(&self, file: &Path, at: &Path, options: &str) -> Result<(), ViewError> {
        let program =
            find_program("mount").ok_or_else(|| ViewError::Harness("mount not found".into()))?;
        let mut cmd = Command::new(program);
        if let Some(t) = self.spec.fs_type() {
            cmd.args(["-t", t]);
        }
        cmd.args(["-o", options]).arg(file).arg(at);
        let (status, stderr) = crate::process::run_guarded(cmd, &self.watchdog)
            .map_err(|e| ViewError::Harness(format!("cannot run mount: {e}")))?;
        if status.success() {
            return Ok(());
        }
        let what = format!(
            "mount -o {options} {} {} failed ({status}): {}",
            file.display(),
            at.display(),
            stderr.trim()
        );
        match status.code() {
            Some(32) => Err(ViewError::MountFailed(what)),
            _ => Err(ViewError::Harness(what)),
        }
    }

    /// The live mount point of the file system under test.
    pub fn root(&self) -> &Path {
        &self.live
    }

    /// The current log position: entries `0..position` have happened.
    pub fn position(&self) -> u64 {
        self.shared.position()
    }

    /// The position counter, for other threads (read it with `Acquire`).
    pub fn clock(&self) -> Arc<AtomicU64> {
        self.shared.clock()
    }

    /// The position file: `pread` it for the current position in ASCII
    /// decimal and a newline (for writer processes). Only its owner, root,
    /// may open it (FUSE's default: no `allow_other`).
    pub fn position_file(&self) -> PathBuf {
        self.fuse_dir.join(POSITION_NAME)
    }

    /// `syncfs(2)` on the live file system, then the position: everything
    /// it had written before is in the log below that position.
    pub fn sync(&self) -> Result<u64, String> {
        if !self.live_mounted {
            return Err(format!(
                "syncfs of {}: unmounted already",
                self.live.display()
            ));
        }
        sys::syncfs(&self.live)
            .map_err(|e| format!("syncfs of {} failed: {e}", self.live.display()))?;
        Ok(self.position())
    }

    /// Unmounts the live file system (its last writes are logged) and
    /// waits until its loop device is gone; returns the log's end
    /// position. Idempotent.
    pub fn finish(&mut self) -> Result<u64, String> {
        if let Some(end) = self.end {
            return Ok(end);
        }
        if self.live_mounted {
            let how = sys::unmount(&self.live, BUSY_GRACE)
                .map_err(|e| format!("cannot unmount {}: {e}", self.live.display()))?;
            self.live_mounted = false;
            self.watchdog.forget_mount(&self.live);
            if how == sys::Unmounted::Detached {
                return Err(format!(
                    "{} was still busy after {BUSY_GRACE:?}: detached, its last writes are not in the log",
                    self.live.display()
                ));
            }
        }
        let disk = self.fuse_real.join(DISK_NAME);
        if !sys::wait_for(RELEASE_WITHIN, || sys::loops_backed_by(&disk).is_empty()) {
            return Err(format!(
                "the loop device over {} still holds it {RELEASE_WITHIN:?} after the unmount",
                disk.display()
            ));
        }
        let end = self.position();
        self.end = Some(end);
        Ok(end)
    }

    /// The kind of every entry of the log, indexed by sequence number.
    pub fn kinds(&self) -> Vec<EntryKind> {
        self.shared.kinds()
    }

    /// What the log holds, counted.
    pub fn stats(&self) -> LogStats {
        self.shared.stats()
    }

    /// The mkfs command line the disk was made with (without the image).
    pub fn mkfs_line(&self) -> &str {
        &self.mkfs_line
    }

    /// The live file system's mount options (`loop,data=ordered`).
    pub fn mount_options(&self) -> &str {
        &self.mount_options
    }

    /// The file system it was made with.
    pub fn spec(&self) -> &FsSpec {
        &self.spec
    }

    /// Mounts the crash image "entries before `durable_end`, plus those in
    /// `kept`" read-write, so that the file system's recovery runs, its
    /// writes going to the image's private overlay (never to the log, the
    /// base or another image), at a fresh mount point in the scratch
    /// directory. One at a time is what the file systems here allow
    /// (Btrfs images share one fsid); the live file system may still be
    /// mounted. [`ViewError::MountFailed`] when mount(8) refuses the image,
    /// [`ViewError::Harness`] for anything else.
    pub fn mount_view(&self, durable_end: u64, kept: &[u64]) -> Result<MountedView<'_>, ViewError> {
        let end = self.position();
        let past = (durable_end > end).then_some(durable_end);
        if let Some(bad) = past.or_else(|| kept.iter().copied().find(|&k| k >= end)) {
            return Err(ViewError::Harness(format!(
                "crash image past the log's end: entry {bad}, position {end}"
            )));
        }
        let id = self.shared.add_view(ViewSpec::new(durable_end, kept));
        let mut view = MountedView {
            disk: self,
            id,
            root: self.dir.path().join(format!("view-{id}")),
            mounted: false,
        };
        std::fs::create_dir(&view.root).map_err(|e| {
            ViewError::Harness(format!("cannot create {}: {e}", view.root.display()))
        })?;
        self.watchdog.watch_mount(&view.root);
        view.mounted = true;
        let file = self.fuse_dir.join(format!("{VIEW_PREFIX}{id}"));
        self.mount(&file, &view.root, &self.view_options())?;
        Ok(view)
    }

    /// The live options, plus `nouuid` for XFS: an image has the live file
    /// system's UUID, which XFS refuses twice.
    fn view_options(&self) -> String {
        match self.spec.kind {
            FsKind::Xfs => format!("{},nouuid", self.mount_options),
            _ => self.mount_options.clone(),
        }
    }
}

/// `loop` and the options, comma-separated.
fn with_loop(options: &str) -> String {
    if options.is_empty() {
        "loop".into()
    } else {
        format!("loop,{options}")
    }
}

impl Drop for RecordingDisk {
    fn drop(&mut self) {
        let mut busy = false;
        if self.live_mounted {
            let how = sys::unmount(&self.live, BUSY_GRACE);
            busy = !matches!(how, Ok(sys::Unmounted::Clean | sys::Unmounted::NotMounted));
            self.watchdog.forget_mount(&self.live);
        }
        // mount(8)'s loop devices autoclear with the last close: wait
        // until none holds a file of the server, which could not unmount
        // before. A detached file system still in use keeps its loop
        // device: no use waiting, the connection is aborted below.
        if !busy {
            let _ = sys::wait_for(RELEASE_WITHIN, || {
                sys::loops_backed_by(&self.fuse_real).is_empty()
            });
        }
        if let Some(server) = self.server.take()
            && server.stop(STOP_WITHIN).is_err()
        {
            sys::abort_fuse(&self.fuse_dir, self.fuse_conn);
        }
        self.watchdog.forget_mount(&self.fuse_dir);
        // Then `dir` drops: base.img, log.data and the mount points go.
    }
}

/// A crash image mounted; dropping it unmounts it (busy for 2 s:
/// detached) and stops serving the image.
#[derive(Debug)]
pub struct MountedView<'a> {
    disk: &'a RecordingDisk,
    id: u64,
    root: PathBuf,
    mounted: bool,
}

impl MountedView<'_> {
    /// Where the image is mounted.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for MountedView<'_> {
    fn drop(&mut self) {
        if self.mounted {
            let _ = sys::unmount(&self.root, BUSY_GRACE);
            self.disk.watchdog.forget_mount(&self.root);
        }
        let _ = std::fs::remove_dir(&self.root);
        // No request may reach an image that is no longer served: wait
        // for its loop device to let go first.
        let file = self
            .disk
            .fuse_real
            .join(format!("{VIEW_PREFIX}{}", self.id));
        let _ = sys::wait_for(RELEASE_WITHIN, || sys::loops_backed_by(&file).is_empty());
        self.disk.shared.remove_view(self.id);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_disk_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<super::RecordingDisk>();
        shared::<super::MountedView<'_>>();
    }
}
