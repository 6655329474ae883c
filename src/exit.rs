//! The process exit codes of `torture`, a contract for CI scripts.

/// The run passed: no violation was seen (every scenario met its expectation).
pub const PASS: i32 = 0;

/// A violation was found, or a scenario did not meet its expectation.
pub const VIOLATION: i32 = 1;

/// Bad input (nothing was touched), or the harness itself failed, or the run
/// was interrupted before a verdict could be trusted.
pub const BAD_INPUT: i32 = 2;
