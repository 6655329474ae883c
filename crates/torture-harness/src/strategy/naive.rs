//! `naive`: truncate and rewrite the file in place, under a correct lock.
//!
//! Concurrency is handled, crashes are not: a kill between the truncating
//! open and the last write leaves a short or empty file. The document is
//! streamed in small writes, as a serializer writing straight to an
//! unbuffered `File` (`serde_json::to_writer(File::create(p)?, &v)`, which
//! issues one `write(2)` per token) does.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crashsafe::lock::{LockMode, StateLock};
use crashsafe::{IoContext, Result, Step};

use super::{Compute, Strategy};
use crate::vocab::{Expectation, Fault, Finding, ViolationKind};

/// The size of each write, as an unbuffered serializer would issue them
/// (serde_json's are smaller still: one per token).
const CHUNK: usize = 128;

/// In-place rewrite under the lock.
pub struct Naive;

impl Strategy for Naive {
    fn name(&self) -> &'static str {
        "naive"
    }
    fn summary(&self) -> &'static str {
        "under the lock, truncate the state file and rewrite it in place"
    }
    fn expected(&self) -> Expectation {
        Expectation::Fails(vec![ViolationKind::Torn])
    }
    fn explore_expected(&self) -> &'static [(Fault, Finding)] {
        // Under power loss (`posix`) the truncate may persist without the
        // writes after it, none of them being fsynced: an empty file.
        &[
            (Fault::Kill, Finding::Torn),
            (Fault::Eio, Finding::Torn),
            (Fault::Power, Finding::Torn),
        ]
    }
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()> {
        let lock = StateLock::acquire(state)?;
        let current = crashsafe::update::read(state)?;
        let next = f(current.as_deref())?;
        let mut file = File::create(state).at(Step::Write, state)?;
        for chunk in next.chunks(CHUNK) {
            file.write_all(chunk).at(Step::Write, state)?;
        }
        drop(file);
        lock.unlock()
    }
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>> {
        let _lock = StateLock::acquire_mode(state, LockMode::Shared)?;
        crashsafe::update::read(state)
    }
}
