//! The exporters' rendering of a comparison, from a report built by hand:
//! two file systems, two strategies, one run that missed its verdict.

use super::*;
use crate::fscompare::power::{PowerCell, PowerParams};
use crate::fscompare::report::{FsInfo, Params, Row, SCHEMA};
use crate::fscompare::{FsCompareReport, Machine};
use crate::report::{PowerViolations, StopReason, Violations};
use crate::vocab::Verdict;

const COMMAND: &str = "torture fscompare --fs tmpfs,ext4 --out out";

fn violations(torn: u64) -> Violations {
    Violations {
        torn,
        torn_reads: 0,
        lost: 0,
        phantom: 0,
        duplicate: 0,
        stall: 0,
    }
}

/// A run of `strategy` on `fs`: `reference` must pass, `naive` be torn.
fn row(fs: &str, strategy: &str, verdict: Verdict) -> Row {
    let expected = if strategy == "naive" { "torn" } else { "pass" };
    let torn = u64::from(verdict == Verdict::Fail) * 3;
    let observed = if torn > 0 { "torn" } else { verdict.name() };
    Row {
        fs: fs.into(),
        strategy: strategy.into(),
        expected: expected.into(),
        verdict,
        observed: observed.into(),
        met: observed == expected,
        violations: violations(torn),
        acked: 200,
        ops_per_s: 1234.5,
        p50_us: 80,
        p99_us: 900,
        kills: 20,
        kills_missed: 3,
        stopped: StopReason::Completed,
        power: None,
        power_skipped: None,
    }
}

/// tmpfs and ext4, `reference` and `naive`: `reference` on ext4 was
/// inconclusive, a miss; the other three runs got their verdicts.
fn comparison() -> FsCompareReport {
    let fs = |name: &str, backing: &str, options: Option<&str>| FsInfo {
        name: name.into(),
        backing: backing.into(),
        mount_options: options.map(str::to_string),
        fsync_p50_us: 78.4,
    };
    FsCompareReport {
        schema: SCHEMA,
        command: COMMAND.into(),
        machine: Machine {
            kernel: "6.1.0".into(),
            cpus: 2,
            memory_bytes: 4 << 30,
            scratch_device: "/dev/vda1 (ext4, mounted on /)".into(),
        },
        params: Params {
            duration_s: 3.0,
            ops: None,
            writers: 8,
            readers: 1,
            kill_rate: 0.1,
            seed: 7,
            image_bytes: 256 << 20,
            power: None,
        },
        filesystems: vec![
            fs("tmpfs", "tmpfs", None),
            fs("ext4", "loop image", Some("data=journal")),
        ],
        strategies: vec!["reference".into(), "naive".into()],
        rows: vec![
            row("tmpfs", "reference", Verdict::Pass),
            row("tmpfs", "naive", Verdict::Fail),
            row("ext4", "reference", Verdict::Inconclusive),
            row("ext4", "naive", Verdict::Fail),
        ],
        all_met: false,
        interrupted: false,
        seconds: 12.5,
        broken: None,
    }
}

fn finished(report: FsCompareReport) -> [Finished; 1] {
    [Finished::Compare(CompareResult::new(report))]
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

/// Each test case of a JUnit document, as `suite/case`, followed by
/// `: tag: message` when it has a failure, error or skipped element.
fn cases(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|case| {
            let suite = case.parent().unwrap().attribute("name").unwrap();
            let mut line = format!("{suite}/{}", case.attribute("name").unwrap());
            if let Some(outcome) = case.children().find(|c| c.is_element()) {
                let message = outcome.attribute("message").unwrap_or("");
                line += &format!(": {}: {message}", outcome.tag_name().name());
            }
            line
        })
        .collect()
}

/// The cases with a failure, error or skipped element.
fn not_passed(xml: &str) -> Vec<String> {
    cases(xml)
        .into_iter()
        .filter(|c| c.contains(": "))
        .collect()
}

#[test]
fn the_json_of_a_comparison_is_its_report_with_the_v1_keys() {
    let mut report = comparison();
    report.broken = Some("ext4 turned read-only".into());
    let json = JsonExporter.render(&finished(report.clone()));
    let mut expected = serde_json::to_vec_pretty(&report).unwrap();
    expected.push(b'\n');
    assert_eq!(json, expected);
    let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let sorted = |names: &[&str]| -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(
        keys(&doc),
        sorted(&[
            "schema",
            "command",
            "machine",
            "params",
            "filesystems",
            "strategies",
            "rows",
            "all_met",
            "interrupted",
            "seconds"
        ]),
        "v1's keys and no other (`broken` is not one)"
    );
    assert_eq!(doc["schema"], "torture/fscompare/v1");
    assert_eq!(
        keys(&doc["rows"][0]),
        sorted(&[
            "fs",
            "strategy",
            "expected",
            "verdict",
            "observed",
            "met",
            "violations",
            "acked",
            "ops_per_s",
            "p50_us",
            "p99_us",
            "kills",
            "kills_missed",
            "stopped",
            "power",
            "power_skipped"
        ])
    );
    assert_eq!(keys(&doc["params"]).len(), 8, "v1's params and `power`");
    assert_eq!(doc["params"]["power"], serde_json::Value::Null);
    assert_eq!(doc["rows"][0]["power"], serde_json::Value::Null);
    assert_eq!(doc["rows"][2]["verdict"], "inconclusive");
    assert_eq!(doc["rows"][2]["met"], false);
}

#[test]
fn junit_has_a_suite_per_file_system_and_fails_only_the_missed_run() {
    let xml = text(JunitExporter.render(&finished(comparison())));
    assert_eq!(
        cases(&xml),
        [
            "fscompare.tmpfs/reference",
            "fscompare.tmpfs/naive",
            "fscompare.ext4/reference: failure: observed inconclusive, expected pass",
            "fscompare.ext4/naive",
            "fscompare/evidence",
        ],
        "{xml}"
    );
    for line in [
        "reference on ext4: verdict inconclusive, observed inconclusive, expected pass\n",
        "acked 200, kills 20 (missed 3), stopped completed\n",
        &format!("replay the comparison: {COMMAND}\n"),
    ] {
        assert!(xml.contains(line), "{line:?} missing from {xml}");
    }
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("tests"), Some("5"));
    assert_eq!(root.attribute("failures"), Some("1"));
    assert_eq!(root.attribute("errors"), Some("0"));
}

#[test]
fn junit_skips_the_runs_an_interrupt_left_and_fails_the_evidence() {
    let mut report = comparison();
    report.rows.truncate(3);
    report.rows[2] = row("ext4", "reference", Verdict::Pass);
    report.all_met = true;
    report.interrupted = true;
    let xml = text(JunitExporter.render(&finished(report)));
    assert_eq!(
        not_passed(&xml),
        [
            "fscompare.ext4/naive: skipped: not run: the comparison was interrupted first",
            "fscompare/evidence: failure: interrupted: 3 run(s) done before the stop",
        ],
        "{xml}"
    );
}

#[test]
fn junit_makes_a_broken_file_systems_run_an_error() {
    let why = "ext4 turned read-only during the run of reference";
    let mut report = comparison();
    report.rows.truncate(3);
    report.rows[2].verdict = Verdict::Error;
    report.rows[2].observed = "error".into();
    report.broken = Some(why.into());
    let xml = text(JunitExporter.render(&finished(report)));
    assert_eq!(
        not_passed(&xml),
        [
            format!("fscompare.ext4/reference: error: error: {why}"),
            format!("fscompare.ext4/naive: skipped: not run: {why}"),
            format!("fscompare/evidence: error: no verdict: {why}"),
        ],
        "{xml}"
    );
}

#[test]
fn markdown_of_a_lone_comparison_is_the_comparison_document() {
    let md = text(MarkdownExporter.render(&finished(comparison())));
    assert!(md.starts_with("# File-system comparison\n\n"), "{md}");
    assert!(!md.contains("## torture"), "no run summary around it: {md}");
    for line in [
        &format!("Produced by `{COMMAND}`.\n") as &str,
        "Machine: Linux 6.1.0, 2 CPUs, 4.0 GiB of memory; images on /dev/vda1 (ext4, mounted on /).\n",
        "Each run: 3 s, 8 writers, 1 reader(s), kill rate 0.1, seed 7. Process-crash tier (SIGKILL).\n",
        "| strategy | tmpfs | ext4 |\n|---|---:|---:|\n",
        "| reference | pass | inconclusive **(expected pass)** |\n",
        "| naive | torn | torn |\n",
        "![throughput](throughput.svg)",
        "| reference | 1234 | 1234 |\n",
        "| naive | 80 / 900 | 80 / 900 |\n",
        "| file system | backing | fsync p50 |\n|---|---|---:|\n",
        "| ext4 (-o data=journal) | loop image | 78 µs |\n",
    ] {
        assert!(md.contains(line), "{line:?} missing from:\n{md}");
    }
    assert!(!md.contains("Interrupted") && !md.contains("No verdict"));
}

#[test]
fn markdown_says_why_a_comparison_has_no_verdict() {
    let mut report = comparison();
    report.interrupted = true;
    report.broken = Some("ext4 turned read-only".into());
    let md = text(MarkdownExporter.render(&finished(report)));
    assert!(md.contains("**Interrupted**: the tables are incomplete.\n"));
    assert!(md.contains("**No verdict**: ext4 turned read-only; that run is marked error.\n"));
}

#[test]
fn a_comparison_is_met_only_complete_with_every_verdict() {
    let c = CompareResult::new(comparison());
    assert!(!c.met());
    assert_eq!(c.observed(), "reference@ext4=inconclusive");
    let mut report = comparison();
    report.rows[2] = row("ext4", "reference", Verdict::Pass);
    report.all_met = true;
    let [f] = finished(report.clone());
    assert!(f.met());
    assert_eq!((f.mode(), f.name()), ("fscompare", "fscompare"));
    assert_eq!(f.observed(), f.expected());
    report.interrupted = true;
    assert!(!CompareResult::new(report).met());
}

#[test]
fn the_out_directory_gets_the_exporters_files_and_the_charts() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::output::OutputDir::reusable("--out", dir.path().join("out"));
    out.create().unwrap();
    let results = finished(comparison());
    write_out_dir(&results, &out).unwrap();
    let read = |name: &str| std::fs::read(out.path().join(name)).unwrap();
    assert_eq!(read("report.json"), JsonExporter.render(&results));
    assert_eq!(read("report.md"), MarkdownExporter.render(&results));
    let html = text(read("report.html"));
    assert!(html.contains("<svg") && html.contains("class=\"miss\""));
    for chart in ["throughput.svg", "p99.svg"] {
        roxmltree::Document::parse(&text(read(chart))).unwrap();
    }
}

/// One precedence for a comparison, as for a run and an exploration: a
/// strategy that missed its verdict on evidence beats an interrupt, which
/// beats a broken file system, which beats too little evidence.
#[test]
fn a_comparisons_verdict_follows_the_one_precedence() {
    let inconclusive = comparison();
    assert_eq!(inconclusive.verdict(), Verdict::Inconclusive);
    let mut missed = comparison();
    missed.rows[0] = row("tmpfs", "naive", Verdict::Pass);
    missed.rows[0].strategy = "naive".into();
    assert_eq!(missed.verdict(), Verdict::Fail);
    missed.interrupted = true;
    assert_eq!(missed.verdict(), Verdict::Fail, "the evidence stands");
    let mut interrupted = comparison();
    interrupted.interrupted = true;
    assert_eq!(interrupted.verdict(), Verdict::Interrupted);
    let mut broken = comparison();
    broken.broken = Some("ext4 turned read-only".into());
    broken.rows[3] = row("ext4", "naive", Verdict::Error);
    assert_eq!(broken.verdict(), Verdict::Error);
    let mut all_met = comparison();
    all_met.rows[2] = row("ext4", "reference", Verdict::Pass);
    assert_eq!(all_met.verdict(), Verdict::Pass);
}

/// A power cell of ext4: `observed` with `expected` (met or not), 60 crash
/// states, recorded at 1234.5 / `slowdown` ops/s; `lax`: the models that
/// predicted less than it showed.
fn power_cell(observed: &str, expected: &str, slowdown: f64, lax: &[&str]) -> PowerCell {
    let met = expected == "observed" || observed == expected;
    let lost = u64::from(observed.contains("lost")) * 4;
    let torn = u64::from(observed.contains("torn")) * 2;
    PowerCell {
        label: "power loss (ext4, data=ordered)".into(),
        expected: expected.into(),
        verdict: if lost + torn > 0 {
            Verdict::Fail
        } else {
            Verdict::Pass
        },
        observed: observed.into(),
        met,
        crash_points: 30,
        crash_states: 60,
        distinct_images: 44,
        unmountable: 0,
        violations: PowerViolations {
            torn,
            lost,
            phantom: 0,
        },
        check_seconds: 5.0,
        states_per_second: 12.0,
        ops_per_s: 1234.5 / slowdown,
        slowdown: Some(slowdown),
        model_posix: Some(
            if expected == "observed" {
                observed
            } else {
                "pass"
            }
            .into(),
        ),
        model_ordered: None,
        model_note: Some("ordered: its exploration was inconclusive".into()),
        model_disagrees: !lax.is_empty(),
        lax_models: lax.iter().map(|m| m.to_string()).collect(),
    }
}

/// The comparison with `--power-loss`: tmpfs has no block device;
/// `reference` lost on ext4 (a miss, and both models too lax), `naive`
/// torn (an observation), recorded 4.5 times slower.
fn power_comparison() -> FsCompareReport {
    let mut report = comparison();
    report.params.power = Some(PowerParams {
        crash_points: Some(30),
        max_states: 2,
    });
    report.rows[2] = row("ext4", "reference", Verdict::Pass);
    for row in &mut report.rows[..2] {
        row.power_skipped = Some("no block device".into());
    }
    report.rows[2].power = Some(power_cell("lost", "pass", 2.0, &["posix"]));
    report.rows[3].power = Some(power_cell("torn", "observed", 4.5, &[]));
    report.all_met = false;
    report
}

#[test]
fn markdown_has_the_power_matrix_and_its_speed() {
    let md = text(MarkdownExporter.render(&finished(power_comparison())));
    for line in [
        "\n## Power loss\n\nEach strategy ran again on a recording disk",
        "power was cut at 30 crash points of its block log, at most 2 crash state(s) each.",
        "Not on tmpfs: no block device.\n",
        "| strategy | ext4 | posix model | ordered model |\n|---|---:|---|---|\n",
        "| reference | lost **(expected pass)** · 60 states · 2.0× · **model too lax (posix)** | pass | ? |\n",
        "| naive | torn · 60 states · 4.5× (over 3×) | torn | ? |\n",
        "No prediction for reference: ordered: its exploration was inconclusive.",
        "| file system | strategy | crash states/s | ops/s plain | ops/s recorded | slowdown | worst slowdown |\n",
        "| ext4 | reference | 12.0 | 1234 | 617 | 2.0× | 4.5× (over 3×) (naive) |\n",
    ] {
        assert!(md.contains(line), "{line:?} missing from:\n{md}");
    }
    let plain = text(MarkdownExporter.render(&finished(comparison())));
    assert!(
        !plain.contains("Power loss"),
        "nothing without --power-loss"
    );
}

#[test]
fn markdown_says_when_no_file_system_had_a_block_device() {
    let mut report = comparison();
    report.params.power = Some(PowerParams {
        crash_points: None,
        max_states: 2,
    });
    report.filesystems.truncate(1);
    report.rows.truncate(2);
    for row in &mut report.rows {
        row.power_skipped = Some("no block device".into());
    }
    let md = text(MarkdownExporter.render(&finished(report)));
    assert!(md.contains("at every crash point of its block log"), "{md}");
    assert!(md.contains("Not on tmpfs: no block device.\n"), "{md}");
    assert!(
        md.contains("No power run: no file system with a block device.\n"),
        "{md}"
    );
    assert!(!md.contains("| posix model |"), "{md}");
}

#[test]
fn a_missed_power_run_fails_the_comparison_and_its_junit_case() {
    let report = power_comparison();
    assert_eq!(report.verdict(), Verdict::Fail);
    let c = CompareResult::new(report.clone());
    assert!(!c.met());
    assert_eq!(c.observed(), "reference@ext4(power loss)=lost");
    let xml = text(JunitExporter.render(&finished(report)));
    assert_eq!(
        cases(&xml),
        [
            "fscompare.tmpfs/reference",
            "fscompare.tmpfs/naive",
            "fscompare.ext4/reference",
            "fscompare.ext4/reference (power loss): failure: observed lost, expected pass",
            "fscompare.ext4/naive",
            "fscompare.ext4/naive (power loss)",
            "fscompare/evidence",
        ],
        "{xml}"
    );
    for line in [
        "reference on ext4 (power loss (ext4, data=ordered)): verdict fail, observed lost, expected pass\n",
        "crash points 30, crash states 60 (44 distinct images, 0 unmountable), 12.0 states/s\n",
        "models: posix pass, ordered ? (model too lax (posix))\n",
    ] {
        assert!(xml.contains(line), "{line:?} missing from {xml}");
    }
    // Met, the power cells change nothing.
    let mut met = power_comparison();
    met.rows[2].power = Some(power_cell("pass", "pass", 2.0, &[]));
    met.all_met = true;
    assert_eq!(met.verdict(), Verdict::Pass);
    assert!(CompareResult::new(met).met());
}

#[test]
fn the_power_cells_are_new_keys_of_v1() {
    let json = JsonExporter.render(&finished(power_comparison()));
    let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(doc["schema"], "torture/fscompare/v1");
    assert_eq!(doc["params"]["power"]["crash_points"], 30);
    assert_eq!(doc["params"]["power"]["max_states"], 2);
    assert_eq!(doc["rows"][0]["power"], serde_json::Value::Null);
    assert_eq!(doc["rows"][0]["power_skipped"], "no block device");
    let cell = &doc["rows"][2]["power"];
    assert_eq!(doc["rows"][2]["power_skipped"], serde_json::Value::Null);
    for (key, value) in [
        ("verdict", serde_json::json!("fail")),
        ("observed", serde_json::json!("lost")),
        ("expected", serde_json::json!("pass")),
        ("met", serde_json::json!(false)),
        ("crash_states", serde_json::json!(60)),
        ("slowdown", serde_json::json!(2.0)),
        ("model_posix", serde_json::json!("pass")),
        ("model_ordered", serde_json::Value::Null),
        ("model_disagrees", serde_json::json!(true)),
        ("lax_models", serde_json::json!(["posix"])),
    ] {
        assert_eq!(cell[key], value, "{key}: {cell}");
    }
    assert_eq!(cell["violations"]["lost"], 4);
}

#[test]
fn the_html_has_the_power_matrix() {
    let html = power_comparison().html();
    assert!(html.contains("<h2>Power loss</h2>"), "{html}");
    assert!(
        html.contains("<p>Not on tmpfs: no block device.</p>"),
        "{html}"
    );
    assert!(
        html.contains("<th>ext4</th><th>posix model</th><th>ordered model</th>"),
        "{html}"
    );
    assert!(
        html.contains("<td class=\"miss\" title=\"expected pass; power loss (ext4, data=ordered)\">lost (expected pass) · 60 states · 2.0×<br><strong>model too lax (posix)</strong></td>"),
        "{html}"
    );
    assert!(html.contains("<td class=\"met\" title=\"expected observed; power loss (ext4, data=ordered)\">torn · 60 states · 4.5× (over 3×)</td>"), "{html}");
    assert!(html.contains("<h3>Speed</h3>"), "{html}");
    assert!(html.contains("<td>ext4</td><td>reference</td><td>12.0</td><td>1234</td><td>617</td><td>2.0×</td><td>4.5× (over 3×) (naive)</td>"), "{html}");
    assert!(!comparison().html().contains("Power loss"));
}
