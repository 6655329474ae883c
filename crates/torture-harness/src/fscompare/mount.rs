//! The file systems under comparison: loop images made with the matching
//! `mkfs` and mounted, a tmpfs, or a directory the user already mounted.
//!
//! Everything made here is removed on every way out: [`Mounted`]'s drop
//! unmounts and deletes the image, and each mount and the scratch directory
//! are registered with the [`Watchdog`], which unmounts and deletes them if
//! `torture` itself is killed (a mount point only inside the scratch
//! directory). A loop device is set up by mount(8) with autoclear: it goes
//! with the last unmount.
//!
//! The file-system specs ([`FsSpec`], [`preflight`], ...) live in
//! [`crate::disk`], below the runner, which the power-loss tier needs; they
//! are re-exported here unchanged.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::disk::spec::run;
pub use crate::disk::{FsKind, FsSpec, NAMES, find_program, preflight};
use crate::process::Watchdog;

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
