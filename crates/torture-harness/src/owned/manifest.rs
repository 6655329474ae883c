//! The manifest, `.torture-run`: which directory `torture` made, for what,
//! by which process, and (once a run is over) what the run made in it.
//!
//! ```json
//! {"schema":"torture/manifest/v1","kind":"run","pid":4242,"started":123456,
//!  "complete":true,"entries":[{"path":"state","type":"file","ino":1311}]}
//! ```
//!
//! - `kind`: `run` (a run directory, given with `--dir` or temporary),
//!   `logs`, `explore`, `fscompare`, `power` (temporary working directories);
//! - `pid`, `started`: the process that wrote it and its start time (so a
//!   reused pid is not taken for it): while it lives, the directory is in
//!   use and nothing else touches it;
//! - `complete`, `entries`: written when a run ends, what it made: each
//!   path (relative, `/`-separated, inside the directory), its type and its
//!   inode number.
//!
//! A manifest is a claim, not a proof: whoever can write in the directory
//! can write one. It is read without following a link, its paths must stay
//! inside the directory, and it can only ever get an entry removed that is
//! still there with the same type and inode, in a directory that belongs
//! to the caller (see [`super`]).

use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use serde::{Deserialize, Serialize};

/// The manifest's file name in every directory `torture` makes.
pub const MANIFEST_FILE: &str = ".torture-run";

/// Whether `name` is a temporary file the atomic write of a manifest
/// makes (`..torture-run.tmp-XXXXXXXXXXXX`) and leaves if it is killed.
pub fn is_manifest_temp(name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|n| n.strip_prefix(MANIFEST_FILE))
        .and_then(|n| n.strip_prefix(crashsafe::atomic::TEMP_INFIX))
        .is_some_and(|s| s.len() == 12 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The manifest's `schema`.
pub const MANIFEST_SCHEMA: &str = "torture/manifest/v1";

/// A manifest larger than this is not one `torture` wrote.
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// What a directory is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A run directory: where the state under test lives.
    Run,
    /// An outside program's command output.
    Logs,
    /// `torture explore`'s snapshot and worker directories.
    Explore,
    /// `torture fscompare`'s images, mount points and run directories.
    Fscompare,
    /// A recording disk's base image, write log and mount points (the
    /// power-loss tier on a real file system).
    Power,
}

impl Kind {
    /// The name prefix of a temporary directory of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Run => "torture-",
            Kind::Logs => "torture-logs-",
            Kind::Explore => "torture-explore-",
            Kind::Fscompare => "torture-fscompare-",
            Kind::Power => "torture-power-",
        }
    }

    /// What it is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Run => "run directory",
            Kind::Logs => "log directory",
            Kind::Explore => "explore working directory",
            Kind::Fscompare => "fscompare working directory",
            Kind::Power => "power-loss working directory",
        }
    }
}

/// What an entry is; a symbolic link is never followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (a FIFO, a socket, a device node).
    Other,
}

impl EntryType {
    /// The type of a `st_mode`.
    pub fn of_mode(mode: u32) -> Self {
        match mode & libc::S_IFMT {
            libc::S_IFREG => EntryType::File,
            libc::S_IFDIR => EntryType::Dir,
            libc::S_IFLNK => EntryType::Symlink,
            _ => EntryType::Other,
        }
    }
}

/// One thing a run made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its path inside the directory, `/`-separated.
    pub path: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: EntryType,
    /// Its inode number.
    pub ino: u64,
}

/// A directory's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_SCHEMA`].
    pub schema: String,
    /// What the directory is for.
    pub kind: Kind,
    /// The process that wrote the manifest.
    pub pid: i32,
    /// That process's start time (clock ticks after boot).
    pub started: u64,
    /// Whether `entries` lists what a finished run made.
    pub complete: bool,
    /// What the run made.
    pub entries: Vec<Entry>,
}

impl Manifest {
    /// The manifest of a directory this process has just made: nothing
    /// in it yet.
    pub fn fresh(kind: Kind) -> Self {
        let pid = crate::platform::current_pid();
        Manifest {
            schema: MANIFEST_SCHEMA.into(),
            kind,
            pid,
            started: start_time(pid).unwrap_or(0),
            complete: false,
            entries: Vec::new(),
        }
    }

    /// The manifest of a finished run that made `entries`.
    pub fn sealed(kind: Kind, entries: Vec<Entry>) -> Self {
        Manifest {
            complete: true,
            entries,
            ..Manifest::fresh(kind)
        }
    }

    /// Writes it into `dir` with the atomic write. A symbolic link in its
    /// place is refused: the atomic write would replace what it points to.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let path = dir.join(MANIFEST_FILE);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(std::io::Error::other(format!(
                "{} is a symbolic link",
                path.display()
            )));
        }
        let json = serde_json::to_vec(self).expect("a manifest serializes");
        crashsafe::atomic::write_file_atomic(&path, &json, 0o644).map_err(std::io::Error::other)
    }

    /// Reads the manifest of the open directory `dir`. `Ok(None)`: there
    /// is none; `Err`: what is there is not a manifest `torture` wrote.
    pub fn read_at(dir: &impl AsFd) -> Result<Option<Manifest>, String> {
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK;
        let fd = match nix::fcntl::openat(dir.as_fd(), MANIFEST_FILE, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(Errno::ELOOP) => return Err("it is a symbolic link".into()),
            Err(e) => return Err(e.to_string()),
        };
        let mut file = std::fs::File::from(fd);
        let meta = file.metadata().map_err(|e| e.to_string())?;
        if !meta.is_file() {
            return Err("it is not a regular file".into());
        }
        let mut text = String::new();
        (&mut file)
            .take(MAX_MANIFEST_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        manifest.validate()?;
        Ok(Some(manifest))
    }

    fn validate(&self) -> Result<(), String> {
        if self.schema != MANIFEST_SCHEMA {
            return Err(format!("schema {:?}", self.schema));
        }
        match self.entries.iter().find(|e| !is_inside(&e.path)) {
            Some(e) => Err(format!("it names {:?}, outside the directory", e.path)),
            None => Ok(()),
        }
    }

    /// Whether the process that wrote it is alive and is not this one.
    pub fn in_use(&self) -> bool {
        self.pid != crate::platform::current_pid()
            && self.pid > 0
            && start_time(self.pid) == Some(self.started)
    }
}

/// Whether `path` is a relative path that stays inside its directory: no
/// leading `/`, no empty, `.` or `..` component, no NUL.
pub fn is_inside(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\0')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// The start time of process `pid` (clock ticks after boot), from
/// `/proc/PID/stat`.
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces) start at field 3;
    // the start time is field 22.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_manifests_own_temporary_files_are_recognized() {
        assert!(is_manifest_temp("..torture-run.tmp-AbC123xyz789"));
        for other in [
            ".torture-run",
            "..torture-run.tmp-short",
            "..torture-run.tmp-AbC123xyz78/",
            ".state.tmp-AbC123xyz789",
            "..torture-run.tmp-AbC123xyz789x",
        ] {
            assert!(!is_manifest_temp(other), "{other}");
        }
    }

    #[test]
    fn paths_must_stay_inside() {
        for ok in ["state", "a/b", ".state.tmp-x", "..x"] {
            assert!(is_inside(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "..",
            "a/../../b",
            "a//b",
            "./a",
            "a/",
            "a\0b",
        ] {
            assert!(!is_inside(bad), "{bad:?}");
        }
    }

    #[test]
    fn written_manifests_read_back_and_forged_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let fd = super::super::tree::open_dir(dir.path()).unwrap();
        assert_eq!(Manifest::read_at(&fd), Ok(None));
        let m = Manifest::sealed(
            Kind::Run,
            vec![Entry {
                path: "state".into(),
                kind: EntryType::File,
                ino: 7,
            }],
        );
        m.write(dir.path()).unwrap();
        assert_eq!(Manifest::read_at(&fd), Ok(Some(m.clone())));
        assert!(!m.in_use(), "this process is not another user");
        std::fs::write(dir.path().join(MANIFEST_FILE), b"created by torture\n").unwrap();
        assert!(Manifest::read_at(&fd).is_err());
        let escape = serde_json::to_string(&Manifest::sealed(
            Kind::Run,
            vec![Entry {
                path: "../victim".into(),
                kind: EntryType::File,
                ino: 7,
            }],
        ))
        .unwrap();
        std::fs::write(dir.path().join(MANIFEST_FILE), escape).unwrap();
        assert!(Manifest::read_at(&fd).unwrap_err().contains("outside"));
        std::fs::remove_file(dir.path().join(MANIFEST_FILE)).unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"precious").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join(MANIFEST_FILE)).unwrap();
        assert!(Manifest::read_at(&fd).is_err());
        assert!(m.write(dir.path()).is_err(), "never written through a link");
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    }

    #[test]
    fn a_live_writer_is_found_by_pid_and_start_time() {
        let me = Manifest::fresh(Kind::Logs);
        assert_eq!(start_time(me.pid), Some(me.started));
        let parent = Manifest {
            pid: std::os::unix::process::parent_id() as i32,
            started: start_time(std::os::unix::process::parent_id() as i32).unwrap(),
            ..me.clone()
        };
        assert!(parent.in_use());
        let reused = Manifest {
            started: parent.started + 1,
            ..parent
        };
        assert!(!reused.in_use(), "another process with the same pid");
    }
}
