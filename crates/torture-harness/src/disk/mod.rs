//! Disks for the file systems under test: the file systems torture makes
//! ([`spec`]; `fscompare` re-exports them) and the block-level write log
//! of a recording disk and its crash images ([`log`]).

pub mod log;
pub mod spec;

pub use log::{BLOCK, EntryKind, LogStats, ViewSpec, durable_end};
pub use spec::{FsKind, FsSpec, NAMES, find_program, preflight, preflight_recording};
