//! The strategy zoo: named ways of updating a state file, correct and broken.
//!
//! Each strategy is a small module implementing [`Strategy`]: an update path
//! (read, compute, write) and a read path. The runner drives them; the
//! verifier judges them. Each one declares the verdict it must get under
//! SIGKILL torture, which `torture list` prints and the tests check.

use std::path::Path;

use crate::vocab::{Expectation, Fault, Finding};
use crashsafe::Result;

mod cas_excl;
mod cas_naive;
mod fcntl_close;
mod fsync_ignore;
mod lock_target;
mod naive;
mod no_dir_fsync;
mod no_fsync;
mod no_lock;
mod reference;
mod short_write;
mod sqlite;

/// The computation of an update: current bytes (`None` if absent) to new bytes.
pub type Compute<'a> = dyn FnMut(Option<&[u8]>) -> Result<Vec<u8>> + 'a;

/// A way of updating and reading a state file.
pub trait Strategy: Send + Sync {
    /// The name used on the command line.
    fn name(&self) -> &'static str;
    /// One line saying what it does.
    fn summary(&self) -> &'static str;
    /// The verdict it must get under SIGKILL torture (the process-crash tier).
    fn expected(&self) -> Expectation;
    /// What `torture explore` must find, as (fault, class) pairs that must
    /// each show; empty means it must pass every fault at every point.
    /// Concurrency flaws need concurrent writers and cannot show here. A
    /// [`Fault::Power`] pair is what the default persistence model
    /// (`posix`) must find.
    fn explore_expected(&self) -> &'static [(Fault, Finding)] {
        &[]
    }
    /// One read-modify-write of the state at `state`.
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()>;
    /// Reads the state the way a reader using this strategy would.
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>>;
    /// Closes whatever this thread keeps open across calls (SQLite's
    /// connections), so that the file system holding it can be unmounted.
    fn close_all(&self) {}
}

static ZOO: &[&dyn Strategy] = &[
    &reference::Reference,
    &naive::Naive,
    &no_lock::NoLock,
    &lock_target::LockTarget,
    &fcntl_close::FcntlClose,
    &cas_naive::CasNaive,
    &cas_excl::CasExcl,
    &no_fsync::NoFsync,
    &no_dir_fsync::NoDirFsync,
    &short_write::ShortWrite,
    &fsync_ignore::FsyncIgnore,
    &sqlite::Sqlite,
];

impl std::fmt::Debug for dyn Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every strategy, in the order `torture list` prints them.
pub fn all() -> &'static [&'static dyn Strategy] {
    ZOO
}

/// The correct discipline, the default of every command.
pub fn reference() -> &'static dyn Strategy {
    &reference::Reference
}

/// The strategy called `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Strategy> {
    ZOO.iter().copied().find(|s| s.name() == name)
}

/// The names of all strategies, comma-separated, for error messages.
pub fn names() -> String {
    ZOO.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Document;

    /// Every strategy, driven by one process, keeps every update and reads
    /// back a valid document: the zoo's flaws need crashes or concurrency.
    #[test]
    fn every_strategy_round_trips_sequentially() {
        for s in all() {
            let dir = tempfile::tempdir().unwrap();
            let state = dir.path().join("state");
            for seq in 0..5u64 {
                s.update(&state, &mut |cur| {
                    let mut doc = match cur {
                        None => Document::new(2, 64),
                        Some(b) => Document::decode(b).map_err(crashsafe::Error::Rejected)?,
                    };
                    doc.apply((seq % 2) as usize, seq)
                        .map_err(crashsafe::Error::Rejected)?;
                    Ok(doc.encode())
                })
                .unwrap_or_else(|e| panic!("{}: {e}", s.name()));
            }
            let bytes = s.read(&state).unwrap().unwrap();
            let doc = Document::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", s.name()));
            assert_eq!(doc.counters, vec![3, 2], "{}", s.name());
        }
    }

    #[test]
    fn names_are_unique_and_found() {
        for s in all() {
            assert_eq!(by_name(s.name()).unwrap().name(), s.name());
        }
        assert!(by_name("nope").is_none());
    }
}
