//! `torture run`: scenario files run like a test suite.
//!
//! The files are loaded and checked, then selected: `--filter` patterns
//! on their names, then the `--partition` slice; `--list` prints the
//! selection and stops there. Each selected scenario then runs in its
//! mode, `--repeat` times, under the command line's overrides (`--seed`,
//! `--duration`/`--ops`, `--kill-at`), and its result is compared with its
//! expectation; `--fail-fast` stops at the first miss.
//!
//! Guarantees: a bad file, a selection of nothing, and an override that
//! clashes with a file are bad input before anything runs; every run made
//! is in the reports, and every run not made (`--fail-fast`, an interrupt)
//! is reported as not run, never as met or missed; the set's verdict takes
//! the worst of its runs by the one precedence ([`Verdict::worst`]).

mod lines;

use std::path::{Path, PathBuf};

use torture_harness::config;
use torture_harness::export::{
    self, ExploreResult, Finished, NotRun, RunResult, ScenariosJsonExporter,
};
use torture_harness::fault;
use torture_harness::report::StopReason;
use torture_harness::runner;
use torture_harness::scenario::{self, AnyScenario, ExploreScenario, Overrides, Scenario};
use torture_harness::term::{self, Paint, Style};
use torture_harness::vocab::Verdict;
use torture_harness::{Error, shell};

use crate::reports::Targets;
use crate::setup;

/// What `torture run` was asked, its files aside.
#[derive(Debug, Clone, Default)]
pub struct SetOptions {
    /// `-E/--filter`: run the scenarios whose name matches one of these.
    pub filters: Vec<String>,
    /// `--partition K/N`.
    pub partition: Option<(usize, usize)>,
    /// `--list`: print the selection, run nothing.
    pub list: bool,
    /// `--fail-fast`: stop at the first miss.
    pub fail_fast: bool,
    /// `--repeat N`: every scenario's runs (at least 1).
    pub repeat: u32,
    /// `--seed`, `--duration`/`--ops`, `--kill-at`.
    pub overrides: Overrides,
}

/// Runs the scenario `files` as `options` say, writes the reports to
/// `targets`, and returns the set's verdict.
pub fn run(files: &[PathBuf], options: &SetOptions, targets: &Targets) -> Result<Verdict, Error> {
    let scenarios = select(files, options)?;
    if options.list {
        for s in &scenarios {
            println!("{}", lines::listed(s));
        }
        return Ok(Verdict::Pass);
    }
    let program = setup::program()?;
    for s in &scenarios {
        if let AnyScenario::Run(s) = s {
            s.config_with(program.clone(), false, &options.overrides)
                .map_err(Error::bad_input)?;
        }
    }
    setup::stop_on_signals()?;
    let mut set = SetRun {
        options,
        program,
        progress: torture_harness::term::progress(),
        total: scenarios.len() * options.repeat as usize,
        made: 0,
        results: Vec::new(),
        stop: None,
    };
    for s in &scenarios {
        set.run_scenario(s)?;
    }
    let verdict = set.summarize();
    Ok(targets.write(&set.results, &ScenariosJsonExporter, verdict))
}

/// The scenarios of `files` that `options` select, in order; none is bad
/// input, naming what selected nothing.
fn select(files: &[PathBuf], options: &SetOptions) -> Result<Vec<AnyScenario>, Error> {
    let loaded: Result<Vec<AnyScenario>, _> = files.iter().map(|f| AnyScenario::load(f)).collect();
    let loaded = loaded.map_err(Error::bad_input)?;
    let given = loaded.len();
    let matched = scenario::filter(loaded, &options.filters);
    if matched.is_empty() {
        let flags: Vec<String> = options
            .filters
            .iter()
            .map(|p| format!("--filter {}", shell::quote(p)))
            .collect();
        return Err(Error::bad_input(format!(
            "{} matches no scenario of the {given} given (a scenario's name is its file's stem)",
            flags.join(" ")
        )));
    }
    let Some((k, n)) = options.partition else {
        return Ok(matched);
    };
    let from = match options.filters.is_empty() {
        true => format!("the {} given", matched.len()),
        false => format!("the {} --filter selects", matched.len()),
    };
    let slice = scenario::partition(matched, k, n);
    if slice.is_empty() {
        return Err(Error::bad_input(format!(
            "--partition {k}/{n} selects no scenario of {from}"
        )));
    }
    Ok(slice)
}

/// Why a set stopped before its end.
enum Stop {
    /// `--fail-fast`, after this scenario missed its expectation.
    FailFast(String),
    /// SIGINT or SIGTERM.
    Interrupted,
}

/// A set being run: what was done so far, and whether it stopped early.
struct SetRun<'a> {
    options: &'a SetOptions,
    program: PathBuf,
    /// Live progress on stderr: `[i/N] name` before each run, and the
    /// runner's own line.
    progress: bool,
    /// The runs asked for: scenarios times `--repeat`.
    total: usize,
    /// The runs made so far.
    made: usize,
    results: Vec<Finished>,
    stop: Option<Stop>,
}

impl SetRun<'_> {
    /// Runs `s` `--repeat` times, unless the set stopped; the runs not
    /// made are recorded as not run.
    fn run_scenario(&mut self, s: &AnyScenario) -> Result<(), Error> {
        let repeat = self.options.repeat;
        let mut made = 0;
        while made < repeat && self.stop.is_none() {
            made += 1;
            let result = self.run_once(s, made)?;
            self.made += 1;
            if interrupted(&result) {
                self.stop = Some(Stop::Interrupted);
            } else if self.options.fail_fast && !result.met() {
                self.stop = Some(Stop::FailFast(s.name().to_string()));
            }
            self.results.push(result);
        }
        if let Some(stop) = &self.stop
            && made < repeat
        {
            let reason = match stop {
                Stop::FailFast(name) => lines::fail_fast_reason(name),
                Stop::Interrupted => "interrupted".into(),
            };
            self.results.push(Finished::NotRun(NotRun {
                name: s.name().to_string(),
                file: Some(s.file().display().to_string()),
                mode: s.mode().name(),
                expected: s.expected(),
                runs: repeat - made,
                reason,
            }));
        }
        Ok(())
    }

    /// The `k`-th run of `s`, its line printed.
    fn run_once(&self, s: &AnyScenario, k: u32) -> Result<Finished, Error> {
        let repeat = self.options.repeat;
        if self.progress {
            let i = self.made + 1;
            eprintln!("{}", lines::progress(i, self.total, s.name(), k, repeat));
        }
        let name = lines::run_name(s.name(), k, repeat);
        Ok(match s {
            AnyScenario::Run(sc) => Finished::Run(self.run_run(sc, &name)?),
            AnyScenario::Explore(ex) => Finished::Explore(self.run_explore(ex, &name)?),
        })
    }

    /// One run of a run scenario: its line, and on a miss what to replay;
    /// the directory of an expected failure is removed.
    fn run_run(&self, sc: &Scenario, name: &str) -> Result<RunResult, Error> {
        let config = sc
            .config_with(self.program.clone(), self.progress, &self.options.overrides)
            .map_err(Error::bad_input)?;
        let report = runner::run(&config).map_err(|e| e.context(sc.file.display()))?;
        let mut result = RunResult {
            name: sc.name.clone(),
            file: Some(sc.file.display().to_string()),
            expected: Some(sc.expect.clone()),
            report,
        };
        println!("{}", lines::run_result(name, &result));
        if !result.met() {
            // `-q`: the line says it; the replay is in the reports.
            if !term::quiet() {
                print!("{}", lines::run_miss(&result));
            }
        } else if result.report.dir_kept {
            // A failing verdict that was expected is no evidence worth keeping;
            // the temporary directory is ours to remove (by its manifest).
            let dir = Path::new(&result.report.config.dir);
            if torture_harness::owned::remove_own_dir(dir, true).is_ok() {
                result.report.dir_kept = false;
                result.report.dir_removed = true;
            }
        }
        Ok(result)
    }

    /// One exploration of an explore scenario: its line, and on a miss
    /// what it did not find and what to replay.
    fn run_explore(&self, sc: &ExploreScenario, name: &str) -> Result<ExploreResult, Error> {
        let config = sc.config_with(
            self.program.clone(),
            config::default_jobs(),
            &self.options.overrides,
        );
        let report = fault::explore(&config).map_err(|e| e.context(sc.file.display()))?;
        let result = ExploreResult {
            name: sc.name.clone(),
            file: Some(sc.file.display().to_string()),
            expected: Some(sc.expect.clone()),
            report,
        };
        println!("{}", lines::explore_result(name, &result));
        if !result.met() && !term::quiet() {
            print!("{}", lines::explore_miss(&result));
        }
        Ok(result)
    }

    /// Prints the rates (with `--repeat`), what was not run and the
    /// total, and returns the set's verdict: a run that missed its
    /// expectation on evidence fails the set however it ended; then an
    /// interrupt; then a harness failure; then too little evidence.
    fn summarize(&self) -> Verdict {
        let repeat = self.options.repeat;
        let rates = export::rates(&self.results);
        if repeat > 1 {
            for r in &rates {
                println!("{}", lines::rate(r));
            }
        }
        let not_run: Vec<&NotRun> = self
            .results
            .iter()
            .filter_map(|r| match r {
                Finished::NotRun(n) => Some(n),
                _ => None,
            })
            .collect();
        let start = match self.stop {
            Some(Stop::Interrupted) => {
                eprintln!("{}", lines::interrupted(self.made, self.total, repeat));
                Verdict::Interrupted
            }
            _ => {
                if let Some(line) = lines::not_run(&not_run) {
                    println!("{line}");
                }
                Verdict::Pass
            }
        };
        let verdict = self
            .results
            .iter()
            .map(Finished::set_verdict)
            .fold(start, Verdict::worst);
        if start == Verdict::Pass {
            let total = lines::total(&rates, repeat);
            println!("{}", Paint::stdout().paint(Style::of(verdict), &total));
        }
        verdict
    }
}

/// Whether a run or exploration was cut short by SIGINT or SIGTERM.
fn interrupted(result: &Finished) -> bool {
    match result {
        Finished::Run(r) => r.report.stopped == StopReason::Interrupted,
        Finished::Explore(e) => e.report.interrupted,
        Finished::Compare(c) => c.report.interrupted,
        Finished::NotRun(_) => false,
    }
}
