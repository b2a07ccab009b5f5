//! The subcommands: `run`, `inventory` and `doc`. Each ends in `Ok(())` or
//! an [`Error`], which `main` prints and turns into the exit code.

pub mod doc;
pub mod inventory;
pub mod prompt;
pub mod run;
pub mod vault;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::cli::{Cli, Command};
use crate::error::Error;
use crate::inventory::Inventory;
use crate::template::{Layer, Probe, Templar, TemplarOptions, VarScope};

/// Writes to standard output. A reader that went away (`oplay doc --list |
/// head -2`) or a full disk is not worth a panic, which is what `println!`
/// does then: the rest of the text is dropped.
pub(crate) fn out(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_fmt(text);
}

/// `println!` through [`out`].
macro_rules! outln {
    () => { $crate::commands::out(format_args!("\n")) };
    ($($t:tt)*) => { $crate::commands::out(format_args!("{}\n", format_args!($($t)*))) };
}
pub(crate) use outln;

/// Runs the subcommand the arguments name.
pub async fn dispatch(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Run(args) => run::run(*args).await,
        Command::Inventory(args) => inventory::run(args),
        Command::Doc(args) => doc::run(args),
        Command::Vault(args) => vault::run(args),
    }
}

/// Prints a warning the way Ansible does, on stderr.
pub fn report_warning(msg: &str) {
    let text = format!("[WARNING]: {msg}");
    let styled = if console::colors_enabled_stderr() {
        console::style(text).magenta().to_string()
    } else {
        text
    };
    eprintln!("{styled}");
}

/// Loads the inventories named by `-i` (files, directories or host lists)
/// and prints what the load warned about (skipped files, name clashes).
pub fn load_inventory(sources: &[String]) -> Result<Inventory, Error> {
    if sources.is_empty() {
        return Ok(Inventory::localhost_only());
    }
    let paths: Vec<PathBuf> = sources.iter().map(PathBuf::from).collect();
    let inventory = Inventory::load(&paths)?;
    for warning in inventory.warnings() {
        report_warning(warning);
    }
    Ok(inventory)
}

/// Refuses an inventory with a host named by a secret (see
/// [`Inventory::refuse_secret_hosts`]). Templated secrets are rendered as
/// a task would see them before the play (extra vars over inventory vars),
/// without side effects: a password not stored yet is not generated.
/// `base_dir` is where relative password files live (the playbook's).
pub fn refuse_secret_hosts(
    inventory: &Inventory,
    extra_vars: &Map<String, Value>,
    base_dir: &Path,
) -> Result<(), Error> {
    let templar = Templar::new(TemplarOptions {
        base_dir: base_dir.to_path_buf(),
        ..Default::default()
    });
    let extra = Arc::new(extra_vars.clone());
    let groups = inventory.groups();
    let mut scopes: HashMap<String, minijinja::Value> = HashMap::new();
    let render = |host: &str, name: &str| {
        let ctx = scopes.entry(host.to_string()).or_insert_with(|| {
            let magic = json!({
                "inventory_hostname": host,
                "inventory_hostname_short": host.split('.').next().unwrap_or(host),
                "group_names": inventory.group_names(host),
                "groups": *groups,
                "playbook_dir": base_dir.display().to_string(),
            });
            let magic = magic.as_object().cloned().unwrap_or_default();
            VarScope::new(vec![
                Layer::new("magic", magic),
                Layer::shared("extra", extra.clone()),
                Layer::shared("inventory", inventory.host_vars(host)),
            ])
            .into_value()
        });
        templar.eval_probe(name, ctx, Probe::NoSideEffects).ok()
    };
    Ok(inventory.refuse_secret_hosts(render)?)
}
