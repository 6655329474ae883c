//! Helpers for unit tests: of the disciplines, and of the harness through
//! the `test-util` feature.

use std::path::Path;
use std::process::Command;

/// A directory holding `state.json` = "old" in which nothing can be created.
///
/// As root, permission bits do not stop us, so the directory is a read-only
/// tmpfs mount; otherwise it is a directory with mode 0555.
pub struct ReadOnlyDir {
    dir: tempfile::TempDir,
    mounted: bool,
}

impl ReadOnlyDir {
    /// Makes one, or returns `None` when this machine cannot.
    pub fn new() -> Option<Self> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().ok()?;
        let p = dir.path();
        let root = nix::unistd::geteuid().is_root();
        if !root {
            std::fs::write(p.join("state.json"), b"old").ok()?;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o555)).ok()?;
            return Some(Self {
                dir,
                mounted: false,
            });
        }
        mount(p, &["-t", "tmpfs", "-o", "size=1m", "tmpfs"])?;
        std::fs::write(p.join("state.json"), b"old").ok()?;
        mount(p, &["-o", "remount,ro"]).or_else(|| {
            let _ = Command::new("umount").arg(p).status();
            None
        })?;
        Some(Self { dir, mounted: true })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn mount(p: &Path, args: &[&str]) -> Option<()> {
    let ok = Command::new("mount")
        .args(args)
        .arg(p)
        .status()
        .ok()?
        .success();
    ok.then_some(())
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.mounted {
            let _ = Command::new("umount").arg(self.dir.path()).status();
        } else {
            let _ =
                std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o755));
        }
    }
}
