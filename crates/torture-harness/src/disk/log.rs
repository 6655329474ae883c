//! The block-level write log of a recording disk, and the crash images
//! built from it.
//!
//! The log is a sequence of entries: a write of bytes at an offset, a
//! zeroed range (discard, write-zeroes), or a flush (a cache flush reached
//! the disk). Entry `i` has sequence number `i`; *position* `p` means
//! entries `0..p` have happened. Payloads are appended to a scratch file
//! (`log.data`), never kept in memory; an index per 4 KiB block lists the
//! pieces of entries that touch it, in log order, so a sub-block write
//! covers only its bytes and a whole-block write hides everything before
//! it.
//!
//! A [`ViewSpec`] chooses which entries a crash image applies: every entry
//! before a durable end, plus a chosen set of later ones (`kept`). Each
//! block of the image is the base image's (the disk as mkfs left it)
//! overlaid with every applicable piece in log order, a zero entry zeroing
//! its range. The live disk is the view that applies every entry. A
//! [`CrashView`] adds a private overlay for what the file system writes
//! into its image (journal recovery on mount, a check that writes), so
//! neither the log, nor the base, nor another view ever changes.
//!
//! Pure: no mount, no FUSE; the unit tests build logs by hand.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use serde::Serialize;

/// The block size of the index and of the overlays: file systems here
/// write whole 4 KiB blocks, or 512-byte sectors inside them.
pub const BLOCK: u64 = 4096;

/// What one entry of the log is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// Bytes written at an offset.
    Write,
    /// A range zeroed (discard or write-zeroes).
    Zero,
    /// A cache flush: every entry before it is durable.
    Flush,
}

/// One entry of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// `len` bytes at `off`, their payload at `data_off` in `log.data`.
    Write {
        /// The offset on the disk.
        off: u64,
        /// The length in bytes.
        len: u32,
        /// Where the payload starts in the data file.
        data_off: u64,
    },
    /// `len` bytes at `off` zeroed.
    Zero {
        /// The offset on the disk.
        off: u64,
        /// The length in bytes.
        len: u64,
    },
    /// A cache flush.
    Flush,
}

impl Entry {
    /// Its kind.
    pub fn kind(&self) -> EntryKind {
        match self {
            Entry::Write { .. } => EntryKind::Write,
            Entry::Zero { .. } => EntryKind::Zero,
            Entry::Flush => EntryKind::Flush,
        }
    }
}

/// What a log holds, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogStats {
    /// Write entries.
    pub writes: u64,
    /// Flush entries.
    pub flushes: u64,
    /// Zero entries (discard, write-zeroes).
    pub zeroes: u64,
    /// Bytes written (the payloads).
    pub bytes: u64,
}

/// Why an entry could not be recorded or a view not written. Recording
/// fails whole: nothing of a failed entry is in the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The range is not inside the disk.
    #[error("{len} bytes at {off} are beyond the end of the disk ({size} bytes)")]
    OutOfRange {
        /// The offset asked for.
        off: u64,
        /// The length asked for.
        len: u64,
        /// The disk's size.
        size: u64,
    },
    /// The log has as many entries as sequence numbers can count.
    #[error("the log is full ({} entries)", u32::MAX)]
    Full,
    /// A view's overlay reached its cap.
    #[error("the crash image's overlay is full ({0} bytes)")]
    OverlayFull(u64),
    /// The data file or the base image failed.
    #[error("{step}: {source}")]
    Io {
        /// What was being done.
        step: &'static str,
        /// The error.
        source: io::Error,
    },
}

impl LogError {
    fn io(step: &'static str) -> impl FnOnce(io::Error) -> LogError {
        move |source| LogError::Io { step, source }
    }
}

/// The part of one entry that falls in one block.
#[derive(Debug, Clone, Copy)]
struct Piece {
    entry: u32,
    /// Offset inside the block.
    start: u16,
    /// Length, 1 to 4096.
    len: u16,
}

impl Piece {
    fn is_full(&self) -> bool {
        u64::from(self.len) == BLOCK
    }
}

/// Which entries a crash image applies: those before `durable_end`, and
/// those listed in `kept`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewSpec {
    durable_end: u64,
    kept: Vec<u64>,
}

impl ViewSpec {
    /// Entries `0..durable_end`, plus `kept` (in any order, repeats
    /// ignored).
    pub fn new(durable_end: u64, kept: &[u64]) -> ViewSpec {
        let mut kept: Vec<u64> = kept.iter().copied().filter(|&k| k >= durable_end).collect();
        kept.sort_unstable();
        kept.dedup();
        ViewSpec { durable_end, kept }
    }

    /// Every entry, however many there will be: the live disk.
    pub fn live() -> ViewSpec {
        ViewSpec {
            durable_end: u64::MAX,
            kept: Vec::new(),
        }
    }

    /// The durable end.
    pub fn durable_end(&self) -> u64 {
        self.durable_end
    }

    /// The kept entries at or after the durable end, ascending.
    pub fn kept(&self) -> &[u64] {
        &self.kept
    }

    /// Whether entry `seq` is in the image.
    pub fn applies(&self, seq: u64) -> bool {
        seq < self.durable_end || self.kept.binary_search(&seq).is_ok()
    }

    /// The last entry the image depends on, plus one.
    pub fn end(&self) -> u64 {
        self.kept.last().map_or(self.durable_end, |k| k + 1)
    }
}

/// The durable end at position `p`: one past the last flush among entries
/// `0..p` (0 if there is none). What a power loss at `p` must keep.
pub fn durable_end(kinds: &[EntryKind], p: u64) -> u64 {
    let p = usize::try_from(p).unwrap_or(usize::MAX).min(kinds.len());
    kinds[..p]
        .iter()
        .rposition(|k| *k == EntryKind::Flush)
        .map_or(0, |i| i as u64 + 1)
}

/// The write log of one disk.
#[derive(Debug)]
pub struct BlockLog {
    entries: Vec<Entry>,
    /// Per touched block, the pieces of entries in it, in log order.
    blocks: HashMap<u64, Vec<Piece>>,
    size: u64,
    base: File,
    data: File,
    data_end: u64,
    stats: LogStats,
}

impl BlockLog {
    /// An empty log over `base` (the disk before the first entry, `size`
    /// bytes, never written here) appending payloads to `data`.
    pub fn new(base: File, data: File, size: u64) -> BlockLog {
        BlockLog {
            entries: Vec::new(),
            blocks: HashMap::new(),
            size,
            base,
            data,
            data_end: 0,
            stats: LogStats::default(),
        }
    }

    /// The disk's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The position: how many entries have happened.
    pub fn position(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Entry `seq`.
    pub fn entry(&self, seq: u64) -> Option<Entry> {
        self.entries.get(usize::try_from(seq).ok()?).copied()
    }

    /// What the log holds, counted.
    pub fn stats(&self) -> &LogStats {
        &self.stats
    }

    /// Records a write of `buf` at `off`; returns its sequence number.
    pub fn record_write(&mut self, off: u64, buf: &[u8]) -> Result<u64, LogError> {
        let len = buf.len() as u64;
        self.check_range(off, len)?;
        let len32 = u32::try_from(len).map_err(|_| LogError::OutOfRange {
            off,
            len,
            size: self.size,
        })?;
        let seq = self.next_seq()?;
        self.data
            .write_all_at(buf, self.data_end)
            .map_err(LogError::io("append to the log's data file"))?;
        self.entries.push(Entry::Write {
            off,
            len: len32,
            data_off: self.data_end,
        });
        self.data_end += len;
        self.index(seq, off, len);
        self.stats.writes += 1;
        self.stats.bytes += len;
        Ok(u64::from(seq))
    }

    /// Records `len` bytes at `off` zeroed; returns its sequence number.
    pub fn record_zero(&mut self, off: u64, len: u64) -> Result<u64, LogError> {
        self.check_range(off, len)?;
        let seq = self.next_seq()?;
        self.entries.push(Entry::Zero { off, len });
        self.index(seq, off, len);
        self.stats.zeroes += 1;
        Ok(u64::from(seq))
    }

    /// Records a cache flush; returns its sequence number.
    pub fn record_flush(&mut self) -> Result<u64, LogError> {
        let seq = self.next_seq()?;
        self.entries.push(Entry::Flush);
        self.stats.flushes += 1;
        Ok(u64::from(seq))
    }

    fn next_seq(&self) -> Result<u32, LogError> {
        u32::try_from(self.entries.len()).map_err(|_| LogError::Full)
    }

    fn check_range(&self, off: u64, len: u64) -> Result<(), LogError> {
        match off.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(LogError::OutOfRange {
                off,
                len,
                size: self.size,
            }),
        }
    }

    /// Adds entry `seq`'s pieces, `len` bytes at `off`, to the blocks they
    /// touch.
    fn index(&mut self, seq: u32, off: u64, len: u64) {
        for (block, start, len) in blocks_of(off, len) {
            self.blocks.entry(block).or_default().push(Piece {
                entry: seq,
                start: start as u16,
                len: len as u16,
            });
        }
    }

    /// Reads `buf.len()` bytes at `off` of the image `view` describes.
    /// The range must be inside the disk.
    pub fn read(&self, view: &ViewSpec, off: u64, buf: &mut [u8]) -> Result<(), LogError> {
        self.check_range(off, buf.len() as u64)?;
        let mut block_buf = [0u8; BLOCK as usize];
        let mut done = 0usize;
        for (block, start, len) in blocks_of(off, buf.len() as u64) {
            let (start, len) = (start as usize, len as usize);
            if len == BLOCK as usize {
                self.read_block(view, block, into_block(&mut buf[done..done + len]))?;
            } else {
                self.read_block(view, block, &mut block_buf)?;
                buf[done..done + len].copy_from_slice(&block_buf[start..start + len]);
            }
            done += len;
        }
        Ok(())
    }

    /// Block `block` of the image: the base overlaid, in log order, with
    /// every applicable piece since the last applicable whole-block one.
    fn read_block(
        &self,
        view: &ViewSpec,
        block: u64,
        out: &mut [u8; BLOCK as usize],
    ) -> Result<(), LogError> {
        let pieces = self.blocks.get(&block).map_or(&[][..], Vec::as_slice);
        let first_full = pieces
            .iter()
            .rposition(|p| p.is_full() && view.applies(p.entry.into()));
        if first_full.is_none() {
            self.read_base(block, out)?;
        }
        for piece in &pieces[first_full.unwrap_or(0)..] {
            if view.applies(piece.entry.into()) {
                self.apply(block, piece, out)?;
            }
        }
        Ok(())
    }

    fn read_base(&self, block: u64, out: &mut [u8]) -> Result<(), LogError> {
        read_full_at(&self.base, out, block * BLOCK).map_err(LogError::io("read the base image"))
    }

    fn apply(&self, block: u64, piece: &Piece, out: &mut [u8]) -> Result<(), LogError> {
        let range = usize::from(piece.start)..usize::from(piece.start) + usize::from(piece.len);
        match self.entries[piece.entry as usize] {
            Entry::Write { off, data_off, .. } => {
                let at = data_off + (block * BLOCK + u64::from(piece.start) - off);
                self.data
                    .read_exact_at(&mut out[range], at)
                    .map_err(LogError::io("read the log's data file"))
            }
            Entry::Zero { .. } => {
                out[range].fill(0);
                Ok(())
            }
            Entry::Flush => Ok(()),
        }
    }
}

/// Reads `out.len()` bytes at `at`; what lies beyond the end of the file
/// reads as zeroes (a sparse image's tail).
fn read_full_at(file: &File, out: &mut [u8], at: u64) -> io::Result<()> {
    let mut done = 0;
    while done < out.len() {
        match file.read_at(&mut out[done..], at + done as u64) {
            Ok(0) => {
                out[done..].fill(0);
                return Ok(());
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn into_block(buf: &mut [u8]) -> &mut [u8; BLOCK as usize] {
    buf.try_into().expect("a whole block")
}

/// The blocks `len` bytes at `off` touch: (block, start inside it,
/// length inside it), in order.
fn blocks_of(off: u64, len: u64) -> impl Iterator<Item = (u64, u64, u64)> {
    let end = off + len;
    let mut at = off;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let block = at / BLOCK;
        let start = at % BLOCK;
        let n = (BLOCK - start).min(end - at);
        at += n;
        Some((block, start, n))
    })
}

/// A crash image: the log seen through a [`ViewSpec`], plus a private
/// overlay of whole blocks for what is written into it. The overlay is
/// capped; a write beyond the cap fails and changes nothing.
#[derive(Debug)]
pub struct CrashView {
    spec: ViewSpec,
    overlay: HashMap<u64, Box<[u8; BLOCK as usize]>>,
    cap_blocks: usize,
}

impl CrashView {
    /// A view of `spec` whose overlay holds at most `cap_bytes`.
    pub fn new(spec: ViewSpec, cap_bytes: u64) -> CrashView {
        CrashView {
            spec,
            overlay: HashMap::new(),
            cap_blocks: usize::try_from(cap_bytes / BLOCK).unwrap_or(usize::MAX),
        }
    }

    /// Which entries it applies.
    pub fn spec(&self) -> &ViewSpec {
        &self.spec
    }

    /// The bytes its overlay holds.
    pub fn overlay_bytes(&self) -> u64 {
        self.overlay.len() as u64 * BLOCK
    }

    /// Reads `buf.len()` bytes at `off` of the image.
    pub fn read(&self, log: &BlockLog, off: u64, buf: &mut [u8]) -> Result<(), LogError> {
        log.check_range(off, buf.len() as u64)?;
        let mut done = 0usize;
        for (block, start, len) in blocks_of(off, buf.len() as u64) {
            let (start, len) = (start as usize, len as usize);
            let out = &mut buf[done..done + len];
            match self.overlay.get(&block) {
                Some(data) => out.copy_from_slice(&data[start..start + len]),
                None => log.read(&self.spec, block * BLOCK + start as u64, out)?,
            }
            done += len;
        }
        Ok(())
    }

    /// Writes `data` at `off` into the overlay (whole blocks, read from
    /// the image first when partly written). All or nothing: a write that
    /// would pass the cap changes nothing.
    pub fn write(&mut self, log: &BlockLog, off: u64, data: &[u8]) -> Result<(), LogError> {
        log.check_range(off, data.len() as u64)?;
        let fresh = blocks_of(off, data.len() as u64)
            .filter(|(b, _, _)| !self.overlay.contains_key(b))
            .count();
        if self.overlay.len() + fresh > self.cap_blocks {
            return Err(LogError::OverlayFull(self.cap_blocks as u64 * BLOCK));
        }
        let mut done = 0usize;
        for (block, start, len) in blocks_of(off, data.len() as u64) {
            let (start, len) = (start as usize, len as usize);
            if !self.overlay.contains_key(&block) {
                let mut fresh = Box::new([0u8; BLOCK as usize]);
                if len != BLOCK as usize {
                    log.read_block(&self.spec, block, &mut fresh)?;
                }
                self.overlay.insert(block, fresh);
            }
            if let Some(b) = self.overlay.get_mut(&block) {
                b[start..start + len].copy_from_slice(&data[done..done + len]);
            }
            done += len;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: u64 = 16 * BLOCK;

    /// A log over a base whose byte `i` is `i % 251` (never zero-filled by
    /// accident, different in every block).
    fn log() -> BlockLog {
        let base = tempfile::tempfile().unwrap();
        let bytes: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
        base.write_all_at(&bytes, 0).unwrap();
        BlockLog::new(base, tempfile::tempfile().unwrap(), SIZE)
    }

    /// The image applying `applies`, computed the slow, obvious way: the
    /// base, then every applicable entry in order.
    fn model(log: &BlockLog, writes: &[(u64, Vec<u8>)], spec: &ViewSpec) -> Vec<u8> {
        let mut img: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
        let mut w = writes.iter();
        for seq in 0..log.position() {
            let entry = log.entry(seq).unwrap();
            let payload = match entry {
                Entry::Write { .. } => Some(w.next().unwrap()),
                _ => None,
            };
            if !spec.applies(seq) {
                continue;
            }
            match entry {
                Entry::Write { off, .. } => {
                    let (_, data) = payload.unwrap();
                    img[off as usize..off as usize + data.len()].copy_from_slice(data);
                }
                Entry::Zero { off, len } => img[off as usize..(off + len) as usize].fill(0),
                Entry::Flush => {}
            }
        }
        img
    }

    fn image(log: &BlockLog, spec: &ViewSpec) -> Vec<u8> {
        let mut buf = vec![0; SIZE as usize];
        log.read(spec, 0, &mut buf).unwrap();
        buf
    }

    fn record(
        log: &mut BlockLog,
        writes: &mut Vec<(u64, Vec<u8>)>,
        off: u64,
        byte: u8,
        len: usize,
    ) {
        let data = vec![byte; len];
        log.record_write(off, &data).unwrap();
        writes.push((off, data));
    }

    /// A log with every shape of piece: whole blocks, sub-block writes,
    /// unaligned writes spanning blocks, zeroes, flushes.
    fn busy_log() -> (BlockLog, Vec<(u64, Vec<u8>)>) {
        let mut log = log();
        let mut w = Vec::new();
        record(&mut log, &mut w, 0, 1, BLOCK as usize); // 0
        record(&mut log, &mut w, 512, 2, 512); // 1
        log.record_flush().unwrap(); // 2
        record(&mut log, &mut w, BLOCK - 100, 3, 3 * BLOCK as usize); // 3
        log.record_zero(2 * BLOCK + 7, 2000).unwrap(); // 4
        record(&mut log, &mut w, 0, 4, 1024); // 5
        log.record_flush().unwrap(); // 6
        record(&mut log, &mut w, 5 * BLOCK, 5, 2 * BLOCK as usize); // 7
        record(&mut log, &mut w, 5 * BLOCK + 4000, 6, 200); // 8
        log.record_zero(10 * BLOCK, 3 * BLOCK).unwrap(); // 9
        record(&mut log, &mut w, 11 * BLOCK + 1, 7, 10); // 10
        (log, w)
    }

    #[test]
    fn every_view_matches_the_obvious_replay() {
        let (log, w) = busy_log();
        let n = log.position();
        assert_eq!(n, 11);
        let mut specs = vec![ViewSpec::live()];
        for end in 0..=n {
            specs.push(ViewSpec::new(end, &[]));
            for k in end..n {
                specs.push(ViewSpec::new(end, &[k]));
                specs.push(ViewSpec::new(end, &[k, n - 1]));
            }
        }
        for spec in &specs {
            assert_eq!(image(&log, spec), model(&log, &w, spec), "{spec:?}");
        }
    }

    #[test]
    fn a_later_write_kept_without_an_earlier_one() {
        let (log, w) = busy_log();
        // Durable up to the first flush; entry 5 (1 KiB of 4s at 0) kept,
        // entry 3 (the unaligned write) dropped.
        let spec = ViewSpec::new(3, &[5]);
        let img = image(&log, &spec);
        assert!(img[..1024].iter().all(|&b| b == 4));
        assert!(img[1024..BLOCK as usize].iter().all(|&b| b == 1));
        assert_eq!(img[BLOCK as usize - 100], 1, "entry 3 dropped");
        assert_eq!(img[BLOCK as usize], (BLOCK % 251) as u8, "entry 3 dropped");
        assert_eq!(img, model(&log, &w, &spec));
    }

    #[test]
    fn partial_blocks_keep_the_bytes_around_them() {
        let (log, _) = busy_log();
        let img = image(&log, &ViewSpec::new(2, &[]));
        assert!(img[..512].iter().all(|&b| b == 1));
        assert!(img[512..1024].iter().all(|&b| b == 2));
        assert!(img[1024..BLOCK as usize].iter().all(|&b| b == 1));
        let base = image(&log, &ViewSpec::new(0, &[]));
        assert_eq!(base[4096], (4096 % 251) as u8);
    }

    #[test]
    fn zeroes_zero_only_their_range() {
        let (log, _) = busy_log();
        let img = image(&log, &ViewSpec::new(5, &[]));
        let z = (2 * BLOCK + 7) as usize;
        assert_eq!(img[z - 1], 3);
        assert!(img[z..z + 2000].iter().all(|&b| b == 0));
        assert_eq!(img[z + 2000], 3);
        let live = image(&log, &ViewSpec::live());
        assert!(
            live[10 * BLOCK as usize..11 * BLOCK as usize]
                .iter()
                .all(|&b| b == 0)
        );
        assert_eq!(live[11 * BLOCK as usize + 1], 7);
    }

    #[test]
    fn unaligned_reads_see_the_same_bytes() {
        let (log, w) = busy_log();
        let spec = ViewSpec::new(7, &[8]);
        let whole = model(&log, &w, &spec);
        for (off, len) in [
            (1, 10),
            (BLOCK - 3, 9),
            (5 * BLOCK + 3990, 300),
            (0, SIZE as usize),
        ] {
            let mut buf = vec![0xee; len];
            log.read(&spec, off, &mut buf).unwrap();
            assert_eq!(buf, whole[off as usize..off as usize + len], "{off} {len}");
        }
    }

    #[test]
    fn out_of_range_is_refused_and_records_nothing() {
        let mut log = log();
        assert!(matches!(
            log.record_write(SIZE - 1, &[1, 2]),
            Err(LogError::OutOfRange { .. })
        ));
        assert!(log.record_zero(u64::MAX, 2).is_err());
        assert_eq!(log.position(), 0);
        assert_eq!(log.stats(), &LogStats::default());
        let mut buf = [0; 2];
        assert!(log.read(&ViewSpec::live(), SIZE - 1, &mut buf).is_err());
    }

    #[test]
    fn stats_count_entries_and_bytes() {
        let (log, w) = busy_log();
        let s = log.stats();
        assert_eq!((s.writes, s.flushes, s.zeroes), (7, 2, 2));
        assert_eq!(s.bytes, w.iter().map(|(_, d)| d.len() as u64).sum::<u64>());
        let kinds: Vec<EntryKind> = (0..log.position())
            .map(|i| log.entry(i).unwrap().kind())
            .collect();
        assert_eq!(kinds[2], EntryKind::Flush);
        assert_eq!(kinds[4], EntryKind::Zero);
    }

    #[test]
    fn a_views_writes_stay_in_its_overlay() {
        let (log, w) = busy_log();
        let spec = ViewSpec::new(3, &[]);
        let before = model(&log, &w, &spec);
        let mut a = CrashView::new(spec.clone(), 1 << 20);
        let b = CrashView::new(spec.clone(), 1 << 20);
        a.write(&log, 100, &[9; 50]).unwrap();
        a.write(&log, 3 * BLOCK - 10, &[8; 20]).unwrap();
        let mut buf = vec![0; SIZE as usize];
        a.read(&log, 0, &mut buf).unwrap();
        let mut expected = before.clone();
        expected[100..150].fill(9);
        expected[3 * BLOCK as usize - 10..3 * BLOCK as usize + 10].fill(8);
        assert_eq!(buf, expected);
        assert_eq!(a.overlay_bytes(), 3 * BLOCK);
        // Neither the log, nor the other view, nor the live disk changed.
        b.read(&log, 0, &mut buf).unwrap();
        assert_eq!(buf, before);
        assert_eq!(image(&log, &spec), before);
        assert_eq!(
            image(&log, &ViewSpec::live()),
            model(&log, &w, &ViewSpec::live())
        );
    }

    #[test]
    fn an_overlay_past_its_cap_refuses_the_whole_write() {
        let (log, _) = busy_log();
        let mut v = CrashView::new(ViewSpec::new(0, &[]), 2 * BLOCK);
        v.write(&log, 0, &[1; 10]).unwrap();
        let err = v
            .write(&log, BLOCK - 1, &vec![2; BLOCK as usize + 2])
            .unwrap_err();
        assert!(matches!(err, LogError::OverlayFull(_)), "{err}");
        let mut buf = [0; 1];
        v.read(&log, BLOCK, &mut buf).unwrap();
        assert_eq!(buf[0], (BLOCK % 251) as u8, "nothing of the refused write");
        v.write(&log, BLOCK, &[3; 10]).unwrap();
    }

    #[test]
    fn the_durable_end_is_one_past_the_last_flush() {
        use EntryKind::{Flush as F, Write as W, Zero as Z};
        let kinds = [W, W, F, W, Z, F, W];
        let ends: Vec<u64> = (0..=8).map(|p| durable_end(&kinds, p)).collect();
        assert_eq!(ends, [0, 0, 0, 3, 3, 3, 6, 6, 6]);
        assert_eq!(durable_end(&[], 5), 0);
    }

    #[test]
    fn view_specs_normalise_kept() {
        let s = ViewSpec::new(5, &[9, 2, 7, 9]);
        assert_eq!(s.kept(), &[7, 9]);
        assert!(s.applies(2) && s.applies(4) && !s.applies(5) && s.applies(7) && !s.applies(8));
        assert_eq!(s.end(), 10);
        assert_eq!(ViewSpec::new(5, &[]).end(), 5);
        assert!(ViewSpec::live().applies(u64::MAX - 1));
    }
}
