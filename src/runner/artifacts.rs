//! Artifacts of a failing run: what a developer needs to see and replay it.
//!
//! With `--artifacts DIR`, a failing run leaves in `DIR`:
//! - `first-violation/`: a copy of the run directory taken when the first
//!   violation was seen;
//! - `final/`: a copy of the run directory at the end;
//! - `ops.jsonl`: the ledger, one JSON object per operation (`id`, `writer`,
//!   `start_ms`, `end_ms`, `outcome`, `killed`);
//! - `evidence.json` and `report.json`;
//! - `repro.sh`: reruns the same configuration with the same seed.
//!
//! A passing run leaves nothing. Every file is written with the crate's own
//! atomic write.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::RunError;
use crate::atomic::write_file_atomic;
use crate::report::Report;

/// One operation in the ledger.
#[derive(Debug, Clone, Serialize)]
pub struct OpRecord {
    /// The op id (`w3-17`).
    pub id: String,
    /// The writer slot.
    pub writer: usize,
    /// Milliseconds since the start of the run when it began.
    pub start_ms: u64,
    /// ... and when it ended.
    pub end_ms: u64,
    /// `ok`, `failed`, `indeterminate` or `timeout`.
    pub outcome: &'static str,
    /// Whether the supervisor killed it.
    pub killed: bool,
}

/// Refuses an artifacts directory that exists and is not empty.
pub fn check_target(dir: &Path) -> Result<(), RunError> {
    match fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(RunError::BadConfig(format!(
            "--artifacts {}: {e}",
            dir.display()
        ))),
        Ok(entries) => match entries.count() {
            0 => Ok(()),
            _ => Err(RunError::BadConfig(format!(
                "--artifacts {} is not empty: give a new or empty directory",
                dir.display()
            ))),
        },
    }
}

/// Collects a run's artifacts.
#[derive(Debug)]
pub struct Artifacts {
    dir: PathBuf,
    records: Vec<OpRecord>,
    first_copied: bool,
}

impl Artifacts {
    /// Artifacts to be written into `dir`.
    pub fn new(dir: &Path) -> Self {
        Artifacts {
            dir: dir.to_path_buf(),
            records: Vec::new(),
            first_copied: false,
        }
    }

    /// Adds an operation to the ledger.
    pub fn record(&mut self, record: OpRecord) {
        self.records.push(record);
    }

    /// Copies the run directory the first time a violation is seen.
    pub fn first_violation(&mut self, run_dir: &Path) {
        if !self.first_copied {
            self.first_copied = true;
            let _ = copy_tree(run_dir, &self.dir.join("first-violation"));
        }
    }

    /// Writes everything, if the run failed.
    pub fn finish(&self, run_dir: &Path, report: &Report) -> crate::Result<()> {
        if report.verdict == crate::report::Verdict::Pass {
            return Ok(());
        }
        copy_tree(run_dir, &self.dir.join("final"))?;
        let mut ledger = Vec::new();
        for r in &self.records {
            serde_json::to_writer(&mut ledger, r).expect("a record serializes");
            ledger.push(b'\n');
        }
        write_file_atomic(self.dir.join("ops.jsonl"), &ledger, 0o644)?;
        let evidence = serde_json::to_vec_pretty(&report.evidence).expect("serializes");
        write_file_atomic(self.dir.join("evidence.json"), &evidence, 0o644)?;
        let json = serde_json::to_vec_pretty(report).expect("serializes");
        write_file_atomic(self.dir.join("report.json"), &json, 0o644)?;
        let script = format!(
            "#!/bin/sh\n# Replays the failing run with the same seed and options.\nexec {} \"$@\"\n",
            report.replay
        );
        write_file_atomic(self.dir.join("repro.sh"), script.as_bytes(), 0o755)
    }

    /// The artifacts directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Copies the regular files and directories under `src` into `dst`.
fn copy_tree(src: &Path, dst: &Path) -> crate::Result<()> {
    use crate::error::{IoContext, Step};
    fs::create_dir_all(dst).at(Step::CreateTemp, dst)?;
    for entry in fs::read_dir(src).at(Step::ListDir, src)?.flatten() {
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            copy_tree(&from, &to)?;
        } else if kind.is_file() {
            // The file may vanish or change while we copy: best effort.
            if let Ok(bytes) = fs::read(&from) {
                write_file_atomic(&to, &bytes, 0o644)?;
            }
        }
    }
    Ok(())
}
