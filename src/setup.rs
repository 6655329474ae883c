//! What a command that runs something sets up first: the executable its
//! children re-run, and a stop at the next step on SIGINT or SIGTERM.

use std::path::PathBuf;

use torture_harness::Error;

/// This program's own executable, which children re-run.
pub fn program() -> Result<PathBuf, Error> {
    torture_harness::platform::self_exe()
        .map_err(|e| Error::harness(format!("cannot find my own executable: {e}")))
}

/// Asks for SIGINT and SIGTERM to stop the command at its next step.
pub fn stop_on_signals() -> Result<(), Error> {
    use nix::sys::signal::Signal;
    torture_harness::platform::stop_on(&[Signal::SIGINT, Signal::SIGTERM])
        .map_err(|e| Error::harness(format!("cannot install signal handlers: {e}")))
}
