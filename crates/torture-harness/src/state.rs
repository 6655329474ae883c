//! The workload's state document.
//!
//! The document lets the verifier prove both properties exactly while its
//! size stays fixed however long the run:
//!
//! - one counter per writer slot: writer `i` adds one to counter `i` per
//!   operation, so a counter below the slot's acknowledged count is a lost
//!   update, and one above its attempted count is a phantom;
//! - a padding field of `payload` bytes, regenerated from the operation's id
//!   on every write, so writes are large enough to be cut and a mix of two
//!   versions cannot pass the checksum;
//! - a CRC-32 of everything before it, so any torn, truncated or mixed
//!   document is detected.
//!
//! The encoding is four lines of text:
//!
//! ```text
//! torture-state v1 SLOTS PAYLOAD
//! C0 C1 ... C(SLOTS-1)
//! PADDING
//! CRC32-HEX
//! ```

use std::fmt::Write as _;

/// The first word of every document.
const MAGIC: &str = "torture-state v1";

/// The workload's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The counter of each writer slot.
    pub counters: Vec<u64>,
    /// The padding, `payload` bytes of lowercase hexadecimal.
    pub padding: Vec<u8>,
}

impl Document {
    /// A fresh document for `slots` writers and `payload` bytes of padding.
    pub fn new(slots: usize, payload: usize) -> Self {
        Document {
            counters: vec![0; slots],
            padding: padding(0, payload),
        }
    }

    /// Applies operation `seq` of writer `slot`: one more on its counter and
    /// fresh padding.
    pub fn apply(&mut self, slot: usize, seq: u64) -> Result<(), String> {
        let n = self.counters.len();
        let counter = self.counters.get_mut(slot).ok_or_else(|| {
            format!("writer slot {slot} out of range: the document has {n} slots")
        })?;
        *counter += 1;
        let tag = (slot as u64) << 48 ^ seq;
        self.padding = padding(tag, self.padding.len());
        Ok(())
    }

    /// Encodes the document.
    pub fn encode(&self) -> Vec<u8> {
        let mut text = String::with_capacity(self.padding.len() + 21 * self.counters.len() + 64);
        let _ = writeln!(
            text,
            "{MAGIC} {} {}",
            self.counters.len(),
            self.padding.len()
        );
        for (i, c) in self.counters.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let _ = write!(text, "{sep}{c}");
        }
        text.push('\n');
        let mut out = text.into_bytes();
        out.extend_from_slice(&self.padding);
        out.push(b'\n');
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(format!("{crc:08x}\n").as_bytes());
        out
    }

    /// Decodes and validates a document; the error says what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.is_empty() {
            return Err("empty file".into());
        }
        let body_len = checked_body_len(bytes)?;
        let body = std::str::from_utf8(&bytes[..body_len]).map_err(|_| "not UTF-8".to_string())?;
        let mut lines = body.split('\n');
        let header = lines.next().unwrap_or_default();
        let (slots, payload) = parse_header(header)?;
        let counters = parse_counters(lines.next().unwrap_or_default(), slots)?;
        let pad = lines.next().unwrap_or_default();
        if pad.len() != payload {
            return Err(format!(
                "padding has {} bytes, header says {payload}",
                pad.len()
            ));
        }
        Ok(Document {
            counters,
            padding: pad.as_bytes().to_vec(),
        })
    }
}

/// Checks the trailing CRC line and returns the length of the body it covers.
fn checked_body_len(bytes: &[u8]) -> Result<usize, String> {
    let len = bytes.len();
    if len < 10 || bytes[len - 1] != b'\n' || bytes[len - 10] != b'\n' {
        return Err(format!(
            "truncated: {len} bytes and no checksum line at the end"
        ));
    }
    let body_len = len - 9;
    let stored = std::str::from_utf8(&bytes[body_len..len - 1])
        .ok()
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or("checksum line is not hexadecimal")?;
    let actual = crc32fast::hash(&bytes[..body_len]);
    if stored != actual {
        return Err(format!(
            "checksum mismatch: stored {stored:08x}, computed {actual:08x}"
        ));
    }
    Ok(body_len)
}

fn parse_header(line: &str) -> Result<(usize, usize), String> {
    let rest = line.strip_prefix(MAGIC).ok_or("bad magic")?;
    let mut words = rest.split_whitespace().map(str::parse::<usize>);
    match (words.next(), words.next(), words.next()) {
        (Some(Ok(s)), Some(Ok(p)), None) => Ok((s, p)),
        _ => Err(format!("bad header {line:?}")),
    }
}

fn parse_counters(line: &str, slots: usize) -> Result<Vec<u64>, String> {
    let counters: Vec<u64> = line
        .split(' ')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("bad counters line {line:?}"))?;
    if counters.len() != slots {
        return Err(format!("{} counters, header says {slots}", counters.len()));
    }
    Ok(counters)
}

/// `len` bytes of hexadecimal derived from `tag`.
fn padding(tag: u64, len: usize) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut x = tag ^ 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x = crate::seed::splitmix64(x);
        for i in 0..16 {
            if out.len() == len {
                break;
            }
            out.push(HEX[((x >> (i * 4)) & 0xf) as usize]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut d = Document::new(3, 100);
        d.apply(1, 7).unwrap();
        let back = Document::decode(&d.encode()).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.counters, vec![0, 1, 0]);
    }

    #[test]
    fn size_does_not_grow_with_ops() {
        let mut d = Document::new(4, 4096);
        let first = d.encode().len();
        for seq in 0..1000 {
            d.apply((seq % 4) as usize, seq).unwrap();
        }
        // Counters grow by digits only: 4 counters of at most 3 digits more.
        assert!(d.encode().len() <= first + 12);
    }

    #[test]
    fn every_truncation_is_detected() {
        let mut d = Document::new(2, 256);
        d.apply(0, 1).unwrap();
        let bytes = d.encode();
        for cut in 0..bytes.len() {
            assert!(
                Document::decode(&bytes[..cut]).is_err(),
                "cut at {cut} passed"
            );
        }
    }

    #[test]
    fn mixing_two_versions_is_detected() {
        let mut a = Document::new(2, 512);
        a.apply(0, 1).unwrap();
        let mut b = a.clone();
        b.apply(1, 2).unwrap();
        let (ea, eb) = (a.encode(), b.encode());
        for cut in (1..ea.len()).step_by(7) {
            let mut mixed = eb[..cut].to_vec();
            mixed.extend_from_slice(&ea[cut..]);
            if mixed != eb && mixed != ea {
                assert!(Document::decode(&mixed).is_err(), "mix at {cut} passed");
            }
        }
    }

    #[test]
    fn bad_slot_is_an_error() {
        assert!(Document::new(2, 8).apply(2, 0).is_err());
    }
}
