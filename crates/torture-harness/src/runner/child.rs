//! The children: writer and reader processes, started by the supervisor by
//! re-executing the `torture` binary with the hidden `__child` subcommand.
//!
//! A writer loops: announce `Begin`, run one update through the strategy,
//! report `Ack`, `Fail` or `Torn`. A reader loops: read through the strategy's
//! read path, validate, and report counts and invalid reads. Both stop after
//! the operation in flight when they receive SIGUSR1; a writer also stops at
//! its quota of operations (`--ops`).

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::protocol::Message;
use crate::platform;
use crate::state::Document;
use crate::strategy::{self, Strategy};
use crate::vocab::Seq;

/// How often a reader reports its count of valid reads.
const READ_REPORT_EVERY: Duration = Duration::from_millis(100);

/// The name of the hidden subcommand.
pub const SUBCOMMAND: &str = "__child";

/// What a child is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Applies updates.
    Writer,
    /// Reads and validates.
    Reader,
}

/// Everything a child needs, passed on its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSpec {
    /// Writer or reader.
    pub role: Role,
    /// The strategy's name.
    pub strategy: String,
    /// The state file.
    pub state: PathBuf,
    /// The writer slot (readers: their index).
    pub slot: usize,
    /// The sequence number of the writer's next operation.
    pub first_seq: Seq,
    /// The writer stops before this sequence number (`Seq::MAX`: never).
    pub end_seq: Seq,
    /// `--power-loss`: the recording disk's position file, which a writer
    /// reads around each operation and reports ([`Message::Position`]).
    pub position: Option<PathBuf>,
}

impl ChildSpec {
    /// The arguments after the subcommand.
    pub fn to_args(&self) -> Vec<OsString> {
        let role = match self.role {
            Role::Writer => "writer",
            Role::Reader => "reader",
        };
        let mut args: Vec<OsString> = vec![
            role.into(),
            self.strategy.clone().into(),
            self.state.clone().into(),
            self.slot.to_string().into(),
            self.first_seq.to_string().into(),
            self.end_seq.to_string().into(),
        ];
        args.extend(self.position.clone().map(OsString::from));
        args
    }

    /// Parses what [`ChildSpec::to_args`] produced.
    pub fn from_args(args: &[OsString]) -> Option<Self> {
        let (position, args) = match args {
            [rest @ .., position] if rest.len() == 6 => (Some(PathBuf::from(position)), rest),
            _ => (None, args),
        };
        let [role, strategy, state, slot, first_seq, end_seq] = args else {
            return None;
        };
        let role = match role.to_str()? {
            "writer" => Role::Writer,
            "reader" => Role::Reader,
            _ => return None,
        };
        Some(ChildSpec {
            role,
            strategy: strategy.to_str()?.to_string(),
            state: PathBuf::from(state),
            slot: slot.to_str()?.parse().ok()?,
            first_seq: first_seq.to_str()?.parse().ok()?,
            end_seq: end_seq.to_str()?.parse().ok()?,
            position,
        })
    }
}

/// Runs a child to completion. Returns the process exit code.
pub fn main(args: &[OsString]) -> i32 {
    let Some(spec) = ChildSpec::from_args(args) else {
        eprintln!("torture: {SUBCOMMAND} is internal to the supervisor");
        return crate::exit::BAD_INPUT;
    };
    let Some(strategy) = strategy::by_name(&spec.strategy) else {
        eprintln!("torture: unknown strategy {}", spec.strategy);
        return crate::exit::BAD_INPUT;
    };
    let installed = platform::stop_on(&[Signal::SIGUSR1])
        .and_then(|()| platform::block_signal(Signal::SIGUSR1, false));
    if let Err(e) = installed {
        eprintln!("torture: cannot install signal handler: {e}");
        return crate::exit::BAD_INPUT;
    }
    let result = match spec.role {
        Role::Writer => writer(strategy, &spec),
        Role::Reader => reader(strategy, &spec),
    };
    // A closed pipe means the supervisor is gone: nothing left to report to.
    match result {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

fn send(out: &mut impl Write, msg: &Message) -> io::Result<()> {
    out.write_all(msg.encode().as_bytes())
}

fn writer(strategy: &dyn Strategy, spec: &ChildSpec) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let mut seq = spec.first_seq;
    let position = match &spec.position {
        Some(path) => Some(std::fs::File::open(path)?),
        None => None,
    };
    let report_position = |out: &mut io::StdoutLock<'_>| -> io::Result<()> {
        match &position {
            Some(file) => send(out, &Message::Position(read_position(file)?)),
            None => Ok(()),
        }
    };
    while !platform::stop_requested() && seq < spec.end_seq {
        report_position(&mut out)?;
        send(&mut out, &Message::Begin(seq))?;
        let msg = apply_one(strategy, &spec.state, spec.slot, seq);
        if matches!(msg, Message::Ack(..)) {
            report_position(&mut out)?;
        }
        send(&mut out, &msg)?;
        seq += 1;
    }
    Ok(())
}

/// The recording disk's log position now: the decimal number its position
/// file holds, read afresh (the file is served with direct I/O).
fn read_position(file: &std::fs::File) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let mut buf = [0u8; 32];
    let n = file.read_at(&mut buf, 0)?;
    std::str::from_utf8(&buf[..n])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| io::Error::other("the disk's position file holds no number"))
}

/// Runs operation `seq` of writer `slot` through the strategy and says how
/// it ended: `Ack`, `Fail`, or `Torn` if the state it read was undecodable.
pub fn apply_one(
    strategy: &dyn Strategy,
    state: &std::path::Path,
    slot: usize,
    seq: Seq,
) -> Message {
    let start = Instant::now();
    let mut torn: Option<(String, Vec<u8>)> = None;
    let result = strategy.update(state, &mut |cur| {
        let bad = |why: String, bytes: &[u8]| (why, bytes.to_vec());
        let mut doc = match cur.map(Document::decode) {
            Some(Ok(doc)) => doc,
            Some(Err(why)) => {
                torn = Some(bad(why, cur.unwrap_or_default()));
                return Err(crashsafe::Error::Rejected("torn state".into()));
            }
            None => {
                torn = Some(bad("the state file is missing".into(), &[]));
                return Err(crashsafe::Error::Rejected("missing state".into()));
            }
        };
        doc.apply(slot, seq).map_err(crashsafe::Error::Rejected)?;
        Ok(doc.encode())
    });
    match (result, torn) {
        (_, Some((why, bytes))) => Message::Torn(seq, why, bytes),
        (Ok(()), None) => Message::Ack(seq, start.elapsed()),
        (Err(e), None) => Message::Fail(seq, e.to_string()),
    }
}

/// The name of the hidden subcommand that runs one operation (`explore`).
pub const OP_SUBCOMMAND: &str = "__op";

/// Exit code of [`op_main`] when the operation read an undecodable state.
pub const OP_SAW_TORN: i32 = 3;

/// Runs one operation of a built-in strategy: `__op STRATEGY STATE SLOT SEQ`.
/// Exits 0 when it is acknowledged, 1 when it failed, [`OP_SAW_TORN`] when
/// the state it read was torn; the error goes to stderr.
pub fn op_main(args: &[OsString]) -> i32 {
    let parsed = match args {
        [strategy, state, slot, seq] => strategy
            .to_str()
            .and_then(strategy::by_name)
            .zip(slot.to_str().and_then(|s| s.parse::<usize>().ok()))
            .zip(seq.to_str().and_then(|s| s.parse::<Seq>().ok()))
            .map(|((st, slot), seq)| (st, PathBuf::from(state), slot, seq)),
        _ => None,
    };
    let Some((strategy, state, slot, seq)) = parsed else {
        eprintln!("torture: {OP_SUBCOMMAND} takes STRATEGY STATE SLOT SEQ");
        return crate::exit::BAD_INPUT;
    };
    match apply_one(strategy, &state, slot, seq) {
        Message::Ack(..) => 0,
        Message::Torn(_, why, _) => {
            eprintln!("torture: the state is torn: {why}");
            OP_SAW_TORN
        }
        Message::Fail(_, e) => {
            eprintln!("torture: {e}");
            1
        }
        _ => 1,
    }
}

fn reader(strategy: &dyn Strategy, spec: &ChildSpec) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let mut valid = 0u64;
    let mut last_report = Instant::now();
    while !platform::stop_requested() {
        let problem = match strategy.read(&spec.state) {
            Ok(Some(bytes)) => Document::decode(&bytes).err().map(|why| (why, bytes)),
            Ok(None) => Some(("the state file is missing".to_string(), Vec::new())),
            Err(e) => Some((e.to_string(), Vec::new())),
        };
        match problem {
            None => valid += 1,
            Some((why, bytes)) => send(&mut out, &Message::TornRead(why, bytes))?,
        }
        if last_report.elapsed() >= READ_REPORT_EVERY {
            send(&mut out, &Message::Reads(valid))?;
            valid = 0;
            last_report = Instant::now();
        }
    }
    send(&mut out, &Message::Reads(valid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_round_trips() {
        let spec = ChildSpec {
            role: Role::Writer,
            strategy: "naive".into(),
            state: "/tmp/x/state".into(),
            slot: 3,
            first_seq: 99,
            end_seq: 120,
            position: None,
        };
        assert_eq!(ChildSpec::from_args(&spec.to_args()), Some(spec.clone()));
        let spec = ChildSpec {
            position: Some("/tmp/p/fuse/position".into()),
            ..spec
        };
        assert_eq!(ChildSpec::from_args(&spec.to_args()), Some(spec));
    }
}
