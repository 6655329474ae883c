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
//! atomic write. `DIR` is an [`OutputDir`]: new or empty, made 0700 in a
//! shared directory such as `/tmp`, and refused if someone else planted it
//! there (see [`crate::output`]).

use std::path::Path;

use crashsafe::atomic::Durability;
use serde::Serialize;

use crate::copy::copy_tree;
use crate::output::{OutputDir, OutputError};
use crate::report::Report;

/// The flag the artifacts directory comes from, named in every message.
const FLAG: &str = "--artifacts";

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

/// Refuses an artifacts directory that exists and is not empty, or cannot
/// be made, or is not safe to write into (see [`OutputDir::check`]).
pub fn check_target(dir: &Path) -> Result<(), crate::Error> {
    OutputDir::new(FLAG, dir)
        .check()
        .map_err(|e| crate::Error::BadInput(e.to_string()))
}

/// Collects a run's artifacts.
#[derive(Debug)]
pub struct Artifacts {
    out: OutputDir,
    records: Vec<OpRecord>,
    first_copied: bool,
}

impl Artifacts {
    /// Artifacts to be written into `dir`.
    pub fn new(dir: &Path) -> Self {
        Artifacts {
            out: OutputDir::new(FLAG, dir),
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
            if self.out.create().is_ok() {
                let first = self.dir().join("first-violation");
                let _ = copy_tree(run_dir, &first, Durability::Full);
            }
        }
    }

    /// Writes everything, if the run failed.
    pub fn finish(&self, run_dir: &Path, report: &Report) -> Result<(), OutputError> {
        if report.verdict == crate::vocab::Verdict::Pass {
            return Ok(());
        }
        self.out.create()?;
        let final_dir = self.dir().join("final");
        copy_tree(run_dir, &final_dir, Durability::Full).map_err(|source| OutputError::Write {
            flag: FLAG,
            path: final_dir,
            source: Box::new(source),
        })?;
        let mut ledger = Vec::new();
        for r in &self.records {
            serde_json::to_writer(&mut ledger, r).expect("a record serializes");
            ledger.push(b'\n');
        }
        self.out.file("ops.jsonl").write(&ledger)?;
        let evidence = serde_json::to_vec_pretty(&report.evidence).expect("serializes");
        self.out.file("evidence.json").write(&evidence)?;
        let json = serde_json::to_vec_pretty(report).expect("serializes");
        self.out.file("report.json").write(&json)?;
        // No `exec`: a program's replay line starts with its environment
        // (`NAME=value torture ...`), which `exec` would take for the command.
        let script = format!(
            "#!/bin/sh\n# Replays the failing run with the same seed and options.\n{} \"$@\"\n",
            report.replay
        );
        self.out
            .file("repro.sh")
            .executable()
            .write(script.as_bytes())
    }

    /// The artifacts directory.
    pub fn dir(&self) -> &Path {
        self.out.path()
    }
}
