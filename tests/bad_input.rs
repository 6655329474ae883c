//! Every bad input gets exit 2 and one clear line, with nothing created,
//! changed or deleted: one table of distinct bad inputs across the commands
//! (`torture`, `run`, `explore`, `fscompare`, `list`) and scenario files.
//!
//! Each row runs in a directory of its own (also its `TMPDIR`) holding user
//! files, and must leave it exactly as it found it, names and contents. No
//! row may start a run: each is refused before anything runs, so the whole
//! table takes seconds. Add a row for every bad input found; never remove
//! one.

mod util;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use util::TestDir;

/// Something a row needs in its directory besides the common files.
enum Fixture {
    /// A file and its bytes (`{dir}` in them stands for the directory).
    File(&'static str, Vec<u8>),
    /// An empty directory.
    Dir(&'static str),
    /// A symbolic link and its target.
    Link(&'static str, &'static str),
}

/// One bad input: the arguments (`{dir}` stands for the row's directory),
/// what the single stderr line must contain (the flag or key at fault, or
/// the program or file named), and the files it needs.
struct Row {
    args: Vec<String>,
    needle: String,
    fixtures: Vec<Fixture>,
}

fn cli(args: &[&str], needle: &str) -> Row {
    Row {
        args: args.iter().map(|a| a.to_string()).collect(),
        needle: needle.into(),
        fixtures: Vec::new(),
    }
}

impl Row {
    fn with(mut self, fixture: Fixture) -> Row {
        self.fixtures.push(fixture);
        self
    }
}

/// `torture run bad.toml` with `bad.toml` holding `text`.
fn run_file(text: &str, needle: &str) -> Row {
    cli(&["run", "bad.toml"], needle).with(Fixture::File("bad.toml", text.into()))
}

/// `torture explore --scenario bad.toml` with `bad.toml` holding `text`.
fn explore_file(text: &str, needle: &str) -> Row {
    cli(&["explore", "--scenario", "bad.toml"], needle).with(Fixture::File("bad.toml", text.into()))
}

/// A scenario file that would run, quickly, if a row ever let it.
const GOOD: &str = "strategy = \"reference\"\nwriters = 1\nreaders = 0\nkill_rate = 0.0\nops = 1\nexpect = \"pass\"\n";
/// The start of a valid run scenario.
const RUN: &str = "strategy = \"reference\"\nexpect = \"pass\"\n";
/// The start of a valid exploration.
const EXPLORE: &str = "mode = \"explore\"\nstrategy = \"reference\"\nexpect = \"pass\"\n";
/// The start of a valid outside-program scenario.
const EXEC: &str = "check = \"/bin/true\"\nexpect = \"pass\"\n";

fn torture_rows() -> Vec<Row> {
    vec![
        cli(&["--markdown", "nowhere/x.md"], "--markdown"),
        cli(&["--markdown", "full"], "is a directory"),
        cli(&["--markdown", "-", "--junit", "-"], "both write to stdout"),
        cli(&["--strategy", "yolo"], "reference, naive, no-lock"),
        cli(&["--strategy", ""], "--strategy"),
        cli(&["--writers", "0"], "--writers"),
        cli(&["--writers", "-1"], "--writers"),
        cli(&["--writers", "1025"], "--writers"),
        cli(&["--writers", "abc"], "--writers"),
        cli(&["--writers", "1.5"], "--writers"),
        cli(&["--writers", "99999999999999999999999"], "--writers"),
        cli(&["--writers", ""], "--writers"),
        cli(&["--readers", "-1"], "--readers"),
        cli(&["--readers", "1025"], "--readers"),
        cli(&["--readers", "x"], "--readers"),
        cli(&["--kill-rate", "1.5"], "--kill-rate"),
        cli(&["--kill-rate", "-0.1"], "--kill-rate"),
        cli(&["--kill-rate", "nan"], "--kill-rate"),
        cli(&["--kill-rate", "inf"], "--kill-rate"),
        cli(&["--kill-rate", "abc"], "--kill-rate"),
        cli(&["--kill-rate", "0x1"], "--kill-rate"),
        cli(&["--kill-rate", "0.5", "--kill-rate", "0.6"], "--kill-rate"),
        cli(&["--kill-at", "nowhere"], "--kill-at"),
        cli(&["--kill-at", ""], "--kill-at"),
        cli(&["--until-covered", "0"], "--until-covered"),
        cli(&["--until-covered", "-1"], "--until-covered"),
        cli(&["--until-covered", "x"], "--until-covered"),
        cli(&["--until-covered", "2"], "--until-covered"),
        cli(
            &[
                "--until-covered",
                "2",
                "--kill-at",
                "syscall",
                "--kill-rate",
                "0",
            ],
            "--until-covered",
        ),
        cli(&["--min-acked", "-1"], "--min-acked"),
        cli(&["--min-acked", "x"], "--min-acked"),
        cli(&["--min-acked", "1.5"], "--min-acked"),
        cli(&["--min-kills", "-1"], "--min-kills"),
        cli(&["--min-kills", "x"], "--min-kills"),
        cli(&["--duration", "soonish"], "--duration"),
        cli(&["--duration", "10"], "no unit"),
        cli(&["--duration", "0s"], "--duration"),
        cli(&["--duration", "-1s"], "--duration"),
        cli(&["--duration", "1000000000000h"], "30 days"),
        cli(&["--duration", "30d"], "--duration"),
        cli(&["--duration", "1e3s"], "--duration"),
        cli(&["--duration", "5m3s"], "--duration"),
        cli(&["--duration", "1.5.2s"], "--duration"),
        cli(&["--duration", ""], "--duration"),
        cli(&["--duration", "5s", "--ops", "10"], "--duration"),
        cli(&["--ops", "0"], "--ops"),
        cli(&["--ops", "-5"], "--ops"),
        cli(&["--ops", "x"], "--ops"),
        cli(&["--ops", "99999999999999999999999"], "--ops"),
        cli(&["--payload", "18446744073709551615"], "--payload"),
        cli(&["--payload", "1099511627776"], "--payload"),
        cli(&["--payload", "-1"], "--payload"),
        cli(&["--payload", "x"], "--payload"),
        cli(&["--seed", "-1"], "--seed"),
        cli(&["--seed", "x"], "--seed"),
        cli(&["--seed", "18446744073709551616"], "--seed"),
        cli(&["--dir", "precious.txt"], "not a directory"),
        cli(&["--dir", "full"], "not empty"),
        cli(&["--dir", ""], "--dir"),
        cli(&["--dir", "link"], "--dir").with(Fixture::Link("link", "full")),
        cli(&["--dir", "full/notes/run"], "--dir"),
        cli(&["--json", "nowhere/r.json"], "does not exist"),
        cli(&["--json", "full"], "is a directory"),
        cli(&["--json", ""], "names nothing to write"),
        cli(&["--json", "full/"], "names nothing to write"),
        cli(&["--junit", "."], "names nothing to write"),
        cli(&["--state", "s"], "--exec"),
        cli(&["--junit", "nowhere/j.xml"], "does not exist"),
        cli(&["--junit", "full"], "is a directory"),
        cli(&["--artifacts", "full"], "--artifacts"),
        cli(&["--artifacts", ""], "names nothing to write"),
        cli(&["--artifacts", "precious.txt"], "--artifacts"),
        cli(&["--op-timeout", "0s"], "--op-timeout"),
        cli(&["--op-timeout", "1000000000000h"], "--op-timeout"),
        cli(&["--op-timeout", "x"], "--op-timeout"),
        cli(&["--stall-timeout", "0s"], "--stall-timeout"),
        cli(&["--stall-timeout", "999999h"], "--stall-timeout"),
        cli(&["--stall-timeout", "x"], "--stall-timeout"),
        cli(&["--writres", "3"], "--writres"),
        cli(&["foo"], "foo"),
        cli(&["-x"], "-x"),
        cli(&["--baseline=yes"], "--baseline"),
    ]
}

/// An outside program that cannot be run, refused before any command runs.
fn exec_rows() -> Vec<Row> {
    let t = "/bin/true";
    vec![
        cli(&["--exec", "", "--check", t], "--exec"),
        cli(&["--exec", "   ", "--check", t], "--exec"),
        cli(
            &["--exec", "/nonexistent/prog", "--check", t],
            "/nonexistent/prog",
        ),
        cli(
            &["--exec", "A=1 /nonexistent/prog op", "--check", t],
            "/nonexistent/prog",
        ),
        cli(
            &["--exec", "{dir}/precious.txt", "--check", t],
            "not executable",
        ),
        cli(&["--exec", "{dir}/full", "--check", t], "is a directory"),
        cli(&["--exec", t, "--check", ""], "--check"),
        cli(
            &["--exec", t, "--check", "/nonexistent/check"],
            "/nonexistent/check",
        ),
        cli(&["--exec", t, "--check", t, "--init", ""], "--init"),
        cli(
            &["--exec", t, "--check", t, "--init", "/no/such"],
            "/no/such",
        ),
        cli(&["--exec", t], "--check"),
        cli(&["--check", t], "--exec"),
        cli(&["--init", t], "--exec"),
        cli(
            &["--exec", t, "--check", t, "--state", "/abs/file"],
            "--state",
        ),
        cli(&["--exec", t, "--check", t, "--state", "a/b"], "--state"),
        cli(&["--exec", t, "--check", t, "--state", ".."], "--state"),
        cli(&["--exec", t, "--check", t, "--state", "."], "--state"),
        cli(&["--exec", t, "--check", t, "--state", ""], "--state"),
        cli(
            &["--strategy", "naive", "--exec", t, "--check", t],
            "--strategy",
        ),
        cli(&["--baseline", "--exec", t, "--check", t], "--baseline"),
    ]
}

fn run_rows() -> Vec<Row> {
    vec![
        cli(&["run"], "SCENARIO.toml"),
        cli(&["run", "missing.toml"], "missing.toml"),
        cli(&["run", "d.toml"], "d.toml").with(Fixture::Dir("d.toml")),
        cli(&["run", "good.toml", "bad.toml"], "bad.toml").with(Fixture::File(
            "bad.toml",
            RUN.replace("pass", "lots").into(),
        )),
        cli(&["run", "--partition", "0/2", "good.toml"], "--partition"),
        cli(&["run", "--partition", "3/2", "good.toml"], "--partition"),
        cli(&["run", "--partition", "1/0", "good.toml"], "--partition"),
        cli(&["run", "--partition", "x", "good.toml"], "--partition"),
        cli(&["run", "--kill-at", "nowhere", "good.toml"], "--kill-at"),
        cli(&["run", "--seed", "-1", "good.toml"], "--seed"),
        cli(&["run", "--seed", "x", "good.toml"], "--seed"),
        cli(
            &["run", "--json", "nowhere/x.json", "good.toml"],
            "does not exist",
        ),
        cli(&["run", "--junit", "full", "good.toml"], "is a directory"),
        cli(&["run", "--nonsense", "good.toml"], "--nonsense"),
        cli(
            &["run", "--partition", "2/2", "good.toml"],
            "--partition 2/2 selects no scenario of the 1 given",
        ),
        cli(
            &["run", "-E", "good", "--partition", "2/2", "good.toml"],
            "--partition 2/2 selects no scenario of the 1 --filter selects",
        ),
        cli(
            &["run", "-E", "zzz", "--filter", "b*", "good.toml"],
            "--filter zzz --filter 'b*' matches no scenario of the 1 given",
        ),
        cli(&["run", "-E", "good.toml", "good.toml"], "good.toml"),
        cli(&["run", "--filter", "", "good.toml"], "--filter"),
        cli(&["run", "--repeat", "0", "good.toml"], "--repeat"),
        cli(&["run", "--repeat", "-1", "good.toml"], "--repeat"),
        cli(&["run", "--repeat", "10001", "good.toml"], "--repeat"),
        cli(&["run", "--repeat", "x", "good.toml"], "--repeat"),
        cli(
            &["run", "--list", "--json", "x.json", "good.toml"],
            "--list",
        ),
        cli(&["run", "--list", "--markdown", "-", "good.toml"], "--list"),
        cli(
            &["run", "--duration", "1s", "--ops", "3", "good.toml"],
            "--duration",
        ),
        cli(&["run", "--duration", "0s", "good.toml"], "--duration"),
        cli(&["run", "--duration", "soon", "good.toml"], "--duration"),
        cli(&["run", "--ops", "0", "good.toml"], "--ops"),
        cli(&["run", "--ops", "-5", "good.toml"], "--ops"),
        cli(
            &["run", "--kill-at", "delay", "cov.toml"],
            "`until_covered`",
        )
        .with(Fixture::File(
            "cov.toml",
            format!("{RUN}kill_at = \"syscall\"\nuntil_covered = 2\n").into(),
        )),
        cli(
            &["run", "--markdown", "nowhere/x.md", "good.toml"],
            "--markdown",
        ),
        cli(
            &["run", "--markdown", "full", "good.toml"],
            "is a directory",
        ),
        cli(
            &["run", "--markdown", "-", "--json", "-", "good.toml"],
            "both write to stdout",
        ),
    ]
}

fn run_file_rows() -> Vec<Row> {
    let run = |extra: &str, needle: &str| run_file(&format!("{RUN}{extra}\n"), needle);
    let explore = |extra: &str, needle: &str| run_file(&format!("{EXPLORE}{extra}\n"), needle);
    let exec = |extra: &str, needle: &str| run_file(&format!("{EXEC}{extra}\n"), needle);
    vec![
        run("writters = 2", "`writters`"),
        run("[section]\nx = 1", "`section`"),
        run("writers = \"two\"", "`writers`"),
        run("writers = 0", "`writers`"),
        run("writers = -1", "`writers`"),
        run("writers = 2000", "`writers`"),
        run("writers = 1.5", "`writers`"),
        run("writers = 99999999999999999999", "`writers`"),
        run("writers = 2\nwriters = 3", "`writers`"),
        run("readers = 2000", "`readers`"),
        run("readers = -1", "`readers`"),
        run("kill_rate = 7", "`kill_rate`"),
        run("kill_rate = -0.5", "`kill_rate`"),
        run("kill_rate = \"high\"", "`kill_rate`"),
        run("kill_rate = nan", "`kill_rate`"),
        run("kill_at = \"nowhere\"", "`kill_at`"),
        run("kill_at = 1", "`kill_at`"),
        run("duration = \"soon\"", "`duration`"),
        run("duration = \"10\"", "`duration`"),
        run("duration = \"0s\"", "`duration`"),
        run("duration = \"-5s\"", "`duration`"),
        run("duration = \"1000000000000h\"", "`duration`"),
        run("duration = 10", "`duration`"),
        run("duration = \"1s\"\nops = 5", "`ops`"),
        run("ops = 0", "`ops`"),
        run("ops = -1", "`ops`"),
        run("payload = 9223372036854775807", "`payload`"),
        run("payload = 1099511627776", "`payload`"),
        run("payload = -1", "`payload`"),
        run("seed = -1", "`seed`"),
        run("seed = \"x\"", "`seed`"),
        run("min_acked = -1", "`min_acked`"),
        run("min_kills = \"x\"", "`min_kills`"),
        run("until_covered = 0", "`until_covered`"),
        run("op_timeout = \"0s\"", "`op_timeout`"),
        run("op_timeout = \"99999999h\"", "`op_timeout`"),
        run("op_timeout = \"x\"", "`op_timeout`"),
        run("stall_timeout = \"0s\"", "`stall_timeout`"),
        run("stall_timeout = \"1000000h\"", "`stall_timeout`"),
        run("check = \"/bin/true\"", "`check`"),
        run("description = 5", "`description`"),
        run("faults = \"kill\"", "`faults`"),
        run("warmup_ops = 1", "`warmup_ops`"),
        run("recovery_timeout = \"1s\"", "`recovery_timeout`"),
        run("mode = \"crash\"", "`mode`"),
        run("mode = 1", "`mode`"),
        run_file("strategy = \"zzz\"\nexpect = \"pass\"\n", "`strategy`"),
        run_file(&format!("{RUN}exec = \"/bin/true\"\n"), "`strategy`"),
        run_file("expect = \"pass\"\n", "`strategy`"),
        run_file("strategy = \"reference\"\n", "`expect`"),
        run_file("strategy = \"reference\"\nexpect = \"lots\"\n", "`expect`"),
        run_file("strategy = \"reference\"\nexpect = []\n", "`expect`"),
        run_file(
            "strategy = \"reference\"\nexpect = [\"torn@kill\"]\n",
            "`expect`",
        ),
        run_file("strategy = \"reference\"\nexpect = 5\n", "`expect`"),
        run_file("strategy = = =\n", "line 1"),
        run_file("", "`expect`"),
        cli(&["run", "bad.toml"], "bad.toml").with(Fixture::File(
            "bad.toml",
            b"strategy = \"\xff\xfe\"\nexpect = \"pass\"\n".to_vec(),
        )),
        explore("writers = 2", "`writers`"),
        explore("readers = 1", "`readers`"),
        explore("kill_rate = 0.1", "`kill_rate`"),
        explore("kill_at = \"delay\"", "`kill_at`"),
        explore("seed = 1", "`seed`"),
        explore("min_kills = 1", "`min_kills`"),
        explore("until_covered = 1", "`until_covered`"),
        explore("duration = \"1s\"", "`duration`"),
        explore("ops = 10", "`ops`"),
        explore("min_acked = 1", "`min_acked`"),
        explore("stall_timeout = \"1s\"", "`stall_timeout`"),
        explore("payload = 9223372036854775807", "`payload`"),
        explore("op_timeout = \"1000000000h\"", "`op_timeout`"),
        explore("recovery_timeout = \"0s\"", "`recovery_timeout`"),
        explore("recovery_timeout = \"1000000000h\"", "`recovery_timeout`"),
        explore("warmup_ops = -1", "`warmup_ops`"),
        explore("faults = []", "`faults`"),
        explore("faults = \"zap\"", "`faults`"),
        run_file(
            "mode = \"explore\"\nstrategy = \"reference\"\nexpect = [\"torn\"]\n",
            "`expect`",
        ),
        run_file(
            "mode = \"explore\"\nstrategy = \"reference\"\nexpect = [\"unsafe_ack@kill\"]\n",
            "`expect`",
        ),
        run_file(
            "mode = \"explore\"\nstrategy = \"reference\"\nfaults = \"kill\"\nexpect = [\"unsafe_ack@eio\"]\n",
            "`expect`",
        ),
        run_file("exec = \"/bin/true\"\nexpect = \"pass\"\n", "`check`"),
        exec("exec = \"\"", "`exec`"),
        exec("exec = \"/nonexistent/prog\"", "/nonexistent/prog"),
        exec("exec = \"/etc\"", "`exec`"),
        exec("exec = \"{dir}/precious.txt\"", "`exec`"),
        exec("exec = \"/bin/true\"\ninit = \"/no/such\"", "/no/such"),
        exec("exec = \"/bin/true\"\ninit = \"\"", "`init`"),
        exec("exec = \"/bin/true\"\nstate = \"/abs/file\"", "`state`"),
        exec("exec = \"/bin/true\"\nstate = \"a/b\"", "`state`"),
        run_file(
            "exec = \"/bin/true\"\ncheck = \"\"\nexpect = \"pass\"\n",
            "`check`",
        ),
        run_file(
            &format!("mode = \"explore\"\nexec = \"/bin/true\"\nstate = \"/abs\"\n{EXEC}"),
            "`state`",
        ),
    ]
}

fn explore_rows() -> Vec<Row> {
    let t = "/bin/true";
    vec![
        cli(&["explore", "--markdown", "nowhere/x.md"], "--markdown"),
        cli(&["explore", "--markdown", "full"], "is a directory"),
        cli(
            &["explore", "--markdown", "-", "--json", "-"],
            "both write to stdout",
        ),
        cli(&["explore", "--strategy", "yolo"], "--strategy"),
        cli(&["explore", "--faults", "zap"], "--faults"),
        cli(&["explore", "--faults", ""], "--faults"),
        cli(&["explore", "--faults", "kill,zap"], "zap"),
        cli(
            &["explore", "--payload", "18446744073709551615"],
            "--payload",
        ),
        cli(&["explore", "--payload", "1099511627776"], "--payload"),
        cli(&["explore", "--payload", "-1"], "--payload"),
        cli(&["explore", "--warmup-ops", "-1"], "--warmup-ops"),
        cli(&["explore", "--warmup-ops", "x"], "--warmup-ops"),
        cli(&["explore", "--warmup-ops", "1.5"], "--warmup-ops"),
        cli(&["explore", "--point", "-1"], "--point"),
        cli(&["explore", "--point", "x"], "--point"),
        cli(
            &["explore", "--point", "99999999999999999999999"],
            "--point",
        ),
        cli(&["explore", "--op-timeout", "0s"], "--op-timeout"),
        cli(
            &["explore", "--op-timeout", "1000000000000h"],
            "--op-timeout",
        ),
        cli(
            &["explore", "--recovery-timeout", "0s"],
            "--recovery-timeout",
        ),
        cli(
            &["explore", "--recovery-timeout", "1000000000000h"],
            "--recovery-timeout",
        ),
        cli(
            &["explore", "--recovery-timeout", "x"],
            "--recovery-timeout",
        ),
        cli(&["explore", "--jobs", "0"], "--jobs"),
        cli(&["explore", "--jobs", "-1"], "--jobs"),
        cli(&["explore", "--jobs", "5000"], "--jobs"),
        cli(&["explore", "--dir", "precious.txt"], "not a directory"),
        cli(&["explore", "--dir", "full"], "not empty"),
        cli(&["explore", "--json", "nowhere/r.json"], "does not exist"),
        cli(&["explore", "--junit", "full"], "is a directory"),
        cli(&["explore", "--artifacts", "full"], "--artifacts"),
        cli(&["explore", "--artifacts", "precious.txt"], "--artifacts"),
        cli(
            &["explore", "--exec", t, "--check", t, "--state", "/abs/file"],
            "--state",
        ),
        cli(
            &["explore", "--exec", t, "--check", t, "--state", "a/b"],
            "--state",
        ),
        cli(&["explore", "--exec", "", "--check", t], "--exec"),
        cli(
            &["explore", "--exec", "/nonexistent/prog", "--check", t],
            "/nonexistent/prog",
        ),
        cli(
            &["explore", "--exec", t, "--check", t, "--init", "/no/such"],
            "/no/such",
        ),
        cli(&["explore", "--exec", t, "--check", ""], "--check"),
        cli(&["explore", "--exec", t], "--check"),
        cli(
            &["explore", "--exec", t, "--check", t, "--exec", "/bin/false"],
            "--exec",
        ),
        cli(&["explore", "--scenario", "missing.toml"], "missing.toml"),
        cli(&["explore", "--scenario", "full"], "full"),
        cli(
            &["explore", "--scenario", "good.toml", "--strategy", "naive"],
            "--strategy",
        ),
        explore_file(&format!("{RUN}writters = 1\n"), "`writters`"),
        explore_file(&format!("{EXPLORE}payload = 1099511627776\n"), "`payload`"),
        cli(&["explore", "--nonsense"], "--nonsense"),
        cli(&["explore", "--all-syscalls=yes"], "--all-syscalls"),
        cli(&["explore", "foo"], "foo"),
        // A real file system's power loss: the power fault alone, a file
        // system with a disk, no model, no directory or point of one's own.
        cli(&["explore", "--fs", "ext4"], "--faults power"),
        cli(&["explore", "--fs", "ext4", "--faults", "kill"], "--fs"),
        cli(
            &["explore", "--fs", "ext4", "--faults", "kill,power"],
            "--fs",
        ),
        cli(
            &["explore", "--fs", "tmpfs", "--faults", "power"],
            "tmpfs has no disk",
        ),
        cli(
            &["explore", "--fs", "zfs", "--faults", "power"],
            "unknown file system",
        ),
        cli(&["explore", "--fs", "ext4", "--model", "posix"], "--model"),
        cli(
            &[
                "explore", "--fs", "ext4", "--faults", "power", "--model", "posix",
            ],
            "makes no sense with --fs",
        ),
        cli(
            &["explore", "--fs", "ext4", "--faults", "power", "--dir", "d"],
            "--dir",
        ),
        cli(
            &[
                "explore", "--fs", "ext4", "--faults", "power", "--point", "3",
            ],
            "--point",
        ),
        cli(
            &[
                "explore",
                "--fs",
                "ext4",
                "--faults",
                "power",
                "--all-syscalls",
            ],
            "--all-syscalls",
        ),
        cli(
            &[
                "explore",
                "--fs",
                "xfs",
                "--faults",
                "power",
                "--image-mib",
                "100",
            ],
            "too small",
        ),
        cli(
            &["explore", "--faults", "power", "--image-mib", "512"],
            "--image-mib",
        ),
        explore_file(&format!("{EXPLORE}fs = \"tmpfs\"\n"), "`fs`"),
    ]
}

fn fscompare_rows() -> Vec<Row> {
    let here = "here={dir}/full";
    vec![
        cli(
            &["fscompare", "--out", "o", "--markdown", "nowhere/x.md"],
            "--markdown",
        ),
        cli(
            &["fscompare", "--out", "o", "--markdown", "full"],
            "is a directory",
        ),
        cli(
            &["fscompare", "--out", "o", "--json", "-", "--markdown", "-"],
            "both write to stdout",
        ),
        cli(&["fscompare"], "--out"),
        cli(&["fscompare", "--out", ""], "names nothing to write"),
        cli(
            &["fscompare", "--out", "o", "--image-mib", "0"],
            "--image-mib",
        ),
        cli(
            &["fscompare", "--out", "o", "--image-mib", "-1"],
            "--image-mib",
        ),
        cli(
            &["fscompare", "--out", "o", "--image-mib", "x"],
            "--image-mib",
        ),
        cli(
            &["fscompare", "--out", "o", "--image-mib", "1.5"],
            "--image-mib",
        ),
        cli(
            &["fscompare", "--out", "o", "--image-mib", "99999999"],
            "--image-mib",
        ),
        cli(&["fscompare", "--out", "o", "--fs", "zfs"], "zfs"),
        cli(&["fscompare", "--out", "o", "--fs", ""], "--fs"),
        cli(&["fscompare", "--out", "o", "--fs", ","], "--fs"),
        cli(
            &["fscompare", "--out", "o", "--fs", "tmpfs", "--fs", "ext4"],
            "--fs",
        ),
        cli(&["fscompare", "--out", "o", "--dir", "x"], "--dir"),
        cli(&["fscompare", "--out", "o", "--dir", "=/tmp"], "--dir"),
        cli(
            &[
                "fscompare",
                "--out",
                "o",
                "--dir",
                "nope=/definitely/not/here",
            ],
            "--dir",
        ),
        cli(
            &[
                "fscompare",
                "--out",
                "o",
                "--dir",
                "here={dir}/precious.txt",
            ],
            "not a directory",
        ),
        cli(
            &[
                "fscompare",
                "--out",
                "o",
                "--dir",
                here,
                "--strategies",
                "yolo",
            ],
            "--strategies",
        ),
        cli(
            &[
                "fscompare",
                "--out",
                "o",
                "--dir",
                here,
                "--strategies",
                ",",
            ],
            "--strategies",
        ),
        cli(
            &["fscompare", "--out", "o", "--duration", "0s"],
            "--duration",
        ),
        cli(
            &["fscompare", "--out", "o", "--duration", "1000000000000h"],
            "--duration",
        ),
        cli(&["fscompare", "--out", "o", "--writers", "0"], "--writers"),
        cli(
            &["fscompare", "--out", "o", "--writers", "2000"],
            "--writers",
        ),
        cli(&["fscompare", "--out", "o", "--readers", "-1"], "--readers"),
        cli(
            &["fscompare", "--out", "o", "--kill-rate", "2"],
            "--kill-rate",
        ),
        cli(
            &["fscompare", "--out", "o", "--kill-rate", "-0.5"],
            "--kill-rate",
        ),
        cli(
            &["fscompare", "--out", "o", "--min-kills", "x"],
            "--min-kills",
        ),
        cli(&["fscompare", "--out", "o", "--seed", "x"], "--seed"),
        cli(
            &[
                "fscompare",
                "--out",
                "o",
                "--dir",
                here,
                "--scratch",
                "missing",
            ],
            "--scratch",
        ),
        cli(
            &[
                "fscompare",
                "--out",
                "o",
                "--dir",
                here,
                "--scratch",
                "precious.txt",
            ],
            "--scratch",
        ),
        // Room for two images of 1 TiB each: more than any test machine has.
        cli(
            &[
                "fscompare",
                "--out",
                "o",
                "--fs",
                "ext4,ext4-journal",
                "--image-mib",
                "1048576",
                "--scratch",
                "{dir}",
            ],
            "free",
        ),
        cli(
            &["fscompare", "--out", "precious.txt", "--dir", here],
            "--out",
        ),
        cli(&["fscompare", "--out", "o", "extra"], "extra"),
        cli(&["fscompare", "--out", "o", "--json", ""], "--json"),
        cli(
            &["fscompare", "--out", "o", "--junit", "a\u{1}b"],
            "--junit",
        ),
        cli(&["fscompare", "--out", "o", "--junit", "full"], "--junit"),
        cli(
            &["fscompare", "--out", "o", "--crash-points", "5"],
            "--crash-points needs --power-loss",
        ),
        cli(
            &["fscompare", "--out", "o", "--max-states", "3"],
            "--max-states needs --power-loss",
        ),
        cli(
            &[
                "fscompare",
                "--out",
                "o",
                "--power-loss",
                "--crash-points",
                "0",
            ],
            "--crash-points",
        ),
        cli(
            &[
                "fscompare",
                "--out",
                "o",
                "--power-loss",
                "--crash-points",
                "x",
            ],
            "--crash-points",
        ),
        cli(
            &[
                "fscompare",
                "--out",
                "o",
                "--power-loss",
                "--max-states",
                "0",
            ],
            "--max-states",
        ),
        cli(
            &[
                "fscompare",
                "--out",
                "o",
                "--fs",
                "xfs",
                "--power-loss",
                "--image-mib",
                "200",
            ],
            "--image-mib",
        ),
    ]
}

fn list_rows() -> Vec<Row> {
    vec![
        cli(&["list", "extra"], "extra"),
        // `--json` is a switch here: the list goes to stdout.
        cli(&["list", "--json", "x.json"], "x.json"),
    ]
}

fn completions_and_man_rows() -> Vec<Row> {
    vec![
        cli(&["completions"], "<SHELL>"),
        cli(&["completions", "tcsh"], "tcsh"),
        cli(&["completions", "bash", "zsh"], "zsh"),
        cli(&["man", "extra"], "extra"),
    ]
}

fn all_rows() -> Vec<Row> {
    [
        torture_rows(),
        exec_rows(),
        run_rows(),
        run_file_rows(),
        explore_rows(),
        fscompare_rows(),
        list_rows(),
        completions_and_man_rows(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Lays out what every row finds: user files, a non-empty directory, and a
/// scenario that would run.
fn lay_out(t: &TestDir, row: &Row) {
    let dir = t.path().display().to_string();
    std::fs::write(t.join("precious.txt"), b"user data").unwrap();
    std::fs::create_dir(t.join("full")).unwrap();
    std::fs::write(t.join("full/notes"), b"mine").unwrap();
    std::fs::write(t.join("good.toml"), GOOD).unwrap();
    for f in &row.fixtures {
        match f {
            Fixture::File(name, bytes) => {
                let text = String::from_utf8_lossy(bytes);
                let bytes = match text.contains("{dir}") {
                    true => text.replace("{dir}", &dir).into_bytes(),
                    false => bytes.clone(),
                };
                std::fs::write(t.join(name), bytes).unwrap()
            }
            Fixture::Dir(name) => std::fs::create_dir(t.join(name)).unwrap(),
            Fixture::Link(name, target) => {
                std::os::unix::fs::symlink(target, t.join(name)).unwrap()
            }
        }
    }
}

/// Runs the command, killed if it outlives `deadline` (a row that wrongly
/// starts a run must not hang the suite).
fn output_within(mut cmd: Command, deadline: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(deadline) {
        Ok(out) => out.expect("waited"),
        Err(_) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            let out = rx.recv().expect("the waiter reports").expect("waited");
            panic!(
                "still running after {deadline:?}: it started a run\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Runs one row; `Err` says what went wrong.
fn check(row: &Row) -> Result<(), String> {
    let t = TestDir::new();
    lay_out(&t, row);
    let dir = t.path().display().to_string();
    let args: Vec<String> = row.args.iter().map(|a| a.replace("{dir}", &dir)).collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let before = t.snapshot();
    let out = output_within(t.cmd(&refs), Duration::from_secs(60));
    let after = t.snapshot();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let mut wrong = Vec::new();
    if out.status.code() != Some(2) {
        wrong.push(format!("exit {:?}, not 2", out.status));
    }
    if lines.len() != 1 {
        wrong.push(format!("{} lines on stderr, not 1", lines.len()));
    } else if !lines[0].contains(&row.needle) {
        wrong.push(format!("the line lacks {:?}", row.needle));
    }
    if !out.stdout.is_empty() {
        wrong.push("something on stdout".into());
    }
    if before != after {
        wrong.push(format!(
            "the directory changed: {}",
            changes(&before, &after)
        ));
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(format!(
        "torture {:?}: {}\n  stderr: {}\n  stdout: {}",
        row.args,
        wrong.join("; "),
        stderr.trim_end(),
        String::from_utf8_lossy(&out.stdout).trim_end()
    ))
}

/// What differs between two snapshots, by name.
fn changes(before: &[(String, Vec<u8>)], after: &[(String, Vec<u8>)]) -> String {
    let b: BTreeSet<_> = before.iter().collect();
    let a: BTreeSet<_> = after.iter().collect();
    let gone: Vec<&String> = b.difference(&a).map(|(n, _)| n).collect();
    let new: Vec<&String> = a.difference(&b).map(|(n, _)| n).collect();
    format!("before only {gone:?}, after only {new:?}")
}

#[test]
fn every_bad_input_is_one_line_exit_2_and_touches_nothing() {
    let rows = all_rows();
    assert!(
        rows.len() >= 150,
        "{} rows: the table only grows",
        rows.len()
    );
    let mut seen = BTreeSet::new();
    for row in &rows {
        let files: Vec<String> = row
            .fixtures
            .iter()
            .map(|f| match f {
                Fixture::File(n, b) => format!("{n}={}", String::from_utf8_lossy(b)),
                Fixture::Dir(n) => format!("{n}/"),
                Fixture::Link(n, t) => format!("{n}->{t}"),
            })
            .collect();
        assert!(
            seen.insert((row.args.clone(), files)),
            "a row is there twice: {:?}",
            row.args
        );
    }
    let failures: Vec<String> = rows.iter().filter_map(|r| check(r).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs were not refused cleanly:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["--help"],
        &["--writers", "0"],
    ] {
        let t = TestDir::new();
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let writer2 = writer.try_clone().unwrap();
        // Both outputs closed: what is written goes nowhere, as with
        // `torture list | head -0` once head has gone.
        let out = t.cmd(args).stdout(writer).stderr(writer2).status().unwrap();
        assert_eq!(
            out.signal(),
            Some(libc::SIGPIPE),
            "torture {args:?}: {out:?}, not the quiet end of ls"
        );
    }
    // With only stdout closed, nothing is said on stderr: no panic.
    let t = TestDir::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = t.cmd(&["list"]).stdout(writer).output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(101), "a panic");
}

/// A tmpfs mounted for a test, unmounted when dropped.
struct Mount(std::path::PathBuf);

impl Mount {
    /// A tiny tmpfs at `path`, or `None` where this machine cannot mount.
    fn tmpfs(path: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir(path).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(path.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_new_dir_on_a_full_file_system_is_not_left_behind() {
    let t = TestDir::new();
    let Some(full) = Mount::tmpfs(&t.join("fs"), "64k") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    // Fill it: the directories fit (they take no blocks on tmpfs), the
    // marker file's content does not.
    let filler = full.0.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut f, &block).is_ok() {}
    drop(f);
    let before = t.snapshot();
    for args in [
        &["--dir", "fs/new/deeper", "--ops", "1"][..],
        &["explore", "--dir", "fs/new"],
    ] {
        let run = t.run(args);
        // The harness could not write its manifest there: a harness
        // failure (exit 4), not a verdict.
        run.expect_code(4).expect_one_error_line("No space left");
        assert_eq!(t.snapshot(), before, "{}", run.describe());
    }
}
