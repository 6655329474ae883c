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
//!
//! The pieces that print:
//!
//! - [`Paint`] colours a verdict line by its [`Style`] (green, red,
//!   yellow: plain ANSI codes), or returns it unchanged. The binary makes
//!   one per stream ([`Paint::stdout`], [`Paint::stderr`]) and hands it to
//!   the library's summaries, which never decide colour themselves; reports
//!   (JSON, JUnit, Markdown) never get one, so they never hold an escape
//!   code. Once [`crate::output::divert_human_output`] has sent the human
//!   summary to stderr, [`Paint::stdout`] follows stderr's setting.
//! - [`Bar`] is a progress bar on stderr (indicatif), drawn only when the
//!   command's configuration says so (its `progress` setting, which the
//!   binary sets from [`progress`]); otherwise it draws nothing, and its
//!   [`Bar::line`] is a plain line on stderr. It erases itself when dropped,
//!   so a summary printed after it starts on a clean line.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::vocab::Verdict;

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

/// Set once the human summary printed on stdout goes to stderr.
static STDOUT_IS_STDERR: AtomicBool = AtomicBool::new(false);

/// Says that from now on what is printed on stdout lands on stderr (a
/// report holds stdout): its colour then follows stderr's.
pub fn stdout_is_stderr() {
    STDOUT_IS_STDERR.store(true, Ordering::SeqCst);
}

/// What a verdict line says, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A pass, or an expectation met: green.
    Good,
    /// A violation, or an expectation missed on evidence: red.
    Bad,
    /// No verdict: inconclusive, interrupted, a harness error: yellow.
    Doubt,
}

impl Style {
    /// The style of a verdict.
    pub fn of(verdict: Verdict) -> Style {
        match verdict {
            Verdict::Pass => Style::Good,
            Verdict::Fail => Style::Bad,
            Verdict::Inconclusive | Verdict::Interrupted | Verdict::Error => Style::Doubt,
        }
    }

    /// The style of a result held against its expectation: green when met,
    /// else by what the miss makes of the verdict ([`Verdict::of_miss`]).
    pub fn of_expectation(met: bool, verdict: Verdict) -> Style {
        match met {
            true => Style::Good,
            false => Style::of(Verdict::of_miss(verdict)),
        }
    }

    /// The SGR parameters: bold and the colour.
    fn sgr(self) -> &'static str {
        match self {
            Style::Good => "1;32",
            Style::Bad => "1;31",
            Style::Doubt => "1;33",
        }
    }
}

/// Colours text, or leaves it alone: decided by whoever knows where the
/// text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// No colour: for reports, files and tests.
    pub const PLAIN: Paint = Paint { on: false };

    /// Colours when `on`.
    pub fn new(on: bool) -> Paint {
        Paint { on }
    }

    /// For the human summary printed on stdout (which may be stderr by
    /// now, see [`stdout_is_stderr`]).
    pub fn stdout() -> Paint {
        let t = get();
        match STDOUT_IS_STDERR.load(Ordering::SeqCst) {
            true => Paint::new(t.color_stderr),
            false => Paint::new(t.color_stdout),
        }
    }

    /// For a line printed on stderr.
    pub fn stderr() -> Paint {
        Paint::new(get().color_stderr)
    }

    /// Whether it colours.
    pub fn is_on(self) -> bool {
        self.on
    }

    /// `text` in `style`'s colour, or unchanged.
    pub fn paint(self, style: Style, text: &str) -> String {
        match self.on {
            true => format!("\x1b[{}m{text}\x1b[0m", style.sgr()),
            false => text.to_string(),
        }
    }
}

/// `text` in `style`'s colour if the stream (stdout, else stderr) is
/// coloured.
pub fn paint(style: Style, text: &str, for_stdout: bool) -> String {
    match for_stdout {
        true => Paint::stdout().paint(style, text),
        false => Paint::stderr().paint(style, text),
    }
}

/// A progress bar on stderr, or nothing.
///
/// Drawn at once when made (so that even a short command shows it on a
/// terminal), redrawn at most a few times a second, and erased when
/// dropped or [`cleared`](Bar::clear). Lines printed meanwhile go through
/// [`Bar::line`], above it.
pub struct Bar {
    bar: Option<indicatif::ProgressBar>,
}

impl Bar {
    /// A bar of `len` steps with `message` after it when `draw` (a
    /// command's `progress` setting), else one that draws nothing. The
    /// message is cut to the terminal's width, so the bar stays one line.
    pub fn new(draw: bool, len: u64, message: String) -> Bar {
        if !draw {
            return Bar::hidden();
        }
        let style = indicatif::ProgressStyle::with_template("[{bar:30}] {wide_msg}")
            .expect("the template is valid")
            .progress_chars("=> ");
        let target = indicatif::ProgressDrawTarget::stderr();
        let bar = indicatif::ProgressBar::with_draw_target(Some(len), target)
            .with_style(style)
            .with_message(message);
        bar.tick();
        Bar { bar: Some(bar) }
    }

    /// A bar that draws nothing.
    pub fn hidden() -> Bar {
        Bar { bar: None }
    }

    /// Whether it draws.
    pub fn is_drawn(&self) -> bool {
        self.bar.is_some()
    }

    /// Moves it to `pos` with `message` after it.
    pub fn set(&self, pos: u64, message: String) {
        if let Some(b) = &self.bar {
            // The message first: it often names the position, and each
            // call may draw.
            b.set_message(message);
            b.set_position(pos);
        }
    }

    /// One more step done, with `message` after it.
    pub fn step(&self, message: String) {
        if let Some(b) = &self.bar {
            b.set_message(message);
            b.inc(1);
        }
    }

    /// How many steps are done.
    pub fn position(&self) -> u64 {
        self.bar.as_ref().map_or(0, |b| b.position())
    }

    /// Prints `text` as a line on stderr, above the bar.
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    /// Erases it; it draws nothing after.
    pub fn clear(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.clear();
    }
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

    #[test]
    fn plain_paint_leaves_text_alone_and_colour_wraps_it() {
        assert_eq!(
            Paint::PLAIN.paint(Style::Bad, "verdict: FAIL"),
            "verdict: FAIL"
        );
        let red = Paint::new(true).paint(Style::Bad, "verdict: FAIL");
        assert_eq!(red, "\x1b[1;31mverdict: FAIL\x1b[0m");
        assert!(Paint::new(true).paint(Style::Good, "x").contains("[1;32m"));
        assert!(Paint::new(true).paint(Style::Doubt, "x").contains("[1;33m"));
    }

    #[test]
    fn styles_follow_the_verdict_and_the_expectation() {
        assert_eq!(Style::of(Verdict::Pass), Style::Good);
        assert_eq!(Style::of(Verdict::Fail), Style::Bad);
        assert_eq!(Style::of(Verdict::Inconclusive), Style::Doubt);
        assert_eq!(Style::of(Verdict::Error), Style::Doubt);
        // An expected failure found is good; a pass that should have failed is bad.
        assert_eq!(Style::of_expectation(true, Verdict::Fail), Style::Good);
        assert_eq!(Style::of_expectation(false, Verdict::Pass), Style::Bad);
        assert_eq!(
            Style::of_expectation(false, Verdict::Inconclusive),
            Style::Doubt
        );
    }

    #[test]
    fn a_hidden_bar_counts_nothing_and_a_cleared_one_is_gone() {
        let mut bar = Bar::new(false, 10, String::new());
        assert!(!bar.is_drawn());
        bar.step("x".into());
        assert_eq!(bar.position(), 0);
        bar.clear();
        // A drawn one counts (on no terminal, indicatif draws nothing).
        let mut bar = Bar::new(true, 10, "starting".into());
        bar.step("x".into());
        bar.set(7, "y".into());
        assert_eq!(bar.position(), 7);
        bar.clear();
        assert!(!bar.is_drawn());
    }
}
