//! A small CLI test harness: each test gets its own directory, and a failed
//! assertion prints the command, its status, stdout, stderr and the listing
//! of the directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A correct little outside program: flock(1) + temp + mv, one op id per
/// line.
pub const GOOD_EXEC: &str = "exec 9>>\"$TORTURE_STATE.lock\"; flock 9; t=$(mktemp \"$TORTURE_STATE.tmp-XXXXXX\"); \
    cat \"$TORTURE_STATE\" > \"$t\" 2>/dev/null; echo \"$TORTURE_OP\" >> \"$t\"; mv \"$t\" \"$TORTURE_STATE\"";

/// Its check: the state file, which may not exist yet.
pub const GOOD_CHECK: &str = "cat \"$TORTURE_STATE\" 2>/dev/null || true";

/// Whether `torture --power-loss` can make a recording disk here: root,
/// loop devices and a usable `/dev/fuse`.
pub fn can_record_disk() -> bool {
    nix::unistd::geteuid().is_root()
        && Path::new("/dev/loop-control").exists()
        && std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/fuse")
            .is_ok()
}

/// Everything of ours still mounted under `dir`, or naming it (a FUSE
/// mount's source, a loop device's backing file), or made in it (a
/// `torture-*` directory).
pub fn leftovers(dir: &Path) -> Vec<String> {
    let d = dir.display().to_string();
    let mut left: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&d))
        .map(str::to_string)
        .collect();
    for e in std::fs::read_dir("/sys/block").unwrap().flatten() {
        let backing = e.path().join("loop/backing_file");
        if let Ok(b) = std::fs::read_to_string(&backing)
            && b.contains(&d)
        {
            left.push(format!("{}: {}", e.path().display(), b.trim()));
        }
    }
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("torture-") {
            left.push(e.path().display().to_string());
        }
    }
    left
}

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_torture"))
}

/// The word the binary's replay lines and scripts name it by, with the
/// tests' PATH: `torture` only if that runs this very binary, else its
/// absolute path (the usual case: `target/release` is not on PATH). The
/// rule's own unit tests cover both branches; `tests/replay.rs` runs the
/// lines.
pub fn torture_word() -> String {
    torture_harness::invocation::word_for(&bin(), std::env::var_os("PATH").as_deref())
}

/// A test's own directory.
pub struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> Self {
        TestDir {
            dir: tempfile::Builder::new()
                .prefix("torture-test-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// A `torture` command running in this directory. Its temporary
    /// directories (kept as evidence when a run fails) go here too.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args)
            .current_dir(self.path())
            .env("TMPDIR", self.path());
        c
    }

    /// Runs `torture args...` and returns what happened.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(self.path(), args)
    }

    /// Runs `torture args...` from `cwd` (a directory under this one, for
    /// relative names) and returns what happened.
    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let mut c = self.cmd(args);
        let output = c.current_dir(cwd).output().expect("the binary runs");
        Run {
            command: format!("torture {}", args.join(" ")),
            output,
            listing: listing(self.path()),
        }
    }

    /// Every file under the directory with its content, for before/after
    /// comparisons.
    pub fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        snapshot_into(self.path(), self.path(), &mut out);
        out.sort();
        out
    }
}

fn snapshot_into(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        if p.is_dir() {
            out.push((rel + "/", Vec::new()));
            snapshot_into(root, &p, out);
        } else {
            out.push((rel, std::fs::read(&p).unwrap_or_default()));
        }
    }
}

fn listing(dir: &Path) -> String {
    let mut names: Vec<String> = walk(dir);
    names.sort();
    names.join("\n")
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        out.push(entry.path().display().to_string());
        if entry.path().is_dir() {
            out.extend(walk(&entry.path()));
        }
    }
    out
}

/// The result of one command.
pub struct Run {
    pub command: String,
    pub output: Output,
    pub listing: String,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Everything about the run, for a failure message.
    pub fn describe(&self) -> String {
        format!(
            "command: {}\nstatus: {}\n--- stdout\n{}\n--- stderr\n{}\n--- directory\n{}",
            self.command,
            self.output.status,
            self.stdout(),
            self.stderr(),
            self.listing
        )
    }

    /// Asserts the exit code.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(code),
            "unexpected exit code\n{}",
            self.describe()
        );
        self
    }

    /// Asserts one line on stderr containing `needle`.
    pub fn expect_one_error_line(&self, needle: &str) -> &Self {
        let err = self.stderr();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one line on stderr\n{}",
            self.describe()
        );
        assert!(
            lines[0].contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.describe()
        );
        self
    }
}

/// Polls `cond` until it holds or `deadline` passes; returns whether it held.
pub fn wait_for(deadline: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pids of live processes whose command line contains `needle`.
pub fn processes_with(needle: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true);
        if cmdline.contains(needle) && !zombie {
            pids.push(pid);
        }
    }
    pids
}

/// Whether a live process whose command line contains `needle` has been
/// running for at least `age`: a hung operation, not one that happens to be
/// running at the moment of the look.
pub fn running_for(needle: &str, age: Duration) -> bool {
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    processes_with(needle).into_iter().any(|pid| {
        let started = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                let after = s.rsplit(')').next()?.to_string();
                after.split_whitespace().nth(19)?.parse::<f64>().ok()
            });
        started.is_some_and(|t| uptime - t / ticks >= age.as_secs_f64())
    })
}

/// Reads a JSON report.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The pids of live processes (not zombies) whose environment sets
/// `TMPDIR` to `dir`: everything `torture` started from
/// [`TestDir::cmd`] runs with it, its watchdog included.
pub fn processes_of(dir: &Path) -> Vec<i32> {
    let needle = format!("TMPDIR={}", dir.display()).into_bytes();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true);
        if !zombie && environ.split(|&b| b == 0).any(|e| e == needle.as_slice()) {
            pids.push(pid);
        }
    }
    pids
}

/// The `torture-*` entries directly in `dir`.
pub fn torture_dirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("torture-"))
        .collect();
    names.sort();
    names
}
