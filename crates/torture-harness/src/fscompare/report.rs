//! The comparison's report: the `torture/fscompare/v1` model, and the
//! renderings only a comparison has, a self-contained `report.html` with
//! inline SVG charts and the charts as `throughput.svg` and `p99.svg`.
//!
//! Its JSON, JUnit and Markdown are the exporters' (`crate::export`, above
//! this module), as for every other command; so is the writing of `--out`.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::chart::{BarChart, Series, escape, short};
use super::mount::FsSpec;
use super::power::{PowerCell, PowerParams, slowdown_words};
use super::{CompareConfig, Machine};
use crate::report::{Report, Violations};
use crate::strategy::Strategy;
use crate::term::{Paint, Style};
use crate::vocab::Verdict;

/// The schema name of `report.json`.
pub const SCHEMA: &str = "torture/fscompare/v1";

/// The run parameters shared by every run.
#[derive(Debug, Clone, Serialize)]
pub struct Params {
    /// Each run's length in seconds (when `ops` is null).
    pub duration_s: f64,
    /// Each run's exact operation count, with `--ops` (added in v1).
    pub ops: Option<u64>,
    /// Writers per run.
    pub writers: usize,
    /// Readers per run.
    pub readers: usize,
    /// Kill probability per operation.
    pub kill_rate: f64,
    /// The seed of every run.
    pub seed: u64,
    /// Image (and tmpfs) size in bytes.
    pub image_bytes: u64,
    /// With `--power-loss`: the crash points and states of each power run
    /// (added in v1: null without it).
    pub power: Option<PowerParams>,
}

/// One file system.
#[derive(Debug, Clone, Serialize)]
pub struct FsInfo {
    /// Its name.
    pub name: String,
    /// What backs it.
    pub backing: String,
    /// Extra mount options.
    pub mount_options: Option<String>,
    /// Median time of a 4 KiB overwrite plus fsync, in microseconds.
    pub fsync_p50_us: f64,
}

/// One run: a strategy on a file system.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The file system.
    pub fs: String,
    /// The strategy.
    pub strategy: String,
    /// The verdict it must get under SIGKILL torture.
    pub expected: String,
    /// The verdict it got.
    pub verdict: Verdict,
    /// The violation classes seen, `+`-joined (`pass` if none).
    pub observed: String,
    /// Whether it got what it must.
    pub met: bool,
    /// Violation counts.
    pub violations: Violations,
    /// Acknowledged operations.
    pub acked: u64,
    /// Acknowledged operations per second.
    pub ops_per_s: f64,
    /// Median latency of acknowledged operations, in microseconds.
    pub p50_us: u64,
    /// 99th percentile latency, in microseconds.
    pub p99_us: u64,
    /// Kills delivered inside an operation.
    pub kills: u64,
    /// Kills drawn whose operation had ended.
    pub kills_missed: u64,
    /// Why the run ended.
    pub stopped: crate::report::StopReason,
    /// With `--power-loss`: the same run on a recording disk of this file
    /// system, and its crash states (added in v1: null when not run).
    pub power: Option<PowerCell>,
    /// With `--power-loss`, why this row has no power run (`no block
    /// device`: a tmpfs or a `--dir`); null otherwise (added in v1).
    pub power_skipped: Option<String>,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct FsCompareReport {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// The command that produced it.
    pub command: String,
    /// The machine.
    pub machine: Machine,
    /// The run parameters.
    pub params: Params,
    /// The file systems, in order.
    pub filesystems: Vec<FsInfo>,
    /// The strategies, in order.
    pub strategies: Vec<String>,
    /// One row per file system and strategy.
    pub rows: Vec<Row>,
    /// Every run got its expected verdict.
    pub all_met: bool,
    /// Stopped by a signal before the end.
    pub interrupted: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Why the comparison ended without a verdict, if a file system broke
    /// during a run (that run's row is an `error`). Not in the JSON: v1 has
    /// no key for it.
    #[serde(skip)]
    pub broken: Option<String>,
}

/// How fast the power tier went on one file system: the speed table's row.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerSpeed<'a> {
    /// The file system.
    pub fs: &'a str,
    /// The strategy measured: `reference` when it ran, else the first.
    pub strategy: &'a str,
    /// Its crash states judged per second.
    pub states_per_second: f64,
    /// Its plain run's acknowledged ops/s.
    pub plain_ops_per_s: f64,
    /// Its recorded run's acknowledged ops/s.
    pub recorded_ops_per_s: f64,
    /// The one over the other.
    pub slowdown: Option<f64>,
    /// The largest slowdown of any strategy here, and which.
    pub worst: Option<(&'a str, f64)>,
}

impl<'a> PowerSpeed<'a> {
    fn of(report: &'a FsCompareReport, fs: &'a str) -> PowerSpeed<'a> {
        let cells: Vec<(&Row, &PowerCell)> = report
            .rows
            .iter()
            .filter(|r| r.fs == fs)
            .filter_map(|r| r.power.as_ref().map(|c| (r, c)))
            .collect();
        let (row, cell) = cells
            .iter()
            .find(|(r, _)| r.strategy == "reference")
            .or(cells.first())
            .copied()
            .expect("a file system of the power matrix has a cell");
        let worst = cells
            .iter()
            .filter_map(|(r, c)| c.slowdown.map(|s| (r.strategy.as_str(), s)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        PowerSpeed {
            fs,
            strategy: &row.strategy,
            states_per_second: cell.states_per_second,
            plain_ops_per_s: row.ops_per_s,
            recorded_ops_per_s: cell.ops_per_s,
            slowdown: cell.slowdown,
            worst,
        }
    }
}

impl Params {
    /// Each run's length, in words.
    pub fn length(&self) -> String {
        match self.ops {
            Some(n) => format!("{n} ops"),
            None => format!("{} s", self.duration_s),
        }
    }
}

impl FsCompareReport {
    /// An empty report.
    pub fn new(cfg: &CompareConfig, scratch: &Path) -> Self {
        FsCompareReport {
            schema: SCHEMA,
            command: cfg.command.clone(),
            machine: Machine::read(scratch),
            params: Params {
                duration_s: cfg.duration.as_secs_f64(),
                ops: cfg.ops,
                writers: cfg.writers,
                readers: cfg.readers,
                kill_rate: cfg.kill_rate,
                seed: cfg.seed,
                image_bytes: cfg.image_size,
                power: cfg.power,
            },
            filesystems: Vec::new(),
            strategies: cfg
                .strategies
                .iter()
                .map(|s| s.name().to_string())
                .collect(),
            rows: Vec::new(),
            all_met: true,
            interrupted: false,
            seconds: 0.0,
            broken: None,
        }
    }

    /// Records a file system and its fsync cost.
    pub fn add_filesystem(&mut self, spec: &FsSpec, backing: &str, fsync: std::time::Duration) {
        self.filesystems.push(FsInfo {
            name: spec.name.clone(),
            backing: backing.to_string(),
            mount_options: spec.mount_options().map(str::to_string),
            fsync_p50_us: fsync.as_secs_f64() * 1e6,
        });
    }

    /// The comparison's verdict, by the one precedence (see
    /// [`Verdict::worst`]): a strategy that missed its expected verdict on
    /// evidence fails it however it ended; then an interrupt; then a broken
    /// file system or another harness failure; then too little evidence.
    /// A power-loss cell counts as a run of its own.
    pub fn verdict(&self) -> Verdict {
        let mut verdict = if self.interrupted {
            Verdict::Interrupted
        } else {
            Verdict::Pass
        };
        if self.broken.is_some() {
            verdict = verdict.worst(Verdict::Error);
        }
        let plain = self.rows.iter().filter(|r| !r.met).map(|r| r.verdict);
        let power = self.power_cells().filter(|c| !c.met).map(|c| c.verdict);
        plain
            .chain(power)
            .map(Verdict::of_miss)
            .fold(verdict, Verdict::worst)
    }

    /// Records one run.
    pub fn add_run(&mut self, fs: &str, strategy: &dyn Strategy, r: &Report) {
        let expected = strategy.expected();
        let met = super::meets(r, &expected);
        self.all_met &= met;
        let observed = super::observed(r);
        self.rows.push(Row {
            fs: fs.to_string(),
            strategy: strategy.name().to_string(),
            expected: expected.to_string(),
            verdict: r.verdict,
            observed,
            met,
            violations: r.violations,
            acked: r.ops.acked,
            ops_per_s: r.throughput_ops_per_s,
            p50_us: r.latency_us.p50,
            p99_us: r.latency_us.p99,
            kills: r.kills,
            kills_missed: r.kills_missed,
            stopped: r.stopped,
            power: None,
            power_skipped: None,
        });
    }

    /// Records the power run of `strategy` on `fs`, beside its plain run
    /// (recorded first).
    pub fn add_power(&mut self, fs: &str, strategy: &str, cell: PowerCell) {
        self.all_met &= cell.met;
        if let Some(row) = self.row_mut(fs, strategy) {
            row.power = Some(cell);
        }
    }

    /// Says why `strategy` on `fs` has no power run.
    pub fn skip_power(&mut self, fs: &str, strategy: &str, why: &str) {
        if let Some(row) = self.row_mut(fs, strategy) {
            row.power_skipped = Some(why.to_string());
        }
    }

    fn row_mut(&mut self, fs: &str, strategy: &str) -> Option<&mut Row> {
        self.rows
            .iter_mut()
            .rev()
            .find(|r| r.fs == fs && r.strategy == strategy)
    }

    /// The runs that missed their expected verdict, as
    /// `strategy@fs=observed` (a power run as
    /// `strategy@fs(power loss)=observed`), in row order.
    pub fn missed(&self) -> Vec<String> {
        let plain = self
            .rows
            .iter()
            .filter(|row| !row.met)
            .map(|row| format!("{}@{}={}", row.strategy, row.fs, row.observed));
        let power = self.rows.iter().filter_map(|row| {
            let cell = row.power.as_ref().filter(|c| !c.met)?;
            Some(format!(
                "{}@{}(power loss)={}",
                row.strategy, row.fs, cell.observed
            ))
        });
        plain.chain(power).collect()
    }

    /// The comparison's verdict in one line, coloured by `paint`: how many
    /// runs got their strategy's expected verdict, and those that did not
    /// (an expected failure found counts as got). All that `-q` prints.
    pub fn verdict_line(&self, paint: Paint) -> String {
        let verdict = self.verdict();
        let runs = self.rows.len() + self.power_cells().count();
        let missed = self.missed();
        let mut line = format!(
            "verdict: {} ({} of {runs} run(s) got their expected verdict",
            verdict.name().to_uppercase(),
            runs - missed.len()
        );
        if !missed.is_empty() {
            let _ = write!(line, "; missed: {}", missed.join(" "));
        }
        if let Some(why) = &self.broken {
            let _ = write!(line, "; {why}");
        }
        if self.interrupted {
            line.push_str("; interrupted, partial");
        }
        line.push(')');
        paint.paint(Style::of(verdict), &line)
    }

    /// Every power-loss cell, in row order.
    pub fn power_cells(&self) -> impl Iterator<Item = &PowerCell> {
        self.rows.iter().filter_map(|r| r.power.as_ref())
    }

    /// The power-loss cell of `strategy` on `fs`, if it was run.
    pub fn power(&self, fs: &str, strategy: &str) -> Option<&PowerCell> {
        self.row(fs, strategy).and_then(|r| r.power.as_ref())
    }

    /// The file systems with a power-loss cell, in order: the power matrix's
    /// columns.
    pub fn power_filesystems(&self) -> Vec<&str> {
        self.filesystems
            .iter()
            .map(|f| f.name.as_str())
            .filter(|fs| self.rows.iter().any(|r| r.fs == *fs && r.power.is_some()))
            .collect()
    }

    /// The file systems whose rows say why they have no power run, with
    /// the reason.
    pub fn power_skipped(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for r in &self.rows {
            if let Some(why) = &r.power_skipped
                && !out.iter().any(|(fs, _)| *fs == r.fs)
            {
                out.push((&r.fs, why));
            }
        }
        out
    }

    /// A cell of `strategy` (any file system's): the models' predictions
    /// are the strategy's, the same in each.
    pub fn models_of(&self, strategy: &str) -> Option<&PowerCell> {
        self.rows
            .iter()
            .filter(|r| r.strategy == strategy)
            .find_map(|r| r.power.as_ref())
    }

    /// The speed table's rows, one per file system with power cells: see
    /// [`PowerSpeed`].
    pub fn power_speed(&self) -> Vec<PowerSpeed<'_>> {
        self.power_filesystems()
            .into_iter()
            .map(|fs| PowerSpeed::of(self, fs))
            .collect()
    }

    /// The run of `strategy` on `fs`, if it was made.
    pub fn row(&self, fs: &str, strategy: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.fs == fs && r.strategy == strategy)
    }

    fn chart(&self, title: &str, unit: &str, value: impl Fn(&Row) -> f64) -> BarChart {
        BarChart {
            title: title.into(),
            unit: unit.into(),
            categories: self.strategies.clone(),
            series: self
                .filesystems
                .iter()
                .map(|fs| Series {
                    name: fs.name.clone(),
                    values: self
                        .strategies
                        .iter()
                        .map(|s| self.row(&fs.name, s).map(&value))
                        .collect(),
                })
                .collect(),
        }
    }

    /// Acknowledged ops/s per strategy and file system.
    pub fn throughput_chart(&self) -> BarChart {
        self.chart("Acknowledged operations per second", "ops/s", |r| {
            r.ops_per_s
        })
    }

    /// p99 latency per strategy and file system.
    pub fn p99_chart(&self) -> BarChart {
        self.chart(
            "99th percentile latency of an acknowledged update",
            "microseconds",
            |r| r.p99_us as f64,
        )
    }

    /// The files only a comparison has, by name: the HTML page and the
    /// charts (`--out` gets them beside the exporters' `report.json` and
    /// `report.md`).
    pub fn renderings(&self) -> [(&'static str, String); 3] {
        [
            ("report.html", self.html()),
            ("throughput.svg", self.throughput_chart().svg()),
            ("p99.svg", self.p99_chart().svg()),
        ]
    }

    /// The HTML report: one file, charts inline, no outside asset.
    pub fn html(&self) -> String {
        let mut out = String::from(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>torture: file-system comparison</title>\n<style>\
             body{font-family:sans-serif;margin:2em;max-width:75em;color:#222}\
             table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
             th:first-child,td:first-child{text-align:left}.met{background:#e6f4e6}.miss{background:#f9d6d5;font-weight:bold}\
             code,pre{background:#f4f4f4;padding:.1em .3em}figure{margin:1em 0}</style></head><body>\n",
        );
        out.push_str("<h1>File-system comparison</h1>\n");
        let m = &self.machine;
        let p = &self.params;
        let _ = write!(
            out,
            "<p>Produced by <code>{}</code></p>\n<p>Machine: Linux {}, {} CPUs, {:.1} GiB of memory; images on {}.</p>\n\
             <p>Each run: {}, {} writers, {} reader(s), kill rate {}, seed {}. Fault tier: process crash (SIGKILL).</p>\n",
            escape(&self.command),
            escape(&m.kernel),
            m.cpus,
            m.memory_bytes as f64 / (1u64 << 30) as f64,
            escape(&m.scratch_device),
            p.length(),
            p.writers,
            p.readers,
            p.kill_rate,
            p.seed
        );
        if self.interrupted {
            out.push_str("<p><strong>Interrupted</strong>: the tables are incomplete.</p>\n");
        }
        out.push_str("<h2>Verdicts</h2>\n<p>Green: the expected verdict; red: not.</p>\n");
        out += &self.html_table(|r| {
            let class = if r.met { "met" } else { "miss" };
            let title = format!("expected {}", r.expected);
            (class.to_string(), title, r.observed.clone())
        });
        out += &self.html_power();
        let _ = write!(
            out,
            "<h2>Throughput</h2>\n<figure>{}</figure>\n",
            self.throughput_chart().svg()
        );
        out += &self.html_table(|r| (String::new(), String::new(), short(r.ops_per_s)));
        let _ = write!(
            out,
            "<h2>p99 latency</h2>\n<figure>{}</figure>\n",
            self.p99_chart().svg()
        );
        out += &self.html_table(|r| {
            (
                String::new(),
                String::new(),
                format!("{} / {} µs", r.p50_us, r.p99_us),
            )
        });
        out.push_str("<h2>What one fsync costs</h2>\n<table><tr><th>file system</th><th>backing</th><th>fsync p50</th></tr>\n");
        for fs in &self.filesystems {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{:.0} µs</td></tr>",
                escape(&fs.name),
                escape(&fs.backing),
                fs.fsync_p50_us
            );
        }
        out.push_str("</table>\n</body></html>\n");
        out
    }

    /// The power-loss matrix and its speed table; nothing without
    /// `--power-loss`.
    fn html_power(&self) -> String {
        let Some(params) = &self.params.power else {
            return String::new();
        };
        let mut out = format!(
            "<h2>Power loss</h2>\n<p>{}</p>\n",
            escape(&params.describe())
        );
        for (fs, why) in self.power_skipped() {
            let _ = writeln!(out, "<p>Not on {}: {}.</p>", escape(fs), escape(why));
        }
        let filesystems = self.power_filesystems();
        if filesystems.is_empty() {
            out.push_str("<p>No power run: no file system with a block device.</p>\n");
            return out;
        }
        out.push_str("<table><tr><th>strategy</th>");
        for fs in &filesystems {
            let _ = write!(out, "<th>{}</th>", escape(fs));
        }
        out.push_str("<th>posix model</th><th>ordered model</th></tr>\n");
        for s in &self.strategies {
            let _ = write!(out, "<tr><td>{}</td>", escape(s));
            for fs in &filesystems {
                out += &match self.power(fs, s) {
                    Some(c) => html_power_cell(c),
                    None => "<td>-</td>".into(),
                };
            }
            let models = self.models_of(s);
            for model in [
                models.and_then(|c| c.model_posix.as_deref()),
                models.and_then(|c| c.model_ordered.as_deref()),
            ] {
                let _ = write!(out, "<td>{}</td>", escape(model.unwrap_or("?")));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
        for s in &self.strategies {
            if let Some(note) = self.models_of(s).and_then(|c| c.model_note.as_deref()) {
                let _ = writeln!(
                    out,
                    "<p>No prediction for {}: {}.</p>",
                    escape(s),
                    escape(note)
                );
            }
        }
        out.push_str(
            "<h3>Speed</h3>\n<table><tr><th>file system</th><th>strategy</th><th>crash states/s</th>\
             <th>ops/s plain</th><th>ops/s recorded</th><th>slowdown</th><th>worst slowdown</th></tr>\n",
        );
        for sp in self.power_speed() {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.0}</td><td>{:.0}</td><td>{}</td><td>{}</td></tr>",
                escape(sp.fs),
                escape(sp.strategy),
                sp.states_per_second,
                sp.plain_ops_per_s,
                sp.recorded_ops_per_s,
                escape(&sp.slowdown.map_or("-".into(), slowdown_words)),
                escape(
                    &sp.worst
                        .map_or("-".into(), |(s, x)| format!("{} ({s})", slowdown_words(x)))
                ),
            );
        }
        out.push_str("</table>\n");
        out
    }

    fn html_table(&self, cell: impl Fn(&Row) -> (String, String, String)) -> String {
        let mut out = String::from("<table><tr><th>strategy</th>");
        for fs in &self.filesystems {
            let _ = write!(out, "<th>{}</th>", escape(&fs.name));
        }
        out.push_str("</tr>\n");
        for s in &self.strategies {
            let _ = write!(out, "<tr><td>{}</td>", escape(s));
            for fs in &self.filesystems {
                match self.row(&fs.name, s) {
                    Some(r) => {
                        let (class, title, text) = cell(r);
                        let _ = write!(
                            out,
                            "<td class=\"{class}\" title=\"{}\">{}</td>",
                            escape(&title),
                            escape(&text)
                        );
                    }
                    None => out.push_str("<td>-</td>"),
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
        out
    }
}

/// One cell of the power matrix: green when met, red when not; the
/// expectation and the tier in its title; a too-lax model under it.
fn html_power_cell(c: &PowerCell) -> String {
    let class = if c.met { "met" } else { "miss" };
    let title = format!("expected {}; {}", c.expected, c.label);
    let lax = c.disagreement().map_or(String::new(), |d| {
        format!("<br><strong>{}</strong>", escape(&d))
    });
    format!(
        "<td class=\"{class}\" title=\"{}\">{}{lax}</td>",
        escape(&title),
        escape(&c.summary())
    )
}
