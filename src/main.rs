//! The `torture` binary: thin glue over the harness library.

mod cli;
mod reports;
mod scenarios;
mod setup;

fn main() {
    // Output to a closed pipe ends the program quietly, as it does `ls`.
    let _ = torture_harness::platform::die_on_closed_output();
    std::process::exit(cli::main());
}
