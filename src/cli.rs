//! The command line: argument definitions and the commands behind them.
//!
//! Every command returns an exit code from [`torture_harness::exit`]; bad
//! input is one line on stderr and [`torture_harness::exit::BAD_INPUT`],
//! before anything is touched.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use torture_harness::config::{
    self, ExecSpec, ExploreConfig, ExploreSettings, Naming, RunConfig, RunSettings, Workload,
    defaults,
};
use torture_harness::export::{
    self, CompareResult, ExploreResult, Exporter, Finished, JsonExporter, MarkdownExporter,
    RunResult,
};
use torture_harness::fault;
use torture_harness::report::Report;
use torture_harness::runner::{self, child};
use torture_harness::scenario::{AnyScenario, Overrides};
use torture_harness::strategy::{self, Strategy};
use torture_harness::term::{self, Paint, Style};
use torture_harness::vocab::{ExploreExpectation, Fault, Finding, Model, Verdict};
use torture_harness::{Error, exit};

use crate::reports::{Paths, Targets};
use crate::scenarios::{self, SetOptions};
use crate::setup;

/// Crash-consistency torture for code that keeps state in files.
///
/// With no subcommand, runs concurrent writers (and readers) of a strategy,
/// SIGKILLs operations at random, and proves that no write was torn and no
/// acknowledged update was lost.
#[derive(Debug, Parser)]
#[command(name = "torture", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
    /// Colour the verdict lines: auto (a terminal, without NO_COLOR or
    /// TERM=dumb), always or never. Reports are never coloured.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto", value_parser = torture_harness::term::ColorChoice::parse)]
    color: torture_harness::term::ColorChoice,
    /// Print the verdict line and errors only: no header, no progress bar,
    /// no tables (the exit code and the reports are the same).
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenario files; exit 0 only if every one meets its expectation.
    Run(Box<SetArgs>),
    /// Put a fault at every file-system syscall of one operation, one run
    /// per point and fault, and check the state after each.
    Explore(Box<ExploreArgs>),
    /// Run the zoo on several file systems (loop images, tmpfs, or mounted
    /// directories) and write a comparison report (--out, --json, --junit,
    /// --markdown).
    Fscompare(Box<FsCompareArgs>),
    /// List the strategies and the verdict each must get.
    List {
        /// Print JSON on stdout instead (schema torture/strategies/v1):
        /// each strategy's name, expected, explore (class@fault words) and
        /// description.
        #[arg(long)]
        json: bool,
    },
    /// Remove the directories runs left in $TMPDIR (a failing run keeps its
    /// own as evidence): only torture-* directories of yours with a valid
    /// manifest, holding only what torture made, and not in use.
    Clean {
        /// Only say what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print a completion script for SHELL on stdout (for example
    /// `torture completions bash > ~/.local/share/bash-completion/completions/torture`).
    Completions {
        /// The shell to complete in.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout (for example
    /// `torture man > ~/.local/share/man/man1/torture.1`).
    Man,
    /// Internal: a writer or reader child of the supervisor.
    #[command(name = "__child", hide = true)]
    Child {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Internal: one operation of a built-in strategy (for explore).
    #[command(name = "__op", hide = true)]
    Op {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Internal: a writer traced for --kill-at syscall.
    #[command(name = "__traced", hide = true)]
    Traced {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Internal: kills registered process groups when the supervisor dies.
    #[command(name = "__watchdog", hide = true)]
    Watchdog,
}

/// The options of `torture run`.
#[derive(Debug, Args)]
struct SetArgs {
    /// Scenario files (TOML).
    #[arg(required = true, value_name = "SCENARIO.toml", value_parser = PathArg)]
    scenarios: Vec<PathBuf>,
    #[command(flatten)]
    outputs: Outputs,
    /// Run only the scenarios whose name (the file's stem) matches: a
    /// pattern with *, ? or [...] is a glob on the whole name (`py-*`),
    /// any other a part of it (`lockfile`); repeat it to add more.
    #[arg(short = 'E', long = "filter", value_name = "PATTERN", value_parser = parse_filter)]
    filters: Vec<String>,
    /// Run only the K-th of N deterministic slices of the scenarios (after
    /// --filter).
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    partition: Option<(usize, usize)>,
    /// Print the selected scenarios (name, mode, expectation) and run
    /// nothing.
    #[arg(long, conflicts_with_all = ["json", "junit", "markdown"])]
    list: bool,
    /// Stop at the first run that misses its expectation; the rest are
    /// reported as not run (skipped in the JUnit file).
    #[arg(long)]
    fail_fast: bool,
    /// Run every scenario N times (a fresh seed each time unless --seed or
    /// its file fixes one), and report how often each met its expectation.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_repeat, allow_negative_numbers = true)]
    repeat: u32,
    /// Land every scenario's kills this way (delay or syscall),
    /// whatever its file says (not explorations: they fault every point).
    #[arg(long, value_name = "WHERE", value_parser = config::KillAt::parse)]
    kill_at: Option<config::KillAt>,
    /// Run every scenario with this seed, whatever its file says (an
    /// exploration takes it only with power among its faults).
    #[arg(long, value_name = "N", value_parser = parse_seed, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// Run every run scenario this long, whether its file gives a duration
    /// or an ops quota (explorations have no length).
    #[arg(long, value_name = "D", value_parser = parse_duration, conflicts_with = "ops", allow_hyphen_values = true)]
    duration: Option<std::time::Duration>,
    /// Run every run scenario for exactly this many operations, whether
    /// its file gives a duration or an ops quota.
    #[arg(long, value_name = "N", value_parser = parse_ops, allow_negative_numbers = true)]
    ops: Option<u64>,
}

impl SetArgs {
    /// What the options ask of the set, its files aside.
    fn options(&self) -> SetOptions {
        let length = match (self.duration, self.ops) {
            (Some(d), _) => Some(config::RunLength::Duration(d)),
            (None, Some(n)) => Some(config::RunLength::Ops(n)),
            (None, None) => None,
        };
        SetOptions {
            filters: self.filters.clone(),
            partition: self.partition,
            list: self.list,
            fail_fast: self.fail_fast,
            repeat: self.repeat,
            overrides: Overrides {
                seed: self.seed,
                length,
                kill_at: self.kill_at,
            },
        }
    }
}

/// Report files, shared by a run and a scenario set.
#[derive(Debug, Args)]
struct Outputs {
    /// Write the JSON report to this file, or to stdout with `-` (a run:
    /// schema torture/report/v1; `run`: torture/scenarios/v1).
    #[arg(long, value_name = "FILE", value_parser = PathArg)]
    json: Option<PathBuf>,
    /// Write JUnit XML to this file, or to stdout with `-`: one suite per
    /// run or scenario, one test case per violation class (an exploration:
    /// per fault).
    #[arg(long, value_name = "FILE", value_parser = PathArg)]
    junit: Option<PathBuf>,
    /// Write the Markdown summary (what GITHUB_STEP_SUMMARY gets) to this
    /// file, or to stdout with `-`.
    #[arg(long, value_name = "FILE", value_parser = PathArg)]
    markdown: Option<PathBuf>,
}

impl Outputs {
    /// The report targets, checked before anything runs (see
    /// [`Targets::prepare`]).
    fn prepare(&self) -> Result<Targets, Error> {
        Targets::prepare(Paths {
            json: self.json.as_ref(),
            junit: self.junit.as_ref(),
            markdown: self.markdown.as_ref(),
        })
    }
}

/// What is tortured or explored: a built-in strategy or an outside program.
#[derive(Debug, Args)]
struct WorkloadArgs {
    /// Strategy under test (see `torture list`).
    #[arg(long, default_value = "reference", value_parser = parse_strategy)]
    strategy: &'static dyn Strategy,
    /// An outside program instead: this command (run by /bin/sh -c in the
    /// run directory) must add $TORTURE_OP to the state at $TORTURE_STATE.
    #[arg(
        long,
        value_name = "CMD",
        requires = "check",
        conflicts_with = "strategy"
    )]
    exec: Option<String>,
    /// With --exec: prints the op ids present in the state, one per line;
    /// a non-zero exit means the state is unreadable.
    #[arg(long, value_name = "CMD", requires = "exec")]
    check: Option<String>,
    /// With --exec: runs once before the first operation.
    #[arg(long, value_name = "CMD", requires = "exec")]
    init: Option<String>,
    /// With --exec: the state file's name in the run directory.
    #[arg(long, value_name = "NAME", default_value = "state", requires = "exec")]
    state: String,
}

impl WorkloadArgs {
    fn workload(self) -> Workload {
        match (self.exec, self.check) {
            (Some(exec), Some(check)) => Workload::Exec(ExecSpec {
                exec,
                check,
                init: self.init,
                state: self.state,
                env: Vec::new(),
            }),
            _ => Workload::Builtin(self.strategy),
        }
    }
}

/// The options of a torture run.
#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    workload: WorkloadArgs,
    /// An operation running longer than this is killed and counted as a timeout.
    #[arg(long, value_name = "D", default_value = "30s", value_parser = parse_duration, allow_hyphen_values = true)]
    op_timeout: std::time::Duration,
    /// If operations are attempted but none is acknowledged for this long, the
    /// run ends with the violation `stall`.
    #[arg(long, value_name = "D", default_value = "10s", value_parser = parse_duration, allow_hyphen_values = true)]
    stall_timeout: std::time::Duration,
    /// When the run fails, keep here copies of the run directory (at the first
    /// violation and at the end), the op ledger, the evidence and repro.sh.
    #[arg(long, value_name = "DIR", value_parser = PathArg)]
    artifacts: Option<PathBuf>,
    /// Number of concurrent writer processes.
    #[arg(long, value_name = "N", default_value_t = defaults::WRITERS, value_parser = parse_writers, allow_negative_numbers = true)]
    writers: usize,
    /// Number of reader processes validating every read.
    #[arg(long, value_name = "M", default_value_t = defaults::READERS, value_parser = parse_readers, allow_negative_numbers = true)]
    readers: usize,
    /// Probability that each operation is cut by SIGKILL, in [0, 1]
    /// [default: 0.05 for a strategy, 0.2 for --exec].
    #[arg(long, value_name = "P", value_parser = parse_rate, allow_negative_numbers = true)]
    kill_rate: Option<f64>,
    /// Where a kill lands inside an operation: delay (after a random delay)
    /// or syscall (at the entry of a file-system syscall, by ptrace, spread
    /// over the operation's fault points) [default: delay for a strategy,
    /// syscall for --exec].
    #[arg(long, value_name = "WHERE", value_parser = config::KillAt::parse)]
    kill_at: Option<config::KillAt>,
    /// How long to run (e.g. 10s, 500ms, 2m) [default: 10s].
    #[arg(long, value_name = "D", value_parser = parse_duration, conflicts_with = "ops", allow_hyphen_values = true)]
    duration: Option<std::time::Duration>,
    /// Run exactly this many operations (split over the writers), instead of --duration.
    #[arg(long, value_name = "N", value_parser = parse_ops, allow_negative_numbers = true)]
    ops: Option<u64>,
    /// Padding bytes in the state document, so writes are large enough to
    /// cut (at most 256 MiB).
    #[arg(long, value_name = "BYTES", default_value_t = defaults::PAYLOAD, value_parser = parse_payload, allow_negative_numbers = true)]
    payload: usize,
    /// Seed of every random decision [default: fresh, printed].
    #[arg(long, value_parser = parse_seed, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// Directory to run in: new, empty, or made by torture [default: a fresh temporary one].
    #[arg(long, value_name = "DIR", value_parser = PathArg)]
    dir: Option<PathBuf>,
    #[command(flatten)]
    outputs: Outputs,
    /// A pass needs at least this many acknowledged operations per writer,
    /// else the verdict is inconclusive (exit 3).
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_MIN_ACKED, value_parser = parse_count, allow_negative_numbers = true)]
    min_acked: u64,
    /// A pass needs at least this many kills landed inside an operation
    /// (when --kill-rate is above 0), else the verdict is inconclusive.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_MIN_KILLS, value_parser = parse_count, allow_negative_numbers = true)]
    min_kills: u64,
    /// With --kill-at syscall: run until every fault point of the operation
    /// has had K kills land on it (bounded by --duration); fewer is
    /// inconclusive.
    #[arg(long, value_name = "K", value_parser = parse_ops, allow_negative_numbers = true)]
    until_covered: Option<u64>,
    /// First time an in-process loop of updates on the same directory, and
    /// report the harness's throughput against it.
    #[arg(long)]
    baseline: bool,
    /// Run on a recording disk of this file system (ext4, ext4-journal,
    /// xfs, btrfs), then cut the power at crash points of its block log and
    /// check every crash state (root, /dev/fuse and loop devices).
    #[arg(long, value_name = "FS")]
    power_loss: Option<String>,
    /// With --power-loss: how many crash points to check, or `all`
    /// [default: 100].
    #[arg(long, value_name = "N", value_parser = config::CrashPoints::parse)]
    crash_points: Option<config::CrashPoints>,
    /// With --power-loss: the most crash states checked at one crash point
    /// [default: 4].
    #[arg(long, value_name = "N", value_parser = parse_ops, allow_negative_numbers = true)]
    max_states: Option<u64>,
    /// With --power-loss: the recording disk's size in MiB, sparse [default: 1024].
    #[arg(long, value_name = "MIB", value_parser = parse_ops, allow_negative_numbers = true)]
    image_mib: Option<u64>,
}

/// The options of `torture fscompare`.
#[derive(Debug, Args)]
struct FsCompareArgs {
    /// File systems to make and mount: tmpfs, ext4, ext4-journal, xfs, btrfs
    /// [default: tmpfs,ext4,xfs,btrfs, or none when --dir is given].
    #[arg(long, value_name = "LIST")]
    fs: Option<String>,
    /// Compare a file system that is already mounted, named NAME, by
    /// running in a fresh directory under PATH (no root needed). Without
    /// --fs, the --dir list replaces the default list; with it, adds to it.
    #[arg(long = "dir", value_name = "NAME=PATH")]
    dirs: Vec<String>,
    /// Strategies to run [default: the whole zoo].
    #[arg(long, value_name = "LIST")]
    strategies: Option<String>,
    /// Each run's length.
    #[arg(long, value_name = "D", default_value = "3s", value_parser = parse_duration, allow_hyphen_values = true, conflicts_with = "ops")]
    duration: std::time::Duration,
    /// Each run does exactly this many operations, instead of --duration.
    #[arg(long, value_name = "N", value_parser = parse_ops)]
    ops: Option<u64>,
    /// Where kills land: delay or syscall (see the run's --kill-at).
    #[arg(long, value_name = "WHERE", default_value = "delay", value_parser = config::KillAt::parse)]
    kill_at: config::KillAt,
    /// Writers per run.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = parse_writers, allow_negative_numbers = true)]
    writers: usize,
    /// Readers per run.
    #[arg(long, value_name = "M", default_value_t = 1, value_parser = parse_readers, allow_negative_numbers = true)]
    readers: usize,
    /// Kill probability per operation.
    #[arg(long, value_name = "P", default_value_t = 0.1, value_parser = parse_rate, allow_negative_numbers = true)]
    kill_rate: f64,
    /// A run's pass needs at least this many kills landed inside an
    /// operation, else it is inconclusive (and not as expected).
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_MIN_KILLS, value_parser = parse_count, allow_negative_numbers = true)]
    min_kills: u64,
    /// Seed of every run [default: fresh, printed].
    #[arg(long, value_parser = parse_seed, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// Where to make the images and mount points [default: the temporary directory].
    #[arg(long, value_name = "DIR", value_parser = PathArg)]
    scratch: Option<PathBuf>,
    /// Size of each image and of the tmpfs, in MiB (16 to 1048576, and at
    /// least what the file system's mkfs takes: XFS wants 300).
    #[arg(long, value_name = "MIB", default_value_t = 1024, value_parser = parse_image_mib, allow_negative_numbers = true)]
    image_mib: u64,
    /// Where to write report.json, report.md, report.html and the charts:
    /// new, empty, or made by an earlier fscompare.
    #[arg(long, value_name = "DIR", required = true, value_parser = PathArg)]
    out: PathBuf,
    /// Also write the JSON report (schema torture/fscompare/v1, as
    /// report.json) to this file, or to stdout with `-`.
    #[arg(long, value_name = "FILE", value_parser = PathArg)]
    json: Option<PathBuf>,
    /// Write JUnit XML to this file (or stdout with `-`): one suite per file
    /// system, one test case per strategy (and one per power run), failing
    /// when the strategy did not get its expected verdict.
    #[arg(long, value_name = "FILE", value_parser = PathArg)]
    junit: Option<PathBuf>,
    /// Also write the Markdown report (as report.md) to this file, or to
    /// stdout with `-`.
    #[arg(long, value_name = "FILE", value_parser = PathArg)]
    markdown: Option<PathBuf>,
    /// Also run each strategy on a recording disk of each file system with
    /// a block device (ext4, ext4-journal, xfs, btrfs; made in $TMPDIR),
    /// cut the power at crash points of its block log and judge the crash
    /// states (root, /dev/fuse and loop devices).
    #[arg(long)]
    power_loss: bool,
    /// With --power-loss: crash points checked per run, or `all` [default: 30].
    #[arg(long, value_name = "N", value_parser = config::CrashPoints::parse)]
    crash_points: Option<config::CrashPoints>,
    /// With --power-loss: the most crash states checked at one crash point
    /// [default: 2].
    #[arg(long, value_name = "N", value_parser = parse_ops, allow_negative_numbers = true)]
    max_states: Option<u64>,
}

impl FsCompareArgs {
    /// `--power-loss` and its settings; either setting without it is bad input.
    fn power(&self) -> Result<Option<torture_harness::fscompare::PowerParams>, Error> {
        use torture_harness::fscompare::power;
        if !self.power_loss {
            let stray = [
                ("--crash-points", self.crash_points.is_some()),
                ("--max-states", self.max_states.is_some()),
            ];
            return match stray.iter().find(|s| s.1) {
                Some((flag, _)) => Err(Error::bad_input(format!("{flag} needs --power-loss"))),
                None => Ok(None),
            };
        }
        let crash_points = match self.crash_points {
            Some(config::CrashPoints::All) => None,
            Some(config::CrashPoints::Count(n)) => Some(n),
            None => Some(power::DEFAULT_CRASH_POINTS),
        };
        Ok(Some(power::PowerParams {
            crash_points,
            max_states: self.max_states.unwrap_or(power::DEFAULT_MAX_STATES),
        }))
    }
}

/// A parsed `--faults` list (an alias, so that clap takes it as one value).
type FaultList = Vec<Fault>;

/// The options of `torture explore`.
#[derive(Debug, Args)]
struct ExploreArgs {
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Explore what a scenario file tortures (its strategy, or its
    /// exec/check/init), instead of --strategy or --exec; a file with
    /// mode = "explore" also gives the faults, warm-up, payload and timeouts
    /// that no option here overrides.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["exec", "strategy"], value_parser = PathArg)]
    scenario: Option<PathBuf>,
    /// Faults to put at every point: kill, eio, enospc, edquot, eintr,
    /// short-write, comma-separated, or all [default: all]; power checks
    /// the crash states a persistence model allows instead (see --model),
    /// or a real file system's (see --fs).
    #[arg(long, value_name = "LIST", value_parser = Fault::parse_list)]
    faults: Option<FaultList>,
    /// Ordinary operations before the explored one, so there is
    /// acknowledged state to lose [default: 2].
    #[arg(long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true)]
    warmup_ops: Option<u64>,
    /// Count every file-system syscall as a fault point, not only those on
    /// files in the run directory.
    #[arg(long)]
    all_syscalls: bool,
    /// Explore only the fault point with this index (a replay).
    #[arg(long, value_name = "N", value_parser = parse_point, allow_negative_numbers = true)]
    point: Option<usize>,
    /// A faulted operation running longer than this is killed [default: 10s].
    #[arg(long, value_name = "D", value_parser = parse_duration, allow_hyphen_values = true)]
    op_timeout: Option<std::time::Duration>,
    /// The ordinary operation after a faulted one must finish within this,
    /// else the violation is no_recovery [default: 3s].
    #[arg(long, value_name = "D", value_parser = parse_duration, allow_hyphen_values = true)]
    recovery_timeout: Option<std::time::Duration>,
    /// Padding bytes in a built-in strategy's state document [default:
    /// 1024; at most 256 MiB].
    #[arg(long, value_name = "BYTES", value_parser = parse_payload, allow_negative_numbers = true)]
    payload: Option<usize>,
    /// Directory to run in: new, empty, or made by torture [default: a fresh temporary one].
    #[arg(long, value_name = "DIR", value_parser = PathArg)]
    dir: Option<PathBuf>,
    /// Faulted runs carried out at once, each in its own directory
    /// [default: the number of CPUs].
    #[arg(long, value_name = "N", value_parser = parse_writers, allow_negative_numbers = true)]
    jobs: Option<usize>,
    /// With --faults power: the persistence model, posix (what POSIX
    /// promises), ordered (a journal like ext4 data=ordered) or none (every
    /// operation persists) [default: posix].
    #[arg(long, value_name = "MODEL", value_parser = parse_model)]
    model: Option<torture_harness::vocab::Model>,
    /// With --faults power: crash states checked at most per crash point;
    /// beyond it they are sampled (the seeded ones, plus every state that
    /// drops one operation) [default: 256].
    #[arg(long, value_name = "N", value_parser = parse_ops, allow_negative_numbers = true)]
    max_states: Option<u64>,
    /// With --faults power: the seed of the sampled crash states [default: 0].
    #[arg(long, value_parser = parse_seed, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// With --faults power alone: run the operations on a recording disk of
    /// this file system (ext4, ext4-journal, xfs, btrfs) and cut the power
    /// between every pair of block writes of the explored one, instead of
    /// a model (root, /dev/fuse and loop devices).
    #[arg(long, value_name = "FS")]
    fs: Option<String>,
    /// With --fs: the recording disk's size in MiB, sparse [default: 1024].
    #[arg(long, value_name = "MIB", value_parser = parse_image_mib, allow_negative_numbers = true)]
    image_mib: Option<u64>,
    /// Write the JSON report (schema torture/explore/v1) to this file, or
    /// to stdout with `-`.
    #[arg(long, value_name = "FILE", value_parser = PathArg)]
    json: Option<PathBuf>,
    /// Write JUnit XML to this file (or stdout with `-`): one suite, one
    /// test case per fault, failing with its findings and their replay
    /// commands.
    #[arg(long, value_name = "FILE", value_parser = PathArg)]
    junit: Option<PathBuf>,
    /// Write the Markdown summary (what GITHUB_STEP_SUMMARY gets) to this
    /// file, or to stdout with `-`.
    #[arg(long, value_name = "FILE", value_parser = PathArg)]
    markdown: Option<PathBuf>,
    /// For each violating run, keep the run directory after the fault and a
    /// replay script here.
    #[arg(long, value_name = "DIR", value_parser = PathArg)]
    artifacts: Option<PathBuf>,
}

/// A path option: any bytes, but no control character (see
/// [`torture_harness::paths`]).
#[derive(Debug, Clone, Copy)]
struct PathArg;

impl clap::builder::TypedValueParser for PathArg {
    type Value = PathBuf;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<PathBuf, clap::Error> {
        let what = arg.map_or_else(String::new, |a| match a.get_long() {
            Some(long) => format!("--{long}"),
            None => a.get_id().to_string(),
        });
        let path = PathBuf::from(value);
        torture_harness::paths::check(&what, &path)
            .map_err(|m| clap::Error::raw(clap::error::ErrorKind::InvalidValue, m))?;
        Ok(path)
    }
}

fn parse_model(s: &str) -> Result<torture_harness::vocab::Model, String> {
    torture_harness::vocab::Model::from_name(s).ok_or_else(|| {
        let valid: Vec<&str> = torture_harness::vocab::Model::ALL
            .iter()
            .map(|m| m.name())
            .collect();
        format!("unknown model (valid: {})", valid.join(", "))
    })
}

fn parse_strategy(s: &str) -> Result<&'static dyn Strategy, String> {
    strategy::by_name(s).ok_or_else(|| format!("unknown strategy (valid: {})", strategy::names()))
}

/// Why a text is not a whole number of the kind asked for.
enum NotWhole {
    /// Not digits at all.
    Junk,
    /// Digits, with a minus sign.
    Negative,
    /// Digits beyond `u64`.
    TooLarge,
}

/// A whole number, telling a negative or huge one from junk, so that each
/// option can say what it takes.
fn whole(s: &str) -> Result<u64, NotWhole> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NotWhole::Junk);
    }
    if digits.len() < s.len() && digits.bytes().any(|b| b != b'0') {
        return Err(NotWhole::Negative);
    }
    digits.parse().map_err(|_| NotWhole::TooLarge)
}

/// A whole number from `min` to `max`; `unit` follows `max` in the message.
fn parse_range(s: &str, min: u64, max: u64, unit: &str) -> Result<u64, String> {
    let n = match whole(s) {
        Ok(n) => n,
        Err(NotWhole::Junk) => return Err("not a whole number".into()),
        Err(NotWhole::Negative) if min == 0 => return Err("must not be negative".into()),
        Err(NotWhole::Negative) => return Err(format!("must be at least {min}")),
        Err(NotWhole::TooLarge) => return Err(format!("at most {max}{unit}")),
    };
    if n < min {
        return Err(format!("must be at least {min}"));
    }
    if n > max {
        return Err(format!("at most {max}{unit}"));
    }
    Ok(n)
}

/// A count of processes: a whole number, then the configuration's check.
fn parse_bounded(s: &str, min: usize) -> Result<usize, String> {
    let n = parse_range(s, 0, u64::MAX, " processes")?;
    config::check::processes(usize::try_from(n).unwrap_or(usize::MAX), min)
}

/// A count of 0 or more (`--min-acked`, `--min-kills`, `--warmup-ops`).
fn parse_count(s: &str) -> Result<u64, String> {
    parse_range(s, 0, u64::MAX, "")
}

/// A seed: any 64-bit whole number.
fn parse_seed(s: &str) -> Result<u64, String> {
    parse_range(s, 0, u64::MAX, " (a seed is 64 bits)")
}

/// A fault point's index.
fn parse_point(s: &str) -> Result<usize, String> {
    parse_range(s, 0, usize::MAX as u64, "").map(|n| n as usize)
}

/// Padding bytes, at most [`config::MAX_PAYLOAD`].
fn parse_payload(s: &str) -> Result<usize, String> {
    let n = parse_range(s, 0, u64::MAX, " bytes")?;
    config::check::payload(usize::try_from(n).unwrap_or(usize::MAX))
}

/// An image size in MiB: at least 16 (room for the runs), at most 1 TiB.
fn parse_image_mib(s: &str) -> Result<u64, String> {
    parse_range(s, 16, 1 << 20, " MiB (1 TiB)")
}

fn parse_writers(s: &str) -> Result<usize, String> {
    parse_bounded(s, 1)
}

fn parse_readers(s: &str) -> Result<usize, String> {
    parse_bounded(s, 0)
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let p = s.parse::<f64>().map_err(|_| "not a number".to_string())?;
    config::check::kill_rate(p)
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    config::check::duration(torture_harness::duration::parse(s)?)
}

fn parse_partition(s: &str) -> Result<(usize, usize), String> {
    let bad = || "write it K/N with 1 <= K <= N, e.g. 2/4".to_string();
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

fn parse_ops(s: &str) -> Result<u64, String> {
    parse_range(s, 1, u64::MAX, "")
}

/// `torture run`: the reports checked first, then the set (see
/// [`scenarios`]).
fn run_scenarios(args: &SetArgs) -> Result<Verdict, Error> {
    let targets = args.outputs.prepare()?;
    scenarios::run(&args.scenarios, &args.options(), &targets)
}

/// `--filter`: a pattern that says something (an empty one, an unset
/// shell variable's, would match every name).
fn parse_filter(s: &str) -> Result<String, String> {
    match s.is_empty() {
        true => Err("an empty pattern would select every scenario".into()),
        false => Ok(s.to_string()),
    }
}

/// `--repeat`: at least once; at most 10000 times, as every run's report is
/// kept until the set's reports are written.
fn parse_repeat(s: &str) -> Result<u32, String> {
    parse_range(s, 1, 10_000, "").map(|n| n as u32)
}

/// Parses the command line and runs it, returning the exit code.
pub fn main() -> i32 {
    let cli = match parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => return clap_error(e),
    };
    let internal = matches!(
        cli.command,
        Some(
            Command::Child { .. }
                | Command::Op { .. }
                | Command::Traced { .. }
                | Command::Watchdog
                | Command::List { .. }
                | Command::Completions { .. }
                | Command::Man
        )
    );
    // Temporary directories are made there, and a path with a control
    // character makes no sense.
    if !internal && let Err(e) = torture_harness::paths::check("TMPDIR", &std::env::temp_dir()) {
        return finish(Err(Error::bad_input(e)));
    }
    torture_harness::term::init(cli.color, cli.quiet);
    let outcome = match cli.command {
        None => torture(cli.run),
        Some(Command::Run(args)) => run_scenarios(&args),
        Some(Command::Explore(args)) => explore(*args),
        Some(Command::Fscompare(args)) => fscompare(*args),
        Some(Command::List { json }) => list(json),
        Some(Command::Clean { dry_run }) => clean(dry_run),
        Some(Command::Completions { shell }) => completions(shell),
        Some(Command::Man) => man(),
        // The internal commands speak to the supervisor, not to a user.
        Some(Command::Op { args }) => return child::op_main(&args),
        Some(Command::Traced { args }) => return fault::precise::main(&args),
        Some(Command::Child { args }) => return child::main(&args),
        Some(Command::Watchdog) => return torture_harness::process::watchdog_main(),
    };
    finish(outcome)
}

/// Parses the command line. A run's options cannot come with a subcommand
/// (`torture --ops 5 explore`), but the global `--color` and `-q` go
/// anywhere (`torture -q explore`): clap's `args_conflicts_with_subcommands`
/// would refuse them before a subcommand too, so the check is here.
fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    use clap::parser::ValueSource;
    let mut cmd = Cli::command();
    let matches = cmd.try_get_matches_from_mut(args)?;
    if let Some((name, _)) = matches.subcommand() {
        let stray = cmd.get_arguments().find(|a| {
            !a.is_global_set()
                && matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine)
        });
        if let Some(arg) = stray {
            let message = format!("the subcommand '{name}' cannot be used with '{arg}'");
            return Err(cmd.error(clap::error::ErrorKind::ArgumentConflict, message));
        }
    }
    Cli::from_arg_matches(&matches)
}

/// The one mapping from what a command ended with to its exit code (see
/// [`exit`]): a verdict by its precedence, an error by its kind, said on
/// one line of stderr.
fn finish(outcome: Result<Verdict, Error>) -> i32 {
    match outcome {
        Ok(verdict) => exit::of_verdict(verdict),
        Err(e) => {
            eprintln!("torture: {e}");
            exit::of_error(&e)
        }
    }
}

/// Help and version go to stdout with 0; every other error is one line.
fn clap_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return exit::PASS;
    }
    // clap explains on several lines; keep the message lines, on one line.
    let text = e.to_string();
    let message: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    eprintln!(
        "torture: {}",
        message.join(" ").trim_start_matches("error: ")
    );
    exit::BAD_INPUT
}

/// What the options of a run say; [`RunSettings::build`] checks them.
fn run_settings(args: RunArgs) -> RunSettings {
    RunSettings {
        workload: Some(args.workload.workload()),
        writers: Some(args.writers),
        readers: Some(args.readers),
        kill_rate: args.kill_rate,
        kill_at: args.kill_at,
        duration: args.duration,
        ops: args.ops,
        payload: Some(args.payload),
        seed: args.seed,
        op_timeout: Some(args.op_timeout),
        stall_timeout: Some(args.stall_timeout),
        min_acked: Some(args.min_acked),
        min_kills: Some(args.min_kills),
        until_covered: args.until_covered,
        dir: args.dir,
        artifacts: args.artifacts,
        baseline: args.baseline,
        power_loss: args.power_loss,
        crash_points: args.crash_points,
        max_states: args.max_states,
        image_mib: args.image_mib,
        progress: false,
        announce: true,
    }
}

fn torture(args: RunArgs) -> Result<Verdict, Error> {
    let targets = args.outputs.prepare()?;
    let program = setup::program()?;
    let config = RunConfig {
        progress: term::progress(),
        announce: !term::quiet(),
        ..run_settings(args).build(program, Naming::Flags)?
    };
    let report = runner::prepare(&config)?.execute()?;
    let paint = Paint::stdout();
    if term::quiet() {
        println!("{}", torture_harness::report::verdict_line(&report, paint));
    } else {
        print!(
            "{}",
            torture_harness::report::summary_painted(&report, paint)
        );
    }
    if let Some(a) = &config.artifacts
        && report.verdict == Verdict::Fail
        && !term::quiet()
    {
        println!("artifacts: {}", a.display());
    }
    let verdict = report.verdict;
    say_why(&report);
    let runs = [Finished::Run(RunResult {
        name: config.workload.name().to_string(),
        file: None,
        expected: None,
        report,
    })];
    Ok(targets.write(&runs, &JsonExporter, verdict))
}

fn fscompare(args: FsCompareArgs) -> Result<Verdict, Error> {
    use torture_harness::fscompare::{self, FsSpec};
    let outputs = Outputs {
        json: args.json.clone(),
        junit: args.junit.clone(),
        markdown: args.markdown.clone(),
    };
    let power = args.power()?;
    let targets = outputs.prepare()?;
    // `compare` checks it again; here it comes before anything is printed.
    fscompare::out_dir(&args.out)
        .check()
        .map_err(Error::bad_input)?;
    let program = setup::program()?;
    let names = match &args.fs {
        Some(list) => list.as_str(),
        None if args.dirs.is_empty() => "tmpfs,ext4,xfs,btrfs",
        None => "",
    };
    let mut filesystems = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match FsSpec::parse(name) {
            Ok(spec) => filesystems.push(spec),
            Err(e) => return Err(Error::bad_input(format!("--fs: {e}"))),
        }
    }
    for dir in &args.dirs {
        match FsSpec::parse_dir(dir) {
            Ok(spec) => filesystems.push(spec),
            Err(e) => return Err(Error::bad_input(e)),
        }
    }
    if filesystems.is_empty() {
        return Err(Error::bad_input(
            "no file system to compare: give --fs or --dir",
        ));
    }
    let strategies: Vec<&'static dyn Strategy> = match &args.strategies {
        None => strategy::all().to_vec(),
        Some(list) => {
            let mut chosen = Vec::new();
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                match parse_strategy(name) {
                    Ok(s) => chosen.push(s),
                    Err(e) => return Err(Error::bad_input(format!("--strategies: {name}: {e}"))),
                }
            }
            chosen
        }
    };
    if strategies.is_empty() {
        return Err(Error::bad_input("--strategies names no strategy"));
    }
    let seed = args.seed.unwrap_or_else(torture_harness::seed::fresh);
    // The command as typed, but torture named the way replay lines name
    // it (`torture` when that runs this binary, else its absolute path).
    let command: Vec<String> = std::iter::once(torture_harness::invocation::word(&program))
        .chain(
            std::env::args()
                .skip(1)
                .map(|a| torture_harness::shell::quote(&a)),
        )
        .collect();
    let config = fscompare::CompareConfig {
        filesystems,
        strategies,
        duration: args.duration,
        ops: args.ops,
        kill_at: args.kill_at,
        writers: args.writers,
        readers: args.readers,
        kill_rate: args.kill_rate,
        minimums: config::Minimums {
            kills: args.min_kills,
            ..config::Minimums::default()
        },
        seed,
        scratch: args.scratch.unwrap_or_else(std::env::temp_dir),
        image_size: args.image_mib << 20,
        out: args.out,
        program,
        command: command.join(" "),
        progress: term::progress(),
        announce: !term::quiet(),
        paint: Paint::stderr(),
        power,
    };
    setup::stop_on_signals()?;
    let report = fscompare::compare(&config)?;
    let verdict = report.verdict();
    let broken = report.broken.clone();
    let verdict_line = report.verdict_line(Paint::stdout());
    let results = [Finished::Compare(CompareResult::new(report))];
    let mut verdict = verdict;
    if let Err(e) = export::write_out_dir(&results, &fscompare::out_dir(&config.out)) {
        eprintln!("torture: cannot write the report: {e}");
        verdict = verdict.worst(Verdict::Error);
    }
    if !term::quiet() {
        // The report's own Markdown: never coloured.
        print!(
            "{}",
            String::from_utf8_lossy(&MarkdownExporter.render(&results))
        );
        println!("\nreport: {}", config.out.join("report.html").display());
    }
    println!("{verdict_line}");
    let verdict = targets.write(&results, &JsonExporter, verdict);
    if let Some(why) = broken {
        eprintln!(
            "torture: {why}: no verdict (the report in {} marks the run as error)",
            config.out.display()
        );
    }
    if verdict == Verdict::Interrupted {
        eprintln!("torture: interrupted: the comparison is partial");
    }
    Ok(verdict)
}

fn explore(args: ExploreArgs) -> Result<Verdict, Error> {
    let outputs = Outputs {
        json: args.json.clone(),
        junit: args.junit.clone(),
        markdown: args.markdown.clone(),
    };
    let targets = outputs.prepare()?;
    let program = setup::program()?;
    let scenario = match &args.scenario {
        Some(file) => Some(AnyScenario::load(file).map_err(Error::bad_input)?),
        None => None,
    };
    let config = ExploreConfig {
        progress: term::progress(),
        ..explore_settings(args, scenario.as_ref()).build(program, Naming::Flags)?
    };
    setup::stop_on_signals()?;
    let report = fault::explore(&config)?;
    let paint = Paint::stdout();
    if term::quiet() {
        println!("{}", report.verdict_line(paint));
    } else {
        print!("{}", report.summary_painted(paint));
        if let Some(line) = explore_expectation_line(&config, scenario.as_ref(), &report, paint) {
            println!("{line}");
        }
    }
    if let Some(a) = &config.artifacts
        && report.failed()
        && !term::quiet()
    {
        println!("artifacts: {}", a.display());
    }
    let verdict = report.verdict;
    if verdict == Verdict::Interrupted {
        eprintln!(
            "torture: interrupted: no violation at the points explored, but no verdict either"
        );
    }
    let result = ExploreResult {
        name: scenario.map_or_else(|| format!("explore-{}", report.target), |s| s.name().into()),
        file: None,
        expected: None,
        report,
    };
    let results = [Finished::Explore(result)];
    Ok(targets.write(&results, &JsonExporter, verdict))
}

/// What the exploration had to find, when that is a failure: the findings
/// a scenario file's `expect` names, else a built-in strategy's own
/// (`torture list`), of the faults explored. `None` when the whole of the
/// operation was not explored (`--point`) or nothing was to be found (the
/// verdict says it all).
fn explore_expectation(
    config: &ExploreConfig,
    scenario: Option<&AnyScenario>,
) -> Option<(String, Vec<(Fault, Finding)>)> {
    if config.only_point.is_some() {
        return None;
    }
    let (name, pairs) = match (scenario, &config.workload) {
        (Some(AnyScenario::Explore(sc)), _) => match &sc.expect {
            ExploreExpectation::Finds(pairs) => (sc.name.as_str(), pairs.as_slice()),
            ExploreExpectation::Pass => return None,
        },
        (_, Workload::Builtin(strategy)) => (strategy.name(), strategy.explore_expected()),
        (_, Workload::Exec(_)) => return None,
    };
    // A power pair is what the posix model must find; a real file system
    // decides for itself.
    let modelled = config.model == Model::Posix && config.fs.is_none();
    let explored: Vec<(Fault, Finding)> = pairs
        .iter()
        .filter(|(f, _)| config.faults.contains(f) && (*f != Fault::Power || modelled))
        .copied()
        .collect();
    (!explored.is_empty()).then(|| (name.to_string(), explored))
}

/// After an exploration's verdict, an expected failure held against what it
/// found (`naive: expected torn@kill,torn@eio: met`), so that a strategy
/// caught as it must be does not read as a bare FAIL.
fn explore_expectation_line(
    config: &ExploreConfig,
    scenario: Option<&AnyScenario>,
    report: &fault::ExploreReport,
    paint: Paint,
) -> Option<String> {
    let (name, pairs) = explore_expectation(config, scenario)?;
    let expected = ExploreExpectation::Finds(pairs);
    let met = report.meets(&expected);
    let words = torture_harness::vocab::against(
        &expected.to_string(),
        met,
        report.verdict,
        &report.observed(),
    );
    let style = Style::of_expectation(met, report.verdict);
    Some(format!("{name}: {}", paint.paint(style, &words)))
}

/// The exploration the options ask for: each setting from its option, else
/// from an explore-mode `--scenario` file (a run-mode one gives only its
/// workload), else the default.
fn explore_settings(args: ExploreArgs, scenario: Option<&AnyScenario>) -> ExploreSettings {
    let base = match scenario {
        Some(AnyScenario::Explore(s)) => s.settings.clone(),
        Some(AnyScenario::Run(s)) => ExploreSettings {
            workload: Some(s.run.workload.clone()),
            ..ExploreSettings::default()
        },
        None => ExploreSettings::default(),
    };
    let from_args = ExploreSettings {
        workload: args.scenario.is_none().then(|| args.workload.workload()),
        faults: args.faults,
        warmup_ops: args.warmup_ops,
        all_syscalls: args.all_syscalls,
        only_point: args.point,
        op_timeout: args.op_timeout,
        recovery_timeout: args.recovery_timeout,
        payload: args.payload,
        dir: args.dir,
        artifacts: args.artifacts,
        jobs: args.jobs,
        model: args.model,
        max_states: args
            .max_states
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        seed: args.seed,
        fs: args.fs,
        image_mib: args.image_mib,
    };
    from_args.or(base)
}

/// Says on stderr why a run's verdict is not a pass or a fail.
fn say_why(report: &Report) {
    match report.verdict {
        Verdict::Interrupted => eprintln!(
            "torture: interrupted: no violation in the partial run, but no verdict either"
        ),
        Verdict::Error => eprintln!(
            "torture: the harness failed: {}",
            report.harness_error.as_deref().unwrap_or("?")
        ),
        Verdict::Inconclusive => eprintln!(
            "torture: inconclusive: {}",
            report.basis.shortfall.first().map_or("?", String::as_str)
        ),
        Verdict::Pass | Verdict::Fail => {}
    }
}

/// `torture clean`: what was removed, what was skipped and why.
fn clean(dry_run: bool) -> Result<Verdict, Error> {
    use torture_harness::owned::clean::{Cleaned, clean};
    let tmp = std::env::temp_dir();
    let cleaned = clean(&tmp, dry_run)
        .map_err(|e| Error::harness(format!("cannot list {}: {e}", tmp.display())))?;
    let verb = if dry_run { "would remove" } else { "removed" };
    let mut removed = 0;
    for c in &cleaned {
        match c {
            Cleaned::Removed(p, kind) => {
                removed += 1;
                println!("{verb} {} ({})", p.display(), kind.describe());
            }
            Cleaned::Skipped(p, why) => println!("skipped {}: it {why}", p.display()),
        }
    }
    println!(
        "torture clean: {verb} {removed}, skipped {} in {}",
        cleaned.len() - removed,
        tmp.display()
    );
    Ok(Verdict::Pass)
}

/// Writes `bytes` to stdout; a failure (a full disk) is the harness's.
fn print_bytes(what: &str, bytes: &[u8]) -> Result<Verdict, Error> {
    use std::io::Write;
    std::io::stdout()
        .write_all(bytes)
        .map_err(|e| Error::harness(format!("cannot write the {what} to stdout: {e}")))?;
    Ok(Verdict::Pass)
}

/// The completion script for `shell`, from the one [`Cli`] definition.
fn completions(shell: clap_complete::Shell) -> Result<Verdict, Error> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut public_command(), "torture", &mut script);
    print_bytes("completion script", &script)
}

/// [`Cli`] as a user sees it: its arguments and its subcommands but the
/// hidden ones (`__child`, ...). The help and clap_mangen leave those out;
/// clap_complete offers them, and clap has no way to remove a subcommand,
/// so the visible parts are copied into a new command.
fn public_command() -> clap::Command {
    let full = Cli::command();
    let public = clap::Command::new("torture")
        .version(env!("CARGO_PKG_VERSION"))
        .args_conflicts_with_subcommands(full.is_args_conflicts_with_subcommands_set())
        .args(full.get_arguments().cloned())
        .groups(full.get_groups().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    match full.get_about() {
        Some(about) => public.about(about.clone()),
        None => public,
    }
}

/// The man page, from the one [`Cli`] definition.
fn man() -> Result<Verdict, Error> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| Error::harness(format!("cannot render the man page: {e}")))?;
    print_bytes("man page", &page)
}

fn list(json: bool) -> Result<Verdict, Error> {
    if json {
        return print_bytes("list", &export::strategies_json());
    }
    println!(
        "{:<13} {:<10} {:<30} description",
        "strategy", "expected", "explore"
    );
    for s in strategy::all() {
        // The words of an explore scenario's `expect`.
        let explore = match s.explore_expected() {
            [] => ExploreExpectation::Pass,
            pairs => ExploreExpectation::Finds(pairs.to_vec()),
        };
        println!(
            "{:<13} {:<10} {:<30} {}",
            s.name(),
            s.expected().to_string(),
            explore.to_string(),
            s.summary()
        );
    }
    println!();
    println!("expected: the verdict under SIGKILL torture (fault tier: process crash)");
    println!(
        "explore:  what `torture explore` must find, as class@fault (one operation, no concurrency)"
    );
    Ok(Verdict::Pass)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use torture_harness::config::{ExploreConfig, KillAt};

    fn words(line: &str) -> Vec<String> {
        shlex::split(line).unwrap_or_else(|| panic!("not shell words: {line}"))
    }

    /// The run the replay line asks for, parsed as `torture` parses it.
    fn parse_run(line: &str, program: &Path) -> RunConfig {
        let cli = Cli::try_parse_from(words(line)).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(cli.command.is_none(), "{line}");
        run_settings(cli.run)
            .build(program.to_path_buf(), Naming::Flags)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn parse_explore(line: &str, program: &Path, jobs: usize) -> ExploreConfig {
        let cli = Cli::try_parse_from(words(line)).unwrap_or_else(|e| panic!("{line}: {e}"));
        let Some(Command::Explore(args)) = cli.command else {
            panic!("not an exploration: {line}")
        };
        let mut settings = explore_settings(*args, None);
        settings.jobs = Some(jobs);
        settings
            .build(program.to_path_buf(), Naming::Flags)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn exec(init: Option<&str>, state: &str) -> Workload {
        Workload::Exec(ExecSpec {
            exec: "python3 app.py add \"$TORTURE_OP\" 'it''s'".into(),
            check: "python3 app.py list --sep=,".into(),
            init: init.map(str::to_string),
            state: state.into(),
            env: Vec::new(),
        })
    }

    /// Every run the replay line names comes back from it unchanged: the
    /// line is made from the configuration, the parse is the command
    /// line's own, and `--dir`, `--artifacts`, `--baseline` and the live
    /// progress, which a replay leaves out, are at their defaults.
    #[test]
    fn run_replay_lines_parse_back_to_their_configuration() {
        let program = Path::new("/usr/local/bin/torture");
        let base = RunSettings {
            seed: Some(7),
            announce: true,
            ..RunSettings::default()
        };
        let cases = [
            base.clone(),
            RunSettings {
                workload: Some(Workload::Builtin(strategy::by_name("naive").unwrap())),
                writers: Some(32),
                readers: Some(0),
                kill_rate: Some(0.1),
                duration: Some(Duration::from_millis(1500)),
                payload: Some(0),
                seed: Some(u64::MAX),
                ..base.clone()
            },
            RunSettings {
                workload: Some(exec(Some("mkdir -p db && : > db/x"), "db.json")),
                ops: Some(200),
                kill_rate: Some(0.0),
                kill_at: Some(KillAt::Delay),
                op_timeout: Some(Duration::from_secs(90)),
                stall_timeout: Some(Duration::from_millis(250)),
                min_acked: Some(0),
                min_kills: Some(3),
                ..base.clone()
            },
            RunSettings {
                workload: Some(exec(None, "state")),
                kill_rate: Some(0.35),
                until_covered: Some(2),
                duration: Some(Duration::from_secs(3600)),
                ..base.clone()
            },
            RunSettings {
                kill_at: Some(KillAt::Syscall),
                kill_rate: Some(1.0),
                ..base.clone()
            },
            RunSettings {
                power_loss: Some("xfs".into()),
                crash_points: Some(config::CrashPoints::All),
                max_states: Some(9),
                image_mib: Some(512),
                ..base.clone()
            },
            RunSettings {
                power_loss: Some("ext4-journal".into()),
                ..base
            },
        ];
        for settings in cases {
            let config = settings
                .build(program.to_path_buf(), Naming::Flags)
                .unwrap();
            let line = config.replay();
            assert_eq!(parse_run(&line, program), config, "{line}");
        }
    }

    #[test]
    fn explore_replay_lines_parse_back_to_their_configuration() {
        let program = Path::new("/usr/local/bin/torture");
        let cases = [
            ExploreSettings::default(),
            ExploreSettings {
                workload: Some(Workload::Builtin(strategy::by_name("naive").unwrap())),
                faults: Some(vec![Fault::Kill, Fault::ShortWrite]),
                warmup_ops: Some(0),
                payload: Some(4096),
                op_timeout: Some(Duration::from_secs(2)),
                recovery_timeout: Some(Duration::from_millis(1500)),
                all_syscalls: true,
                ..ExploreSettings::default()
            },
            ExploreSettings {
                workload: Some(exec(Some("true"), "s.db")),
                faults: Some(vec![Fault::Eio]),
                ..ExploreSettings::default()
            },
        ];
        for settings in cases {
            let config = settings
                .clone()
                .build(program.to_path_buf(), Naming::Flags)
                .unwrap();
            let line = config.replay(&config.faults, config.only_point);
            assert_eq!(parse_explore(&line, program, config.jobs), config, "{line}");
            // The line of one point and fault explores just that.
            let one = config.replay(&[Fault::Kill], Some(3));
            let back = parse_explore(&one, program, config.jobs);
            assert_eq!(
                (back.faults, back.only_point),
                (vec![Fault::Kill], Some(3)),
                "{one}"
            );
        }
        // A real file system's power loss: its disk comes back too.
        for (fs, image_mib) in [("ext4", None), ("xfs", Some(512))] {
            let config = ExploreSettings {
                workload: Some(exec(None, "s")),
                faults: Some(vec![Fault::Power]),
                max_states: Some(8),
                seed: Some(3),
                fs: Some(fs.into()),
                image_mib,
                ..ExploreSettings::default()
            }
            .build(program.to_path_buf(), Naming::Flags)
            .unwrap();
            let line = config.replay(&config.faults, None);
            assert!(line.contains(&format!("--fs {fs}")), "{line}");
            assert_eq!(parse_explore(&line, program, config.jobs), config, "{line}");
        }
    }

    /// Completions are made from the whole command line but the hidden
    /// commands.
    #[test]
    fn the_public_command_is_the_cli_without_its_hidden_commands() {
        let (full, public) = (Cli::command(), public_command());
        public.clone().debug_assert();
        let ids = |c: &clap::Command| -> Vec<String> {
            c.get_arguments().map(|a| a.get_id().to_string()).collect()
        };
        assert_eq!(ids(&public), ids(&full));
        let visible: Vec<&str> = full
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name())
            .collect();
        let names: Vec<&str> = public.get_subcommands().map(|s| s.get_name()).collect();
        assert_eq!(names, visible);
        assert!(names.contains(&"fscompare") && !names.iter().any(|n| n.starts_with("__")));
        assert_eq!(public.get_about(), full.get_about());
        assert_eq!(public.get_version(), full.get_version());
    }

    /// `--color` and `-q` go before or after a subcommand; a run's options
    /// go with no subcommand.
    #[test]
    fn global_flags_go_anywhere_and_run_options_only_without_a_subcommand() {
        let parse_words = |line: &str| parse(words(line).into_iter().map(OsString::from));
        for line in [
            "torture -q --color always explore --strategy naive",
            "torture explore --strategy naive -q --color=always",
        ] {
            let cli = parse_words(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert!(cli.quiet, "{line}");
            assert_eq!(cli.color, term::ColorChoice::Always, "{line}");
            assert!(matches!(cli.command, Some(Command::Explore(_))), "{line}");
        }
        let cli = parse_words("torture -q --ops 5").unwrap();
        assert!(cli.quiet && cli.command.is_none() && cli.run.ops == Some(5));
        for (line, flag) in [
            ("torture --ops 5 explore", "'--ops <N>'"),
            (
                "torture --strategy naive -q run x.toml",
                "'--strategy <STRATEGY>'",
            ),
        ] {
            let e = parse_words(line).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict, "{line}");
            assert!(e.to_string().contains(flag), "{line}: {e}");
        }
    }

    /// An exploration of a strategy that must fail is held against the
    /// findings it must make under the faults explored, and only those.
    #[test]
    fn an_exploration_is_held_against_the_expected_findings_of_its_faults() {
        let program = Path::new("/usr/local/bin/torture");
        let config = |strategy: &str, faults: Vec<Fault>, point: Option<usize>| {
            ExploreSettings {
                workload: Some(Workload::Builtin(strategy::by_name(strategy).unwrap())),
                faults: Some(faults),
                only_point: point,
                ..ExploreSettings::default()
            }
            .build(program.to_path_buf(), Naming::Flags)
            .unwrap()
        };
        let naive = explore_expectation(&config("naive", vec![Fault::Kill], None), None);
        assert_eq!(
            naive,
            Some(("naive".to_string(), vec![(Fault::Kill, Finding::Torn)]))
        );
        // Its whole list under `all` (which leaves power out); none for a
        // single point.
        let all = explore_expectation(&config("naive", Fault::ALL.to_vec(), None), None).unwrap();
        let declared = strategy::by_name("naive").unwrap().explore_expected();
        let explored: Vec<_> = declared
            .iter()
            .filter(|p| Fault::ALL.contains(&p.0))
            .copied()
            .collect();
        assert!(explored.len() >= 2 && explored.len() < declared.len());
        assert_eq!(all.1, explored);
        assert_eq!(
            explore_expectation(&config("naive", vec![Fault::Kill], Some(5)), None),
            None
        );
        // A strategy that must pass: the verdict says it all.
        assert_eq!(
            explore_expectation(&config("reference", Fault::ALL.to_vec(), None), None),
            None
        );
    }

    /// The options and the scenario keys are refused with the same words.
    #[test]
    fn options_and_keys_share_their_messages() {
        let flag = RunSettings {
            kill_rate: Some(1.5),
            ..RunSettings::default()
        };
        let e = flag.build(PathBuf::new(), Naming::Flags).unwrap_err();
        assert_eq!(e.to_string(), "--kill-rate: 1.5 is outside [0, 1]");
        let e = RunSettings {
            kill_rate: Some(1.5),
            ..RunSettings::default()
        }
        .build(PathBuf::new(), Naming::Keys)
        .unwrap_err();
        assert_eq!(e.to_string(), "key `kill_rate`: 1.5 is outside [0, 1]");
        assert_eq!(parse_rate("1.5").unwrap_err(), e.reason);
        let ops = RunSettings {
            ops: Some(5),
            duration: Some(Duration::from_secs(1)),
            ..RunSettings::default()
        };
        assert_eq!(
            ops.build(PathBuf::new(), Naming::Flags)
                .unwrap_err()
                .to_string(),
            "--ops: give it or --duration, not both"
        );
    }
}
