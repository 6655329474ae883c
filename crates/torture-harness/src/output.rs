//! Output files: reports, artifacts and the step summary, written without
//! harming the machine `torture` runs on.
//!
//! `torture` often runs as root, in a shared `/tmp`, on paths users give it.
//! Every output (`--json`, `--junit`, `--artifacts`, `fscompare --out` and
//! `GITHUB_STEP_SUMMARY`) goes through this module, which guarantees:
//!
//! - **Checked before the run.** [`OutputTarget::check`] and
//!   [`OutputDir::check`] run before anything else: a path that cannot be
//!   written is bad input (exit 2), one line naming the flag and the path.
//!   The same checks run again when the file is written.
//! - **`-` is stdout** for a file flag, and so is a path that names this
//!   process's standard output when that is a pipe or a file
//!   (`/dev/stdout`). With a report on stdout, [`divert_human_output`]
//!   sends everything else printed there to stderr, so that stdout holds the
//!   report alone; two reports cannot share it ([`check_all`]).
//! - **Only regular files are replaced.** A regular file, or a new one, is
//!   written with the crate's atomic write. An existing FIFO or character
//!   device (a pipe, `/dev/null`) is opened for writing without `O_CREAT`
//!   or `O_TRUNC` and written in place, never replaced. A directory, a block
//!   device or a socket is refused.
//! - **Planted symlinks are not followed.** A symlink is followed (the atomic
//!   write replaces the file it points to), except one that the kernel's
//!   `protected_symlinks` rule forbids, at any component of the path: a link
//!   in a sticky world-writable directory, owned by neither that directory's
//!   owner nor the caller. That is refused whatever the sysctl says. An
//!   existing output directory in such a directory that belongs to someone
//!   else is refused too: its owner could plant links inside it.
//! - **Private in shared directories.** A file created in a sticky
//!   world-writable directory is 0600 (a script 0700), elsewhere 0644
//!   (0755); an output directory made there is 0700, elsewhere 0755 (the
//!   umask applies).
//! - **No report is overwritten by surprise.** An output directory is new or
//!   empty; one that [`OutputDir::reusable`] allows (`fscompare --out`) may
//!   also be a directory `torture` made, which holds [`OUT_MARKER`]: only
//!   `torture`'s own files in it are replaced.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crashsafe::atomic::{resolve_symlinks, write_file_atomic};

use crate::platform::{effective_uid, forbidden_link_owner, is_shared_dir, parent_dir};

/// The file that marks an output directory `torture` made, so that a later
/// run may write into it again.
pub const OUT_MARKER: &str = ".torture-out";

/// A step of writing an output, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStep {
    /// Looking at what the path names.
    Inspect,
    /// Opening an existing file for writing, or for appending.
    Open,
    /// Writing the bytes.
    Write,
    /// Listing an output directory.
    List,
    /// Making an output directory.
    CreateDir,
}

impl std::fmt::Display for OutputStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutputStep::Inspect => "cannot inspect it",
            OutputStep::Open => "cannot open it for writing",
            OutputStep::Write => "cannot write it",
            OutputStep::List => "cannot list it",
            OutputStep::CreateDir => "cannot create it",
        })
    }
}

/// Why an output cannot be written: each names the flag (or variable) the
/// path came from, and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The directory the file would go in does not exist.
    #[error("{flag} {}: directory {} does not exist: create it or choose another path", path.display(), dir.display())]
    MissingDir {
        /// The flag.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
        /// The missing directory.
        dir: PathBuf,
    },
    /// Something on the way is a file, not a directory.
    #[error("{flag} {}: {} is not a directory: choose another path", path.display(), dir.display())]
    NotADirectory {
        /// The flag.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
        /// What should have been a directory.
        dir: PathBuf,
    },
    /// A file output names a directory.
    #[error("{flag} {} is a directory: give a file path", path.display())]
    IsDirectory {
        /// The flag.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
    },
    /// The path is empty, or (for a file) ends in `/`, `.` or `..`.
    #[error("{flag} {:?} names nothing to write: give a path", path.display().to_string())]
    NoFileName {
        /// The flag.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
    },
    /// The path names something a report must not be written to.
    #[error("{flag} {} is a {kind}: give a regular file, a FIFO or a character device", path.display())]
    Unsupported {
        /// The flag.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
        /// `block device` or `socket`.
        kind: &'static str,
    },
    /// The file has no write bit: somebody made it read-only on purpose.
    #[error("{flag} {} is read-only (mode has no write bit): make it writable or choose another path", path.display())]
    ReadOnly {
        /// The flag.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
    },
    /// A link on the path that the `protected_symlinks` rule forbids.
    #[error("{flag} {}: {} is a symlink owned by uid {owner} in a sticky world-writable directory, which torture does not follow (the protected_symlinks rule): remove it or choose another path", path.display(), link.display())]
    ProtectedSymlink {
        /// The flag.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
        /// The link refused.
        link: PathBuf,
        /// Its owner.
        owner: u32,
    },
    /// An existing output directory in a shared directory that belongs to
    /// someone else.
    #[error("{flag} {} belongs to uid {owner} in a sticky world-writable directory, who could plant links in it: give a directory you own", path.display())]
    ForeignDir {
        /// The flag.
        flag: &'static str,
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
    },
    /// An output directory that holds files `torture` may not replace.
    #[error("{flag} {} is not empty (it holds {entry:?}{why}): give a new or empty directory", path.display())]
    NotEmpty {
        /// The flag.
        flag: &'static str,
        /// The directory.
        path: PathBuf,
        /// One of its entries.
        entry: String,
        /// Why that matters, if more needs saying.
        why: &'static str,
    },
    /// A directory flag was given `-`.
    #[error("{flag} -: a directory cannot go to stdout: give a directory path")]
    StdoutDir {
        /// The flag.
        flag: &'static str,
    },
    /// Two reports would be written to stdout.
    #[error("{first} and {second} both write to stdout: give one of them a file")]
    SharedStdout {
        /// The first flag.
        first: &'static str,
        /// The second flag.
        second: &'static str,
    },
    /// The directory the file would go in cannot be written.
    #[error("{flag} {}: cannot create files in {}: {source}", path.display(), dir.display())]
    Unwritable {
        /// The flag.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
        /// The directory.
        dir: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A step on the output itself failed.
    #[error("{flag} {}: {step}: {source}", path.display())]
    Io {
        /// The flag.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
        /// The step.
        step: OutputStep,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The atomic write failed (its error names its own step and path).
    #[error("{flag} {}: {source}", path.display())]
    Write {
        /// The flag.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
        /// The atomic write's error (boxed: it can be large).
        #[source]
        source: Box<crashsafe::Error>,
    },
}

/// Where a file output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard output (`-`).
    Stdout,
    /// A path.
    Path(PathBuf),
}

/// One file output, bound to the flag it came from, so that every message
/// about it names that flag.
#[derive(Debug, Clone)]
pub struct OutputTarget {
    flag: &'static str,
    dest: Destination,
    executable: bool,
}

/// How an output file is written, decided by looking at it.
enum Plan {
    Stdout,
    /// An existing FIFO or character device, written in place: opened at
    /// the path with its links resolved, not following a link planted there
    /// since; or, when the last link is one of `/proc`'s (`pipe:[...]`
    /// names no path), at the path given, following it.
    InPlace {
        open: PathBuf,
        follow: bool,
    },
    /// A regular file or a new one, at `real`, with `mode`.
    Replace {
        real: PathBuf,
        mode: u32,
    },
}

impl OutputTarget {
    /// The output a flag's value names: `-` is stdout, and so is a path
    /// that names this process's standard output when that is a pipe or a
    /// file (`/dev/stdout`).
    pub fn parse(flag: &'static str, value: impl Into<PathBuf>) -> Self {
        let path = value.into();
        let dest = if path.as_os_str() == "-" || names_stdout(&path) {
            Destination::Stdout
        } else {
            Destination::Path(path)
        };
        OutputTarget {
            flag,
            dest,
            executable: false,
        }
    }

    /// The file at `path` (`-` is a file name here).
    pub fn file(flag: &'static str, path: impl Into<PathBuf>) -> Self {
        OutputTarget {
            flag,
            dest: Destination::Path(path.into()),
            executable: false,
        }
    }

    /// The same output, created executable (a script).
    pub fn executable(mut self) -> Self {
        self.executable = true;
        self
    }

    /// The flag (or variable) the output came from.
    pub fn flag(&self) -> &'static str {
        self.flag
    }

    /// Where it goes.
    pub fn destination(&self) -> &Destination {
        &self.dest
    }

    /// Whether it goes to stdout.
    pub fn is_stdout(&self) -> bool {
        self.dest == Destination::Stdout
    }

    /// Checks, without writing anything, that the output can be written:
    /// its directory exists, it is not a directory, no link on the way is
    /// forbidden. See the module documentation.
    pub fn check(&self) -> Result<(), OutputError> {
        self.plan().map(drop)
    }

    /// Writes `bytes` as the whole content of the output: stdout, in place
    /// for a FIFO or character device, else with the atomic write.
    pub fn write(&self, bytes: &[u8]) -> Result<(), OutputError> {
        match self.plan()? {
            Plan::Stdout => write_stdout(bytes).map_err(|e| self.io(OutputStep::Write, e)),
            Plan::InPlace { open, follow } => self.write_in_place(&open, follow, bytes, false),
            Plan::Replace { mode, .. } => {
                write_file_atomic(self.path(), bytes, mode).map_err(|e| self.link_error(e))
            }
        }
    }

    /// Appends `bytes` to the output (a file is created if missing), never
    /// replacing it: the step summary is collected this way.
    pub fn append(&self, bytes: &[u8]) -> Result<(), OutputError> {
        match self.plan()? {
            Plan::Stdout => write_stdout(bytes).map_err(|e| self.io(OutputStep::Write, e)),
            Plan::InPlace { open, follow } => self.write_in_place(&open, follow, bytes, true),
            Plan::Replace { real, mode } => {
                // `real` has no link left; one planted since is not followed.
                let flags = libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NOFOLLOW;
                let file = OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(mode)
                    .custom_flags(flags)
                    .open(&real)
                    .map_err(|e| self.io(OutputStep::Open, e))?;
                (&file)
                    .write_all(bytes)
                    .map_err(|e| self.io(OutputStep::Write, e))
            }
        }
    }

    fn path(&self) -> &Path {
        match &self.dest {
            Destination::Path(p) => p,
            Destination::Stdout => Path::new("-"),
        }
    }

    fn plan(&self) -> Result<Plan, OutputError> {
        let Destination::Path(path) = &self.dest else {
            return Ok(Plan::Stdout);
        };
        let ends_in_name =
            path.as_os_str().as_encoded_bytes().last() != Some(&b'/') && path.file_name().is_some();
        if !ends_in_name {
            return Err(OutputError::NoFileName {
                flag: self.flag,
                path: path.clone(),
            });
        }
        let dir = parent_dir(path);
        check_links(dir).map_err(|e| self.link_error(e))?;
        match fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(self.not_a_directory(dir)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(self.missing_dir(dir)),
            Err(e) => return Err(self.io(OutputStep::Inspect, e)),
        }
        let real = resolve_symlinks(path).map_err(|e| self.link_error(e))?;
        match fs::metadata(path) {
            Ok(meta) => self.plan_existing(&meta, real),
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.plan_new(real),
            Err(e) => Err(self.io(OutputStep::Inspect, e)),
        }
    }

    fn plan_existing(&self, meta: &Metadata, real: PathBuf) -> Result<Plan, OutputError> {
        let kind = meta.file_type();
        let path = self.path().to_path_buf();
        let flag = self.flag;
        if kind.is_file() {
            if meta.mode() & 0o222 == 0 {
                return Err(OutputError::ReadOnly { flag, path });
            }
            let mode = file_mode(parent_dir(&real), self.executable);
            return Ok(Plan::Replace { real, mode });
        }
        if kind.is_fifo() || kind.is_char_device() {
            return Ok(match fs::symlink_metadata(&real) {
                Ok(_) => Plan::InPlace {
                    open: real,
                    follow: false,
                },
                Err(_) => Plan::InPlace {
                    open: path,
                    follow: true,
                },
            });
        }
        if kind.is_dir() {
            return Err(OutputError::IsDirectory { flag, path });
        }
        let kind = if kind.is_block_device() {
            "block device"
        } else {
            "socket"
        };
        Err(OutputError::Unsupported { flag, path, kind })
    }

    /// A missing file, or a dangling link: its target is created.
    fn plan_new(&self, real: PathBuf) -> Result<Plan, OutputError> {
        let dir = parent_dir(&real);
        match fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(self.not_a_directory(dir)),
            Err(_) => return Err(self.missing_dir(dir)),
        }
        crate::platform::can_create_in(dir).map_err(|source| OutputError::Unwritable {
            flag: self.flag,
            path: self.path().to_path_buf(),
            dir: dir.to_path_buf(),
            source,
        })?;
        let mode = file_mode(dir, self.executable);
        Ok(Plan::Replace { real, mode })
    }

    /// Opens an existing FIFO or character device without creating or
    /// truncating anything, checks that it still is one, and writes.
    fn write_in_place(
        &self,
        open: &Path,
        follow: bool,
        bytes: &[u8],
        append: bool,
    ) -> Result<(), OutputError> {
        let mut flags = libc::O_CLOEXEC | libc::O_NOCTTY;
        if !follow {
            flags |= libc::O_NOFOLLOW;
        }
        let file = OpenOptions::new()
            .write(true)
            .append(append)
            .custom_flags(flags)
            .open(open)
            .map_err(|e| self.io(OutputStep::Open, e))?;
        let kind = file
            .metadata()
            .map_err(|e| self.io(OutputStep::Inspect, e))?
            .file_type();
        if !(kind.is_fifo() || kind.is_char_device()) {
            let changed = io::Error::other("it is no longer a FIFO or a character device");
            return Err(self.io(OutputStep::Open, changed));
        }
        (&file)
            .write_all(bytes)
            .map_err(|e| self.io(OutputStep::Write, e))
    }

    fn io(&self, step: OutputStep, source: io::Error) -> OutputError {
        OutputError::Io {
            flag: self.flag,
            path: self.path().to_path_buf(),
            step,
            source,
        }
    }

    fn missing_dir(&self, dir: &Path) -> OutputError {
        OutputError::MissingDir {
            flag: self.flag,
            path: self.path().to_path_buf(),
            dir: dir.to_path_buf(),
        }
    }

    fn not_a_directory(&self, dir: &Path) -> OutputError {
        OutputError::NotADirectory {
            flag: self.flag,
            path: self.path().to_path_buf(),
            dir: dir.to_path_buf(),
        }
    }

    fn link_error(&self, e: crashsafe::Error) -> OutputError {
        link_error(self.flag, self.path(), e)
    }
}

/// Checks every output of a command before anything runs, and that at most
/// one of them goes to stdout.
pub fn check_all<'a>(
    targets: impl IntoIterator<Item = &'a OutputTarget>,
) -> Result<(), OutputError> {
    let mut on_stdout: Option<&'static str> = None;
    for target in targets {
        target.check()?;
        if target.is_stdout() {
            if let Some(first) = on_stdout {
                return Err(OutputError::SharedStdout {
                    first,
                    second: target.flag,
                });
            }
            on_stdout = Some(target.flag);
        }
    }
    Ok(())
}

/// An output directory (`--artifacts`, `fscompare --out`), bound to its flag.
#[derive(Debug, Clone)]
pub struct OutputDir {
    flag: &'static str,
    path: PathBuf,
    reusable: bool,
}

impl OutputDir {
    /// A directory that must be new or empty (`--artifacts`: evidence of
    /// two runs never mixes).
    pub fn new(flag: &'static str, path: impl Into<PathBuf>) -> Self {
        OutputDir {
            flag,
            path: path.into(),
            reusable: false,
        }
    }

    /// A directory that may also be one `torture` made before (it holds
    /// [`OUT_MARKER`]), whose own files are replaced.
    pub fn reusable(flag: &'static str, path: impl Into<PathBuf>) -> Self {
        OutputDir {
            reusable: true,
            ..OutputDir::new(flag, path)
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file `name` in the directory, as an output of the same flag.
    pub fn file(&self, name: &str) -> OutputTarget {
        OutputTarget::file(self.flag, self.path.join(name))
    }

    /// Checks, without touching anything, that the directory can be made
    /// or used: see the module documentation.
    pub fn check(&self) -> Result<(), OutputError> {
        if self.path.as_os_str().is_empty() {
            return Err(OutputError::NoFileName {
                flag: self.flag,
                path: self.path.clone(),
            });
        }
        match self.inspect()? {
            None => self.nearest_existing().map(drop),
            Some(meta) => {
                self.check_owner(&meta)?;
                self.check_contents()
            }
        }
    }

    /// Makes the directory if it is missing (0700 in a shared directory),
    /// checks that it is safe to write into (it may have been planted since
    /// [`OutputDir::check`]), and marks a reusable one as `torture`'s.
    pub fn create(&self) -> Result<(), OutputError> {
        if self.inspect()?.is_none() {
            let (_, ancestor) = self.nearest_existing()?;
            let mode = if is_shared_dir(&ancestor) {
                0o700
            } else {
                0o755
            };
            fs::DirBuilder::new()
                .recursive(true)
                .mode(mode)
                .create(&self.path)
                .map_err(|e| self.io(OutputStep::CreateDir, e))?;
        }
        let meta = self
            .inspect()?
            .ok_or_else(|| self.io(OutputStep::CreateDir, io::ErrorKind::NotFound.into()))?;
        self.check_owner(&meta)?;
        if self.reusable {
            self.file(OUT_MARKER)
                .write(b"made by torture: it may write its reports here again\n")?;
        }
        Ok(())
    }

    /// The directory's metadata, `None` when it does not exist; an error
    /// when it is something else or a link on the way is forbidden.
    fn inspect(&self) -> Result<Option<Metadata>, OutputError> {
        if self.path.as_os_str() == "-" {
            return Err(OutputError::StdoutDir { flag: self.flag });
        }
        check_links(&self.path).map_err(|e| link_error(self.flag, &self.path, e))?;
        match fs::metadata(&self.path) {
            Ok(m) if m.is_dir() => Ok(Some(m)),
            Ok(_) => Err(OutputError::NotADirectory {
                flag: self.flag,
                path: self.path.clone(),
                dir: self.path.clone(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(OutputStep::Inspect, e)),
        }
    }

    /// The closest existing ancestor of a missing directory, which must be
    /// a directory this process can create entries in.
    fn nearest_existing(&self) -> Result<(PathBuf, Metadata), OutputError> {
        for dir in self.path.ancestors().skip(1) {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            match fs::metadata(dir) {
                Ok(m) if m.is_dir() => {
                    crate::platform::can_create_in(dir).map_err(|source| {
                        OutputError::Unwritable {
                            flag: self.flag,
                            path: self.path.clone(),
                            dir: dir.to_path_buf(),
                            source,
                        }
                    })?;
                    return Ok((dir.to_path_buf(), m));
                }
                Ok(_) => {
                    return Err(OutputError::NotADirectory {
                        flag: self.flag,
                        path: self.path.clone(),
                        dir: dir.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io(OutputStep::Inspect, e)),
            }
        }
        Err(self.io(OutputStep::Inspect, io::ErrorKind::NotFound.into()))
    }

    /// Refuses a directory in a shared directory that belongs to someone
    /// else than the caller and the shared directory's owner.
    fn check_owner(&self, meta: &Metadata) -> Result<(), OutputError> {
        let owner = meta.uid();
        if owner == effective_uid() {
            return Ok(());
        }
        let real = fs::canonicalize(&self.path).map_err(|e| self.io(OutputStep::Inspect, e))?;
        let shared =
            fs::metadata(parent_dir(&real)).map_err(|e| self.io(OutputStep::Inspect, e))?;
        if is_shared_dir(&shared) && shared.uid() != owner {
            return Err(OutputError::ForeignDir {
                flag: self.flag,
                path: self.path.clone(),
                owner,
            });
        }
        Ok(())
    }

    /// Empty, or (reusable) marked as `torture`'s.
    fn check_contents(&self) -> Result<(), OutputError> {
        let mut entries: Vec<String> = fs::read_dir(&self.path)
            .map_err(|e| self.io(OutputStep::List, e))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if entries.is_empty() || (self.reusable && entries.iter().any(|n| n == OUT_MARKER)) {
            return Ok(());
        }
        entries.sort();
        Err(OutputError::NotEmpty {
            flag: self.flag,
            path: self.path.clone(),
            entry: entries.swap_remove(0),
            why: if self.reusable {
                ", and torture did not make it"
            } else {
                ""
            },
        })
    }

    fn io(&self, step: OutputStep, source: io::Error) -> OutputError {
        OutputError::Io {
            flag: self.flag,
            path: self.path.clone(),
            step,
            source,
        }
    }
}

/// The mode of a file created in `dir`: private in a shared directory.
pub fn file_mode(dir: &Path, executable: bool) -> u32 {
    let shared = fs::metadata(dir).is_ok_and(|m| is_shared_dir(&m));
    match (shared, executable) {
        (true, false) => 0o600,
        (true, true) => 0o700,
        (false, false) => 0o644,
        (false, true) => 0o755,
    }
}

/// Refuses a link among `path` and its ancestors that the
/// `protected_symlinks` rule forbids following.
fn check_links(path: &Path) -> crashsafe::Result<()> {
    for prefix in path.ancestors().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(meta) = fs::symlink_metadata(prefix)
            && meta.file_type().is_symlink()
            && let Some(owner) = forbidden_link_owner(prefix, &meta)
        {
            return Err(crashsafe::Error::ProtectedSymlink {
                path: prefix.to_path_buf(),
                owner,
            });
        }
    }
    Ok(())
}

fn link_error(flag: &'static str, path: &Path, e: crashsafe::Error) -> OutputError {
    match e {
        crashsafe::Error::ProtectedSymlink { path: link, owner } => OutputError::ProtectedSymlink {
            flag,
            path: path.to_path_buf(),
            link,
            owner,
        },
        source => OutputError::Write {
            flag,
            path: path.to_path_buf(),
            source: Box::new(source),
        },
    }
}

/// Where a report on stdout goes once [`divert_human_output`] has run.
static REPORT_STDOUT: OnceLock<File> = OnceLock::new();

/// Keeps this process's stdout for the report alone: from now on, anything
/// else printed on stdout (the human summary) goes to stderr, as does the
/// stdout children inherit. Call it once, after the checks, before
/// anything is printed.
pub fn divert_human_output() -> io::Result<()> {
    io::stdout().flush()?;
    let saved = crate::platform::move_stdout_to_stderr()?;
    // A second call keeps the first saved descriptor: stdout is already
    // stderr by then, and this one is dropped (closed).
    let _ = REPORT_STDOUT.set(saved);
    crate::term::stdout_is_stderr();
    Ok(())
}

fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    match REPORT_STDOUT.get() {
        Some(file) => (&*file).write_all(bytes),
        None => {
            let mut out = io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()
        }
    }
}

/// Whether `path` is this process's stdout, a pipe or a file (a terminal
/// or `/dev/null` is written in place like any character device).
fn names_stdout(path: &Path) -> bool {
    let Some((dev, ino)) = crate::platform::stdout_pipe_or_file() else {
        return false;
    };
    fs::metadata(path).is_ok_and(|m| m.dev() == dev && m.ino() == ino)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().mode() & 0o7777
    }

    fn shared_dir(root: &Path) -> PathBuf {
        let d = root.join("pub");
        fs::create_dir(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o1777)).unwrap();
        d
    }

    fn is_root() -> bool {
        effective_uid() == 0
    }

    #[test]
    fn dash_is_stdout_and_a_path_is_a_path() {
        assert!(OutputTarget::parse("--json", "-").is_stdout());
        assert!(!OutputTarget::file("--json", "-").is_stdout());
        let t = OutputTarget::parse("--junit", "r.xml");
        assert_eq!(t.destination(), &Destination::Path("r.xml".into()));
        assert_eq!(t.flag(), "--junit");
    }

    #[test]
    fn two_reports_cannot_share_stdout() {
        let a = OutputTarget::parse("--json", "-");
        let b = OutputTarget::parse("--junit", "-");
        let err = check_all([&a, &b]).unwrap_err();
        assert!(
            err.to_string()
                .contains("--json and --junit both write to stdout"),
            "{err}"
        );
    }

    #[test]
    fn missing_directory_names_the_flag() {
        let d = tempfile::tempdir().unwrap();
        let t = OutputTarget::parse("--junit", d.path().join("nope/r.xml"));
        let err = t.check().unwrap_err();
        assert!(matches!(err, OutputError::MissingDir { .. }), "{err}");
        assert!(err.to_string().starts_with("--junit "), "{err}");
        assert!(t.write(b"x").is_err());
        assert!(!d.path().join("nope").exists());
    }

    #[test]
    fn a_directory_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let err = OutputTarget::parse("--json", d.path()).check().unwrap_err();
        assert!(matches!(err, OutputError::IsDirectory { .. }), "{err}");
    }

    #[test]
    fn modes_private_in_a_shared_directory() {
        let d = tempfile::tempdir().unwrap();
        let shared = shared_dir(d.path());
        for (dir, plain, script) in [(d.path(), 0o644, 0o755), (&shared, 0o600, 0o700)] {
            let p = dir.join("r.json");
            OutputTarget::file("--json", &p).write(b"{}").unwrap();
            assert_eq!(mode(&p), plain, "{}", p.display());
            let s = dir.join("repro.sh");
            OutputTarget::file("--artifacts", &s)
                .executable()
                .write(b"#!/bin/sh\n")
                .unwrap();
            assert_eq!(mode(&s), script, "{}", s.display());
        }
    }

    #[test]
    fn a_fifo_is_written_in_place() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fifo");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let reader = {
            let p = p.clone();
            std::thread::spawn(move || fs::read(p).unwrap())
        };
        let before = fs::symlink_metadata(&p).unwrap().ino();
        OutputTarget::file("--json", &p)
            .write(b"{\"a\":1}")
            .unwrap();
        assert_eq!(reader.join().unwrap(), b"{\"a\":1}");
        let after = fs::symlink_metadata(&p).unwrap();
        assert!(after.file_type().is_fifo());
        assert_eq!(after.ino(), before);
    }

    #[test]
    fn dev_null_is_written_in_place() {
        let before = fs::metadata("/dev/null").unwrap();
        OutputTarget::file("--json", "/dev/null")
            .write(b"{}")
            .unwrap();
        let after = fs::metadata("/dev/null").unwrap();
        assert!(after.file_type().is_char_device());
        assert_eq!((after.ino(), after.rdev()), (before.ino(), before.rdev()));
    }

    #[test]
    fn append_adds_to_the_end() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("summary.md");
        fs::write(&p, b"earlier\n").unwrap();
        let t = OutputTarget::file("GITHUB_STEP_SUMMARY", &p);
        t.append(b"later\n").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"earlier\nlater\n");
    }

    #[test]
    fn a_planted_link_is_refused_and_an_own_link_followed() {
        if !is_root() {
            eprintln!("skipped: planting another user's link needs root");
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let shared = shared_dir(d.path());
        let victim = d.path().join("victim");
        fs::write(&victim, b"secret").unwrap();
        let link = shared.join("report.json");
        symlink(&victim, &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(12345), None).unwrap();
        let t = OutputTarget::file("--json", &link);
        for result in [t.check(), t.write(b"{}"), t.append(b"{}")] {
            let err = result.unwrap_err();
            assert!(matches!(err, OutputError::ProtectedSymlink { .. }), "{err}");
        }
        assert_eq!(fs::read(&victim).unwrap(), b"secret");
        std::os::unix::fs::lchown(&link, Some(0), None).unwrap();
        t.write(b"{}").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"{}");
    }

    #[test]
    fn a_planted_directory_link_on_the_way_is_refused() {
        if !is_root() {
            eprintln!("skipped: planting another user's link needs root");
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let shared = shared_dir(d.path());
        let elsewhere = d.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        let link = shared.join("reports");
        symlink(&elsewhere, &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(12345), None).unwrap();
        let err = OutputTarget::file("--junit", link.join("r.xml"))
            .write(b"<x/>")
            .unwrap_err();
        assert!(matches!(err, OutputError::ProtectedSymlink { .. }), "{err}");
        let err = OutputDir::new("--artifacts", link.join("a"))
            .check()
            .unwrap_err();
        assert!(matches!(err, OutputError::ProtectedSymlink { .. }), "{err}");
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    }

    #[test]
    fn output_dirs_new_empty_or_ours() {
        let d = tempfile::tempdir().unwrap();
        let out = OutputDir::reusable("--out", d.path().join("out"));
        out.check().unwrap();
        out.create().unwrap();
        fs::write(out.path().join("report.json"), b"old").unwrap();
        out.check().unwrap();
        let strict = OutputDir::new("--artifacts", out.path());
        let err = strict.check().unwrap_err();
        assert!(err.to_string().starts_with("--artifacts "), "{err}");
        let theirs = d.path().join("theirs");
        fs::create_dir(&theirs).unwrap();
        fs::write(theirs.join("report.json"), b"mine").unwrap();
        let err = OutputDir::reusable("--out", &theirs).check().unwrap_err();
        assert!(matches!(err, OutputError::NotEmpty { .. }), "{err}");
        assert!(err.to_string().contains("torture did not make it"), "{err}");
        let err = OutputDir::new("--artifacts", "-").check().unwrap_err();
        assert!(matches!(err, OutputError::StdoutDir { .. }), "{err}");
    }

    #[test]
    fn output_dir_made_private_in_a_shared_directory() {
        let d = tempfile::tempdir().unwrap();
        let shared = shared_dir(d.path());
        let out = OutputDir::new("--artifacts", shared.join("a/b"));
        out.create().unwrap();
        assert_eq!(mode(out.path()), 0o700);
        assert_eq!(mode(&shared.join("a")), 0o700);
        let plain = OutputDir::new("--artifacts", d.path().join("plain"));
        plain.create().unwrap();
        let usual = d.path().join("usual");
        fs::DirBuilder::new().mode(0o755).create(&usual).unwrap();
        assert_eq!(mode(plain.path()), mode(&usual), "0755 and the umask");
    }

    #[test]
    fn a_foreign_directory_in_a_shared_directory_is_refused() {
        if !is_root() {
            eprintln!("skipped: giving a directory to another user needs root");
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let shared = shared_dir(d.path());
        let planted = shared.join("art");
        fs::create_dir(&planted).unwrap();
        std::os::unix::fs::chown(&planted, Some(12345), None).unwrap();
        let out = OutputDir::new("--artifacts", &planted);
        for result in [out.check(), out.create()] {
            let err = result.unwrap_err();
            assert!(matches!(err, OutputError::ForeignDir { .. }), "{err}");
        }
    }
}
