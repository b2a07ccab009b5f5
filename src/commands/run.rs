//! `oplay run`: load and validate everything, then run it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::cli::{OutputFormat, RunArgs};
use crate::config::Config;
use crate::error::{Error, ExtraVarsError};
use crate::executor::{Executor, HostsOutcome, RunOptions};
use crate::inventory::Inventory;
use crate::modules::{Registry, Services};
use crate::output::{Reporter, human::HumanReporter, json::JsonReporter};
use crate::playbook::{Loader, Playbook};
use crate::secret::Redactor;
use crate::source::{SourceFile, yaml};
use crate::template::{Templar, TemplarOptions};

/// Loads and checks everything, then runs the playbooks (or lists them).
pub async fn run(args: RunArgs) -> Result<(), Error> {
    let (opts, inventory, loader, playbooks) = prepare(&args)?;
    execute(&args, opts, inventory, loader, playbooks).await
}

type Prepared = (RunOptions, Inventory, Loader, Vec<Playbook>);

/// Everything that can be checked before a host is touched.
fn prepare(args: &RunArgs) -> Result<Prepared, Error> {
    let config = Config::discover(args.playbooks.first().map(PathBuf::as_path))?;
    let extra_vars = parse_extra_vars(&args.extra_vars)?;
    let sources = if args.inventory.is_empty() {
        config.inventory.clone()
    } else {
        args.inventory.clone()
    };
    let mut inventory = super::load_inventory(&sources)?;
    let module_path = crate::scripting::module_path(&config, &args.module_path);
    let mut loader = Loader::new(
        Registry::builtin(),
        crate::scripting::finder(),
        config.roles_path.clone(),
    );
    for dir in &module_path {
        loader.add_module_dir(dir)?;
    }
    let mut playbooks = Vec::new();
    for path in &args.playbooks {
        if let Some(dir) = path.parent() {
            // `playbooks/x.yml` sees the project's top-level `modules/`.
            let project_modules = std::path::absolute(dir)
                .unwrap_or_default()
                .join("..")
                .join("modules");
            loader.add_module_dir(&project_modules)?;
            inventory.add_vars_dir(dir)?;
        }
        playbooks.push(loader.load_playbook(path)?);
    }
    if !(args.syntax_check || args.list_hosts || args.list_tasks) {
        super::prompt::check_answerable(&playbooks, &extra_vars)?;
    }
    let base_dir = args
        .playbooks
        .first()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_default();
    super::refuse_secret_hosts(&inventory, &extra_vars, &base_dir)?;
    check_patterns(args.limit.as_deref(), &inventory, &playbooks)?;
    let opts = RunOptions {
        check: args.check,
        diff: args.diff,
        verbosity: args.verbose,
        forks: args.forks.or(config.forks).unwrap_or(50),
        limit: args.limit.clone(),
        tags: args.tags.clone(),
        skip_tags: args.skip_tags.clone(),
        start_at_task: args.start_at_task.clone(),
        extra_vars,
        host_key_checking: config.host_key_checking(),
        remote_user: args.user.clone().or(config.remote_user.clone()),
        private_key: args.private_key.clone().or(config.private_key_file.clone()),
        known_hosts: config.known_hosts_file.clone(),
        connect_timeout: Duration::from_secs(args.timeout.or(config.timeout).unwrap_or(10)),
        force_handlers: args.force_handlers,
        cancel: Default::default(),
    };
    Ok((opts, inventory, loader, playbooks))
}

/// `--limit` and the plays' `hosts:` patterns that hold no template are
/// checked before anything runs: a bad pattern would otherwise be found
/// only when its play starts, after earlier plays changed hosts.
fn check_patterns(
    limit: Option<&str>,
    inventory: &Inventory,
    playbooks: &[Playbook],
) -> Result<(), crate::source::Diagnostic> {
    use crate::source::Diagnostic;
    if let Some(limit) = limit {
        inventory
            .select(limit)
            .map_err(|e| Diagnostic::new(format!("--limit: {e}"), None))?;
    }
    for play in playbooks.iter().flat_map(|pb| pb.plays.iter()) {
        if Templar::is_template(&play.hosts) {
            continue;
        }
        if let Err(e) = inventory.select(&play.hosts) {
            return Err(Diagnostic::new(e.to_string(), Some(play.span.clone())));
        }
    }
    Ok(())
}

async fn execute(
    args: &RunArgs,
    opts: RunOptions,
    inventory: Inventory,
    loader: Loader,
    playbooks: Vec<Playbook>,
) -> Result<(), Error> {
    if args.syntax_check {
        for pb in &playbooks {
            super::outln!("\nplaybook: {}", pb.path.display());
        }
        return Ok(());
    }
    if args.list_hosts || args.list_tasks {
        list(args, &inventory, &playbooks);
        return Ok(());
    }
    let redactor = Redactor::new();
    let reporter: Arc<dyn Reporter> = match args.output {
        OutputFormat::Human => Arc::new(HumanReporter::new(opts.verbosity, redactor.clone())),
        OutputFormat::Json => Arc::new(JsonReporter::new(opts.verbosity, redactor.clone())),
    };
    let base_dir = playbooks
        .first()
        .and_then(|p| p.path.parent().map(PathBuf::from))
        .unwrap_or_default();
    let templar = Templar::new(TemplarOptions {
        redactor: redactor.clone(),
        base_dir,
        sandboxed: false,
    });
    let services = Services {
        http: reqwest::Client::builder()
            .user_agent(concat!("oplay/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default(),
        redactor,
        registry: Arc::new(loader.registry().clone()),
        openstack: Default::default(),
        notes: Arc::new(crate::executor::ReporterNotes(reporter.clone())),
        ids: Default::default(),
    };
    let cancel = opts.cancel.clone();
    let watcher = tokio::spawn(watch_interrupts(cancel.clone()));
    let executor = Executor::new(opts, inventory, loader, reporter, templar, services)
        .with_prompter(Arc::new(super::prompt::TerminalPrompter));
    let summary = executor.run(&playbooks).await;
    watcher.abort();
    if cancel.is_cancelled() {
        super::prompt::restore_terminal();
        crate::connection::cleanup::remove_all();
        return Err(Error::Interrupted);
    }
    if let Some(e) = summary.error {
        return Err(Error::Stopped(e));
    }
    match summary.hosts {
        HostsOutcome::Ok => Ok(()),
        HostsOutcome::Failed => Err(Error::HostsFailed),
        HostsOutcome::Unreachable => Err(Error::HostsUnreachable),
    }
}

/// The first Ctrl-C stops the run: no new task starts, the running ones
/// stop their commands on the hosts and clean up, and the recap so far is
/// printed. A second one quits at once.
async fn watch_interrupts(cancel: tokio_util::sync::CancellationToken) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    eprintln!(
        "\ninterrupted: stopping the running tasks and cleaning up; press Ctrl-C again to quit at once"
    );
    cancel.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        super::prompt::restore_terminal();
        crate::connection::cleanup::remove_all();
        eprintln!("interrupted again: quitting now");
        std::process::exit(Error::Interrupted.code());
    }
}

/// `--list-hosts` and `--list-tasks`, as ansible-playbook prints them.
fn list(args: &RunArgs, inventory: &Inventory, playbooks: &[Playbook]) {
    for pb in playbooks {
        super::outln!("\nplaybook: {}", pb.path.display());
        for (i, play) in pb.plays.iter().enumerate() {
            super::outln!("\n  play #{} ({}): {}", i + 1, play.hosts, play.name);
            if args.list_hosts {
                let mut hosts = inventory.select(&play.hosts).unwrap_or_default();
                if let Some(limit) = &args.limit {
                    let allowed = inventory.select(limit).unwrap_or_default();
                    hosts.retain(|h| allowed.contains(h));
                }
                super::outln!(
                    "    pattern: ['{}']\n    hosts ({}):",
                    play.hosts,
                    hosts.len()
                );
                for h in hosts {
                    super::outln!("      {h}");
                }
            }
            if args.list_tasks {
                super::outln!("    tasks:");
                for section in &play.sections {
                    list_tasks(section, 6);
                }
            }
        }
    }
}

fn list_tasks(tasks: &[crate::playbook::Task], indent: usize) {
    for t in tasks {
        match &t.action {
            crate::playbook::TaskAction::Block {
                block,
                rescue,
                always,
            } => {
                list_tasks(block, indent);
                list_tasks(rescue, indent);
                list_tasks(always, indent);
            }
            crate::playbook::TaskAction::Included { tasks, .. } => list_tasks(tasks, indent),
            _ => {
                let tags = if t.tags().is_empty() {
                    String::new()
                } else {
                    format!("\tTAGS: [{}]", t.tags().join(", "))
                };
                super::outln!("{:indent$}{}{tags}", "", t.display_name());
            }
        }
    }
}

/// `-e` values, later ones winning: `k=v` pairs, `@file`, or YAML/JSON text.
pub fn parse_extra_vars(items: &[String]) -> Result<Map<String, Value>, ExtraVarsError> {
    let mut out = Map::new();
    for item in items {
        let value = if let Some(path) = item.strip_prefix('@') {
            let text = std::fs::read_to_string(path).map_err(|source| ExtraVarsError::Read {
                path: path.to_string(),
                source,
            })?;
            yaml::parse(&SourceFile::new(path, text))?.to_value()
        } else if item.trim_start().starts_with(['{', '[']) {
            yaml::parse(&SourceFile::new("<extra vars>", item.clone()))?.to_value()
        } else {
            let mut m = Map::new();
            for (word, raw) in crate::playbook::kv::split(item)? {
                match word {
                    crate::playbook::kv::Word::Pair(k, v) => {
                        m.insert(k, Value::String(v));
                    }
                    crate::playbook::kv::Word::Free(_) => {
                        return Err(ExtraVarsError::NotPair(raw));
                    }
                }
            }
            Value::Object(m)
        };
        match value {
            Value::Object(m) => out.extend(m),
            _ => return Err(ExtraVarsError::NotMapping(item.clone())),
        }
    }
    Ok(out)
}
