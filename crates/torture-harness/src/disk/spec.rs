//! The file systems torture can make: their names, how to make and mount
//! them, and the checks that say in one line why this machine cannot.
//!
//! `fscompare` makes plain loop images of them (its `mount` module
//! re-exports this one); the power-loss tier makes them on a
//! [recording disk](super::RecordingDisk), with the mkfs arguments and
//! mount options of [`FsSpec::recording_mkfs`] and
//! [`FsSpec::power_loss_mount_options`], which its reports name.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A file system to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsKind {
    /// A tmpfs (memory; no image).
    Tmpfs,
    /// ext4 on a loop image, default options (`data=ordered`).
    Ext4,
    /// ext4 on a loop image mounted with `data=journal`.
    Ext4Journal,
    /// XFS on a loop image.
    Xfs,
    /// Btrfs on a loop image.
    Btrfs,
    /// A directory on a file system that is already mounted (`--dir`).
    Dir(PathBuf),
}

/// A named file system to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsSpec {
    /// The name in reports (`ext4`, or the NAME of `--dir NAME=PATH`).
    pub name: String,
    /// How to get it.
    pub kind: FsKind,
}

/// The names `--fs` accepts.
pub const NAMES: &[&str] = &["tmpfs", "ext4", "ext4-journal", "xfs", "btrfs"];

impl FsSpec {
    /// The file system called `name` in `--fs`.
    pub fn parse(name: &str) -> Result<FsSpec, String> {
        let kind = match name {
            "tmpfs" => FsKind::Tmpfs,
            "ext4" => FsKind::Ext4,
            "ext4-journal" => FsKind::Ext4Journal,
            "xfs" => FsKind::Xfs,
            "btrfs" => FsKind::Btrfs,
            _ => {
                return Err(format!(
                    "unknown file system {name:?} (valid: {}; or --dir NAME=PATH)",
                    NAMES.join(", ")
                ));
            }
        };
        Ok(FsSpec {
            name: name.to_string(),
            kind,
        })
    }

    /// A `--dir NAME=PATH` argument.
    pub fn parse_dir(arg: &str) -> Result<FsSpec, String> {
        let (name, path) = arg
            .split_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .ok_or_else(|| format!("--dir {arg:?}: write it NAME=PATH"))?;
        let path = PathBuf::from(path);
        crate::paths::check(&format!("--dir {name}="), &path)?;
        if !path.is_dir() {
            return Err(format!("--dir {name}={}: not a directory", path.display()));
        }
        Ok(FsSpec {
            name: name.to_string(),
            kind: FsKind::Dir(path),
        })
    }

    /// The mkfs program, its arguments before the image, and the Debian
    /// package that has it.
    pub fn mkfs(&self) -> Option<(&'static str, &'static [&'static str], &'static str)> {
        match self.kind {
            FsKind::Ext4 | FsKind::Ext4Journal => Some(("mkfs.ext4", &["-q", "-F"], "e2fsprogs")),
            FsKind::Xfs => Some(("mkfs.xfs", &["-q", "-f"], "xfsprogs")),
            FsKind::Btrfs => Some(("mkfs.btrfs", &["-q", "-f"], "btrfs-progs")),
            FsKind::Tmpfs | FsKind::Dir(_) => None,
        }
    }

    /// The file-system type mount(8) is given (`-t`).
    pub fn fs_type(&self) -> Option<&'static str> {
        match self.kind {
            FsKind::Ext4 | FsKind::Ext4Journal => Some("ext4"),
            FsKind::Xfs => Some("xfs"),
            FsKind::Btrfs => Some("btrfs"),
            FsKind::Tmpfs => Some("tmpfs"),
            FsKind::Dir(_) => None,
        }
    }

    /// Extra mount options.
    pub fn mount_options(&self) -> Option<&'static str> {
        match self.kind {
            FsKind::Ext4Journal => Some("data=journal"),
            _ => None,
        }
    }

    /// Whether making it needs root (a mount).
    pub fn needs_mount(&self) -> bool {
        !matches!(self.kind, FsKind::Dir(_))
    }

    /// The file system and its mode in words, for reports: `ext4,
    /// data=ordered`, `ext4, data=journal`, `xfs`, `btrfs`, `tmpfs`, or the
    /// name of a `--dir`.
    pub fn label(&self) -> String {
        match &self.kind {
            FsKind::Ext4 => "ext4, data=ordered".into(),
            FsKind::Ext4Journal => "ext4, data=journal".into(),
            FsKind::Xfs => "xfs".into(),
            FsKind::Btrfs => "btrfs".into(),
            FsKind::Tmpfs => "tmpfs".into(),
            FsKind::Dir(_) => self.name.clone(),
        }
    }

    /// The mount options of the file system on a recording disk, and of
    /// its crash images (empty: the defaults). ext4's data mode is named
    /// even where it is the default, because the report shows it. Btrfs
    /// gets `nodiscard`: a FUSE-backed loop device reports itself
    /// non-rotational, and Btrfs then turns on asynchronous discard, whose
    /// timing would add entries unrelated to the workload.
    pub fn power_loss_mount_options(&self) -> String {
        match self.kind {
            FsKind::Ext4 => "data=ordered".into(),
            FsKind::Ext4Journal => "data=journal".into(),
            FsKind::Btrfs => "nodiscard".into(),
            FsKind::Xfs | FsKind::Tmpfs | FsKind::Dir(_) => String::new(),
        }
    }

    /// The mkfs program and its arguments before the image, on a recording
    /// disk: [`FsSpec::mkfs`]'s, plus, for ext4, 4 KiB blocks and the inode
    /// tables and journal initialised by mkfs itself (no `ext4lazyinit`
    /// writes in the log while a workload runs), and for XFS 4 KiB sectors
    /// (log writes aligned to whole blocks). XFS refuses images under
    /// 300 MB: give it 1 GiB (sparse, so it costs what is written).
    pub fn recording_mkfs(&self) -> Option<(&'static str, Vec<&'static str>)> {
        let (program, args, _) = self.mkfs()?;
        let mut args = args.to_vec();
        match self.kind {
            FsKind::Ext4 | FsKind::Ext4Journal => {
                args.extend(["-b", "4096", "-E", "lazy_itable_init=0,lazy_journal_init=0"])
            }
            FsKind::Xfs => args.extend(["-s", "size=4096"]),
            _ => {}
        }
        Some((program, args))
    }
}

/// Checks, before anything is made, that every file system can be made:
/// root, loop devices, the mkfs programs. The error is one line that says
/// what is missing and what to do.
pub fn preflight(specs: &[FsSpec]) -> Result<(), String> {
    let dir_hint = "or measure a file system that is already mounted with --dir NAME=PATH";
    let Some(first) = specs.iter().find(|s| s.needs_mount()) else {
        return Ok(());
    };
    if !nix::unistd::geteuid().is_root() {
        return Err(format!(
            "making a {} file system needs root (mount, loop devices): run as root, {dir_hint}",
            first.name
        ));
    }
    for tool in ["mount", "umount"] {
        if find_program(tool).is_none() {
            return Err(format!(
                "{tool} not found: apt-get install mount, {dir_hint}"
            ));
        }
    }
    for spec in specs {
        if spec.mkfs().is_some() && !Path::new("/dev/loop-control").exists() {
            return Err(format!(
                "{}: no loop devices here (/dev/loop-control is missing), {dir_hint}",
                spec.name
            ));
        }
        if let Some((program, _, package)) = spec.mkfs()
            && find_program(program).is_none()
        {
            return Err(format!(
                "{program} not found: apt-get install {package}, or leave {} out of --fs, {dir_hint}",
                spec.name
            ));
        }
    }
    Ok(())
}

/// Checks, before anything is made, that `spec` can be made on a
/// recording disk ([`super::RecordingDisk`]): a file system with a disk
/// (not a tmpfs nor a `--dir`), root, a usable `/dev/fuse` with `fuse` in
/// the kernel, loop devices, and the programs [`preflight`] checks. The
/// error is one line that says what is missing and what to do.
pub fn preflight_recording(spec: &FsSpec) -> Result<(), String> {
    match spec.kind {
        FsKind::Tmpfs => return Err("tmpfs has no disk to lose power on".into()),
        FsKind::Dir(_) => {
            return Err(format!(
                "{}: a directory already mounted has no disk torture can record: \
                 name a file system torture makes ({})",
                spec.name,
                NAMES[1..].join(", ")
            ));
        }
        _ => {}
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(
            "power loss on a real file system needs root (FUSE, loop devices, \
             mount): run as root, or use torture explore --faults power"
                .into(),
        );
    }
    let fuse_hint = "no /dev/fuse here (modprobe fuse; in a container: --device /dev/fuse)";
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        return Err(format!("{fuse_hint}: {e}"));
    }
    let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some("fuse"))
    {
        return Err(
            "the kernel has no fuse file system (not in /proc/filesystems): modprobe fuse".into(),
        );
    }
    preflight(std::slice::from_ref(spec))
}

/// The path of `program` in `PATH` (and the sbin directories, which a
/// non-login root shell may lack).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

pub(crate) fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let path = find_program(program).ok_or_else(|| format!("{program} not found"))?;
    let out = Command::new(&path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    Err(format!(
        "{program} {} failed ({}): {}",
        args.join(" "),
        out.status,
        err.trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_junk_is_refused() {
        for name in NAMES {
            assert_eq!(FsSpec::parse(name).unwrap().name, *name);
        }
        let err = FsSpec::parse("zfs").unwrap_err();
        assert!(err.contains("zfs") && err.contains("--dir"), "{err}");
        assert!(FsSpec::parse_dir("x").is_err());
        assert!(FsSpec::parse_dir("=/tmp").is_err());
        assert!(FsSpec::parse_dir("nope=/definitely/not/here").is_err());
        let d = FsSpec::parse_dir("here=/tmp").unwrap();
        assert_eq!(d.kind, FsKind::Dir("/tmp".into()));
        assert!(!d.needs_mount());
        assert_eq!(
            FsSpec::parse("ext4-journal").unwrap().mount_options(),
            Some("data=journal")
        );
    }

    #[test]
    fn labels_and_power_loss_options_name_the_mode() {
        let spec = |n| FsSpec::parse(n).unwrap();
        assert_eq!(spec("ext4").label(), "ext4, data=ordered");
        assert_eq!(spec("ext4-journal").label(), "ext4, data=journal");
        assert_eq!(spec("ext4").power_loss_mount_options(), "data=ordered");
        assert_eq!(spec("xfs").power_loss_mount_options(), "");
        assert_eq!(spec("btrfs").power_loss_mount_options(), "nodiscard");
        let (program, args) = spec("ext4").recording_mkfs().unwrap();
        assert_eq!(program, "mkfs.ext4");
        assert!(args.contains(&"lazy_itable_init=0,lazy_journal_init=0"));
        assert!(spec("tmpfs").recording_mkfs().is_none());
    }

    #[test]
    fn a_recording_disk_needs_a_disk() {
        let err = preflight_recording(&FsSpec::parse("tmpfs").unwrap()).unwrap_err();
        assert_eq!(err, "tmpfs has no disk to lose power on");
        let d = FsSpec::parse_dir("here=/tmp").unwrap();
        assert!(preflight_recording(&d).unwrap_err().contains("here"));
    }

    #[test]
    fn only_mounted_directories_need_nothing() {
        let d = FsSpec::parse_dir("here=/tmp").unwrap();
        assert_eq!(preflight(&[d]), Ok(()));
    }
}
