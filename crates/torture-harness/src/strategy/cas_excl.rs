//! `cas-excl`: the library's correct compare-and-swap ([`crashsafe::cas`]).

use std::path::Path;

use crashsafe::Result;
use crashsafe::cas::CasStore;

use super::{Compute, Strategy};
use crate::vocab::Expectation;

/// Versioned files claimed with `link(2)`.
pub struct CasExcl;

impl Strategy for CasExcl {
    fn name(&self) -> &'static str {
        "cas-excl"
    }
    fn summary(&self) -> &'static str {
        "compare-and-swap: versions claimed with link(2) (exclusive), retry on conflict, old versions collected"
    }
    fn expected(&self) -> Expectation {
        Expectation::Pass
    }
    fn update(&self, state: &Path, f: &mut Compute<'_>) -> Result<()> {
        CasStore::new(state)?.update(f).map(|_| ())
    }
    fn read(&self, state: &Path) -> Result<Option<Vec<u8>>> {
        Ok(CasStore::new(state)?.read()?.map(|v| v.bytes))
    }
}
