//! Persistence models: which crash states a recorded log allows, and the
//! directory image of each.
//!
//! A power loss keeps what the file system had made durable and, of the
//! rest, whatever the model says may have reached the disk. This module is
//! the pure half of the power-loss tier: it cuts the log into units, says
//! which units a crash point has made durable, enumerates (or samples) the
//! states a model allows, and replays one onto the durable base image.
//!
//! # Units
//! Each log operation becomes the units that can persist on their own
//! ([`units`]), ALICE's micro-ops (`alicedefaultfs.py`):
//! - an [`UnitClass::Entry`] for a create, mkdir, link, unlink or rename.
//!   A rename is one unit, so it is atomic: old name or new, never both or
//!   neither. ALICE splits it into three and lets them persist apart; we
//!   follow the promise of rename(2) instead.
//! - a [`UnitClass::Size`] for a truncate;
//! - a [`UnitClass::Data`] for each 4 KiB-aligned piece of a write: a piece
//!   ends at the next 4096-byte boundary, so a 4096-byte write at offset 56
//!   is two pieces (ALICE's `aligned` split). A write of more than
//!   [`MAX_PIECES`] pieces is grouped into that many runs of whole pieces.
//!
//! # Durability ([`durable`])
//! File data and size are durable once fsync or fdatasync of the file
//! follows them; an entry once fsync (or fdatasync) of its directory does,
//! of both directories for a rename across them; `sync` and `syncfs` make
//! everything before them durable. A file's fsync never makes its name
//! durable. Counting fdatasync of a directory as fsync departs from ALICE,
//! which wants fsync; Linux treats the two alike for directories, and
//! SQLite relies on it.
//!
//! # Models ([`Model`])
//! - `posix`: every undurable unit may or may not have persisted,
//!   independently.
//! - `ordered`: undurable metadata (entries and truncates) persists only as
//!   a prefix in program order, a journal; a data unit is kept whenever a
//!   later metadata unit on its inode (a rename of it, a link, a truncate)
//!   is durable or in the kept prefix. It approximates ext4's default
//!   `data=ordered`, without its `auto_da_alloc` rename and truncate
//!   heuristics, without modelling a journal commit on fsync (the durability
//!   points are those of `posix`), and with the size growing with each
//!   persisted piece rather than with the journal.
//! - `none`: everything persists; the state a process crash leaves.
//!
//! A unit that did not persist leaves what was durable before it, because a
//! state is replayed from the durable base, in program order.
//!
//! # States ([`states`])
//! Up to `cap` states, every allowed state is enumerated, in a fixed order.
//! Beyond it, a mandatory set is always checked, then seeded random states
//! fill up to the cap: everything kept, nothing kept, each operation
//! dropped alone, ALICE's program-order prefixes (`alicedefaultexplorer.py`)
//! and the first pieces of each torn write. Those are the states a single
//! culprit shows in. When the mandatory set alone is larger than the cap,
//! all of it is kept, so the cap can be exceeded. The same seed and crash
//! point draw the same states.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;

use super::log::{Image, Ino, LogOp, Node, OpKind, ROOT};
use crate::seed::splitmix64;
pub use crate::vocab::Model;

/// The block size of ALICE's aligned split.
pub const BLOCK: u64 = 4096;

/// The most units one write becomes.
pub const MAX_PIECES: u64 = 64;

/// The mandatory set keeps the first `j` pieces of a torn write, `j` below
/// this.
const PIECE_PREFIXES: usize = 8;

/// What a unit changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitClass {
    /// A directory entry: create, mkdir, link, unlink or rename.
    Entry {
        /// The directories whose fsync makes it durable (two for a rename
        /// across directories).
        dirs: Vec<Ino>,
    },
    /// A file's size (truncate).
    Size,
    /// A piece of a write.
    Data,
}

/// The smallest part of an operation that persists on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Its operation: an index in the log.
    pub op: usize,
    /// The inode it is about: the file written or truncated, the inode an
    /// entry names.
    pub ino: Ino,
    /// What it changes.
    pub class: UnitClass,
    /// The piece of a write, `[start, end)` in the file; `None` for other
    /// units.
    pub range: Option<(u64, u64)>,
}

impl Unit {
    fn is_meta(&self) -> bool {
        !matches!(self.class, UnitClass::Data)
    }
}

/// The units of a log, in program order (pieces of a write by offset).
/// Durability points and acknowledgements make none.
pub fn units(log: &[LogOp]) -> Vec<Unit> {
    let mut out = Vec::new();
    for (op, entry) in log.iter().enumerate() {
        push_units(op, &entry.kind, &mut out);
    }
    out
}

fn push_units(op: usize, kind: &OpKind, out: &mut Vec<Unit>) {
    let entry = |ino: Ino, dirs: Vec<Ino>| Unit {
        op,
        ino,
        class: UnitClass::Entry { dirs },
        range: None,
    };
    match kind {
        OpKind::Create { dir, ino, .. }
        | OpKind::Mkdir { dir, ino, .. }
        | OpKind::Link { dir, ino, .. }
        | OpKind::Unlink { dir, ino, .. } => out.push(entry(*ino, vec![*dir])),
        OpKind::Rename { from, to, ino, .. } => {
            let mut dirs = vec![from.0];
            if to.0 != from.0 {
                dirs.push(to.0);
            }
            out.push(entry(*ino, dirs));
        }
        OpKind::Write { ino, off, data } => {
            out.extend(
                pieces(*off, data.len() as u64)
                    .into_iter()
                    .map(|range| Unit {
                        op,
                        ino: *ino,
                        class: UnitClass::Data,
                        range: Some(range),
                    }),
            );
        }
        OpKind::Truncate { ino, .. } => out.push(Unit {
            op,
            ino: *ino,
            class: UnitClass::Size,
            range: None,
        }),
        OpKind::FsyncFile { .. }
        | OpKind::FsyncDir { .. }
        | OpKind::SyncAll
        | OpKind::Ack { .. } => {}
    }
}

/// The pieces `[start, end)` of a write of `len` bytes at `off`: each ends
/// at the next [`BLOCK`] boundary, and more than [`MAX_PIECES`] of them are
/// grouped into that many runs of whole pieces.
pub fn pieces(off: u64, len: u64) -> Vec<(u64, u64)> {
    if len == 0 {
        return Vec::new();
    }
    let end = off + len;
    let count = (end - 1) / BLOCK - off / BLOCK + 1;
    let groups = count.min(MAX_PIECES);
    // Piece k starts at `off` for k = 0, else at a block boundary.
    let start = |k: u64| {
        if k == 0 {
            off
        } else {
            (off / BLOCK + k) * BLOCK
        }
    };
    (0..groups)
        .map(|g| {
            let (first, next) = (g * count / groups, (g + 1) * count / groups);
            (start(first), if next == count { end } else { start(next) })
        })
        .collect()
}

/// Where the durability points of a log are, by what they sync.
struct Syncs {
    files: HashMap<Ino, Vec<usize>>,
    dirs: HashMap<Ino, Vec<usize>>,
    all: Vec<usize>,
}

impl Syncs {
    fn new(log: &[LogOp]) -> Syncs {
        let mut syncs = Syncs {
            files: HashMap::new(),
            dirs: HashMap::new(),
            all: Vec::new(),
        };
        for (i, op) in log.iter().enumerate() {
            match op.kind {
                OpKind::FsyncFile { ino } => syncs.files.entry(ino).or_default().push(i),
                OpKind::FsyncDir { ino } => syncs.dirs.entry(ino).or_default().push(i),
                OpKind::SyncAll => syncs.all.push(i),
                _ => {}
            }
        }
        syncs
    }

    /// The first point after `op` that makes `ino`'s data durable.
    fn file(&self, ino: Ino, op: usize) -> Option<usize> {
        earliest(
            first_after(&self.all, op),
            self.files.get(&ino).and_then(|l| first_after(l, op)),
        )
    }

    /// The first point after `op` that makes `dir`'s entries durable.
    fn dir(&self, dir: Ino, op: usize) -> Option<usize> {
        earliest(
            first_after(&self.all, op),
            self.dirs.get(&dir).and_then(|l| first_after(l, op)),
        )
    }

    /// The point from which `unit` is durable, if any.
    fn point(&self, unit: &Unit) -> Option<usize> {
        match &unit.class {
            UnitClass::Entry { dirs } => dirs
                .iter()
                .map(|&d| self.dir(d, unit.op))
                .try_fold(0, |at, p| p.map(|p| at.max(p))),
            UnitClass::Size | UnitClass::Data => self.file(unit.ino, unit.op),
        }
    }
}

fn first_after(points: &[usize], op: usize) -> Option<usize> {
    points.get(points.partition_point(|&i| i <= op)).copied()
}

fn earliest(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// For each unit, whether it is durable at crash point `c` (after the log
/// prefix `0..c`). Units of operations from `c` on did not happen: not
/// durable.
pub fn durable(log: &[LogOp], units: &[Unit], c: usize) -> Vec<bool> {
    let syncs = Syncs::new(log);
    units
        .iter()
        .map(|u| syncs.point(u).is_some_and(|p| p < c))
        .collect()
}

/// The crash states a model allows at one crash point.
#[derive(Debug, Clone, PartialEq)]
pub struct StateSet {
    /// The units of operations before the crash point that are not durable,
    /// in program order: indexes into the units.
    pub undurable: Vec<usize>,
    /// One keep-mask per state, over [`StateSet::undurable`].
    pub states: Vec<Vec<bool>>,
    /// How many states the model allows (may be far more than are here).
    pub total: f64,
    /// Whether `states` is a sample rather than all of them.
    pub sampled: bool,
}

impl StateSet {
    /// How many allowed states are not in `states`.
    pub fn skipped(&self) -> f64 {
        (self.total - self.states.len() as f64).max(0.0)
    }

    /// Which units state `state` applies: the durable ones and the kept
    /// ones, indexed like the units.
    pub fn applied(&self, durable: &[bool], state: usize) -> Vec<bool> {
        let mut applied = durable.to_vec();
        for (&u, &keep) in self.undurable.iter().zip(&self.states[state]) {
            applied[u] = keep;
        }
        applied
    }
}

/// The states `model` allows at crash point `c`, all of them up to `cap`
/// (a cap of 0 counts as 1), else the mandatory ones and a sample drawn
/// from `(seed, c)`. Every state is one the model allows.
pub fn states(
    model: Model,
    log: &[LogOp],
    units: &[Unit],
    c: usize,
    cap: usize,
    seed: u64,
) -> StateSet {
    let durable = durable(log, units, c);
    let undurable: Vec<usize> = (0..units.len())
        .filter(|&u| units[u].op < c && !durable[u])
        .collect();
    let space = Space::new(model, log, units, &durable, &undurable);
    let total = space.total();
    // Enumeration counts states in a u64: a cap that large samples instead.
    let sampled = total > cap.max(1) as f64 || total >= 2f64.powi(62);
    let states = if sampled {
        sample(&space, units, &undurable, cap, Draws::new(seed, c))
    } else {
        dedupe(space.enumerate())
    };
    StateSet {
        undurable,
        states,
        total,
        sampled,
    }
}

/// A data unit that no metadata forces.
const NEVER: usize = usize::MAX;

/// The states of one crash point, as masks over its undurable units.
enum Space {
    /// `none`: the one state that keeps everything.
    One { n: usize },
    /// `posix`: any subset.
    Free { n: usize },
    /// `ordered`.
    Journal(Journal),
}

/// The `ordered` space: a prefix of the metadata, plus the data it forces,
/// plus any subset of the rest of the data.
struct Journal {
    n: usize,
    /// Positions (in the undurable units) of the metadata, in program order.
    meta: Vec<usize>,
    /// Positions of the data, each with the smallest prefix length that
    /// forces it: 0 when durable metadata does, [`NEVER`] when nothing.
    data: Vec<(usize, usize)>,
}

impl Space {
    fn new(
        model: Model,
        log: &[LogOp],
        units: &[Unit],
        durable: &[bool],
        undurable: &[usize],
    ) -> Space {
        let n = undurable.len();
        match model {
            Model::None => Space::One { n },
            Model::Posix => Space::Free { n },
            Model::Ordered => Space::Journal(Journal::new(log, units, durable, undurable)),
        }
    }

    fn total(&self) -> f64 {
        match self {
            Space::One { .. } => 1.0,
            Space::Free { n } => 2f64.powi(*n as i32),
            Space::Journal(j) => (0..=j.meta.len())
                .map(|p| 2f64.powi(j.free(p).len() as i32))
                .sum(),
        }
    }

    fn n(&self) -> usize {
        match self {
            Space::One { n } | Space::Free { n } => *n,
            Space::Journal(j) => j.n,
        }
    }

    /// Every state: all kept, none kept, then the rest in ascending order.
    fn enumerate(&self) -> Vec<Vec<bool>> {
        let n = self.n();
        let mut out = vec![vec![true; n], self.project(&vec![false; n])];
        match self {
            Space::One { .. } => {}
            Space::Free { n } => out.extend((0..1u64 << n).map(|m| bits(m, *n))),
            Space::Journal(j) => {
                for p in 0..=j.meta.len() {
                    let free = j.free(p);
                    out.extend(
                        (0..1u64 << free.len()).map(|m| j.state(p, &free, &bits(m, free.len()))),
                    );
                }
            }
        }
        out
    }

    /// The allowed state closest to `want`, keeping no more than it asks
    /// except where the model forces it.
    fn project(&self, want: &[bool]) -> Vec<bool> {
        match self {
            Space::One { n } => vec![true; *n],
            Space::Free { .. } => want.to_vec(),
            Space::Journal(j) => j.project(want),
        }
    }

    /// A random allowed state.
    fn random(&self, draws: &mut Draws) -> Vec<bool> {
        let n = self.n();
        match self {
            Space::One { .. } => vec![true; n],
            Space::Free { .. } => draws.bits(n),
            Space::Journal(j) => {
                let p = (draws.next() % (j.meta.len() as u64 + 1)) as usize;
                let free = j.free(p);
                j.state(p, &free, &draws.bits(free.len()))
            }
        }
    }

    /// For `ordered`, at each prefix length, all and none of the free data.
    fn extremes(&self) -> Vec<Vec<bool>> {
        let Space::Journal(j) = self else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for p in 0..=j.meta.len() {
            let free = j.free(p);
            out.push(j.state(p, &free, &vec![true; free.len()]));
            out.push(j.state(p, &free, &vec![false; free.len()]));
        }
        out
    }
}

impl Journal {
    fn new(log: &[LogOp], units: &[Unit], durable: &[bool], undurable: &[usize]) -> Journal {
        let meta: Vec<usize> = (0..undurable.len())
            .filter(|&j| units[undurable[j]].is_meta())
            .collect();
        // Per inode: (op, prefix length that keeps it) of each metadata unit
        // on it, durable ones needing no prefix.
        let mut on: HashMap<Ino, Vec<(usize, usize)>> = HashMap::new();
        let durable_meta = (0..units.len()).filter(|&u| durable[u] && units[u].is_meta());
        let kept_meta = meta.iter().enumerate().map(|(m, &j)| (undurable[j], m + 1));
        for (u, p) in durable_meta.map(|u| (u, 0)).chain(kept_meta) {
            for ino in meta_inos(log, &units[u]) {
                on.entry(ino).or_default().push((units[u].op, p));
            }
        }
        let data = (0..undurable.len())
            .filter(|&j| !units[undurable[j]].is_meta())
            .map(|j| (j, forced_at(&on, &units[undurable[j]])))
            .collect();
        Journal {
            n: undurable.len(),
            meta,
            data,
        }
    }

    /// The data positions not forced at prefix length `p`.
    fn free(&self, p: usize) -> Vec<usize> {
        self.data
            .iter()
            .filter(|&&(_, f)| f > p)
            .map(|&(j, _)| j)
            .collect()
    }

    /// The state keeping the first `p` metadata units, the data they force,
    /// and the `free` data where `keep` says so.
    fn state(&self, p: usize, free: &[usize], keep: &[bool]) -> Vec<bool> {
        let mut mask = vec![false; self.n];
        for &j in &self.meta[..p] {
            mask[j] = true;
        }
        for &(j, f) in &self.data {
            mask[j] = f <= p;
        }
        for (&j, &k) in free.iter().zip(keep) {
            mask[j] = k;
        }
        mask
    }

    fn project(&self, want: &[bool]) -> Vec<bool> {
        // The prefix stops at the first unwanted metadata, and before any
        // that would force unwanted data.
        let mut p = self
            .meta
            .iter()
            .position(|&j| !want[j])
            .unwrap_or(self.meta.len());
        for &(j, f) in &self.data {
            if !want[j] && f != 0 && f != NEVER {
                p = p.min(f - 1);
            }
        }
        let free = self.free(p);
        let keep: Vec<bool> = free.iter().map(|&j| want[j]).collect();
        self.state(p, &free, &keep)
    }
}

/// The inodes a metadata unit changes: an exchange moves two.
fn meta_inos(log: &[LogOp], unit: &Unit) -> Vec<Ino> {
    match &log[unit.op].kind {
        OpKind::Rename {
            exchange: true,
            replaced: Some(other),
            ..
        } => vec![unit.ino, *other],
        _ => vec![unit.ino],
    }
}

/// The smallest prefix length at which a data unit is forced.
fn forced_at(on: &HashMap<Ino, Vec<(usize, usize)>>, data: &Unit) -> usize {
    on.get(&data.ino)
        .into_iter()
        .flatten()
        .filter(|&&(op, _)| op > data.op)
        .map(|&(_, p)| p)
        .min()
        .unwrap_or(NEVER)
}

fn bits(mask: u64, n: usize) -> Vec<bool> {
    (0..n).map(|i| mask >> i & 1 == 1).collect()
}

fn dedupe(states: Vec<Vec<bool>>) -> Vec<Vec<bool>> {
    let mut seen = HashSet::new();
    states
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

/// The mandatory states, then random ones up to `cap`.
fn sample(
    space: &Space,
    units: &[Unit],
    undurable: &[usize],
    cap: usize,
    mut draws: Draws,
) -> Vec<Vec<bool>> {
    let mut out = dedupe(mandatory(space, units, undurable));
    let mut seen: HashSet<Vec<bool>> = out.iter().cloned().collect();
    for _ in 0..cap.saturating_mul(8) {
        if out.len() >= cap {
            break;
        }
        let state = space.random(&mut draws);
        if seen.insert(state.clone()) {
            out.push(state);
        }
    }
    out
}

/// The states a single culprit shows in: everything and nothing kept (for
/// `ordered`, at each prefix length too), each operation dropped alone,
/// the program-order prefixes, and the first pieces of each torn write.
fn mandatory(space: &Space, units: &[Unit], undurable: &[usize]) -> Vec<Vec<bool>> {
    let n = undurable.len();
    let mut out = vec![vec![true; n], space.project(&vec![false; n])];
    out.extend(space.extremes());
    let ops = by_op(units, undurable);
    let mut wants: Vec<Vec<bool>> = ops.iter().map(|(_, ps)| keep_all_but(n, ps)).collect();
    for k in 0..=ops.len() {
        let mut want = vec![false; n];
        ops[..k]
            .iter()
            .flat_map(|(_, ps)| ps)
            .for_each(|&j| want[j] = true);
        wants.push(want);
    }
    for (_, positions) in ops
        .iter()
        .filter(|(_, ps)| is_torn_write(units, undurable, ps))
    {
        for j in 0..positions.len().min(PIECE_PREFIXES) {
            wants.push(keep_all_but(n, &positions[j..]));
        }
    }
    out.extend(wants.iter().map(|w| space.project(w)));
    out
}

/// The undurable positions of each operation, in program order.
fn by_op(units: &[Unit], undurable: &[usize]) -> Vec<(usize, Vec<usize>)> {
    let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
    for (j, &u) in undurable.iter().enumerate() {
        match out.last_mut() {
            Some((op, ps)) if *op == units[u].op => ps.push(j),
            _ => out.push((units[u].op, vec![j])),
        }
    }
    out
}

fn is_torn_write(units: &[Unit], undurable: &[usize], positions: &[usize]) -> bool {
    positions.len() > 1 && matches!(units[undurable[positions[0]]].class, UnitClass::Data)
}

fn keep_all_but(n: usize, dropped: &[usize]) -> Vec<bool> {
    let mut want = vec![true; n];
    dropped.iter().for_each(|&j| want[j] = false);
    want
}

/// The random draws of one crash point: a SplitMix64 stream keyed by the
/// seed and the crash point.
struct Draws {
    base: u64,
    k: u64,
}

impl Draws {
    fn new(seed: u64, c: usize) -> Draws {
        Draws {
            base: splitmix64(splitmix64(seed) ^ c as u64),
            k: 0,
        }
    }

    fn next(&mut self) -> u64 {
        self.k += 1;
        splitmix64(
            self.base
                .wrapping_add(self.k.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        )
    }

    fn bits(&mut self, n: usize) -> Vec<bool> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let word = self.next();
            out.extend((0..64.min(n - out.len())).map(|i| word >> i & 1 == 1));
        }
        out
    }
}

/// The image a state leaves: `base` with every applied unit (see
/// [`StateSet::applied`]) replayed in program order. A dropped create does
/// not stop a kept rename or write of its inode: the inode exists, with the
/// bytes that reached it, and is visible wherever a kept entry names it.
pub fn replay(base: &Image, log: &[LogOp], units: &[Unit], applied: &[bool]) -> Image {
    let mut image = base.clone();
    for (unit, _) in units.iter().zip(applied).filter(|(_, a)| **a) {
        apply(&mut image, log, unit);
    }
    image
}

fn apply(image: &mut Image, log: &[LogOp], unit: &Unit) {
    match (&unit.class, &log[unit.op].kind) {
        (UnitClass::Data, OpKind::Write { ino, off, data }) => {
            super::log::write_piece(image.file_mut(*ino), *off, data, unit.range);
        }
        (UnitClass::Size, OpKind::Truncate { ino, size }) => {
            image.file_mut(*ino).resize(*size as usize, 0);
        }
        (UnitClass::Entry { .. }, kind) => apply_entry(image, log, kind),
        // `units` never pairs a class with another kind of operation.
        _ => {}
    }
}

/// Applies an entry operation: the one `log::apply` the recorder's own
/// check uses too, after making its inodes exist (their create may have
/// been dropped), as the kind the log creates them as.
fn apply_entry(image: &mut Image, log: &[LogOp], kind: &OpKind) {
    match kind {
        OpKind::Create { ino, .. } | OpKind::Link { ino, .. } => ensure(image, log, *ino),
        OpKind::Rename {
            ino,
            replaced,
            exchange,
            ..
        } => {
            ensure(image, log, *ino);
            if let (true, Some(other)) = (*exchange, replaced) {
                ensure(image, log, *other);
            }
        }
        _ => {}
    }
    super::log::apply(image, kind);
}

/// Makes `ino` exist, as the kind the log creates it as.
fn ensure(image: &mut Image, log: &[LogOp], ino: Ino) {
    if image.nodes.contains_key(&ino) {
        return;
    }
    let is_dir = log
        .iter()
        .any(|op| matches!(op.kind, OpKind::Mkdir { ino: i, .. } if i == ino));
    image.nodes.insert(
        ino,
        if is_dir {
            Node::Dir
        } else {
            Node::File(Vec::new())
        },
    );
}

/// The operations (log indexes, ascending) that state `state` drops at
/// least one undurable unit of: what a finding attributes the damage to.
pub fn dropped_ops(units: &[Unit], set: &StateSet, state: usize) -> Vec<usize> {
    let mut ops: Vec<usize> = set
        .undurable
        .iter()
        .zip(&set.states[state])
        .filter(|(_, keep)| !**keep)
        .map(|(&u, _)| units[u].op)
        .collect();
    ops.dedup();
    ops
}

/// For each of the `undurable` units at crash point `c`, what would have
/// made it durable: `needs fsync(.state.tmp-ab)` for a file's data or size,
/// `needs fsync(.)` for an entry (only the directories not synced yet).
/// Names are those the inodes had when the unit's operation ran.
pub fn requirements(
    base: &Image,
    log: &[LogOp],
    units: &[Unit],
    c: usize,
    undurable: &[usize],
) -> Vec<String> {
    let syncs = Syncs::new(log);
    let mut names = Names::new(base);
    undurable
        .iter()
        .map(|&u| {
            names.advance(log, units[u].op + 1);
            requirement(&syncs, &names, &units[u], c)
        })
        .collect()
}

fn requirement(syncs: &Syncs, names: &Names, unit: &Unit, c: usize) -> String {
    let fsync = |ino| format!("fsync({})", names.path(ino));
    let needs: Vec<String> = match &unit.class {
        UnitClass::Entry { dirs } => dirs
            .iter()
            .filter(|&&d| syncs.dir(d, unit.op).is_none_or(|p| p >= c))
            .map(|&d| fsync(d))
            .collect(),
        UnitClass::Size | UnitClass::Data => vec![fsync(unit.ino)],
    };
    if needs.is_empty() {
        return "durable".to_string();
    }
    format!("needs {}", needs.join(" and "))
}

/// The last name each inode had, as the log goes.
struct Names {
    of: HashMap<Ino, (Ino, OsString)>,
    seen: usize,
}

impl Names {
    fn new(base: &Image) -> Names {
        let mut of = HashMap::new();
        for ((dir, name), &ino) in &base.entries {
            of.entry(ino).or_insert_with(|| (*dir, name.clone()));
        }
        Names { of, seen: 0 }
    }

    /// Learns the names given by the operations before `upto`.
    fn advance(&mut self, log: &[LogOp], upto: usize) {
        while self.seen < upto.min(log.len()) {
            self.learn(&log[self.seen].kind);
            self.seen += 1;
        }
    }

    fn learn(&mut self, kind: &OpKind) {
        match kind {
            OpKind::Create { dir, name, ino }
            | OpKind::Mkdir { dir, name, ino }
            | OpKind::Link { dir, name, ino } => {
                self.of.insert(*ino, (*dir, name.clone()));
            }
            OpKind::Rename {
                from,
                to,
                ino,
                replaced,
                exchange,
            } => {
                self.of.insert(*ino, to.clone());
                if *exchange && let Some(other) = replaced {
                    self.of.insert(*other, from.clone());
                }
            }
            _ => {}
        }
    }

    /// `sub/x`, `.` for the run directory, `inode 7` for a nameless one.
    fn path(&self, ino: Ino) -> String {
        let mut parts = Vec::new();
        let mut at = ino;
        // Names come from a log, which is data: bound the walk.
        while at != ROOT && parts.len() < 64 {
            let Some((dir, name)) = self.of.get(&at) else {
                return format!("inode {ino}");
            };
            parts.push(name.to_string_lossy().into_owned());
            at = *dir;
        }
        if parts.is_empty() {
            return ".".to_string();
        }
        parts.reverse();
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const STATE: Ino = 1;
    const LOCK: Ino = 2;
    const TMP: Ino = 3;
    const SUB: Ino = 4;
    const OLD: &[u8] = b"old durable state";
    const NEW: &[u8] = b"the new state, acknowledged";

    fn op(kind: OpKind) -> LogOp {
        LogOp {
            text: format!("{kind:?}"),
            kind,
            seq: 0,
            key: 0,
        }
    }

    fn entry(dir: Ino, name: &str) -> (Ino, OsString) {
        (dir, name.into())
    }

    fn create(dir: Ino, name: &str, ino: Ino) -> OpKind {
        OpKind::Create {
            dir,
            name: name.into(),
            ino,
        }
    }

    fn write(ino: Ino, off: u64, bytes: &[u8]) -> OpKind {
        OpKind::Write {
            ino,
            off,
            data: Arc::from(bytes),
        }
    }

    fn rename(from: (Ino, &str), to: (Ino, &str), ino: Ino, replaced: Option<Ino>) -> OpKind {
        OpKind::Rename {
            from: entry(from.0, from.1),
            to: entry(to.0, to.1),
            ino,
            replaced,
            exchange: false,
        }
    }

    fn log(kinds: Vec<OpKind>) -> Vec<LogOp> {
        kinds.into_iter().map(op).collect()
    }

    /// `state` (old, durable), `state.lock`, and a directory `sub`.
    fn base() -> Image {
        let mut image = Image::empty();
        image.nodes.insert(STATE, Node::File(OLD.to_vec()));
        image.nodes.insert(LOCK, Node::File(Vec::new()));
        image.nodes.insert(SUB, Node::Dir);
        image.entries.insert(entry(ROOT, "state"), STATE);
        image.entries.insert(entry(ROOT, "state.lock"), LOCK);
        image.entries.insert(entry(ROOT, "sub"), SUB);
        image
    }

    fn tmp_then_rename(fsync_file: bool, fsync_dir: bool) -> Vec<LogOp> {
        let mut kinds = vec![create(ROOT, ".state.tmp", TMP), write(TMP, 0, NEW)];
        if fsync_file {
            kinds.push(OpKind::FsyncFile { ino: TMP });
        }
        kinds.push(rename(
            (ROOT, ".state.tmp"),
            (ROOT, "state"),
            TMP,
            Some(STATE),
        ));
        if fsync_dir {
            kinds.push(OpKind::FsyncDir { ino: ROOT });
        }
        kinds.push(OpKind::Ack { seq: 0 });
        log(kinds)
    }

    /// crashsafe's discipline: temp, write, fsync, rename, fsync of the
    /// directory.
    fn reference() -> Vec<LogOp> {
        tmp_then_rename(true, true)
    }

    fn no_fsync() -> Vec<LogOp> {
        tmp_then_rename(false, false)
    }

    fn no_dir_fsync() -> Vec<LogOp> {
        tmp_then_rename(true, false)
    }

    fn file(image: &Image, dir: Ino, name: &str) -> Option<Vec<u8>> {
        let ino = image.entries.get(&entry(dir, name))?;
        match image.nodes.get(ino) {
            Some(Node::File(bytes)) => Some(bytes.clone()),
            other => panic!("{name} is {other:?}"),
        }
    }

    /// Every state's image at crash point `c`.
    fn images(model: Model, log: &[LogOp], c: usize, cap: usize) -> Vec<Image> {
        let units = units(log);
        let durable = durable(log, &units, c);
        let set = states(model, log, &units, c, cap, 0);
        (0..set.states.len())
            .map(|s| replay(&base(), log, &units, &set.applied(&durable, s)))
            .collect()
    }

    /// An independent statement of what each model allows.
    fn allowed(
        model: Model,
        log: &[LogOp],
        units: &[Unit],
        c: usize,
        set: &StateSet,
        mask: &[bool],
    ) -> bool {
        match model {
            Model::None => mask.iter().all(|&k| k),
            Model::Posix => true,
            Model::Ordered => journal_allows(log, units, c, set, mask),
        }
    }

    fn journal_allows(
        log: &[LogOp],
        units: &[Unit],
        c: usize,
        set: &StateSet,
        mask: &[bool],
    ) -> bool {
        let mut applied = durable(log, units, c);
        for (&u, &k) in set.undurable.iter().zip(mask) {
            applied[u] = k;
        }
        let meta: Vec<bool> = set
            .undurable
            .iter()
            .zip(mask)
            .filter(|(u, _)| units[**u].is_meta())
            .map(|(_, &k)| k)
            .collect();
        if meta.windows(2).any(|w| !w[0] && w[1]) {
            return false;
        }
        let touches = |m: &Unit, ino: Ino| {
            m.ino == ino
                || matches!(log[m.op].kind, OpKind::Rename { exchange: true, replaced: Some(r), .. } if r == ino)
        };
        set.undurable.iter().zip(mask).all(|(&d, &k)| {
            let data = &units[d];
            k || data.is_meta()
                || !units.iter().enumerate().any(|(u, m)| {
                    m.is_meta() && applied[u] && m.op > data.op && touches(m, data.ino)
                })
        })
    }

    fn distinct(states: &[Vec<bool>]) -> bool {
        states.iter().collect::<HashSet<_>>().len() == states.len()
    }

    #[test]
    fn names_round_trip_and_describe_in_one_line() {
        for model in Model::ALL {
            assert_eq!(Model::from_name(model.name()), Some(model));
            assert!(!model.describe().is_empty() && !model.describe().contains('\n'));
        }
        assert_eq!(Model::default(), Model::Posix);
        assert_eq!(Model::from_name("ext4"), None);
    }

    #[test]
    fn writes_split_at_4k_boundaries() {
        assert_eq!(pieces(4000, 200), vec![(4000, 4096), (4096, 4200)]);
        assert_eq!(
            pieces(56, 4096),
            vec![(56, 4096), (4096, 4152)],
            "SQLite's WAL frame"
        );
        assert_eq!(pieces(0, 4096), vec![(0, 4096)]);
        assert_eq!(pieces(8192, 1), vec![(8192, 8193)]);
        assert_eq!(pieces(0, 0), vec![]);
        let units = units(&log(vec![
            write(7, 4000, &[1; 200]),
            OpKind::FsyncFile { ino: 7 },
        ]));
        let ranges: Vec<_> = units.iter().map(|u| (u.op, u.ino, u.range)).collect();
        assert_eq!(
            ranges,
            vec![(0, 7, Some((4000, 4096))), (0, 7, Some((4096, 4200)))]
        );
        assert!(units.iter().all(|u| u.class == UnitClass::Data));
    }

    #[test]
    fn a_large_write_is_grouped_into_64_runs_of_whole_pieces() {
        let (off, len) = (100, 65 * BLOCK);
        let runs = pieces(off, len);
        assert_eq!(runs.len(), 64);
        assert_eq!(runs[0].0, off);
        assert_eq!(runs[63].1, off + len);
        assert!(runs.windows(2).all(|w| w[0].1 == w[1].0), "contiguous");
        assert!(runs[..63].iter().all(|r| r.1 % BLOCK == 0), "whole pieces");
        let even = pieces(0, 1 << 20);
        assert_eq!(even.len(), 64);
        assert!(even.iter().all(|&(a, b)| b - a == 4 * BLOCK));
    }

    #[test]
    fn units_follow_the_operations() {
        let log = log(vec![
            create(ROOT, "a", 5),
            OpKind::Truncate { ino: 5, size: 3 },
            rename((ROOT, "a"), (SUB, "a"), 5, None),
            OpKind::FsyncFile { ino: 5 },
            OpKind::SyncAll,
            OpKind::Ack { seq: 0 },
        ]);
        let classes: Vec<_> = units(&log).into_iter().map(|u| (u.op, u.class)).collect();
        assert_eq!(
            classes,
            vec![
                (0, UnitClass::Entry { dirs: vec![ROOT] }),
                (1, UnitClass::Size),
                (
                    2,
                    UnitClass::Entry {
                        dirs: vec![ROOT, SUB]
                    }
                ),
            ]
        );
    }

    #[test]
    fn fsync_of_a_file_makes_its_writes_durable_but_not_its_create() {
        let log = log(vec![
            create(ROOT, "f", 5),
            write(5, 0, b"x"),
            OpKind::FsyncFile { ino: 5 },
            write(5, 1, b"y"),
        ]);
        let units = units(&log);
        assert_eq!(durable(&log, &units, 2), vec![false, false, false]);
        assert_eq!(durable(&log, &units, 3), vec![false, true, false]);
        assert_eq!(durable(&log, &units, 4), vec![false, true, false]);
        let set = states(Model::Posix, &log, &units, 4, 256, 0);
        assert_eq!(set.undurable, vec![0, 2]);
        assert_eq!(set.total, 4.0);
    }

    #[test]
    fn fsync_of_the_directory_makes_a_rename_durable() {
        let log = reference();
        let units = units(&log);
        // create, write, rename
        assert_eq!(durable(&log, &units, 4), vec![false, true, false]);
        assert_eq!(durable(&log, &units, 5), vec![true, true, true]);
        let syncall = self::log(vec![
            create(ROOT, "f", 5),
            rename((ROOT, "f"), (SUB, "g"), 5, None),
            OpKind::SyncAll,
        ]);
        assert_eq!(
            durable(&syncall, &super::units(&syncall), 3),
            vec![true, true]
        );
    }

    #[test]
    fn a_rename_across_directories_needs_both_fsyncs() {
        let moves = |syncs: Vec<OpKind>| {
            let mut kinds = vec![rename((ROOT, "state"), (SUB, "state"), STATE, None)];
            kinds.extend(syncs);
            log(kinds)
        };
        let dir = |ino| OpKind::FsyncDir { ino };
        for (syncs, want) in [
            (vec![dir(ROOT)], false),
            (vec![dir(SUB)], false),
            (vec![dir(SUB), dir(ROOT)], true),
            (vec![OpKind::SyncAll], true),
        ] {
            let log = moves(syncs.clone());
            let units = units(&log);
            assert_eq!(durable(&log, &units, log.len()), vec![want], "{syncs:?}");
        }
        let log = moves(vec![dir(ROOT)]);
        let units = units(&log);
        assert_eq!(
            requirements(&base(), &log, &units, 2, &[0]),
            vec!["needs fsync(sub)"]
        );
        assert_eq!(
            requirements(&base(), &log, &units, 1, &[0]),
            vec!["needs fsync(.) and fsync(sub)"]
        );
    }

    #[test]
    fn ordered_keeps_data_before_a_later_rename_of_its_inode() {
        let log = no_fsync();
        let units = units(&log);
        let c = 3; // create, write, rename
        let posix = states(Model::Posix, &log, &units, c, 256, 0);
        let ordered = states(Model::Ordered, &log, &units, c, 256, 0);
        assert_eq!(posix.undurable, vec![0, 1, 2]);
        assert!(
            posix.states.contains(&vec![true, false, true]),
            "posix tears"
        );
        assert!(
            ordered.states.iter().all(|s| !s[2] || s[1]),
            "{:?}",
            ordered.states
        );
        // A journal: the rename needs the create before it.
        assert_eq!(
            ordered.states,
            vec![
                vec![true, true, true],
                vec![false, false, false],
                vec![false, true, false],
                vec![true, false, false],
                vec![true, true, false],
            ]
        );
        assert_eq!(ordered.total, 5.0);
        // A durable rename forces the data in every state.
        let log = self::log(vec![
            create(ROOT, ".state.tmp", TMP),
            write(TMP, 0, NEW),
            rename((ROOT, ".state.tmp"), (ROOT, "state"), TMP, Some(STATE)),
            OpKind::FsyncDir { ino: ROOT },
        ]);
        let units = super::units(&log);
        let ordered = states(Model::Ordered, &log, &units, 4, 256, 0);
        assert_eq!(ordered.undurable, vec![1]);
        assert_eq!(ordered.states, vec![vec![true]]);
        let posix = states(Model::Posix, &log, &units, 4, 256, 0);
        assert_eq!(posix.states, vec![vec![true], vec![false]]);
    }

    #[test]
    fn none_keeps_everything_in_one_state() {
        let log = no_fsync();
        let units = units(&log);
        for c in 0..=log.len() {
            let set = states(Model::None, &log, &units, c, 1, 9);
            assert_eq!(set.states, vec![vec![true; set.undurable.len()]]);
            assert_eq!((set.total, set.sampled), (1.0, false));
        }
    }

    /// Twelve creates, then a write of three pieces: 2^15 posix states.
    fn many() -> Vec<LogOp> {
        let mut kinds: Vec<OpKind> = (0..12)
            .map(|i| create(ROOT, &format!("f{i}"), 10 + i))
            .collect();
        kinds.push(write(10, 4000, &[7; 5000]));
        log(kinds)
    }

    #[test]
    fn sampling_keeps_the_mandatory_states_within_the_cap() {
        let log = many();
        let units = units(&log);
        let c = log.len();
        let set = states(Model::Posix, &log, &units, c, 128, 0);
        assert_eq!(
            (set.total, set.sampled, set.states.len()),
            (32768.0, true, 128)
        );
        assert_eq!(set.skipped(), 32768.0 - 128.0);
        assert!(distinct(&set.states));
        let n = 15;
        let mut must = vec![vec![true; n], vec![false; n]];
        for op in 0..13 {
            must.push((0..n).map(|j| units[set.undurable[j]].op != op).collect());
            must.push((0..n).map(|j| units[set.undurable[j]].op < op).collect());
        }
        for j in 0..3 {
            must.push((0..n).map(|k| k < 12 + j).collect());
        }
        for want in &must {
            assert!(set.states.contains(want), "missing {want:?}");
        }
        assert_eq!(&set.states[..2], &must[..2], "all kept, then none kept");
    }

    #[test]
    fn ordered_sampling_is_allowed_and_keeps_every_prefix() {
        let mut log = many();
        // A rename of the written file: its data is forced with it.
        log.push(op(rename((ROOT, "f0"), (ROOT, "g"), 10, None)));
        let units = units(&log);
        let c = log.len();
        let set = states(Model::Ordered, &log, &units, c, 64, 3);
        assert!(set.sampled && set.states.len() == 64 && distinct(&set.states));
        for s in &set.states {
            assert!(allowed(Model::Ordered, &log, &units, c, &set, s), "{s:?}");
        }
        let meta = 13;
        for p in 0..=meta {
            // Prefix p of the metadata with none of the free data.
            let forced = p == meta;
            let want: Vec<bool> = (0..set.undurable.len())
                .map(|j| {
                    let u = &units[set.undurable[j]];
                    if u.is_meta() {
                        (u.op < 12 && u.op < p) || (u.op == 13 && p == meta)
                    } else {
                        forced
                    }
                })
                .collect();
            assert!(set.states.contains(&want), "p={p} missing {want:?}");
        }
    }

    #[test]
    fn a_mandatory_set_larger_than_the_cap_is_kept_whole() {
        let log = many();
        let units = units(&log);
        let set = states(Model::Posix, &log, &units, log.len(), 4, 0);
        assert!(set.sampled);
        // All, none, 13 drops, 11 more prefixes (the 12th drops the write
        // alone), 2 more piece prefixes.
        assert_eq!(set.states.len(), 2 + 13 + 11 + 2);
    }

    #[test]
    fn the_same_seed_draws_the_same_states() {
        let log = many();
        let units = units(&log);
        let draw = |seed| states(Model::Posix, &log, &units, log.len(), 100, seed);
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5).states, draw(6).states);
        let ordered = |seed| states(Model::Ordered, &log, &units, log.len(), 100, seed);
        assert_eq!(ordered(5), ordered(5));
        assert_ne!(ordered(5).states, ordered(6).states);
        // Another crash point draws afresh.
        let at = |c| states(Model::Posix, &log, &units, c, 100, 5).states[50..].to_vec();
        assert_ne!(at(log.len()), at(log.len() - 1));
    }

    #[test]
    fn a_kept_rename_lands_its_inode_when_the_create_was_dropped() {
        for (log, want) in [(no_dir_fsync(), NEW), (no_fsync(), &b""[..])] {
            let units = units(&log);
            let c = log.len();
            let durable = durable(&log, &units, c);
            let applied: Vec<bool> = (0..units.len())
                .map(|u| durable[u] || matches!(log[units[u].op].kind, OpKind::Rename { .. }))
                .collect();
            let image = replay(&base(), &log, &units, &applied);
            assert_eq!(file(&image, ROOT, "state").as_deref(), Some(want));
            assert_eq!(file(&image, ROOT, ".state.tmp"), None);
        }
    }

    #[test]
    fn replay_follows_entries_not_names() {
        let log = log(vec![
            OpKind::Mkdir {
                dir: ROOT,
                name: "d".into(),
                ino: 6,
            },
            rename((ROOT, "d"), (ROOT, "e"), 6, None),
            OpKind::Unlink {
                dir: ROOT,
                name: "state".into(),
                ino: 99,
            },
            OpKind::Rename {
                from: entry(ROOT, "state"),
                to: entry(ROOT, "state.lock"),
                ino: STATE,
                replaced: Some(LOCK),
                exchange: true,
            },
            OpKind::Link {
                dir: SUB,
                name: "again".into(),
                ino: STATE,
            },
            OpKind::Truncate {
                ino: STATE,
                size: 3,
            },
        ]);
        let units = units(&log);
        let mut applied = vec![true; units.len()];
        applied[0] = false; // the mkdir: the rename still lands a directory
        let image = replay(&base(), &log, &units, &applied);
        assert_eq!(image.nodes.get(&6), Some(&Node::Dir));
        assert_eq!(image.entries.get(&entry(ROOT, "e")), Some(&6));
        assert_eq!(
            file(&image, ROOT, "state"),
            Some(Vec::new()),
            "the lock, swapped in"
        );
        assert_eq!(file(&image, ROOT, "state.lock").as_deref(), Some(&OLD[..3]));
        assert_eq!(file(&image, SUB, "again").as_deref(), Some(&OLD[..3]));
    }

    #[test]
    fn a_torn_write_keeps_the_durable_bytes_around_its_kept_pieces() {
        let log = log(vec![
            write(STATE, 0, &[b'a'; 5000]),
            OpKind::FsyncFile { ino: STATE },
            write(STATE, 4000, &[b'b'; 200]),
        ]);
        let units = units(&log);
        let mut applied = durable(&log, &units, 3);
        assert_eq!(applied, vec![true, true, false, false]);
        applied[3] = true; // only the second piece, [4096, 4200)
        let image = replay(&base(), &log, &units, &applied);
        let bytes = file(&image, ROOT, "state").unwrap();
        assert_eq!(bytes.len(), 5000);
        assert!(bytes[..4096].iter().all(|&b| b == b'a'));
        assert!(bytes[4096..4200].iter().all(|&b| b == b'b'));
        assert!(bytes[4200..].iter().all(|&b| b == b'a'));
    }

    #[test]
    fn findings_name_the_dropped_ops_and_what_they_needed() {
        let log = no_dir_fsync();
        let units = units(&log);
        let c = log.len();
        let set = states(Model::Posix, &log, &units, c, 256, 0);
        let needs = requirements(&base(), &log, &units, c, &set.undurable);
        assert_eq!(needs, vec!["needs fsync(.)", "needs fsync(.)"]);
        let lost = set
            .states
            .iter()
            .position(|s| s == &vec![true, false])
            .unwrap();
        assert_eq!(dropped_ops(&units, &set, lost), vec![3]);
        assert_eq!(dropped_ops(&units, &set, 0), Vec::<usize>::new());
        let log = no_fsync();
        let units = super::units(&log);
        let set = states(Model::Posix, &log, &units, 3, 256, 0);
        let needs = requirements(&base(), &log, &units, 3, &set.undurable);
        assert_eq!(
            needs,
            vec![
                "needs fsync(.)",
                "needs fsync(.state.tmp)",
                "needs fsync(.)"
            ]
        );
        let nested = self::log(vec![create(SUB, "x", 5), write(5, 0, b"x")]);
        let units = super::units(&nested);
        assert_eq!(
            requirements(&base(), &nested, &units, 2, &[0, 1]),
            vec!["needs fsync(sub)", "needs fsync(sub/x)"]
        );
    }

    /// The scenario the power tier must pass: at every crash point, under
    /// every model, `state` is old or new, and new once acknowledged.
    #[test]
    fn the_reference_is_old_or_new_at_every_crash_point() {
        let log = reference();
        for model in Model::ALL {
            for cap in [256, 2] {
                for c in 0..=log.len() {
                    for image in images(model, &log, c, cap) {
                        let state = file(&image, ROOT, "state");
                        assert!(
                            state.as_deref() == Some(OLD) || state.as_deref() == Some(NEW),
                            "{model} c={c}: {state:?}"
                        );
                    }
                }
            }
            let after = images(model, &log, log.len(), 256);
            assert_eq!(after.len(), 1, "{model}");
            assert_eq!(file(&after[0], ROOT, "state").as_deref(), Some(NEW));
        }
    }

    #[test]
    fn no_fsync_is_torn_and_lost_under_posix() {
        let log = no_fsync();
        let states: Vec<Option<Vec<u8>>> = images(Model::Posix, &log, log.len(), 256)
            .iter()
            .map(|i| file(i, ROOT, "state"))
            .collect();
        assert!(
            states
                .iter()
                .any(|s| s.as_deref().is_some_and(|b| b != NEW && b != OLD)),
            "torn"
        );
        assert!(states.contains(&Some(OLD.to_vec())), "lost");
        let ordered: Vec<_> = images(Model::Ordered, &log, log.len(), 256)
            .iter()
            .map(|i| file(i, ROOT, "state"))
            .collect();
        assert!(
            ordered
                .iter()
                .all(|s| s.as_deref() == Some(OLD) || s.as_deref() == Some(NEW))
        );
        assert!(ordered.contains(&Some(OLD.to_vec())), "ordered: lost only");
    }

    #[test]
    fn no_dir_fsync_is_lost_but_never_torn() {
        let log = no_dir_fsync();
        for model in [Model::Posix, Model::Ordered] {
            for c in 0..=log.len() {
                let states: Vec<_> = images(model, &log, c, 256)
                    .iter()
                    .map(|i| file(i, ROOT, "state"))
                    .collect();
                assert!(
                    states
                        .iter()
                        .all(|s| s.as_deref() == Some(OLD) || s.as_deref() == Some(NEW)),
                    "{model} c={c}: {states:?}"
                );
                if c == log.len() {
                    assert!(states.contains(&Some(OLD.to_vec())), "{model}: lost");
                }
            }
        }
    }

    /// A small random log over a few files and both directories.
    fn random_log(seed: u64) -> Vec<LogOp> {
        let mut r = Draws::new(seed, 0);
        let mut files = vec![STATE, LOCK];
        let names = ["a", "b", "state"];
        let mut kinds = Vec::new();
        for i in 0..(5 + r.next() % 5) {
            let pick = |r: &mut Draws, from: &[Ino]| from[(r.next() % from.len() as u64) as usize];
            let f = pick(&mut r, &files);
            let dir = pick(&mut r, &[ROOT, SUB]);
            let name = names[(r.next() % 3) as usize];
            kinds.push(match r.next() % 11 {
                0 => {
                    files.push(20 + i as Ino);
                    create(dir, name, 20 + i as Ino)
                }
                1 | 2 => write(
                    f,
                    r.next() % 9000,
                    &vec![i as u8; 1 + (r.next() % 5000) as usize],
                ),
                3 => OpKind::Truncate {
                    ino: f,
                    size: r.next() % 6000,
                },
                4 => rename((ROOT, name), (dir, names[(r.next() % 3) as usize]), f, None),
                5 => OpKind::Rename {
                    from: entry(dir, name),
                    to: entry(ROOT, "state"),
                    ino: f,
                    replaced: Some(pick(&mut r, &files)),
                    exchange: true,
                },
                6 => OpKind::Link {
                    dir,
                    name: name.into(),
                    ino: f,
                },
                7 => OpKind::Unlink {
                    dir,
                    name: name.into(),
                    ino: f,
                },
                8 => OpKind::FsyncFile { ino: f },
                9 => OpKind::FsyncDir { ino: dir },
                _ => OpKind::SyncAll,
            });
        }
        log(kinds)
    }

    #[test]
    fn enumeration_is_every_allowed_state_once() {
        let mut checked = 0;
        for seed in 0..60 {
            let log = random_log(seed);
            let units = units(&log);
            for c in 0..=log.len() {
                for model in Model::ALL {
                    let set = states(model, &log, &units, c, 1 << 10, seed);
                    let n = set.undurable.len();
                    if n > 10 {
                        continue;
                    }
                    checked += 1;
                    let all: Vec<Vec<bool>> = (0..1u64 << n)
                        .map(|m| bits(m, n))
                        .filter(|m| allowed(model, &log, &units, c, &set, m))
                        .collect();
                    assert!(!set.sampled);
                    assert!(distinct(&set.states));
                    assert_eq!(set.states.len(), all.len(), "{model} seed {seed} c={c}");
                    assert_eq!(set.total, all.len() as f64);
                    assert!(set.states.iter().all(|s| all.contains(s)));
                    assert_eq!(set.states[0], vec![true; n], "all kept first");
                }
            }
        }
        assert!(checked > 500, "{checked}");
    }

    #[test]
    fn sampled_states_are_allowed_distinct_and_within_reach() {
        for seed in 0..60 {
            let log = random_log(seed);
            let units = units(&log);
            let c = log.len();
            for model in Model::ALL {
                let set = states(model, &log, &units, c, 3, seed);
                assert!(distinct(&set.states));
                assert_eq!(set.sampled, set.total > 3.0);
                assert!(set.states.len() as f64 <= set.total);
                for s in &set.states {
                    assert!(
                        allowed(model, &log, &units, c, &set, s),
                        "{model} seed {seed}: {s:?}"
                    );
                }
            }
        }
    }
}
