//! The power-loss tier (`torture explore --faults power`): the crash states
//! a persistence model allows, built from the recorded syscalls of the
//! workload, as ALICE (OSDI'14) does.
//!
//! - [`log`]: the logical operations and the directory images they apply to;
//! - [`record`]: the recorder, which turns the traced syscalls of a workload
//!   into that log, and checks it against the directory at the end;
//! - [`model`]: the persistence models, which crash states each allows at a
//!   crash point, and the image each state leaves.

pub mod log;
pub mod model;
pub mod record;
