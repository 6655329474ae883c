//! Typed errors of the library.
//!
//! Every error names the step that failed and the path it failed on, so that
//! a message such as "fsync of parent directory /x failed: EIO" can be read
//! without a backtrace. Both enums are `#[non_exhaustive]`: a match on them
//! needs a catch-all arm, so a new step or error is not a breaking change.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// A step of a discipline that touches the file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Creating the exclusive temporary file.
    CreateTemp,
    /// Writing the bytes into the temporary file.
    Write,
    /// fsync of the temporary file.
    Fsync,
    /// Setting the mode of the temporary file.
    SetMode,
    /// Renaming the temporary file over the target.
    Rename,
    /// Creating a hard link (compare-and-swap claim).
    Link,
    /// fsync of the parent directory.
    FsyncDir,
    /// Opening the parent directory.
    OpenDir,
    /// Resolving a symbolic link at the target.
    ResolveSymlink,
    /// Opening the lock file.
    OpenLock,
    /// Taking or releasing the lock.
    Lock,
    /// Reading the current state.
    Read,
    /// Listing the directory.
    ListDir,
    /// Removing an old version or a temporary file.
    Remove,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Step::CreateTemp => "create of temporary file",
            Step::Write => "write of temporary file",
            Step::Fsync => "fsync of temporary file",
            Step::SetMode => "chmod of temporary file",
            Step::Rename => "rename over target",
            Step::Link => "link of new version",
            Step::FsyncDir => "fsync of parent directory",
            Step::OpenDir => "open of parent directory",
            Step::ResolveSymlink => "resolution of symlink",
            Step::OpenLock => "open of lock file",
            Step::Lock => "flock of lock file",
            Step::Read => "read of state",
            Step::ListDir => "listing of directory",
            Step::Remove => "removal",
        };
        f.write_str(s)
    }
}

/// Errors of the reference disciplines and of the strategies under test.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file-system step failed.
    #[error("{step} {} failed: {source}", path.display())]
    Io {
        /// The step that failed.
        step: Step,
        /// The path it failed on.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The lock could not be taken in time.
    #[error("lock {} still held by another process after {timeout:?}: is a writer stuck?", path.display())]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        timeout: Duration,
    },
    /// The existing target has no write permission bit.
    #[error("{} is read-only (mode has no write bit): make it writable to replace it", path.display())]
    ReadOnlyTarget {
        /// The target.
        path: PathBuf,
    },
    /// The target is a symlink that the kernel's `protected_symlinks` rule
    /// forbids following: it sits in a sticky world-writable directory and
    /// belongs to neither that directory's owner nor the caller.
    #[error("{} is a symlink owned by uid {owner} in a sticky world-writable directory: refusing to follow it (the protected_symlinks rule); remove it or write elsewhere", path.display())]
    ProtectedSymlink {
        /// The link.
        path: PathBuf,
        /// The link's owner.
        owner: u32,
    },
    /// The target path has no file name or no parent directory.
    #[error("{}: not a file path (it has no parent directory or no file name)", path.display())]
    BadPath {
        /// The offending path.
        path: PathBuf,
    },
    /// A compare-and-swap update lost every retry to concurrent writers.
    #[error("compare-and-swap on {} lost {attempts} races in a row: too much contention", path.display())]
    CasExhausted {
        /// The state's base path.
        path: PathBuf,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A compare-and-swap claim may or may not have become visible.
    #[error("compare-and-swap on {}: version {version} was collected while this update was in flight; it may or may not be visible", path.display())]
    CasAmbiguous {
        /// The state's base path.
        path: PathBuf,
        /// The version that was claimed.
        version: u64,
    },
    /// The update function refused to produce a new state.
    #[error("update rejected: {0}")]
    Rejected(String),
    /// A step outside the disciplines failed: a storage backend the caller
    /// plugs in (the harness's `sqlite` strategy) or the caller's own code.
    #[error("{what} {} failed: {source}", path.display())]
    External {
        /// What failed, as a word of the message: `sqlite`.
        what: &'static str,
        /// The path it failed on.
        path: PathBuf,
        /// The backend's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Builds an [`Error::Io`] for `step` on `path`.
    pub fn io(step: Step, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            step,
            path: path.into(),
            source,
        }
    }
}

/// The result type of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Maps an `io::Result` into a library result tagged with its step and path.
pub trait IoContext<T> {
    /// The error, if any, as an [`Error::Io`] of `step` on `path`.
    fn at(self, step: Step, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, step: Step, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::io(step, path, e))
    }
}
