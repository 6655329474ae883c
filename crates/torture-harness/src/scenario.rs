//! Scenario files: what is tortured, how, and the verdict it must get.
//!
//! A scenario is a run under random kills (`mode = "run"`, the default):
//!
//! ```toml
//! description = "in-place rewrite is torn by kills"
//! strategy = "naive"
//! writers = 32
//! kill_rate = 0.1
//! kill_at = "delay"       # or "syscall": at a file-system syscall's entry
//! duration = "3s"
//! expect = ["torn"]        # or expect = "pass"
//! ```
//!
//! or an exploration (`mode = "explore"`): every fault at every fault point
//! of one operation, expecting the findings `torture list` prints:
//!
//! ```toml
//! mode = "explore"
//! strategy = "naive"
//! faults = ["kill"]        # or "kill,eio", or "all" (the default)
//! expect = ["torn@kill"]   # or expect = "pass"
//! ```
//!
//! Unknown keys, wrong types, bad values and keys of the other mode are
//! rejected with the file, the key and the reason, on one line, before
//! anything runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::config::{
    ExecSpec, ExploreConfig, ExploreSettings, KillAt, Naming, RunConfig, RunLength, RunSettings,
    Workload,
};
use crate::strategy;
use crate::vocab::{Expectation, ExploreExpectation, Fault, ViolationKind};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    mode: Option<String>,
    description: Option<String>,
    strategy: Option<String>,
    exec: Option<String>,
    check: Option<String>,
    init: Option<String>,
    state: Option<String>,
    op_timeout: Option<String>,
    stall_timeout: Option<String>,
    writers: Option<usize>,
    readers: Option<usize>,
    kill_rate: Option<f64>,
    kill_at: Option<String>,
    duration: Option<String>,
    ops: Option<u64>,
    payload: Option<usize>,
    seed: Option<u64>,
    min_acked: Option<u64>,
    min_kills: Option<u64>,
    until_covered: Option<u64>,
    faults: Option<Words>,
    warmup_ops: Option<u64>,
    recovery_timeout: Option<String>,
    model: Option<String>,
    max_states: Option<usize>,
    power_loss: Option<String>,
    crash_points: Option<CountOrAll>,
    image_mib: Option<u64>,
    fs: Option<String>,
    expect: Words,
}

/// `crash_points`: a number, or `"all"`.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a number or \"all\"")]
enum CountOrAll {
    Count(u64),
    Word(String),
}

/// A word, or a list of words (`expect`, `faults`).
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a word or a list of words")]
enum Words {
    One(String),
    Many(Vec<String>),
}

/// What a scenario does with its workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Concurrent writers under random kills (`torture`).
    Run,
    /// Every fault at every fault point of one operation (`torture explore`).
    Explore,
}

impl Mode {
    /// `run` or `explore`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Run => "run",
            Mode::Explore => "explore",
        }
    }

    fn parse(text: Option<&str>) -> Result<Mode, String> {
        match text {
            None | Some("run") => Ok(Mode::Run),
            Some("explore") => Ok(Mode::Explore),
            Some(other) => Err(format!(
                "key `mode`: unknown mode {other:?} (valid: run, explore)"
            )),
        }
    }
}

/// A loaded, validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from.
    pub file: PathBuf,
    /// Its name: the file stem.
    pub name: String,
    /// What it is about.
    pub description: Option<String>,
    /// The run, built and validated from the file's keys (its `program`
    /// and `seed` are set by [`Scenario::config`] for each run).
    pub run: RunConfig,
    /// A fixed seed, or `None` for a fresh one per run.
    pub seed: Option<u64>,
    /// The verdict it must get.
    pub expect: Expectation,
}

/// A loaded, validated scenario with `mode = "explore"`.
#[derive(Debug, Clone)]
pub struct ExploreScenario {
    /// The file it came from.
    pub file: PathBuf,
    /// Its name: the file stem.
    pub name: String,
    /// What it is about.
    pub description: Option<String>,
    /// What the file says, validated: the settings a command line may lay
    /// its own over.
    pub settings: ExploreSettings,
    /// The exploration, built from the file's keys (its `program` and
    /// `jobs` are set by [`ExploreScenario::config`]).
    pub explore: ExploreConfig,
    /// What the exploration must find.
    pub expect: ExploreExpectation,
}

impl ExploreScenario {
    /// The exploration of this scenario, `jobs` faulted runs at once.
    pub fn config(&self, program: PathBuf, jobs: usize) -> ExploreConfig {
        ExploreConfig {
            program,
            jobs,
            ..self.explore.clone()
        }
    }

    /// The exploration under the command line's `overrides`: only the seed
    /// applies, and only with `power` among the faults (see [`Overrides`]).
    pub fn config_with(
        &self,
        program: PathBuf,
        jobs: usize,
        overrides: &Overrides,
    ) -> ExploreConfig {
        let mut config = self.config(program, jobs);
        if let Some(seed) = overrides.seed
            && config.faults.contains(&Fault::Power)
        {
            config.seed = seed;
        }
        config
    }
}

/// A scenario of either mode, as `torture run` takes them.
#[derive(Debug, Clone)]
// A scenario set holds a handful of these, once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum AnyScenario {
    /// `mode = "run"` (the default).
    Run(Scenario),
    /// `mode = "explore"`.
    Explore(ExploreScenario),
}

impl AnyScenario {
    /// Reads and validates a scenario file of either mode.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let err = |message: String| ScenarioError {
            file: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let raw: ScenarioFile =
            toml::from_str(&text).map_err(|e| err(describe_toml_error(&text, &e)))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mode = Mode::parse(raw.mode.as_deref()).map_err(err)?;
        if let Some(why) = misplaced_key(&raw, mode) {
            return Err(err(why));
        }
        match mode {
            Mode::Run => Scenario::from_raw(path, name, raw).map(AnyScenario::Run),
            Mode::Explore => ExploreScenario::from_raw(path, name, raw).map(AnyScenario::Explore),
        }
        .map_err(err)
    }

    /// The file it came from.
    pub fn file(&self) -> &Path {
        match self {
            AnyScenario::Run(s) => &s.file,
            AnyScenario::Explore(s) => &s.file,
        }
    }

    /// Its name: the file stem.
    pub fn name(&self) -> &str {
        match self {
            AnyScenario::Run(s) => &s.name,
            AnyScenario::Explore(s) => &s.name,
        }
    }

    /// `run` or `explore`, as its `mode` key says.
    pub fn mode(&self) -> Mode {
        match self {
            AnyScenario::Run(_) => Mode::Run,
            AnyScenario::Explore(_) => Mode::Explore,
        }
    }

    /// Its `expect`, in the words of its file (`pass`, `torn+lost`,
    /// `torn@kill`).
    pub fn expected(&self) -> String {
        match self {
            AnyScenario::Run(s) => s.expect.to_string(),
            AnyScenario::Explore(s) => s.expect.to_string(),
        }
    }

    /// What it tortures or explores.
    pub fn workload(&self) -> &Workload {
        match self {
            AnyScenario::Run(s) => &s.run.workload,
            AnyScenario::Explore(s) => &s.explore.workload,
        }
    }
}

/// The first key `raw` sets that `mode` has no use for, as an error.
fn misplaced_key(raw: &ScenarioFile, mode: Mode) -> Option<String> {
    const ONE_OP: &str = "an exploration runs one operation at a time";
    const EVERY_POINT: &str = "an exploration puts every fault at every point, none at random";
    const UNTIL_DONE: &str = "an exploration ends when every point and fault is done";
    let run_only = [
        ("writers", raw.writers.is_some(), ONE_OP),
        ("readers", raw.readers.is_some(), ONE_OP),
        ("kill_rate", raw.kill_rate.is_some(), EVERY_POINT),
        ("kill_at", raw.kill_at.is_some(), EVERY_POINT),
        ("min_kills", raw.min_kills.is_some(), EVERY_POINT),
        ("until_covered", raw.until_covered.is_some(), EVERY_POINT),
        (
            "power_loss",
            raw.power_loss.is_some(),
            "`faults = \"power\"` cuts the power at every point of the operation",
        ),
        ("crash_points", raw.crash_points.is_some(), EVERY_POINT),
        (
            "image_mib",
            raw.image_mib.is_some(),
            "needs key `power_loss`",
        ),
        ("duration", raw.duration.is_some(), UNTIL_DONE),
        ("ops", raw.ops.is_some(), UNTIL_DONE),
        ("min_acked", raw.min_acked.is_some(), UNTIL_DONE),
        (
            "stall_timeout",
            raw.stall_timeout.is_some(),
            "an exploration bounds the next operation with `recovery_timeout`",
        ),
    ];
    let explore_only = [
        ("faults", raw.faults.is_some()),
        ("warmup_ops", raw.warmup_ops.is_some()),
        ("recovery_timeout", raw.recovery_timeout.is_some()),
        ("model", raw.model.is_some()),
        // A run takes it with `power_loss` (its settings check that).
        (
            "max_states",
            raw.max_states.is_some() && raw.power_loss.is_none(),
        ),
        ("fs", raw.fs.is_some()),
    ];
    match mode {
        Mode::Explore => run_only
            .iter()
            .find(|k| k.1)
            .map(|(key, _, why)| format!("key `{key}`: not for mode = \"explore\" ({why})")),
        Mode::Run => explore_only.iter().find(|k| k.1).map(|(key, _)| {
            format!("key `{key}`: only for mode = \"explore\" (this scenario is a run)")
        }),
    }
}

/// A scenario file that cannot be used; the message names file, key, reason.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", file.display())]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// What is wrong, naming the key when there is one.
    pub message: String,
}

impl Scenario {
    /// Reads and validates a run scenario (`mode = "run"`, the default);
    /// [`AnyScenario::load`] takes explorations too.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        match AnyScenario::load(path)? {
            AnyScenario::Run(s) => Ok(s),
            AnyScenario::Explore(_) => Err(ScenarioError {
                file: path.to_path_buf(),
                message: "key `mode`: an exploration, where a run was wanted".into(),
            }),
        }
    }

    fn from_raw(path: &Path, name: String, raw: ScenarioFile) -> Result<Self, String> {
        let settings = RunSettings {
            workload: Some(workload(path, &raw)?),
            writers: raw.writers,
            readers: raw.readers,
            kill_rate: raw.kill_rate,
            kill_at: match raw.kill_at.as_deref() {
                None => None,
                Some(s) => Some(KillAt::parse(s).map_err(|e| format!("key `kill_at`: {e}"))?),
            },
            duration: duration("duration", raw.duration.as_deref())?,
            ops: raw.ops,
            payload: raw.payload,
            seed: Some(raw.seed.unwrap_or(0)),
            op_timeout: duration("op_timeout", raw.op_timeout.as_deref())?,
            stall_timeout: duration("stall_timeout", raw.stall_timeout.as_deref())?,
            min_acked: raw.min_acked,
            min_kills: raw.min_kills,
            until_covered: raw.until_covered,
            power_loss: raw.power_loss.clone(),
            crash_points: match &raw.crash_points {
                None => None,
                Some(CountOrAll::Count(n)) => Some(
                    crate::config::CrashPoints::parse(&n.to_string())
                        .map_err(|e| format!("key `crash_points`: {e}"))?,
                ),
                Some(CountOrAll::Word(w)) => Some(
                    crate::config::CrashPoints::parse(w)
                        .map_err(|e| format!("key `crash_points`: {e}"))?,
                ),
            },
            max_states: raw.max_states.map(|n| n as u64),
            image_mib: raw.image_mib,
            ..RunSettings::default()
        };
        let run = settings
            .build(PathBuf::new(), Naming::Keys)
            .map_err(|e| e.to_string())?;
        Ok(Scenario {
            file: path.to_path_buf(),
            name,
            description: raw.description,
            run,
            seed: raw.seed,
            expect: parse_expect(raw.expect)?,
        })
    }

    /// The run configuration of this scenario.
    pub fn config(&self, program: PathBuf, progress: bool) -> RunConfig {
        RunConfig {
            seed: self.seed.unwrap_or_else(crate::seed::fresh),
            progress,
            program,
            ..self.run.clone()
        }
    }

    /// The run configuration of this scenario under the command line's
    /// `overrides`, checked again: an override can clash with a key of the
    /// file (`--kill-at delay` with `until_covered`).
    pub fn config_with(
        &self,
        program: PathBuf,
        progress: bool,
        overrides: &Overrides,
    ) -> Result<RunConfig, ScenarioError> {
        let mut config = self.config(program, progress);
        if let Some(seed) = overrides.seed {
            config.seed = seed;
        }
        if let Some(length) = overrides.length {
            config.length = length;
        }
        if let Some(kill_at) = overrides.kill_at {
            config.kill_at = kill_at;
        }
        config
            .validate_as(Naming::Keys)
            .map_err(|e| ScenarioError {
                file: self.file.clone(),
                message: format!("{e}, with {}", overrides.flags()),
            })?;
        Ok(config)
    }
}

/// What `torture run` lays over every scenario it runs, whatever its file
/// says. A run takes all three; an exploration only the seed, and only
/// with `power` among its faults (the seed of its sampled crash states):
/// it has no length and puts every fault at every point, none at random.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Overrides {
    /// `--seed`: every run's seed.
    pub seed: Option<u64>,
    /// `--duration` or `--ops`: every run's length, replacing its file's
    /// `duration` or `ops`, whichever it gives.
    pub length: Option<RunLength>,
    /// `--kill-at`: where every run's kills land.
    pub kill_at: Option<KillAt>,
}

impl Overrides {
    /// The options that gave them: `--seed 4 --ops 100 --kill-at delay`.
    pub fn flags(&self) -> String {
        let mut flags = Vec::new();
        if let Some(seed) = self.seed {
            flags.push(format!("--seed {seed}"));
        }
        match self.length {
            Some(RunLength::Duration(d)) => {
                flags.push(format!("--duration {}", crate::duration::format(d)));
            }
            Some(RunLength::Ops(n)) => flags.push(format!("--ops {n}")),
            None => {}
        }
        if let Some(k) = self.kill_at {
            flags.push(format!("--kill-at {}", k.name()));
        }
        flags.join(" ")
    }
}

impl ExploreScenario {
    fn from_raw(path: &Path, name: String, raw: ScenarioFile) -> Result<Self, String> {
        let workload = workload(path, &raw)?;
        let faults = parse_faults(raw.faults)?;
        let expect = parse_explore_expect(raw.expect, &faults)?;
        let settings = ExploreSettings {
            workload: Some(workload),
            faults: Some(faults),
            warmup_ops: raw.warmup_ops,
            payload: raw.payload,
            op_timeout: duration("op_timeout", raw.op_timeout.as_deref())?,
            recovery_timeout: duration("recovery_timeout", raw.recovery_timeout.as_deref())?,
            model: match raw.model.as_deref() {
                None => None,
                Some(m) => Some(crate::vocab::Model::from_name(m).ok_or_else(|| {
                    format!("key `model`: unknown model {m:?} (valid: posix, ordered, none)")
                })?),
            },
            max_states: raw.max_states,
            seed: raw.seed,
            fs: raw.fs,
            ..ExploreSettings::default()
        };
        let explore = settings
            .clone()
            .build(PathBuf::new(), Naming::Keys)
            .map_err(|e| e.to_string())?;
        Ok(ExploreScenario {
            file: path.to_path_buf(),
            name,
            description: raw.description,
            settings,
            explore,
            expect,
        })
    }
}

/// `faults`: a list or a comma-separated string, as `--faults`; default all.
fn parse_faults(spec: Option<Words>) -> Result<Vec<Fault>, String> {
    let text = match spec {
        None => return Ok(Fault::ALL.to_vec()),
        Some(Words::One(s)) => s,
        Some(Words::Many(v)) => v.join(","),
    };
    if text.trim().is_empty() {
        return Err("key `faults`: names no fault (give a list, or \"all\")".into());
    }
    Fault::parse_list(&text).map_err(|e| format!("key `faults`: {e}"))
}

/// An exploration's `expect`: `"pass"`, or `class@fault` findings that
/// can show under the scenario's `faults`.
fn parse_explore_expect(spec: Words, faults: &[Fault]) -> Result<ExploreExpectation, String> {
    let names = match spec {
        Words::One(s) if s == "pass" => return Ok(ExploreExpectation::Pass),
        Words::One(s) => vec![s],
        Words::Many(v) => v,
    };
    if names.is_empty() {
        return Err(
            "key `expect`: give \"pass\" or a list of findings as class@fault, e.g. [\"torn@kill\"]"
                .into(),
        );
    }
    let mut pairs = Vec::new();
    for name in &names {
        let (fault, finding) =
            ExploreExpectation::parse_finding(name).map_err(|e| format!("key `expect`: {e}"))?;
        if !faults.contains(&fault) {
            return Err(format!("key `expect`: {name} needs {fault} in `faults`"));
        }
        if !finding.possible_under(fault) {
            return Err(format!(
                "key `expect`: {name} cannot be found: {} needs an error that loses data (eio, enospc or edquot)",
                finding.name()
            ));
        }
        pairs.push((fault, finding));
    }
    Ok(ExploreExpectation::Finds(pairs))
}

/// A built-in strategy, or an outside program whose commands see the
/// scenario file's directory as `TORTURE_SCENARIO_DIR`.
fn workload(path: &Path, raw: &ScenarioFile) -> Result<Workload, String> {
    match (&raw.strategy, &raw.exec, &raw.check) {
        (Some(_), Some(_), _) => Err("keys `strategy` and `exec`: give one, not both".into()),
        (Some(name), None, _) => {
            if raw.check.is_some() || raw.init.is_some() || raw.state.is_some() {
                return Err(
                    "keys `check`, `init` and `state` go with `exec`, not `strategy`".into(),
                );
            }
            let s = strategy::by_name(name).ok_or_else(|| {
                format!(
                    "key `strategy`: unknown strategy {name:?} (valid: {})",
                    strategy::names()
                )
            })?;
            Ok(Workload::Builtin(s))
        }
        (None, Some(_), None) => {
            Err("key `check`: an `exec` scenario needs a `check` command".into())
        }
        (None, Some(exec), Some(check)) => {
            // The parent of a bare `s.toml` is "", which has no absolute form.
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            let dir = std::path::absolute(parent.unwrap_or(Path::new(".")))
                .map_err(|e| format!("cannot resolve the scenario's directory: {e}"))?;
            let spec = ExecSpec {
                exec: exec.clone(),
                check: check.clone(),
                init: raw.init.clone(),
                state: raw
                    .state
                    .clone()
                    .unwrap_or_else(|| crate::config::STATE_FILE.into()),
                env: vec![("TORTURE_SCENARIO_DIR".into(), dir.display().to_string())],
            };
            match spec.problem() {
                Some(p) => Err(format!("key `{}`: {}", p.field, p.reason)),
                None => Ok(Workload::Exec(spec)),
            }
        }
        (None, None, _) => Err("key `strategy` or `exec`: say what to torture".into()),
    }
}

/// A duration key, parsed; its bounds are checked with the others when
/// the settings are built.
fn duration(key: &str, text: Option<&str>) -> Result<Option<Duration>, String> {
    text.map(|t| crate::duration::parse(t).map_err(|e| format!("key `{key}`: {e}")))
        .transpose()
}

fn parse_expect(spec: Words) -> Result<Expectation, String> {
    let names = match spec {
        Words::One(s) if s == "pass" => return Ok(Expectation::Pass),
        Words::One(s) => vec![s],
        Words::Many(v) => v,
    };
    if names.is_empty() {
        return Err("key `expect`: give \"pass\" or a list of violation classes".into());
    }
    let kinds = names
        .iter()
        .map(|n| {
            ViolationKind::from_name(n).ok_or_else(|| {
                if n.contains('@') {
                    return format!(
                        "key `expect`: {n:?} is a finding of an exploration: add mode = \"explore\""
                    );
                }
                let valid: Vec<_> = ViolationKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "key `expect`: unknown class {n:?} (valid: pass, {})",
                    valid.join(", ")
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Expectation::Fails(kinds))
}

/// Turns a TOML error into one line naming the key and the reason.
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let reason = e.message().trim().replace('\n', " ");
    // A missing key has no line of its own: the span is the whole file.
    if let Some(key) = reason
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return format!("key `{key}` is missing: every scenario needs it");
    }
    let Some(span) = e.span() else { return reason };
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..span.start].matches('\n').count() + 1;
    let line = text[line_start..].lines().next().unwrap_or_default();
    match line.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => {
            format!("line {line_no}: key `{}`: {reason}", key.trim())
        }
        _ => format!("line {line_no}: {reason}"),
    }
}

/// Whether a scenario's `name` matches `pattern` (`torture run -E`): a
/// pattern with `*`, `?` or `[` is a shell-style glob that must match the
/// whole name (`*` any run of characters, `?` one, `[a-c]`/`[!x]` one of
/// a set or not of it); one without them matches anywhere in the name, as
/// `cargo test NAME` does.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains(['*', '?', '[']) {
        return name.contains(pattern);
    }
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    glob(&p, &s)
}

/// Glob matching of the whole of `s`, backtracking to the last `*` only
/// (linear in practice, never exponential).
fn glob(p: &[char], s: &[char]) -> bool {
    let (mut pi, mut si) = (0, 0);
    // The last `*` seen, and where in `s` its run of characters ends now.
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, si));
                pi += 1;
                continue;
            }
            Some('?') => Some(pi + 1),
            Some('[') => match class(p, pi, s[si]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                // No closing `]`: the `[` is a character like any other.
                None => (s[si] == '[').then_some(pi + 1),
            },
            Some(&c) => (c == s[si]).then_some(pi + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => (pi, si) = (next, si + 1),
            (None, Some((sp, end))) => {
                star = Some((sp, end + 1));
                (pi, si) = (sp + 1, end + 1);
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The set `[...]` opening at `p[start]`: whether `c` is in it, and where
/// the pattern goes on; `None` when no `]` closes it. A leading `!` or `^`
/// negates it; a `]` right after the opening (and its negation) is a
/// member; `a-z` is a range.
fn class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negated = matches!(p.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let first = i;
    let mut found = false;
    loop {
        let &member = p.get(i)?;
        if member == ']' && i > first {
            return Some((found != negated, i + 1));
        }
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            found |= (member..=p[i + 2]).contains(&c);
            i += 3;
        } else {
            found |= member == c;
            i += 1;
        }
    }
}

/// The scenarios whose name matches one of `patterns` or more (see
/// [`name_matches`]), in their order; all of them when there is no pattern.
pub fn filter(scenarios: Vec<AnyScenario>, patterns: &[String]) -> Vec<AnyScenario> {
    if patterns.is_empty() {
        return scenarios;
    }
    scenarios
        .into_iter()
        .filter(|s| patterns.iter().any(|p| name_matches(p, s.name())))
        .collect()
}

/// The `k`-th (1-based) of `n` deterministic slices of `scenarios`: sorted
/// by file, then every `n`-th. Slices are disjoint and together cover all.
pub fn partition(mut scenarios: Vec<AnyScenario>, k: usize, n: usize) -> Vec<AnyScenario> {
    scenarios.sort_by(|a, b| a.file().cmp(b.file()));
    scenarios
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % n == k - 1)
        .map(|(_, s)| s)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_globs_whole_and_plain_words_anywhere() {
        let yes = [
            ("py-*", "py-correct"),
            ("example-py-*", "example-py-lockfile"),
            ("*lock*", "example-sh-lockfile"),
            ("na?ve", "naive"),
            ("[nr]*", "reference"),
            ("[!x]aive", "naive"),
            ("[a-c]as-*", "cas-excl"),
            ("*", ""),
            ("a*b*c", "axxbyyc"),
            ("[]]x", "]x"),
            ("[x", "[x"),
            ("py", "example-py-correct"),
            ("lockfile", "example-py-lockfile"),
        ];
        for (pattern, name) in yes {
            assert!(name_matches(pattern, name), "{pattern} {name}");
        }
        let no = [
            ("py-*", "example-py-correct"),
            ("na?ve", "naiive"),
            ("[!n]aive", "naive"),
            ("[a-c]", "d"),
            ("a*b*c", "axxbyy"),
            ("*lock", "lockfile"),
            ("zzz", "naive"),
            ("[x", "x"),
        ];
        for (pattern, name) in no {
            assert!(!name_matches(pattern, name), "{pattern} {name}");
        }
    }

    fn load(text: &str) -> Result<Scenario, ScenarioError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(&p, text).unwrap();
        Scenario::load(&p)
    }

    #[test]
    fn loads_a_full_scenario() {
        let s = load("strategy = \"naive\"\nwriters = 4\nkill_rate = 0.2\nduration = \"2s\"\nexpect = [\"torn\"]\n").unwrap();
        assert_eq!(s.run.workload.name(), "naive");
        assert_eq!((s.run.writers, s.run.kill_rate), (4, 0.2));
        assert_eq!(
            s.run.length,
            crate::config::RunLength::Duration(Duration::from_secs(2))
        );
        assert_eq!(s.expect, Expectation::Fails(vec![ViolationKind::Torn]));
    }

    /// The command line's overrides replace the file's settings, a quota
    /// by a duration too, and a clash with the file is an error naming it.
    #[test]
    fn overrides_replace_the_files_settings() {
        let s = load("strategy = \"naive\"\nops = 50\nseed = 9\nexpect = [\"torn\"]\n").unwrap();
        let program = PathBuf::from("/bin/torture");
        let plain = s.config_with(program.clone(), false, &Overrides::default());
        let plain = plain.unwrap();
        assert_eq!((plain.seed, plain.length), (9, RunLength::Ops(50)));
        let overrides = Overrides {
            seed: Some(4),
            length: Some(RunLength::Duration(Duration::from_secs(2))),
            kill_at: Some(KillAt::Syscall),
        };
        let c = s.config_with(program.clone(), false, &overrides).unwrap();
        assert_eq!(
            (c.seed, c.length, c.kill_at),
            (
                4,
                RunLength::Duration(Duration::from_secs(2)),
                KillAt::Syscall
            )
        );
        let covered = load(
            "strategy = \"naive\"\nkill_at = \"syscall\"\nuntil_covered = 2\nexpect = [\"torn\"]\n",
        )
        .unwrap();
        let delay = Overrides {
            kill_at: Some(KillAt::Delay),
            ..Overrides::default()
        };
        let e = covered.config_with(program, false, &delay).unwrap_err();
        let e = e.to_string();
        assert!(e.contains("s.toml") && e.contains("`until_covered`"), "{e}");
        assert!(e.ends_with("with --kill-at delay"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }

    /// An exploration takes only the seed, and only with power among its
    /// faults.
    #[test]
    fn an_exploration_takes_the_seed_only_with_power() {
        let seeded = Overrides {
            seed: Some(11),
            length: Some(RunLength::Ops(3)),
            kill_at: Some(KillAt::Delay),
        };
        let program = PathBuf::from("/bin/torture");
        for (faults, seed) in [("kill", 0), ("power", 11)] {
            let text = format!(
                "mode = \"explore\"\nstrategy = \"naive\"\nfaults = \"{faults}\"\nexpect = \"pass\"\n"
            );
            let AnyScenario::Explore(s) = load_any(&text).unwrap() else {
                panic!("an exploration")
            };
            let c = s.config_with(program.clone(), 1, &seeded);
            assert_eq!(c.seed, seed, "{faults}");
            assert_eq!(
                c,
                ExploreConfig {
                    seed,
                    ..s.config(program.clone(), 1)
                }
            );
        }
    }

    fn load_any(text: &str) -> Result<AnyScenario, ScenarioError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(&p, text).unwrap();
        AnyScenario::load(&p)
    }

    #[test]
    fn loads_an_exploration() {
        let text = "mode = \"explore\"\nstrategy = \"naive\"\nfaults = \"kill, eio\"\nwarmup_ops = 1\nrecovery_timeout = \"1s\"\nexpect = [\"torn@kill\", \"torn@eio\"]\n";
        let AnyScenario::Explore(s) = load_any(text).unwrap() else {
            panic!("an exploration")
        };
        assert_eq!(s.explore.faults, vec![Fault::Kill, Fault::Eio]);
        assert_eq!(
            (s.explore.warmup_ops, s.explore.recovery_timeout),
            (1, Duration::from_secs(1))
        );
        assert_eq!(s.expect.to_string(), "torn@kill,torn@eio");
        let listed = "mode = \"explore\"\nstrategy = \"naive\"\nfaults = [\"eio\", \"kill\"]\nexpect = \"pass\"\n";
        let AnyScenario::Explore(s) = load_any(listed).unwrap() else {
            panic!("an exploration")
        };
        assert_eq!(s.explore.faults, vec![Fault::Kill, Fault::Eio]);
        assert_eq!(s.expect, ExploreExpectation::Pass);
        let all = "mode = \"explore\"\nstrategy = \"reference\"\nexpect = \"pass\"\n";
        let AnyScenario::Explore(s) = load_any(all).unwrap() else {
            panic!("an exploration")
        };
        assert_eq!(s.explore.faults, Fault::ALL.to_vec());
        assert!(matches!(
            load_any("strategy = \"naive\"\nexpect = [\"torn\"]\n").unwrap(),
            AnyScenario::Run(_)
        ));
    }

    #[test]
    fn keys_of_the_other_mode_are_refused() {
        let explore = "mode = \"explore\"\nstrategy = \"reference\"\nexpect = \"pass\"\n";
        let run = "strategy = \"reference\"\nexpect = \"pass\"\n";
        let cases = [
            (format!("{explore}writers = 2\n"), "writers"),
            (format!("{explore}kill_rate = 0.1\n"), "kill_rate"),
            (format!("{explore}duration = \"1s\"\n"), "duration"),
            (format!("{explore}ops = 10\n"), "ops"),
            (format!("{explore}min_kills = 1\n"), "min_kills"),
            (format!("{explore}stall_timeout = \"1s\"\n"), "stall_timeout"),
            (format!("{run}faults = \"kill\"\n"), "faults"),
            (format!("{run}warmup_ops = 1\n"), "warmup_ops"),
            (format!("{run}recovery_timeout = \"1s\"\n"), "recovery_timeout"),
            (
                "mode = \"explore\"\nstrategy = \"reference\"\nexpect = [\"torn\"]\n".into(),
                "expect",
            ),
            (
                "mode = \"explore\"\nstrategy = \"reference\"\nfaults = \"kill\"\nexpect = [\"unsafe_ack@eio\"]\n".into(),
                "expect",
            ),
            (
                "mode = \"explore\"\nstrategy = \"reference\"\nexpect = [\"unsafe_ack@kill\"]\n".into(),
                "expect",
            ),
            (
                "mode = \"explore\"\nstrategy = \"reference\"\nfaults = []\nexpect = \"pass\"\n".into(),
                "faults",
            ),
            ("mode = \"crash\"\nstrategy = \"reference\"\nexpect = \"pass\"\n".into(), "mode"),
            (format!("{run}expect2 = 1\n"), "expect2"),
        ];
        for (text, key) in cases {
            let e = load_any(&text).unwrap_err().to_string();
            assert!(e.contains(&format!("`{key}`")), "{key}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
        let e = load("mode = \"explore\"\nstrategy = \"reference\"\nexpect = \"pass\"\n");
        assert!(e.unwrap_err().to_string().contains("`mode`"));
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                "strategy = \"reference\"\nexpect = \"pass\"\nwritrs = 3\n",
                "writrs",
            ),
            (
                "strategy = \"reference\"\nexpect = \"pass\"\nwriters = \"many\"\n",
                "writers",
            ),
            (
                "strategy = \"reference\"\nexpect = \"pass\"\nkill_rate = 1.5\n",
                "kill_rate",
            ),
            ("strategy = \"zzz\"\nexpect = \"pass\"\n", "strategy"),
            ("strategy = \"reference\"\nexpect = \"lots\"\n", "expect"),
            (
                "strategy = \"reference\"\nexpect = \"pass\"\nduration = \"soon\"\n",
                "duration",
            ),
            (
                "strategy = \"reference\"\nexpect = \"pass\"\nduration = \"1000000000000h\"\n",
                "duration",
            ),
            (
                "strategy = \"reference\"\nexpect = \"pass\"\nop_timeout = \"31d\"\n",
                "op_timeout",
            ),
            (
                "strategy = \"reference\"\nexpect = \"pass\"\npayload = 9223372036854775807\n",
                "payload",
            ),
            (
                "mode = \"explore\"\nstrategy = \"reference\"\nexpect = \"pass\"\npayload = 1099511627776\n",
                "payload",
            ),
            ("exec = \"\"\ncheck = \"true\"\nexpect = \"pass\"\n", "exec"),
            (
                "exec = \"true\"\ncheck = \"true\"\ninit = \"/no/such\"\nexpect = \"pass\"\n",
                "init",
            ),
            (
                "exec = \"true\"\ncheck = \"true\"\nstate = \"/abs/file\"\nexpect = \"pass\"\n",
                "state",
            ),
        ];
        for (text, key) in cases {
            let e = load(text).unwrap_err().to_string();
            assert!(e.contains(&format!("`{key}`")), "{key}: {e}");
            assert!(e.contains("s.toml"), "{e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }
}
