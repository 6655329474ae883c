//! The `torture` binary: thin glue over the library.

fn main() {
    std::process::exit(torture::cli::main());
}
