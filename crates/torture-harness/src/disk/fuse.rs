//! The FUSE server of a recording disk: one directory of files, served by
//! two threads; the log takes one entry at a time, each before its reply.
//!
//! The root directory (inode 1) holds:
//!
//! * `disk`: the recorded disk. A write is a log entry, `fsync` (what the
//!   loop driver does for a cache flush) a flush entry, `fallocate`
//!   (punch hole, zero range or write zeroes: discard and write-zeroes) a
//!   zero entry; `flush` and `release` (a `close`) are no barrier and
//!   record nothing. Reads see every entry.
//! * `position`: read-only, the log's position in ASCII decimal and a
//!   newline, read fresh on every read (direct I/O, no page cache), so a
//!   writer process can learn it with one `pread` through the same server.
//! * `crash-<id>`: a crash image ([`CrashView`]), served while the caller
//!   holds it; writes go to its private overlay, `fsync` does nothing. Ids
//!   are never reused, and its entries are not cached, so no stale name can
//!   reach another view.
//!
//! Every file is opened with `FOPEN_DIRECT_IO`: no page cache, so each
//! loop-device write is one request here and each read reaches the log.
//! The position counter is published after the entry is in the log and
//! before the reply: a write the file system above saw complete is always
//! below the position a later reader gets.
//!
//! The kernel remembers an `ENOSYS` answer for the whole connection (an
//! unanswered `fsync` would make it skip every later one, silently), so
//! every request the loop driver and mount(8) make is answered here;
//! extended attributes are left to fuser's `ENOSYS`, which means "none"
//! for good. Handlers never panic: an error, or a panic caught, is `EIO`.
//!
//! **The server has a descriptor table of its own.** Its thread unshares
//! the table (`close_range(CLOSE_RANGE_UNSHARE)`), keeps none of the
//! process's descriptors, and opens `/dev/fuse`, the base image and the
//! log's data file there; fuser's threads, started from it, share it. If
//! `torture` is SIGKILLed while another of its threads waits
//! uninterruptibly for I/O on the recorded disk (an fsync, a syncfs, an
//! unmount), the server threads die at once, their table goes with them,
//! `/dev/fuse` closes and the kernel aborts the connection: the waiting I/O
//! fails and the process can finish dying. With one shared table,
//! `/dev/fuse` would stay open until every thread had exited, which the
//! waiting one never would. Nothing opened outside may be used inside, nor
//! the other way round: [`Shared`] holds no descriptor.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::IntoRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{
    Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, mpsc,
};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenAccMode, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry,
    ReplyOpen, ReplyStatfs, ReplyWrite, Request, WriteFlags,
};

use super::log::{BlockLog, CrashView, EntryKind, LogError, LogStats, ViewSpec};

/// The name of the recorded disk in the server's directory.
pub const DISK_NAME: &str = "disk";
/// The name of the position file.
pub const POSITION_NAME: &str = "position";
/// The prefix of a crash image's name (`crash-<id>`).
pub const VIEW_PREFIX: &str = "crash-";
/// The most a crash image's overlay holds.
pub const OVERLAY_CAP: u64 = 256 << 20;

const DISK_INO: u64 = 2;
const POSITION_INO: u64 = 3;
/// Crash image `id` is inode `VIEW_INO_BASE + id`.
const VIEW_INO_BASE: u64 = 1000;
/// The size `position` reports: more than its longest content.
const POSITION_SIZE: u64 = 32;
/// How long the kernel may cache what never changes.
const STABLE: Duration = Duration::from_secs(3600);

/// The server's threads: two, so that two crash images are read side by
/// side (each under the log's read lock). Appending to the log takes its
/// write lock: entries are still logged one at a time, each before its
/// reply, so a write completed before a flush was issued is logged before
/// it; two requests in flight at once have no order a disk would keep.
const SERVER_THREADS: usize = 2;

/// What the server and the rest of `torture` share: counters and crash
/// images, in memory only (no descriptor: see the module's doc).
#[derive(Debug)]
pub struct Shared {
    position: Arc<AtomicU64>,
    summary: Mutex<Summary>,
    views: Mutex<BTreeMap<u64, Arc<Mutex<CrashView>>>>,
    next_view: AtomicU64,
    size: u64,
}

#[derive(Debug, Default)]
struct Summary {
    kinds: Vec<EntryKind>,
    stats: LogStats,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Nothing recorded yet, on a disk of `size` bytes.
    pub fn new(size: u64) -> Arc<Shared> {
        Arc::new(Shared {
            position: Arc::new(AtomicU64::new(0)),
            summary: Mutex::default(),
            views: Mutex::default(),
            next_view: AtomicU64::new(1),
            size,
        })
    }

    /// The position counter (read it with `Acquire`).
    pub fn clock(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.position)
    }

    /// The current position.
    pub fn position(&self) -> u64 {
        self.position.load(Ordering::Acquire)
    }

    /// The kind of every entry so far, by sequence number.
    pub fn kinds(&self) -> Vec<EntryKind> {
        lock(&self.summary).kinds.clone()
    }

    /// What the log holds, counted.
    pub fn stats(&self) -> LogStats {
        lock(&self.summary).stats.clone()
    }

    /// Serves a new crash image of `spec` as `crash-<id>`; returns the id.
    pub fn add_view(&self, spec: ViewSpec) -> u64 {
        let id = self.next_view.fetch_add(1, Ordering::Relaxed);
        let view = CrashView::new(spec, OVERLAY_CAP);
        lock(&self.views).insert(id, Arc::new(Mutex::new(view)));
        id
    }

    /// Stops serving crash image `id` and drops its overlay.
    pub fn remove_view(&self, id: u64) {
        lock(&self.views).remove(&id);
    }

    fn view(&self, id: u64) -> Option<Arc<Mutex<CrashView>>> {
        lock(&self.views).get(&id).cloned()
    }

    /// Publishes entry `kind`, now in `log`: after the entry, before the
    /// reply.
    fn publish(&self, kind: EntryKind, log: &BlockLog) {
        let mut s = lock(&self.summary);
        s.kinds.push(kind);
        s.stats = log.stats().clone();
        self.position.store(log.position(), Ordering::Release);
    }
}

/// A file of the server's directory.
enum Node {
    Root,
    Disk,
    Position,
    View(u64, Arc<Mutex<CrashView>>),
}

/// The `fuser::Filesystem`.
struct DiskFs {
    log: RwLock<BlockLog>,
    shared: Arc<Shared>,
    born: SystemTime,
    uid: u32,
    gid: u32,
}

impl DiskFs {
    fn node(&self, ino: INodeNo) -> Option<Node> {
        match ino.0 {
            1 => Some(Node::Root),
            DISK_INO => Some(Node::Disk),
            POSITION_INO => Some(Node::Position),
            n if n > VIEW_INO_BASE => {
                let id = n - VIEW_INO_BASE;
                self.shared.view(id).map(|v| Node::View(id, v))
            }
            _ => None,
        }
    }

    fn by_name(&self, name: &OsStr) -> Option<Node> {
        let name = name.to_str()?;
        match name {
            DISK_NAME => Some(Node::Disk),
            POSITION_NAME => Some(Node::Position),
            _ => {
                let id: u64 = name.strip_prefix(VIEW_PREFIX)?.parse().ok()?;
                self.shared.view(id).map(|v| Node::View(id, v))
            }
        }
    }

    fn attr(&self, node: &Node) -> FileAttr {
        let (ino, kind, perm, size) = match node {
            Node::Root => (1, FileType::Directory, 0o755, 0),
            Node::Disk => (DISK_INO, FileType::RegularFile, 0o600, self.shared.size),
            Node::Position => (POSITION_INO, FileType::RegularFile, 0o444, POSITION_SIZE),
            Node::View(id, _) => (
                VIEW_INO_BASE + id,
                FileType::RegularFile,
                0o600,
                self.shared.size,
            ),
        };
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: self.born,
            mtime: self.born,
            ctime: self.born,
            crtime: self.born,
            kind,
            perm,
            nlink: if kind == FileType::Directory { 2 } else { 1 },
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    /// How long the kernel may cache a node's name and attributes: crash
    /// images not at all (they come and go).
    fn ttl(node: &Node) -> Duration {
        match node {
            Node::View(..) => Duration::ZERO,
            _ => STABLE,
        }
    }

    /// The log, to read: crash images are served side by side.
    fn log(&self) -> RwLockReadGuard<'_, BlockLog> {
        self.log.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The log, to append to: one entry at a time.
    fn log_mut(&self) -> RwLockWriteGuard<'_, BlockLog> {
        self.log.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_node(&self, node: &Node, off: u64, size: u32) -> Result<Vec<u8>, Errno> {
        if let Node::Position = node {
            let text = format!("{}\n", self.shared.position());
            let start = usize::try_from(off).unwrap_or(usize::MAX).min(text.len());
            let end = start.saturating_add(size as usize).min(text.len());
            return Ok(text.as_bytes()[start..end].to_vec());
        }
        let len = self.shared.size.saturating_sub(off).min(u64::from(size));
        let mut buf = vec![0; len as usize];
        let log = self.log();
        match node {
            Node::Disk => log.read(&ViewSpec::live(), off, &mut buf),
            Node::View(_, v) => lock(v).read(&log, off, &mut buf),
            _ => return Err(Errno::EISDIR),
        }
        .map_err(errno)?;
        Ok(buf)
    }

    fn write_node(&self, node: &Node, off: u64, data: &[u8]) -> Result<(), Errno> {
        match node {
            Node::Disk => {
                let mut log = self.log_mut();
                log.record_write(off, data).map_err(errno)?;
                self.shared.publish(EntryKind::Write, &log);
                Ok(())
            }
            Node::View(_, v) => lock(v).write(&self.log(), off, data).map_err(errno),
            Node::Position => Err(Errno::EBADF),
            Node::Root => Err(Errno::EISDIR),
        }
    }

    fn fsync_node(&self, node: &Node) -> Result<(), Errno> {
        if let Node::Disk = node {
            let mut log = self.log_mut();
            log.record_flush().map_err(errno)?;
            self.shared.publish(EntryKind::Flush, &log);
        }
        Ok(())
    }

    fn zero_node(&self, node: &Node, off: u64, len: u64, mode: i32) -> Result<(), Errno> {
        if !zeroes(mode) {
            return Err(Errno::EOPNOTSUPP);
        }
        match node {
            Node::Disk => {
                let mut log = self.log_mut();
                log.record_zero(off, len).map_err(errno)?;
                self.shared.publish(EntryKind::Zero, &log);
                Ok(())
            }
            Node::View(_, v) => {
                let log = self.log();
                let mut view = lock(v);
                let end = off.checked_add(len).ok_or(Errno::EINVAL)?;
                let zero = [0u8; 1 << 16];
                let mut at = off;
                while at < end {
                    let n = (end - at).min(zero.len() as u64);
                    view.write(&log, at, &zero[..n as usize]).map_err(errno)?;
                    at += n;
                }
                Ok(())
            }
            _ => Err(Errno::EBADF),
        }
    }
}

/// Whether an `fallocate` mode zeroes a range without changing the size:
/// punch hole (discard), zero range (write-zeroes, with or without
/// keep-size) and write zeroes (the kernel's newer write-zeroes mode).
fn zeroes(mode: i32) -> bool {
    const WRITE_ZEROES: i32 = 0x80; // FALLOC_FL_WRITE_ZEROES (Linux 6.17)
    let keep = libc::FALLOC_FL_KEEP_SIZE;
    [
        libc::FALLOC_FL_PUNCH_HOLE | keep,
        libc::FALLOC_FL_ZERO_RANGE,
        libc::FALLOC_FL_ZERO_RANGE | keep,
        WRITE_ZEROES,
    ]
    .contains(&mode)
}

/// The answer for an error of the log: no room is `ENOSPC`, anything else
/// `EIO`.
fn errno(e: LogError) -> Errno {
    match e {
        LogError::OutOfRange { .. } | LogError::Full | LogError::OverlayFull(_) => Errno::ENOSPC,
        LogError::Io { .. } => Errno::EIO,
    }
}

/// Runs `f`, turning a panic into `EIO`: a handler that unwound would take
/// the server thread with it and leave every later request hanging.
fn guarded<T>(f: impl FnOnce() -> Result<T, Errno>) -> Result<T, Errno> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(Err(Errno::EIO))
}

impl Filesystem for DiskFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match (parent == INodeNo::ROOT)
            .then(|| self.by_name(name))
            .flatten()
        {
            Some(node) => {
                let ttl = Self::ttl(&node);
                reply.entry(&ttl, &self.attr(&node), Generation(0));
            }
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.node(ino) {
            Some(node) => reply.attr(&Self::ttl(&node), &self.attr(&node)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<fuser::TimeOrNow>,
        _mtime: Option<fuser::TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let Some(node) = self.node(ino) else {
            return reply.error(Errno::ENOENT);
        };
        let attr = self.attr(&node);
        // The disk's size is fixed; everything else is accepted and
        // ignored (nothing here has owners or times worth keeping).
        if size.is_some_and(|s| s != attr.size) {
            return reply.error(Errno::EPERM);
        }
        reply.attr(&Self::ttl(&node), &attr);
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        match self.node(ino) {
            None => reply.error(Errno::ENOENT),
            Some(Node::Root) => reply.error(Errno::EISDIR),
            Some(Node::Position) if flags.acc_mode() != OpenAccMode::O_RDONLY => {
                reply.error(Errno::EACCES)
            }
            Some(_) => reply.opened(FileHandle(0), FopenFlags::FOPEN_DIRECT_IO),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let r = guarded(|| {
            let node = self.node(ino).ok_or(Errno::ENOENT)?;
            self.read_node(&node, offset, size)
        });
        match r {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let r = guarded(|| {
            let node = self.node(ino).ok_or(Errno::ENOENT)?;
            let len = u32::try_from(data.len()).map_err(|_| Errno::EINVAL)?;
            self.write_node(&node, offset, data).map(|()| len)
        });
        match r {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let r = guarded(|| {
            let node = self.node(ino).ok_or(Errno::ENOENT)?;
            self.fsync_node(&node)
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn fallocate(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let r = guarded(|| {
            let node = self.node(ino).ok_or(Errno::ENOENT)?;
            self.zero_node(&node, offset, length, mode)
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        if ino != INodeNo::ROOT {
            return reply.error(Errno::ENOTDIR);
        }
        let mut entries: Vec<(u64, FileType, String)> = vec![
            (1, FileType::Directory, ".".into()),
            (1, FileType::Directory, "..".into()),
            (DISK_INO, FileType::RegularFile, DISK_NAME.into()),
            (POSITION_INO, FileType::RegularFile, POSITION_NAME.into()),
        ];
        let ids: Vec<u64> = lock(&self.shared.views).keys().copied().collect();
        entries.extend(ids.into_iter().map(|id| {
            let name = format!("{VIEW_PREFIX}{id}");
            (VIEW_INO_BASE + id, FileType::RegularFile, name)
        }));
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(*ino), i as u64 + 1, *kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let blocks = self.shared.size / 4096;
        reply.statfs(blocks, 0, 0, 4, 0, 4096, 255, 4096);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        reply.ok();
    }

    fn create(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: fuser::ReplyCreate,
    ) {
        reply.error(Errno::EPERM);
    }

    fn mknod(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EPERM);
    }

    fn mkdir(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EPERM);
    }

    fn unlink(&self, _req: &Request, _parent: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::EPERM);
    }
}

/// The files the server opens in its own descriptor table.
#[derive(Debug, Clone)]
pub struct ServerFiles {
    /// The base image, opened read-only.
    pub base: PathBuf,
    /// The log's data file, created (it must not exist).
    pub data: PathBuf,
}

/// The thread that owns the FUSE session (and its descriptor table).
pub struct Server {
    stop: mpsc::Sender<()>,
    /// In a mutex only so that the disk holding the server is `Sync`.
    done: Mutex<mpsc::Receiver<Result<(), String>>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").finish_non_exhaustive()
    }
}

impl Server {
    /// Mounts the server's directory at `mountpoint`, serving a disk of
    /// `shared`'s size whose log lives in `files`; returns once it is
    /// mounted and answering.
    pub fn start(
        files: ServerFiles,
        shared: Arc<Shared>,
        mountpoint: &Path,
    ) -> Result<Server, String> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let mountpoint = mountpoint.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("disk-fuse".into())
            .spawn(move || serve(files, shared, &mountpoint, ready_tx, stop_rx, done_tx))
            .map_err(|e| format!("cannot start the FUSE server thread: {e}"))?;
        let server = Server {
            stop: stop_tx,
            done: Mutex::new(done_rx),
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(server),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the FUSE server thread died while mounting".into()),
        }
    }

    /// Unmounts the server's directory and waits, at most `within`, for
    /// the session to end. An error leaves the session to the caller's
    /// last resort (detach the mount, abort the connection).
    pub fn stop(mut self, within: Duration) -> Result<(), String> {
        let _ = self.stop.send(());
        let r = match lock(&self.done).recv_timeout(within) {
            Ok(r) => r,
            Err(_) => Err(format!("the FUSE session did not end within {within:?}")),
        };
        if r.is_ok()
            && let Some(t) = self.thread.take()
        {
            let _ = t.join();
        }
        r
    }
}

/// The server thread: its own descriptor table, the log's files, the
/// mount; then it waits for the word to unmount.
fn serve(
    files: ServerFiles,
    shared: Arc<Shared>,
    mountpoint: &Path,
    ready: mpsc::Sender<Result<(), String>>,
    stop: mpsc::Receiver<()>,
    done: mpsc::Sender<Result<(), String>>,
) {
    let session = own_descriptor_table()
        .and_then(|()| open_fs(&files, shared))
        .and_then(|fs| {
            let mut config = fuser::Config::default();
            config.mount_options = vec![
                fuser::MountOption::FSName("torture".into()),
                fuser::MountOption::NoSuid,
                fuser::MountOption::NoDev,
            ];
            config.n_threads = Some(SERVER_THREADS);
            fuser::spawn_mount(fs, mountpoint, &config)
                .map_err(|e| format!("cannot mount FUSE at {}: {e}", mountpoint.display()))
        });
    let session = match session {
        Ok(s) => {
            let _ = ready.send(Ok(()));
            s
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    // A message or a dropped sender: either way, the end.
    let _ = stop.recv();
    let r = session
        .umount_and_join()
        .map_err(|e| format!("cannot unmount FUSE at {}: {e}", mountpoint.display()));
    let _ = done.send(r);
}

fn open_fs(files: &ServerFiles, shared: Arc<Shared>) -> Result<DiskFs, String> {
    let base = File::open(&files.base)
        .map_err(|e| format!("cannot open the base image {}: {e}", files.base.display()))?;
    let data = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&files.data)
        .map_err(|e| {
            format!(
                "cannot create the log's data file {}: {e}",
                files.data.display()
            )
        })?;
    let log = BlockLog::new(base, data, shared.size);
    Ok(DiskFs {
        log: RwLock::new(log),
        shared,
        born: SystemTime::now(),
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
    })
}

/// Gives the calling thread a descriptor table of its own, with nothing
/// of the process's in it but `/dev/null` as 0, 1 and 2 (see the module's
/// doc for why).
fn own_descriptor_table() -> Result<(), String> {
    // SAFETY: CLOSE_RANGE_UNSHARE first gives this thread a private copy
    // of the table, then closes every descriptor in that copy only; the
    // other threads' table is untouched, and this fresh thread owns no
    // object holding one of the descriptors it closes.
    let r = unsafe { libc::close_range(0, u32::MAX, libc::CLOSE_RANGE_UNSHARE as i32) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "cannot give the FUSE server its own descriptor table: {e}"
        ));
    }
    for fd in 0..3 {
        let null = File::options()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| format!("cannot open /dev/null: {e}"))?;
        // The lowest free descriptors: 0, 1 and 2, kept for the thread's
        // life (whatever writes to stdout or stderr there writes nowhere).
        let got = null.into_raw_fd();
        if got != fd {
            return Err(format!("/dev/null opened as descriptor {got}, not {fd}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_zeroing_fallocate_modes_are_zero_entries() {
        assert!(zeroes(
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE
        ));
        assert!(zeroes(libc::FALLOC_FL_ZERO_RANGE));
        assert!(zeroes(
            libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE
        ));
        assert!(!zeroes(0), "allocation");
        assert!(!zeroes(libc::FALLOC_FL_KEEP_SIZE));
        assert!(
            !zeroes(libc::FALLOC_FL_PUNCH_HOLE),
            "punch without keep-size"
        );
        assert!(!zeroes(libc::FALLOC_FL_COLLAPSE_RANGE));
    }

    #[test]
    fn a_full_log_or_overlay_is_no_space_and_the_rest_eio() {
        assert_eq!(errno(LogError::Full), Errno::ENOSPC);
        assert_eq!(errno(LogError::OverlayFull(1)), Errno::ENOSPC);
        let io = LogError::Io {
            step: "x",
            source: std::io::Error::other("y"),
        };
        assert_eq!(errno(io), Errno::EIO);
        assert_eq!(guarded::<()>(|| panic!("boom")), Err(Errno::EIO));
    }
}
