//! The operating-system seam.
//!
//! Everything that differs between platforms sits behind this one API:
//! directory fsync, POSIX record locks, parent-death signals and process
//! groups. Linux is the platform we test on; a `windows.rs` twin (using
//! `LockFileEx` and job objects) would implement the same functions. The
//! calls the disciplines make live in [`crashsafe::sys`]; the ones the
//! harness uses too (directory fsync, the `protected_symlinks` rule) are
//! re-exported here.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;
