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
//! - [`tracee`]: reads a stopped tracee's memory, paths and operands;
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

pub mod explore;
pub mod power;
pub mod precise;
pub mod report;
pub mod syscalls;
pub mod tracee;
pub mod tracer;

pub use explore::explore;
pub use report::ExploreReport;
