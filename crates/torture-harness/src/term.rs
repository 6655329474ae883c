//! What the terminal gets: colour, quiet mode and live progress, decided
//! once per process from `--color`, `NO_COLOR`, `-q` and whether the
//! streams are terminals.
//!
//! The rules, the same for every command:
//!
//! - **Colour** follows `--color auto|always|never`. `auto` (the default)
//!   colours a stream only when it is a terminal, `NO_COLOR` (set and not
//!   empty, <https://no-color.org>) is not set, and `TERM` is not `dumb`.
//!   `always` colours even a pipe; `never` never does.
//! - **Quiet** (`-q`) prints the verdict and errors only: no header, no
//!   progress, no explanations.
//! - **Progress** is drawn on stderr only when stderr is a terminal and the
//!   run is not quiet. On a pipe, nothing but the summary.
//!
//! [`init`] is called once by the binary before any output; a library user
//! who never calls it gets the defaults (`auto`, not quiet).

use std::io::IsTerminal;
use std::sync::OnceLock;

/// When to colour output: `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// Colour a stream only when it is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour, even a pipe or a file.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Parses `auto`, `always` or `never`.
    pub fn parse(s: &str) -> Result<ColorChoice, String> {
        match s {
            "auto" => Ok(ColorChoice::Auto),
            "always" => Ok(ColorChoice::Always),
            "never" => Ok(ColorChoice::Never),
            _ => Err(format!("'{s}' is not auto, always or never")),
        }
    }
}

/// What this process prints, decided once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// Colour what goes to stdout.
    pub color_stdout: bool,
    /// Colour what goes to stderr.
    pub color_stderr: bool,
    /// `-q`: the verdict and errors only.
    pub quiet: bool,
    /// Draw live progress on stderr.
    pub progress: bool,
}

impl Term {
    /// Decides from the choices and the environment of this process.
    pub fn detect(color: ColorChoice, quiet: bool) -> Term {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|v| v == "dumb");
        let stdout_tty = std::io::stdout().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        let colour = |tty: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color && !dumb,
        };
        Term {
            color_stdout: colour(stdout_tty),
            color_stderr: colour(stderr_tty),
            quiet,
            progress: stderr_tty && !quiet && !dumb,
        }
    }
}

static TERM: OnceLock<Term> = OnceLock::new();

/// Fixes the terminal settings for this process; the first call wins.
pub fn init(color: ColorChoice, quiet: bool) -> Term {
    *TERM.get_or_init(|| Term::detect(color, quiet))
}

/// The terminal settings: those given to [`init`], or the defaults.
pub fn get() -> Term {
    *TERM.get_or_init(|| Term::detect(ColorChoice::Auto, false))
}

/// Whether the run is quiet (`-q`).
pub fn quiet() -> bool {
    get().quiet
}

/// Whether live progress is drawn on stderr.
pub fn progress() -> bool {
    get().progress
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_and_reject() {
        assert_eq!(ColorChoice::parse("auto"), Ok(ColorChoice::Auto));
        assert_eq!(ColorChoice::parse("always"), Ok(ColorChoice::Always));
        assert_eq!(ColorChoice::parse("never"), Ok(ColorChoice::Never));
        assert!(ColorChoice::parse("yes").unwrap_err().contains("'yes'"));
    }

    #[test]
    fn always_and_never_override_the_terminal_and_quiet_stops_progress() {
        let t = Term::detect(ColorChoice::Always, true);
        assert!(t.color_stdout && t.color_stderr);
        assert!(t.quiet && !t.progress);
        let t = Term::detect(ColorChoice::Never, false);
        assert!(!t.color_stdout && !t.color_stderr);
    }
}
