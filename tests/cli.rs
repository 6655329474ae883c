//! Bad input: one clear line on stderr, exit code 2, nothing touched.

mod util;

use util::TestDir;

/// Runs `args` in a directory holding a user file, and checks the exit code,
/// the single stderr line and that the directory did not change.
fn rejects(args: &[&str], needle: &str) {
    let t = TestDir::new();
    std::fs::write(t.join("precious.txt"), b"user data").unwrap();
    std::fs::create_dir(t.join("full")).unwrap();
    std::fs::write(t.join("full/notes"), b"mine").unwrap();
    let before = t.snapshot();
    let run = t.run(args);
    run.expect_code(2).expect_one_error_line(needle);
    assert_eq!(
        t.snapshot(),
        before,
        "the directory changed\n{}",
        run.describe()
    );
}

#[test]
fn kill_rate_above_one() {
    rejects(&["--kill-rate", "1.5"], "--kill-rate");
}

#[test]
fn kill_rate_negative() {
    rejects(&["--kill-rate=-0.1"], "--kill-rate");
}

#[test]
fn zero_writers() {
    rejects(&["--writers", "0"], "at least 1");
}

#[test]
fn unknown_strategy_lists_valid_ones() {
    rejects(&["--strategy", "yolo"], "reference, naive, no-lock");
}

#[test]
fn duration_that_does_not_parse() {
    rejects(&["--duration", "soonish"], "--duration");
}

#[test]
fn duration_without_unit() {
    rejects(&["--duration", "10"], "no unit");
}

#[test]
fn dir_that_is_a_file() {
    rejects(
        &["--dir", "precious.txt", "--duration", "1s"],
        "not a directory",
    );
}

#[test]
fn dir_not_empty_and_not_ours() {
    rejects(&["--dir", "full", "--duration", "1s"], "not empty");
}

#[test]
fn json_into_missing_directory() {
    rejects(
        &["--json", "nowhere/r.json", "--duration", "1s"],
        "does not exist",
    );
}

#[test]
fn unknown_flag() {
    rejects(&["--writres", "3"], "--writres");
}

fn scenario_rejected(text: &str, needle: &str) {
    let t = TestDir::new();
    std::fs::write(t.join("bad.toml"), text).unwrap();
    let before = t.snapshot();
    let run = t.run(&["run", "bad.toml"]);
    run.expect_code(2).expect_one_error_line(needle);
    assert!(run.stderr().contains("bad.toml"), "{}", run.describe());
    assert_eq!(t.snapshot(), before);
}

#[test]
fn scenario_with_unknown_key() {
    scenario_rejected(
        "strategy = \"reference\"\nexpect = \"pass\"\nwritters = 2\n",
        "`writters`",
    );
}

#[test]
fn scenario_with_wrong_type() {
    scenario_rejected(
        "strategy = \"reference\"\nexpect = \"pass\"\nwriters = \"two\"\n",
        "`writers`",
    );
}

#[test]
fn scenario_with_bad_value() {
    scenario_rejected(
        "strategy = \"reference\"\nexpect = \"pass\"\nkill_rate = 7\n",
        "`kill_rate`",
    );
}

#[test]
fn scenario_that_is_not_toml() {
    scenario_rejected("strategy = = =\n", "bad.toml");
}

#[test]
fn scenario_that_does_not_exist() {
    let t = TestDir::new();
    t.run(&["run", "missing.toml"])
        .expect_code(2)
        .expect_one_error_line("missing.toml");
}

#[test]
fn scenario_that_is_a_directory() {
    let t = TestDir::new();
    std::fs::create_dir(t.join("d.toml")).unwrap();
    t.run(&["run", "d.toml"])
        .expect_code(2)
        .expect_one_error_line("d.toml");
}

#[test]
fn a_bad_scenario_stops_the_whole_set_before_anything_runs() {
    let t = TestDir::new();
    std::fs::write(
        t.join("good.toml"),
        "strategy = \"reference\"\nexpect = \"pass\"\nduration = \"60s\"\n",
    )
    .unwrap();
    std::fs::write(t.join("bad.toml"), "strategy = \"reference\"\n").unwrap();
    let run = t.run(&["run", "good.toml", "bad.toml"]);
    run.expect_code(2).expect_one_error_line("bad.toml");
    assert!(run.stdout().is_empty(), "nothing ran\n{}", run.describe());
}

#[test]
fn help_documents_every_flag_with_defaults() {
    let t = TestDir::new();
    let run = t.run(&["--help"]);
    run.expect_code(0);
    let help = run.stdout();
    for flag in [
        "--strategy",
        "--writers",
        "--readers",
        "--kill-rate",
        "--duration",
        "--ops",
        "--payload",
        "--seed",
        "--dir",
        "--json",
        "--baseline",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help\n{help}");
    }
    for default in [
        "[default: reference]",
        "[default: 8]",
        "[default: 0.05 for a strategy, 0.2 for --exec]",
        "[default: 10s]",
        "[default: 4096]",
    ] {
        assert!(
            help.contains(default),
            "{default} missing from --help\n{help}"
        );
    }
}

#[test]
fn completions_offer_the_public_commands_and_flags_only() {
    let t = TestDir::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = t.run(&["completions", shell]);
        run.expect_code(0);
        let script = run.stdout();
        for word in ["fscompare", "--power-loss", "--kill-rate", "completions"] {
            assert!(
                script.contains(word),
                "{shell}: no {word}\n{}",
                run.describe()
            );
        }
        for hidden in ["__child", "__op", "__traced", "__watchdog"] {
            assert!(
                !script.contains(hidden),
                "{shell}: {hidden} offered\n{}",
                run.describe()
            );
        }
    }
}

#[test]
fn a_completion_shell_that_does_not_exist_is_bad_input() {
    rejects(&["completions", "tcsh"], "tcsh");
}

#[test]
fn the_man_page_is_roff_with_the_options() {
    let t = TestDir::new();
    let run = t.run(&["man"]);
    run.expect_code(0);
    let page = run.stdout();
    // clap_mangen's preamble defines the apostrophe string (`.ie`/`.el`)
    // before the title.
    let mut lines = page
        .lines()
        .skip_while(|l| l.starts_with(".ie ") || l.starts_with(".el "));
    assert!(
        lines.next().is_some_and(|l| l.starts_with(".TH torture 1")),
        "{}",
        run.describe()
    );
    // roff escapes a hyphen as `\-`.
    for option in ["kill\\-rate", "power\\-loss", "fscompare", "completions"] {
        assert!(page.contains(option), "no {option}\n{}", run.describe());
    }
    for hidden in ["__child", "__op", "__traced", "__watchdog"] {
        assert!(!page.contains(hidden), "{hidden}\n{}", run.describe());
    }
}
