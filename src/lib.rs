//! `torture`: crash-consistency torture for code that keeps state in files.
//!
//! The library has two halves.
//!
//! **The reference disciplines**, for application code:
//! - [`write_file_atomic`]: temp file in the same directory, write, fsync,
//!   rename, fsync the directory;
//! - [`StateLock`]: `flock` on a sibling `PATH.lock` that is never renamed or
//!   deleted, held across the whole read-compute-write;
//! - [`update()`]: the two together, the one call to use;
//! - [`CasStore`]: compare-and-swap on versioned files, for when no lock can
//!   be taken.
//!
//! **The harness** that proves them: a [zoo](strategy) of correct and broken
//! strategies, a multiprocess [runner] that SIGKILLs writers mid-operation,
//! a [verifier] that turns what was acknowledged and what is on disk into a
//! verdict, and [reports](report).

#![warn(missing_docs)]

pub mod atomic;
pub mod cas;
pub mod cli;
pub mod duration;
mod error;
pub mod exit;
pub mod lock;
pub mod platform;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod seed;
pub mod state;
pub mod strategy;
pub mod update;
pub mod verifier;

#[cfg(test)]
mod testutil;

pub use atomic::write_file_atomic;
pub use cas::CasStore;
pub use error::{Error, Result, Step};
pub use lock::StateLock;
pub use update::{read, update, update_timeout};
