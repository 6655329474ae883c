//! The operating-system helpers many modules share.
//!
//! Directory fsync, POSIX record locks, parent-death signals, process
//! groups and the like sit here. It is not the only door to the OS: the
//! harness is Linux-only, and many modules (the tracer, the recording
//! disk, the process supervision) call `nix` and `libc` directly;
//! ARCHITECTURE.md ("The platform seam, and what bypasses it") lists
//! them. The
//! calls the disciplines make live in [`crashsafe::sys`]; the ones the
//! harness uses too (directory fsync, the `protected_symlinks` rule) are
//! re-exported here.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;
