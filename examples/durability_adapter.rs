//! An outside program for `torture` that keeps its state with one of the
//! atomic-write libraries people pick, so that `harness/durability.sh` can
//! put each library under `torture explore --faults power`.
//!
//! ```text
//! durability_adapter LIBRARY init    write an empty state
//! durability_adapter LIBRARY op      add $TORTURE_OP to the state at $TORTURE_STATE
//! durability_adapter LIBRARY check   print the op ids in the state, one per line
//! durability_adapter LIBRARY syncs   print what the library makes durable
//! ```
//!
//! The state is JSON, `{"ops": [...]}`, as the Python examples keep it: an
//! empty or half-written file does not parse, and `check` exits 1 (torn).
//! An op holds a flock on `state.lock` across its read-modify-write (the
//! library's only job is the write). LIBRARY is one of the names in
//! `shared/atomic_libs.rs`.

#[path = "shared/atomic_libs.rs"]
mod atomic_libs;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use atomic_libs::Library;

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// The op ids in the state; none when there is no state yet.
fn load(state: &Path) -> Result<Vec<String>, String> {
    let Some(bytes) = crashsafe::read(state).map_err(|e| e.to_string())? else {
        return Ok(Vec::new());
    };
    let doc: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the state does not parse: {e} ({} bytes)", bytes.len()))?;
    let ops = doc["ops"]
        .as_array()
        .ok_or("the state has no \"ops\" list")?;
    ops.iter()
        .map(|op| {
            op.as_str()
                .map(str::to_string)
                .ok_or("an op id is not a string".to_string())
        })
        .collect()
}

fn store(library: &Library, state: &Path, ops: &[String]) -> Result<(), String> {
    let mut text =
        serde_json::to_string(&serde_json::json!({ "ops": ops })).map_err(|e| e.to_string())?;
    text.push('\n');
    library.write(state, text.as_bytes())
}

fn op(library: &Library, state: &Path) -> Result<(), String> {
    let id = env("TORTURE_OP")?;
    let lock = crashsafe::StateLock::acquire(state).map_err(|e| e.to_string())?;
    let mut ops = load(state)?;
    ops.push(id);
    store(library, state, &ops)?;
    lock.unlock().map_err(|e| e.to_string())
}

fn check(state: &Path) -> Result<(), String> {
    for id in load(state)? {
        println!("{id}");
    }
    Ok(())
}

fn run(library: &Library, command: &str) -> Result<(), String> {
    let state = || env("TORTURE_STATE").map(PathBuf::from);
    match command {
        "syncs" => {
            println!("{}\t{}", library.krate, library.syncs);
            Ok(())
        }
        "init" => store(library, &state()?, &[]),
        "op" => op(library, &state()?),
        "check" => check(&state()?),
        _ => unreachable!("main checks the command"),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let usage = || {
        eprintln!(
            "usage: durability_adapter LIBRARY init|op|check|syncs\nLIBRARY: {}",
            atomic_libs::names()
        );
        ExitCode::from(2)
    };
    let [_, name, command] = args.as_slice() else {
        return usage();
    };
    let Some(library) = atomic_libs::by_name(name) else {
        eprintln!("durability_adapter: unknown library {name:?}");
        return usage();
    };
    if !["init", "op", "check", "syncs"].contains(&command.as_str()) {
        eprintln!("durability_adapter: unknown command {command:?}");
        return usage();
    }
    match run(library, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("durability_adapter {name}: {e}");
            ExitCode::FAILURE
        }
    }
}
