//! The word that names torture itself in the command lines it prints:
//! replay lines, `repro.sh`, `replay.sh`.
//!
//! A printed line must run where it is pasted, and torture is often run
//! from where it was built (`target/release/torture`, a CI checkout),
//! never installed. So the word is plain `torture` only when the shell,
//! looking `torture` up in `PATH`, finds this very executable; otherwise
//! it is the executable's absolute path, quoted for the shell.
//!
//! Guarantees: the rule is one pure function of the executable and a
//! `PATH` value ([`word_for`]), and [`word`] decides it once per executable
//! and process, so every line of one run names torture the same way. A
//! `PATH` entry that is relative (empty means the current directory)
//! before the first `torture` makes the answer the absolute path: such a
//! lookup depends on where the line is run.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The name torture is installed under.
pub const NAME: &str = "torture";

/// The word that runs `exe` from a shell whose search path is `path`:
/// [`NAME`] when the first `torture` `path` finds is `exe` itself (same
/// canonical path), else `exe`'s absolute path, quoted for the shell.
pub fn word_for(exe: &Path, path: Option<&OsStr>) -> String {
    let real = real_path(exe);
    let found = path.and_then(first_on_path);
    match (real.canonicalize(), found.map(|f| f.canonicalize())) {
        (Ok(a), Some(Ok(b))) if a == b => NAME.into(),
        _ => crate::shell::quote(&real.to_string_lossy()),
    }
}

/// [`word_for`] this process's `PATH`, decided once per executable: every
/// line a run prints names it the same way.
pub fn word(exe: &Path) -> String {
    static DECIDED: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
    let mut decided = DECIDED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, w)) = decided.iter().find(|(p, _)| p == exe) {
        return w.clone();
    }
    let w = word_for(exe, std::env::var_os("PATH").as_deref());
    decided.push((exe.to_path_buf(), w.clone()));
    w
}

/// Where `exe` really is: `/proc/self/exe` names the shell that runs a
/// line, not torture, so links are resolved. A binary replaced or deleted
/// since it started is named where it was (the kernel's ` (deleted)`
/// mark dropped): an upgrade put a torture there. A path that resolves
/// to nothing is kept as it is.
fn real_path(exe: &Path) -> PathBuf {
    if let Ok(p) = exe.canonicalize() {
        return p;
    }
    match std::fs::read_link(exe) {
        Ok(target) if target.is_absolute() => {
            let text = target.to_string_lossy();
            PathBuf::from(text.strip_suffix(" (deleted)").unwrap_or(&text))
        }
        _ => exe.to_path_buf(),
    }
}

/// The `torture` a shell would run with this search path, if it is
/// certain: `None` when a relative entry comes first.
fn first_on_path(path: &OsStr) -> Option<PathBuf> {
    for dir in std::env::split_paths(path) {
        if dir.is_relative() {
            return None;
        }
        let candidate = dir.join(NAME);
        if let Ok(meta) = std::fs::metadata(&candidate)
            && crate::platform::is_executable(&meta)
        {
            return Some(candidate);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    /// An executable file at `path` (a copy of /bin/true).
    fn executable(path: &Path) {
        std::fs::copy("/bin/true", path).unwrap();
    }

    fn path_of(dirs: &[&Path]) -> OsString {
        std::env::join_paths(dirs).unwrap()
    }

    #[test]
    fn plain_name_when_path_finds_this_executable() {
        let t = tempfile::tempdir().unwrap();
        let (bin, other) = (t.path().join("bin"), t.path().join("other"));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let exe = t.path().join("build dir/torture");
        std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
        executable(&exe);
        std::os::unix::fs::symlink(&exe, bin.join(NAME)).unwrap();
        // Found through a link, after a directory without one.
        let path = path_of(&[&other, &bin]);
        assert_eq!(word_for(&exe, Some(&path)), "torture");
        // `exe` itself given through a link (as /proc/self/exe is).
        assert_eq!(word_for(&bin.join(NAME), Some(&path)), "torture");
    }

    #[test]
    fn absolute_path_when_path_finds_another_or_none() {
        let t = tempfile::tempdir().unwrap();
        let (bin, other) = (t.path().join("bin"), t.path().join("other"));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let exe = t.path().join("build dir/torture");
        std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
        executable(&exe);
        std::os::unix::fs::symlink(&exe, bin.join(NAME)).unwrap();
        let quoted = crate::shell::quote(&exe.canonicalize().unwrap().to_string_lossy());
        assert!(quoted.starts_with('\''), "{quoted}");
        // Not on PATH, or no PATH at all.
        assert_eq!(word_for(&exe, Some(&path_of(&[&other]))), quoted);
        assert_eq!(word_for(&exe, None), quoted);
        // Another torture first: the shell would run that one.
        executable(&other.join(NAME));
        assert_eq!(word_for(&exe, Some(&path_of(&[&other, &bin]))), quoted);
        // A torture that is not executable is passed over, as by the shell.
        use std::os::unix::fs::PermissionsExt;
        let plain = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(other.join(NAME), plain).unwrap();
        assert_eq!(word_for(&exe, Some(&path_of(&[&other, &bin]))), "torture");
        // A relative entry first: the answer would depend on the directory.
        let relative = OsString::from(format!(":{}", bin.display()));
        assert_eq!(word_for(&exe, Some(&relative)), quoted);
        // A name that resolves to nothing is kept as given.
        let gone = Path::new("/nonexistent/torture");
        assert_eq!(word_for(gone, None), "/nonexistent/torture");
    }

    #[test]
    fn a_deleted_executable_is_named_where_it_was() {
        let t = tempfile::tempdir().unwrap();
        let exe = t.path().join("torture");
        executable(&exe);
        let link = t.path().join("exe");
        std::os::unix::fs::symlink(format!("{} (deleted)", exe.display()), &link).unwrap();
        std::fs::remove_file(&exe).unwrap();
        assert_eq!(real_path(&link), exe);
    }

    #[test]
    fn the_word_is_decided_once_per_executable() {
        let exe = crate::platform::self_exe().unwrap();
        assert_eq!(word(&exe), word(&exe));
        assert_eq!(
            word(&exe),
            word_for(&exe, std::env::var_os("PATH").as_deref())
        );
    }
}
