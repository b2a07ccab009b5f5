//! Link options of the release binary that a Cargo profile cannot state.
//!
//! The release profile keeps the line tables of oplay's code, so that a
//! panic's backtrace names file:line, and packs the rest of that debug
//! info into `oplay.dwp` beside the binary (see `Cargo.toml`). Here, what
//! stays in the binary is compressed with zlib (Rust's backtrace reads
//! zlib sections; zstd ones it does not), and local symbols are dropped:
//! the backtrace takes oplay's and std's function names from the debug
//! info, not from the symbol table. Measured on the binary: 46 MB with
//! neither, 31 MB with both, 28 MB with one codegen unit as well. Not for
//! debug and test builds, which link as before.

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let linux = env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if release && linux {
        println!("cargo::rustc-link-arg-bins=-Wl,--compress-debug-sections=zlib");
        println!("cargo::rustc-link-arg-bins=-Wl,--discard-all");
    }
}
