//! The recorder: every syscall of a traced workload that changes the run
//! directory, as a logical operation of the [log](super::log), with the
//! bytes it writes, so that crash states can be built from it.
//!
//! The tracer calls `Recorder::entry` at a syscall's seccomp stop, where
//! the arguments are still the program's (the bytes a write is about to
//! write, the offset it writes at, what a name named before the call), and
//! `Recorder::exit` at the syscall's exit, where only a call that
//! succeeded becomes an operation.
//!
//! Identity comes from `/proc`, not from bookkeeping of descriptors: a
//! descriptor is `stat("/proc/TID/fd/N")`, which follows the magic link to
//! the inode, so dup'ed, inherited and other threads' descriptors (and a
//! shell's redirected stdout) need nothing more. A name is its parent's
//! inode and its last component, and paths are walked through
//! `/proc/TID/cwd` and `/proc/TID/fd/N`, so the recorder sees what the
//! tracee's call sees. The scope is the inodes the recorder knows: the run
//! directory's, scanned when recording began, and those made in it since.
//! An operation on anything else is not recorded.
//!
//! A copy inside the kernel (`copy_file_range`, `sendfile`, `splice`) into
//! a file of the directory never passes through the program's memory: it
//! is recorded as a write of the bytes read back from the file at the
//! call's exit.
//!
//! What it guarantees: an operation it cannot model (a symlink, a device,
//! io_uring) goes to [`Recorder::unmodelled`], and
//! [`Recorder::finish`] compares the model with the directory at the end, so
//! a change the recorder missed makes the verdict inconclusive, never a
//! silent pass. Writes through a shared writable mapping cannot be seen at
//! all; such mappings are named in [`Recorder::blind`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::log::{Image, Ino, LogOp, Node, OpKind, ROOT, apply_all};
use crate::fault::syscalls::{self as sc, Operand, RawRegs, number as n};
use crate::fault::tracee;

/// The largest write recorded; a larger one is unmodelled.
const MAX_WRITE: u64 = 64 << 20;
/// The most bytes one recorder keeps (writes and files moved in); past it,
/// writes are unmodelled.
const MAX_TOTAL: u64 = 256 << 20;
/// The largest file the model holds (its bytes live in memory): a bigger
/// file in the directory, a write ending past it or a truncate to past it is
/// unmodelled.
const MAX_FILE: u64 = 256 << 20;

/// A file as the kernel names it: `(st_dev, st_ino)`.
type DevIno = (u64, u64);

fn dev_ino(meta: &Metadata) -> DevIno {
    (meta.dev(), meta.ino())
}

/// Records the operations of a workload on one run directory.
#[derive(Debug)]
pub struct Recorder {
    /// The run directory, canonical.
    root: PathBuf,
    /// The directory when recording began, every entry of it durable. Its
    /// `modes` also hold the modes of the inodes made later (from their
    /// `stat` when made), so a replay gives them theirs.
    pub base: Image,
    /// The operations, in the order their syscalls returned.
    pub log: Vec<LogOp>,
    /// What the model cannot represent or missed: a verdict built on this
    /// log is at best inconclusive while it is not empty.
    pub unmodelled: Vec<String>,
    /// Files whose writes the model cannot see (shared writable mappings).
    pub blind: Vec<String>,
    /// Remarks for the report that change nothing (`sync_file_range`).
    pub notes: Vec<String>,
    /// The model inode of each file the recorder knows.
    ids: HashMap<DevIno, Ino>,
    /// The model inodes that are directories.
    dirs: HashSet<Ino>,
    /// Files mapped shared and writable: the self-check does not compare
    /// their bytes.
    blind_inos: HashSet<Ino>,
    /// Paths (relative to the root) already reported unmodelled by the call
    /// that made them, so the self-check does not report them again.
    flagged: HashSet<PathBuf>,
    /// The next model inode.
    next: Ino,
    /// The operation of the workload running now.
    seq: u64,
    /// Whether it is the explored operation, whose ops keep the tracer's
    /// fault-point count as their key (0 for the others).
    keyed: bool,
    /// Bytes kept so far, against [`MAX_TOTAL`].
    bytes: u64,
}

/// A recorded call between its entry and its exit.
#[derive(Debug)]
pub struct Pending {
    intent: Intent,
    /// The call as the report shows it.
    text: String,
    key: usize,
}

/// What a call does if it succeeds.
#[derive(Debug)]
enum Intent {
    /// This operation, as decoded at the entry.
    Op(OpKind),
    /// A write.
    Write(Write),
    /// A copy inside the kernel into a known file: its bytes are read back
    /// from the file at the exit.
    Copy(Copy),
    /// A new file at `at` (open with `O_CREAT`, creat, mknod); `fd`: the
    /// call returns its descriptor.
    Create { at: Place, fd: bool },
    /// A new directory at `at`.
    Mkdir { at: Place },
    /// An `O_TMPFILE` file: a known inode with no name yet.
    TmpFile,
    /// A file moved or linked in from outside the directory.
    CameIn { at: Place },
    /// Something the model cannot represent; `path` is made by it.
    Unmodelled { why: String, path: Option<PathBuf> },
    /// A shared writable mapping of `ino`.
    Blind { ino: Ino, why: String },
    /// A remark.
    Note(String),
}

/// A write as decoded at its entry: the bytes it was given, kept up to the
/// count it returns.
#[derive(Debug)]
struct Write {
    ino: Ino,
    off: u64,
    data: Vec<u8>,
    /// `O_SYNC`, `O_DSYNC`, `RWF_SYNC` or `RWF_DSYNC`: the write is its own
    /// durability point.
    sync: bool,
}

/// A copy inside the kernel as decoded at its entry: where it lands.
#[derive(Debug)]
struct Copy {
    ino: Ino,
    /// The destination descriptor, to read the bytes back through.
    fd: u64,
    off: u64,
    /// As for a [`Write`].
    sync: bool,
}

/// An entry of a known directory, as a syscall names it.
#[derive(Debug)]
struct Place {
    dir: Ino,
    name: OsString,
    /// The way to it from the tracer, through `/proc/TID/cwd` or
    /// `/proc/TID/fd/N`.
    path: PathBuf,
}

/// What a descriptor refers to.
enum Target {
    /// A known inode.
    Known(Ino, Metadata),
    /// A file in the directory the recorder does not know: it missed how it
    /// was made.
    Stray(PathBuf),
    /// Anything else.
    Outside,
}

impl Recorder {
    /// Scans `dir` (recursively, without following symlinks) as the durable
    /// base: every file and directory gets a model inode, and files their
    /// bytes and modes. A symlink or special file is unmodelled.
    pub fn new(dir: &Path) -> io::Result<Recorder> {
        let root = dir.canonicalize()?;
        let scan = scan(&root)?;
        let dirs = scan.image.nodes.iter();
        let dirs = dirs.filter(|(_, n)| **n == Node::Dir).map(|(&i, _)| i);
        let mut rec = Recorder {
            root,
            dirs: dirs.collect(),
            next: scan.next,
            ids: scan.ids,
            base: scan.image,
            log: Vec::new(),
            unmodelled: Vec::new(),
            blind: Vec::new(),
            notes: Vec::new(),
            blind_inos: HashSet::new(),
            flagged: HashSet::new(),
            seq: 0,
            keyed: false,
            bytes: 0,
        };
        for (path, why) in scan.odd {
            rec.flag(why);
            rec.flagged.insert(path);
        }
        Ok(rec)
    }

    /// The operations recorded from now on belong to operation `seq` of the
    /// workload (the init or a warm-up): their key is 0.
    pub fn begin(&mut self, seq: u64) {
        self.seq = seq;
        self.keyed = false;
    }

    /// The operations recorded from now on belong to operation `seq`, the
    /// explored one: their key is the count of its fault points when they
    /// happened, the syscall's own point included.
    pub fn begin_explored(&mut self, seq: u64) {
        self.seq = seq;
        self.keyed = true;
    }

    /// Operation `seq` exited 0: its acknowledgement, with the fault-point
    /// count `key` (all of the explored operation's; 0 for a warm-up).
    pub fn ack(&mut self, seq: u64, key: usize) {
        let text = "exit 0".to_string();
        self.log.push(LogOp {
            kind: OpKind::Ack { seq },
            text,
            seq,
            key,
        });
    }

    /// The self-check, when the workload is over: the model with every
    /// operation applied must be the directory as it is now (names, kinds
    /// and bytes; not the bytes of a blind file). Each difference is
    /// unmodelled: the recorder missed a change.
    pub fn finish(&mut self, dir: &Path) {
        let model = apply_all(&self.base, &self.log);
        let real = match scan(dir) {
            Ok(real) => real,
            Err(e) => {
                let dir = dir.display();
                return self.flag(format!("cannot scan {dir} to check the recording: {e}"));
            }
        };
        for (path, why) in real.odd {
            if !self.flagged.contains(&path) {
                self.flag(why);
            }
        }
        let want: BTreeMap<PathBuf, Ino> = model.paths().into_iter().collect();
        let have: BTreeMap<PathBuf, Ino> = real.image.paths().into_iter().collect();
        let paths: BTreeSet<&PathBuf> = want.keys().chain(have.keys()).collect();
        for path in paths {
            if self.flagged.contains(path) {
                continue;
            }
            let a = want.get(path).map(|&i| (i, model.nodes.get(&i)));
            let b = have.get(path).and_then(|i| real.image.nodes.get(i));
            if let Some(why) = self.differ(a, b) {
                let path = path.display();
                self.flag(format!("the recorder missed a change to {path}: {why}"));
            }
        }
    }

    /// How the model's node at a path differs from the directory's.
    fn differ(&self, model: Option<(Ino, Option<&Node>)>, real: Option<&Node>) -> Option<String> {
        let (ino, model) = match (model, real) {
            (None, None) => return None,
            (None, Some(_)) => return Some("it is in the directory, not in the model".into()),
            (Some(_), None) => return Some("it is in the model, not in the directory".into()),
            (Some((ino, model)), Some(_)) => (ino, model),
        };
        match (model, real) {
            (Some(Node::Dir), Some(Node::Dir)) => None,
            (Some(Node::File(a)), Some(Node::File(b))) => match (a, b) {
                _ if a == b || self.blind_inos.contains(&ino) => None,
                _ if a.len() == b.len() => Some("its bytes differ".into()),
                _ => Some(format!(
                    "{} bytes in the directory, {} in the model",
                    b.len(),
                    a.len()
                )),
            },
            _ => Some("a file in one, a directory in the other".into()),
        }
    }

    /// The tracer's hook at the seccomp stop of a syscall: what the call
    /// will do to the directory if it succeeds, or `None` if nothing (then
    /// the tracer need not stop at its exit). `key`: the explored
    /// operation's fault points so far, this call's included.
    pub(crate) fn entry(&mut self, tid: i32, regs: &RawRegs, key: usize) -> Option<Pending> {
        let mut pending = self.decode(tid, regs)?;
        pending.key = if self.keyed { key } else { 0 };
        Some(pending)
    }

    /// The tracer's hook at the exit of a call [`entry`](Self::entry)
    /// returned a [`Pending`] for: records it if it succeeded.
    pub(crate) fn exit(&mut self, tid: i32, pending: Pending, ret: i64) {
        if ret < 0 {
            return;
        }
        let Pending { intent, text, key } = pending;
        match intent {
            Intent::Op(kind) => self.push(kind, text, key),
            Intent::Write(write) => self.wrote(write, ret as u64, text, key),
            Intent::Copy(copy) => self.copied(tid, copy, ret as u64, text, key),
            Intent::Create { at, fd: true } => {
                let meta = fs::metadata(fd_path(tid, ret as u64));
                self.created(meta, at, text, key)
            }
            Intent::Create { at, fd: false } | Intent::Mkdir { at } => {
                let meta = fs::symlink_metadata(&at.path);
                self.created(meta, at, text, key)
            }
            Intent::TmpFile => {
                if let Ok(meta) = fs::metadata(fd_path(tid, ret as u64)) {
                    self.fresh(&meta);
                }
            }
            Intent::CameIn { at } => self.came_in(at, text, key),
            Intent::Unmodelled { why, path } => {
                self.flag(why);
                self.flagged.extend(path);
            }
            Intent::Blind { ino, why } => {
                self.blind_inos.insert(ino);
                push_once(&mut self.blind, why);
            }
            Intent::Note(why) => push_once(&mut self.notes, why),
        }
    }

    fn push(&mut self, kind: OpKind, text: String, key: usize) {
        let seq = self.seq;
        self.log.push(LogOp {
            kind,
            text,
            seq,
            key,
        });
    }

    fn flag(&mut self, why: String) {
        push_once(&mut self.unmodelled, why);
    }

    /// A new model inode for the file `meta` describes (rebinding a
    /// recycled `(st_dev, st_ino)`).
    fn fresh(&mut self, meta: &Metadata) -> Ino {
        let ino = self.next;
        self.next += 1;
        self.ids.insert(dev_ino(meta), ino);
        if meta.is_dir() {
            self.dirs.insert(ino);
        }
        self.base.modes.insert(ino, meta.mode() & 0o7777);
        ino
    }

    /// The model inode of a file the recorder knows (of the same kind: an
    /// inode number recycled for another kind of file is not it).
    fn known(&self, meta: &Metadata) -> Option<Ino> {
        let ino = *self.ids.get(&dev_ino(meta))?;
        (self.dirs.contains(&ino) == meta.is_dir()).then_some(ino)
    }

    fn known_dir(&self, meta: &Metadata) -> Option<Ino> {
        self.known(meta).filter(|_| meta.is_dir())
    }

    /// What descriptor `fd` of `tid` refers to.
    fn fd(&self, tid: i32, fd: u64) -> Target {
        let link = fd_path(tid, fd);
        let Ok(meta) = fs::metadata(&link) else {
            return Target::Outside;
        };
        if let Some(ino) = self.known(&meta) {
            return Target::Known(ino, meta);
        }
        match fs::read_link(&link) {
            Ok(path) if meta.nlink() > 0 && path.starts_with(&self.root) => Target::Stray(path),
            _ => Target::Outside,
        }
    }

    /// The entry a path operand names, if its directory is known.
    fn place(&self, tid: i32, regs: &RawRegs, op: Operand) -> Option<Place> {
        let path = reach(tid, regs, op)?;
        let name = path.file_name()?.to_os_string();
        let dir = self.known_dir(&fs::metadata(path.parent()?).ok()?)?;
        Some(Place { dir, name, path })
    }

    /// A path as the report shows it: relative to the run directory.
    fn show(&self, path: &Path) -> String {
        let path = Path::new(strip_deleted(path));
        match path.strip_prefix(&self.root) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => rel.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }

    /// An operand as the report shows it.
    fn shown(&self, tid: i32, regs: &RawRegs, op: Operand) -> String {
        self.show(&tracee::resolve(tid, regs, op))
    }

    /// A call on a file of the directory the recorder never saw made.
    fn stray(&self, text: String, path: &Path) -> Option<Pending> {
        let file = self.show(path);
        let why = format!(
            "{text}: {file} is in the run directory, but the recorder missed how it was made"
        );
        pending(Intent::Unmodelled { why, path: None }, text)
    }

    /// What the call stopped at will do, if anything.
    fn decode(&self, tid: i32, regs: &RawRegs) -> Option<Pending> {
        use Operand::{At, Path};
        let a = |i| sc::arg(regs, i);
        let creat = (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64;
        match sc::nr(regs) {
            n::OPEN => self.open(tid, regs, "open", Path(0), a(1)),
            n::CREAT => self.open(tid, regs, "creat", Path(0), creat),
            n::OPENAT => self.open(tid, regs, "openat", At(0, 1), a(2)),
            n::OPENAT2 => self.open(tid, regs, "openat2", At(0, 1), open_how(tid, a(2))),
            nr @ (n::WRITE | n::PWRITE64 | n::WRITEV | n::PWRITEV | n::PWRITEV2) => {
                self.write(tid, regs, nr)
            }
            n::TRUNCATE => self.truncate(tid, regs),
            n::FTRUNCATE => self.ftruncate(tid, regs),
            n::FALLOCATE => self.fallocate(tid, regs),
            n::RENAME => self.rename(tid, regs, "rename", [Path(0), Path(1)], 0),
            n::RENAMEAT => self.rename(tid, regs, "renameat", [At(0, 1), At(2, 3)], 0),
            n::RENAMEAT2 => self.rename(tid, regs, "renameat2", [At(0, 1), At(2, 3)], a(4)),
            n::LINK => self.link(tid, regs, "link", [Path(0), Path(1)], 0),
            n::LINKAT => self.link(tid, regs, "linkat", [At(0, 1), At(2, 3)], a(4)),
            n::UNLINK => self.unlink(tid, regs, "unlink", Path(0)),
            n::RMDIR => self.unlink(tid, regs, "rmdir", Path(0)),
            n::UNLINKAT => self.unlink(tid, regs, "unlinkat", At(0, 1)),
            n::MKDIR => self.mkdir(tid, regs, "mkdir", Path(0)),
            n::MKDIRAT => self.mkdir(tid, regs, "mkdirat", At(0, 1)),
            n::FSYNC => self.fsync(tid, regs, "fsync"),
            n::FDATASYNC => self.fsync(tid, regs, "fdatasync"),
            n::SYNC => pending(Intent::Op(OpKind::SyncAll), "sync()".into()),
            n::SYNCFS => self.syncfs(tid, regs),
            n::SYNC_FILE_RANGE => self.sync_file_range(tid, regs),
            n::MMAP => self.mmap(tid, regs),
            n::SYMLINK => self.symlink(tid, regs, "symlink", Path(1)),
            n::SYMLINKAT => self.symlink(tid, regs, "symlinkat", At(1, 2)),
            n::MKNOD => self.mknod(tid, regs, "mknod", Path(0), a(1)),
            n::MKNODAT => self.mknod(tid, regs, "mknodat", At(0, 1), a(2)),
            // (fd_in, off_in, fd_out, off_out, len, flags)
            n::COPY_FILE_RANGE => self.copy(tid, regs, "copy_file_range", 2, Some(3)),
            n::SPLICE => self.copy(tid, regs, "splice", 2, Some(3)),
            // (out_fd, in_fd, offset of in_fd, count)
            n::SENDFILE => self.copy(tid, regs, "sendfile", 0, None),
            n::IO_URING_SETUP => unseen("io_uring_setup", "io_uring"),
            n::IO_SETUP => unseen("io_setup", "Linux AIO (io_submit)"),
            _ => None,
        }
    }

    fn open(
        &self,
        tid: i32,
        regs: &RawRegs,
        name: &str,
        at: Operand,
        flags: u64,
    ) -> Option<Pending> {
        let text = || {
            let how = sc::describe_open_flags(flags);
            format!("{name}({}, {how})", self.shown(tid, regs, at))
        };
        if flags & libc::O_TMPFILE as u64 == libc::O_TMPFILE as u64 {
            // Its directory must be a known one; the file is nameless.
            self.known_dir(&fs::metadata(reach(tid, regs, at)?).ok()?)?;
            return pending(Intent::TmpFile, text());
        }
        let at = self.place(tid, regs, at)?;
        let creat = flags & libc::O_CREAT as u64 != 0;
        let trunc = flags & libc::O_TRUNC as u64 != 0;
        match fs::symlink_metadata(&at.path) {
            Err(_) if creat => pending(Intent::Create { at, fd: true }, text()),
            // Linux truncates whatever the access mode.
            Ok(meta) if trunc && meta.is_file() => match self.known(&meta) {
                Some(ino) => pending(Intent::Op(OpKind::Truncate { ino, size: 0 }), text()),
                None => self.stray(text(), &at.path),
            },
            _ => None,
        }
    }

    fn write(&self, tid: i32, regs: &RawRegs, nr: u64) -> Option<Pending> {
        let name = sc::lookup(nr).map_or("write", |s| s.name);
        let (ino, meta) = match self.fd(tid, sc::arg(regs, 0)) {
            Target::Known(ino, meta) if meta.is_file() => (ino, meta),
            Target::Stray(path) => {
                return self.stray(format!("{name}({})", self.show(&path)), &path);
            }
            _ => return None,
        };
        let info = fdinfo(tid, sc::arg(regs, 0))?;
        let (off, sync) = placement(nr, regs, &info, meta.len());
        let spans = match nr {
            n::WRITE | n::PWRITE64 => vec![(sc::arg(regs, 1), sc::arg(regs, 2))],
            _ => tracee::iovecs(tid, regs, 1, 2),
        };
        let count = spans.iter().fold(0u64, |sum, s| sum.saturating_add(s.1));
        let file = self.show(&fd_link(tid, sc::arg(regs, 0)));
        let text = format!("{name}({file}, {count} bytes at {off})");
        if let Some(why) = self.too_big(count, off.saturating_add(count)) {
            let why = format!("{text}: {why}");
            return pending(Intent::Unmodelled { why, path: None }, text);
        }
        let data = read_spans(tid, &spans);
        pending(
            Intent::Write(Write {
                ino,
                off,
                data,
                sync,
            }),
            text,
        )
    }

    /// Why a write of `count` bytes ending at `end` is past the recorder's
    /// limits, if it is.
    fn too_big(&self, count: u64, end: u64) -> Option<String> {
        let mib = |b: u64| b >> 20;
        if count > MAX_WRITE {
            let limit = mib(MAX_WRITE);
            Some(format!(
                "over the recorder's limit of {limit} MiB for one write"
            ))
        } else if self.bytes.saturating_add(count) > MAX_TOTAL {
            let limit = mib(MAX_TOTAL);
            Some(format!("over the recorder's limit of {limit} MiB in all"))
        } else if end > MAX_FILE {
            let limit = mib(MAX_FILE);
            Some(format!(
                "past the model's limit of {limit} MiB for one file"
            ))
        } else {
            None
        }
    }

    /// Records a write that returned `ret`.
    fn wrote(&mut self, write: Write, ret: u64, text: String, key: usize) {
        let Write {
            ino,
            off,
            mut data,
            sync,
        } = write;
        if ret == 0 {
            return;
        }
        if (data.len() as u64) < ret {
            let why = format!("{text}: its bytes could not be read from the program's memory");
            return self.flag(why);
        }
        data.truncate(ret as usize);
        self.bytes += ret;
        let data: Arc<[u8]> = data.into();
        let synced = sync.then(|| format!("{text}: synchronous"));
        self.push(OpKind::Write { ino, off, data }, text, key);
        if let Some(text) = synced {
            self.push(OpKind::FsyncFile { ino }, text, key);
        }
    }

    fn truncate(&self, tid: i32, regs: &RawRegs) -> Option<Pending> {
        let at = self.place(tid, regs, Operand::Path(0))?;
        let size = sc::arg(regs, 1);
        let text = format!(
            "truncate({}, {size})",
            self.shown(tid, regs, Operand::Path(0))
        );
        // truncate(2) follows a symlink; the directory has none (they are
        // unmodelled).
        let meta = fs::metadata(&at.path).ok()?;
        match self.known(&meta) {
            Some(ino) if meta.is_file() => self.resize(ino, size, text),
            Some(_) => None,
            None => self.stray(text, &at.path),
        }
    }

    fn ftruncate(&self, tid: i32, regs: &RawRegs) -> Option<Pending> {
        let size = sc::arg(regs, 1);
        let text = |path: &Path| format!("ftruncate({}, {size})", self.show(path));
        match self.fd(tid, sc::arg(regs, 0)) {
            Target::Known(ino, meta) if meta.is_file() => {
                self.resize(ino, size, text(&fd_link(tid, sc::arg(regs, 0))))
            }
            Target::Stray(path) => self.stray(text(&path), &path),
            _ => None,
        }
    }

    fn resize(&self, ino: Ino, size: u64, text: String) -> Option<Pending> {
        if size > MAX_FILE {
            let limit = MAX_FILE >> 20;
            let why = format!("{text}: past the model's limit of {limit} MiB for one file");
            return pending(Intent::Unmodelled { why, path: None }, text);
        }
        pending(Intent::Op(OpKind::Truncate { ino, size }), text)
    }

    fn fallocate(&self, tid: i32, regs: &RawRegs) -> Option<Pending> {
        let (mode, off, len) = (sc::arg(regs, 1), sc::arg(regs, 2), sc::arg(regs, 3));
        let text = |path: &Path| format!("fallocate({}, {mode:#x}, {off}, {len})", self.show(path));
        let (ino, meta) = match self.fd(tid, sc::arg(regs, 0)) {
            Target::Known(ino, meta) if meta.is_file() => (ino, meta),
            Target::Stray(path) => return self.stray(text(&path), &path),
            _ => return None,
        };
        let text = text(&fd_link(tid, sc::arg(regs, 0)));
        let end = off.saturating_add(len);
        match mode {
            // Mode 0 grows the file to cover the range, with zeros.
            0 if end > meta.len() => self.resize(ino, end, text),
            0 => None,
            m if m == libc::FALLOC_FL_KEEP_SIZE as u64 => None,
            _ => {
                let why =
                    format!("{text}: only fallocate modes 0 and FALLOC_FL_KEEP_SIZE are modelled");
                pending(Intent::Unmodelled { why, path: None }, text)
            }
        }
    }

    fn rename(
        &self,
        tid: i32,
        regs: &RawRegs,
        name: &str,
        [from, to]: [Operand; 2],
        flags: u64,
    ) -> Option<Pending> {
        let (src, dst) = (self.place(tid, regs, from), self.place(tid, regs, to));
        if src.is_none() && dst.is_none() {
            return None;
        }
        let mut text = format!(
            "{name}({}, {}",
            self.shown(tid, regs, from),
            self.shown(tid, regs, to)
        );
        text.push_str(&rename_flags(flags));
        text.push(')');
        let exchange = flags & libc::RENAME_EXCHANGE as u64 != 0;
        let unmodelled = |why: &str| {
            let why = format!("{text}: {why}");
            pending(Intent::Unmodelled { why, path: None }, text.clone())
        };
        if flags & libc::RENAME_WHITEOUT as u64 != 0 {
            return unmodelled("RENAME_WHITEOUT is not modelled");
        }
        match (src, dst) {
            (Some(src), Some(dst)) => self.rename_inside(src, dst, exchange, text),
            (None, Some(dst)) if !exchange => pending(Intent::CameIn { at: dst }, text),
            (Some(src), None) if !exchange => self.unlinked(src, text),
            _ => unmodelled("an exchange across the run directory's boundary is not modelled"),
        }
    }

    fn rename_inside(
        &self,
        src: Place,
        dst: Place,
        exchange: bool,
        text: String,
    ) -> Option<Pending> {
        let moving = fs::symlink_metadata(&src.path).ok()?;
        let Some(ino) = self.known(&moving) else {
            return self.stray(text, &src.path);
        };
        let replaced = match fs::symlink_metadata(&dst.path) {
            Ok(meta) => match self.known(&meta) {
                Some(other) => Some(other),
                None => return self.stray(text, &dst.path),
            },
            Err(_) => None,
        };
        // Two names of one file: rename(2) does nothing. An exchange with
        // nothing fails.
        if replaced == Some(ino) || (exchange && replaced.is_none()) {
            return None;
        }
        let kind = OpKind::Rename {
            from: (src.dir, src.name),
            to: (dst.dir, dst.name),
            ino,
            replaced,
            exchange,
        };
        pending(Intent::Op(kind), text)
    }

    /// The entry at `at` goes (unlink, rmdir, a rename out of the directory).
    fn unlinked(&self, at: Place, text: String) -> Option<Pending> {
        let meta = fs::symlink_metadata(&at.path).ok()?;
        let Some(ino) = self.known(&meta) else {
            return self.stray(text, &at.path);
        };
        let (dir, name) = (at.dir, at.name);
        pending(Intent::Op(OpKind::Unlink { dir, name, ino }), text)
    }

    fn unlink(&self, tid: i32, regs: &RawRegs, name: &str, op: Operand) -> Option<Pending> {
        let at = self.place(tid, regs, op)?;
        self.unlinked(at, format!("{name}({})", self.shown(tid, regs, op)))
    }

    fn link(
        &self,
        tid: i32,
        regs: &RawRegs,
        name: &str,
        [from, to]: [Operand; 2],
        flags: u64,
    ) -> Option<Pending> {
        let dst = self.place(tid, regs, to)?;
        let meta = link_source(tid, regs, from, flags)?;
        let text = format!(
            "{name}({}, {})",
            self.shown(tid, regs, from),
            self.shown(tid, regs, to)
        );
        match self.known(&meta) {
            Some(ino) if meta.is_file() => {
                let (dir, name) = (dst.dir, dst.name);
                pending(Intent::Op(OpKind::Link { dir, name, ino }), text)
            }
            None if meta.is_file() => pending(Intent::CameIn { at: dst }, text),
            _ => {
                let path = PathBuf::from(self.shown(tid, regs, to));
                let why = format!(
                    "{text}: a link to something other than a regular file is not modelled"
                );
                pending(
                    Intent::Unmodelled {
                        why,
                        path: Some(path),
                    },
                    text,
                )
            }
        }
    }

    fn mkdir(&self, tid: i32, regs: &RawRegs, name: &str, op: Operand) -> Option<Pending> {
        let at = self.place(tid, regs, op)?;
        pending(
            Intent::Mkdir { at },
            format!("{name}({})", self.shown(tid, regs, op)),
        )
    }

    fn fsync(&self, tid: i32, regs: &RawRegs, name: &str) -> Option<Pending> {
        let Target::Known(ino, meta) = self.fd(tid, sc::arg(regs, 0)) else {
            return None;
        };
        let text = format!("{name}({})", self.show(&fd_link(tid, sc::arg(regs, 0))));
        // fdatasync of a directory syncs its entries as fsync does (Linux
        // implements both alike; SQLite relies on it).
        let kind = match meta.is_dir() {
            true => OpKind::FsyncDir { ino },
            false => OpKind::FsyncFile { ino },
        };
        pending(Intent::Op(kind), text)
    }

    fn syncfs(&self, tid: i32, regs: &RawRegs) -> Option<Pending> {
        let meta = fs::metadata(fd_path(tid, sc::arg(regs, 0))).ok()?;
        let root = fs::metadata(&self.root).ok()?;
        let text = format!("syncfs({})", self.show(&fd_link(tid, sc::arg(regs, 0))));
        (meta.dev() == root.dev()).then_some(())?;
        pending(Intent::Op(OpKind::SyncAll), text)
    }

    fn sync_file_range(&self, tid: i32, regs: &RawRegs) -> Option<Pending> {
        let Target::Known(..) = self.fd(tid, sc::arg(regs, 0)) else {
            return None;
        };
        let file = self.show(&fd_link(tid, sc::arg(regs, 0)));
        let text = format!("sync_file_range({file})");
        let why = format!(
            "{text} makes nothing durable: it writes back no metadata and flushes no device cache"
        );
        pending(Intent::Note(why), text)
    }

    fn mmap(&self, tid: i32, regs: &RawRegs) -> Option<Pending> {
        let (prot, flags, fd) = (sc::arg(regs, 2), sc::arg(regs, 3), sc::arg(regs, 4));
        // MAP_SHARED_VALIDATE has the MAP_SHARED bit too; MAP_PRIVATE not.
        let shared = flags & libc::MAP_SHARED as u64 != 0;
        if !shared || prot & libc::PROT_WRITE as u64 == 0 || (fd as i32) < 0 {
            return None;
        }
        let Target::Known(ino, meta) = self.fd(tid, fd) else {
            return None;
        };
        if !meta.is_file() {
            return None;
        }
        let file = self.show(&fd_link(tid, fd));
        let why = format!("shared writable mapping of {file}: the model cannot see its writes");
        pending(
            Intent::Blind { ino, why },
            format!("mmap({file}, MAP_SHARED, PROT_WRITE)"),
        )
    }

    /// symlink(target, path) or symlinkat(target, dirfd, path): `at`.
    fn symlink(&self, tid: i32, regs: &RawRegs, name: &str, at: Operand) -> Option<Pending> {
        self.place(tid, regs, at)?;
        let target = tracee::read_path(tid, sc::arg(regs, 0));
        let link = self.shown(tid, regs, at);
        let text = format!("{name}({} -> {link})", target.display());
        let why = format!("{text}: the model has no symlinks");
        let path = Some(PathBuf::from(link));
        pending(Intent::Unmodelled { why, path }, text)
    }

    fn mknod(
        &self,
        tid: i32,
        regs: &RawRegs,
        name: &str,
        op: Operand,
        mode: u64,
    ) -> Option<Pending> {
        let at = self.place(tid, regs, op)?;
        let shown = self.shown(tid, regs, op);
        let text = format!("{name}({shown}, {mode:#o})");
        let kind = mode & libc::S_IFMT as u64;
        if kind == 0 || kind == libc::S_IFREG as u64 {
            return pending(Intent::Create { at, fd: false }, text);
        }
        let why = format!("{text}: the model has no FIFOs, sockets or devices");
        pending(
            Intent::Unmodelled {
                why,
                path: Some(PathBuf::from(shown)),
            },
            text,
        )
    }

    /// A copy inside the kernel into descriptor argument `out`, at the
    /// offset argument `off_out` points to if it is given and not null, else
    /// at the descriptor's position (the end with `O_APPEND`). A copy out of
    /// the directory, or into a pipe or socket, changes nothing here.
    fn copy(
        &self,
        tid: i32,
        regs: &RawRegs,
        name: &str,
        out: usize,
        off_out: Option<usize>,
    ) -> Option<Pending> {
        let fd = sc::arg(regs, out);
        let (ino, meta) = match self.fd(tid, fd) {
            Target::Known(ino, meta) if meta.is_file() => (ino, meta),
            Target::Stray(path) => {
                return self.stray(format!("{name}(to {})", self.show(&path)), &path);
            }
            _ => return None,
        };
        let file = self.show(&fd_link(tid, fd));
        let (pos, sync) = placement(sc::nr(regs), regs, &fdinfo(tid, fd)?, meta.len());
        // Read before the call moves it on.
        let off = match off_out.map_or(0, |i| sc::arg(regs, i)) {
            0 => Some(pos),
            ptr => read_u64(tid, ptr),
        };
        let Some(off) = off else {
            let text = format!("{name}(to {file})");
            let why = format!("{text}: its offset could not be read from the program's memory");
            return pending(Intent::Unmodelled { why, path: None }, text);
        };
        let text = format!("{name}(to {file} at {off})");
        pending(Intent::Copy(Copy { ino, fd, off, sync }), text)
    }

    /// Records a copy that returned `ret`: a write of the bytes it left in
    /// the file, read back through the destination descriptor.
    fn copied(&mut self, tid: i32, copy: Copy, ret: u64, text: String, key: usize) {
        let Copy { ino, fd, off, sync } = copy;
        if ret == 0 {
            return;
        }
        // The count asked for is often far larger than the file (cp asks
        // for SSIZE_MAX): only what was copied counts against the limits.
        if let Some(why) = self.too_big(ret, off.saturating_add(ret)) {
            return self.flag(format!("{text}: {why}"));
        }
        let data = match read_back(tid, fd, off, ret) {
            Ok(data) => data,
            Err(e) => {
                let why = format!("{text}: the bytes it copied could not be read back: {e}");
                return self.flag(why);
            }
        };
        let write = Write {
            ino,
            off,
            data,
            sync,
        };
        self.wrote(write, ret, text, key)
    }

    /// Records a file or directory made at `at`, as `meta` describes it.
    fn created(&mut self, meta: io::Result<Metadata>, at: Place, text: String, key: usize) {
        let Ok(meta) = meta else {
            let why = format!("{text}: what it made is gone before it could be seen");
            return self.flag(why);
        };
        let ino = self.fresh(&meta);
        let (dir, name) = (at.dir, at.name);
        let kind = match meta.is_dir() {
            true => OpKind::Mkdir { dir, name, ino },
            false => OpKind::Create { dir, name, ino },
        };
        self.push(kind, text, key);
    }

    /// Records a file moved or linked in from outside: it is new to the
    /// model, with the bytes it has now.
    fn came_in(&mut self, at: Place, text: String, key: usize) {
        let meta = fs::symlink_metadata(&at.path);
        let bytes = match &meta {
            Ok(meta) if meta.is_file() && meta.len() <= MAX_FILE => fs::read(&at.path).ok(),
            _ => None,
        };
        let (Ok(meta), Some(bytes)) = (meta, bytes) else {
            let why = format!("{text}: only a regular file can come in from outside");
            return self.flag(why);
        };
        let (dir, name) = (at.dir, at.name);
        let ino = self.fresh(&meta);
        self.bytes += bytes.len() as u64;
        self.push(OpKind::Create { dir, name, ino }, text.clone(), key);
        if !bytes.is_empty() {
            let data = bytes.into();
            self.push(OpKind::Write { ino, off: 0, data }, text, key);
        }
    }
}

/// What a link's source operand names: with `AT_EMPTY_PATH` and an empty
/// path, the descriptor itself; a symlink only with `AT_SYMLINK_FOLLOW`.
fn link_source(tid: i32, regs: &RawRegs, from: Operand, flags: u64) -> Option<Metadata> {
    let has = |flag: libc::c_int| flags & flag as u64 != 0;
    if let Operand::At(d, i) = from
        && has(libc::AT_EMPTY_PATH)
        && tracee::read_path(tid, sc::arg(regs, i))
            .as_os_str()
            .is_empty()
    {
        return fs::metadata(fd_path(tid, sc::arg(regs, d))).ok();
    }
    let src = reach(tid, regs, from)?;
    match has(libc::AT_SYMLINK_FOLLOW) {
        true => fs::metadata(src).ok(),
        false => fs::symlink_metadata(src).ok(),
    }
}

/// A pending call with its key still to be set.
fn pending(intent: Intent, text: String) -> Option<Pending> {
    Some(Pending {
        intent,
        text,
        key: 0,
    })
}

/// A call after which writes go where the recorder cannot see them.
fn unseen(name: &str, how: &str) -> Option<Pending> {
    let text = format!("{name}()");
    let why = format!("{text}: writes submitted through {how} are not recorded");
    pending(Intent::Unmodelled { why, path: None }, text)
}

fn push_once(list: &mut Vec<String>, line: String) {
    if !list.contains(&line) {
        list.push(line);
    }
}

/// Descriptor `fd` of `tid`, as a path the tracer can open or stat.
fn fd_path(tid: i32, fd: u64) -> PathBuf {
    let fd = fd as i32;
    if fd == libc::AT_FDCWD {
        PathBuf::from(format!("/proc/{tid}/cwd"))
    } else {
        PathBuf::from(format!("/proc/{tid}/fd/{fd}"))
    }
}

/// The path descriptor `fd` of `tid` was opened by (empty if unknown).
fn fd_link(tid: i32, fd: u64) -> PathBuf {
    fs::read_link(fd_path(tid, fd)).unwrap_or_default()
}

fn strip_deleted(path: &Path) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    std::ffi::OsStr::from_bytes(bytes.strip_suffix(b" (deleted)").unwrap_or(bytes))
}

/// The way from the tracer to what a path operand names: through the
/// tracee's cwd or directory descriptor, as the kernel walks it. `None` for
/// an empty path.
fn reach(tid: i32, regs: &RawRegs, op: Operand) -> Option<PathBuf> {
    let (base, at) = match op {
        Operand::Fd(i) => return Some(fd_path(tid, sc::arg(regs, i))),
        Operand::Path(i) => (fd_path(tid, libc::AT_FDCWD as u64), i),
        Operand::At(d, i) => (fd_path(tid, sc::arg(regs, d)), i),
    };
    let raw = tracee::read_path(tid, sc::arg(regs, at));
    if raw.as_os_str().is_empty() {
        return None;
    }
    // The tracee's /proc/self is not the tracer's.
    let own = ["/proc/self", "/proc/thread-self"]
        .iter()
        .find_map(|alias| raw.strip_prefix(alias).ok())
        .map(|rest| Path::new(&format!("/proc/{tid}")).join(rest));
    Some(base.join(own.unwrap_or(raw)))
}

/// `openat2`'s flags: the first field of its `struct open_how`.
fn open_how(tid: i32, addr: u64) -> u64 {
    let bytes = tracee::read_memory(tid, addr, 8);
    bytes.try_into().map_or(0, u64::from_ne_bytes)
}

/// Where a write lands (`size` for an append) and whether it is
/// synchronous, from its arguments and its descriptor's `info`.
fn placement(nr: u64, regs: &RawRegs, info: &FdInfo, size: u64) -> (u64, bool) {
    let (at, rwf) = match nr {
        n::PWRITE64 | n::PWRITEV => (Some(sc::arg(regs, 3)), 0),
        // pwritev2 at offset -1 writes at the descriptor's position.
        n::PWRITEV2 => {
            let off = sc::arg(regs, 3);
            ((off as i64 != -1).then_some(off), sc::arg(regs, 5))
        }
        _ => (None, 0),
    };
    let has = |bits: u64, flag: libc::c_int| bits & flag as u64 != 0;
    let o_append = has(info.flags, libc::O_APPEND) && !has(rwf, libc::RWF_NOAPPEND);
    // pwrite on an O_APPEND descriptor appends too (pwrite(2), BUGS).
    let off = match o_append || has(rwf, libc::RWF_APPEND) {
        true => size,
        false => at.unwrap_or(info.pos),
    };
    // O_SYNC is O_DSYNC plus a bit: both have O_DSYNC's.
    let sync = has(info.flags, libc::O_DSYNC) || has(rwf, libc::RWF_SYNC | libc::RWF_DSYNC);
    (off, sync)
}

/// The `u64` (a `loff_t`) at `addr` in the tracee's memory.
fn read_u64(tid: i32, addr: u64) -> Option<u64> {
    let bytes = tracee::read_memory(tid, addr, 8);
    bytes.try_into().ok().map(u64::from_ne_bytes)
}

/// `len` bytes at `off` of the file descriptor `fd` of `tid` refers to,
/// through a read-only open of its `/proc` link.
fn read_back(tid: i32, fd: u64, off: u64, len: u64) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let file = fs::File::open(fd_path(tid, fd))?;
    let mut data = vec![0; len as usize];
    file.read_exact_at(&mut data, off)?;
    Ok(data)
}

/// A descriptor's position and status flags.
struct FdInfo {
    pos: u64,
    flags: u64,
}

/// `/proc/TID/fdinfo/FD`: `pos:` in decimal, `flags:` in octal.
fn fdinfo(tid: i32, fd: u64) -> Option<FdInfo> {
    let text = fs::read_to_string(format!("/proc/{tid}/fdinfo/{}", fd as i32)).ok()?;
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
    };
    Some(FdInfo {
        pos: field("pos:")?.parse().ok()?,
        flags: u64::from_str_radix(field("flags:")?, 8).ok()?,
    })
}

/// The bytes of (base, len) spans of the tracee's memory, concatenated;
/// short if a span could not be read whole.
fn read_spans(tid: i32, spans: &[(u64, u64)]) -> Vec<u8> {
    let mut data = Vec::new();
    for &(base, len) in spans {
        let bytes = tracee::read_memory(tid, base, len as usize);
        let short = (bytes.len() as u64) < len;
        data.extend_from_slice(&bytes);
        if short {
            break;
        }
    }
    data
}

fn rename_flags(flags: u64) -> String {
    let named = [
        (libc::RENAME_NOREPLACE, "RENAME_NOREPLACE"),
        (libc::RENAME_EXCHANGE, "RENAME_EXCHANGE"),
        (libc::RENAME_WHITEOUT, "RENAME_WHITEOUT"),
    ];
    let names: Vec<&str> = named
        .iter()
        .filter(|(bit, _)| flags & u64::from(*bit) != 0)
        .map(|(_, name)| *name)
        .collect();
    match names.is_empty() {
        true => String::new(),
        false => format!(", {}", names.join("|")),
    }
}

/// The model of a directory tree read from the disk.
struct Scan {
    image: Image,
    ids: HashMap<DevIno, Ino>,
    /// What the model cannot hold: the path and why.
    odd: Vec<(PathBuf, String)>,
    next: Ino,
}

/// Reads the tree under `root` (not following symlinks), in name order so
/// the model inodes are the same for the same tree.
fn scan(root: &Path) -> io::Result<Scan> {
    let meta = fs::symlink_metadata(root)?;
    let mut scan = Scan {
        image: Image::empty(),
        ids: HashMap::from([(dev_ino(&meta), ROOT)]),
        odd: Vec::new(),
        next: ROOT + 1,
    };
    scan.image.modes.insert(ROOT, meta.mode() & 0o7777);
    let mut stack = vec![(root.to_path_buf(), PathBuf::new(), ROOT)];
    while let Some((dir, rel, ino)) = stack.pop() {
        let mut names = fs::read_dir(&dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<Vec<_>>>()?;
        names.sort();
        for name in names {
            let (path, rel) = (dir.join(&name), rel.join(&name));
            let meta = fs::symlink_metadata(&path)?;
            if let Some(child) = scan.add(ino, name, &path, &rel, &meta)? {
                stack.push((path, rel, child));
            }
        }
    }
    Ok(scan)
}

impl Scan {
    /// Adds one entry; returns the inode of a directory to descend into.
    fn add(
        &mut self,
        dir: Ino,
        name: OsString,
        path: &Path,
        rel: &Path,
        meta: &Metadata,
    ) -> io::Result<Option<Ino>> {
        let kind = meta.file_type();
        if !kind.is_file() && !kind.is_dir() {
            let what = match () {
                _ if kind.is_symlink() => "a symlink",
                _ if kind.is_fifo() => "a FIFO",
                _ if kind.is_socket() => "a socket",
                _ => "a device",
            };
            let why = format!(
                "{} is {what}: the model has only files and directories",
                rel.display()
            );
            self.odd.push((rel.to_path_buf(), why));
            return Ok(None);
        }
        if let Some(&known) = self.ids.get(&dev_ino(meta)) {
            // Another name of a file already seen.
            self.image.entries.insert((dir, name), known);
            return Ok(None);
        }
        let ino = self.next;
        self.next += 1;
        self.ids.insert(dev_ino(meta), ino);
        self.image.entries.insert((dir, name), ino);
        self.image.modes.insert(ino, meta.mode() & 0o7777);
        if kind.is_dir() {
            self.image.nodes.insert(ino, Node::Dir);
            return Ok(Some(ino));
        }
        let bytes = match meta.len() {
            len if len > MAX_FILE => Err(format!(
                "is {len} bytes: past the model's limit of {} MiB for one file",
                MAX_FILE >> 20
            )),
            _ => fs::read(path).map_err(|e| format!("cannot be read: {e}")),
        };
        let bytes = bytes.unwrap_or_else(|why| {
            self.odd
                .push((rel.to_path_buf(), format!("{} {why}", rel.display())));
            Vec::new()
        });
        self.image.nodes.insert(ino, Node::File(bytes));
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};
    use std::sync::OnceLock;
    use std::time::Duration;

    use super::*;
    use crate::fault::tracer::{self, Scope, Trace, TraceOptions};

    /// The interpreter itself, not a version manager's shim script around it.
    fn python() -> &'static Path {
        static PYTHON: OnceLock<PathBuf> = OnceLock::new();
        PYTHON.get_or_init(|| {
            let out = Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .expect("python3 runs");
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        })
    }

    fn options() -> TraceOptions {
        TraceOptions {
            timeout: Some(Duration::from_secs(60)),
            own_group: true,
            points: true,
            end_with_leader: false,
        }
    }

    fn command(dir: &Path, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    }

    fn scope(dir: &Path) -> Scope {
        Scope {
            dir: dir.canonicalize().unwrap(),
            all: false,
        }
    }

    /// Records `program args` run in `dir` as the explored operation, and
    /// the self-check after it.
    fn record(dir: &Path, program: &Path, args: &[&str]) -> (Recorder, Trace) {
        let mut rec = Recorder::new(dir).unwrap();
        rec.begin_explored(0);
        let cmd = command(dir, program, args);
        let trace = tracer::trace_recording(cmd, &scope(dir), &mut rec, options()).unwrap();
        assert!(trace.end.success(), "{args:?}: {}", trace.end);
        rec.finish(dir);
        (rec, trace)
    }

    fn py(dir: &Path, code: &str) -> Recorder {
        record(dir, python(), &["-I", "-c", code]).0
    }

    /// The log, one line an operation, inodes as `#N`.
    fn ops(rec: &Recorder) -> Vec<String> {
        rec.log.iter().map(|op| render(&op.kind)).collect()
    }

    fn render(kind: &OpKind) -> String {
        let at = |dir: &Ino, name: &OsString| format!("{dir}/{}", name.to_string_lossy());
        match kind {
            OpKind::Create { dir, name, ino } => format!("create {} #{ino}", at(dir, name)),
            OpKind::Mkdir { dir, name, ino } => format!("mkdir {} #{ino}", at(dir, name)),
            OpKind::Link { dir, name, ino } => format!("link {} #{ino}", at(dir, name)),
            OpKind::Unlink { dir, name, ino } => format!("unlink {} #{ino}", at(dir, name)),
            OpKind::Rename {
                from,
                to,
                ino,
                replaced,
                exchange,
            } => {
                let mut s = format!(
                    "rename {} -> {} #{ino}",
                    at(&from.0, &from.1),
                    at(&to.0, &to.1)
                );
                if let Some(r) = replaced {
                    s.push_str(&format!(" over #{r}"));
                }
                if *exchange {
                    s.push_str(" exchange");
                }
                s
            }
            OpKind::Write { ino, off, data } => {
                format!("write #{ino} @{off} {:?}", String::from_utf8_lossy(data))
            }
            OpKind::Truncate { ino, size } => format!("truncate #{ino} {size}"),
            OpKind::FsyncFile { ino } => format!("fsync #{ino}"),
            OpKind::FsyncDir { ino } => format!("fsync-dir #{ino}"),
            OpKind::SyncAll => "sync".into(),
            OpKind::Ack { seq } => format!("ack {seq}"),
        }
    }

    fn clean(rec: &Recorder) {
        assert!(rec.unmodelled.is_empty(), "{:#?}", rec.unmodelled);
        assert!(rec.blind.is_empty(), "{:#?}", rec.blind);
    }

    #[test]
    fn records_a_shell_create_write_rename_and_directory_fsync() {
        let t = tempfile::tempdir().unwrap();
        let script = "echo hi > a; mv a b; sync .";
        let (rec, trace) = record(t.path(), Path::new("/bin/sh"), &["-c", script]);
        assert_eq!(
            ops(&rec),
            [
                "create 0/a #1",
                r#"write #1 @0 "hi\n""#,
                "rename 0/a -> 0/b #1",
                "fsync-dir #0",
            ]
        );
        clean(&rec);
        // Each op's key counts the fault points up to its own syscall's.
        let calls: Vec<&str> = rec
            .log
            .iter()
            .map(|op| trace.points[op.key - 1].syscall.name)
            .collect();
        assert_eq!(calls, ["openat", "write", "renameat2", "fsync"]);
        let texts: Vec<&str> = rec.log.iter().map(|op| op.text.as_str()).collect();
        assert_eq!(texts[2], "renameat2(a, b, RENAME_NOREPLACE)");
        assert!(rec.log.iter().all(|op| op.seq == 0));
    }

    #[test]
    fn a_warm_up_has_key_zero_and_its_acknowledgement() {
        let t = tempfile::tempdir().unwrap();
        let mut rec = Recorder::new(t.path()).unwrap();
        rec.begin(3);
        let cmd = command(t.path(), Path::new("/bin/sh"), &["-c", "echo x > w"]);
        let trace = tracer::trace_recording(cmd, &scope(t.path()), &mut rec, options()).unwrap();
        assert!(trace.end.success() && !trace.points.is_empty());
        rec.ack(3, 0);
        assert_eq!(
            ops(&rec),
            ["create 0/w #1", r#"write #1 @0 "x\n""#, "ack 3"]
        );
        assert!(rec.log.iter().all(|op| op.seq == 3 && op.key == 0));
        assert_eq!(rec.log[2].text, "exit 0");
    }

    #[test]
    fn appends_land_at_the_end_of_the_file() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("log"), "xyz").unwrap();
        let rec = py(
            t.path(),
            "import os\n\
             fd = os.open('log', os.O_WRONLY | os.O_APPEND)\n\
             os.write(fd, b'ab'); os.pwrite(fd, b'cde', 0)",
        );
        // pwrite on an O_APPEND descriptor appends too.
        assert_eq!(ops(&rec), [r#"write #1 @3 "ab""#, r#"write #1 @5 "cde""#]);
        assert_eq!(rec.base.nodes[&1], Node::File(b"xyz".to_vec()));
        clean(&rec);
    }

    #[test]
    fn a_synchronous_write_is_its_own_durability_point() {
        let t = tempfile::tempdir().unwrap();
        let rec = py(
            t.path(),
            "import os\n\
             fd = os.open('s', os.O_WRONLY | os.O_CREAT | os.O_SYNC, 0o644)\n\
             os.write(fd, b'x')\n\
             fd = os.open('d', os.O_WRONLY | os.O_CREAT, 0o644)\n\
             os.write(fd, b'a'); os.pwritev(fd, [b'y', b'z'], 1, os.RWF_DSYNC)",
        );
        assert_eq!(
            ops(&rec),
            [
                "create 0/s #1",
                r#"write #1 @0 "x""#,
                "fsync #1",
                "create 0/d #2",
                r#"write #2 @0 "a""#,
                r#"write #2 @1 "yz""#,
                "fsync #2",
            ]
        );
        assert_eq!(rec.log[2].text, "write(s, 1 bytes at 0): synchronous");
        clean(&rec);
    }

    #[test]
    fn writes_through_a_dup_a_forked_child_and_a_thread_are_recorded() {
        let t = tempfile::tempdir().unwrap();
        let rec = py(
            t.path(),
            "import os, threading\n\
             fd = os.open('f', os.O_WRONLY | os.O_CREAT, 0o644)\n\
             os.write(os.dup(fd), b'a')\n\
             pid = os.fork()\n\
             if pid == 0:\n    os.write(fd, b'b'); os._exit(0)\n\
             os.waitpid(pid, 0)\n\
             th = threading.Thread(target=lambda: os.write(fd, b'c')); th.start(); th.join()",
        );
        assert_eq!(
            ops(&rec),
            [
                "create 0/f #1",
                r#"write #1 @0 "a""#,
                r#"write #1 @1 "b""#,
                r#"write #1 @2 "c""#,
            ]
        );
        clean(&rec);
    }

    #[test]
    fn names_links_sizes_and_exchanges_are_modelled() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("x"), "old x").unwrap();
        fs::write(t.path().join("y"), "old y").unwrap();
        let rec = py(
            t.path(),
            "import os, ctypes\n\
             os.mkdir('sub')\n\
             fd = os.open('sub/f', os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)\n\
             os.write(fd, b'hello')\n\
             os.link('sub/f', 'g')\n\
             os.truncate('g', 1)\n\
             os.posix_fallocate(fd, 0, 3)\n\
             os.unlink('sub/f')\n\
             os.mkdir('e'); os.rmdir('e')\n\
             libc = ctypes.CDLL(None, use_errno=True)\n\
             assert libc.syscall(316, -100, b'x', -100, b'y', 2) == 0\n\
             fd = os.open('y', os.O_RDONLY | os.O_TRUNC)\n\
             try: os.rename('missing', 'z')\n\
             except OSError: pass\n\
             os.mknod('n', 0o600)\n\
             os.fsync(os.open('sub', os.O_RDONLY))",
        );
        assert_eq!(
            ops(&rec),
            [
                "mkdir 0/sub #3",
                "create 3/f #4",
                r#"write #4 @0 "hello""#,
                "link 0/g #4",
                "truncate #4 1",
                "truncate #4 3",
                "unlink 3/f #4",
                "mkdir 0/e #5",
                "unlink 0/e #5",
                "rename 0/x -> 0/y #1 over #2 exchange",
                "truncate #1 0",
                "create 0/n #6",
                "fsync-dir #3",
            ]
        );
        let modes = &rec.base.modes;
        assert_eq!(modes[&4], 0o600, "a new file's mode, for a replay");
        clean(&rec);
    }

    #[test]
    fn a_tmpfile_linked_in_through_proc_self_is_modelled() {
        let t = tempfile::tempdir().unwrap();
        let rec = py(
            t.path(),
            "import os\n\
             fd = os.open('.', os.O_TMPFILE | os.O_WRONLY, 0o644)\n\
             os.write(fd, b'tmp')\n\
             here = os.open('.', os.O_RDONLY)\n\
             # linkat(AT_FDCWD, /proc/self/fd/N, here, named, AT_SYMLINK_FOLLOW)\n\
             os.link(f'/proc/self/fd/{fd}', 'named', dst_dir_fd=here)",
        );
        assert_eq!(ops(&rec), [r#"write #1 @0 "tmp""#, "link 0/named #1"]);
        clean(&rec);
    }

    #[test]
    fn moves_across_the_boundary_are_a_create_or_an_unlink() {
        let t = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        fs::write(t.path().join("leaving"), "bye").unwrap();
        fs::write(out.path().join("coming"), "hello").unwrap();
        let code = format!(
            "import os\n\
             os.rename('{o}/coming', 'arrived')\n\
             os.rename('leaving', '{o}/left')",
            o = out.path().display()
        );
        let rec = py(t.path(), &code);
        assert_eq!(
            ops(&rec),
            [
                "create 0/arrived #2",
                r#"write #2 @0 "hello""#,
                "unlink 0/leaving #1"
            ]
        );
        clean(&rec);
    }

    #[test]
    fn copies_inside_the_kernel_into_the_directory_are_writes_of_what_landed() {
        let t = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        fs::write(out.path().join("src"), "0123456789").unwrap();
        fs::write(t.path().join("inside"), "abc").unwrap();
        let code = format!(
            "import os\n\
             src = os.open('{o}/src', os.O_RDONLY)\n\
             fd = os.open('f', os.O_WRONLY | os.O_CREAT, 0o644)\n\
             os.write(fd, b'xy')\n\
             assert os.copy_file_range(src, fd, 3) == 3\n\
             assert os.copy_file_range(src, fd, 2, 8, 10) == 2\n\
             assert os.sendfile(fd, src, 5, 4) == 4\n\
             r, w = os.pipe(); os.write(w, b'pq')\n\
             assert os.splice(r, fd, 2, offset_dst=12) == 2\n\
             # Out of the directory: nothing to record.\n\
             away = os.open('{o}/away', os.O_WRONLY | os.O_CREAT, 0o644)\n\
             os.copy_file_range(os.open('inside', os.O_RDONLY), away, 3)",
            o = out.path().display()
        );
        let rec = py(t.path(), &code);
        assert_eq!(
            ops(&rec),
            [
                "create 0/f #2",
                r#"write #2 @0 "xy""#,
                r#"write #2 @2 "012""#,
                r#"write #2 @10 "89""#,
                r#"write #2 @5 "5678""#,
                r#"write #2 @12 "pq""#,
            ]
        );
        let texts: Vec<&str> = rec.log.iter().map(|op| op.text.as_str()).collect();
        assert_eq!(texts[2], "copy_file_range(to f at 2)");
        assert_eq!(texts[4], "sendfile(to f at 5)");
        clean(&rec);
    }

    #[test]
    fn a_shared_writable_mapping_is_blind() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("p"), vec![b'.'; 4096]).unwrap();
        let rec = py(
            t.path(),
            "import os, mmap\n\
             fd = os.open('m', os.O_RDWR | os.O_CREAT, 0o644)\n\
             os.ftruncate(fd, 4096)\n\
             m = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)\n\
             m[:2] = b'hi'; m.flush()\n\
             p = mmap.mmap(os.open('p', os.O_RDWR), 4096, access=mmap.ACCESS_COPY)\n\
             p[:2] = b'no'",
        );
        assert_eq!(
            rec.blind,
            ["shared writable mapping of m: the model cannot see its writes"]
        );
        assert_eq!(ops(&rec), ["create 0/m #2", "truncate #2 4096"]);
        // Its bytes differ from the model's, but it is blind: not missed.
        assert!(rec.unmodelled.is_empty(), "{:#?}", rec.unmodelled);
    }

    #[test]
    fn symlinks_and_fifos_in_the_directory_are_unmodelled_once() {
        let t = tempfile::tempdir().unwrap();
        let rec = py(
            t.path(),
            "import os; os.symlink('target', 'l'); os.mkfifo('p')",
        );
        assert_eq!(
            rec.unmodelled,
            [
                "symlink(target -> l): the model has no symlinks",
                "mknodat(p, 0o10666): the model has no FIFOs, sockets or devices",
            ]
        );
        assert!(rec.log.is_empty());
    }

    #[test]
    fn operations_outside_the_directory_are_ignored() {
        let t = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let code = format!(
            "import os, sys\n\
             os.chdir('{o}')\n\
             fd = os.open('f', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)\n\
             os.write(fd, b'x'); os.fsync(fd); os.rename('f', 'g'); os.mkdir('d')\n\
             os.link('g', 'h'); os.unlink('h'); os.truncate('g', 0); os.sync()\n\
             sys.stdout.write('chatter'); sys.stdout.flush()",
            o = out.path().display()
        );
        let rec = py(t.path(), &code);
        // sync(2) syncs every file system, this one included.
        assert_eq!(ops(&rec), ["sync"]);
        clean(&rec);
    }

    #[test]
    fn the_self_check_reports_a_change_the_recorder_did_not_see() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("state"), "v1").unwrap();
        let mut rec = Recorder::new(t.path()).unwrap();
        fs::write(t.path().join("state"), "v2").unwrap();
        fs::write(t.path().join("new"), "").unwrap();
        fs::create_dir(t.path().join("d")).unwrap();
        rec.finish(t.path());
        assert_eq!(
            rec.unmodelled,
            [
                "the recorder missed a change to d: it is in the directory, not in the model",
                "the recorder missed a change to new: it is in the directory, not in the model",
                "the recorder missed a change to state: its bytes differ",
            ]
        );
    }

    #[test]
    fn the_scan_names_every_entry_once_per_inode_and_flags_symlinks() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("sub")).unwrap();
        fs::write(t.path().join("sub/f"), "data").unwrap();
        fs::set_permissions(t.path().join("sub/f"), fs::Permissions::from_mode(0o640)).unwrap();
        fs::hard_link(t.path().join("sub/f"), t.path().join("again")).unwrap();
        std::os::unix::fs::symlink("sub/f", t.path().join("l")).unwrap();
        let rec = Recorder::new(t.path()).unwrap();
        let paths: Vec<(String, Ino)> = rec
            .base
            .paths()
            .into_iter()
            .map(|(p, i)| (p.display().to_string(), i))
            .collect();
        // Names in order: `again` is the file's first, so it is inode 1.
        let f = 1;
        assert_eq!(
            paths,
            [("again".into(), 1), ("sub".into(), 2), ("sub/f".into(), 1)]
        );
        assert_eq!(rec.base.nodes[&f], Node::File(b"data".to_vec()));
        assert_eq!(rec.base.modes[&f], 0o640);
        assert_eq!(
            rec.unmodelled,
            ["l is a symlink: the model has only files and directories"]
        );
    }

    #[test]
    fn apply_all_replays_renames_over_and_exchanges() {
        let mut base = Image::empty();
        base.nodes.insert(1, Node::File(b"one".to_vec()));
        base.nodes.insert(2, Node::File(b"two".to_vec()));
        base.entries.insert((ROOT, "a".into()), 1);
        base.entries.insert((ROOT, "b".into()), 2);
        let op = |kind| LogOp {
            kind,
            text: String::new(),
            seq: 0,
            key: 0,
        };
        let swap = op(OpKind::Rename {
            from: (ROOT, "a".into()),
            to: (ROOT, "b".into()),
            ino: 1,
            replaced: Some(2),
            exchange: true,
        });
        let swapped = apply_all(&base, &[swap]);
        assert_eq!(swapped.entries[&(ROOT, "a".into())], 2);
        assert_eq!(swapped.entries[&(ROOT, "b".into())], 1);
        let over = op(OpKind::Rename {
            from: (ROOT, "a".into()),
            to: (ROOT, "b".into()),
            ino: 1,
            replaced: Some(2),
            exchange: false,
        });
        let write = op(OpKind::Write {
            ino: 1,
            off: 5,
            data: b"!".as_slice().into(),
        });
        let image = apply_all(&base, &[over, write]);
        let names: Vec<_> = image.entries.keys().cloned().collect();
        assert_eq!(names, [(ROOT, OsString::from("b"))]);
        assert_eq!(image.nodes[&1], Node::File(b"one\0\0!".to_vec()));
    }

    /// The points `trace` has always found for a fixed program: recording
    /// neither adds, drops nor renumbers one.
    #[test]
    fn recording_keeps_the_fault_points_of_a_plain_trace() {
        let code = "import os\n\
                    fd = os.open('a', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)\n\
                    os.write(fd, b'hi'); os.fsync(fd); os.close(fd)\n\
                    os.rename('a', 'b'); os.unlink('b')";
        let args = ["-I", "-c", code];
        let plain = tempfile::tempdir().unwrap();
        let mut no_fault: Option<tracer::Injection> = None;
        let cmd = command(plain.path(), python(), &args);
        let trace = tracer::trace(cmd, &scope(plain.path()), &mut no_fault, options(), &|_| {});
        let trace = trace.unwrap();
        let texts = |t: &Trace| -> Vec<String> {
            t.points
                .iter()
                .map(|p| format!("{} {}", p.ordinal, p.text))
                .collect()
        };
        assert_eq!(
            texts(&trace),
            [
                "0 openat(a, O_WRONLY|O_CREAT|O_TRUNC)",
                "1 write(a, 2 bytes)",
                "2 fsync(a)",
                "3 close(a)",
                "4 rename(a, b)",
                "5 unlink(b)",
            ]
        );
        let recorded = tempfile::tempdir().unwrap();
        let (rec, again) = record(recorded.path(), python(), &args);
        assert_eq!(texts(&again), texts(&trace));
        assert_eq!(
            ops(&rec),
            [
                "create 0/a #1",
                r#"write #1 @0 "hi""#,
                "fsync #1",
                "rename 0/a -> 0/b #1",
                "unlink 0/b #1",
            ]
        );
        let keys: Vec<usize> = rec.log.iter().map(|op| op.key).collect();
        assert_eq!(keys, [1, 2, 3, 5, 6]);
    }
}
