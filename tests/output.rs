//! Output files never harm the machine: a device or a FIFO is written in
//! place, `-` is stdout, a planted symlink is refused, every output path is
//! checked before the run, `fscompare --out` never overwrites someone
//! else's reports, and what lands in a shared directory is private.
//!
//! Planting another user's link and making device nodes need root; where
//! the tests run without it, those say so and return.

mod util;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use util::{Run, TestDir, read_json};

macro_rules! needs_root {
    () => {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root (device nodes, other users' links)");
            return;
        }
    };
}

/// A short run that passes: two writers, no kills.
fn quick<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--ops",
        "40",
        "--kill-rate",
        "0",
        "--writers",
        "2",
        "--readers",
        "0",
    ];
    args.extend_from_slice(extra);
    args
}

/// Runs a prepared command and keeps what happened, as `TestDir::run` does.
fn run_cmd(t: &TestDir, mut c: Command, command: String) -> Run {
    let output = c.output().expect("the binary runs");
    Run {
        command,
        output,
        listing: format!(
            "{:?}",
            t.snapshot().iter().map(|e| &e.0).collect::<Vec<_>>()
        ),
    }
}

/// A sticky world-writable directory, as `/tmp` is.
fn shared_dir(t: &TestDir, name: &str) -> PathBuf {
    let d = t.join(name);
    fs::create_dir(&d).unwrap();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o1777)).unwrap();
    d
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().mode() & 0o7777
}

#[test]
fn a_character_device_is_written_in_place_not_replaced() {
    needs_root!();
    let t = TestDir::new();
    let node = t.join("n");
    // /dev/null's numbers: writing to it is harmless, replacing it is not.
    nix::sys::stat::mknod(
        &node,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
    let before = fs::symlink_metadata(&node).unwrap();
    let run = t.run(&quick(&["--json", "n"]));
    run.expect_code(0);
    let after = fs::symlink_metadata(&node).unwrap();
    assert!(
        after.file_type().is_char_device(),
        "replaced\n{}",
        run.describe()
    );
    assert_eq!(
        (after.ino(), after.rdev()),
        (before.ino(), before.rdev()),
        "{}",
        run.describe()
    );
    assert!(!run.listing.contains(".n.tmp-"), "{}", run.describe());
}

#[test]
fn a_fifo_gets_the_report_and_stays_a_fifo() {
    let t = TestDir::new();
    let fifo = t.join("f");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let before = fs::symlink_metadata(&fifo).unwrap().ino();
    // Held open at both ends, so that no open of the FIFO blocks and the
    // reader sees its end only once this is dropped, even if the run
    // replaced the FIFO instead of writing into it.
    let keeper = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
    };
    let run = t.run(&quick(&["--json", "f"]));
    drop(keeper);
    let text = reader.join().unwrap();
    run.expect_code(0);
    let r: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}\n{}", run.describe()));
    assert_eq!(r["schema"], "torture/report/v1");
    let after = fs::symlink_metadata(&fifo).unwrap();
    assert!(after.file_type().is_fifo(), "{}", run.describe());
    assert_eq!(after.ino(), before);
}

#[test]
fn dash_puts_the_report_alone_on_stdout() {
    let t = TestDir::new();
    let run = t.run(&quick(&["--json", "-"]));
    run.expect_code(0);
    let r: serde_json::Value = serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", run.describe()));
    assert_eq!(r["schema"], "torture/report/v1");
    assert!(
        run.stderr().contains("replay: "),
        "the summary goes to stderr\n{}",
        run.describe()
    );
    assert!(!t.join("-").exists(), "no file named -");
}

#[test]
fn dev_stdout_into_a_pipe_is_stdout() {
    let t = TestDir::new();
    let run = t.run(&quick(&["--json", "/dev/stdout"]));
    run.expect_code(0);
    let r: serde_json::Value = serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", run.describe()));
    assert_eq!(r["schema"], "torture/report/v1");
}

#[test]
fn a_scenario_set_puts_junit_alone_on_stdout() {
    let t = TestDir::new();
    fs::write(
        t.join("s.toml"),
        "strategy = \"reference\"\nwriters = 2\nreaders = 0\nkill_rate = 0.0\nops = 40\nexpect = \"pass\"\n",
    )
    .unwrap();
    let run = t.run(&["run", "s.toml", "--junit", "-"]);
    run.expect_code(0);
    let xml = run.stdout();
    let doc = roxmltree::Document::parse(&xml)
        .unwrap_or_else(|e| panic!("stdout is not XML: {e}\n{}", run.describe()));
    assert_eq!(doc.root_element().tag_name().name(), "testsuites");
    assert!(run.stderr().contains("1 of 1 scenario(s) met"));
}

/// `--json -` and `--markdown -` on every command: stdout holds that
/// report alone, no file named `-` is made, and the human summary goes to
/// stderr.
#[test]
fn every_report_flag_of_every_command_takes_dash_for_stdout() {
    let t = TestDir::new();
    fs::write(
        t.join("s.toml"),
        "strategy = \"reference\"\nwriters = 2\nreaders = 0\nkill_rate = 0.0\nops = 40\nexpect = \"pass\"\n",
    )
    .unwrap();
    fs::create_dir(t.join("fs")).unwrap();
    let here = format!("here={}", t.join("fs").display());
    let quick_run = quick(&[]);
    let commands: [(&str, Vec<&str>); 4] = [
        ("torture", quick_run),
        ("run", vec!["run", "s.toml"]),
        (
            "explore",
            vec!["explore", "--strategy", "reference", "--faults", "kill"],
        ),
        (
            "fscompare",
            vec![
                "fscompare",
                "--dir",
                &here,
                "--strategies",
                "reference",
                "--ops",
                "40",
                "--writers",
                "2",
                "--readers",
                "0",
                "--kill-rate",
                "0",
                "--out",
                "out",
            ],
        ),
    ];
    for (command, args) in &commands {
        let json = t.run(&[&args[..], &["--json", "-"]].concat());
        json.expect_code(0);
        let r: serde_json::Value = serde_json::from_str(&json.stdout())
            .unwrap_or_else(|e| panic!("{command}: stdout is not JSON: {e}\n{}", json.describe()));
        let schema = match *command {
            "torture" => "torture/report/v1",
            "run" => "torture/scenarios/v1",
            "explore" => "torture/explore/v1",
            _ => "torture/fscompare/v1",
        };
        assert_eq!(r["schema"], schema, "{}", json.describe());
        let md = t.run(&[&args[..], &["--markdown", "-"]].concat());
        md.expect_code(0);
        let text = md.stdout();
        match *command {
            // A comparison's Markdown is its report.md.
            "fscompare" => assert_eq!(
                text,
                fs::read_to_string(t.join("out/report.md")).unwrap(),
                "{}",
                md.describe()
            ),
            _ => assert!(
                text.starts_with("## torture\n") && text.contains("| ✅ |"),
                "{command}: {}",
                md.describe()
            ),
        }
        assert!(
            !md.stderr().is_empty(),
            "{command}: the summary goes to stderr"
        );
        assert!(!t.join("-").exists(), "{command}: no file named -");
    }
}

#[test]
fn two_reports_cannot_share_stdout() {
    let t = TestDir::new();
    let before = t.snapshot();
    t.run(&quick(&["--json", "-", "--junit", "-"]))
        .expect_code(2)
        .expect_one_error_line("--json and --junit both write to stdout");
    t.run(&["fscompare", "--out", "o", "--json", "-", "--junit", "-"])
        .expect_code(2)
        .expect_one_error_line("--json and --junit both write to stdout");
    assert_eq!(t.snapshot(), before);
}

#[test]
fn a_planted_symlink_is_refused_and_an_own_one_followed() {
    needs_root!();
    let t = TestDir::new();
    let public = shared_dir(&t, "pub");
    let victim = t.join("victim");
    fs::write(&victim, b"secret").unwrap();
    let link = public.join("report.json");
    symlink(&victim, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(12345), None).unwrap();
    let before = t.snapshot();
    let run = t.run(&quick(&["--json", "pub/report.json"]));
    run.expect_code(2)
        .expect_one_error_line("--json pub/report.json");
    assert!(
        run.stderr().contains("protected_symlinks"),
        "{}",
        run.describe()
    );
    assert_eq!(fs::read(&victim).unwrap(), b"secret");
    assert_eq!(t.snapshot(), before, "refused before the run");

    // The caller's own link is followed: its target is replaced.
    std::os::unix::fs::lchown(&link, Some(0), None).unwrap();
    t.run(&quick(&["--json", "pub/report.json"])).expect_code(0);
    assert_eq!(read_json(&victim)["schema"], "torture/report/v1");
    assert!(fs::symlink_metadata(&link).unwrap().is_symlink());

    // So is another user's link outside a sticky directory, as the kernel
    // would follow it.
    let private = t.join("priv");
    fs::create_dir(&private).unwrap();
    let other = t.join("other");
    symlink(&other, private.join("r.json")).unwrap();
    std::os::unix::fs::lchown(private.join("r.json"), Some(12345), None).unwrap();
    t.run(&quick(&["--json", "priv/r.json"])).expect_code(0);
    assert_eq!(read_json(&other)["schema"], "torture/report/v1");
}

/// Runs `args` in a directory with an empty `adir`, a non-empty `full` and a
/// scenario file, and checks exit 2, one line that names `flag` (and not
/// `other`), and that nothing changed.
fn refused_before_the_run(args: &[&str], env: Option<&str>, flag: &str, other: &str) {
    let t = TestDir::new();
    fs::create_dir(t.join("adir")).unwrap();
    fs::create_dir(t.join("full")).unwrap();
    fs::write(t.join("full/notes"), b"mine").unwrap();
    fs::write(
        t.join("s.toml"),
        "strategy = \"reference\"\nops = 40\nexpect = \"pass\"\n",
    )
    .unwrap();
    let before = t.snapshot();
    let mut c = t.cmd(args);
    if let Some(summary) = env {
        c.env("GITHUB_STEP_SUMMARY", summary);
    }
    let run = run_cmd(&t, c, format!("torture {}", args.join(" ")));
    run.expect_code(2).expect_one_error_line(flag);
    assert!(!run.stderr().contains(other), "{}", run.describe());
    assert_eq!(t.snapshot(), before, "{}", run.describe());
}

#[test]
fn every_output_is_checked_before_the_run_and_named_by_its_flag() {
    let missing = "nowhere/r.out";
    for (args, flag, other) in [
        (vec!["--junit", missing], "--junit", "--json"),
        (vec!["--json", missing], "--json", "--junit"),
        (vec!["--junit", "adir"], "--junit", "--json"),
        (vec!["--json", "adir"], "--json", "--junit"),
        (vec!["--artifacts", "-"], "--artifacts", "--json"),
        (vec!["--artifacts", "full"], "--artifacts", "--json"),
        (
            vec!["run", "s.toml", "--junit", missing],
            "--junit",
            "--json",
        ),
        (vec!["run", "s.toml", "--json", "adir"], "--json", "--junit"),
        (vec!["explore", "--junit", missing], "--junit", "--json"),
        (vec!["explore", "--json", "adir"], "--json", "--junit"),
        (
            vec!["explore", "--artifacts", "full"],
            "--artifacts",
            "--json",
        ),
        (
            vec!["fscompare", "--out", "o", "--junit", missing],
            "--junit",
            "--json",
        ),
        (
            vec!["fscompare", "--out", "o", "--json", "adir"],
            "--json",
            "--junit",
        ),
    ] {
        refused_before_the_run(&args, None, flag, other);
    }
    for args in [&["--duration", "1s"][..], &["fscompare", "--out", "o"]] {
        refused_before_the_run(
            args,
            Some("nowhere/summary.md"),
            "GITHUB_STEP_SUMMARY",
            "--json",
        );
    }
}

#[test]
fn fscompare_never_overwrites_reports_it_did_not_make() {
    let t = TestDir::new();
    fs::create_dir(t.join("out")).unwrap();
    fs::write(t.join("out/report.json"), b"mine").unwrap();
    let dir = format!("here={}", t.path().display());
    let run = t.run(&[
        "fscompare",
        "--dir",
        &dir,
        "--strategies",
        "reference",
        "--out",
        "out",
    ]);
    run.expect_code(2)
        .expect_one_error_line("--out out is not empty");
    assert_eq!(fs::read(t.join("out/report.json")).unwrap(), b"mine");
}

/// An `--out` directory made in a shared directory is private, and one
/// `torture` made is written into again.
#[test]
fn fscompare_out_is_private_in_a_shared_directory_and_reusable() {
    let t = TestDir::new();
    shared_dir(&t, "pub");
    let dir = format!("here={}", t.path().display());
    let args = [
        "fscompare",
        "--dir",
        &dir,
        "--strategies",
        "reference",
        // Sized by counts, kills at fault points: a second of a loaded
        // machine once held no landed kill (inconclusive, exit 1).
        "--ops",
        "200",
        "--kill-rate",
        "0.3",
        "--kill-at",
        "syscall",
        "--min-kills",
        "1",
        "--writers",
        "4",
        "--out",
        "pub/out",
    ];
    t.run(&args).expect_code(0);
    let out = t.join("pub/out");
    assert_eq!(mode(&out), 0o700);
    assert_eq!(
        mode(&out.join("report.json")),
        0o644,
        "inside a private dir"
    );
    fs::write(out.join("report.json"), b"stale").unwrap();
    let run = t.run(&args);
    run.expect_code(0);
    assert_eq!(
        read_json(&out.join("report.json"))["schema"],
        "torture/fscompare/v1"
    );
}

#[test]
fn reports_in_a_shared_directory_are_private() {
    let t = TestDir::new();
    shared_dir(&t, "pub");
    let run = t.run(&quick(&["--json", "pub/r.json", "--junit", "r.xml"]));
    run.expect_code(0);
    assert_eq!(mode(&t.join("pub/r.json")), 0o600, "{}", run.describe());
    assert_eq!(mode(&t.join("r.xml")), 0o644, "{}", run.describe());
}

#[test]
fn artifacts_in_a_shared_directory_are_private() {
    let t = TestDir::new();
    shared_dir(&t, "pub");
    // Eight writers without a lock lose updates at once (see tests/exec.rs).
    let run = t.run(&[
        "--strategy",
        "no-lock",
        "--writers",
        "8",
        "--kill-rate",
        "0",
        "--duration",
        "2s",
        "--artifacts",
        "pub/art",
    ]);
    run.expect_code(1);
    assert_eq!(mode(&t.join("pub/art")), 0o700, "{}", run.describe());
    assert!(t.join("pub/art/repro.sh").exists(), "{}", run.describe());
}
