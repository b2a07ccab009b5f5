//! Command-line arguments (clap), checked and turned into typed options.
//!
//! Two steps, as ripgrep does it: clap only checks what was typed; the
//! commands then build the real objects (inventory, loader, executor).

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

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
    /// Encrypt, decrypt, view and edit Ansible Vault files.
    Vault(VaultArgs),
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

/// `oplay vault`: the verbs of `ansible-vault`.
#[derive(Debug, Args)]
pub struct VaultArgs {
    /// The verb.
    #[command(subcommand)]
    pub action: VaultAction,
    /// The passwords.
    #[command(flatten)]
    pub secrets: VaultSecretArgs,
}

/// Where vault passwords come from.
#[derive(Debug, Clone, Default, Args)]
pub struct VaultSecretArgs {
    /// A vault password: `[label@]FILE` (an executable file is run) or
    /// `[label@]prompt` (repeatable).
    #[arg(long = "vault-id", value_name = "ID", global = true)]
    pub vault_id: Vec<String>,
    /// A file holding the vault password, or an executable printing it
    /// (repeatable; default $OPLAY_VAULT_PASSWORD_FILE or
    /// $ANSIBLE_VAULT_PASSWORD_FILE).
    #[arg(
        long = "vault-password-file",
        alias = "vault-pass-file",
        value_name = "FILE",
        global = true
    )]
    pub vault_password_file: Vec<PathBuf>,
    /// Ask for the vault password on the terminal.
    #[arg(
        short = 'J',
        long = "ask-vault-password",
        alias = "ask-vault-pass",
        global = true
    )]
    pub ask_vault_pass: bool,
}

/// What `oplay vault` does.
#[derive(Debug, Subcommand)]
pub enum VaultAction {
    /// Create a new encrypted file with $EDITOR.
    Create(VaultFile),
    /// Encrypt files in place (or to --output).
    Encrypt(VaultFiles),
    /// Decrypt files in place (or to --output).
    Decrypt(VaultFiles),
    /// Print the decrypted content of files.
    View(VaultFiles),
    /// Edit an encrypted file with $EDITOR; no plaintext is left behind.
    Edit(VaultFile),
    /// Encrypt files again with a new password.
    Rekey(VaultRekey),
    /// Encrypt a string for use as an inline `!vault` value in YAML.
    #[command(name = "encrypt_string", alias = "encrypt-string")]
    EncryptString(VaultString),
}

/// One vaulted file.
#[derive(Debug, Args)]
pub struct VaultFile {
    /// The file.
    pub file: PathBuf,
    /// The vault id to encrypt with (needed when several passwords are given).
    #[arg(long = "encrypt-vault-id", value_name = "LABEL")]
    pub encrypt_vault_id: Option<String>,
}

/// Files to encrypt, decrypt or view.
#[derive(Debug, Args)]
pub struct VaultFiles {
    /// The files (`-` or none: standard input).
    pub files: Vec<PathBuf>,
    /// Write the result here (`-`: standard output) instead of in place.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The vault id to encrypt with (needed when several passwords are given).
    #[arg(long = "encrypt-vault-id", value_name = "LABEL")]
    pub encrypt_vault_id: Option<String>,
}

/// `oplay vault rekey`.
#[derive(Debug, Args)]
pub struct VaultRekey {
    /// The files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The new password's file (or executable).
    #[arg(long = "new-vault-password-file", value_name = "FILE")]
    pub new_vault_password_file: Option<PathBuf>,
    /// The new password, as `[label@]source`.
    #[arg(long = "new-vault-id", value_name = "ID")]
    pub new_vault_id: Option<String>,
    /// The vault id to encrypt with (needed when several new passwords are given).
    #[arg(long = "encrypt-vault-id", value_name = "LABEL")]
    pub encrypt_vault_id: Option<String>,
}

/// `oplay vault encrypt_string`.
#[derive(Debug, Args)]
pub struct VaultString {
    /// The strings (none: read standard input).
    pub strings: Vec<String>,
    /// The variable name(s) to print before each value (repeatable).
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub name: Vec<String>,
    /// The variable name for the value read from standard input.
    #[arg(long = "stdin-name", value_name = "NAME")]
    pub stdin_name: Option<String>,
    /// The vault id to encrypt with (needed when several passwords are given).
    #[arg(long = "encrypt-vault-id", value_name = "LABEL")]
    pub encrypt_vault_id: Option<String>,
}
