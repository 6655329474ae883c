//! The report files of a command: `--json`, `--junit`, `--markdown` and the
//! file `GITHUB_STEP_SUMMARY` names, each an [`OutputTarget`] bound to its
//! flag, checked before anything runs and written once it is done.
//!
//! `-` is stdout for every flag; two reports on stdout are refused
//! ([`output::check_all`]); with one there, the human summary goes to
//! stderr, so that stdout holds the report alone.

use std::path::PathBuf;

use torture_harness::Error;
use torture_harness::export::{Exporter, Finished, JunitExporter, MarkdownExporter};
use torture_harness::output::{self, OutputTarget};
use torture_harness::vocab::Verdict;

/// Where a command's reports go, each bound to the flag (or variable) it
/// came from.
pub struct Targets {
    json: Option<OutputTarget>,
    junit: Option<OutputTarget>,
    markdown: Option<OutputTarget>,
    /// `GITHUB_STEP_SUMMARY`, appended to.
    summary: Option<OutputTarget>,
}

/// The paths the report flags name (`-` for stdout).
pub struct Paths<'a> {
    /// `--json`.
    pub json: Option<&'a PathBuf>,
    /// `--junit`.
    pub junit: Option<&'a PathBuf>,
    /// `--markdown`.
    pub markdown: Option<&'a PathBuf>,
}

impl Targets {
    /// Checks every output before anything runs; with a report on
    /// stdout, the human summary goes to stderr from now on, so that stdout
    /// holds the report alone.
    pub fn prepare(paths: Paths<'_>) -> Result<Targets, Error> {
        let summary = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty());
        let targets = Targets {
            json: paths.json.map(|p| OutputTarget::parse("--json", p)),
            junit: paths.junit.map(|p| OutputTarget::parse("--junit", p)),
            markdown: paths.markdown.map(|p| OutputTarget::parse("--markdown", p)),
            summary: summary.map(|p| OutputTarget::file("GITHUB_STEP_SUMMARY", p)),
        };
        output::check_all(targets.all()).map_err(Error::bad_input)?;
        if targets.all().any(OutputTarget::is_stdout) {
            output::divert_human_output()
                .map_err(|e| Error::harness(format!("cannot keep stdout for the report: {e}")))?;
        }
        Ok(targets)
    }

    fn all(&self) -> impl Iterator<Item = &OutputTarget> {
        [&self.json, &self.junit, &self.markdown, &self.summary]
            .into_iter()
            .flatten()
    }

    /// Writes the reports of what was done, the JSON by `json`; a failure
    /// to write them is a harness failure, which a violation still
    /// outranks.
    pub fn write(&self, results: &[Finished], json: &dyn Exporter, verdict: Verdict) -> Verdict {
        match self.write_all(results, json) {
            Ok(()) => verdict,
            Err(e) => {
                eprintln!("torture: cannot write the report: {e}");
                verdict.worst(Verdict::Error)
            }
        }
    }

    /// Writes the requested report files and appends to the GitHub step
    /// summary (the same Markdown as `--markdown`).
    fn write_all(
        &self,
        results: &[Finished],
        json: &dyn Exporter,
    ) -> Result<(), output::OutputError> {
        if let Some(t) = &self.json {
            json.write(results, t)?;
        }
        if let Some(t) = &self.junit {
            JunitExporter.write(results, t)?;
        }
        if let Some(t) = &self.markdown {
            MarkdownExporter.write(results, t)?;
        }
        if let Some(t) = &self.summary {
            MarkdownExporter.append(results, t)?;
        }
        Ok(())
    }
}
