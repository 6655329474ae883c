//! Criterion benchmarks of the reference disciplines against the raw
//! syscall floor and the peers, in the directory given by
//! `TORTURE_BENCH_DIR` (default: the system temp directory), so the same
//! benchmark can be pointed at tmpfs, ext4, xfs or btrfs.
//!
//! `harness/bench.sh` runs them on tmpfs and ext4, reads which fsyncs each
//! writer makes from its syscalls, and writes the summary to `reports/`.

use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crashsafe::{StateLock, update, write_file_atomic};
use criterion::{Criterion, criterion_group, criterion_main};
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use nix::unistd::{close, fsync, write};

fn bench_dir() -> tempfile::TempDir {
    let base = std::env::var_os("TORTURE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix("torture-bench-")
        .tempdir_in(base)
        .unwrap()
}

/// The floor: the atomic write's syscalls and nothing else: open the temp
/// file exclusively, write, fsync, close, rename, open the directory, fsync
/// it, close it. `durable: false` drops the two fsyncs.
fn floor(dir: &Path, target: &Path, data: &[u8], durable: bool) {
    let tmp = dir.join(".floor.tmp");
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC;
    let fd = open(&tmp, flags, Mode::from_bits_truncate(0o644)).unwrap();
    let mut done = 0;
    while done < data.len() {
        done += write(&fd, &data[done..]).unwrap();
    }
    if durable {
        fsync(&fd).unwrap();
    }
    close(fd).unwrap();
    let (from, to) = (
        CString::new(tmp.as_os_str().as_bytes()).unwrap(),
        CString::new(target.as_os_str().as_bytes()).unwrap(),
    );
    // SAFETY: two NUL-terminated paths alive for the call.
    assert_eq!(unsafe { libc::rename(from.as_ptr(), to.as_ptr()) }, 0);
    if durable {
        let dfd = open(
            dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        fsync(&dfd).unwrap();
        close(dfd).unwrap();
    }
}

fn atomic_write(c: &mut Criterion) {
    let dir = bench_dir();
    let d = dir.path();
    let path = d.join("state");
    for size in [64usize, 4096, 1 << 20] {
        let data = vec![b'x'; size];
        let mut group = c.benchmark_group(format!("atomic_write_{size}B"));
        group.bench_function("torture", |b| {
            b.iter(|| write_file_atomic(&path, &data, 0o644).unwrap())
        });
        group.bench_function("floor", |b| b.iter(|| floor(d, &path, &data, true)));
        group.bench_function("floor-nofsync", |b| {
            b.iter(|| floor(d, &path, &data, false))
        });
        group.bench_function("atomic-write-file", |b| {
            b.iter(|| {
                let mut f = atomic_write_file::AtomicWriteFile::open(&path).unwrap();
                f.write_all(&data).unwrap();
                f.commit().unwrap();
            })
        });
        group.bench_function("atomicwrites", |b| {
            b.iter(|| {
                atomicwrites::AtomicFile::new(&path, atomicwrites::AllowOverwrite)
                    .write(|f| f.write_all(&data))
                    .unwrap();
            })
        });
        group.bench_function("tempfile-persist", |b| {
            b.iter(|| {
                let mut f = tempfile::NamedTempFile::new_in(d).unwrap();
                f.write_all(&data).unwrap();
                f.persist(&path).unwrap();
            })
        });
        group.bench_function("std-fs-write", |b| {
            b.iter(|| std::fs::write(&path, &data).unwrap())
        });
        group.finish();
    }
}

fn lock_and_update(c: &mut Criterion) {
    let dir = bench_dir();
    let path = dir.path().join("state");
    let mut group = c.benchmark_group("discipline");
    group.bench_function("lock-uncontended", |b| {
        b.iter(|| StateLock::acquire(&path).unwrap().unlock().unwrap())
    });
    let data = vec![b'y'; 4096];
    group.bench_function("update-4096B", |b| {
        b.iter(|| update(&path, |_| Ok(data.clone())).unwrap())
    });
    group.finish();
}

/// One transaction per update of a 4 KiB document, as the `sqlite` strategy
/// does, with `synchronous=FULL`, in WAL and in rollback-journal mode.
fn sqlite(c: &mut Criterion) {
    let dir = bench_dir();
    let mut data = vec![b'z'; 4096];
    let mut n = 0u64;
    let mut group = c.benchmark_group("sqlite");
    for mode in ["wal", "delete"] {
        let conn = rusqlite::Connection::open(dir.path().join(format!("{mode}.db"))).unwrap();
        conn.query_row(&format!("PRAGMA journal_mode={mode}"), [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap();
        conn.execute_batch(
            "PRAGMA synchronous=FULL;
             CREATE TABLE state (id INTEGER PRIMARY KEY, doc BLOB NOT NULL);
             INSERT INTO state VALUES (0, x'');",
        )
        .unwrap();
        let name = if mode == "wal" {
            "update-wal"
        } else {
            "update-rollback"
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                // A new document every time, as the workload writes: SQLite
                // skips rewriting a row whose bytes did not change.
                n += 1;
                data[..8].copy_from_slice(&n.to_le_bytes());
                conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                let _: Vec<u8> = conn
                    .query_row("SELECT doc FROM state WHERE id = 0", [], |r| r.get(0))
                    .unwrap();
                conn.execute("UPDATE state SET doc = ?1 WHERE id = 0", [&data])
                    .unwrap();
                conn.execute_batch("COMMIT").unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, atomic_write, lock_and_update, sqlite);
criterion_main!(benches);
