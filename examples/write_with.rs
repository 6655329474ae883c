//! Writes one file with one of the atomic-write methods that
//! `benches/disciplines.rs` compares, so that `harness/bench.sh` can read
//! from its syscalls which fsyncs each method makes.
//!
//! ```text
//! write_with METHOD PATH
//! ```
//!
//! METHOD is one of the libraries of `shared/atomic_libs.rs` (`torture`,
//! `tempfile-persist`, `tempfile-sync-persist`, `atomicwrites`,
//! `atomic-write-file`) or `std-fs-write`.

// Only the writers are used here; the descriptions are the adapter's.
#[allow(dead_code)]
#[path = "shared/atomic_libs.rs"]
mod atomic_libs;

use std::path::Path;
use std::process::ExitCode;

fn write_with(method: &str, path: &Path, data: &[u8]) -> Result<(), String> {
    match (method, atomic_libs::by_name(method)) {
        (_, Some(library)) => library.write(path, data),
        ("std-fs-write", None) => std::fs::write(path, data).map_err(|e| e.to_string()),
        _ => Err(format!("unknown method {method}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, method, path] = args.as_slice() else {
        eprintln!("usage: write_with METHOD PATH");
        return ExitCode::from(2);
    };
    match write_with(method, Path::new(path), &[b'x'; 4096]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("write_with: {e}");
            ExitCode::FAILURE
        }
    }
}
