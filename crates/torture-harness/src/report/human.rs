//! The human summary printed at the end of a run.
//!
//! [`summary_painted`] colours its verdict line through the [`Paint`] it is
//! given (the binary's choice; see [`crate::term`]), [`summary`] never does.
//! [`verdict_line`] is that line alone, all that `-q` prints.

use std::fmt::Write;

use super::{Report, StopReason};
use crate::term::{Paint, Style};
use crate::vocab::{Expectation, Verdict, ViolationKind, against};

/// How many evidence lines of each class the summary prints.
const EVIDENCE_LINES: usize = 3;

/// What the process-crash tier can and cannot show, printed with verdicts.
const TIER_NOTE: &str = "SIGKILL leaves the page cache intact, so a missing fsync cannot show here";

/// The end-of-run summary: a small table, the evidence, the verdict; no
/// colour.
pub fn summary(r: &Report) -> String {
    summary_painted(r, Paint::PLAIN)
}

/// The end-of-run summary, its verdict line coloured by `paint`.
pub fn summary_painted(r: &Report, paint: Paint) -> String {
    let mut s = String::new();
    let c = &r.config;
    let _ = writeln!(s, "{}", header(r));
    match &r.power_loss {
        Some(p) => {
            let _ = writeln!(
                s,
                "fault tier: {} and process crash (mkfs: {}; mount -o {})",
                p.label, p.mkfs, p.mount_options
            );
        }
        None => {
            let _ = writeln!(s, "fault tier: {} ({TIER_NOTE})", r.fault_tier);
        }
    }
    let removed = match (r.dir_removed, r.dir_kept) {
        (true, _) => " (temporary, removed)",
        (_, true) => " (temporary, kept as evidence: `torture clean` removes it)",
        _ => "",
    };
    let _ = writeln!(s, "run directory: {}{removed}", c.dir);
    let _ = writeln!(s);
    let row = |s: &mut String, k: &str, v: String| {
        let _ = writeln!(s, "  {k:<18} {v}");
    };
    row(&mut s, "ops acked", r.ops.acked.to_string());
    row(&mut s, "ops failed", r.ops.failed.to_string());
    row(&mut s, "ops indeterminate", r.ops.indeterminate.to_string());
    row(
        &mut s,
        "kills",
        format!(
            "{} (missed {}, respawns {})",
            r.kills, r.kills_missed, r.respawns
        ),
    );
    row(&mut s, "valid reads", r.reads.to_string());
    for kind in ViolationKind::ALL {
        row(&mut s, kind.name(), r.violations.get(kind).to_string());
    }
    row(&mut s, "throughput", throughput(r));
    let l = &r.latency_us;
    row(
        &mut s,
        "latency",
        format!("p50 {}  p99 {}  max {}", us(l.p50), us(l.p99), us(l.max)),
    );
    if r.warnings.litter > 0 {
        row(
            &mut s,
            "litter (warning)",
            format!("{} temporary file(s) left", r.warnings.litter),
        );
    }
    if r.warnings.escaped_processes > 0 {
        row(
            &mut s,
            "escaped (warning)",
            format!(
                "{} process(es) outlived their command and were killed",
                r.warnings.escaped_processes
            ),
        );
    }
    if r.warnings.unexpected_exits > 0 {
        row(
            &mut s,
            "unexpected exits",
            r.warnings.unexpected_exits.to_string(),
        );
    }
    coverage(&mut s, r);
    power_loss(&mut s, r);
    evidence(&mut s, r);
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", basis_line(r));
    let _ = writeln!(s, "{}", verdict_line(r, paint));
    if let Some(line) = expected_failure(r, paint) {
        let _ = writeln!(s, "{line}");
    }
    if r.verdict == Verdict::Inconclusive {
        for why in &r.basis.shortfall {
            let _ = writeln!(s, "  not enough evidence: {why}");
        }
    }
    let _ = writeln!(s, "replay: {}", r.replay);
    s
}

/// The run's first line: what ran, how hard and how long, with which seed.
/// The payload is a built-in strategy's padding: an outside program
/// (`--exec`) has none, so its header leaves it out.
fn header(r: &Report) -> String {
    let c = &r.config;
    let length = match (c.duration_s, c.ops_limit) {
        (_, Some(n)) => format!("{n} ops"),
        (Some(d), None) => format!("{d}s"),
        (None, None) => "?".into(),
    };
    let payload = match c.strategy == crate::config::EXEC_NAME {
        true => String::new(),
        false => format!(", payload {} B", c.payload_bytes),
    };
    format!(
        "torture: {} with {} writer(s), {} reader(s), kill rate {}, {length}{payload}, seed {}",
        c.strategy, c.writers, c.readers, c.kill_rate, c.seed
    )
}

/// The verdict line (`verdict: PASS (process crash tier)`), coloured by
/// the verdict when `paint` colours.
pub fn verdict_line(r: &Report, paint: Paint) -> String {
    let tier = match &r.power_loss {
        Some(p) => p.label.clone(),
        None => format!("{} tier", r.fault_tier),
    };
    let line = format!("verdict: {} ({tier}){}", verdict_word(r), stop_note(r));
    paint.paint(Style::of(r.verdict), &line)
}

/// For a built-in strategy that must fail under SIGKILL (`torture list`),
/// this run against that expectation (`naive: expected torn: met`): an
/// expected failure found is no surprise, and one not found says the run
/// was too gentle. `None` for a strategy that must pass (the verdict says
/// it all), an outside program, or a power-loss run (another tier).
fn expected_failure(r: &Report, paint: Paint) -> Option<String> {
    if r.power_loss.is_some() {
        return None;
    }
    let strategy = crate::strategy::by_name(&r.config.strategy)?;
    let expected = strategy.expected();
    if expected == Expectation::Pass {
        return None;
    }
    let met = r.meets(&expected);
    let words = against(&expected.to_string(), met, r.verdict, &r.observed_classes());
    let style = Style::of_expectation(met, r.verdict);
    Some(format!(
        "{}: {}",
        strategy.name(),
        paint.paint(style, &words)
    ))
}

/// The crash points and states checked under `--power-loss`.
fn power_loss(s: &mut String, r: &Report) {
    let Some(p) = &r.power_loss else {
        return;
    };
    let _ = writeln!(
        s,
        "  {:<18} {} crash point(s) of {} candidate(s), {} crash state(s) ({} image(s) mounted) in {:.1} s ({:.1} states/s)",
        "power cuts",
        p.crash_points,
        p.candidates,
        p.crash_states,
        p.distinct_images,
        p.check_seconds,
        p.states_per_second
    );
    let _ = writeln!(
        s,
        "  {:<18} torn {}, lost {}, phantom {} crash state(s){}",
        "power-loss states",
        p.violations.torn,
        p.violations.lost,
        p.violations.phantom,
        if p.interrupted { " (interrupted)" } else { "" }
    );
    let _ = writeln!(
        s,
        "  {:<18} positions {}..{}: {} write(s), {} flush(es), {} zeroing(s), {} MiB",
        "block log",
        p.log.start,
        p.log.end,
        p.log.writes,
        p.log.flushes,
        p.log.zeroes,
        p.log.bytes >> 20
    );
}

fn throughput(r: &Report) -> String {
    let mut t = format!("{:.0} ops/s", r.throughput_ops_per_s);
    if let Some(b) = r.baseline_ops_per_s {
        let ratio = r.throughput_ops_per_s / b.max(1e-9);
        let _ = write!(t, " (in-process baseline {b:.0} ops/s; ratio {ratio:.2})");
    }
    t
}

fn evidence(s: &mut String, r: &Report) {
    if r.evidence.is_empty() && r.errors.is_empty() {
        return;
    }
    let _ = writeln!(s);
    for kind in ViolationKind::ALL {
        let items: Vec<_> = r.evidence.iter().filter(|e| e.kind == kind).collect();
        for e in items.iter().take(EVIDENCE_LINES) {
            let _ = writeln!(
                s,
                "  {} at {} ms, {}: {}",
                e.kind.name(),
                e.at_ms,
                e.seen_by,
                e.detail
            );
        }
        let more = r.violations.get(kind).saturating_sub(EVIDENCE_LINES as u64);
        if items.len() > EVIDENCE_LINES && more > 0 {
            let _ = writeln!(
                s,
                "  ... {more} more {} observation(s): all are in the JSON report (--json FILE)",
                kind.name()
            );
        }
    }
    if r.verdict != Verdict::Pass || r.harness_error.is_some() {
        for e in r.errors.iter().rev().take(3) {
            let _ = writeln!(s, "  last error: {e}");
        }
    }
}

/// What the verdict rests on, in one line.
fn basis_line(r: &Report) -> String {
    let b = &r.basis;
    let kills = if b.min_kills == 0 && r.config.kill_rate == 0.0 {
        "no kills (kill rate 0: concurrency only)".to_string()
    } else {
        format!("{} kill(s) landed inside an operation", b.kills_landed)
    };
    let kills = match b.kills_at_end {
        0 => kills,
        n => format!("{kills} and {n} cut by the crash that ended the run"),
    };
    format!(
        "evidence: {} acknowledged op(s) (at least {} per writer), {kills}, {} check(s) of the state, final operation {}",
        b.acked, b.acked_min_per_writer, b.checks, b.final_op
    )
}

/// Where the kills landed, by fault point (`--kill-at syscall`).
fn coverage(s: &mut String, r: &Report) {
    let Some(c) = &r.coverage else { return };
    let target = c
        .until_covered
        .map_or(String::new(), |k| format!(", {k} each wanted"));
    let _ = writeln!(
        s,
        "\n  kills by fault point ({} of {} point(s) hit{target}):",
        c.covered, c.points
    );
    for p in &c.by_point {
        let _ = writeln!(s, "  {:>4}  {:<44} {}", p.point, p.syscall, p.kills);
    }
}

fn verdict_word(r: &Report) -> String {
    match r.verdict {
        Verdict::Pass => "PASS".into(),
        Verdict::Fail => {
            let names: Vec<_> = r.violated().iter().map(|k| k.name()).collect();
            format!("FAIL: {}", names.join(", "))
        }
        Verdict::Inconclusive => "INCONCLUSIVE (no violation, but too little evidence)".into(),
        Verdict::Interrupted => "INTERRUPTED (no violation in the partial run, no verdict)".into(),
        Verdict::Error => "ERROR (the harness failed before any violation)".into(),
    }
}

fn stop_note(r: &Report) -> &'static str {
    match r.stopped {
        StopReason::Completed => "",
        StopReason::Interrupted => " — interrupted, partial run",
        StopReason::StateDestroyed => " — stopped early: the state was destroyed",
        StopReason::HarnessFailed => " — the harness failed, see the last errors",
        StopReason::Stalled => " — stopped: operations stalled",
    }
}

fn us(v: u64) -> String {
    match v {
        0..1_000 => format!("{v}µs"),
        1_000..1_000_000 => format!("{:.1}ms", v as f64 / 1e3),
        _ => format!("{:.2}s", v as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::{KillAt, Minimums, RunConfig, RunLength, Workload};
    use crate::verifier::{Evidence, Verifier};

    fn config(workload: Workload) -> RunConfig {
        RunConfig {
            workload,
            writers: 2,
            readers: 0,
            kill_rate: 0.1,
            kill_at: KillAt::Delay,
            length: RunLength::Ops(10),
            payload: 16,
            seed: 1,
            dir: None,
            baseline: false,
            progress: false,
            announce: false,
            program: "torture".into(),
            op_timeout: crate::config::DEFAULT_OP_TIMEOUT,
            stall_timeout: crate::config::DEFAULT_STALL_TIMEOUT,
            artifacts: None,
            minimums: Minimums::default(),
            until_covered: None,
            power_loss: None,
        }
    }

    fn naive() -> Workload {
        Workload::Builtin(crate::strategy::by_name("naive").unwrap())
    }

    fn report(cfg: &RunConfig) -> Report {
        let outcome = crate::report::Outcome::default();
        Report::new(cfg, std::path::Path::new("/x"), outcome, Verifier::new(1))
    }

    #[test]
    fn an_outside_programs_header_has_no_payload() {
        let text = summary(&report(&config(naive())));
        assert!(
            text.lines().next().unwrap().contains("payload 16 B"),
            "{text}"
        );
        let exec = Workload::Exec(crate::config::ExecSpec {
            exec: "./app add".into(),
            check: "./app list".into(),
            init: None,
            state: "state".into(),
            env: Vec::new(),
        });
        let text = summary(&report(&config(exec)));
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with("torture: exec with 2 writer(s)"),
            "{first}"
        );
        assert!(!text.contains("payload"), "{text}");
    }

    #[test]
    fn only_a_painted_summary_colours_its_verdict_line() {
        let r = report(&config(Workload::Builtin(crate::strategy::reference())));
        assert!(!summary(&r).contains('\x1b'));
        let painted = summary_painted(&r, Paint::new(true));
        let coloured: Vec<&str> = painted.lines().filter(|l| l.contains('\x1b')).collect();
        assert_eq!(coloured.len(), 1, "{painted}");
        // An empty run is too little evidence: yellow.
        assert!(
            coloured[0].starts_with("\x1b[1;33mverdict: INCONCLUSIVE"),
            "{painted}"
        );
        assert_eq!(
            verdict_line(&r, Paint::PLAIN),
            "verdict: INCONCLUSIVE (no violation, but too little evidence) (process crash tier)"
        );
    }

    /// A strategy that must fail is held against it after the verdict; one
    /// that must pass is not (its verdict says it all).
    #[test]
    fn an_expected_failure_is_held_against_its_expectation() {
        let text = summary(&report(&config(naive())));
        assert!(
            text.contains("\nnaive: expected torn: NOT met (got inconclusive)\n"),
            "{text}"
        );
        let reference = Workload::Builtin(crate::strategy::reference());
        let text = summary(&report(&config(reference)));
        assert!(!text.contains("expected"), "{text}");
    }

    #[test]
    fn evidence_beyond_the_summary_says_how_to_get_it() {
        let cfg = config(naive());
        let mut verifier = Verifier::new(1);
        for at_ms in 0..10 {
            verifier.record(
                1,
                Evidence {
                    kind: ViolationKind::Torn,
                    seen_by: "final check".into(),
                    op: None,
                    writer: None,
                    at_ms,
                    detail: "empty file".into(),
                    bytes_hex: None,
                    seed: 1,
                },
            );
        }
        let outcome = crate::report::Outcome::default();
        let report = Report::new(&cfg, std::path::Path::new("/x"), outcome, verifier);
        let text = summary(&report);
        let line = text
            .lines()
            .find(|l| l.contains("more torn observation"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            line.contains("7 more") && line.contains("--json FILE"),
            "{line}"
        );
        assert!(text.contains("\nnaive: expected torn: met\n"), "{text}");
    }
}
