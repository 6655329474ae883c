//! Disks for the file systems under test. For now, the file systems
//! torture makes ([`spec`]); `fscompare` re-exports them.

pub mod spec;

pub use spec::{FsKind, FsSpec, NAMES, find_program, preflight, preflight_recording};
