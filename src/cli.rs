//! The command line: argument definitions and the commands behind them.
//!
//! Every command returns an exit code from [`torture_harness::exit`]; bad
//! input is one line on stderr and [`torture_harness::exit::BAD_INPUT`],
//! before anything is touched.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use torture_harness::exit;
use torture_harness::export::{
    self, CompareResult, ExploreResult, Exporter, Finished, JsonExporter, JunitExporter,
    MarkdownExporter, RunResult, ScenariosJsonExporter,
};
use torture_harness::fault;
use torture_harness::output::{self, OutputTarget};
use torture_harness::report::{Report, StopReason};
use torture_harness::runner::exec::ExecSpec;
use torture_harness::runner::{self, RunConfig, RunLength, Workload, child};
use torture_harness::scenario::{self, AnyScenario, ExploreScenario, defaults};
use torture_harness::strategy::{self, Strategy};
use torture_harness::vocab::{ExploreExpectation, Fault, Verdict, finding_list};

/// Crash-consistency torture for code that keeps state in files.
///
/// With no subcommand, runs concurrent writers (and readers) of a strategy,
/// SIGKILLs operations at random, and proves that no write was torn and no
/// acknowledged update was lost.
#[derive(Debug, Parser)]
#[command(name = "torture", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenario files; exit 0 only if every one meets its expectation.
    Run {
        /// Scenario files (TOML).
        #[arg(required = true, value_name = "SCENARIO.toml", value_parser = PathArg)]
        scenarios: Vec<PathBuf>,
        #[command(flatten)]
        outputs: Outputs,
        /// Run only the K-th of N deterministic slices of the scenarios.
        #[arg(long, value_name = "K/N", value_parser = parse_partition)]
        partition: Option<(usize, usize)>,
        /// Land every scenario's kills this way (delay or syscall),
        /// whatever its file says.
        #[arg(long, value_name = "WHERE", value_parser = runner::KillAt::parse)]
        kill_at: Option<runner::KillAt>,
        /// Run every scenario with this seed, whatever its file says.
        #[arg(long, value_name = "N", value_parser = parse_seed, allow_negative_numbers = true)]
        seed: Option<u64>,
    },
    /// Put a fault at every file-system syscall of one operation, one run
    /// per point and fault, and check the state after each.
    Explore(Box<ExploreArgs>),
    /// Run the zoo on several file systems (loop images, tmpfs, or mounted
    /// directories) and write a comparison report (--out, --json, --junit).
    Fscompare(FsCompareArgs),
    /// List the strategies and the verdict each must get.
    List,
    /// Remove the directories runs left in $TMPDIR (a failing run keeps its
    /// own as evidence): only torture-* directories of yours with a valid
    /// manifest, holding only what torture made, and not in use.
    Clean {
        /// Only say what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
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
}

/// Where a command's reports go, each bound to the flag (or variable) it
/// came from.
struct Targets {
    json: Option<OutputTarget>,
    junit: Option<OutputTarget>,
    /// `GITHUB_STEP_SUMMARY`, appended to.
    summary: Option<OutputTarget>,
}

impl Outputs {
    fn targets(&self) -> Targets {
        let summary = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty());
        Targets {
            json: self.json.as_ref().map(|p| OutputTarget::parse("--json", p)),
            junit: self
                .junit
                .as_ref()
                .map(|p| OutputTarget::parse("--junit", p)),
            summary: summary.map(|p| OutputTarget::file("GITHUB_STEP_SUMMARY", p)),
        }
    }
}

impl Targets {
    fn all(&self) -> impl Iterator<Item = &OutputTarget> {
        [&self.json, &self.junit, &self.summary]
            .into_iter()
            .flatten()
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
    #[arg(long, value_name = "WHERE", value_parser = runner::KillAt::parse)]
    kill_at: Option<runner::KillAt>,
    /// How long to run (e.g. 10s, 500ms, 2m).
    #[arg(long, value_name = "D", default_value = defaults::DURATION, value_parser = parse_duration, conflicts_with = "ops", allow_hyphen_values = true)]
    duration: std::time::Duration,
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
    #[arg(long, value_name = "N", default_value_t = runner::DEFAULT_MIN_ACKED, value_parser = parse_count, allow_negative_numbers = true)]
    min_acked: u64,
    /// A pass needs at least this many kills landed inside an operation
    /// (when --kill-rate is above 0), else the verdict is inconclusive.
    #[arg(long, value_name = "N", default_value_t = runner::DEFAULT_MIN_KILLS, value_parser = parse_count, allow_negative_numbers = true)]
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
}

/// The options of `torture fscompare`.
#[derive(Debug, Args)]
struct FsCompareArgs {
    /// File systems to make and mount: tmpfs, ext4, ext4-journal, xfs, btrfs
    /// [default: tmpfs,ext4,xfs,btrfs, or none when --dir is given].
    #[arg(long, value_name = "LIST")]
    fs: Option<String>,
    /// Also compare a file system that is already mounted, named NAME, by
    /// running in a fresh directory under PATH (no root needed).
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
    #[arg(long, value_name = "WHERE", default_value = "delay", value_parser = runner::KillAt::parse)]
    kill_at: runner::KillAt,
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
    #[arg(long, value_name = "N", default_value_t = runner::DEFAULT_MIN_KILLS, value_parser = parse_count, allow_negative_numbers = true)]
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
    /// system, one test case per strategy, failing when the strategy did
    /// not get its expected verdict.
    #[arg(long, value_name = "FILE", value_parser = PathArg)]
    junit: Option<PathBuf>,
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
    /// short-write, comma-separated, or all [default: all].
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
    /// Write the JSON report (schema torture/explore/v1) to this file, or
    /// to stdout with `-`.
    #[arg(long, value_name = "FILE", value_parser = PathArg)]
    json: Option<PathBuf>,
    /// Write JUnit XML to this file (or stdout with `-`): one suite, one
    /// test case per fault, failing with its findings and their replay
    /// commands.
    #[arg(long, value_name = "FILE", value_parser = PathArg)]
    junit: Option<PathBuf>,
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

fn parse_bounded(s: &str, min: usize) -> Result<usize, String> {
    let n = parse_range(s, min as u64, defaults::MAX_CHILDREN as u64, " processes")?;
    Ok(n as usize)
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

/// Padding bytes, at most [`runner::MAX_PAYLOAD`].
fn parse_payload(s: &str) -> Result<usize, String> {
    let max = runner::MAX_PAYLOAD as u64;
    parse_range(s, 0, max, " bytes (256 MiB)").map(|n| n as usize)
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
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        Ok(_) => Err("must be between 0 and 1".into()),
        Err(_) => Err("not a number".into()),
    }
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    match torture_harness::duration::parse(s)? {
        d if d.is_zero() => Err("must be more than 0".into()),
        d => Ok(d),
    }
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

/// Parses the command line and runs it, returning the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
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
                | Command::List
        )
    );
    // Temporary directories are made there, and a path with a control
    // character makes no sense.
    if !internal && let Err(e) = torture_harness::paths::check("TMPDIR", &std::env::temp_dir()) {
        return bad_input(e);
    }
    match cli.command {
        None => torture(cli.run),
        Some(Command::Run {
            scenarios,
            outputs,
            partition,
            kill_at,
            seed,
        }) => run_scenarios(&scenarios, &outputs, partition, kill_at, seed),
        Some(Command::Explore(args)) => explore(*args),
        Some(Command::Fscompare(args)) => fscompare(args),
        Some(Command::List) => list(),
        Some(Command::Clean { dry_run }) => clean(dry_run),
        Some(Command::Op { args }) => child::op_main(&args),
        Some(Command::Traced { args }) => fault::precise::main(&args),
        Some(Command::Child { args }) => child::main(&args),
        Some(Command::Watchdog) => torture_harness::process::watchdog_main(),
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

fn bad_input(message: impl std::fmt::Display) -> i32 {
    eprintln!("torture: {message}");
    exit::BAD_INPUT
}

fn program() -> Result<PathBuf, i32> {
    torture_harness::platform::self_exe()
        .map_err(|e| bad_input(format!("cannot find my own executable: {e}")))
}

fn torture(args: RunArgs) -> i32 {
    let targets = match prepare_outputs(&args.outputs) {
        Ok(t) => t,
        Err(code) => return code,
    };
    if args.baseline && args.workload.exec.is_some() {
        return bad_input("--baseline needs a built-in strategy, not --exec");
    }
    let program = match program() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let seed = args.seed.unwrap_or_else(torture_harness::seed::fresh);
    let workload = args.workload.workload();
    let kill_rate = args
        .kill_rate
        .unwrap_or_else(|| workload.default_kill_rate());
    let config = RunConfig {
        kill_at: args.kill_at.unwrap_or_else(|| workload.default_kill_at()),
        workload,
        writers: args.writers,
        readers: args.readers,
        kill_rate,
        length: args
            .ops
            .map_or(RunLength::Duration(args.duration), RunLength::Ops),
        payload: args.payload,
        seed,
        dir: args.dir,
        baseline: args.baseline,
        progress: std::io::stderr().is_terminal(),
        announce: true,
        program,
        op_timeout: args.op_timeout,
        stall_timeout: args.stall_timeout,
        artifacts: args.artifacts,
        minimums: runner::Minimums {
            acked_per_writer: args.min_acked,
            kills: args.min_kills,
        },
        until_covered: args.until_covered,
    };
    let prepared = match runner::prepare(&config) {
        Ok(p) => p,
        Err(e) => return bad_input(e),
    };
    let report = match prepared.execute() {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    print!("{}", torture_harness::report::summary(&report));
    if let Some(a) = &config.artifacts
        && report.verdict == Verdict::Fail
    {
        println!("artifacts: {}", a.display());
    }
    let code = verdict_code(&report);
    let runs = [Finished::Run(RunResult {
        name: config.workload.name().to_string(),
        file: None,
        expected: None,
        report,
    })];
    match write_outputs(&targets, &runs, &JsonExporter) {
        Ok(()) => code,
        Err(e) => bad_input(e),
    }
}

fn fscompare(args: FsCompareArgs) -> i32 {
    use torture_harness::fscompare::{self, FsSpec};
    let outputs = Outputs {
        json: args.json.clone(),
        junit: args.junit.clone(),
    };
    let targets = match prepare_outputs(&outputs) {
        Ok(t) => t,
        Err(code) => return code,
    };
    // `compare` checks it again; here it comes before anything is printed.
    if let Err(e) = fscompare::out_dir(&args.out).check() {
        return bad_input(e);
    }
    let program = match program() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let names = match &args.fs {
        Some(list) => list.as_str(),
        None if args.dirs.is_empty() => "tmpfs,ext4,xfs,btrfs",
        None => "",
    };
    let mut filesystems = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match FsSpec::parse(name) {
            Ok(spec) => filesystems.push(spec),
            Err(e) => return bad_input(format!("--fs: {e}")),
        }
    }
    for dir in &args.dirs {
        match FsSpec::parse_dir(dir) {
            Ok(spec) => filesystems.push(spec),
            Err(e) => return bad_input(e),
        }
    }
    if filesystems.is_empty() {
        return bad_input("no file system to compare: give --fs or --dir");
    }
    let strategies: Vec<&'static dyn Strategy> = match &args.strategies {
        None => strategy::all().to_vec(),
        Some(list) => {
            let mut chosen = Vec::new();
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                match parse_strategy(name) {
                    Ok(s) => chosen.push(s),
                    Err(e) => return bad_input(format!("--strategies: {name}: {e}")),
                }
            }
            chosen
        }
    };
    if strategies.is_empty() {
        return bad_input("--strategies names no strategy");
    }
    let seed = args.seed.unwrap_or_else(torture_harness::seed::fresh);
    let command: Vec<String> = std::env::args()
        .map(|a| torture_harness::shell::quote(&a))
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
        minimums: runner::Minimums {
            kills: args.min_kills,
            ..runner::Minimums::default()
        },
        seed,
        scratch: args.scratch.unwrap_or_else(std::env::temp_dir),
        image_size: args.image_mib << 20,
        out: args.out,
        program,
        command: command.join(" "),
        progress: true,
    };
    use nix::sys::signal::Signal;
    if let Err(e) = torture_harness::platform::stop_on(&[Signal::SIGINT, Signal::SIGTERM]) {
        return bad_input(format!("cannot install signal handlers: {e}"));
    }
    let report = match fscompare::compare(&config) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    let code = compare_code(&report);
    let broken = report.broken.clone();
    let results = [Finished::Compare(CompareResult::new(report))];
    if let Err(e) = export::write_out_dir(&results, &fscompare::out_dir(&config.out)) {
        return bad_input(e);
    }
    print!(
        "{}",
        String::from_utf8_lossy(&MarkdownExporter.render(&results))
    );
    println!("\nreport: {}", config.out.join("report.html").display());
    if let Err(e) = write_outputs(&targets, &results, &JsonExporter) {
        return bad_input(e);
    }
    match broken {
        Some(why) => bad_input(format!(
            "{why}: no verdict (the report in {} marks the run as error)",
            config.out.display()
        )),
        None => code,
    }
}

fn compare_code(report: &torture_harness::fscompare::FsCompareReport) -> i32 {
    match (
        report.broken.is_some() || report.interrupted,
        report.all_met,
    ) {
        (true, _) => exit::BAD_INPUT,
        (false, true) => exit::PASS,
        (false, false) => exit::VIOLATION,
    }
}

fn explore(args: ExploreArgs) -> i32 {
    let outputs = Outputs {
        json: args.json.clone(),
        junit: args.junit.clone(),
    };
    let targets = match prepare_outputs(&outputs) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let program = match program() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let scenario = match &args.scenario {
        Some(file) => match AnyScenario::load(file) {
            Ok(s) => Some(s),
            Err(e) => return bad_input(e),
        },
        None => None,
    };
    let config = explore_config(args, scenario.as_ref(), program);
    use nix::sys::signal::Signal;
    if let Err(e) = torture_harness::platform::stop_on(&[Signal::SIGINT, Signal::SIGTERM]) {
        return bad_input(format!("cannot install signal handlers: {e}"));
    }
    let report = match fault::explore(&config) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    print!("{}", report.summary());
    if let Some(a) = &config.artifacts
        && report.failed()
    {
        println!("artifacts: {}", a.display());
    }
    let code = match (report.failed(), report.interrupted) {
        (true, _) => exit::VIOLATION,
        (false, true) => exit::BAD_INPUT,
        (false, false) => exit::PASS,
    };
    let result = ExploreResult {
        name: scenario.map_or_else(|| format!("explore-{}", report.target), |s| s.name().into()),
        file: None,
        expected: None,
        report,
    };
    match write_outputs(&targets, &[Finished::Explore(result)], &JsonExporter) {
        Ok(()) => code,
        Err(e) => bad_input(e),
    }
}

/// The exploration the options ask for: each setting from its option, else
/// from an explore-mode `--scenario` file, else the default.
fn explore_config(
    args: ExploreArgs,
    scenario: Option<&AnyScenario>,
    program: PathBuf,
) -> fault::ExploreConfig {
    use fault::explore as ex;
    let file = match scenario {
        Some(AnyScenario::Explore(s)) => Some(s),
        _ => None,
    };
    fault::ExploreConfig {
        workload: match scenario {
            Some(s) => s.workload().clone(),
            None => args.workload.workload(),
        },
        faults: args
            .faults
            .or_else(|| file.map(|s| s.faults.clone()))
            .unwrap_or_else(|| Fault::ALL.to_vec()),
        warmup_ops: args
            .warmup_ops
            .or(file.map(|s| s.warmup_ops))
            .unwrap_or(ex::DEFAULT_WARMUP_OPS),
        all_syscalls: args.all_syscalls,
        only_point: args.point,
        op_timeout: args
            .op_timeout
            .or(file.map(|s| s.op_timeout))
            .unwrap_or(ex::DEFAULT_OP_TIMEOUT),
        recovery_timeout: args
            .recovery_timeout
            .or(file.map(|s| s.recovery_timeout))
            .unwrap_or(ex::DEFAULT_RECOVERY_TIMEOUT),
        payload: args
            .payload
            .or(file.map(|s| s.payload))
            .unwrap_or(ex::DEFAULT_PAYLOAD),
        dir: args.dir,
        artifacts: args.artifacts,
        program,
        jobs: args.jobs.unwrap_or_else(default_jobs),
    }
}

/// Faulted runs at once when `--jobs` is not given: one per CPU.
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Writes the requested report files and appends to the GitHub step summary.
fn write_outputs(
    targets: &Targets,
    results: &[Finished],
    json: &dyn Exporter,
) -> Result<(), output::OutputError> {
    if let Some(t) = &targets.json {
        json.write(results, t)?;
    }
    if let Some(t) = &targets.junit {
        JunitExporter.write(results, t)?;
    }
    if let Some(t) = &targets.summary {
        MarkdownExporter.append(results, t)?;
    }
    Ok(())
}

/// Checks every output before anything runs; with a report on stdout, the
/// human summary goes to stderr from now on, so that stdout holds the
/// report alone.
fn prepare_outputs(outputs: &Outputs) -> Result<Targets, i32> {
    let targets = outputs.targets();
    output::check_all(targets.all()).map_err(bad_input)?;
    if targets.all().any(OutputTarget::is_stdout) {
        output::divert_human_output()
            .map_err(|e| bad_input(format!("cannot keep stdout for the report: {e}")))?;
    }
    Ok(targets)
}

fn verdict_code(report: &Report) -> i32 {
    match report.verdict {
        Verdict::Fail => exit::VIOLATION,
        Verdict::Interrupted => {
            eprintln!(
                "torture: interrupted: no violation in the partial run, but no verdict either"
            );
            exit::BAD_INPUT
        }
        Verdict::Error => {
            eprintln!(
                "torture: the harness failed: {}",
                report.harness_error.as_deref().unwrap_or("?")
            );
            exit::BAD_INPUT
        }
        Verdict::Inconclusive => {
            eprintln!(
                "torture: inconclusive: {}",
                report.basis.shortfall.first().map_or("?", String::as_str)
            );
            exit::INCONCLUSIVE
        }
        Verdict::Pass => exit::PASS,
    }
}

/// `torture clean`: what was removed, what was skipped and why.
fn clean(dry_run: bool) -> i32 {
    use torture_harness::owned::clean::{Cleaned, clean};
    let tmp = std::env::temp_dir();
    let cleaned = match clean(&tmp, dry_run) {
        Ok(c) => c,
        Err(e) => return bad_input(format!("cannot list {}: {e}", tmp.display())),
    };
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
    exit::PASS
}

fn list() -> i32 {
    println!(
        "{:<13} {:<10} {:<24} description",
        "strategy", "expected", "explore"
    );
    for s in strategy::all() {
        // The words of an explore scenario's `expect`.
        let explore = match s.explore_expected() {
            [] => ExploreExpectation::Pass,
            pairs => ExploreExpectation::Finds(pairs.to_vec()),
        };
        println!(
            "{:<13} {:<10} {:<24} {}",
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
    exit::PASS
}

fn run_scenarios(
    files: &[PathBuf],
    outputs: &Outputs,
    partition: Option<(usize, usize)>,
    kill_at: Option<runner::KillAt>,
    seed: Option<u64>,
) -> i32 {
    let targets = match prepare_outputs(outputs) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let loaded: Result<Vec<AnyScenario>, _> = files.iter().map(|f| AnyScenario::load(f)).collect();
    let scenarios = match loaded {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let scenarios = match partition {
        Some((k, n)) => scenario::partition(scenarios, k, n),
        None => scenarios,
    };
    let program = match program() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let progress = std::io::stderr().is_terminal();
    let mut results = Vec::new();
    for sc in &scenarios {
        let sc = match sc {
            AnyScenario::Run(sc) => sc,
            AnyScenario::Explore(ex) => {
                let result = match explore_scenario(ex, &program) {
                    Ok(r) => r,
                    Err(code) => return code,
                };
                let interrupted = result.report.interrupted;
                results.push(Finished::Explore(result));
                if interrupted {
                    eprintln!("torture: interrupted");
                    return exit::BAD_INPUT;
                }
                continue;
            }
        };
        let mut config = sc.config(program.clone(), progress);
        if let Some(k) = kill_at {
            config.kill_at = k;
        }
        if let Some(s) = seed {
            config.seed = s;
        }
        let report = match runner::run(&config) {
            Ok(r) => r,
            Err(e) => return bad_input(format!("{}: {e}", sc.file.display())),
        };
        let interrupted = report.stopped == StopReason::Interrupted;
        let mut result = RunResult {
            name: sc.name.clone(),
            file: Some(sc.file.display().to_string()),
            expected: Some(sc.expect.clone()),
            report,
        };
        println!(
            "{:<28} expected {:<12} observed {:<24} {}   (seed {})",
            result.name,
            sc.expect.to_string(),
            result.observed(),
            if result.met() { "ok" } else { "MISMATCH" },
            result.report.config.seed
        );
        if !result.met() {
            if result.report.verdict == Verdict::Inconclusive {
                for why in &result.report.basis.shortfall {
                    println!("  not enough evidence: {why}");
                }
            }
            println!("  replay: {}", result.report.replay);
            let kept = if result.report.dir_kept {
                " (`torture clean` removes it)"
            } else {
                ""
            };
            println!("  run directory: {}{kept}", result.report.config.dir);
        } else if result.report.dir_kept {
            // A failing verdict that was expected is no evidence worth keeping;
            // the temporary directory is ours to remove (by its manifest).
            let dir = Path::new(&result.report.config.dir);
            if torture_harness::owned::remove_own_dir(dir, true).is_ok() {
                result.report.dir_kept = false;
                result.report.dir_removed = true;
            }
        }
        results.push(Finished::Run(result));
        if interrupted {
            eprintln!("torture: interrupted");
            return exit::BAD_INPUT;
        }
    }
    let met = results.iter().filter(|r| r.met()).count();
    println!(
        "{met} of {} scenario(s) met their expectation",
        results.len()
    );
    if let Err(e) = write_outputs(&targets, &results, &ScenariosJsonExporter) {
        return bad_input(e);
    }
    let missed: Vec<&Finished> = results.iter().filter(|r| !r.met()).collect();
    if missed.is_empty() {
        exit::PASS
    } else if missed.iter().all(|r| r.inconclusive()) {
        exit::INCONCLUSIVE
    } else {
        exit::VIOLATION
    }
}

/// Explores one scenario with `mode = "explore"` and prints its line: the
/// expected and observed findings, and on a mismatch what to replay.
fn explore_scenario(sc: &ExploreScenario, program: &Path) -> Result<ExploreResult, i32> {
    use nix::sys::signal::Signal;
    if let Err(e) = torture_harness::platform::stop_on(&[Signal::SIGINT, Signal::SIGTERM]) {
        return Err(bad_input(format!("cannot install signal handlers: {e}")));
    }
    let config = sc.config(program.to_path_buf(), default_jobs());
    let report =
        fault::explore(&config).map_err(|e| bad_input(format!("{}: {e}", sc.file.display())))?;
    let result = ExploreResult {
        name: sc.name.clone(),
        file: Some(sc.file.display().to_string()),
        expected: Some(sc.expect.clone()),
        report,
    };
    println!(
        "{:<28} expected {:<12} observed {:<24} {}   (explore: {} points, {} runs)",
        result.name,
        sc.expect.to_string(),
        result.observed(),
        if result.met() { "ok" } else { "MISMATCH" },
        result.report.points,
        result.report.runs
    );
    if !result.met() {
        print_explore_mismatch(&result);
    }
    Ok(result)
}

/// What an exploration that missed its expectation did not find, its first
/// findings, and the commands that replay them.
fn print_explore_mismatch(result: &ExploreResult) {
    if let Some(ExploreExpectation::Finds(pairs)) = &result.expected {
        let found = result.report.found();
        let missing: Vec<_> = pairs
            .iter()
            .filter(|p| !found.contains(p))
            .copied()
            .collect();
        if !missing.is_empty() {
            println!("  not found: {}", finding_list(&missing));
        }
    }
    for f in result.report.findings.iter().take(3) {
        println!(
            "  found {}@{} at #{} {}: {}",
            f.outcome, f.fault, f.point, f.syscall, f.detail
        );
        println!("    replay: {}", f.replay);
    }
    println!("  replay: {}", result.report.replay);
}
