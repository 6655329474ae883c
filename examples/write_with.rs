//! Writes one file with one of the atomic-write methods that
//! `benches/disciplines.rs` compares, so that `harness/bench.sh` can read
//! from its syscalls which fsyncs each method makes.
//!
//! ```text
//! write_with METHOD PATH
//! ```
//!
//! METHOD is one of `torture`, `atomic-write-file`, `atomicwrites`,
//! `tempfile-persist`, `std-fs-write`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

fn write_with(method: &str, path: &Path, data: &[u8]) -> Result<(), String> {
    let dir = path.parent().ok_or("PATH has no directory")?;
    let e = |e: std::io::Error| e.to_string();
    match method {
        "torture" => crashsafe::write_file_atomic(path, data, 0o644).map_err(|e| e.to_string()),
        "atomic-write-file" => {
            let mut f = atomic_write_file::AtomicWriteFile::open(path).map_err(e)?;
            f.write_all(data).map_err(e)?;
            f.commit().map_err(e)
        }
        "atomicwrites" => atomicwrites::AtomicFile::new(path, atomicwrites::AllowOverwrite)
            .write(|f| f.write_all(data))
            .map_err(|err| err.to_string()),
        "tempfile-persist" => {
            let mut f = tempfile::NamedTempFile::new_in(dir).map_err(e)?;
            f.write_all(data).map_err(e)?;
            f.persist(path).map(drop).map_err(|err| err.to_string())
        }
        "std-fs-write" => std::fs::write(path, data).map_err(e),
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
