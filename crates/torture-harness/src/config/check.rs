//! The checks of single settings, with the one set of messages every
//! source shows: a check says why a value is wrong ("must be at least 1");
//! the source's [`Naming`] says which setting (`--writers`, key `writers`).
//!
//! The command line's value parsers call the same checks, so a value is
//! refused with the same words whether it comes from an option or a key.

use std::fmt;
use std::time::Duration;

use super::{MAX_PAYLOAD, defaults::MAX_CHILDREN};

/// How a source names its settings in an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// Command-line options: `--kill-rate`.
    Flags,
    /// Scenario-file keys: key `kill_rate`.
    Keys,
}

/// A setting, by its scenario key (`kill_rate`); its option is the same
/// word with dashes (`--kill-rate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting(pub &'static str);

impl Setting {
    /// The setting as `naming` writes it.
    pub fn named(self, naming: Naming) -> String {
        match naming {
            Naming::Flags => format!("--{}", self.0.replace('_', "-")),
            Naming::Keys => format!("key `{}`", self.0),
        }
    }
}

/// A configuration that cannot be used: the setting at fault and why.
/// Nothing was touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting at fault.
    pub setting: Setting,
    /// How the source names it.
    pub naming: Naming,
    /// Why, as a fragment that says what to do.
    pub reason: String,
}

impl ConfigError {
    /// `setting` is wrong because of `reason`, named as `naming` does.
    pub fn new(setting: &'static str, naming: Naming, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            setting: Setting(setting),
            naming,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting.named(self.naming), self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// `r`'s reason, if any, as the error of `setting`.
pub fn named<T>(
    r: Result<T, String>,
    setting: &'static str,
    naming: Naming,
) -> Result<T, ConfigError> {
    r.map_err(|why| ConfigError::new(setting, naming, why))
}

/// A count of processes: at least `min`, at most [`MAX_CHILDREN`].
pub fn processes(n: usize, min: usize) -> Result<usize, String> {
    if n < min {
        return Err(format!("must be at least {min}"));
    }
    if n > MAX_CHILDREN {
        return Err(format!(
            "{n} is more than {MAX_CHILDREN}, the most processes of a kind"
        ));
    }
    Ok(n)
}

/// A probability: in `[0, 1]`.
pub fn kill_rate(p: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is outside [0, 1]"))
    }
}

/// Padding bytes: at most [`MAX_PAYLOAD`].
pub fn payload(n: usize) -> Result<usize, String> {
    if n > MAX_PAYLOAD {
        return Err(format!(
            "{n} is more than the limit of {MAX_PAYLOAD} bytes (256 MiB)"
        ));
    }
    Ok(n)
}

/// A duration or a timeout: more than 0, at most [`crate::duration::MAX`].
pub fn duration(d: Duration) -> Result<Duration, String> {
    if d.is_zero() {
        return Err("must be more than 0".into());
    }
    if d > crate::duration::MAX {
        return Err(format!(
            "{} is more than 30 days, the longest duration taken",
            crate::duration::format(d)
        ));
    }
    Ok(d)
}

/// A count that must be at least 1 (`ops`, `until_covered`).
pub fn at_least_one(n: u64) -> Result<u64, String> {
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

/// The file systems `--power-loss` and `explore --fs` run on: those with a
/// block device.
pub const POWER_LOSS_FS: &[&str] = &["ext4", "ext4-journal", "xfs", "btrfs"];

/// A file system with a disk to lose power on: one of [`POWER_LOSS_FS`]
/// (`--power-loss`, `explore --fs`).
pub fn power_fs(fs: &str) -> Result<(), String> {
    if fs == "tmpfs" {
        return Err(
            "tmpfs has no disk to lose power on (a process crash is all it can show)".into(),
        );
    }
    if !POWER_LOSS_FS.contains(&fs) {
        return Err(format!(
            "unknown file system {fs:?} (valid: {})",
            POWER_LOSS_FS.join(", ")
        ));
    }
    Ok(())
}

/// A recording disk's size in MiB, big enough for `fs`'s mkfs (XFS
/// refuses less than 300 MB).
pub fn image_mib(fs: &str, mib: u64) -> Result<(), String> {
    let min_mib = if fs == "xfs" { 300 } else { 64 };
    if mib < min_mib {
        return Err(format!(
            "{mib} MiB is too small for {fs} (at least {min_mib})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_two_namings() {
        let e = ConfigError::new("kill_rate", Naming::Flags, kill_rate(1.5).unwrap_err());
        assert_eq!(e.to_string(), "--kill-rate: 1.5 is outside [0, 1]");
        let e = ConfigError {
            naming: Naming::Keys,
            ..e
        };
        assert_eq!(e.to_string(), "key `kill_rate`: 1.5 is outside [0, 1]");
    }

    #[test]
    fn bounds_hold_at_their_edges() {
        assert!(kill_rate(f64::NAN).is_err());
        assert_eq!(kill_rate(0.0), Ok(0.0));
        assert_eq!(kill_rate(1.0), Ok(1.0));
        assert!(processes(0, 1).is_err());
        assert_eq!(processes(0, 0), Ok(0));
        assert_eq!(processes(MAX_CHILDREN, 1), Ok(MAX_CHILDREN));
        assert!(processes(MAX_CHILDREN + 1, 1).is_err());
        assert_eq!(payload(MAX_PAYLOAD), Ok(MAX_PAYLOAD));
        assert!(payload(MAX_PAYLOAD + 1).is_err());
        assert!(duration(Duration::ZERO).is_err());
        assert!(duration(crate::duration::MAX).is_ok());
        assert!(duration(crate::duration::MAX + Duration::from_secs(1)).is_err());
        assert!(at_least_one(0).is_err());
    }
}
