//! The line protocol from children to the supervisor, over each child's
//! stdout pipe. One message is one line written with one `write(2)`, so a
//! message is either received whole or, when the child is killed while
//! writing it, not at all (a partial last line is ignored).

use std::time::Duration;

use crate::vocab::Seq;

/// A message from a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A writer begins operation `seq`.
    Begin(Seq),
    /// Operation `seq` was acknowledged after `took` (measured by the writer).
    Ack(Seq, Duration),
    /// Operation `seq` failed with an error.
    Fail(Seq, String),
    /// Operation `seq` read a state that does not decode.
    Torn(Seq, String, Vec<u8>),
    /// A reader completed this many valid reads since its last report.
    Reads(u64),
    /// A reader read a state that does not decode.
    TornRead(String, Vec<u8>),
    /// `--kill-at syscall`: the tracer killed operation `seq` at the entry
    /// of the fault point with this ordinal, this syscall.
    Killed(Seq, usize, String),
    /// `--kill-at syscall`: operation `seq` ended before its planned point.
    Missed(Seq),
    /// `--kill-at syscall`: operation `seq` ended having reached this many
    /// fault points.
    Points(Seq, u64),
    /// `--power-loss`: the recording disk's log position, read by a writer
    /// right before its `Begin` (nothing of the operation can be in the log
    /// before it) and right after its update returned, before the `Ack`
    /// (everything the operation waited for is in the log before it).
    Position(u64),
}

impl Message {
    /// Encodes the message as one line, newline included.
    pub fn encode(&self) -> String {
        let line = match self {
            Message::Begin(s) => format!("B {s}"),
            Message::Ack(s, d) => format!("A {s} {}", d.as_micros()),
            Message::Fail(s, e) => format!("F {s} {}", one_line(e)),
            Message::Torn(s, why, b) => {
                format!("T {s} {}\t{}", crate::hex::encode(b), one_line(why))
            }
            Message::Reads(n) => format!("R {n}"),
            Message::TornRead(why, b) => {
                format!("X {}\t{}", crate::hex::encode(b), one_line(why))
            }
            Message::Killed(s, ord, at) => format!("K {s} {ord} {}", one_line(at)),
            Message::Missed(s) => format!("M {s}"),
            Message::Points(s, n) => format!("P {s} {n}"),
            Message::Position(p) => format!("D {p}"),
        };
        line + "\n"
    }

    /// Parses one line (without its newline); `None` for anything malformed.
    pub fn parse(line: &str) -> Option<Message> {
        let (tag, rest) = line.split_once(' ')?;
        let seq_and = |rest: &str| -> Option<(Seq, String)> {
            let (s, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            Some((s.parse().ok()?, tail.to_string()))
        };
        let hex_and = |rest: &str| -> Option<(Vec<u8>, String)> {
            let (h, why) = rest.split_once('\t')?;
            Some((crate::hex::decode(h)?, why.to_string()))
        };
        match tag {
            "B" => Some(Message::Begin(rest.parse().ok()?)),
            "A" => {
                let (s, us) = seq_and(rest)?;
                Some(Message::Ack(s, Duration::from_micros(us.parse().ok()?)))
            }
            "F" => seq_and(rest).map(|(s, e)| Message::Fail(s, e)),
            "T" => {
                let (s, tail) = seq_and(rest)?;
                let (bytes, why) = hex_and(&tail)?;
                Some(Message::Torn(s, why, bytes))
            }
            "R" => Some(Message::Reads(rest.parse().ok()?)),
            "X" => hex_and(rest).map(|(b, why)| Message::TornRead(why, b)),
            "K" => {
                let (s, tail) = seq_and(rest)?;
                let (ord, at) = tail.split_once(' ').unwrap_or((&tail, ""));
                Some(Message::Killed(s, ord.parse().ok()?, at.to_string()))
            }
            "M" => Some(Message::Missed(rest.parse().ok()?)),
            "P" => {
                let (s, n) = seq_and(rest)?;
                Some(Message::Points(s, n.parse().ok()?))
            }
            "D" => Some(Message::Position(rest.parse().ok()?)),
            _ => None,
        }
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\t'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let msgs = [
            Message::Begin(3),
            Message::Ack(3, Duration::from_micros(1234)),
            Message::Fail(4, "lock timed out".into()),
            Message::Torn(5, "checksum mismatch".into(), b"\x00ab\n".to_vec()),
            Message::Reads(17),
            Message::TornRead("empty file".into(), vec![]),
            Message::Killed(6, 4, "fsync(.state.tmp-x)".into()),
            Message::Missed(7),
            Message::Points(8, 12),
            Message::Position(123_456),
        ];
        for m in msgs {
            let line = m.encode();
            assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
            assert_eq!(Message::parse(line.trim_end_matches('\n')), Some(m));
        }
    }

    #[test]
    fn partial_lines_are_ignored() {
        assert_eq!(Message::parse("A 3"), None);
        assert_eq!(Message::parse("T 5 00a"), None);
        assert_eq!(Message::parse("Q 1"), None);
        assert_eq!(Message::parse("D 12x"), None);
    }
}
