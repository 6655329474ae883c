//! Never harm the machine: `torture` deletes nothing it did not make, its
//! watchdog cannot be made to remove or unmount anything else, and a
//! SIGKILL of `torture` leaves nothing of it behind.

mod util;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use util::{TestDir, processes_of, read_json, torture_dirs, wait_for};

/// A short run that passes: two writers, no kill.
const PASSING: &[&str] = &[
    "--writers",
    "2",
    "--readers",
    "0",
    "--ops",
    "20",
    "--kill-rate",
    "0",
];

/// Checks an outside program's state: one op id per line.
const CHECK_IDS: &str = "cat \"$TORTURE_STATE\" 2>/dev/null || true";

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn with(args: &[&str], more: &[&str]) -> Vec<String> {
    args.iter().chain(more).map(|s| s.to_string()).collect()
}

fn run(t: &TestDir, args: &[String]) -> util::Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    t.run(&args)
}

/// Runs `args` and asserts it refuses, in one line naming `needle`, with
/// every file of the test's directory byte-identical afterwards.
fn refused_untouched(t: &TestDir, args: &[String], needle: &str) {
    let before = t.snapshot();
    let run = run(t, args);
    assert!(t.snapshot() == before, "files changed\n{}", run.describe());
    run.expect_code(2).expect_one_error_line(needle);
}

#[test]
fn reusing_a_dir_keeps_the_users_files_that_look_like_torture_s() {
    let t = TestDir::new();
    let args = with(&["--dir", "run"], PASSING);
    run(&t, &args).expect_code(0);
    for (name, content) in [
        ("state.bak", "my backup"),
        ("state-notes.txt", "my notes"),
        ("baseline-results.csv", "a,b\n1,2\n"),
    ] {
        std::fs::write(t.join("run").join(name), content).unwrap();
    }
    refused_untouched(&t, &args, "which torture did not create");
    let baseline = with(&["--dir", "run", "--baseline"], PASSING);
    refused_untouched(&t, &baseline, "which torture did not create");
    // What torture made, alone, is reused.
    for name in ["state.bak", "state-notes.txt", "baseline-results.csv"] {
        std::fs::remove_file(t.join("run").join(name)).unwrap();
    }
    run(&t, &args).expect_code(0);
}

/// The user's files in a forged directory: every name one that torture's
/// own files used to match.
const LOOKALIKES: [&str; 4] = ["state", "state.v3", "state.bak", "baseline-results.csv"];

/// Writes `manifest` as `dir`'s `.torture-run`, next to the user's files.
fn forge(dir: &Path, manifest: &str) {
    std::fs::create_dir_all(dir).unwrap();
    for name in LOOKALIKES {
        std::fs::write(dir.join(name), format!("the user's {name}")).unwrap();
    }
    let _ = std::fs::remove_file(dir.join(".torture-run"));
    std::fs::write(dir.join(".torture-run"), manifest).unwrap();
}

fn manifest_naming(names: &[&str], ino: u64) -> String {
    let entries: Vec<serde_json::Value> = names
        .iter()
        .map(|n| serde_json::json!({"path": n, "type": "file", "ino": ino}))
        .collect();
    serde_json::json!({
        "schema": "torture/manifest/v1", "kind": "run", "pid": 1, "started": 0,
        "complete": true, "entries": entries,
    })
    .to_string()
}

#[test]
fn a_forged_marker_gets_nothing_deleted() {
    let t = TestDir::new();
    let dir = t.join("forged");
    let args = with(&["--dir", "forged"], PASSING);
    // The old marker, which anybody can write.
    forge(&dir, "created by torture\n");
    refused_untouched(&t, &args, "is no manifest of torture's");
    // A manifest naming the user's files, which torture never made.
    forge(&dir, &manifest_naming(&LOOKALIKES, 1));
    refused_untouched(&t, &args, "changed since torture made it");
    // A manifest naming files outside the directory.
    std::fs::write(t.join("outside"), b"precious").unwrap();
    forge(&dir, &manifest_naming(&["../outside"], 1));
    refused_untouched(&t, &args, "outside the directory");
    // A manifest that is a link to a file elsewhere: never written through.
    for name in LOOKALIKES.iter().chain(&[".torture-run"]) {
        std::fs::remove_file(dir.join(name)).unwrap();
    }
    std::os::unix::fs::symlink(t.join("outside"), dir.join(".torture-run")).unwrap();
    refused_untouched(&t, &args, "symbolic link");
    assert_eq!(std::fs::read(t.join("outside")).unwrap(), b"precious");
}

#[test]
fn a_dir_of_another_user_or_writable_by_everyone_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestDir::new();
    let args = with(&["--dir", "run"], PASSING);
    run(&t, &args).expect_code(0);
    std::fs::set_permissions(t.join("run"), std::fs::Permissions::from_mode(0o777)).unwrap();
    refused_untouched(&t, &args, "writable by everyone");
    std::fs::set_permissions(t.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
    if !is_root() {
        eprintln!("skipped the other owner: chown needs root");
        return;
    }
    for entry in std::fs::read_dir(t.join("run")).unwrap() {
        std::os::unix::fs::lchown(entry.unwrap().path(), Some(12345), Some(12345)).unwrap();
    }
    std::os::unix::fs::chown(t.join("run"), Some(12345), Some(12345)).unwrap();
    refused_untouched(&t, &args, "belongs to uid 12345");
}

/// An outside program whose operations from the `block_from`-th on wait
/// for the file `gate`; each appends a line to `count` when it starts.
fn gated_program(t: &TestDir, block_from: usize) -> (String, PathBuf, PathBuf) {
    let (count, gate) = (t.join("count"), t.join("gate"));
    let script = t.join("op.sh");
    std::fs::write(
        &script,
        format!(
            "echo x >> '{count}'\n\
             if [ \"$(wc -l < '{count}')\" -ge {block_from} ]; then\n\
               until [ -e '{gate}' ]; do sleep 0.01; done\n\
             fi\n\
             echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\"\n",
            count = count.display(),
            gate = gate.display(),
        ),
    )
    .unwrap();
    (format!("sh '{}'", script.display()), count, gate)
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

/// Two warm-up operations and the recorded one run first: the fourth
/// operation is a faulted run.
const FIRST_FAULTED: usize = 4;

#[test]
fn explore_leaves_what_the_user_adds_to_its_dir_alone() {
    let t = TestDir::new();
    let (exec, count, gate) = gated_program(&t, FIRST_FAULTED);
    let mut child = t
        .cmd(&[
            "explore", "--exec", &exec, "--check", CHECK_IDS, "--faults", "kill,eio", "--jobs",
            "1", "--dir", "run", "--json", "e.json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let faulting = wait_for(Duration::from_secs(60), || lines(&count) >= FIRST_FAULTED);
    if !faulting {
        let _ = child.kill();
        panic!("no faulted run started");
    }
    std::fs::write(t.join("run/mine.txt"), b"the user's").unwrap();
    std::fs::create_dir(t.join("run/my-dir")).unwrap();
    std::fs::write(t.join("run/my-dir/inside"), b"also the user's").unwrap();
    std::fs::write(&gate, b"").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = read_json(&t.join("e.json"));
    assert!(r["runs"].as_u64().unwrap() >= 2, "{r}");
    assert!(
        lines(&count) > FIRST_FAULTED,
        "more faulted runs after the user's files"
    );
    assert_eq!(
        std::fs::read(t.join("run/mine.txt")).unwrap(),
        b"the user's"
    );
    assert_eq!(
        std::fs::read(t.join("run/my-dir/inside")).unwrap(),
        b"also the user's"
    );
    assert!(
        torture_dirs(t.path()).is_empty(),
        "{:?}",
        torture_dirs(t.path())
    );
}

#[test]
fn fscompare_in_a_users_directory_touches_none_of_its_files() {
    let t = TestDir::new();
    let mine = t.join("mine");
    std::fs::create_dir_all(mine.join("run-reference")).unwrap();
    for (name, content) in [
        ("fsync-probe", "my probe"),
        ("notes.txt", "my notes"),
        ("run-reference/state", "my state"),
    ] {
        std::fs::write(mine.join(name), content).unwrap();
    }
    let before = t.snapshot();
    let dir = format!("here={}", mine.display());
    let run = t.run(&[
        "fscompare",
        "--dir",
        &dir,
        "--strategies",
        "reference",
        "--duration",
        "1s",
        "--min-kills",
        "1",
        "--writers",
        "2",
        "--out",
        "out",
    ]);
    assert_ne!(run.code(), Some(2), "{}", run.describe());
    let after: Vec<_> = t
        .snapshot()
        .into_iter()
        .filter(|(p, _)| !p.starts_with("out"))
        .collect();
    assert!(after == before, "{}", run.describe());
}

#[test]
fn a_newline_in_a_path_is_refused_and_the_victim_survives() {
    let t = TestDir::new();
    let victim = t.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("precious"), b"mine").unwrap();
    std::fs::create_dir(t.join("x")).unwrap();
    let evil = format!("{}/s\n+d {}\n+x", t.path().display(), victim.display());
    let here = format!("x={}", t.join("x").display());
    let before = t.snapshot();
    for args in [
        vec![
            "fscompare",
            "--dir",
            &here,
            "--scratch",
            &evil,
            "--out",
            "out",
        ],
        vec!["fscompare", "--dir", &here, "--out", &evil],
        vec!["--dir", &evil, "--ops", "5"],
        vec!["--artifacts", &evil, "--ops", "5"],
        vec!["explore", "--dir", &evil],
    ] {
        t.run(&args)
            .expect_code(2)
            .expect_one_error_line("control character");
    }
    let evil_dir = format!("x={evil}");
    t.run(&["fscompare", "--dir", &evil_dir, "--out", "out"])
        .expect_code(2)
        .expect_one_error_line("control character");
    let out = t
        .cmd(&["--ops", "5"])
        .env("TMPDIR", &evil)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().count() == 1 && err.contains("TMPDIR"), "{err}");
    assert!(t.snapshot() == before, "nothing touched");
}

/// Mounts a tmpfs at `path` for the life of the value.
struct TmpfsMount(PathBuf);

impl TmpfsMount {
    fn new(path: PathBuf) -> Self {
        std::fs::create_dir_all(&path).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "cannot mount a tmpfs");
        TmpfsMount(path)
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn mounted(path: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let path = path.display().to_string();
    info.lines()
        .any(|l| l.split(' ').nth(4) == Some(path.as_str()))
}

/// Whatever is registered with it, the watchdog removes only directories
/// torture made and unmounts only inside them.
#[test]
fn the_watchdog_removes_and_unmounts_only_its_own() {
    use torture_harness::owned::{Kind, ScratchDir};
    let t = TestDir::new();
    let victim = t.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("precious"), b"mine").unwrap();
    let forged = t.join("torture-forged");
    std::fs::create_dir_all(&forged).unwrap();
    std::fs::write(forged.join("precious"), b"mine").unwrap();
    let ours = ScratchDir::create(Kind::Fscompare, t.path(), None)
        .unwrap()
        .keep();
    std::fs::write(ours.join("image"), b"ours").unwrap();
    let evil = PathBuf::from(format!(
        "{}/s\n+d {}\n+m {}\n+x",
        t.path().display(),
        victim.display(),
        victim.display()
    ));
    let mount = is_root().then(|| TmpfsMount::new(t.join("victim-mnt")));
    if let Some(m) = &mount {
        std::fs::write(m.0.join("precious"), b"mine").unwrap();
    }
    let watchdog = torture_harness::process::Watchdog::start(&util::bin()).unwrap();
    for dir in [&victim, &forged, &evil, &ours, &t.path().to_path_buf()] {
        torture_harness::owned::DirWatch::watch_dir(&watchdog, dir);
    }
    if let Some(m) = &mount {
        watchdog.watch_mount(&m.0);
        watchdog.watch_mount(&ours.join("..").join("victim-mnt"));
    }
    watchdog.watch_mount(&evil);
    watchdog.stop();
    assert!(!ours.exists(), "its own directory is removed");
    assert_eq!(std::fs::read(victim.join("precious")).unwrap(), b"mine");
    assert_eq!(std::fs::read(forged.join("precious")).unwrap(), b"mine");
    if let Some(m) = &mount {
        assert!(mounted(&m.0), "a mount outside its own was unmounted");
        assert_eq!(std::fs::read(m.0.join("precious")).unwrap(), b"mine");
    } else {
        eprintln!("skipped the mount: mounting needs root");
    }
}

/// Starts `torture args...`, waits until `ready`, SIGKILLs it, and checks
/// that none of its directories and processes are left.
fn sigkill_leaves_nothing(t: &TestDir, args: &[&str], ready: impl Fn() -> bool) {
    let mut child = t
        .cmd(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let up = wait_for(Duration::from_secs(60), &ready);
    child.kill().unwrap();
    assert!(up, "never got going: {:?}", torture_dirs(t.path()));
    child.wait().unwrap();
    let clean = wait_for(Duration::from_secs(20), || {
        torture_dirs(t.path()).is_empty() && processes_of(t.path()).is_empty()
    });
    assert!(
        clean,
        "{args:?}: left {:?} and processes {:?}",
        torture_dirs(t.path()),
        processes_of(t.path())
    );
}

/// Whether a directory `torture-*` (not one of `others`) holds `file`.
fn run_dir_holds(t: &TestDir, file: &str) -> bool {
    torture_dirs(t.path())
        .iter()
        .filter(|d| !d.starts_with("torture-logs-") && !d.starts_with("torture-explore-"))
        .any(|d| t.join(d).join(file).exists())
}

#[test]
fn sigkill_during_a_run_leaves_no_directory_and_no_process() {
    let t = TestDir::new();
    let args = ["--writers", "2", "--readers", "1", "--duration", "60s"];
    sigkill_leaves_nothing(&t, &args, || run_dir_holds(&t, "state"));
}

#[test]
fn sigkill_during_an_outside_programs_run_leaves_no_directory_and_no_process() {
    let t = TestDir::new();
    let args = [
        "--exec",
        "echo \"$TORTURE_OP\" >> \"$TORTURE_STATE\"",
        "--check",
        CHECK_IDS,
        "--writers",
        "2",
        "--readers",
        "0",
        "--duration",
        "60s",
    ];
    sigkill_leaves_nothing(&t, &args, || {
        run_dir_holds(&t, "state")
            && torture_dirs(t.path())
                .iter()
                .any(|d| d.starts_with("torture-logs-"))
    });
}

#[test]
fn sigkill_during_an_exploration_leaves_no_directory_and_no_process() {
    let t = TestDir::new();
    let (exec, count, _gate) = gated_program(&t, FIRST_FAULTED);
    let args = [
        "explore", "--exec", &exec, "--check", CHECK_IDS, "--faults", "kill", "--jobs", "1",
    ];
    sigkill_leaves_nothing(&t, &args, || {
        lines(&count) >= FIRST_FAULTED
            && torture_dirs(t.path())
                .iter()
                .any(|d| d.starts_with("torture-explore-"))
    });
}

/// The loop devices whose backing file lies under `dir`.
fn loop_devices_under(dir: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    std::fs::read_dir("/sys/block")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("loop/backing_file")).ok())
        .map(|f| f.trim().to_string())
        .filter(|f| f.starts_with(&dir))
        .collect()
}

fn mounts_under(dir: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.display().to_string();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&dir))
        .map(str::to_string)
        .collect()
}

#[test]
fn sigkill_during_fscompare_leaves_no_mount_loop_device_directory_or_process() {
    if !is_root() || !Path::new("/dev/loop-control").exists() {
        eprintln!("skipped: fscompare must mount file systems here");
        return;
    }
    let t = TestDir::new();
    let scratch = t.path().display().to_string();
    let args = [
        "fscompare",
        "--fs",
        "ext4",
        "--strategies",
        "reference",
        "--duration",
        "60s",
        "--min-kills",
        "1",
        "--writers",
        "2",
        "--image-mib",
        "64",
        "--scratch",
        &scratch,
        "--out",
        "out",
    ];
    let state_in_mount = || {
        mounts_under(t.path()).iter().any(|m| {
            torture_dirs(Path::new(m))
                .iter()
                .any(|w| Path::new(m).join(w).join("run-reference/state").exists())
        })
    };
    sigkill_leaves_nothing(&t, &args, state_in_mount);
    let gone = wait_for(Duration::from_secs(20), || {
        mounts_under(t.path()).is_empty() && loop_devices_under(t.path()).is_empty()
    });
    assert!(
        gone,
        "left mounts {:?}, loop devices {:?}",
        mounts_under(t.path()),
        loop_devices_under(t.path())
    );
}

#[test]
fn clean_removes_a_failed_runs_directory_and_nothing_else() {
    let t = TestDir::new();
    let failing = t.run(&[
        "--strategy",
        "no-lock",
        "--writers",
        "16",
        "--kill-rate",
        "0",
        "--duration",
        "2s",
        "--json",
        "r.json",
    ]);
    failing.expect_code(1);
    assert!(
        failing.stdout().contains("`torture clean` removes it"),
        "{}",
        failing.describe()
    );
    let kept = PathBuf::from(
        read_json(&t.join("r.json"))["config"]["dir"]
            .as_str()
            .unwrap(),
    );
    assert!(kept.join("state").is_file(), "{}", failing.describe());
    // Not torture's: no manifest.
    std::fs::create_dir(t.join("torture-foo")).unwrap();
    std::fs::write(t.join("torture-foo/data"), b"mine").unwrap();
    // Somebody else's, with a manifest.
    let other = t.join("torture-other");
    if is_root() {
        std::fs::create_dir(&other).unwrap();
        std::fs::copy(kept.join(".torture-run"), other.join(".torture-run")).unwrap();
        std::os::unix::fs::chown(other.join(".torture-run"), Some(12345), None).unwrap();
        std::os::unix::fs::chown(&other, Some(12345), None).unwrap();
    } else {
        eprintln!("skipped another owner's directory: chown needs root");
    }
    let before = t.snapshot();
    let dry = t.run(&["clean", "--dry-run"]);
    dry.expect_code(0);
    assert!(t.snapshot() == before, "a dry run removes nothing");
    assert!(
        dry.stdout()
            .contains(&format!("would remove {}", kept.display())),
        "{}",
        dry.describe()
    );
    let clean = t.run(&["clean"]);
    clean.expect_code(0);
    assert!(!kept.exists(), "{}", clean.describe());
    let out = clean.stdout();
    assert!(out.contains("torture-foo: it is not empty"), "{out}");
    if is_root() {
        assert!(out.contains("belongs to uid 12345"), "{out}");
    }
    let kept_name = kept.file_name().unwrap().to_string_lossy().to_string();
    let left: Vec<_> = before
        .into_iter()
        .filter(|(p, _)| !p.starts_with(&kept_name))
        .collect();
    assert!(t.snapshot() == left, "{}", clean.describe());
}
