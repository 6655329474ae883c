//! `cas-naive`: compare-and-swap with a check-then-act race.
//!
//! The file starts with a version line. The writer reads it, computes, writes
//! a temporary file, checks that the version is unchanged and only then
//! renames. Another writer can rename between the check and the rename, and
//! its update is lost.

use std::path::Path;

use crashsafe::atomic::{Durability, stage};
use crashsafe::{Error, Result};

use super::{Compute, Strategy};
use crate::vocab::{Expectation, ViolationKind};

/// Version check just before the rename.
pub struct CasNaive;

/// How many conflicts an update retries before giving up.
const MAX_ATTEMPTS: u32 = 10_000;

fn split_version(bytes: &[u8]) -> (u64, &[u8]) {
    let Some(nl) = bytes.iter().position(|&b| b == b'\n') else {
        return (0, bytes);
    };
    match std::str::from_utf8(&bytes[..nl])
        .ok()
        .and_then(|v| v.strip_prefix("version "))
    {
        Some(v) => (v.parse().unwrap_or(0), &bytes[nl + 1..]),
        None => (0, bytes),
    }
}

fn read_versioned(state: &Path) -> Result<Option<(u64, Vec<u8>)>> {
    Ok(crashsafe::update::read(state)?.map(|b| {
        let (v, body) = split_version(&b);
        (v, body.to_vec())
    }))
}

impl Strategy for CasNaive {
    fn name(&self) -> &'static str {
        "cas-naive"
    }
    fn summary(&self) -> &'static str {
        "read version, compute, re-check the version just before the rename (check-then-act race)"
    }
    fn expected(&self) -> Expectation {
        Expectation::Fails(vec![ViolationKind::Lost])
    }
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()> {
        for _ in 0..MAX_ATTEMPTS {
            let current = read_versioned(state)?;
            let version = current.as_ref().map_or(0, |c| c.0);
            let next = f(current.as_ref().map(|c| c.1.as_slice()))?;
            let mut framed = format!("version {}\n", version + 1).into_bytes();
            framed.extend_from_slice(&next);
            let staged = stage(state, &framed, 0o644, Durability::Full)?;
            let now = read_versioned(state)?.map_or(0, |c| c.0);
            if now == version {
                return staged.commit();
            }
        }
        Err(Error::CasExhausted {
            path: state.to_path_buf(),
            attempts: MAX_ATTEMPTS,
        })
    }
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>> {
        Ok(read_versioned(state)?.map(|c| c.1))
    }
}
