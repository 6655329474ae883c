//! The process exit codes of `torture`, a contract for CI scripts.

/// The run passed: no violation was seen (every scenario met its expectation).
pub const PASS: i32 = 0;

/// A violation was found, or a scenario did not meet its expectation.
pub const VIOLATION: i32 = 1;

/// Bad input (nothing was touched), or the harness itself failed, or the run
/// was interrupted before a verdict could be trusted.
pub const BAD_INPUT: i32 = 2;

/// No violation, but the run gathered too little evidence to call it a pass
/// (no acknowledged operation, too few landed kills, a coverage target not
/// reached); the summary says what to raise. `run`: every scenario that did
/// not meet its expectation was inconclusive.
pub const INCONCLUSIVE: i32 = 3;
