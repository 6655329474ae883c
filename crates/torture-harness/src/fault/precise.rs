//! `--kill-at syscall`: the random runner's kills, landed exactly at the
//! entry of a file-system syscall chosen inside the operation, instead of
//! after a random delay.
//!
//! Each writer runs under a small tracer process (`torture __traced`), which
//! SIGKILLs the operation at the planned fault point and tells the
//! supervisor:
//!
//! - a built-in writer runs many operations; the tracer reads its `B SEQ`
//!   messages on the way to the supervisor, asks the seeded schedule about
//!   each operation (the same pure function of seed, slot and sequence
//!   number the supervisor uses), and reports `K SEQ SYSCALL` (killed) or
//!   `M SEQ` (the operation ended before the planned point) on the same pipe;
//! - an outside program's operation is one process; the supervisor plans the
//!   point and the tracer writes what happened to a report file.
//!
//! The seeded schedule decides which operations are killed; the supervisor
//! decides at which fault point (`runner::coverage`: the least-hit one), and
//! passes the ordinal to the tracer. Every kill reports its ordinal, and
//! every operation the number of points it reached, so the supervisor can
//! report the kills by point. The tracer then exits the way the operation did
//! (same code, or the same signal), so the supervisor sees the writer's own
//! end.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::syscalls as sc;
use super::tracer::{self, End, Injection, Point, Policy, Scope, TraceOptions};
use crate::runner::protocol::Message;
use crate::runner::schedule::{KillSchedule, SeededSchedule};
use crate::vocab::{Fault, Seq};

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

fn parse(args: &[OsString]) -> Option<(Plan, PathBuf, Vec<OsString>)> {
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

/// Runs the tracer process; returns only when the traced command exited
/// with a code (a signal is passed on by dying of it).
pub fn main(args: &[OsString]) -> i32 {
    let Some((plan, dir, command)) = parse(args) else {
        eprintln!("torture: {SUBCOMMAND} is internal to the supervisor");
        return crate::exit::BAD_INPUT;
    };
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]).stdin(Stdio::null());
    let scope = Scope { dir, all: false };
    let options = TraceOptions {
        timeout: None,
        own_group: false,
        points: true,
        // An operation ends with its command; a built-in writer never forks.
        end_with_leader: matches!(plan, Plan::Op { .. }),
    };
    let traced = match &plan {
        Plan::Writer {
            seed,
            rate,
            slot,
            target,
        } => {
            let mut policy = WriterPolicy::new(*seed, *rate, *slot, *target);
            tracer::trace(cmd, &scope, &mut policy, options, &|_| {})
        }
        Plan::Op { kill_at, report } => {
            let mut policy = kill_at.map(|ordinal| Injection {
                ordinal,
                fault: Fault::Kill,
            });
            let traced = tracer::trace(cmd, &scope, &mut policy, options, &|_| {});
            if let Ok(t) = &traced {
                let mut text =
                    OpReport::from_trace(&t.points, t.injected.as_ref(), kill_at.is_some());
                text.outlived = t.outlived as u64;
                let _ = crashsafe::write_file_atomic(report, text.encode().as_bytes(), 0o644);
            }
            traced
        }
    };
    match traced {
        Ok(t) => pass_on(t.end),
        Err(e) => {
            eprintln!("torture: {e}");
            crate::exit::BAD_INPUT
        }
    }
}

/// Ends this process the way the traced command ended.
fn pass_on(end: End) -> i32 {
    match end {
        End::Exited(code) => code,
        End::Signaled(sig) => {
            // SAFETY: resetting a disposition and raising a signal on
            // ourselves; the only pointer is to `set`, a local that a zeroed
            // value and then sigemptyset make a valid signal set.
            unsafe {
                libc::signal(sig, libc::SIG_DFL);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, sig);
                libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                libc::kill(libc::getpid(), sig);
            }
            128 + sig
        }
    }
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
    fn from_trace(points: &[Point], injected: Option<&Point>, planned: bool) -> Self {
        OpReport {
            points: points.iter().map(|p| p.text.clone()).collect(),
            killed: injected.map(|p| (p.ordinal, p.text.clone())),
            missed: planned && injected.is_none(),
            outlived: 0,
        }
    }

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

/// The operation in flight of a traced built-in writer.
struct InFlight {
    seq: Seq,
    /// The ordinal of the point to kill at, if this op is to be killed.
    target: Option<usize>,
    seen: usize,
}

/// Lands the kills of one built-in writer at the point the supervisor
/// planned.
struct WriterPolicy {
    schedule: SeededSchedule,
    slot: usize,
    target: usize,
    op: Option<InFlight>,
}

impl WriterPolicy {
    fn new(seed: u64, rate: f64, slot: usize, target: usize) -> Self {
        WriterPolicy {
            schedule: SeededSchedule::new(seed, rate),
            slot,
            target,
            op: None,
        }
    }

    /// A message the writer is about to send to the supervisor.
    fn on_message(&mut self, line: &[u8]) {
        let Some(msg) = std::str::from_utf8(line)
            .ok()
            .and_then(|l| Message::parse(l.trim_end_matches('\n')))
        else {
            return;
        };
        match msg {
            Message::Begin(seq) => {
                let target = self.schedule.decide(self.slot, seq).map(|_| self.target);
                self.op = Some(InFlight {
                    seq,
                    target,
                    seen: 0,
                });
            }
            Message::Ack(..) | Message::Fail(..) | Message::Torn(..) => {
                if let Some(op) = self.op.take() {
                    tell(&Message::Points(op.seq, op.seen as u64));
                    if op.target.is_some() {
                        tell(&Message::Missed(op.seq));
                        // Planned past this operation's end (an estimate made
                        // before any was counted): aim inside the next one.
                        if op.seen > 0 {
                            self.target %= op.seen;
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

impl Policy for WriterPolicy {
    fn decide(&mut self, tid: i32, regs: &sc::RawRegs, point: Option<&Point>) -> Option<Fault> {
        let Some(point) = point else {
            let to_stdout = sc::lookup(sc::nr(regs)).is_some_and(|s| s.name == "write")
                && sc::arg(regs, 0) == 1;
            if to_stdout {
                let len = (sc::arg(regs, 2) as usize).min(64);
                let bytes = tracer::read_memory(tid, sc::arg(regs, 1), len);
                self.on_message(&bytes);
            }
            return None;
        };
        let op = self.op.as_mut()?;
        let ordinal = op.seen;
        op.seen += 1;
        if op.target != Some(ordinal) {
            return None;
        }
        // The tracee is stopped: this line cannot interleave with its own.
        tell(&Message::Killed(op.seq, ordinal, point.text.clone()));
        self.op = None;
        Some(Fault::Kill)
    }
}

/// Writes one protocol line to the supervisor with one `write(2)`.
fn tell(msg: &Message) {
    let line = msg.encode();
    let bytes = std::ffi::OsStr::new(&line).as_bytes();
    // SAFETY: writing a live buffer to our own stdout.
    unsafe { libc::write(1, bytes.as_ptr().cast(), bytes.len()) };
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
            let parsed = parse(&args[1..]).unwrap();
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
