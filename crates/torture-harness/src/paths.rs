//! The paths `torture` accepts from its caller.
//!
//! A control character (a newline, a carriage return, a tab, NUL, any other
//! C0 byte or DEL) in a directory or file name given on the command line,
//! or in `TMPDIR`, is a mistake or an attack: no tool writes such names on
//! purpose, and a newline once let a path become a command of the
//! watchdog's line protocol. Such a path is refused at the edge, in one
//! line that shows it escaped.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Refuses `path` if it holds a control character; `what` names where it
/// came from (`--dir`, `TMPDIR`, ...).
pub fn check(what: &str, path: &Path) -> Result<(), String> {
    match path
        .as_os_str()
        .as_bytes()
        .iter()
        .find(|b| b.is_ascii_control())
    {
        Some(&b) => Err(format!(
            "{what} {path:?} holds the control character {:?}: give a path without one",
            char::from(b)
        )),
        None => Ok(()),
    }
}

/// [`check`] for each `(what, path)` given.
pub fn check_each(paths: &[(&str, Option<&Path>)]) -> Result<(), String> {
    paths
        .iter()
        .filter_map(|(what, p)| p.map(|p| (what, p)))
        .try_for_each(|(what, p)| check(what, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_in_one_line() {
        assert!(check("--dir", Path::new("/tmp/ok dir/é")).is_ok());
        for bad in [
            "/tmp/x/s\n+d /tmp/x/victim\n+x",
            "a\rb",
            "a\tb",
            "a\x7fb",
            "a\x01",
        ] {
            let e = check("--scratch", Path::new(bad)).unwrap_err();
            assert!(e.starts_with("--scratch "), "{e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }
}
