//! The process exit codes of `torture`, a contract for CI scripts, and the
//! one mapping to them from a [`Verdict`] or an [`Error`].
//!
//! Every command follows the verdict's precedence (see [`Verdict`]): a
//! violation is exit 1 however the command ended, then an interrupt, then a
//! harness failure, then too little evidence; only then 0.

use crate::error::Error;
use crate::vocab::Verdict;

/// The run passed: no violation was seen (every scenario met its expectation).
pub const PASS: i32 = 0;

/// A violation was found, or a scenario (or a strategy of a comparison)
/// did not get its expected verdict.
pub const VIOLATION: i32 = 1;

/// Bad input: a wrong option, setting, path or scenario file, or a program
/// that fails without any fault. Nothing of the user's was touched.
pub const BAD_INPUT: i32 = 2;

/// No violation, but the run gathered too little evidence to call it a pass
/// (no acknowledged operation, too few landed kills, a coverage target not
/// reached); the summary says what to raise. `run`: every scenario that did
/// not meet its expectation was inconclusive.
pub const INCONCLUSIVE: i32 = 3;

/// The harness itself failed (a spawn, a write of a report, a mount): no
/// verdict on the code under test.
pub const HARNESS: i32 = 4;

/// SIGINT or SIGTERM stopped it before any violation was seen (128 + 2, as
/// a shell reports an interrupted command). The reports of what was done
/// are written.
pub const INTERRUPTED: i32 = 130;

/// Internal: what a child of the supervisor exits with when it finds its
/// supervisor gone (`platform::die_with_parent`). The supervisor never sees
/// it (it is the one gone); no `torture` command exits with it.
pub use crate::platform::ORPHANED;

/// The exit code of a verdict.
pub fn of_verdict(verdict: Verdict) -> i32 {
    match verdict {
        Verdict::Pass => PASS,
        Verdict::Fail => VIOLATION,
        Verdict::Inconclusive => INCONCLUSIVE,
        Verdict::Interrupted => INTERRUPTED,
        Verdict::Error => HARNESS,
    }
}

/// The exit code of an error.
pub fn of_error(error: &Error) -> i32 {
    if error.is_bad_input() {
        BAD_INPUT
    } else {
        HARNESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_its_own_code() {
        let mut codes: Vec<i32> = [
            Verdict::Pass,
            Verdict::Fail,
            Verdict::Inconclusive,
            Verdict::Interrupted,
            Verdict::Error,
        ]
        .into_iter()
        .map(of_verdict)
        .collect();
        codes.push(of_error(&Error::bad_input("x")));
        assert_eq!(of_error(&Error::harness("x")), of_verdict(Verdict::Error));
        codes.sort();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n, "{codes:?}");
        assert!(!codes.contains(&ORPHANED));
    }
}
