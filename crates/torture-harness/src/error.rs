//! The harness's one error type: why a command could give no verdict.
//!
//! Three kinds, each with its own exit code (see [`crate::exit::of_error`]):
//! a setting that is wrong ([`Error::Config`]) and other input that is
//! wrong ([`Error::BadInput`]), both refused before anything of the user's
//! is touched; and a failure of the harness itself ([`Error::Harness`]),
//! not of the code under test. Messages carry their context, outermost
//! first (`scenarios/x.toml: --kill-rate: ...`), added with
//! [`Error::context`].

use std::fmt;

use crate::config::ConfigError;

/// Why a run, an exploration or a comparison gave no verdict.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is wrong; nothing was touched.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// Other input is wrong (a path, a scenario file, a program that fails
    /// without any fault, a missing privilege or tool); nothing was touched.
    #[error("{0}")]
    BadInput(String),
    /// The harness itself failed (a spawn, a write, a mount): no verdict on
    /// the code under test.
    #[error("{0}")]
    Harness(String),
}

impl Error {
    /// Bad input, with this message.
    pub fn bad_input(message: impl fmt::Display) -> Error {
        Error::BadInput(message.to_string())
    }

    /// A harness failure, with this message.
    pub fn harness(message: impl fmt::Display) -> Error {
        Error::Harness(message.to_string())
    }

    /// Whether the input was at fault (not the harness).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Error::Harness(_))
    }

    /// The same error, saying what was being done: `what: message`.
    pub fn context(self, what: impl fmt::Display) -> Error {
        match self {
            Error::Harness(m) => Error::Harness(format!("{what}: {m}")),
            e => Error::BadInput(format!("{what}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Naming;

    #[test]
    fn context_keeps_the_kind_and_comes_first() {
        let e = Error::from(ConfigError::new(
            "writers",
            Naming::Keys,
            "must be at least 1",
        ))
        .context("s.toml");
        assert!(e.is_bad_input());
        assert_eq!(e.to_string(), "s.toml: key `writers`: must be at least 1");
        let e = Error::harness("cannot spawn").context("ext4");
        assert!(!e.is_bad_input());
        assert_eq!(e.to_string(), "ext4: cannot spawn");
    }
}
