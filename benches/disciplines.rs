//! Criterion benchmarks of the reference disciplines, in the directory
//! given by `TORTURE_BENCH_DIR` (default: the system temp directory), so the
//! same benchmark can be pointed at tmpfs, ext4, xfs or btrfs.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use torture::{StateLock, update, write_file_atomic};

fn bench_dir() -> tempfile::TempDir {
    let base = std::env::var_os("TORTURE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix("torture-bench-")
        .tempdir_in(base)
        .unwrap()
}

fn atomic_write(c: &mut Criterion) {
    let dir = bench_dir();
    let path = dir.path().join("state");
    let mut group = c.benchmark_group("write_file_atomic");
    for size in [64usize, 4096, 1 << 20] {
        let data = vec![b'x'; size];
        group.bench_function(format!("{size}B"), |b| {
            b.iter(|| write_file_atomic(&path, &data, 0o644).unwrap())
        });
    }
    group.finish();
}

fn lock_and_update(c: &mut Criterion) {
    let dir = bench_dir();
    let path = dir.path().join("state");
    c.bench_function("lock/uncontended", |b| {
        b.iter(|| StateLock::acquire(&path).unwrap().unlock().unwrap())
    });
    let data = vec![b'y'; 4096];
    c.bench_function("update/4096B", |b| {
        b.iter(|| update(&path, |_| Ok(data.clone())).unwrap())
    });
}

criterion_group!(benches, atomic_write, lock_and_update);
criterion_main!(benches);
