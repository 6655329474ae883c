//! The atomic-write libraries people pick, each driven the way its
//! documentation shows, and what each one syncs, read in its source (the
//! versions of `Cargo.lock`). Shared by `write_with` (the durability column
//! of `harness/bench.sh`) and `durability_adapter` (`harness/durability.sh`).

use std::io::Write;
use std::path::Path;

/// One way of replacing a file's content with an atomic write.
pub struct Library {
    /// The name on the command line and in the reports.
    pub name: &'static str,
    /// The crate whose version the reports give (from `Cargo.lock`).
    pub krate: &'static str,
    /// What it makes durable, with the source lines that say so.
    pub syncs: &'static str,
    write: fn(&Path, &[u8]) -> Result<(), String>,
}

impl Library {
    /// Replaces `path` with `data`.
    pub fn write(&self, path: &Path, data: &[u8]) -> Result<(), String> {
        (self.write)(path, data)
    }
}

/// Every library, in the order the reports list them.
pub const LIBRARIES: &[Library] = &[
    Library {
        name: "torture",
        krate: "crashsafe",
        syncs: "file fsync + dir fsync: `write_file_atomic` (src/atomic.rs: `file.sync_all()` \
                before the rename, `self.dir.sync()` after it, both under `Durability::Full`)",
        write: |path, data| {
            crashsafe::write_file_atomic(path, data, 0o644).map_err(|e| e.to_string())
        },
    },
    Library {
        name: "tempfile-persist",
        krate: "tempfile",
        syncs: "nothing: `NamedTempFile::persist` is `rename(2)` alone (src/file/imp/unix.rs:96 \
                `rename(old_path, new_path)?`); its doc says \"neither the file contents nor \
                the containing directory are synchronized\" (src/file/mod.rs:174-177)",
        write: |path, data| {
            let mut f = tempfile::NamedTempFile::new_in(parent(path)?).map_err(err)?;
            f.write_all(data).map_err(err)?;
            f.persist(path).map(drop).map_err(|e| e.to_string())
        },
    },
    Library {
        name: "tempfile-sync-persist",
        krate: "tempfile",
        syncs: "file fsync only: the caller's `as_file().sync_all()`, then `persist` (a rename, \
                no fsync of the directory)",
        write: |path, data| {
            let mut f = tempfile::NamedTempFile::new_in(parent(path)?).map_err(err)?;
            f.write_all(data).map_err(err)?;
            f.as_file().sync_all().map_err(err)?;
            f.persist(path).map(drop).map_err(|e| e.to_string())
        },
    },
    Library {
        name: "atomicwrites",
        krate: "atomicwrites",
        syncs: "file fsync + dir fsync: `AtomicFile::write` writes `tmpfile.tmp` in a fresh \
                `.atomicwriteXXXXXX` directory, `tmpfile.sync_all()` (lib.rs:164), `renameat` \
                into place (lib.rs:197), then `sync_all()` of the temporary directory and of \
                the target's (lib.rs:200-203)",
        write: |path, data| {
            atomicwrites::AtomicFile::new(path, atomicwrites::AllowOverwrite)
                .write(|f| f.write_all(data))
                .map_err(|e| e.to_string())
        },
    },
    Library {
        name: "atomic-write-file",
        krate: "atomic-write-file",
        syncs: "file fsync + dir fsync: `commit` calls `self.sync_all()` (lib.rs:616), then \
                `renameat` and `fsync(dir)` (src/imp/unix/mod.rs:183-185); without the \
                `unnamed-tmpfile` feature, a named `.NAME.XXXXXX` temporary file",
        write: |path, data| {
            let mut f = atomic_write_file::AtomicWriteFile::open(path).map_err(err)?;
            f.write_all(data).map_err(err)?;
            f.commit().map_err(err)
        },
    },
];

/// The library called `name`.
pub fn by_name(name: &str) -> Option<&'static Library> {
    LIBRARIES.iter().find(|l| l.name == name)
}

/// The names of every library, for usage lines.
pub fn names() -> String {
    let names: Vec<&str> = LIBRARIES.iter().map(|l| l.name).collect();
    names.join(", ")
}

fn parent(path: &Path) -> Result<&Path, String> {
    match path.parent() {
        Some(p) if p.as_os_str().is_empty() => Ok(Path::new(".")),
        Some(p) => Ok(p),
        None => Err(format!("{} has no directory", path.display())),
    }
}

fn err(e: std::io::Error) -> String {
    e.to_string()
}
