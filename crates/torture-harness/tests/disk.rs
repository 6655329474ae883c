//! The recording disk on real file systems: ext4 records its flushes and
//! serves crash images that show what was durable, and only that; views
//! never change the log; XFS and Btrfs mount theirs; nothing is left
//! behind, not even after a SIGKILL.
//!
//! Needs root, `/dev/fuse` and loop devices; without them every test says
//! `skipped: <why>` and passes. A test binary of its own (`harness =
//! false`): the SIGKILL test runs it again as the process to kill, and
//! that process's watchdog is this binary too (`__watchdog`), as the
//! `torture` binary's is. `TORTURE_DISK_BENCH=1` adds the measurements.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use torture_harness::disk::{self, EntryKind, FsSpec, RecordingDisk, ViewError, durable_end};
use torture_harness::process::{WATCHDOG_SUBCOMMAND, Watchdog, watchdog_main};

/// The hidden argument that makes this binary the process the SIGKILL
/// test kills.
const VICTIM: &str = "__disk-victim";

type Test = (&'static str, fn());

const TESTS: &[Test] = &[
    (
        "ext4_crash_images_show_what_was_durable",
        ext4_crash_images_show_what_was_durable,
    ),
    ("xfs_smoke", xfs_smoke),
    ("btrfs_smoke", btrfs_smoke),
    ("a_sigkill_leaves_nothing", a_sigkill_leaves_nothing),
    (
        "a_busy_disk_is_cleaned_up_anyway",
        a_busy_disk_is_cleaned_up_anyway,
    ),
    ("bench", bench),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some(WATCHDOG_SUBCOMMAND) => std::process::exit(watchdog_main()),
        Some(VICTIM) => victim(Path::new(&args[2])),
        _ => {}
    }
    let filters: Vec<&str> = args[1..]
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let chosen: Vec<&Test> = TESTS
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f)))
        .collect();
    println!("\nrunning {} tests", chosen.len());
    let mut failed = Vec::new();
    for (name, test) in chosen {
        println!("test {name} ...");
        let started = Instant::now();
        match std::panic::catch_unwind(test) {
            Ok(()) => println!("test {name} ... ok ({:.1?})", started.elapsed()),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    if failed.is_empty() {
        println!("\ntest result: ok");
    } else {
        println!("\ntest result: FAILED: {failed:?}");
        std::process::exit(1);
    }
}

/// Why this machine cannot record `fs`, if it cannot.
fn cannot_record(fs: &str) -> Option<String> {
    disk::preflight_recording(&FsSpec::parse(fs).unwrap()).err()
}

macro_rules! needs {
    ($fs:expr) => {
        if let Some(why) = cannot_record($fs) {
            println!("skipped: {why}");
            return;
        }
    };
}

fn watchdog() -> Arc<Watchdog> {
    Arc::new(Watchdog::start(&std::env::current_exe().unwrap()).unwrap())
}

fn test_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("torture-test-disk-")
        .tempdir()
        .unwrap()
}

/// Writes `name` in `dir` and makes it durable: fsync of the file, then of
/// the directory.
fn write_durably(dir: &Path, name: &str, data: &[u8]) {
    std::fs::write(dir.join(name), data).unwrap();
    std::fs::File::open(dir.join(name))
        .unwrap()
        .sync_all()
        .unwrap();
    std::fs::File::open(dir).unwrap().sync_all().unwrap();
}

/// What of ours is still on the machine, under `dir`: mount points, loop
/// devices over a file, `torture-power-*` directories.
fn leftovers(dir: &Path) -> Vec<String> {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut left = Vec::new();
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for mnt in info.lines().filter_map(|l| l.split(' ').nth(4)) {
        if Path::new(mnt).starts_with(&dir) {
            left.push(format!("mount {mnt}"));
        }
    }
    for e in std::fs::read_dir("/sys/block").unwrap().flatten() {
        if let Ok(b) = std::fs::read_to_string(e.path().join("loop/backing_file"))
            && Path::new(b.trim_end()).starts_with(&dir)
        {
            left.push(format!("{:?} over {}", e.file_name(), b.trim_end()));
        }
    }
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if e.file_name()
            .to_string_lossy()
            .starts_with("torture-power-")
        {
            left.push(format!("directory {}", e.path().display()));
        }
    }
    left
}

fn assert_nothing_left(dir: &Path) {
    let left = leftovers(dir);
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn ext4_crash_images_show_what_was_durable() {
    needs!("ext4");
    let t = test_dir();
    let wd = watchdog();
    let spec = FsSpec::parse("ext4").unwrap();
    let mut disk = RecordingDisk::create(&spec, t.path(), 256 << 20, &wd).unwrap();
    assert_eq!(
        disk.mkfs_line(),
        "mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0"
    );
    assert_eq!(disk.mount_options(), "loop,data=ordered");
    let root = disk.root().to_path_buf();
    let p0 = disk.sync().unwrap();
    let before = disk.stats();
    write_durably(&root, "a", b"hello, disk");
    let p1 = disk.position();
    let read_position = std::fs::read_to_string(disk.position_file()).unwrap();
    assert!(read_position.ends_with('\n'), "{read_position:?}");
    assert!(read_position.trim().parse::<u64>().unwrap() >= p1);
    let during = disk.stats();
    assert!(
        during.flushes > before.flushes,
        "fsync reached the disk as a flush: {before:?} then {during:?}"
    );
    std::fs::write(root.join("b"), b"never synced by hand").unwrap();
    let end = disk.finish().unwrap();
    assert_eq!(disk.finish().unwrap(), end, "finish is idempotent");
    let kinds = disk.kinds();
    assert_eq!(kinds.len() as u64, end);
    assert!(end > p1, "the unmount wrote the rest");

    let stats = disk.stats();
    let durable = durable_end(&kinds, p1);
    let listing = {
        let v = disk.mount_view(durable, &[]).unwrap();
        assert_eq!(std::fs::read(v.root().join("a")).unwrap(), b"hello, disk");
        // Writes into the image stay in it.
        write_durably(v.root(), "scribble", b"only in this image");
        std::fs::remove_file(v.root().join("a")).unwrap();
        std::fs::File::open(v.root()).unwrap().sync_all().unwrap();
        names(v.root())
    };
    assert!(listing.contains(&"scribble".to_string()), "{listing:?}");
    {
        let v = disk.mount_view(durable, &[]).unwrap();
        assert_eq!(
            std::fs::read(v.root().join("a")).unwrap(),
            b"hello, disk",
            "a second image of the same position is the same"
        );
        assert!(
            !v.root().join("scribble").exists(),
            "the first image's writes leaked"
        );
    }
    {
        let v = disk.mount_view(durable_end(&kinds, p0), &[]).unwrap();
        assert!(
            !v.root().join("a").exists(),
            "a file from after the crash point"
        );
    }
    {
        let v = disk.mount_view(end, &[]).unwrap();
        assert_eq!(
            std::fs::read(v.root().join("b")).unwrap(),
            b"never synced by hand"
        );
    }
    assert_eq!(disk.stats(), stats, "views do not change the log");
    assert_eq!(disk.position(), end);
    match disk.mount_view(end + 1, &[]) {
        Err(ViewError::Harness(m)) => assert!(m.contains("past the log's end"), "{m}"),
        other => panic!("a view past the end: {other:?}"),
    }
    drop(disk);
    assert_nothing_left(t.path());
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Makes `fs` on a 1 GiB sparse recording disk, writes a durable file,
/// unmounts, and checks that the crash image at that point has it.
fn smoke(fs: &str) {
    needs!(fs);
    let t = test_dir();
    let wd = watchdog();
    let spec = FsSpec::parse(fs).unwrap();
    let mut disk = RecordingDisk::create(&spec, t.path(), 1 << 30, &wd).unwrap();
    write_durably(disk.root(), "a", b"smoke");
    let p1 = disk.position();
    assert!(disk.stats().flushes > 0);
    {
        // While the live file system is still mounted.
        let v = disk
            .mount_view(durable_end(&disk.kinds(), p1), &[])
            .unwrap();
        assert_eq!(std::fs::read(v.root().join("a")).unwrap(), b"smoke");
    }
    disk.finish().unwrap();
    let kinds = disk.kinds();
    {
        let v = disk.mount_view(durable_end(&kinds, p1), &[]).unwrap();
        assert_eq!(std::fs::read(v.root().join("a")).unwrap(), b"smoke");
    }
    {
        let v = disk.mount_view(durable_end(&kinds, p1), &[]).unwrap();
        assert_eq!(
            std::fs::read(v.root().join("a")).unwrap(),
            b"smoke",
            "again"
        );
    }
    drop(disk);
    assert_nothing_left(t.path());
}

fn xfs_smoke() {
    smoke("xfs");
}

fn btrfs_smoke() {
    smoke("btrfs");
}

/// The process the SIGKILL test kills: a recording disk, and files written
/// and fsynced on it until the end, so the kill lands in the middle of
/// I/O on the disk this very process serves.
fn victim(scratch: &Path) -> ! {
    let wd = watchdog();
    let spec = FsSpec::parse("ext4").unwrap();
    let disk = RecordingDisk::create(&spec, scratch, 256 << 20, &wd).unwrap();
    write_durably(disk.root(), "first", b"x");
    println!("ready");
    for i in 0.. {
        write_durably(disk.root(), &format!("f{}", i % 50), &[7; 8192]);
    }
    unreachable!()
}

fn a_sigkill_leaves_nothing() {
    needs!("ext4");
    let t = test_dir();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg(VICTIM)
        .arg(t.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let ready = rx.recv_timeout(Duration::from_secs(60));
    // Let it get into its fsync loop.
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    let waited = Instant::now();
    child.wait().unwrap();
    let died_in = waited.elapsed();
    assert_eq!(
        ready.as_deref(),
        Ok("ready\n"),
        "the victim never got going"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !leftovers(t.path()).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    println!(
        "  killed: died in {died_in:.1?}, cleaned up in {:.1?}",
        waited.elapsed()
    );
    assert_nothing_left(t.path());
}

/// Dropped while a file on it is still open: the live file system is
/// detached after its grace, the FUSE connection aborted (the open file
/// then fails with EIO), and once the file is closed nothing is left.
fn a_busy_disk_is_cleaned_up_anyway() {
    needs!("ext4");
    let t = test_dir();
    let wd = watchdog();
    let spec = FsSpec::parse("ext4").unwrap();
    let disk = RecordingDisk::create(&spec, t.path(), 256 << 20, &wd).unwrap();
    write_durably(disk.root(), "held", b"open");
    let held = std::fs::File::options()
        .write(true)
        .open(disk.root().join("held"))
        .unwrap();
    let started = Instant::now();
    drop(disk);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "the drop took {took:?}");
    {
        use std::io::Write;
        let _ = (&held).write_all(b"more");
    }
    assert!(
        held.sync_all().is_err(),
        "the disk is gone: fsync must fail"
    );
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !leftovers(t.path()).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("  dropped busy in {took:.1?}");
    assert_nothing_left(t.path());
}

/// Measurements, printed (with `TORTURE_DISK_BENCH=1`).
fn bench() {
    if std::env::var_os("TORTURE_DISK_BENCH").is_none() {
        println!("skipped: set TORTURE_DISK_BENCH=1 to measure");
        return;
    }
    needs!("ext4");
    for (fs, size) in [("ext4", 256u64 << 20), ("xfs", 1 << 30), ("btrfs", 1 << 30)] {
        if let Some(why) = cannot_record(fs) {
            println!("{fs}: skipped: {why}");
            continue;
        }
        bench_fs(fs, size);
    }
}

/// 200 x (write 4 KiB to a temporary file, fsync, rename over the target,
/// fsync the directory) in `dir`: the reference discipline's I/O.
fn workload(dir: &Path) -> Duration {
    let started = Instant::now();
    let block = [0x5a; 4096];
    for i in 0..200 {
        let tmp = dir.join(format!(".state.tmp-{i}"));
        {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .unwrap();
            f.write_all(&block).unwrap();
            f.sync_all().unwrap();
        }
        std::fs::rename(&tmp, dir.join("state")).unwrap();
        std::fs::File::open(dir).unwrap().sync_all().unwrap();
    }
    started.elapsed()
}

fn bench_fs(fs: &str, size: u64) {
    let t = test_dir();
    let wd = watchdog();
    let spec = FsSpec::parse(fs).unwrap();
    let started = Instant::now();
    let mut disk = RecordingDisk::create(&spec, t.path(), size, &wd).unwrap();
    let created = started.elapsed();
    let recorded = workload(disk.root());
    let stats = disk.stats();
    // The disk as a crash now would leave it (the journal not checkpointed),
    // copied to a plain file: recovery there against recovery in a view.
    let dirty_at = disk.sync().unwrap();
    let dirty = t.path().join("dirty.img");
    std::fs::copy(disk.position_file().with_file_name("disk"), &dirty).unwrap();
    let end = disk.finish().unwrap();
    let kinds = disk.kinds();
    let plain = plain_loop(&spec, size, t.path(), &wd);
    // Crash images at 20 flushes spread over the log.
    let flushes: Vec<u64> = kinds
        .iter()
        .enumerate()
        .filter(|(_, k)| **k == EntryKind::Flush)
        .map(|(i, _)| i as u64 + 1)
        .collect();
    let picks: Vec<u64> = (0..20).map(|i| flushes[i * flushes.len() / 20]).collect();
    let mut times = Vec::new();
    let mut refused = 0;
    for &p in &picks {
        let s = Instant::now();
        match disk.mount_view(p, &[]) {
            Ok(v) => {
                let _ = names(v.root());
                let _ = std::fs::read(v.root().join("state"));
            }
            Err(ViewError::MountFailed(_)) => refused += 1,
            Err(e) => panic!("{e}"),
        }
        times.push(s.elapsed());
    }
    let total: Duration = times.iter().sum();
    let mean = total / times.len() as u32;
    let max = times.iter().max().unwrap();
    println!(
        "{fs}: create {created:.0?}; 200 x (write+fsync+rename+dir fsync): recorded {recorded:.0?}, \
         plain loop {plain:.0?} (ratio {:.2}); log {end} entries, {} writes, {} flushes, {} zeroes, {} MiB; \
         mount_view+read+drop: mean {mean:.0?}, max {max:.0?}, {:.1} states/s ({refused} refused)",
        recorded.as_secs_f64() / plain.as_secs_f64(),
        stats.writes,
        stats.flushes,
        stats.zeroes,
        stats.bytes >> 20,
        times.len() as f64 / total.as_secs_f64(),
    );
    profile_view(&disk, end);
    recovery(&disk, dirty_at, &dirty);
}

/// Mounting the crash image at `p` (recovery runs) in a view, against
/// mounting `copy`, the same image in a plain file.
fn recovery(disk: &RecordingDisk, p: u64, copy: &Path) {
    let s = Instant::now();
    drop(disk.mount_view(p, &[]).unwrap());
    let view = s.elapsed();
    let mnt = copy.with_file_name("dirty-mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mut opts = disk.mount_options().to_string();
    if disk.spec().name == "xfs" {
        opts.push_str(",nouuid");
    }
    let s = Instant::now();
    let ok = Command::new("mount")
        .args(["-o", &opts])
        .arg(copy)
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(ok.success());
    nix::mount::umount2(&mnt, nix::mount::MntFlags::empty()).unwrap();
    let plain = s.elapsed();
    std::fs::remove_dir(&mnt).unwrap();
    std::fs::remove_file(copy).unwrap();
    println!("  recovery after the workload: view {view:.0?}, plain copy {plain:.0?}");
}

/// Where the time of a mount_view + drop goes, against mount(8) of a
/// plain copy of the same image (no FUSE).
fn profile_view(disk: &RecordingDisk, p: u64) {
    let (mut mount, mut unmount) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..5 {
        let s = Instant::now();
        let v = disk.mount_view(p, &[]).unwrap();
        mount += s.elapsed();
        let s = Instant::now();
        drop(v);
        unmount += s.elapsed();
    }
    // A plain copy of the live image, on the scratch file system.
    let fuse = disk.position_file().with_file_name("disk");
    let copy = disk
        .position_file()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("copy.img");
    std::fs::copy(&fuse, &copy).unwrap();
    let mnt = copy.with_file_name("copy-mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mut opts = disk.mount_options().to_string();
    if disk.spec().name == "xfs" {
        opts.push_str(",nouuid");
    }
    let mut plain = Duration::ZERO;
    for _ in 0..5 {
        let s = Instant::now();
        let ok = Command::new("mount")
            .args(["-o", &opts])
            .arg(&copy)
            .arg(&mnt)
            .status()
            .unwrap();
        assert!(ok.success());
        nix::mount::umount2(&mnt, nix::mount::MntFlags::empty()).unwrap();
        plain += s.elapsed();
    }
    std::fs::remove_dir(&mnt).unwrap();
    std::fs::remove_file(&copy).unwrap();
    println!(
        "  at the log's end, mean of 5: mount_view {:.0?}, drop {:.0?}; mount(8) + umount of a plain copy {:.0?}",
        mount / 5,
        unmount / 5,
        plain / 5
    );
}

/// The same workload on a plain loop image of the same file system.
fn plain_loop(spec: &FsSpec, size: u64, dir: &Path, wd: &Arc<Watchdog>) -> Duration {
    let img = dir.join("plain.img");
    let mnt: PathBuf = dir.join("plain");
    std::fs::create_dir(&mnt).unwrap();
    std::fs::File::create(&img).unwrap().set_len(size).unwrap();
    let (program, args) = spec.recording_mkfs().unwrap();
    let ok = Command::new(disk::find_program(program).unwrap())
        .args(&args)
        .arg(&img)
        .status()
        .unwrap();
    assert!(ok.success());
    let mut opts = spec.power_loss_mount_options();
    opts = if opts.is_empty() {
        "loop".into()
    } else {
        format!("loop,{opts}")
    };
    wd.watch_mount(&mnt);
    let ok = Command::new("mount")
        .args(["-o", &opts])
        .arg(&img)
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(ok.success());
    let took = workload(&mnt);
    nix::mount::umount2(&mnt, nix::mount::MntFlags::empty()).unwrap();
    wd.forget_mount(&mnt);
    std::fs::remove_file(&img).unwrap();
    took
}
