//! The subcommands: `run`, `inventory` and `doc`. Each returns the process
//! exit code; failures are printed here, in one voice.

pub mod doc;
pub mod inventory;
pub mod prompt;
pub mod run;

use std::path::PathBuf;

use crate::cli::{Cli, Command, exit};
use crate::inventory::Inventory;

pub async fn dispatch(cli: Cli) -> i32 {
    match cli.command {
        Command::Run(args) => run::run(*args).await,
        Command::Inventory(args) => inventory::run(args),
        Command::Doc(args) => doc::run(args),
    }
}

/// Prints an error the way every command does.
pub fn report_error(msg: &str) {
    let text = format!("error: {msg}");
    let styled = if console::colors_enabled_stderr() {
        console::style(text).red().to_string()
    } else {
        text
    };
    eprintln!("{styled}");
}

/// Loads the inventories named by `-i` (files, directories or host lists).
pub fn load_inventory(sources: &[String]) -> Result<Inventory, i32> {
    if sources.is_empty() {
        return Ok(Inventory::localhost_only());
    }
    let paths: Vec<PathBuf> = sources.iter().map(PathBuf::from).collect();
    Inventory::load(&paths).map_err(|e| {
        report_error(&e.to_string());
        exit::INVALID
    })
}
