//! Starting, watching and stopping child processes.
//!
//! Every child is the leader of its own process group, so a kill reaches
//! whatever it started, and asks the kernel to SIGKILL it if the supervisor
//! dies. Children are always spawned from the supervisor's main thread: the
//! parent-death signal fires when the *thread* that forked exits.
//!
//! Grandchildren (what an outside program's shell starts) do not inherit the
//! parent-death signal, so every group is also registered with the
//! [`Watchdog`] (see [`watchdog`]), a small process that SIGKILLs the
//! registered groups when the supervisor's end of its pipe closes, however
//! the supervisor died. Given a run's token (see [`reaper`]) it also
//! kills every process tagged with it, which finds those that left their
//! group.
//!
//! Every child spawned here is recorded until it is reaped
//! ([`spawned_children`]): the supervisor, a subreaper, tells its own
//! children from orphans reparented to it that way, and reaps only orphans.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Mutex, RwLock};

use nix::sys::signal::Signal;

pub mod reaper;
pub mod watchdog;

use crate::platform::{self, SignalTarget};
pub use watchdog::{WATCHDOG_SUBCOMMAND, Watchdog, watchdog_main};

/// The children spawned here and not reaped yet.
static SPAWNED: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Held (shared) by each spawn until its child is in [`SPAWNED`], and
/// (exclusive) by [`spawned_children`]: a child cannot be caught between
/// existing and being recorded. Shared, so spawner threads still run in
/// parallel.
static SPAWNING: RwLock<()> = RwLock::new(());

/// Spawns `cmd` and records the child until [`reaped`].
pub(crate) fn spawn_recorded(cmd: &mut Command) -> io::Result<Child> {
    let _spawning = SPAWNING.read().unwrap_or_else(|e| e.into_inner());
    let child = cmd.spawn()?;
    lock(&SPAWNED).push(child.id() as i32);
    Ok(child)
}

/// Reaps `child` and forgets it.
pub(crate) fn reaped(child: &mut Child) -> io::Result<ExitStatus> {
    let status = child.wait();
    let pid = child.id() as i32;
    lock(&SPAWNED).retain(|&p| p != pid);
    status
}

/// The pids of the children spawned here and not yet reaped, once every
/// spawn under way has recorded its child: a child of this process missing
/// from a set taken *after* it was seen is an orphan reparented to it.
pub fn spawned_children() -> HashSet<i32> {
    let _no_spawn = SPAWNING.write().unwrap_or_else(|e| e.into_inner());
    lock(&SPAWNED).iter().copied().collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running child process, leader of its own process group.
#[derive(Debug)]
pub struct ChildProcess {
    child: Child,
    pid: i32,
}

impl ChildProcess {
    /// Starts `cmd` in its own process group with the parent-death signal.
    /// The caller sets up its stdio.
    pub fn spawn(mut cmd: Command) -> io::Result<Self> {
        let parent = platform::current_pid();
        cmd.process_group(0);
        // SAFETY: both calls are async-signal-safe. The stop signal stays
        // blocked through exec until a built-in child installs its handler.
        unsafe {
            cmd.pre_exec(move || {
                platform::die_with_parent(parent)?;
                platform::block_signal(Signal::SIGUSR1, true)
            })
        };
        let child = spawn_recorded(&mut cmd)?;
        let pid = child.id() as i32;
        Ok(ChildProcess { child, pid })
    }

    /// Starts `cmd` in its own process group, without the parent-death
    /// signal: with nothing to run between fork and exec, the standard
    /// library uses `posix_spawn`, several times cheaper than fork + exec.
    /// For an outside program's short-lived commands, where spawning is the
    /// harness's main cost; the [`Watchdog`] covers them instead.
    pub fn spawn_fast(mut cmd: Command) -> io::Result<Self> {
        cmd.process_group(0);
        let child = spawn_recorded(&mut cmd)?;
        let pid = child.id() as i32;
        Ok(ChildProcess { child, pid })
    }

    /// Starts `program args...` with stdout piped, stdin and stderr null.
    pub fn spawn_piped(program: &Path, args: &[OsString]) -> io::Result<(Self, ChildStdout)> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = Self::spawn(cmd)?;
        let stdout = child.child.stdout.take().expect("stdout is piped");
        Ok((child, stdout))
    }

    /// The child's pid, which is also its process group id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Sends `signal` to the whole process group.
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        SignalTarget::Group(self.pid).send(signal)
    }

    /// Kills what is left of the group, then reaps the leader.
    ///
    /// Call it once the leader has exited (or been killed): while the leader
    /// is an unreaped zombie its pid, and so the group id, cannot be reused,
    /// so the group kill cannot hit a stranger.
    pub fn finish(mut self) -> io::Result<ExitStatus> {
        let _ = SignalTarget::Group(self.pid).send(Signal::SIGKILL);
        reaped(&mut self.child)
    }

    /// Kills what is left of the group, without reaping the leader.
    pub fn kill_group(&self) {
        let _ = SignalTarget::Group(self.pid).send(Signal::SIGKILL);
    }

    /// Reaps the leader without touching the rest of its group.
    pub fn wait(mut self) -> io::Result<ExitStatus> {
        reaped(&mut self.child)
    }
}

/// Runs `cmd` to its end as the leader of its own process group, with the
/// parent-death signal, the group registered with `watchdog` while it
/// runs: if `torture` dies meanwhile, nothing it started is left running.
/// Stdin and stdout are null; returns the exit status and what it wrote
/// on stderr. For the short system commands torture runs on the user's
/// behalf (mkfs, mount), which must not outlive a SIGKILLed `torture`.
///
/// The parent-death signal fires when the calling *thread* exits, which
/// cannot happen before this returns.
pub fn run_guarded(cmd: Command, watchdog: &Watchdog) -> io::Result<(ExitStatus, String)> {
    use std::io::Read;
    let mut cmd = cmd;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = ChildProcess::spawn(cmd)?;
    watchdog.watch(child.pid);
    let mut stderr = Vec::new();
    if let Some(mut pipe) = child.child.stderr.take() {
        let _ = pipe.read_to_end(&mut stderr);
    }
    // The leader stays an unreaped zombie until the group is forgotten:
    // its group id cannot be reused under the watchdog's feet.
    let _ = wait_exited(child.pid);
    child.kill_group();
    watchdog.forget(child.pid);
    let status = child.wait()?;
    Ok((status, String::from_utf8_lossy(&stderr).into_owned()))
}

/// Blocks until process `pid` (a child of this process) has exited, without
/// reaping it. Meant for a watcher thread; the main thread reaps.
pub fn wait_exited(pid: i32) -> io::Result<()> {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    use nix::unistd::Pid;
    loop {
        match waitid(
            Id::Pid(Pid::from_raw(pid)),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
        ) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(io::Error::from(e)),
        }
    }
}
