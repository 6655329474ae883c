//! The wire contract between the supervisor and its tracer processes
//! (`torture __traced`, implemented in `crate::fault::precise`): the
//! arguments that say what one tracer does ([`Plan`]), and what the tracer
//! of one outside-program operation reports back ([`OpReport`]).
//!
//! It lives in the runner, which spawns the tracers, so that the runner does
//! not depend on the fault layer above it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The name of the hidden subcommand.
pub const SUBCOMMAND: &str = "__traced";

/// What one tracer process does.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Trace a built-in writer for its whole life.
    Writer {
        /// The run's seed.
        seed: u64,
        /// The kill rate.
        rate: f64,
        /// The writer slot.
        slot: usize,
        /// The ordinal of the fault point at which to kill the next
        /// operation the schedule picks.
        target: usize,
    },
    /// Trace one operation of an outside program.
    Op {
        /// Kill at the fault point with this ordinal, if any.
        kill_at: Option<usize>,
        /// Where to write what happened.
        report: PathBuf,
    },
}

/// The arguments of `__traced` for `plan`, tracing `command` with the fault
/// points in `dir`.
pub fn args(plan: &Plan, dir: &Path, command: &[OsString]) -> Vec<OsString> {
    let mut out: Vec<OsString> = vec![SUBCOMMAND.into()];
    match plan {
        Plan::Writer {
            seed,
            rate,
            slot,
            target,
        } => {
            out.extend([
                "writer".into(),
                seed.to_string().into(),
                rate.to_string().into(),
                slot.to_string().into(),
                target.to_string().into(),
            ]);
        }
        Plan::Op { kill_at, report } => {
            let at = kill_at.map_or("-".to_string(), |k| k.to_string());
            out.extend(["op".into(), at.into(), report.clone().into_os_string()]);
        }
    }
    out.push(dir.as_os_str().to_owned());
    out.push("--".into());
    out.extend(command.iter().cloned());
    out
}

/// Parses what [`args`] made (without the subcommand).
pub fn parse_args(args: &[OsString]) -> Option<(Plan, PathBuf, Vec<OsString>)> {
    let sep = args.iter().position(|a| a == "--")?;
    let (head, command) = (&args[..sep], &args[sep + 1..]);
    let text: Vec<&str> = head.iter().map(|a| a.to_str()).collect::<Option<_>>()?;
    let plan = match text.as_slice() {
        ["writer", seed, rate, slot, target, _] => Plan::Writer {
            seed: seed.parse().ok()?,
            rate: rate.parse().ok()?,
            slot: slot.parse().ok()?,
            target: target.parse().ok()?,
        },
        ["op", at, report, _] => Plan::Op {
            kill_at: match *at {
                "-" => None,
                k => Some(k.parse().ok()?),
            },
            report: PathBuf::from(report),
        },
        _ => return None,
    };
    let dir = PathBuf::from(head.last()?);
    (!command.is_empty()).then(|| (plan, dir, command.to_vec()))
}

/// What the tracer of one outside-program operation saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpReport {
    /// The fault points reached, in order, as `explore` names them.
    pub points: Vec<String>,
    /// The ordinal and syscall it was killed at, if it was.
    pub killed: Option<(usize, String)>,
    /// A kill was planned but the operation ended first.
    pub missed: bool,
    /// Processes still running when the command exited, killed then.
    pub outlived: u64,
}

impl OpReport {
    /// Lines: `points N`, `outlived N`; `killed ORDINAL SYSCALL`, `missed`
    /// or nothing; then `p SYSCALL` for each point.
    pub fn encode(&self) -> String {
        let mut s = format!("points {}\noutlived {}\n", self.points.len(), self.outlived);
        if let Some((ordinal, k)) = &self.killed {
            s += &format!("killed {ordinal} {}\n", one_line(k));
        } else if self.missed {
            s += "missed\n";
        }
        for p in &self.points {
            s += &format!("p {}\n", one_line(p));
        }
        s
    }

    /// Parses what [`OpReport::encode`] wrote.
    pub fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines().peekable();
        let count: usize = lines.next()?.strip_prefix("points ")?.parse().ok()?;
        let outlived = lines.next()?.strip_prefix("outlived ")?.parse().ok()?;
        let mut report = OpReport {
            points: Vec::with_capacity(count),
            killed: None,
            missed: false,
            outlived,
        };
        match lines.peek() {
            Some(&"missed") => report.missed = true,
            Some(l) if l.starts_with("killed ") => {
                let (ordinal, k) = l["killed ".len()..].split_once(' ')?;
                report.killed = Some((ordinal.parse().ok()?, k.to_string()));
            }
            _ => {}
        }
        if report.missed || report.killed.is_some() {
            lines.next();
        }
        for l in lines {
            report.points.push(l.strip_prefix("p ")?.to_string());
        }
        (report.points.len() == count).then_some(report)
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_round_trip() {
        let command: Vec<OsString> = vec!["/bin/sh".into(), "-c".into(), "x -- y".into()];
        for plan in [
            Plan::Writer {
                seed: 7,
                rate: 0.25,
                slot: 3,
                target: 5,
            },
            Plan::Op {
                kill_at: Some(4),
                report: "/tmp/r".into(),
            },
            Plan::Op {
                kill_at: None,
                report: "/tmp/r".into(),
            },
        ] {
            let args = args(&plan, Path::new("/run"), &command);
            let parsed = parse_args(&args[1..]).unwrap();
            assert_eq!(parsed, (plan, PathBuf::from("/run"), command.clone()));
        }
    }

    #[test]
    fn op_reports_round_trip() {
        for r in [
            OpReport {
                points: vec!["openat(state.lock)".into(), "fsync(.state.tmp-x)".into()],
                killed: Some((1, "fsync(.state.tmp-x)".into())),
                missed: false,
                outlived: 0,
            },
            OpReport {
                points: vec!["a b".into(); 3],
                killed: None,
                missed: true,
                outlived: 2,
            },
            OpReport {
                points: vec![],
                killed: None,
                missed: false,
                outlived: 0,
            },
        ] {
            assert_eq!(OpReport::parse(&r.encode()), Some(r));
        }
    }
}
