//! Temporary directories: `torture-KIND-XXXXXX` under `$TMPDIR` (or a
//! parent the caller names), mode 0700, with a manifest from birth, and
//! registered with a [`DirWatch`] (the process watchdog) so that a SIGKILL
//! of `torture` does not leave them behind.
//!
//! Dropping a [`ScratchDir`] removes it whole (never following a link nor
//! entering a file system mounted in it) and unregisters it;
//! [`ScratchDir::keep`] unregisters it and leaves it, for `torture clean`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::manifest::{Kind, Manifest};

/// What removes a registered directory if `torture` dies before it does:
/// the process watchdog (`crate::process::Watchdog`), which implements it.
/// A trait, so that this module, below the process layer, does not depend
/// on it.
pub trait DirWatch: Send + Sync {
    /// Registers a directory to remove if the supervisor dies.
    fn watch_dir(&self, path: &Path);
    /// Unregisters a directory that was removed, or is kept.
    fn forget_dir(&self, path: &Path);
}

/// A temporary directory of `torture`'s own.
pub struct ScratchDir {
    path: PathBuf,
    watchdog: Option<Arc<dyn DirWatch>>,
    kept: bool,
}

impl ScratchDir {
    /// Makes a fresh directory of `kind` in `$TMPDIR`.
    pub fn in_tmp(kind: Kind, watchdog: Option<Arc<dyn DirWatch>>) -> Result<ScratchDir, String> {
        let tmp = std::env::temp_dir();
        crate::paths::check("TMPDIR", &tmp)?;
        Self::create(kind, &tmp, watchdog)
    }

    /// Makes a fresh directory of `kind` in `parent`, registered with
    /// `watchdog` from the moment it exists (the watchdog removes an empty
    /// one, or one with a manifest, and nothing else).
    pub fn create(
        kind: Kind,
        parent: &Path,
        watchdog: Option<Arc<dyn DirWatch>>,
    ) -> Result<ScratchDir, String> {
        crate::paths::check("directory", parent)?;
        // Absolute, so the watchdog finds it whatever its working directory.
        let parent = std::path::absolute(parent)
            .map_err(|e| format!("cannot resolve {}: {e}", parent.display()))?;
        let parent = parent.as_path();
        // Registered before it exists: a SIGKILL between the mkdir and the
        // registration would leave it behind. The watchdog skips a path
        // that does not exist, and removes only an empty directory or one
        // holding a manifest (or the manifest's temporary file).
        let path = loop {
            let path = parent.join(format!("{}{}", kind.prefix(), random_suffix()));
            if let Some(w) = &watchdog {
                w.watch_dir(&path);
            }
            use std::os::unix::fs::DirBuilderExt;
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => break path,
                Err(e) => {
                    if let Some(w) = &watchdog {
                        w.forget_dir(&path);
                    }
                    if e.kind() != std::io::ErrorKind::AlreadyExists {
                        return Err(format!(
                            "cannot create a directory in {}: {e}",
                            parent.display()
                        ));
                    }
                }
            }
        };
        let dir = ScratchDir {
            path,
            watchdog,
            kept: false,
        };
        Manifest::fresh(kind)
            .write(&dir.path)
            .map_err(|e| format!("cannot write the manifest of {}: {e}", dir.path.display()))?;
        Ok(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves the directory where it is (evidence): the watchdog forgets it.
    pub fn keep(mut self) -> PathBuf {
        self.kept = true;
        if let Some(w) = &self.watchdog {
            w.forget_dir(&self.path);
        }
        self.path.clone()
    }
}

/// Six random letters and digits, as `mkdtemp` uses.
fn random_suffix() -> String {
    use rand::RngExt;
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(6)
        .map(char::from)
        .collect()
}

impl std::fmt::Debug for ScratchDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScratchDir")
            .field("path", &self.path)
            .field("kept", &self.kept)
            .finish_non_exhaustive()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let _ = super::tree::remove_all(&self.path);
        if let Some(w) = &self.watchdog {
            w.forget_dir(&self.path);
        }
    }
}
