//! Systematic fault injection at syscall boundaries (`torture explore`).
//!
//! Random SIGKILLs find a bug only when a kill happens to land in its
//! window. This module enumerates every file-system syscall of one operation
//! under `ptrace` and puts a fault at each one, deterministically: a kill at
//! the syscall's entry, an injected error (`EIO`, `ENOSPC`, `EDQUOT`,
//! `EINTR`), or a halved write. After each faulted operation the state is
//! checked, and an ordinary operation must still succeed.
//!
//! - [`syscalls`]: the syscall table and register layout of one
//!   architecture, the only architecture-specific part;
//! - [`tracer`]: spawns a command under `ptrace` (with a seccomp filter so
//!   only the file-system syscalls stop), records its fault points and
//!   injects one fault;
//! - [`explore`](mod@explore): the exploration itself, its checks and its verdicts;
//! - [`report`]: the `torture/explore/v1` JSON contract and the table;
//! - [`precise`]: `--kill-at syscall`, the random runner's kills landed at
//!   the entry of a file-system syscall.
//!
//! Every verdict names its tier: a kill is a *process crash*, the others are
//! *I/O errors*. Neither can show a missing fsync: the page cache survives
//! both. Power loss is a later tier.

use std::fmt;

pub mod explore;
pub mod precise;
pub mod report;
pub mod syscalls;
pub mod tracer;

pub use explore::{ExploreConfig, ExploreError, explore};
pub use report::{ExploreExpectation, ExploreReport};

/// A fault put at one syscall boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// SIGKILL of the whole operation at the syscall's entry: it never runs.
    Kill,
    /// The syscall is skipped and returns `EIO`.
    Eio,
    /// The syscall is skipped and returns `ENOSPC`.
    Enospc,
    /// The syscall is skipped and returns `EDQUOT`.
    Edquot,
    /// The syscall is skipped and returns `EINTR`.
    Eintr,
    /// A write-like syscall runs with half its byte count.
    ShortWrite,
}

/// What a fault simulates, named in every verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// The process dies; the kernel and its page cache live on.
    ProcessCrash,
    /// A syscall fails or does less than asked; the process lives on.
    IoError,
}

impl Tier {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Tier::ProcessCrash => "process-crash",
            Tier::IoError => "io-error",
        }
    }
}

impl Fault {
    /// Every fault, in the order reports list them.
    pub const ALL: [Fault; 6] = [
        Fault::Kill,
        Fault::Eio,
        Fault::Enospc,
        Fault::Edquot,
        Fault::Eintr,
        Fault::ShortWrite,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Eio => "eio",
            Fault::Enospc => "enospc",
            Fault::Edquot => "edquot",
            Fault::Eintr => "eintr",
            Fault::ShortWrite => "short-write",
        }
    }

    /// The fault called `name`.
    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The errno an error fault makes the syscall return.
    pub fn errno(self) -> Option<i32> {
        match self {
            Fault::Eio => Some(libc::EIO),
            Fault::Enospc => Some(libc::ENOSPC),
            Fault::Edquot => Some(libc::EDQUOT),
            Fault::Eintr => Some(libc::EINTR),
            Fault::Kill | Fault::ShortWrite => None,
        }
    }

    /// The tier this fault belongs to.
    pub fn tier(self) -> Tier {
        match self {
            Fault::Kill => Tier::ProcessCrash,
            _ => Tier::IoError,
        }
    }

    /// Whether an error this fault injects means the data may not be on disk
    /// (an `EINTR` may be retried; an `EIO` from fsync may not).
    pub fn loses_data(self) -> bool {
        matches!(self, Fault::Eio | Fault::Enospc | Fault::Edquot)
    }

    /// Parses a comma-separated list (`all` for every fault).
    pub fn parse_list(s: &str) -> Result<Vec<Fault>, String> {
        if s.trim() == "all" {
            return Ok(Fault::ALL.to_vec());
        }
        let mut faults = Vec::new();
        for name in s.split(',').map(str::trim) {
            let fault = Fault::from_name(name).ok_or_else(|| {
                let valid: Vec<_> = Fault::ALL.iter().map(|f| f.name()).collect();
                format!("unknown fault {name:?} (valid: {}, all)", valid.join(", "))
            })?;
            if !faults.contains(&fault) {
                faults.push(fault);
            }
        }
        faults.sort();
        Ok(faults)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The violation classes of an exploration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Finding {
    /// The state is unreadable after the faulted operation.
    Torn,
    /// An acknowledged operation is missing: one acknowledged before, or the
    /// faulted one although it exited 0.
    Lost,
    /// The program exited 0 although an fsync-like call failed: it
    /// acknowledged data it could not make durable.
    UnsafeAck,
    /// An ordinary operation after the faulted one failed or hung.
    NoRecovery,
}

impl Finding {
    /// Every class, in report order.
    pub const ALL: [Finding; 4] = [
        Finding::Torn,
        Finding::Lost,
        Finding::UnsafeAck,
        Finding::NoRecovery,
    ];

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Finding::Torn => "torn",
            Finding::Lost => "lost",
            Finding::UnsafeAck => "unsafe_ack",
            Finding::NoRecovery => "no_recovery",
        }
    }

    /// The class called `name`.
    pub fn from_name(name: &str) -> Option<Finding> {
        Finding::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether an exploration can find this class under `fault` at all:
    /// `unsafe_ack` needs an injected error that loses data.
    pub fn possible_under(self, fault: Fault) -> bool {
        match self {
            Finding::UnsafeAck => fault.loses_data(),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_lists_parse() {
        assert_eq!(Fault::parse_list("all").unwrap(), Fault::ALL.to_vec());
        assert_eq!(
            Fault::parse_list("short-write, kill,kill").unwrap(),
            vec![Fault::Kill, Fault::ShortWrite]
        );
        let err = Fault::parse_list("kill,eagain").unwrap_err();
        assert!(
            err.contains("eagain") && err.contains("short-write"),
            "{err}"
        );
    }
}
