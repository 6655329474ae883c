//! `crashsafe`: keep state in files so that a crash never tears it and
//! never loses an acknowledged update.
//!
//! The reference disciplines, for application code:
//! - [`write_file_atomic`]: temp file in the same directory, write, fsync,
//!   rename, fsync the directory;
//! - [`StateLock`]: `flock` on a sibling `PATH.lock` that is never renamed or
//!   deleted, held across the whole read-compute-write;
//! - [`update()`]: the two together, the one call to use (it also removes
//!   the temporary files of killed writers, under its lock);
//! - [`sweep`]: that removal, for callers who hold a lock of their own;
//! - [`CasStore`]: compare-and-swap on versioned files, for when no lock can
//!   be taken.
//!
//! Every error is an [`Error`] that names the [`Step`] that failed and the
//! path it failed on. Each module's documentation states what it
//! guarantees; the `torture` harness checks those guarantees by SIGKILLing
//! writers mid-operation and by injecting faults at every system call.
//! Unix only (Linux is what it is tested on).
//!
//! ```
//! use crashsafe::{update, write_file_atomic};
//!
//! # let dir = tempfile::tempdir()?;
//! # let config = dir.path().join("config.json");
//! # let state = dir.path().join("state.json");
//! // Replace a file atomically and durably.
//! write_file_atomic(&config, b"{}", 0o644)?;
//!
//! // Read-modify-write under the lock: no torn write, no lost update.
//! update(&state, |current| {
//!     let n: u64 = current.map_or(0, |b| String::from_utf8_lossy(b).parse().unwrap_or(0));
//!     Ok((n + 1).to_string().into_bytes())
//! })?;
//! # assert_eq!(std::fs::read(&state)?, b"1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod atomic;
pub mod cas;
mod error;
pub mod lock;
pub mod sys;
pub mod update;

/// Helpers for unit tests, here and in the harness (feature `test-util`):
/// not part of the API.
#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod testutil;

pub use atomic::{sweep, write_file_atomic};
pub use cas::CasStore;
pub use error::{Error, IoContext, Result, Step};
pub use lock::StateLock;
pub use update::{read, update, update_timeout};
