//! STUB (local only, replaced by the helper's module).
#![allow(missing_docs, unused)]
pub use crate::fscompare::mount::FsSpec;
use crate::process::Watchdog;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Write,
    Zero,
    Flush,
}
#[derive(Debug, Clone, Default)]
pub struct LogStats {
    pub writes: u64,
    pub flushes: u64,
    pub zeroes: u64,
    pub bytes: u64,
}
pub enum ViewError {
    MountFailed(String),
    Harness(String),
}
pub struct RecordingDisk;
pub struct MountedView<'a>(&'a ());
impl MountedView<'_> {
    pub fn root(&self) -> &Path {
        Path::new("/")
    }
}
pub fn preflight_recording(spec: &FsSpec) -> Result<(), String> {
    Err("stub".into())
}
impl RecordingDisk {
    pub fn create(
        spec: &FsSpec,
        scratch_parent: &Path,
        image_bytes: u64,
        watchdog: &Arc<Watchdog>,
    ) -> Result<RecordingDisk, String> {
        Err("stub".into())
    }
    pub fn root(&self) -> &Path {
        Path::new("/")
    }
    pub fn position(&self) -> u64 {
        0
    }
    pub fn clock(&self) -> Arc<AtomicU64> {
        Arc::new(AtomicU64::new(0))
    }
    pub fn position_file(&self) -> PathBuf {
        PathBuf::new()
    }
    pub fn sync(&self) -> Result<u64, String> {
        Ok(0)
    }
    pub fn finish(&mut self) -> Result<u64, String> {
        Ok(0)
    }
    pub fn kinds(&self) -> Vec<EntryKind> {
        vec![]
    }
    pub fn stats(&self) -> LogStats {
        LogStats::default()
    }
    pub fn mkfs_line(&self) -> &str {
        ""
    }
    pub fn mount_options(&self) -> &str {
        ""
    }
    pub fn mount_view(&self, durable_end: u64, kept: &[u64]) -> Result<MountedView<'_>, ViewError> {
        Err(ViewError::Harness("stub".into()))
    }
}
impl FsSpec {
    pub fn label(&self) -> String {
        self.name.clone()
    }
}
