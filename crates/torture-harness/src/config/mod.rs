//! The configuration of runs and explorations: one definition of every
//! setting, its default and its checks, for the command line, scenario
//! files and `fscompare` alike, and the replay line that gives a
//! configuration back as a command.
//!
//! - [`RunSettings`] and [`ExploreSettings`]: what a source says (every
//!   setting optional); `build` fills the defaults and validates once, with
//!   one set of messages that name the setting as the source does
//!   ([`Naming`]: `--kill-rate` on the command line, key `kill_rate` in a
//!   scenario file);
//! - [`RunConfig`] and [`ExploreConfig`]: what the runner and the explorer
//!   take, valid by construction through the settings;
//! - [`RunConfig::replay`] and [`ExploreConfig::replay`]: the command that
//!   reruns it, which the command line parses back to the same
//!   configuration (a round-trip test in the binary checks it).

use std::io;
use std::path::Path;

use crate::strategy::Strategy;

pub mod check;
mod explore;
mod run;

pub use check::{ConfigError, Naming, POWER_LOSS_FS, Setting};
pub use explore::{
    DEFAULT_MAX_STATES, DEFAULT_RECOVERY_TIMEOUT, DEFAULT_WARMUP_OPS, EXPLORE_OP_TIMEOUT,
    EXPLORE_PAYLOAD, ExploreConfig, ExploreSettings, default_jobs,
};
pub use run::{
    BUILTIN_KILL_RATE, CrashPoints, DEFAULT_CRASH_POINTS, DEFAULT_IMAGE_MIB, DEFAULT_MIN_ACKED,
    DEFAULT_MIN_KILLS, DEFAULT_OP_TIMEOUT, DEFAULT_POWER_MAX_STATES, DEFAULT_STALL_TIMEOUT,
    EXEC_KILL_RATE, Minimums, PowerLoss, RunConfig, RunLength, RunSettings,
};

/// Defaults shared by the command line, scenario files and `fscompare`.
pub mod defaults {
    /// Writer processes.
    pub const WRITERS: usize = 8;
    /// Reader processes.
    pub const READERS: usize = 1;
    /// Run duration.
    pub const DURATION: std::time::Duration = std::time::Duration::from_secs(10);
    /// Padding bytes.
    pub const PAYLOAD: usize = 4096;
    /// The most writer or reader processes a run may start.
    pub const MAX_CHILDREN: usize = 1024;
}

/// The name of the state file inside the run directory.
pub const STATE_FILE: &str = "state";

/// The largest `--payload` accepted: a document this size is already far
/// beyond what a state file of this kind holds.
pub const MAX_PAYLOAD: usize = 256 << 20;

/// What reports call an outside program's workload ([`Workload::name`]):
/// no built-in strategy has this name.
pub const EXEC_NAME: &str = "exec";

/// What is tortured: a built-in strategy or an outside program.
#[derive(Clone)]
pub enum Workload {
    /// A strategy of the zoo, driven by `torture`'s own writer processes.
    Builtin(&'static dyn Strategy),
    /// An outside program, driven through `--exec`, `--check`, `--init`.
    Exec(ExecSpec),
}

impl Workload {
    /// Where kills land when nothing says: at a fault point for an outside
    /// program (`harness/coverage-rates.sh` measured timed kills missing a
    /// slow program's narrow window where kills at fault points, spread over
    /// them, do not), after a delay for a built-in strategy (no tracer, so
    /// the harness runs at full speed).
    pub fn default_kill_at(&self) -> KillAt {
        match self {
            Workload::Builtin(_) => KillAt::Delay,
            Workload::Exec(_) => KillAt::Syscall,
        }
    }

    /// The kill probability per operation when nothing says: 0.05 for a
    /// built-in strategy (thousands of operations a second), 0.2 for an
    /// outside program, whose operations are slow (a process start or an
    /// interpreter each), so that a run of the default length lands the
    /// kills `--min-kills` asks for and a short one still cuts the narrow
    /// windows (a lock file held across an update) more than once.
    pub fn default_kill_rate(&self) -> f64 {
        match self {
            Workload::Builtin(_) => BUILTIN_KILL_RATE,
            Workload::Exec(_) => EXEC_KILL_RATE,
        }
    }

    /// The strategy's name, or `exec` for an outside program.
    pub fn name(&self) -> &str {
        match self {
            Workload::Builtin(s) => s.name(),
            Workload::Exec(_) => EXEC_NAME,
        }
    }
}

impl std::fmt::Debug for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Workload::Builtin(s) => f.write_str(s.name()),
            Workload::Exec(spec) => write!(f, "exec {:?}", spec.exec),
        }
    }
}

/// Two workloads are the same when they name the same strategy, or the
/// same program.
impl PartialEq for Workload {
    fn eq(&self, other: &Workload) -> bool {
        match (self, other) {
            (Workload::Builtin(a), Workload::Builtin(b)) => a.name() == b.name(),
            (Workload::Exec(a), Workload::Exec(b)) => a == b,
            _ => false,
        }
    }
}

/// Where a kill lands inside an operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KillAt {
    /// After a delay: a fraction of a recent operation's duration.
    #[default]
    Delay,
    /// At the entry of a file-system syscall: the fraction of a recent
    /// operation's count of fault points (each writer runs under ptrace).
    Syscall,
}

impl KillAt {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            KillAt::Delay => "delay",
            KillAt::Syscall => "syscall",
        }
    }

    /// Parses a name given by [`KillAt::name`].
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "delay" => Ok(KillAt::Delay),
            "syscall" => Ok(KillAt::Syscall),
            _ => Err("must be delay or syscall".into()),
        }
    }
}

/// An outside program under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    /// Applies one operation.
    pub exec: String,
    /// Prints the op ids in the state.
    pub check: String,
    /// Runs once before the first operation.
    pub init: Option<String>,
    /// The state file's name inside the run directory.
    pub state: String,
    /// Extra environment (for example the scenario's directory).
    pub env: Vec<(String, String)>,
}

/// What is wrong with an [`ExecSpec`]: the setting (`exec`, `check`,
/// `init` or `state`, the same word as option and scenario key) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    /// The setting at fault.
    pub field: &'static str,
    /// Why, as a fragment that says what to do.
    pub reason: String,
}

impl ExecSpec {
    /// Checks what can be checked before anything runs: no command is
    /// empty, the state is a plain file name, and a command that starts
    /// with an absolute program path (after any `NAME=value` words) names
    /// an executable file. A relative program is resolved by the shell in
    /// the run directory, so it is left for the run to find.
    pub fn problem(&self) -> Option<SpecProblem> {
        let commands = [
            ("exec", Some(&self.exec)),
            ("check", Some(&self.check)),
            ("init", self.init.as_ref()),
        ];
        for (field, script) in commands {
            let Some(script) = script else { continue };
            let problem = |reason: String| Some(SpecProblem { field, reason });
            if script.trim().is_empty() {
                return problem("is empty: give a command".into());
            }
            if let Some(why) = missing_program(script) {
                return problem(why);
            }
        }
        let state = &self.state;
        if state.is_empty() || state.contains('/') || state == "." || state == ".." {
            return Some(SpecProblem {
                field: "state",
                reason: format!(
                    "{state:?} must be a plain file name (the state file in the run directory)"
                ),
            });
        }
        None
    }
}

/// Why the program of `script` cannot run, when its first word (after any
/// `NAME=value` assignments) is a plain absolute path that is not an
/// executable file: the shell would fail on it for every operation.
fn missing_program(script: &str) -> Option<String> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"/._-+,:@%".contains(&b);
    let first = script
        .split([' ', '\t', '\n'])
        .filter(|w| !w.is_empty())
        .find(|w| !is_assignment(w))?;
    if !first.starts_with('/') || !first.bytes().all(plain) {
        return None;
    }
    let program = Path::new(first);
    match std::fs::metadata(program) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some(format!("{first}: no such program")),
        Err(e) => Some(format!("{first}: {e}")),
        Ok(m) if m.is_dir() => Some(format!("{first} is a directory, not a program")),
        Ok(m) => {
            use std::os::unix::fs::PermissionsExt;
            (m.permissions().mode() & 0o111 == 0)
                .then(|| format!("{first} is not executable (no x bit)"))
        }
    }
}

/// Whether a shell word is a `NAME=value` assignment before the command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// A replay line under construction: the words of a command, each quoted
/// for the shell, after the environment it needs.
struct Line {
    env: String,
    words: Vec<String>,
}

impl Line {
    fn new(head: &[&str]) -> Line {
        Line {
            env: String::new(),
            words: head.iter().map(|w| w.to_string()).collect(),
        }
    }

    fn push(&mut self, flag: &str, value: String) {
        self.words.push(flag.into());
        self.words.push(crate::shell::quote(&value));
    }

    fn flag(&mut self, flag: &str) {
        self.words.push(flag.into());
    }

    /// `--strategy NAME`, or the program's commands and environment.
    fn workload(&mut self, workload: &Workload) {
        match workload {
            Workload::Builtin(s) => self.push("--strategy", s.name().into()),
            Workload::Exec(spec) => {
                self.push("--exec", spec.exec.clone());
                self.push("--check", spec.check.clone());
                if let Some(init) = &spec.init {
                    self.push("--init", init.clone());
                }
                if spec.state != STATE_FILE {
                    self.push("--state", spec.state.clone());
                }
                for (k, v) in &spec.env {
                    self.env += &format!("{k}={} ", crate::shell::quote(v));
                }
            }
        }
    }

    fn finish(self) -> String {
        self.env + &self.words.join(" ")
    }
}
