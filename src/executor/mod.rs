//! The executor: runs plays on hosts and reports what happened.
//!
//! The linear strategy runs each task on every host of the batch before the
//! next task starts (at most `forks` hosts at once); `strategy: free` lets
//! each host run through the play on its own. A failed or unreachable host
//! leaves the play and is counted in the recap; it never stops the others.
//! The executor knows no module by name: it runs the module protocol
//! (`modules::invoke`) and acts on the outcome's `control` and `facts`.

mod facts;
mod gather;
mod host;
mod logged;
mod play;
mod prompts;
mod scope;
mod state;
mod target;
mod tasks;
mod throttle;
mod vars_files;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::connection::ConnectionError;
use crate::connection::manager::ConnectionManager;
use crate::inventory::{Inventory, InventoryError};
use crate::modules::Services;
use crate::output::{Recap, Reporter};
use crate::playbook::{Loader, Playbook};
use crate::template::{Templar, TemplateError};

pub use prompts::{Answer, NoPrompter, PromptError, Prompter, Question, not_interactive};
pub use scope::RunVars;
pub use state::{Gone, HostStates};

/// How a run was asked to behave (from the command line and config).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `--check`: report what would change, change nothing.
    pub check: bool,
    /// `--diff`: show the changes made (or, with `check`, those that would be).
    pub diff: bool,
    /// How many `-v`.
    pub verbosity: u8,
    /// At most this many hosts run a task at once.
    pub forks: usize,
    /// `--limit`: a host pattern that narrows every play's hosts.
    pub limit: Option<String>,
    /// `--tags`: only tasks with one of these tags run.
    pub tags: Vec<String>,
    /// `--skip-tags`: tasks with one of these tags do not run.
    pub skip_tags: Vec<String>,
    /// `--start-at-task`: tasks are skipped until one has this name.
    pub start_at_task: Option<String>,
    /// `-e`: variables over every other.
    pub extra_vars: Map<String, Value>,
    /// Whether SSH host keys are checked against known_hosts.
    pub host_key_checking: bool,
    /// `--user`: the login where the inventory gives none.
    pub remote_user: Option<String>,
    /// `--private-key`: the SSH key where the inventory gives none.
    pub private_key: Option<PathBuf>,
    /// Where host keys are looked up; `None` is `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
    /// Per connection attempt (`--timeout`).
    pub connect_timeout: Duration,
    /// `--force-handlers`: the default of the play keyword `force_handlers`.
    pub force_handlers: bool,
    /// Cancelled on SIGINT: no task starts after it, and the running ones
    /// are stopped (their commands on the hosts too).
    pub cancel: tokio_util::sync::CancellationToken,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            check: false,
            diff: false,
            verbosity: 0,
            forks: 50,
            limit: None,
            tags: Vec::new(),
            skip_tags: Vec::new(),
            start_at_task: None,
            extra_vars: Map::new(),
            host_key_checking: true,
            remote_user: None,
            private_key: None,
            known_hosts: None,
            connect_timeout: Duration::from_secs(10),
            force_handlers: false,
            cancel: Default::default(),
        }
    }
}

/// Why a task's keywords (not its module) stopped it on a host: the
/// message becomes the task's failure.
#[derive(Debug, thiserror::Error)]
pub enum KeywordError {
    /// A keyword's template could not be rendered.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// `throttle:`'s template could not be rendered.
    #[error("throttle: {0}")]
    ThrottleTemplate(#[source] TemplateError),
    /// `throttle:` is not a whole number.
    #[error("`throttle` must be a whole number of hosts, not {0}")]
    Throttle(Value),
    /// `timeout:` is not a whole number.
    #[error("`timeout` must be a whole number of seconds, not {0}")]
    Timeout(Value),
    /// A lock held by a thread that panicked.
    #[error("throttle gates poisoned")]
    Poisoned,
    /// `ansible_become_method` other than sudo.
    #[error("`ansible_become_method: {0}` is not supported; oplay becomes with sudo only")]
    BecomeMethod(String),
    /// `connection:` names a kind oplay has not.
    #[error("{0}")]
    Connection(String),
    /// The host (or the delegate) could not be connected to.
    #[error(transparent)]
    Connect(#[from] ConnectionError),
    /// A play's `hosts:` template could not be rendered.
    #[error("play `{play}`: {source}")]
    PlayHosts {
        /// The play's name.
        play: String,
        /// Why.
        #[source]
        source: TemplateError,
    },
    /// A play's `hosts:` or `--limit` is not a valid pattern.
    #[error(transparent)]
    Pattern(#[from] InventoryError),
}

/// Why a host's templated `vars_files` could not be loaded; the host then
/// fails at its first task with this message.
#[derive(Debug, thiserror::Error)]
pub enum VarsFileError {
    /// A name still needs an undefined variable after facts were gathered.
    #[error(
        "an undefined variable was found when attempting to template the vars_files entry `{entry}`: {why} (at {location})"
    )]
    Undefined {
        /// The entry's names.
        entry: String,
        /// The template error.
        why: String,
        /// The entry's file:line:col.
        location: String,
    },
    /// A name could not be rendered for another reason.
    #[error("vars_files entry `{name}` at {location}: {source}")]
    Render {
        /// The name as written.
        name: String,
        /// The entry's file:line:col.
        location: String,
        /// Why.
        #[source]
        source: TemplateError,
    },
    /// No candidate exists.
    #[error("vars file `{entry}` not found (looked for {tried}; vars_files entry at {location})")]
    NotFound {
        /// The entry's names.
        entry: String,
        /// The paths tried.
        tried: String,
        /// The entry's file:line:col.
        location: String,
    },
    /// The file could not be read.
    #[error("could not read vars file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML.
    #[error(transparent)]
    Syntax(#[from] crate::source::Diagnostic),
    /// The file holds something other than a mapping.
    #[error("vars file {} (vars_files entry at {location}) must hold a mapping", path.display())]
    NotMapping {
        /// The file.
        path: PathBuf,
        /// The entry's file:line:col.
        location: String,
    },
}

/// What a whole run ended with.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Each host's counts, as the recap printed them.
    pub recap: Recap,
    /// How the hosts fared, the worst that happened to any.
    pub hosts: HostsOutcome,
    /// Why the run stopped before its end, outside any host.
    pub error: Option<String>,
}

/// The worst that happened to a host of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostsOutcome {
    /// Every host ok (or skipped, or changed).
    Ok,
    /// At least one host failed, none was unreachable.
    Failed,
    /// At least one host was unreachable.
    Unreachable,
}

/// Runs playbooks: one per run, holding the hosts' states and
/// connections between plays.
pub struct Executor {
    opts: RunOptions,
    reporter: Arc<dyn Reporter>,
    templar: Templar,
    services: Services,
    conns: ConnectionManager,
    run: RunVars,
    loader: Mutex<Loader>,
    timings: Mutex<HashMap<usize, (String, String, Duration)>>,
    /// `--start-at-task`: tasks are skipped until one has this name.
    start_at: Mutex<Option<String>>,
    started: Instant,
    /// Every host the run may touch, inventory order, implicit ones last.
    hosts: Vec<String>,
    /// Asks `vars_prompt` questions.
    prompter: Arc<dyn Prompter>,
    /// Set when the run must stop for a reason outside the hosts.
    fatal: Mutex<Option<String>>,
    /// `throttle:` gates, one per task (or play's fact gathering), shared
    /// by the hosts of the free strategy.
    throttles: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

impl Executor {
    /// An executor for `inventory`'s hosts (and the implicit localhost),
    /// reporting to `reporter`.
    pub fn new(
        opts: RunOptions,
        inventory: Inventory,
        loader: Loader,
        reporter: Arc<dyn Reporter>,
        templar: Templar,
        services: Services,
    ) -> Self {
        let mut hosts = inventory.host_names();
        // The implicit local host answers to these names when the
        // inventory does not declare them.
        for name in ["localhost", "127.0.0.1", "::1"] {
            if !hosts.iter().any(|h| h == name) {
                hosts.push(name.to_string());
            }
        }
        let host_vars = hosts
            .iter()
            .map(|h| (h.clone(), inventory.host_vars(h)))
            .collect();
        let mut magic = Map::new();
        magic.insert("ansible_check_mode".into(), Value::Bool(opts.check));
        magic.insert("ansible_diff_mode".into(), Value::Bool(opts.diff));
        magic.insert("ansible_verbosity".into(), Value::from(opts.verbosity));
        magic.insert(
            "omit".into(),
            Value::String(crate::template::omit_token().into()),
        );
        let run = RunVars {
            extra: Arc::new(opts.extra_vars.clone()),
            groups: inventory.groups(),
            states: HostStates::new(&hosts),
            host_vars: Arc::new(host_vars),
            inventory: Arc::new(inventory),
            magic: Arc::new(magic),
        };
        services
            .redactor
            .add_secrets_in(&Value::Object(opts.extra_vars.clone()));
        for hv in run.host_vars.values() {
            services
                .redactor
                .add_secrets_in(&Value::Object((**hv).clone()));
        }
        Executor {
            start_at: Mutex::new(opts.start_at_task.clone()),
            opts,
            reporter,
            templar,
            services,
            conns: ConnectionManager::new(),
            run,
            loader: Mutex::new(loader),
            timings: Mutex::new(HashMap::new()),
            started: Instant::now(),
            hosts,
            prompter: Arc::new(NoPrompter),
            fatal: Mutex::new(None),
            throttles: Mutex::new(HashMap::new()),
        }
    }

    /// Asks `vars_prompt` questions through `prompter` (the default asks
    /// nothing, as without a terminal).
    pub fn with_prompter(mut self, prompter: Arc<dyn Prompter>) -> Self {
        self.prompter = prompter;
        self
    }

    /// Stops the run with an error outside the hosts.
    fn set_fatal(&self, msg: String) {
        if let Ok(mut f) = self.fatal.lock() {
            f.get_or_insert(msg);
        }
    }

    /// Runs every play of every playbook, in order.
    pub async fn run(&self, playbooks: &[Playbook]) -> RunSummary {
        'playbooks: for pb in playbooks {
            self.reporter.playbook_start(&pb.path);
            for play in &pb.plays {
                if self.opts.cancel.is_cancelled() {
                    break 'playbooks;
                }
                if !self.run_play(play.clone()).await {
                    if self.fatal.lock().is_ok_and(|f| f.is_some()) {
                        break 'playbooks;
                    }
                    break;
                }
            }
        }
        // The commands of cancelled tasks (interrupted, or past their
        // `timeout:`) are being stopped and their temporary files removed,
        // over the connections that are about to close.
        crate::connection::cleanup::settle(Duration::from_secs(5)).await;
        self.conns.close_all().await;
        self.finish()
    }

    fn finish(&self) -> RunSummary {
        let mut hosts = Vec::new();
        let (mut failed, mut unreachable) = (false, false);
        for h in self.hosts.clone() {
            let Some(stats) = self.run.states.read(&h, |s| s.stats.clone()) else {
                continue;
            };
            if stats == Default::default() {
                continue;
            }
            failed |= stats.failed > 0;
            unreachable |= stats.unreachable > 0;
            hosts.push((h, stats));
        }
        let mut slowest: Vec<(String, String, Duration)> = self
            .timings
            .lock()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default();
        slowest.sort_by_key(|t| std::cmp::Reverse(t.2));
        slowest.truncate(5);
        let recap = Recap {
            hosts,
            elapsed: self.started.elapsed(),
            slowest,
        };
        self.reporter.recap(&recap);
        let error = self.fatal.lock().ok().and_then(|mut f| f.take());
        let outcome = if unreachable {
            HostsOutcome::Unreachable
        } else if failed {
            HostsOutcome::Failed
        } else {
            HostsOutcome::Ok
        };
        RunSummary {
            recap,
            hosts: outcome,
            error,
        }
    }

    fn record_time(&self, id: usize, name: &str, location: &str, d: Duration) {
        if let Ok(mut t) = self.timings.lock() {
            let e = t
                .entry(id)
                .or_insert_with(|| (name.to_string(), location.to_string(), Duration::ZERO));
            e.2 += d;
        }
    }
}

/// Modules' log lines and warnings, shown by the reporter.
pub struct ReporterNotes(pub Arc<dyn Reporter>);

impl crate::modules::Notes for ReporterNotes {
    fn log(&self, host: &str, msg: &str) {
        self.0.verbose(1, host, msg);
    }

    fn warn(&self, host: &str, msg: &str) {
        self.0.warning(&format!("{host}: {msg}"));
    }
}
