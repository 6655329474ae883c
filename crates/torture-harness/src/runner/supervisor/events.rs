//! Events: what the threads watching the children post to the loop, and
//! how the loop dispatches them to the child they come from.

use std::io::{BufRead, BufReader};
use std::sync::mpsc::Sender;
use std::time::Instant;

use crate::report::StopReason;

use crate::process::ChildProcess;
use crate::runner::protocol::Message;
use crate::verifier::Evidence;

use super::Supervisor;
use super::clock::Clock;
use super::driver::Driver;
use super::slot::OpEnd;
use crate::vocab::OpId;
use crate::vocab::ViolationKind;

/// Which of the run's children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Child {
    /// Writer slot N's.
    Writer(usize),
    /// Reader N.
    Reader(usize),
    /// The background check of an outside program's state.
    Check,
}

/// Which child an event comes from: which one, and which of its lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ChildId {
    pub(super) child: Child,
    pub(super) generation: u64,
}

pub(super) enum Event {
    Line(ChildId, Message, Instant),
    Eof(ChildId),
    Spawned(ChildId, Result<ChildProcess, String>, Instant),
    Exited(ChildId, Instant),
}

/// Turns a child's stdout into events, then reports its end. A last line
/// without its newline was cut by a kill and is dropped.
pub(super) fn forward(
    stdout: std::process::ChildStdout,
    id: ChildId,
    tx: Sender<Event>,
    clock: &dyn Clock,
) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line.last() != Some(&b'\n') => break,
            Ok(_) => {}
        }
        let text = std::str::from_utf8(&line[..line.len() - 1]).ok();
        if let Some(msg) = text.and_then(Message::parse)
            && tx.send(Event::Line(id, msg, clock.now())).is_err()
        {
            return;
        }
    }
    let _ = tx.send(Event::Eof(id));
}

impl<D: Driver> Supervisor<'_, D> {
    pub(super) fn handle(&mut self, event: Event) {
        match event {
            Event::Line(id, msg, at) if self.is_current(id) => self.on_message(id, msg, at),
            Event::Eof(id) if self.is_current(id) => D::on_eof(self, id),
            Event::Exited(id, at) if self.is_current(id) => D::on_exited(self, id, at),
            Event::Spawned(id, process, at) if self.is_pending(id) => {
                D::on_spawned(self, id, process, at)
            }
            _ => {}
        }
    }

    pub(super) fn is_pending(&self, id: ChildId) -> bool {
        let Child::Writer(slot) = id.child else {
            return false;
        };
        self.writers[slot]
            .pending
            .is_some_and(|p| p.0 == id.generation)
    }

    pub(super) fn is_current(&self, id: ChildId) -> bool {
        let running = match id.child {
            Child::Check => self.driver.check_process(),
            Child::Writer(slot) => self.writers[slot].running.as_ref(),
            Child::Reader(index) => self.readers[index].as_ref(),
        };
        running.is_some_and(|r| r.generation == id.generation)
    }

    pub(super) fn on_message(&mut self, id: ChildId, msg: Message, at: Instant) {
        // Only built-in writers and readers talk; a reader's messages name
        // it by its index.
        let (Child::Writer(slot) | Child::Reader(slot)) = id.child else {
            return;
        };
        match msg {
            Message::Begin(seq) => self.on_begin(slot, seq, at),
            Message::Ack(seq, took) => self.end_op(slot, seq, at, OpEnd::Acked(took)),
            Message::Fail(seq, error) => self.end_op(slot, seq, at, OpEnd::Failed(error)),
            Message::Torn(seq, why, bytes) => {
                self.end_op(slot, seq, at, OpEnd::Failed("read a torn state".into()));
                let op = OpId::new(slot, seq).to_string();
                let ev = self.evidence(
                    ViolationKind::Torn,
                    format!("writer {slot} reading for {op}"),
                    why,
                    &bytes,
                );
                self.verifier.record(
                    1,
                    Evidence {
                        op: Some(op),
                        writer: Some(slot),
                        ..ev
                    },
                );
                self.begin_stop(StopReason::StateDestroyed);
            }
            Message::Reads(n) => self.out.reads += n,
            Message::Killed(seq, ordinal, syscall) => self.on_landed(slot, seq, ordinal, &syscall),
            Message::Missed(_) => self.out.kills_missed += 1,
            Message::Points(_, n) => self.coverage.observe(n),
            Message::Position(p) => {
                if let (Some(d), Child::Writer(_)) = (self.disk.as_mut(), id.child) {
                    d.report(slot, p);
                }
            }
            Message::TornRead(why, bytes) => {
                let ev = self.evidence(
                    ViolationKind::TornReads,
                    format!("reader {slot}"),
                    why,
                    &bytes,
                );
                self.verifier.record(1, ev);
            }
        }
    }
}
