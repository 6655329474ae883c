//! The `torture` binary: thin glue over the library.

fn main() {
    // Output to a closed pipe ends the program quietly, as it does `ls`.
    let _ = torture::platform::die_on_closed_output();
    std::process::exit(torture::cli::main());
}
