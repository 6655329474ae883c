//! A recording block device: the file system under test on a disk whose
//! every write, zeroed range and cache flush is logged, in order, and the
//! crash images of that log, mounted.
//!
//! A FUSE file system of torture's own ([`fuse`]) serves one file, the
//! disk, with direct I/O; a loop device over that file carries ext4, XFS
//! or Btrfs. Every block write of the file system reaches the server as a
//! write at an offset, every cache flush (a journal commit, an fsync
//! reaching the disk) as an `fsync` (the loop driver's flush is an fsync
//! of its file), a discard or write-zeroes as an `fallocate`: a block-level
//! write log with flush barriers ([`log`]). A *crash image* is the base
//! image plus every logged entry before a durable end plus a chosen subset
//! of later ones, served by the same server as another file, copy-on-write
//! (what recovery writes on mount stays in that image).
//!
//! [`RecordingDisk`] ([`device`]) makes and mounts it all, and removes it
//! all on every way out. The file systems and the one-line checks of what
//! a machine lacks are [`spec`]'s; `fscompare` re-exports them.
//!
//! Approximations, stated: the log is the *arrival* order at the device,
//! one entry at a time, not dm-log-writes' completion order (see
//! [`device`]); the disk never tears a sector or a block; a crash image
//! applies whole entries.

pub mod device;
pub mod fuse;
pub mod log;
pub mod spec;
mod sys;

pub use device::{MountedView, RecordingDisk, ViewError};
pub use log::{BLOCK, EntryKind, LogStats, ViewSpec, durable_end};
pub use spec::{FsKind, FsSpec, NAMES, find_program, preflight, preflight_recording};
