//! oplay's entry point: parse the arguments, run, exit with the code.

use clap::Parser;
use oplay::cli::{Cli, exit};

fn main() -> anyhow::Result<()> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = runtime.block_on(oplay::commands::dispatch(cli));
    std::process::exit(code);
}

/// Counts each thread's memory, for the memory limit of script modules.
#[global_allocator]
static ALLOCATOR: oplay::scripting::limits::CountingAllocator =
    oplay::scripting::limits::CountingAllocator;
