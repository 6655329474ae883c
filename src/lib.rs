//! `torture`: crash-consistency torture for code that keeps state in files.
//!
//! The library has two halves.
//!
//! **The reference disciplines**, for application code, live in the
//! [`crashsafe`] crate and are re-exported here: [`write_file_atomic`],
//! [`StateLock`], [`update()`], [`sweep`] and [`CasStore`].
//!
//! **The harness** that proves them: a [zoo](strategy) of correct and broken
//! strategies, a multiprocess [runner] that SIGKILLs writers mid-operation,
//! a [verifier] that turns what was acknowledged and what is on disk into a
//! verdict, and [reports](report).

#![warn(missing_docs)]

pub mod cli;
pub mod duration;
pub mod exit;
pub mod fault;
pub mod fscompare;
pub mod output;
pub mod owned;
pub mod paths;
pub mod platform;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod seed;
pub mod state;
pub mod strategy;
pub mod verifier;

#[cfg(test)]
mod testutil;

pub use crashsafe::{
    CasStore, Error, IoContext, Result, StateLock, Step, atomic, cas, lock, read, sweep, sys,
    update, update_timeout, write_file_atomic,
};

/// The disciplines' error types, under the path the harness uses.
mod error {
    pub use crashsafe::{Error, IoContext, Result, Step};
}
