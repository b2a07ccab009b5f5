//! oplay's entry point: parse the arguments, run, exit with the code.
//!
//! The only place that exits: [`oplay::error::Error::report`] prints what
//! went wrong and [`oplay::error::exit_code`] says with which status.
//! `anyhow` is used here only, for the runtime that could not start.

use clap::Parser;
use oplay::cli::Cli;
use oplay::error::{Error, exit_code};

fn main() -> anyhow::Result<()> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => exit(Err(Error::Cli(e))),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    exit(runtime.block_on(oplay::commands::dispatch(cli)))
}

/// Prints what went wrong, if anything, and exits with its status. The
/// runtime is still alive here: exiting does not wait for its blocking
/// threads (a question still reading standard input after Ctrl-C).
fn exit(result: Result<(), Error>) -> ! {
    if let Err(e) = &result {
        e.report();
    }
    std::process::exit(exit_code(&result))
}

/// Counts each thread's memory, for the memory limit of script modules.
#[global_allocator]
static ALLOCATOR: oplay::scripting::limits::CountingAllocator =
    oplay::scripting::limits::CountingAllocator;
