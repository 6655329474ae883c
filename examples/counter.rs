//! A small outside program for `torture --exec` and `torture explore`: it
//! keeps the op ids in a text file, one per line, with the library's
//! `update()` (flock on `state.lock`, temp file, fsync, rename, fsync dir).
//!
//! ```text
//! counter op            add $TORTURE_OP to $TORTURE_STATE
//! counter op-threaded   the same, done from a second thread
//! counter check         print the op ids in the state
//! ```
//!
//! `op-threaded` exists to show that `torture explore` follows threads: its
//! every file-system syscall happens outside the main thread.

use std::process::ExitCode;

fn state() -> Result<String, String> {
    std::env::var("TORTURE_STATE").map_err(|_| "TORTURE_STATE is not set".to_string())
}

fn op() -> Result<(), String> {
    let state = state()?;
    let id = std::env::var("TORTURE_OP").map_err(|_| "TORTURE_OP is not set".to_string())?;
    crashsafe::update(&state, |current| {
        let mut text = current.map(|b| b.to_vec()).unwrap_or_default();
        if !text.is_empty() && !text.ends_with(b"\n") {
            return Err(crashsafe::Error::Rejected(
                "the state does not end in a newline".into(),
            ));
        }
        text.extend_from_slice(id.as_bytes());
        text.push(b'\n');
        Ok(text)
    })
    .map_err(|e| e.to_string())
}

fn check() -> Result<(), String> {
    let state = state()?;
    let text = match crashsafe::read(&state).map_err(|e| e.to_string())? {
        Some(bytes) => {
            String::from_utf8(bytes).map_err(|_| "the state is not UTF-8".to_string())?
        }
        None => return Ok(()),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the state does not end in a newline".into());
    }
    print!("{text}");
    Ok(())
}

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let result = match mode.as_str() {
        "op" => op(),
        "op-threaded" => std::thread::spawn(op)
            .join()
            .unwrap_or_else(|_| Err("the writer thread panicked".into())),
        "check" => check(),
        _ => Err("usage: counter op | op-threaded | check".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("counter: {e}");
            ExitCode::FAILURE
        }
    }
}
