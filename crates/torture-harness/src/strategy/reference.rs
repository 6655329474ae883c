//! `reference`: the library's own [`crashsafe::update`] (lock + atomic write).

use std::path::Path;

use crashsafe::Result;

use super::{Compute, Strategy};
use crate::vocab::Expectation;

/// Lock + atomic write + directory fsync.
pub struct Reference;

impl Strategy for Reference {
    fn name(&self) -> &'static str {
        "reference"
    }
    fn summary(&self) -> &'static str {
        "flock on state.lock held across read-compute-write; temp file, fsync, rename, fsync dir"
    }
    fn expected(&self) -> Expectation {
        Expectation::Pass
    }
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()> {
        crashsafe::update::update(state, f)
    }
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>> {
        crashsafe::update::read(state)
    }
}
