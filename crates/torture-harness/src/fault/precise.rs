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
use std::process::{Command, Stdio};

use super::syscalls as sc;
use super::tracee;
use super::tracer::{self, End, Injection, Point, Policy, Scope, TraceOptions};
use crate::runner::protocol::Message;
use crate::runner::schedule::{KillSchedule, SeededSchedule};
use crate::runner::traced::{OpReport, Plan, SUBCOMMAND, parse_args};
use crate::vocab::{Fault, Seq};

/// Runs the tracer process; returns only when the traced command exited
/// with a code (a signal is passed on by dying of it).
pub fn main(args: &[OsString]) -> i32 {
    let Some((plan, dir, command)) = parse_args(args) else {
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
                let mut text = op_report(&t.points, t.injected.as_ref(), kill_at.is_some());
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
                let bytes = tracee::read_memory(tid, sc::arg(regs, 1), len);
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

/// What the tracer saw of one operation, for the supervisor.
fn op_report(points: &[Point], injected: Option<&Point>, planned: bool) -> OpReport {
    OpReport {
        points: points.iter().map(|p| p.text.clone()).collect(),
        killed: injected.map(|p| (p.ordinal, p.text.clone())),
        missed: planned && injected.is_none(),
        outlived: 0,
    }
}
