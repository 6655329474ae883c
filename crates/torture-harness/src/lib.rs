//! `torture-harness`: the crash-consistency harness behind the `torture`
//! binary.
//!
//! It proves storage disciplines by breaking their writers: a
//! [zoo](strategy) of correct and broken strategies (the [`crashsafe`]
//! crate's disciplines among them), a multiprocess [runner] that
//! SIGKILLs writers mid-operation, systematic [fault] injection at every
//! system call, a [verifier] that turns what was acknowledged and what is on
//! disk into a verdict, [reports](report) and [scenario] files,
//! [fscompare], which runs the zoo on several file systems, and on top of
//! them all the [exporters](export) that write every result as JSON, JUnit
//! or Markdown. The command line that drives it lives in the `torture`
//! binary.

#![warn(missing_docs)]

pub mod config;
pub mod copy;
pub mod disk;
pub mod duration;
pub mod error;
pub mod exit;
pub mod export;
pub mod fault;
pub mod fscompare;
pub mod hex;
pub mod invocation;
pub mod output;
pub mod owned;
pub mod paths;
pub mod platform;
pub mod process;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod seed;
pub mod shell;
pub mod state;
pub mod strategy;
pub mod term;
pub mod verifier;
pub mod vocab;

pub use error::Error;
