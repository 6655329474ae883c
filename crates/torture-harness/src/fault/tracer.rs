//! Runs one command under `ptrace`, records the file-system syscalls that
//! are fault points, and injects at most one fault; or, for the power-loss
//! tier ([`trace_recording`]), injects none and feeds every syscall that may
//! change the run directory to the [recorder](super::power::record).
//!
//! The tracee installs a seccomp filter before it executes the command, so
//! only the syscalls of the [table](super::syscalls) stop it
//! (`SECCOMP_RET_TRACE`); everything else runs at full speed. Threads,
//! forks, vforks and execs are followed (`PTRACE_O_TRACECLONE`, `TRACEFORK`,
//! `TRACEVFORK`, `TRACEEXEC`), and `PTRACE_O_TRACEEXITKILL` kills every
//! tracee if the tracer dies.
//!
//! `ptrace` binds a tracee to the *thread* that attached it, so one tracer
//! thread does everything, and it waits with `__WNOTHREAD` so that tracers
//! on other threads keep their own tracees.
//!
//! The seccomp filter is twenty lines of hand-written BPF rather than a
//! crate's: `seccompiler` (Firecracker's) can return `TRACE` for a set of
//! syscalls and `ALLOW` otherwise, but its filters kill the process on any
//! other audit architecture (a 32-bit `int 0x80` call on x86_64), where
//! this one lets such a call run, untraced; and a crate would be one more
//! dependency for one straight-line program. The price is BPF's 8-bit
//! jump offsets: each test jumps over the rest of the table to the `TRACE`,
//! so one filter covers at most 255 syscalls. Building a filter checks
//! that (an error, never a silently wrapped jump), and a `const` assertion
//! fails the build if the table itself ever outgrows it.

use std::collections::{HashMap, HashSet};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::power::record::{Pending, Recorder};
use super::syscalls::{self as sc, Class, Count, RawRegs, Syscall};
use super::tracee::{iovecs, resolve};
use crate::platform::SignalTarget;
use crate::vocab::Fault;

/// Which syscalls are fault points.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The run directory (canonical): a syscall naming a file in it is a point.
    pub dir: PathBuf,
    /// Every file-system syscall is a point, wherever its files are.
    pub all: bool,
}

/// One fault point: a file-system syscall, at its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    /// Its ordinal among the operation's fault points.
    pub ordinal: usize,
    /// The syscall.
    pub syscall: &'static Syscall,
    /// The decoded call, paths relative to the run directory.
    pub text: String,
    /// The files it names, relative to the run directory when inside it.
    pub files: Vec<String>,
    /// The byte count of a write-like call.
    pub count: Option<u64>,
    /// Whether an open may create a file.
    pub creates: bool,
}

impl Point {
    /// Whether `fault` can be put here.
    pub fn admits(&self, fault: Fault) -> bool {
        self.syscall.admits(fault, self.count, self.creates)
    }
}

/// The fault to inject, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injection {
    /// The ordinal of the fault point.
    pub ordinal: usize,
    /// The fault.
    pub fault: Fault,
}

/// Decides, at each stop of a syscall of the table, whether to put a fault
/// there. Only fault points can get one.
pub trait Policy {
    /// `point` is the fault point this stop is, `None` for a syscall of the
    /// table outside the scope (its registers are still given, for policies
    /// that watch the tracee's other I/O).
    fn decide(&mut self, tid: i32, regs: &RawRegs, point: Option<&Point>) -> Option<Fault>;
}

impl Policy for Option<Injection> {
    fn decide(&mut self, _: i32, _: &RawRegs, point: Option<&Point>) -> Option<Fault> {
        let (inj, point) = (self.as_ref()?, point?);
        let hit = inj.ordinal == point.ordinal && point.admits(inj.fault);
        let fault = hit.then_some(inj.fault);
        if hit {
            // One fault per run.
            *self = None;
        }
        fault
    }
}

/// How a traced run is set up.
#[derive(Debug, Clone, Copy)]
pub struct TraceOptions {
    /// Kill the run after this long; `None` for never.
    pub timeout: Option<Duration>,
    /// Make the command the leader of its own process group (else it stays
    /// in the tracer's, so signals to that group reach it).
    pub own_group: bool,
    /// Stop at the table's syscalls (the seccomp filter) to find fault
    /// points. Without it only forks, execs and exits stop the tracee: no
    /// points, at almost no cost, and still the timeout and the kill of every
    /// tracee when the tracer dies.
    pub points: bool,
    /// End the trace when the command itself exits, killing whatever it
    /// left running (counted in [`Trace::outlived`]): a runner's operation
    /// ends with its command. Otherwise the trace waits for every tracee.
    pub end_with_leader: bool,
}

/// How the traced command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Signaled(i32),
}

impl End {
    /// Whether it exited 0.
    pub fn success(self) -> bool {
        self == End::Exited(0)
    }
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Exited(code) => write!(f, "exit {code}"),
            End::Signaled(sig) => match Signal::try_from(*sig) {
                Ok(s) => write!(f, "killed by {s}"),
                Err(_) => write!(f, "killed by signal {sig}"),
            },
        }
    }
}

/// What one traced run did.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Every fault point reached, in order.
    pub points: Vec<Point>,
    /// How the command ended.
    pub end: End,
    /// The point where the fault was injected; `None` if the run never
    /// reached a point that admits it (the run diverged).
    pub injected: Option<Point>,
    /// The run was killed at the timeout.
    pub timed_out: bool,
    /// With [`TraceOptions::end_with_leader`]: processes still running when
    /// the command exited, killed then.
    pub outlived: usize,
}

/// Why a trace could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The kernel refused `ptrace` or seccomp.
    #[error(
        "ptrace is not permitted here ({0}): allow it (sysctl kernel.yama.ptrace_scope=1 or 0, or start the container with --cap-add=SYS_PTRACE and a seccomp profile that permits ptrace)"
    )]
    NotPermitted(String),
    /// Something else went wrong.
    #[error("cannot trace the operation: {0}")]
    Io(#[from] io::Error),
}

impl From<Errno> for TraceError {
    fn from(e: Errno) -> Self {
        TraceError::Io(io::Error::from(e))
    }
}

/// How often a traced run checks for a stop request.
const STOP_POLL: Duration = Duration::from_millis(50);

const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;

/// The most syscalls one filter can test: the first test's jump over the
/// others to the `TRACE` must fit in BPF's 8-bit `jt`.
const MAX_TRACED: usize = u8::MAX as usize;

const _: () = assert!(
    sc::TABLE.len() + sc::WATCH.len() <= MAX_TRACED,
    "the syscall table and the recorder's watched syscalls outgrew one seccomp filter: its jumps are 8-bit"
);

/// A syscall table too long for one seccomp filter.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0} syscalls do not fit one seccomp filter (at most {MAX_TRACED}: BPF jumps are 8-bit): split the table into several filters"
)]
struct FilterTooLong(usize);

fn bpf(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// A seccomp program that returns `TRACE` for the table's syscalls and
/// `extra` on this architecture (the table's first, in its order, so a
/// filter without extras is the one fault points have always had) and
/// `ALLOW` for everything else.
fn seccomp_filter(extra: &[u64]) -> Result<Vec<libc::sock_filter>, FilterTooLong> {
    let table = sc::TABLE.iter().map(|s| s.nr);
    let nrs: Vec<u32> = table
        .chain(extra.iter().copied())
        .map(|nr| nr as u32)
        .collect();
    trace_filter(sc::AUDIT_ARCH, &nrs)
}

/// A seccomp program that returns `TRACE` for the syscalls `nrs` of the
/// audit architecture `arch`, and `ALLOW` for everything else (other
/// architectures included).
fn trace_filter(arch: u32, nrs: &[u32]) -> Result<Vec<libc::sock_filter>, FilterTooLong> {
    // BPF_LD | BPF_W | BPF_ABS, BPF_JMP | BPF_JEQ | BPF_K, BPF_RET | BPF_K.
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    // struct seccomp_data { int nr; __u32 arch; ... }
    const NR_OFFSET: u32 = 0;
    const ARCH_OFFSET: u32 = 4;
    let n = nrs.len();
    let mut prog = vec![
        bpf(LD_W_ABS, 0, 0, ARCH_OFFSET),
        bpf(JEQ_K, 1, 0, arch),
        bpf(RET_K, 0, 0, SECCOMP_RET_ALLOW),
        bpf(LD_W_ABS, 0, 0, NR_OFFSET),
    ];
    for (i, &nr) in nrs.iter().enumerate() {
        // Jump over the remaining tests and the ALLOW to the TRACE.
        let to_trace = u8::try_from(n - i).map_err(|_| FilterTooLong(n))?;
        prog.push(bpf(JEQ_K, to_trace, 0, nr));
    }
    prog.push(bpf(RET_K, 0, 0, SECCOMP_RET_ALLOW));
    prog.push(bpf(RET_K, 0, 0, SECCOMP_RET_TRACE));
    Ok(prog)
}

/// Makes `cmd` stop for tracing at its exec, with the seccomp filter
/// installed if `points` (stopping at the table's syscalls and at `extra`).
fn prepare(cmd: &mut Command, points: bool, extra: &[u64]) -> Result<(), TraceError> {
    let filter = seccomp_filter(extra).map_err(io::Error::other)?;
    // SAFETY: only async-signal-safe calls between fork and exec; the filter
    // was allocated before the fork.
    unsafe {
        cmd.pre_exec(move || {
            // nix's wrappers are single syscalls, and an Errno becomes an
            // io::Error without allocating.
            ptrace::traceme()?;
            if !points {
                return Ok(());
            }
            nix::sys::prctl::set_no_new_privs()?;
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            // nix has no seccomp wrapper.
            let rc = libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                0 as libc::c_ulong,
                &prog as *const libc::sock_fprog,
            );
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    };
    Ok(())
}

/// Runs `cmd` under ptrace to its end (or its timeout), recording the
/// fault points in `scope` and putting faults where `policy` says.
/// `started` receives the leader's pid as soon as it exists.
pub fn trace(
    cmd: Command,
    scope: &Scope,
    policy: &mut dyn Policy,
    options: TraceOptions,
    started: &dyn Fn(i32),
) -> Result<Trace, TraceError> {
    trace_inner(cmd, scope, policy, None, options, started)
}

/// Runs `cmd` under ptrace as [`trace`] does, with the same fault points
/// (the same ordinals), and feeds `rec` every syscall that may change its
/// directory, at the syscall's entry and, when the recorder asks, at its
/// exit. No fault is injected. The seccomp filter also stops at the
/// recorder's [`WATCH`](sc::WATCH) calls (never fault points), so
/// `options.points` is taken as true.
pub fn trace_recording(
    cmd: Command,
    scope: &Scope,
    rec: &mut Recorder,
    options: TraceOptions,
) -> Result<Trace, TraceError> {
    let mut no_fault: Option<Injection> = None;
    let options = TraceOptions {
        points: true,
        ..options
    };
    trace_inner(cmd, scope, &mut no_fault, Some(rec), options, &|_| {})
}

fn trace_inner(
    mut cmd: Command,
    scope: &Scope,
    policy: &mut dyn Policy,
    recorder: Option<&mut Recorder>,
    options: TraceOptions,
    started: &dyn Fn(i32),
) -> Result<Trace, TraceError> {
    let extra = if recorder.is_some() { sc::WATCH } else { &[] };
    prepare(&mut cmd, options.points, extra)?;
    if options.own_group {
        cmd.process_group(0);
    }
    let child = cmd.spawn().map_err(|e| match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => TraceError::NotPermitted(e.to_string()),
        _ => TraceError::Io(e),
    })?;
    let leader = child.id() as i32;
    // The Child handle is not used to wait: the tracer loop reaps.
    drop(child);
    started(leader);
    let mut tracer = Tracer::new(leader, scope, policy, recorder);
    let timed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (done, timer) = match options.timeout {
        Some(timeout) => {
            let (done, expired) = mpsc::channel::<()>();
            let live = Arc::clone(&tracer.live);
            let flag = Arc::clone(&timed_out);
            let timer = std::thread::spawn(move || watch(leader, timeout, expired, &live, &flag));
            (Some(done), Some(timer))
        }
        None => (None, None),
    };
    let result = tracer.run(options.end_with_leader);
    let outlived = match (&result, options.end_with_leader) {
        (Ok(()), true) => tracer.kill_leftovers(),
        _ => 0,
    };
    drop(done);
    if let Some(timer) = timer {
        let _ = timer.join();
    }
    if result.is_err() {
        kill_all(leader, &tracer.live);
        tracer.drain();
    }
    result?;
    Ok(Trace {
        points: tracer.points,
        end: tracer.end.unwrap_or(End::Signaled(libc::SIGKILL)),
        injected: tracer.injected,
        timed_out: timed_out.load(std::sync::atomic::Ordering::SeqCst),
        outlived,
    })
}

/// Kills the traced run at `timeout`, or at once on a stop request
/// (SIGINT, SIGTERM); returns when `done` closes.
fn watch(
    leader: i32,
    timeout: Duration,
    done: mpsc::Receiver<()>,
    live: &Mutex<HashSet<i32>>,
    timed_out: &std::sync::atomic::AtomicBool,
) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match done.recv_timeout(left.min(STOP_POLL)) {
            Err(mpsc::RecvTimeoutError::Timeout) if left > STOP_POLL => {
                if !crate::platform::stop_requested() {
                    continue;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            _ => return,
        }
        kill_all(leader, live);
        return;
    }
}

fn kill_all(leader: i32, live: &Mutex<HashSet<i32>>) {
    let _ = SignalTarget::Group(leader).send(Signal::SIGKILL);
    if let Ok(live) = live.lock() {
        for &tid in live.iter() {
            let _ = SignalTarget::Process(tid).send(Signal::SIGKILL);
        }
    }
}

/// How long the tracer waits for the processes it killed at the end of an
/// operation to be gone.
const LEFTOVER_GRACE: Duration = Duration::from_secs(5);

struct Tracer<'a> {
    leader: i32,
    scope: &'a Scope,
    policy: &'a mut dyn Policy,
    points: Vec<Point>,
    injected: Option<Point>,
    end: Option<End>,
    live: Arc<Mutex<HashSet<i32>>>,
    /// Tracees whose first (attach) SIGSTOP was consumed.
    attached: HashSet<i32>,
    /// Tracees whose skipped syscall must return this value at its exit.
    pending_ret: HashMap<i32, i64>,
    /// The power recorder, when recording.
    recorder: Option<&'a mut Recorder>,
    /// Tracees in a syscall whose exit the recorder waits for.
    pending_ops: HashMap<i32, Pending>,
}

impl<'a> Tracer<'a> {
    fn new(
        leader: i32,
        scope: &'a Scope,
        policy: &'a mut dyn Policy,
        recorder: Option<&'a mut Recorder>,
    ) -> Self {
        Tracer {
            leader,
            scope,
            policy,
            recorder,
            pending_ops: HashMap::new(),
            points: Vec::new(),
            injected: None,
            end: None,
            live: Arc::new(Mutex::new(HashSet::from([leader]))),
            attached: HashSet::from([leader]),
            pending_ret: HashMap::new(),
        }
    }

    fn flags() -> Option<WaitPidFlag> {
        Some(WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD)
    }

    fn run(&mut self, end_with_leader: bool) -> Result<(), TraceError> {
        let leader = Pid::from_raw(self.leader);
        // The first stop is the SIGTRAP of the exec.
        match waitpid(leader, Self::flags())? {
            WaitStatus::Stopped(_, _) => {}
            WaitStatus::Exited(_, code) => {
                self.end = Some(End::Exited(code));
                return Ok(());
            }
            other => {
                return Err(io::Error::other(format!("unexpected first stop {other:?}")).into());
            }
        }
        let options = Options::PTRACE_O_TRACESYSGOOD
            | Options::PTRACE_O_TRACECLONE
            | Options::PTRACE_O_TRACEFORK
            | Options::PTRACE_O_TRACEVFORK
            | Options::PTRACE_O_TRACEEXEC
            | Options::PTRACE_O_TRACESECCOMP
            | Options::PTRACE_O_EXITKILL;
        ptrace::setoptions(leader, options)?;
        ptrace::cont(leader, None)?;
        loop {
            let status = match waitpid(Pid::from_raw(-1), Self::flags()) {
                Ok(s) => s,
                Err(Errno::ECHILD) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            };
            self.on_status(status)?;
            if end_with_leader && self.end.is_some() {
                return Ok(());
            }
        }
    }

    /// Kills every tracee still alive after the command exited and waits
    /// until they are gone (their deaths reach us, their tracer), so none
    /// outlives the tracer; returns how many there were.
    fn kill_leftovers(&mut self) -> usize {
        let alive = |t: &Self| -> Vec<i32> {
            t.live
                .lock()
                .map(|l| l.iter().copied().filter(|&tid| tid != t.leader).collect())
                .unwrap_or_default()
        };
        let left = alive(self);
        for &tid in &left {
            let _ = SignalTarget::Process(tid).send(Signal::SIGKILL);
        }
        let deadline = std::time::Instant::now() + LEFTOVER_GRACE;
        while !alive(self).is_empty() && std::time::Instant::now() < deadline {
            match waitpid(Pid::from_raw(-1), Self::flags()) {
                Ok(WaitStatus::Exited(pid, _)) | Ok(WaitStatus::Signaled(pid, _, _)) => {
                    self.forget(pid.as_raw())
                }
                Ok(other) => {
                    // Still stopped on its way to the kill: let it go on.
                    if let Some(pid) = other.pid() {
                        let _ = ptrace::cont(pid, None);
                    }
                }
                Err(Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        left.len()
    }

    /// Reaps what is left after an error, so no zombie stays behind.
    fn drain(&mut self) {
        while let Ok(status) = waitpid(Pid::from_raw(-1), Self::flags()) {
            if let Some(pid) = status.pid() {
                let _ = ptrace::cont(pid, None);
            }
        }
    }

    fn forget(&mut self, pid: i32) {
        self.pending_ops.remove(&pid);
        if let Ok(mut live) = self.live.lock() {
            live.remove(&pid);
        }
    }

    fn on_status(&mut self, status: WaitStatus) -> Result<(), TraceError> {
        match status {
            WaitStatus::Exited(pid, code) => {
                self.forget(pid.as_raw());
                if pid.as_raw() == self.leader {
                    self.end = Some(End::Exited(code));
                }
            }
            WaitStatus::Signaled(pid, sig, _) => {
                self.forget(pid.as_raw());
                if pid.as_raw() == self.leader {
                    self.end = Some(End::Signaled(sig as i32));
                }
            }
            WaitStatus::PtraceEvent(pid, _, event) => self.on_event(pid, event)?,
            WaitStatus::PtraceSyscall(pid) => self.on_syscall_exit(pid)?,
            WaitStatus::Stopped(pid, sig) => {
                if let Ok(mut live) = self.live.lock() {
                    live.insert(pid.as_raw());
                }
                // A new tracee's first stop is the SIGSTOP of its attach.
                let first = sig == Signal::SIGSTOP && self.attached.insert(pid.as_raw());
                let deliver = if first { None } else { Some(sig) };
                resume(self.go_on(pid, deliver))?;
            }
            _ => {}
        }
        Ok(())
    }

    fn on_event(&mut self, pid: Pid, event: i32) -> Result<(), TraceError> {
        match event {
            libc::PTRACE_EVENT_SECCOMP => self.on_syscall_entry(pid),
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                if let Ok(new) = ptrace::getevent(pid)
                    && let Ok(mut live) = self.live.lock()
                {
                    live.insert(new as i32);
                }
                resume(self.go_on(pid, None))
            }
            _ => resume(self.go_on(pid, None)),
        }
    }

    /// Resumes a tracee after a stop that is not a syscall's: to the next
    /// seccomp stop, or to the exit of the call it is in if the recorder
    /// waits for that.
    fn go_on(&self, pid: Pid, sig: Option<Signal>) -> nix::Result<()> {
        match self.pending_ops.contains_key(&pid.as_raw()) {
            true => ptrace::syscall(pid, sig),
            false => ptrace::cont(pid, sig),
        }
    }

    fn on_syscall_entry(&mut self, pid: Pid) -> Result<(), TraceError> {
        let Ok(mut regs) = ptrace::getregs(pid) else {
            // Killed while stopped: its exit comes next.
            return Ok(());
        };
        let point = self.decode(pid.as_raw(), &regs);
        let fault = self.policy.decide(pid.as_raw(), &regs, point.as_ref());
        if self.recorder.is_some() {
            // No fault while recording: the points are counted, as `trace`
            // counts them, for the recorder's keys.
            self.points.extend(point);
            return self.record_entry(pid, &regs);
        }
        let Some(point) = point else {
            return resume(ptrace::cont(pid, None));
        };
        self.points.push(point.clone());
        let Some(fault) = fault.filter(|f| point.admits(*f)) else {
            return resume(ptrace::cont(pid, None));
        };
        self.injected = Some(point.clone());
        match fault {
            Fault::Kill => {
                kill_all(self.leader, &self.live);
                Ok(())
            }
            Fault::ShortWrite => {
                shorten(pid.as_raw(), &point, &mut regs);
                resume(ptrace::setregs(pid, regs))?;
                resume(ptrace::cont(pid, None))
            }
            fault => {
                let ret = -(fault.errno().expect("an error fault") as i64);
                sc::set_nr(&mut regs, u64::MAX);
                sc::set_ret(&mut regs, ret);
                resume(ptrace::setregs(pid, regs))?;
                self.pending_ret.insert(pid.as_raw(), ret);
                // Stop again at the exit of the skipped call to be sure of
                // its return value.
                resume(ptrace::syscall(pid, None))
            }
        }
    }

    /// Gives the recorder the call stopped at; if it wants the call's
    /// result, stops again at its exit (as an injected error does).
    fn record_entry(&mut self, pid: Pid, regs: &RawRegs) -> Result<(), TraceError> {
        let key = self.points.len();
        let rec = self.recorder.as_deref_mut();
        let Some(pending) = rec.and_then(|rec| rec.entry(pid.as_raw(), regs, key)) else {
            return resume(ptrace::cont(pid, None));
        };
        self.pending_ops.insert(pid.as_raw(), pending);
        resume(ptrace::syscall(pid, None))
    }

    fn on_syscall_exit(&mut self, pid: Pid) -> Result<(), TraceError> {
        if let Some(ret) = self.pending_ret.remove(&pid.as_raw())
            && let Ok(mut regs) = ptrace::getregs(pid)
            && sc::ret(&regs) != ret
        {
            sc::set_ret(&mut regs, ret);
            resume(ptrace::setregs(pid, regs))?;
        }
        if let Some(pending) = self.pending_ops.remove(&pid.as_raw())
            && let Ok(regs) = ptrace::getregs(pid)
            && let Some(rec) = self.recorder.as_deref_mut()
        {
            rec.exit(pid.as_raw(), pending, sc::ret(&regs));
        }
        resume(ptrace::cont(pid, None))
    }

    /// The fault point this stop is, if it is one.
    fn decode(&self, tid: i32, regs: &RawRegs) -> Option<Point> {
        let syscall = sc::lookup(sc::nr(regs))?;
        if syscall.name == sc::FCNTL && !sc::FCNTL_LOCK_COMMANDS.contains(&sc::arg(regs, 1)) {
            return None;
        }
        let files: Vec<PathBuf> = syscall
            .operands
            .iter()
            .map(|&op| resolve(tid, regs, op))
            .collect();
        let inside = files.iter().any(|f| f.starts_with(&self.scope.dir));
        if !inside && !self.scope.all {
            return None;
        }
        let count = syscall.count.map(|c| write_count(tid, regs, c));
        let flags = syscall.flags.map(|i| sc::arg(regs, i));
        let creates = match syscall.class {
            Class::Open => flags.is_none_or(sc::creates),
            _ => false,
        };
        let shown: Vec<String> = files.iter().map(|f| self.show(f)).collect();
        let mut parts = shown.clone();
        if let Some(flags) = flags {
            parts.push(sc::describe_open_flags(flags));
        }
        if let Some(count) = count {
            parts.push(format!("{count} bytes"));
        }
        if let Some(extra) = lock_args(syscall, regs) {
            parts.push(extra);
        }
        Some(Point {
            ordinal: self.points.len(),
            syscall,
            text: format!("{}({})", syscall.name, parts.join(", ")),
            files: shown,
            count,
            creates,
        })
    }

    /// A path as shown in reports: relative to the run directory when inside it.
    fn show(&self, path: &Path) -> String {
        match path.strip_prefix(&self.scope.dir) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => rel.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }
}

/// A ptrace call on a tracee that may have been killed meanwhile: ESRCH is
/// not an error, its exit is reported next.
fn resume(r: nix::Result<()>) -> Result<(), TraceError> {
    match r {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn lock_args(syscall: &Syscall, regs: &RawRegs) -> Option<String> {
    let op = sc::arg(regs, 1);
    match syscall.name {
        "flock" => {
            let mut s = match op & !(libc::LOCK_NB as u64) {
                o if o == libc::LOCK_EX as u64 => "LOCK_EX".to_string(),
                o if o == libc::LOCK_SH as u64 => "LOCK_SH".to_string(),
                o if o == libc::LOCK_UN as u64 => "LOCK_UN".to_string(),
                o => format!("{o}"),
            };
            if op & libc::LOCK_NB as u64 != 0 {
                s.push_str("|LOCK_NB");
            }
            Some(s)
        }
        sc::FCNTL => Some(
            match op as i32 {
                libc::F_SETLK => "F_SETLK",
                libc::F_SETLKW => "F_SETLKW",
                libc::F_OFD_SETLK => "F_OFD_SETLK",
                _ => "F_OFD_SETLKW",
            }
            .to_string(),
        ),
        _ => None,
    }
}

fn write_count(tid: i32, regs: &RawRegs, count: Count) -> u64 {
    match count {
        Count::Bytes(i) => sc::arg(regs, i),
        Count::Iovec(iov, cnt) => iovecs(tid, regs, iov, cnt).iter().map(|v| v.1).sum(),
    }
}

/// Halves a write: a plain write's count is halved; a vectored write becomes
/// a plain write of the first half (at most its first non-empty buffer), so
/// the tracee's memory is never touched.
fn shorten(tid: i32, point: &Point, regs: &mut RawRegs) {
    let half = point.count.unwrap_or(0) / 2;
    match point.syscall.count {
        Some(Count::Bytes(i)) => sc::set_arg(regs, i, half),
        Some(Count::Iovec(iov, cnt)) => {
            let Some(&(base, len)) = iovecs(tid, regs, iov, cnt).iter().find(|v| v.1 > 0) else {
                return;
            };
            let positioned =
                sc::PWRITEV.contains(&point.syscall.nr) && sc::arg(regs, 3) != u64::MAX;
            sc::set_nr(regs, if positioned { sc::PWRITE64 } else { sc::WRITE });
            sc::set_arg(regs, 1, base);
            sc::set_arg(regs, 2, len.min(half));
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where each syscall test of `prog` jumps when it matches.
    fn match_targets(prog: &[libc::sock_filter]) -> Vec<usize> {
        (4..prog.len() - 2)
            .map(|at| at + 1 + usize::from(prog[at].jt))
            .collect()
    }

    #[test]
    fn a_table_past_255_syscalls_is_refused_not_wrapped() {
        let nrs: Vec<u32> = (0..300).collect();
        let err = trace_filter(sc::AUDIT_ARCH, &nrs).unwrap_err();
        assert_eq!(err.0, 300);
        assert!(err.to_string().contains("at most 255"), "{err}");
        assert!(trace_filter(sc::AUDIT_ARCH, &nrs[..256]).is_err());
        let widest = trace_filter(sc::AUDIT_ARCH, &nrs[..255]).unwrap();
        let trace = widest.len() - 1;
        assert!(match_targets(&widest).iter().all(|&t| t == trace));
    }

    #[test]
    fn the_real_filter_traces_the_table_and_is_well_within_reach() {
        assert!(sc::TABLE.len() * 2 <= MAX_TRACED, "{}", sc::TABLE.len());
        let prog = seccomp_filter(&[]).unwrap();
        assert_eq!(prog.len(), sc::TABLE.len() + 6);
        let (allow, trace) = (prog.len() - 2, prog.len() - 1);
        assert_eq!(prog[allow].k, SECCOMP_RET_ALLOW);
        assert_eq!(prog[trace].k, SECCOMP_RET_TRACE);
        assert!(match_targets(&prog).iter().all(|&t| t == trace));
        let tested: Vec<u64> = prog[4..allow].iter().map(|i| u64::from(i.k)).collect();
        let table: Vec<u64> = sc::TABLE.iter().map(|s| s.nr).collect();
        assert_eq!(tested, table);
    }

    #[test]
    fn the_recording_filter_is_the_table_then_the_watched_syscalls() {
        let prog = seccomp_filter(sc::WATCH).unwrap();
        assert!(prog.len() - 6 <= MAX_TRACED);
        let (allow, trace) = (prog.len() - 2, prog.len() - 1);
        assert_eq!(prog[allow].k, SECCOMP_RET_ALLOW);
        assert_eq!(prog[trace].k, SECCOMP_RET_TRACE);
        assert!(match_targets(&prog).iter().all(|&t| t == trace));
        let tested: Vec<u64> = prog[4..allow].iter().map(|i| u64::from(i.k)).collect();
        let mut want: Vec<u64> = sc::TABLE.iter().map(|s| s.nr).collect();
        want.extend_from_slice(sc::WATCH);
        assert_eq!(tested, want);
    }
}
