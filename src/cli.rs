//! Command-line arguments (clap), checked and turned into typed options.
//!
//! Two steps, as ripgrep does it: clap only checks what was typed; the
//! commands then build the real objects (inventory, loader, executor).

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Exit codes, as ansible-playbook uses them where it has one.
pub mod exit {
    /// Every host ok.
    pub const OK: i32 = 0;
    /// An error outside the hosts (could not start, I/O, internal).
    pub const ERROR: i32 = 1;
    /// At least one host failed.
    pub const HOST_FAILED: i32 = 2;
    /// A playbook, inventory or vars file could not be loaded or is invalid.
    /// (ansible-playbook uses 4 here, which it also uses for unreachable
    /// hosts; oplay keeps the two apart.)
    pub const INVALID: i32 = 3;
    /// At least one host was unreachable.
    pub const UNREACHABLE: i32 = 4;
    /// Bad command-line usage or options.
    pub const USAGE: i32 = 5;
    /// Interrupted by SIGINT (Ctrl-C): 128 + 2, as a shell reports it.
    pub const INTERRUPTED: i32 = 130;
}

/// What was typed, checked only as far as clap can; `commands` builds
/// the inventory, loader and executor from it.
#[derive(Debug, Parser)]
#[command(
    name = "oplay",
    version,
    about = "Run Ansible-style playbooks fast, with native OpenStack modules"
)]
pub struct Cli {
    /// Every run names one; there is no default.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands, each run by its file in `commands`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one or more playbooks against an inventory.
    Run(Box<RunArgs>),
    /// Show the inventory as oplay reads it.
    Inventory(InventoryArgs),
    /// Show the documentation of a module.
    Doc(DocArgs),
}

/// `--output`: which reporter shows the run, `human` (Ansible's console
/// output) or `json` (one JSON event per line).
// No doc comments on the variants: clap would show them as the values'
// help and switch `oplay run --help` to its long layout.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

/// `oplay run`: ansible-playbook's options, where oplay has them.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Playbook files, run in order.
    #[arg(required = true, value_name = "PLAYBOOK")]
    pub playbooks: Vec<PathBuf>,
    /// Inventory file or directory (repeatable), or a comma-separated host list.
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<String>,
    /// Extra variables: `k=v`, `@file.yml`, or YAML/JSON (repeatable).
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// Show what would change without changing anything.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show the differences in changed files.
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// Further limit the hosts to a pattern.
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Only run tasks with these tags (comma-separated, repeatable).
    #[arg(short = 't', long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Skip tasks with these tags.
    #[arg(long, value_delimiter = ',')]
    pub skip_tags: Vec<String>,
    /// How many hosts run a task at once.
    #[arg(short = 'f', long)]
    pub forks: Option<usize>,
    /// More output (-v results, -vv task paths, -vvv commands sent).
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
    /// List the hosts each play would run on, then stop.
    #[arg(long)]
    pub list_hosts: bool,
    /// List the tasks each play would run, then stop.
    #[arg(long)]
    pub list_tasks: bool,
    /// Load and check the playbooks, then stop.
    #[arg(long)]
    pub syntax_check: bool,
    /// Start at the task with this name.
    #[arg(long, value_name = "NAME")]
    pub start_at_task: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// Folders with script modules (repeatable).
    #[arg(short = 'M', long = "module-path", value_name = "DIR")]
    pub module_path: Vec<PathBuf>,
    /// Connect as this user.
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Private key file for SSH.
    #[arg(long = "private-key", value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// Connection timeout in seconds.
    #[arg(short = 'T', long)]
    pub timeout: Option<u64>,
    /// Run notified handlers even on hosts that failed (the default of the
    /// play keyword `force_handlers`).
    #[arg(long)]
    pub force_handlers: bool,
}

/// `oplay inventory`: ansible-inventory's `--list`, `--graph` and
/// `--host`, one of them.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["list", "graph", "host"])))]
pub struct InventoryArgs {
    /// Inventory file or directory (repeatable).
    #[arg(short = 'i', long = "inventory", required = true)]
    pub inventory: Vec<String>,
    /// All hosts and groups as JSON (like ansible-inventory --list).
    #[arg(long)]
    pub list: bool,
    /// The group tree.
    #[arg(long)]
    pub graph: bool,
    /// One host's variables as JSON.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
}

/// `oplay doc`: one module's documentation, or the list of modules.
#[derive(Debug, Args)]
pub struct DocArgs {
    /// The module to document.
    pub module: Option<String>,
    /// List every module with its summary.
    #[arg(short = 'l', long)]
    pub list: bool,
    /// Folders with script modules (repeatable).
    #[arg(short = 'M', long = "module-path", value_name = "DIR")]
    pub module_path: Vec<PathBuf>,
}
