//! `sqlite`: the state as one row of an SQLite database, one transaction per
//! update.
//!
//! The answer for state bigger than about a kilobyte, or structured: SQLite
//! does the atomic write (its journal) and the lock (its file locks) itself.
//! Each update is `BEGIN IMMEDIATE` (the write lock, taken up front, so two
//! read-modify-writes cannot interleave), read, compute, write, `COMMIT`, in
//! WAL mode with `synchronous=FULL` (the WAL is fsynced at every commit) and
//! a busy timeout instead of failing on contention. Slower than JSON plus
//! flock; it must lose nothing.
//!
//! `torture explore` finds `unsafe_ack` under `eio`: SQLite ignores a failed
//! fsync of the directory after it creates the WAL file, and a failed fsync
//! in the checkpoint when the connection closes, and the operation still
//! succeeds. The first can lose a committed transaction on power loss (the
//! WAL's directory entry may not be on disk); the second re-syncs data the
//! commit had already made durable, which the rule (a failed fsync, then
//! exit 0) cannot tell apart.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crashsafe::{Error, Result};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::{Compute, Strategy};
use crate::vocab::{Expectation, Fault, Finding};

/// How long a writer waits for the database lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

thread_local! {
    /// One connection per database per thread, as an application keeps it,
    /// with the identity (device, inode) of the file it opened.
    static CONNECTIONS: RefCell<HashMap<PathBuf, (Connection, FileId)>> =
        RefCell::new(HashMap::new());
}

/// A file's identity: (device, inode).
type FileId = (u64, u64);

/// The identity of the file at `path`, if there is one.
fn identity(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// One SQLite transaction per update.
pub struct Sqlite;

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))?;
    conn.execute_batch(
        "PRAGMA synchronous=FULL;
         CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 0), doc BLOB NOT NULL);",
    )?;
    Ok(conn)
}

/// Runs `f` on this thread's connection to `path`, opening it on first use,
/// and again if the file at `path` was replaced (a restored copy, say): an
/// old connection would read the old inode. A failed connection is dropped,
/// so the next call opens a fresh one.
fn with_connection<T>(path: &Path, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
    CONNECTIONS.with(|cell| {
        let mut conns = cell.borrow_mut();
        let current = identity(path);
        if conns.get(path).is_none_or(|c| Some(c.1) != current) {
            conns.remove(path);
            let conn = open(path).map_err(|e| sqlite_error(path, e))?;
            let id = identity(path).unwrap_or_default();
            conns.insert(path.to_path_buf(), (conn, id));
        }
        let (conn, _) = conns.get_mut(path).expect("just inserted");
        let result = f(conn);
        if result.is_err() {
            conns.remove(path);
        }
        result
    })
}

fn sqlite_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::External {
        what: "sqlite",
        path: path.to_path_buf(),
        source: Box::new(e),
    }
}

impl Strategy for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn summary(&self) -> &'static str {
        "one SQLite transaction per update (BEGIN IMMEDIATE, WAL, synchronous=FULL, busy timeout)"
    }
    fn expected(&self) -> Expectation {
        Expectation::Pass
    }
    fn explore_expected(&self) -> &'static [(Fault, Finding)] {
        &[(Fault::Eio, Finding::UnsafeAck)]
    }
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()> {
        let err = |e| sqlite_error(state, e);
        with_connection(state, |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let current: Option<Vec<u8>> = tx
                .query_row("SELECT doc FROM state WHERE id = 0", [], |r| r.get(0))
                .optional()
                .map_err(err)?;
            let next = f(current.as_deref())?;
            tx.execute(
                "INSERT INTO state (id, doc) VALUES (0, ?1) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                [&next],
            )
            .map_err(err)?;
            tx.commit().map_err(err)
        })
    }
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>> {
        with_connection(state, |conn| {
            conn.query_row("SELECT doc FROM state WHERE id = 0", [], |r| r.get(0))
                .optional()
                .map_err(|e| sqlite_error(state, e))
        })
    }

    fn close_all(&self) {
        CONNECTIONS.with(|cell| cell.borrow_mut().clear());
    }
}
