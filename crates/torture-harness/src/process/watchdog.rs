//! The watchdog: a small process that cleans up after `torture` however it
//! dies.
//!
//! The supervisor registers what must not outlive it: process groups (an
//! outside program's commands, whose grandchildren do not get the
//! parent-death signal), the run's token (see [`super::reaper`]), mount
//! points and temporary directories. When the supervisor's end of the pipe
//! closes (a normal end, or a SIGKILL), the watchdog SIGKILLs every group
//! still registered and every process tagged with the token, unmounts every
//! mount point, and removes every directory.
//!
//! **The protocol** is a stream of records, each a header line
//! `OP LENGTH\n` followed by exactly `LENGTH` bytes of payload: `+g`/`-g` a
//! group id, `+t` the token, `+m`/`-m` a mount point, `+d`/`-d` a
//! directory, `k` (no payload) kill the groups and tagged processes now.
//! A path travels as its raw bytes, counted, so no byte in it (a newline
//! included) can ever be read as a header: a path is always one path. A
//! malformed record ends the reading of records; what was registered
//! before it still gets cleaned up at the end.
//!
//! **What it will touch**, whatever a record says: a directory only if it
//! is named `torture-*`, is the caller's and holds a manifest or nothing
//! ([`crate::owned::removable_after_death`]); a mount point only if it lies
//! inside such a registered directory; every removal stays on the
//! directory's own file system and never follows a link.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::{self, BufRead, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::reaper::{self, RunTag};
use super::{reaped, spawn_recorded};
use crate::platform::SignalTarget;

/// The name of the watchdog's hidden subcommand.
pub const WATCHDOG_SUBCOMMAND: &str = "__watchdog";

/// The stack of the thread that spawns and reaps the watchdog.
const KEEPER_STACK: usize = 64 * 1024;

/// The longest payload a record may have: far above any path.
const MAX_PAYLOAD: usize = 1 << 20;

/// Whether a record registers or unregisters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Register (`+`).
    Add,
    /// Unregister (`-`).
    Remove,
}

/// One record of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A process group to kill.
    Group(Change, i32),
    /// The run's token: processes tagged with it are killed.
    Token(String),
    /// A mount point to unmount.
    Mount(Change, PathBuf),
    /// A directory to remove.
    Dir(Change, PathBuf),
    /// Kill the registered groups and tagged processes now, and forget
    /// the groups.
    KillNow,
}

impl Record {
    /// The record's bytes: header line, then the counted payload.
    pub fn encode(&self) -> Vec<u8> {
        let sign = |c: &Change| if *c == Change::Add { '+' } else { '-' };
        let (op, payload): (String, Vec<u8>) = match self {
            Record::Group(c, pgid) => (format!("{}g", sign(c)), pgid.to_string().into_bytes()),
            Record::Token(t) => ("+t".into(), t.clone().into_bytes()),
            Record::Mount(c, p) => (format!("{}m", sign(c)), p.as_os_str().as_bytes().to_vec()),
            Record::Dir(c, p) => (format!("{}d", sign(c)), p.as_os_str().as_bytes().to_vec()),
            Record::KillNow => ("k".into(), Vec::new()),
        };
        let mut out = format!("{op} {}\n", payload.len()).into_bytes();
        out.extend_from_slice(&payload);
        out
    }

    /// Reads the next record; `Ok(None)` at the end of input, `Err` for a
    /// record that is not one.
    pub fn read(input: &mut impl BufRead) -> io::Result<Option<Record>> {
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        let mut header = Vec::new();
        if input.by_ref().take(64).read_until(b'\n', &mut header)? == 0 {
            return Ok(None);
        }
        let header = header
            .strip_suffix(b"\n")
            .and_then(|h| std::str::from_utf8(h).ok())
            .ok_or_else(|| bad("a header is one short ASCII line"))?;
        let (op, len) = header.split_once(' ').ok_or_else(|| bad("no length"))?;
        let len: usize = len.parse().map_err(|_| bad("a bad length"))?;
        if len > MAX_PAYLOAD {
            return Err(bad("a payload too long"));
        }
        let mut payload = vec![0; len];
        input.read_exact(&mut payload)?;
        let path = || PathBuf::from(OsString::from_vec(payload.clone()));
        let number = || {
            std::str::from_utf8(&payload)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad("a bad group id"))
        };
        Ok(Some(match op {
            "+g" => Record::Group(Change::Add, number()?),
            "-g" => Record::Group(Change::Remove, number()?),
            "+t" => Record::Token(String::from_utf8_lossy(&payload).into_owned()),
            "+m" => Record::Mount(Change::Add, path()),
            "-m" => Record::Mount(Change::Remove, path()),
            "+d" => Record::Dir(Change::Add, path()),
            "-d" => Record::Dir(Change::Remove, path()),
            "k" if len == 0 => Record::KillNow,
            _ => return Err(bad("an unknown record")),
        }))
    }
}

/// The supervisor's handle on the watchdog process; shared by the threads
/// that spawn, so a group is registered the moment it exists. Dropping it
/// stops the watchdog ([`Watchdog::stop`]).
pub struct Watchdog {
    stdin: Mutex<Option<ChildStdin>>,
    /// The thread that spawned the watchdog and reaps it.
    keeper: Mutex<Option<JoinHandle<()>>>,
}

impl Watchdog {
    /// Starts the watchdog (`program __watchdog`) in its own process group.
    ///
    /// It is spawned, and reaped, by a thread of its own: a tracer waiting
    /// for any child of its thread (`waitpid(-1, __WNOTHREAD)`, as explore's
    /// does on the thread that starts an exploration) never sees it.
    pub fn start(program: &Path) -> io::Result<Self> {
        let mut cmd = Command::new(program);
        cmd.arg(WATCHDOG_SUBCOMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let (tx, rx) = std::sync::mpsc::channel();
        let keeper = std::thread::Builder::new()
            .name("watchdog".into())
            .stack_size(KEEPER_STACK)
            .spawn(move || match spawn_recorded(&mut cmd) {
                Ok(mut child) => {
                    let _ = tx.send(Ok(child.stdin.take()));
                    let _ = reaped(&mut child);
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            })?;
        let stdin = rx
            .recv()
            .map_err(|_| io::Error::other("the watchdog's keeper thread died"))??;
        Ok(Watchdog {
            stdin: Mutex::new(stdin),
            keeper: Mutex::new(Some(keeper)),
        })
    }

    /// Registers a process group to kill if the supervisor dies.
    pub fn watch(&self, pgid: i32) {
        self.send(&Record::Group(Change::Add, pgid));
    }

    /// Unregisters a group that is about to be reaped.
    pub fn forget(&self, pgid: i32) {
        self.send(&Record::Group(Change::Remove, pgid));
    }

    /// Gives the run's token: if the supervisor dies, every process tagged
    /// with it is killed too.
    pub fn watch_run(&self, tag: &RunTag) {
        self.send(&Record::Token(tag.token().to_string()));
    }

    /// Registers a mount point to unmount if the supervisor dies (only
    /// inside a registered directory).
    pub fn watch_mount(&self, path: &Path) {
        self.send(&Record::Mount(Change::Add, path.to_path_buf()));
    }

    /// Unregisters a mount point that was unmounted.
    pub fn forget_mount(&self, path: &Path) {
        self.send(&Record::Mount(Change::Remove, path.to_path_buf()));
    }

    /// Has the watchdog kill every registered group and tagged process now
    /// (and forget the groups), while mounts and directories stay
    /// registered: the end of a run's commands, before its directory's
    /// fate is known.
    pub fn kill_now(&self) {
        self.send(&Record::KillNow);
    }

    /// One record, one `write(2)` under the lock: records from two threads
    /// never interleave.
    fn send(&self, record: &Record) {
        if let Ok(mut stdin) = self.stdin.lock()
            && let Some(stdin) = stdin.as_mut()
        {
            let _ = stdin.write_all(&record.encode());
        }
    }

    /// Closes the pipe (the watchdog kills every group still registered,
    /// unmounts and removes what is still registered) and waits until it
    /// is done and reaped.
    pub fn stop(&self) {
        if let Ok(mut stdin) = self.stdin.lock() {
            stdin.take();
        }
        let keeper = self.keeper.lock().ok().and_then(|mut k| k.take());
        if let Some(keeper) = keeper {
            let _ = keeper.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the watchdog holds.
#[derive(Debug, Default)]
struct Registry {
    groups: BTreeSet<i32>,
    run: Option<RunTag>,
    mounts: BTreeSet<PathBuf>,
    dirs: BTreeSet<PathBuf>,
}

impl Registry {
    fn apply(&mut self, record: Record) {
        fn change<T: Ord>(set: &mut BTreeSet<T>, c: Change, item: T) {
            match c {
                Change::Add => set.insert(item),
                Change::Remove => set.remove(&item),
            };
        }
        match record {
            Record::Group(c, pgid) => change(&mut self.groups, c, pgid),
            // A token that is not plain letters and digits is ignored.
            Record::Token(t) => self.run = RunTag::parse(&t),
            Record::Mount(c, p) => change(&mut self.mounts, c, p),
            Record::Dir(c, p) => change(&mut self.dirs, c, p),
            Record::KillNow => self.kill_processes(),
        }
    }

    fn kill_processes(&mut self) {
        for pgid in std::mem::take(&mut self.groups) {
            let _ = SignalTarget::Group(pgid).send(Signal::SIGKILL);
        }
        if let Some(tag) = &self.run {
            reaper::kill_tagged(tag);
        }
    }

    /// The end: processes, then mounts inside removable directories, then
    /// those directories.
    fn release(mut self) {
        self.kill_processes();
        let dirs: Vec<PathBuf> = self
            .dirs
            .into_iter()
            .filter(|d| crate::owned::removable_after_death(d))
            .collect();
        for mount in &self.mounts {
            if inside_any(mount, &dirs) {
                force_unmount(mount);
            }
        }
        for dir in dirs {
            remove_when_quiet(&dir);
        }
    }
}

/// How long the watchdog keeps trying to remove a directory that processes
/// dying at the same moment (children killed by the parent-death signal or
/// by the watchdog itself) may still be writing into.
const QUIET_WITHIN: Duration = Duration::from_secs(3);

/// Removes `dir`, again while something is left, for up to [`QUIET_WITHIN`]:
/// a SIGKILL takes effect after `kill(2)` returns.
fn remove_when_quiet(dir: &Path) {
    let deadline = Instant::now() + QUIET_WITHIN;
    while crate::owned::tree::remove_all(dir).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `path` lies strictly inside one of `dirs` (by components, with
/// no `..`) and is a directory, not a link.
fn inside_any(path: &Path, dirs: &[PathBuf]) -> bool {
    use std::path::Component;
    let plain = path
        .components()
        .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    plain
        && dirs.iter().any(|d| path.starts_with(d) && path != d)
        && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// The watchdog process: reads records until the end of its input, then
/// cleans up what is still registered.
pub fn watchdog_main() -> i32 {
    let mut registry = Registry::default();
    let mut input = io::stdin().lock();
    loop {
        match Record::read(&mut input) {
            Ok(Some(record)) => registry.apply(record),
            Ok(None) => break,
            Err(_) => {
                // The stream cannot be trusted any more: wait for the end.
                let _ = io::copy(&mut input, &mut io::sink());
                break;
            }
        }
    }
    registry.release();
    0
}

/// Directories made by torture are removed if the supervisor dies, after
/// the mounts in them are gone.
impl crate::owned::DirWatch for Watchdog {
    fn watch_dir(&self, path: &Path) {
        self.send(&Record::Dir(Change::Add, path.to_path_buf()));
    }

    fn forget_dir(&self, path: &Path) {
        self.send(&Record::Dir(Change::Remove, path.to_path_buf()));
    }
}

/// Detaches the mount at `path` (`umount -l`): the watchdog's last resort
/// for a mount inside a directory it removes. The file system goes once
/// nothing uses it; the path is free at once.
fn force_unmount(path: &Path) {
    let _ = nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Vec<Record> {
        let mut input = bytes;
        std::iter::from_fn(|| Record::read(&mut input).unwrap()).collect()
    }

    #[test]
    fn a_path_with_newlines_and_records_in_it_stays_one_path() {
        let evil = PathBuf::from("/tmp/x/s\n+d /tmp/x/victim\n+x\n-g 1\nk 0\n");
        let records = vec![
            Record::Group(Change::Add, 4242),
            Record::Token("AbC123".into()),
            Record::Dir(Change::Add, evil.clone()),
            Record::Mount(Change::Add, evil.join("mnt")),
            Record::Dir(Change::Remove, PathBuf::from("/tmp/torture-ok")),
            Record::KillNow,
            Record::Group(Change::Remove, 4242),
        ];
        let bytes: Vec<u8> = records.iter().flat_map(Record::encode).collect();
        assert_eq!(decode_all(&bytes), records);
    }

    #[test]
    fn non_utf8_paths_travel_intact() {
        let p = PathBuf::from(OsString::from_vec(b"/tmp/torture-\xff\xfe".to_vec()));
        let r = Record::Dir(Change::Add, p);
        assert_eq!(decode_all(&r.encode()), [r]);
    }

    #[test]
    fn garbage_is_an_error_not_a_record() {
        for bad in [
            &b"+d /tmp/x/victim\n"[..],
            b"+d 99\nshort",
            b"+g 3\nabc",
            b"?? 0\n",
            b"+d 99999999999\n",
        ] {
            let mut input = bad;
            assert!(Record::read(&mut input).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_torture_directories_and_mounts_inside_them_are_released() {
        let root = tempfile::tempdir().unwrap();
        let victim = root.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        std::fs::write(victim.join("precious"), b"mine").unwrap();
        let ours = crate::owned::ScratchDir::create(crate::owned::Kind::Logs, root.path(), None)
            .unwrap()
            .keep();
        std::fs::write(ours.join("w0.out"), b"log").unwrap();
        let forged = root.path().join("torture-forged");
        std::fs::create_dir(&forged).unwrap();
        std::fs::write(forged.join("precious"), b"mine").unwrap();
        // Killed while writing its manifest: only the atomic write's
        // temporary file is there. Removable; the same name with anything
        // else beside it is not.
        let cut = root.path().join("torture-logs-cutoff");
        std::fs::create_dir(&cut).unwrap();
        std::fs::write(cut.join("..torture-run.tmp-AbC123xyz789"), b"{").unwrap();
        let cut_too = root.path().join("torture-logs-cutoff2");
        std::fs::create_dir(&cut_too).unwrap();
        std::fs::write(cut_too.join("..torture-run.tmp-AbC123xyz789"), b"{").unwrap();
        std::fs::write(cut_too.join("precious"), b"mine").unwrap();
        let mut registry = Registry::default();
        for dir in [&victim, &ours, &forged, &cut, &cut_too] {
            registry.apply(Record::Dir(Change::Add, dir.clone()));
        }
        assert!(inside_any(&ours, &[root.path().to_path_buf()]));
        assert!(!inside_any(&victim, std::slice::from_ref(&ours)));
        assert!(!inside_any(
            &ours.join("../victim"),
            std::slice::from_ref(&ours)
        ));
        registry.release();
        assert!(!ours.exists());
        assert!(!cut.exists());
        assert_eq!(std::fs::read(cut_too.join("precious")).unwrap(), b"mine");
        assert_eq!(std::fs::read(victim.join("precious")).unwrap(), b"mine");
        assert_eq!(std::fs::read(forged.join("precious")).unwrap(), b"mine");
    }
}
