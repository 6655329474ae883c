//! Outside programs: the protocol by which `torture` drives any program.
//!
//! Commands run through `/bin/sh -c` in the run directory, each in its own
//! process group, with `TORTURE_DIR` and `TORTURE_STATE` set, and for an
//! operation `TORTURE_OP` (a unique id of letters, digits and `-`) and
//! `TORTURE_WRITER` (the writer slot). The supervisor also tags each command
//! with `TORTURE_RUN` (see [`crate::process::reaper`]), by which it finds the
//! processes a command leaves behind.
//!
//! - `exec` must add `TORTURE_OP` to the state; exit 0 acknowledges it, any
//!   other exit is a failure (it may or may not have applied), a kill makes
//!   it indeterminate.
//! - `check` prints the op ids present in the state, one per line, on
//!   stdout, and exits 0; a non-zero exit means the state is unreadable.
//!   Only stdout carries op ids: stderr (an interpreter's warnings, say) is
//!   kept apart, shown as evidence when a command fails, and never parsed.
//! - `init` runs once before the first operation.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::config::ExecSpec;
use crate::process::ChildProcess;
use crate::vocab::{OpId, Seq};

/// How many bytes of a command's output are kept as evidence.
const TAIL_BYTES: u64 = 2048;

/// Which of the program's commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// `init`.
    Init,
    /// `exec`, as operation `seq` of writer `slot`.
    Op(usize, Seq),
    /// `check`.
    Check,
}

impl ExecSpec {
    /// The path of the state file in `dir`.
    pub fn state_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.state)
    }

    /// Starts one command with stdout and stderr going to `output`, tagged
    /// with `tag` (the value of `TORTURE_RUN`).
    pub fn spawn(
        &self,
        which: Which,
        dir: &Path,
        output: &Path,
        tag: &str,
    ) -> io::Result<ChildProcess> {
        let argv = self.argv(which);
        ChildProcess::spawn_fast(self.command_argv(which, dir, output, &argv, Some(tag))?)
    }

    /// The program and arguments of one command: `/bin/sh -c SCRIPT`, or the
    /// script's own words when it needs no shell.
    pub fn argv(&self, which: Which) -> Vec<OsString> {
        let script = match which {
            Which::Init => self.init.as_deref().unwrap_or("true"),
            Which::Op(..) => &self.exec,
            Which::Check => &self.check,
        };
        match plain_words(script) {
            Some(words) => words.into_iter().map(OsString::from).collect(),
            None => vec!["/bin/sh".into(), "-c".into(), script.into()],
        }
    }

    /// The program that runs for `which`: `/bin/sh`, or the command's own
    /// program when it needs no shell; for error messages.
    pub fn program(&self, which: Which) -> String {
        let argv = self.argv(which);
        argv[0].to_string_lossy().into_owned()
    }

    /// The command line of one command in `dir`, with the protocol's
    /// environment, stdin null, its stdout to `output` and its stderr to
    /// [`stderr_path`]`(output)`.
    pub fn command(&self, which: Which, dir: &Path, output: &Path) -> io::Result<Command> {
        self.command_argv(which, dir, output, &self.argv(which), None)
    }

    /// [`ExecSpec::command`] with another command line, for example the
    /// command's own wrapped in a tracer, and the `TORTURE_RUN` tag if any.
    pub fn command_argv(
        &self,
        which: Which,
        dir: &Path,
        output: &Path,
        argv: &[OsString],
        tag: Option<&str>,
    ) -> io::Result<Command> {
        let out = File::create(output)?;
        let err = File::create(stderr_path(output))?;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        cmd.current_dir(dir)
            .env("TORTURE_DIR", dir)
            .env("TORTURE_STATE", self.state_path(dir))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        if let Some(tag) = tag {
            cmd.env(crate::process::reaper::RUN_VAR, tag);
        }
        if let Which::Op(slot, seq) = which {
            cmd.env("TORTURE_OP", OpId::new(slot, seq).to_string())
                .env("TORTURE_WRITER", slot.to_string());
        }
        Ok(cmd)
    }
}

/// The words of a command that needs no shell: an absolute program path and
/// arguments made only of characters no shell treats specially, so that
/// running it directly is exactly what `/bin/sh -c` would do, one fork and
/// exec cheaper (the shortcut GNU make takes for such commands).
fn plain_words(script: &str) -> Option<Vec<&str>> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"/._-+,:@%=".contains(&b);
    let words: Vec<&str> = script
        .split([' ', '\t'])
        .filter(|w| !w.is_empty())
        .collect();
    let first = words.first()?;
    let ok = first.starts_with('/')
        && !first.contains('=')
        && words.iter().all(|w| w.bytes().all(plain));
    ok.then_some(words)
}

/// Where the stderr of a command whose stdout goes to `output` is kept.
pub fn stderr_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".err");
    PathBuf::from(name)
}

/// The last lines a command wrote, for evidence: its stdout, then its
/// stderr, each marked when there is any.
pub fn tail(output: &Path) -> String {
    let (out, err) = (tail_of(output), tail_of(&stderr_path(output)));
    match (out.is_empty(), err.is_empty()) {
        (_, true) => out,
        (true, false) => format!("stderr: {err}"),
        (false, false) => format!("{out} | stderr: {err}"),
    }
}

/// The last lines of one file.
fn tail_of(path: &Path) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_absolute_commands_skip_the_shell() {
        assert_eq!(
            plain_words("/bin/prog op  x=1"),
            Some(vec!["/bin/prog", "op", "x=1"])
        );
        for shell in [
            "prog op",
            "./prog op",
            "/bin/prog $TORTURE_STATE",
            "/bin/prog 'a b'",
            "/bin/prog > out",
            "/bin/prog; true",
            "/bin/prog *",
            "/bin/prog ~x",
            "A=1 /bin/prog",
            "/bin/prog\nx",
            "",
        ] {
            assert_eq!(plain_words(shell), None, "{shell}");
        }
    }

    fn spec(exec: &str, check: &str, init: Option<&str>, state: &str) -> ExecSpec {
        ExecSpec {
            exec: exec.into(),
            check: check.into(),
            init: init.map(String::from),
            state: state.into(),
            env: Vec::new(),
        }
    }

    #[test]
    fn specs_that_cannot_run_are_named_before_anything_runs() {
        let field = |s: ExecSpec| s.problem().map(|p| p.field);
        assert_eq!(field(spec("/bin/true", "/bin/true", None, "state")), None);
        assert_eq!(field(spec("prog $X", "./check", Some("x"), "s.db")), None);
        assert_eq!(field(spec("A=1 /bin/true", "true", None, "s")), None);
        assert_eq!(field(spec("", "true", None, "s")), Some("exec"));
        assert_eq!(field(spec("true", " \t", None, "s")), Some("check"));
        assert_eq!(field(spec("true", "true", Some(""), "s")), Some("init"));
        assert_eq!(field(spec("true", "true", None, "/abs")), Some("state"));
        assert_eq!(field(spec("true", "true", None, "..")), Some("state"));
        let missing = spec("/nonexistent/prog op", "true", None, "s").problem();
        let missing = missing.unwrap();
        assert_eq!(missing.field, "exec");
        assert!(missing.reason.contains("/nonexistent/prog"), "{missing:?}");
        let p = spec("true", "true", Some("X=1 /no/such"), "s").problem();
        assert_eq!(p.map(|p| p.field), Some("init"));
        assert_eq!(field(spec("/etc", "true", None, "s")), Some("exec"));
        assert_eq!(field(spec("/etc/passwd", "true", None, "s")), Some("exec"));
        // A path the shell expands is the shell's business.
        assert_eq!(field(spec("/no/$X", "true", None, "s")), None);
    }
}
