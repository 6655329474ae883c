//! The logical operations of a recorded workload and the directory images
//! they apply to: what the recorder writes and the persistence models read.
//!
//! Files are inodes ([`Ino`]), named by directory entries, as ALICE models
//! them: a rename moves an entry, a hard link adds one, and the bytes belong
//! to the inode. The run directory itself is inode [`ROOT`].

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

/// A file or directory of the model.
pub type Ino = u32;

/// The run directory.
pub const ROOT: Ino = 0;

/// A directory entry: its directory and its name there.
pub type Entry = (Ino, OsString);

/// One logical operation on the run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpKind {
    /// A new file `ino` named `name` in `dir` (open with `O_CREAT`, creat).
    Create {
        /// The directory.
        dir: Ino,
        /// The name.
        name: OsString,
        /// The new file.
        ino: Ino,
    },
    /// A new directory `ino` named `name` in `dir`.
    Mkdir {
        /// The parent directory.
        dir: Ino,
        /// The name.
        name: OsString,
        /// The new directory.
        ino: Ino,
    },
    /// One more name for `ino`.
    Link {
        /// The directory of the new name.
        dir: Ino,
        /// The new name.
        name: OsString,
        /// The file.
        ino: Ino,
    },
    /// The name `name` of `ino` in `dir` is removed (unlink, rmdir).
    Unlink {
        /// The directory.
        dir: Ino,
        /// The name.
        name: OsString,
        /// What it named.
        ino: Ino,
    },
    /// `ino` moves from `from` to `to`, replacing what `to` named; with
    /// `exchange` (`RENAME_EXCHANGE`), what `to` named moves to `from`.
    Rename {
        /// The old entry.
        from: Entry,
        /// The new entry.
        to: Entry,
        /// What moves.
        ino: Ino,
        /// What `to` named before, if anything.
        replaced: Option<Ino>,
        /// The two names swap.
        exchange: bool,
    },
    /// `data` written at `off` of `ino` (write, pwrite, writev, pwritev).
    Write {
        /// The file.
        ino: Ino,
        /// The offset.
        off: u64,
        /// The bytes written (as many as the call returned).
        data: Arc<[u8]>,
    },
    /// `ino`'s size set to `size` (truncate, ftruncate, `O_TRUNC`, fallocate).
    Truncate {
        /// The file.
        ino: Ino,
        /// The new size.
        size: u64,
    },
    /// fsync or fdatasync of a file: its data and size are durable.
    FsyncFile {
        /// The file.
        ino: Ino,
    },
    /// fsync (or fdatasync) of a directory: its entries are durable.
    FsyncDir {
        /// The directory.
        ino: Ino,
    },
    /// sync or syncfs: everything so far is durable.
    SyncAll,
    /// Operation `seq` of the workload exited 0: it is acknowledged.
    Ack {
        /// The operation.
        seq: u64,
    },
}

impl OpKind {
    /// Whether this operation changes the directory's content (not a
    /// durability point, not an acknowledgement).
    pub fn changes(&self) -> bool {
        !matches!(
            self,
            OpKind::FsyncFile { .. }
                | OpKind::FsyncDir { .. }
                | OpKind::SyncAll
                | OpKind::Ack { .. }
        )
    }
}

/// One recorded operation, in the order the syscalls returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOp {
    /// What it did.
    pub kind: OpKind,
    /// The call as the report shows it: `renameat(.state.tmp-ab, state)`.
    pub text: String,
    /// The operation of the workload it belongs to (the warm-ups `0..n`,
    /// then the explored one).
    pub seq: u64,
    /// The explored operation's fault points seen when it happened (the
    /// syscall's own point included): a crash at the entry of point `k`
    /// keeps exactly the operations with `key <= k`. 0 for the warm-ups.
    pub key: usize,
}

/// What a model inode holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    /// A regular file and its bytes.
    File(Vec<u8>),
    /// A directory (its entries are in [`Image::entries`]).
    Dir,
}

/// A directory tree as the model sees it: inodes and the entries naming
/// them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Image {
    /// Every inode, [`ROOT`] included.
    pub nodes: BTreeMap<Ino, Node>,
    /// Every name: (directory, name) to inode.
    pub entries: BTreeMap<Entry, Ino>,
    /// Permission bits of each inode (0o644 or 0o755 when unknown).
    pub modes: BTreeMap<Ino, u32>,
}

impl Image {
    /// An image holding only the empty run directory.
    pub fn empty() -> Image {
        let mut image = Image::default();
        image.nodes.insert(ROOT, Node::Dir);
        image
    }

    /// The file `ino`'s bytes, made a file if it was not one.
    pub fn file_mut(&mut self, ino: Ino) -> &mut Vec<u8> {
        let node = self.nodes.entry(ino).or_insert(Node::File(Vec::new()));
        if !matches!(node, Node::File(_)) {
            *node = Node::File(Vec::new());
        }
        match node {
            Node::File(bytes) => bytes,
            Node::Dir => unreachable!("made a file above"),
        }
    }

    /// Every path reachable from the root, with its inode, sorted: the
    /// directory as a tree (hard links appear under each name).
    pub fn paths(&self) -> Vec<(std::path::PathBuf, Ino)> {
        let mut out = Vec::new();
        let mut stack = vec![(std::path::PathBuf::new(), ROOT, 0usize)];
        while let Some((at, dir, depth)) = stack.pop() {
            // A rename cycle cannot be recorded, but an image is data: bound it.
            if depth > 64 {
                continue;
            }
            for ((d, name), &ino) in self.entries.range((dir, OsString::new())..) {
                if *d != dir {
                    break;
                }
                let path = at.join(name);
                out.push((path.clone(), ino));
                if matches!(self.nodes.get(&ino), Some(Node::Dir)) {
                    stack.push((path, ino, depth + 1));
                }
            }
        }
        out.sort();
        out
    }

    /// A digest of what a check can see: every path with its kind and
    /// bytes (not the inode numbers). Equal digests, equal directories.
    pub fn digest(&self) -> u64 {
        let mut h = crate::seed::splitmix64(0x5eed);
        let mut mix = |bytes: &[u8]| {
            for chunk in bytes.chunks(8) {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                h = crate::seed::splitmix64(h ^ u64::from_le_bytes(word) ^ chunk.len() as u64);
            }
            h = crate::seed::splitmix64(h ^ 0xff);
        };
        for (path, ino) in self.paths() {
            mix(path.as_os_str().as_bytes());
            match self.nodes.get(&ino) {
                Some(Node::File(bytes)) => {
                    mix(b"f");
                    mix(bytes);
                }
                Some(Node::Dir) => mix(b"d"),
                None => mix(b"?"),
            }
        }
        h
    }

    /// Makes `dir` (an existing, empty directory) hold this image: files
    /// with their bytes and modes, directories, and hard links for a file's
    /// later names. An entry naming an unknown inode is left out.
    pub fn materialize(&self, dir: &Path) -> io::Result<()> {
        let mut first: BTreeMap<Ino, std::path::PathBuf> = BTreeMap::new();
        let mut dirs = Vec::new();
        for (rel, ino) in self.paths() {
            let path = dir.join(&rel);
            match self.nodes.get(&ino) {
                Some(Node::Dir) => {
                    fs::create_dir(&path)?;
                    dirs.push((path, ino));
                }
                Some(Node::File(bytes)) => match first.get(&ino) {
                    Some(original) => fs::hard_link(original, &path)?,
                    None => {
                        fs::write(&path, bytes)?;
                        let mode = self.modes.get(&ino).copied().unwrap_or(0o644);
                        fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
                        first.insert(ino, path);
                    }
                },
                None => {}
            }
        }
        // Modes of directories last, so a read-only one could be filled.
        for (path, ino) in dirs.into_iter().rev() {
            let mode = self.modes.get(&ino).copied().unwrap_or(0o755);
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    }
}

/// The image `base` becomes when every operation of `log` persists: the
/// directory as the program left it, in the model.
pub fn apply_all(base: &Image, log: &[LogOp]) -> Image {
    let mut image = base.clone();
    for op in log {
        apply(&mut image, &op.kind);
    }
    image
}

/// Applies one operation to `image`. A name is removed only if it still
/// names the operation's inode, so an operation whose create was dropped
/// leaves what was there; a create or link of an inode with no bytes yet
/// makes it an empty file.
pub fn apply(image: &mut Image, op: &OpKind) {
    match op {
        OpKind::Create { dir, name, ino } | OpKind::Link { dir, name, ino } => {
            image
                .nodes
                .entry(*ino)
                .or_insert_with(|| Node::File(Vec::new()));
            image.entries.insert((*dir, name.clone()), *ino);
        }
        OpKind::Mkdir { dir, name, ino } => {
            image.nodes.insert(*ino, Node::Dir);
            image.entries.insert((*dir, name.clone()), *ino);
        }
        OpKind::Unlink { dir, name, ino } => {
            let entry = (*dir, name.clone());
            if image.entries.get(&entry) == Some(ino) {
                image.entries.remove(&entry);
            }
        }
        OpKind::Rename {
            from,
            to,
            ino,
            replaced,
            exchange,
        } => {
            if image.entries.get(from) == Some(ino) {
                image.entries.remove(from);
            }
            if let (true, Some(other)) = (*exchange, replaced) {
                image.entries.insert(from.clone(), *other);
            }
            image.entries.insert(to.clone(), *ino);
        }
        OpKind::Write { ino, off, data } => write_piece(image.file_mut(*ino), *off, data, None),
        OpKind::Truncate { ino, size } => image.file_mut(*ino).resize(*size as usize, 0),
        OpKind::FsyncFile { .. }
        | OpKind::FsyncDir { .. }
        | OpKind::SyncAll
        | OpKind::Ack { .. } => {}
    }
}

/// Writes `data`, written at `off`, into `bytes`: all of it, or only the
/// piece `range` (absolute offsets inside the write) when a model keeps a
/// write in part. The file grows as needed.
pub fn write_piece(bytes: &mut Vec<u8>, off: u64, data: &[u8], range: Option<(u64, u64)>) {
    let (start, end) = range.unwrap_or((off, off + data.len() as u64));
    let (start, end) = (start as usize, end as usize);
    if bytes.len() < end {
        bytes.resize(end, 0);
    }
    let from = start - off as usize;
    bytes[start..end].copy_from_slice(&data[from..from + end - start]);
}

/// A name for reports: `state`, `sub/x`, lossy.
pub fn show(name: &OsStr) -> String {
    name.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Image {
        let mut image = Image::empty();
        image.nodes.insert(1, Node::File(b"hello".to_vec()));
        image.nodes.insert(2, Node::Dir);
        image.nodes.insert(3, Node::File(Vec::new()));
        image.entries.insert((ROOT, "state".into()), 1);
        image.entries.insert((ROOT, "sub".into()), 2);
        image.entries.insert((2, "again".into()), 1);
        image.entries.insert((2, "empty".into()), 3);
        image.modes.insert(3, 0o600);
        image
    }

    #[test]
    fn materializes_files_dirs_links_and_modes() {
        let t = tempfile::tempdir().unwrap();
        sample().materialize(t.path()).unwrap();
        assert_eq!(fs::read(t.path().join("state")).unwrap(), b"hello");
        assert_eq!(fs::read(t.path().join("sub/again")).unwrap(), b"hello");
        use std::os::unix::fs::MetadataExt;
        let a = fs::metadata(t.path().join("state")).unwrap();
        let b = fs::metadata(t.path().join("sub/again")).unwrap();
        assert_eq!(a.ino(), b.ino(), "a hard link stays one inode");
        let m = fs::metadata(t.path().join("sub/empty")).unwrap();
        assert_eq!(m.mode() & 0o777, 0o600);
    }

    #[test]
    fn digests_see_content_and_names_not_inode_numbers() {
        let a = sample();
        let mut renumbered = Image::empty();
        renumbered.nodes.insert(7, Node::File(b"hello".to_vec()));
        renumbered.nodes.insert(8, Node::Dir);
        renumbered.nodes.insert(9, Node::File(Vec::new()));
        renumbered.entries.insert((ROOT, "state".into()), 7);
        renumbered.entries.insert((ROOT, "sub".into()), 8);
        renumbered.entries.insert((8, "again".into()), 7);
        renumbered.entries.insert((8, "empty".into()), 9);
        assert_eq!(a.digest(), renumbered.digest());
        let mut changed = a.clone();
        changed.file_mut(1).push(b'!');
        assert_ne!(a.digest(), changed.digest());
        let mut moved = a.clone();
        moved.entries.remove(&(ROOT, "state".into()));
        moved.entries.insert((ROOT, "other".into()), 1);
        assert_ne!(a.digest(), moved.digest());
    }
}
