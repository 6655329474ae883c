//! The file systems under comparison: loop images made with the matching
//! `mkfs` and mounted, a tmpfs, or a directory the user already mounted.
//!
//! Everything made here is removed on every way out: [`Mounted`]'s drop
//! unmounts and deletes the image, and each mount and the scratch directory
//! are registered with the [`Watchdog`], which unmounts and deletes them if
//! `torture` itself is killed (a mount point only inside the scratch
//! directory). A loop device is set up by mount(8) with autoclear: it goes
//! with the last unmount.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::process::Watchdog;

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

/// The path of `program` in `PATH` (and the sbin directories, which a
/// non-login root shell may lack).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A file system ready to run in; unmounted and deleted when dropped.
pub struct Mounted {
    /// Its name in reports.
    pub name: String,
    /// Where to make run directories.
    pub root: PathBuf,
    /// What backs it, for the report (`loop image /tmp/x/ext4.img`, ...).
    pub backing: String,
    mountpoint: Option<PathBuf>,
    image: Option<PathBuf>,
    watchdog: Arc<Watchdog>,
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
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

/// Makes and mounts `spec` under `scratch` (an image of `size` bytes).
pub fn mount(
    spec: &FsSpec,
    scratch: &Path,
    size: u64,
    watchdog: &Arc<Watchdog>,
) -> Result<Mounted, String> {
    let mut m = Mounted {
        name: spec.name.clone(),
        root: scratch.to_path_buf(),
        backing: String::new(),
        mountpoint: None,
        image: None,
        watchdog: Arc::clone(watchdog),
    };
    if let FsKind::Dir(path) = &spec.kind {
        m.root = path.clone();
        m.backing = format!("already mounted: {}", path.display());
        return Ok(m);
    }
    let mnt = scratch.join(format!("mnt-{}", spec.name));
    std::fs::create_dir(&mnt).map_err(|e| format!("cannot create {}: {e}", mnt.display()))?;
    // Registered before the mount exists: a SIGKILL of torture right after
    // mount(8) returns must still find it (unmounting a plain directory is
    // harmless), and the drop unmounts it even if a later step fails.
    watchdog.watch_mount(&mnt);
    m.mountpoint = Some(mnt.clone());
    let mnt_str = mnt.to_string_lossy().to_string();
    if spec.kind == FsKind::Tmpfs {
        let size_opt = format!("size={size}");
        run(
            "mount",
            &["-t", "tmpfs", "-o", &size_opt, "tmpfs", &mnt_str],
        )?;
        m.backing = format!("tmpfs, {} MiB", size >> 20);
    } else {
        let (program, args, _) = spec.mkfs().expect("an image file system");
        let image = scratch.join(format!("{}.img", spec.name));
        let file = std::fs::File::create(&image)
            .map_err(|e| format!("cannot create {}: {e}", image.display()))?;
        file.set_len(size)
            .map_err(|e| format!("cannot size {}: {e}", image.display()))?;
        drop(file);
        m.image = Some(image.clone());
        let image_str = image.to_string_lossy().to_string();
        let mut mkfs_args: Vec<&str> = args.to_vec();
        mkfs_args.push(&image_str);
        run(program, &mkfs_args)?;
        let opts = match spec.mount_options() {
            Some(o) => format!("loop,{o}"),
            None => "loop".to_string(),
        };
        run("mount", &["-o", &opts, &image_str, &mnt_str])?;
        m.backing = format!(
            "loop image {}, {} MiB, {program}",
            image.display(),
            size >> 20
        );
    }
    m.root = mnt;
    Ok(m)
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(mnt) = self.mountpoint.take() {
            let path = mnt.to_string_lossy().to_string();
            // A lazy unmount if something still holds it: it goes away as
            // soon as the last user does.
            if run("umount", &[&path]).is_err() {
                let _ = run("umount", &["-l", &path]);
            }
            self.watchdog.forget_mount(&mnt);
            let _ = std::fs::remove_dir(&mnt);
        }
        if let Some(image) = self.image.take() {
            let _ = std::fs::remove_file(&image);
        }
    }
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
    fn only_mounted_directories_need_nothing() {
        let d = FsSpec::parse_dir("here=/tmp").unwrap();
        assert_eq!(preflight(&[d]), Ok(()));
    }
}
