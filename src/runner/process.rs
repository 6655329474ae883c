//! Starting and stopping child processes.
//!
//! Every child is the leader of its own process group, so a kill reaches
//! whatever it started, and asks the kernel to SIGKILL it if the supervisor
//! dies (so no child outlives the run, even when the supervisor is itself
//! SIGKILLed). Children are always spawned from the supervisor's main thread:
//! the parent-death signal fires when the *thread* that forked exits.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use nix::sys::signal::Signal;

use crate::platform::{self, SignalTarget};

/// A running child process.
#[derive(Debug)]
pub struct ChildProcess {
    child: Child,
    pid: i32,
}

impl ChildProcess {
    /// Starts `program args...` in its own process group, stdout piped.
    pub fn spawn(program: &Path, args: &[OsString]) -> io::Result<(Self, ChildStdout)> {
        let parent = platform::current_pid();
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0);
        // SAFETY: both calls are async-signal-safe. The stop signal stays
        // blocked through exec until the child has installed its handler.
        unsafe {
            cmd.pre_exec(move || {
                platform::die_with_parent(parent)?;
                platform::block_signal(Signal::SIGUSR1, true)
            })
        };
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let pid = child.id() as i32;
        Ok((ChildProcess { child, pid }, stdout))
    }

    /// The child's process group (its pid: it leads its own group).
    pub fn group(&self) -> SignalTarget {
        SignalTarget::Group(self.pid)
    }

    /// Sends `signal` to the whole process group.
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        self.group().send(signal)
    }

    /// Waits for the child to exit and describes how it did.
    pub fn wait(mut self) -> io::Result<std::process::ExitStatus> {
        self.child.wait()
    }
}
