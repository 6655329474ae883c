//! What `torture` makes on the machine, and how it removes only that.
//!
//! Every directory `torture` makes holds a [manifest]. Two rules
//! decide what may be removed:
//!
//! - **A temporary directory** (`$TMPDIR/torture-*`, mode 0700, a random
//!   name: a run directory when no `--dir` is given, an outside program's
//!   logs, explore's, fscompare's and a recording disk's working
//!   directories; see [`scratch`])
//!   is torture's own: it is removed whole at the end, or by the watchdog
//!   if `torture` is killed, never following a link nor entering another
//!   file system ([`tree`]). A failing run's directory is kept as evidence,
//!   with a complete manifest, for [`clean`].
//! - **A run directory** that already exists (`--dir` given again, or a kept
//!   one that `torture clean` removes) must belong to the caller and not be
//!   writable by everyone, and hold nothing but what its complete manifest
//!   lists, each entry still of the same type and inode; only those entries
//!   are removed. Anything else refuses the directory, untouched.

pub mod clean;
pub mod manifest;
pub mod scratch;
pub mod tree;

use std::collections::HashMap;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

pub use manifest::{Entry, EntryType, Kind, MANIFEST_FILE, Manifest};
pub use scratch::{DirWatch, ScratchDir};
use tree::Found;

/// Why `torture` leaves a directory alone.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The path is a symbolic link.
    #[error("is a symbolic link")]
    Symlink,
    /// The path is not a directory.
    #[error("is not a directory")]
    NotDirectory,
    /// Somebody else owns it.
    #[error("belongs to uid {owner}, not to you (uid {you})")]
    NotYours {
        /// Its owner.
        owner: u32,
        /// The caller's effective uid.
        you: u32,
    },
    /// Anybody may write in it, so anybody may have forged its manifest.
    #[error("is writable by everyone (mode {mode:03o})")]
    WorldWritable {
        /// Its permission bits.
        mode: u32,
    },
    /// It holds something and no manifest.
    #[error("is not empty (it holds {example:?}, and torture did not create the directory)")]
    NotOurs {
        /// One of the names in it.
        example: String,
    },
    /// It holds no manifest at all.
    #[error("has no manifest ({MANIFEST_FILE}), so torture did not make it")]
    NoManifest,
    /// Its manifest is not one `torture` wrote.
    #[error("is not empty, and its {MANIFEST_FILE} is no manifest of torture's ({why})")]
    BadManifest {
        /// What is wrong with it.
        why: String,
    },
    /// It is another kind of directory.
    #[error("is a torture {}, not a run directory", .0.describe())]
    WrongKind(Kind),
    /// The process that made it is still running.
    #[error("is in use by torture (pid {0})")]
    InUse(i32),
    /// A run was killed in it before it could list what it made.
    #[error("was left by a run that did not finish, so torture cannot tell its files from others")]
    Unfinished,
    /// It holds something its manifest does not list.
    #[error("is not empty (it holds {0:?}, which torture did not create)")]
    Foreign(String),
    /// Something its manifest lists was replaced since.
    #[error("holds {0:?}, which changed since torture made it")]
    Changed(String),
    /// A file system is mounted in it.
    #[error("holds a mount point ({0:?})")]
    MountPoint(String),
    /// The directory could not be read or cleared.
    #[error("{what}: {source}")]
    Io {
        /// What failed.
        what: String,
        /// Why.
        source: io::Error,
    },
}

fn io_error(what: &str) -> impl Fn(io::Error) -> Refusal + '_ {
    move |source| Refusal::Io {
        what: what.to_string(),
        source,
    }
}

/// An existing directory checked to be the caller's: its descriptor and
/// its device.
struct Checked {
    fd: OwnedFd,
    dev: u64,
}

impl Checked {
    /// Opens `path`, which must be a directory (not a link to one) of the
    /// caller's that not everybody can write in.
    fn open(path: &Path) -> Result<Checked, Refusal> {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => return Err(Refusal::Symlink),
            Ok(m) if !m.is_dir() => return Err(Refusal::NotDirectory),
            _ => {}
        }
        let fd = tree::open_dir(path).map_err(io_error("cannot be opened"))?;
        let st = tree::stat(&fd).map_err(io_error("cannot be looked at"))?;
        let you = nix::unistd::geteuid().as_raw();
        if st.st_uid != you {
            return Err(Refusal::NotYours {
                owner: st.st_uid,
                you,
            });
        }
        if st.st_mode & 0o002 != 0 {
            return Err(Refusal::WorldWritable {
                mode: st.st_mode & 0o7777,
            });
        }
        Ok(Checked { fd, dev: st.st_dev })
    }

    /// Everything under the directory, but the manifest.
    fn list(&self) -> Result<Vec<Found>, Refusal> {
        let fd = self.fd.try_clone().map_err(io_error("cannot be listed"))?;
        let found = tree::list(fd, self.dev).map_err(io_error("cannot be listed"))?;
        Ok(found
            .into_iter()
            .filter(|f| f.path != MANIFEST_FILE)
            .collect())
    }

    /// The first name in the directory, without walking it.
    fn first_name(&self) -> Result<Option<String>, Refusal> {
        let fd = self.fd.try_clone().map_err(io_error("cannot be listed"))?;
        tree::first_name(fd).map_err(io_error("cannot be listed"))
    }

    /// The manifest, and what is in the directory besides it; `None` for
    /// an empty directory. Without a manifest the directory is not walked
    /// (it may be somebody's home).
    fn manifest(&self) -> Result<Option<(Manifest, Vec<Found>)>, Refusal> {
        let manifest = match Manifest::read_at(&self.fd) {
            Ok(Some(m)) => m,
            Ok(None) => {
                return match self.first_name()? {
                    None => Ok(None),
                    Some(example) => Err(Refusal::NotOurs { example }),
                };
            }
            Err(why) => return Err(Refusal::BadManifest { why }),
        };
        if manifest.in_use() {
            return Err(Refusal::InUse(manifest.pid));
        }
        Ok(Some((manifest, self.list()?)))
    }

    /// Removes what the directory holds that `manifest` lists, unchanged.
    fn remove_listed(&self, manifest: &Manifest) -> Result<(), Refusal> {
        let listed = by_path(manifest);
        let fd = self.fd.try_clone().map_err(io_error("cannot be cleared"))?;
        let left = tree::remove(fd, self.dev, &|f| {
            f.path != MANIFEST_FILE && unchanged(&listed, f)
        })
        .map_err(io_error("cannot be cleared"))?;
        match left.into_iter().find(|p| p != MANIFEST_FILE) {
            Some(p) => Err(Refusal::Foreign(p)),
            None => Ok(()),
        }
    }
}

fn by_path(manifest: &Manifest) -> HashMap<&str, &Entry> {
    manifest
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e))
        .collect()
}

fn unchanged(listed: &HashMap<&str, &Entry>, f: &Found) -> bool {
    f.utf8
        && listed
            .get(f.path.as_str())
            .is_some_and(|e| e.kind == f.kind && e.ino == f.ino)
}

/// Refuses a run directory unless everything in it is listed by its
/// complete manifest, unchanged.
fn verify_run(manifest: &Manifest, found: &[Found]) -> Result<(), Refusal> {
    if manifest.kind != Kind::Run {
        return Err(Refusal::WrongKind(manifest.kind));
    }
    if !manifest.complete && !found.is_empty() {
        return Err(Refusal::Unfinished);
    }
    let listed = by_path(manifest);
    for f in found {
        if f.other_fs {
            return Err(Refusal::MountPoint(f.path.clone()));
        }
        match listed.get(f.path.as_str()) {
            Some(_) if unchanged(&listed, f) => {}
            Some(_) => return Err(Refusal::Changed(f.path.clone())),
            None => return Err(Refusal::Foreign(f.path.clone())),
        }
    }
    Ok(())
}

/// Makes the existing directory `path` ready for a new run: it must be
/// the caller's and empty, or a finished run's directory holding only what
/// that run made, which is then removed. Anything else is refused with
/// nothing touched.
pub fn clear_for_reuse(path: &Path) -> Result<(), Refusal> {
    let dir = Checked::open(path)?;
    let Some((manifest, found)) = dir.manifest()? else {
        return Ok(());
    };
    verify_run(&manifest, &found)?;
    dir.remove_listed(&manifest)
}

/// Writes `dir`'s complete manifest: the entries `made` says the run made
/// (never the manifest, a name that is not UTF-8, or what lies on another
/// file system).
pub fn seal(dir: &Path, made: &dyn Fn(&Found) -> bool) -> io::Result<()> {
    let fd = tree::open_dir(dir)?;
    let dev = tree::stat(&fd)?.st_dev;
    let entries = tree::list(fd, dev)?
        .into_iter()
        .filter(|f| f.path != MANIFEST_FILE && f.utf8 && !f.other_fs && made(f))
        .map(|f| Entry {
            path: f.path,
            kind: f.kind,
            ino: f.ino,
        })
        .collect();
    Manifest::sealed(Kind::Run, entries).write(dir)
}

/// Checks that `path` may be removed, and with `remove` removes it: a run
/// directory by its manifest (see [`clear_for_reuse`]), then the
/// directory; a working directory (logs, explore, fscompare, power) whole, if no
/// file system is mounted in it. Returns its kind.
pub fn remove_own_dir(path: &Path, remove: bool) -> Result<Kind, Refusal> {
    let dir = Checked::open(path)?;
    let (manifest, found) = dir.manifest()?.ok_or(Refusal::NoManifest)?;
    if manifest.kind == Kind::Run {
        verify_run(&manifest, &found)?;
    } else if let Some(f) = found.iter().find(|f| f.other_fs) {
        return Err(Refusal::MountPoint(f.path.clone()));
    }
    if !remove {
        return Ok(manifest.kind);
    }
    if manifest.kind == Kind::Run {
        dir.remove_listed(&manifest)?;
    } else {
        let fd = dir.fd.try_clone().map_err(io_error("cannot be removed"))?;
        let left = tree::remove(fd, dir.dev, &|f| f.path != MANIFEST_FILE)
            .map_err(io_error("cannot be removed"))?;
        if let Some(p) = left.into_iter().find(|p| p != MANIFEST_FILE) {
            return Err(Refusal::Foreign(p));
        }
    }
    remove_manifest_and_dir(path)?;
    Ok(manifest.kind)
}

fn remove_manifest_and_dir(path: &Path) -> Result<(), Refusal> {
    match std::fs::remove_file(path.join(MANIFEST_FILE)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(io_error("cannot be removed (its manifest)")(e));
        }
        _ => {}
    }
    std::fs::remove_dir(path).map_err(io_error("cannot be removed"))
}

/// Whether the watchdog may remove the registered directory `path` now
/// that `torture` is gone: a directory (not a link) named `torture-*`,
/// the caller's, holding a manifest or nothing at all. Whatever a line of
/// its protocol might have named, nothing else is ever removed.
pub fn removable_after_death(path: &Path) -> bool {
    let named = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("torture-"));
    if !named || !path.is_absolute() {
        return false;
    }
    let Ok(dir) = Checked::open(path) else {
        return false;
    };
    match Manifest::read_at(&dir.fd) {
        Ok(Some(_)) => true,
        // Killed while its manifest was being written: only the atomic
        // write's temporary file of it is there, or nothing.
        Ok(None) => std::fs::read_dir(path).is_ok_and(|entries| {
            entries.flatten().all(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                crate::owned::manifest::is_manifest_temp(&name)
            })
        }),
        Err(_) => false,
    }
}
