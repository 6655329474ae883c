//! `torture clean`: removes the directories that runs left in `$TMPDIR`.
//!
//! A failing run keeps its temporary directory as evidence, and a run
//! killed together with its watchdog leaves its working directories. Only
//! `$TMPDIR/torture-*` directories are looked at, and one is removed only
//! under the rules of [`super`]: the caller's, not writable by everyone,
//! with a manifest, not in use by a live `torture`, and (a run directory)
//! holding only what its run made. Everything else is skipped, with the
//! reason.

use std::path::{Path, PathBuf};

use super::{Kind, Refusal};

/// What `torture clean` did with one directory.
#[derive(Debug)]
pub enum Cleaned {
    /// Removed (or, with a dry run, removable).
    Removed(PathBuf, Kind),
    /// Left alone, and why.
    Skipped(PathBuf, Refusal),
}

/// Looks at every `torture-*` entry of `tmp` in name order, and removes
/// those it may (none with `dry_run`).
pub fn clean(tmp: &Path, dry_run: bool) -> std::io::Result<Vec<Cleaned>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(tmp)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("torture-"))
        .map(|e| e.path())
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|p| match super::remove_own_dir(&p, !dry_run) {
            Ok(kind) => Cleaned::Removed(p, kind),
            Err(why) => Cleaned::Skipped(p, why),
        })
        .collect())
}
