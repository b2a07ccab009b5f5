//! Modules: what a task does on a host.
//!
//! A [`Module`] turns a task's (templated) arguments into an [`Action`] for
//! one host. The action first *queries* the host and says whether anything
//! would change; only then, and only outside check mode, is it asked to
//! *apply*. [`invoke`] is that protocol, shared by the executor and by
//! script modules that call other modules, so check and diff modes come
//! from one place and never from each module.
//!
//! Modules see a narrow [`ModuleCtx`]: the host's connection, the task's
//! variables, the check/diff flags and the run's shared services. They
//! never see the executor.

#![warn(missing_docs)]

pub mod registry;
pub mod spec;
#[cfg(test)]
pub mod testing;

pub mod core;
pub mod database;
pub mod files;
pub mod openstack;
pub mod system;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::connection::{Become, Connection, ConnectionError, ExecOutput, ExecRequest};
use crate::secret::Redactor;
use crate::template::{Templar, TemplateError};

pub use registry::Registry;
pub use spec::{ModuleSpec, ParamKind, ParamSpec};

/// Why a module could not do its work on a host. Each is a failed task,
/// reported on that host; none stops the run.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The arguments, once templated, do not fit the module's parameters.
    #[error("invalid parameters: {0}")]
    Params(String),
    /// The host's connection failed (unreachable, or lost mid-task).
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// A template in the arguments or a file could not be rendered.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// An HTTP API answered with an error. Never carries a token.
    #[error("{method} {url} returned {status}: {message}")]
    Http {
        /// The HTTP method.
        method: String,
        /// The URL called.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The API's own error message.
        message: String,
    },
    /// The module's own failure, in its own words.
    #[error("{0}")]
    Failed(String),
}

impl ModuleError {
    /// A [`ModuleError::Failed`] with this message.
    pub fn failed(msg: impl Into<String>) -> Self {
        ModuleError::Failed(msg.into())
    }

    /// Whether the host itself could not be reached (counts as unreachable).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ModuleError::Connection(e) if e.is_unreachable())
    }
}

/// A unified-diff-able change to one file or object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    /// What the diff is about, e.g. the file's path.
    pub header: String,
    /// The text before the change (empty for a new object).
    pub before: String,
    /// The text after the change (empty for a removed object).
    pub after: String,
}

/// What the executor should do after this task, beyond reporting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Run the handlers notified so far (`meta: flush_handlers`).
    FlushHandlers,
    /// Stop the play for every host (`meta: end_play`).
    EndPlay,
    /// Stop the play for this host (`meta: end_host`).
    EndHost,
    /// Forget the host's gathered facts (`meta: clear_facts`).
    ClearFacts,
    /// Nothing beyond reporting (`meta: noop`).
    Noop,
}

/// The result of a task on one host. `data` holds module-specific fields;
/// `register` exposes them together with `changed`, `failed` and `msg`.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Whether the host was changed (or, in check mode, would be).
    pub changed: bool,
    /// Whether the task failed on this host.
    pub failed: bool,
    /// Whether the task was skipped (in check mode, say).
    pub skipped: bool,
    /// The message shown with the result.
    pub msg: Option<String>,
    /// Module-specific result fields.
    pub data: Map<String, Value>,
    /// Diffs shown with `--diff`.
    pub diffs: Vec<Diff>,
    /// Warnings shown with the result.
    pub warnings: Vec<String>,
    /// Facts to set on the host (`set_fact`), merged by the executor.
    pub facts: Option<Map<String, Value>>,
    /// What the executor should do next, if anything special.
    pub control: Option<Control>,
    /// Show the result even without `-v` (what `debug` prints).
    pub show: bool,
}

impl Outcome {
    /// An unchanged, successful result.
    pub fn ok() -> Self {
        Outcome::default()
    }

    /// A changed, successful result.
    pub fn changed() -> Self {
        Outcome {
            changed: true,
            ..Default::default()
        }
    }

    /// Sets the message.
    pub fn with_msg(mut self, msg: impl Into<String>) -> Self {
        self.msg = Some(msg.into());
        self
    }

    /// Adds a module-specific field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), value.into());
        self
    }

    /// Adds a diff.
    pub fn with_diff(mut self, diff: Diff) -> Self {
        self.diffs.push(diff);
        self
    }

    /// The result as `register` stores it.
    pub fn to_value(&self) -> Value {
        let mut m = self.data.clone();
        m.insert("changed".into(), Value::Bool(self.changed));
        m.insert("failed".into(), Value::Bool(self.failed));
        if self.skipped {
            m.insert("skipped".into(), Value::Bool(true));
        }
        if let Some(msg) = &self.msg {
            m.insert("msg".into(), Value::String(msg.clone()));
        }
        if let Some(facts) = &self.facts {
            m.insert("ansible_facts".into(), Value::Object(facts.clone()));
        }
        if !self.warnings.is_empty() {
            m.insert("warnings".into(), self.warnings.clone().into());
        }
        Value::Object(m)
    }
}

/// What a query found, and what to do about it.
///
/// The plan a query makes travels inside the variant as an [`Apply`]
/// value: only what a query returned can be applied, so the order of the
/// two steps is kept by the types, not checked at run time.
pub enum Query {
    /// The host is already as wanted; nothing will be applied.
    Unchanged(Outcome),
    /// Something would change. In check mode the executor stops here and
    /// reports `changed` with these diffs; otherwise it applies the plan.
    Change(Change, Box<dyn Apply>),
    /// The module cannot know without doing it (a `command` without
    /// `creates`): in check mode the task is reported as skipped;
    /// otherwise the plan is applied.
    Unknowable(Box<dyn Apply>),
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Query::Unchanged(o) => f.debug_tuple("Unchanged").field(o).finish(),
            Query::Change(c, _) => f.debug_tuple("Change").field(c).finish(),
            Query::Unknowable(_) => f.write_str("Unknowable"),
        }
    }
}

/// What a query says would change: reported as is in check mode.
#[derive(Debug, Default)]
pub struct Change {
    /// The message reported in check mode.
    pub msg: Option<String>,
    /// The diffs shown with `--diff` (in check mode, and after an apply
    /// that reports none of its own).
    pub diffs: Vec<Diff>,
    /// Fields to report in check mode (what would be created, say).
    pub data: Map<String, Value>,
    /// Warnings about what was found, shown at once in check mode (where
    /// no apply runs to report them). Outside check mode the apply's
    /// result carries its own warnings.
    pub warnings: Vec<String>,
}

impl Change {
    /// An empty change.
    pub fn new() -> Self {
        Change::default()
    }

    /// Sets the message reported in check mode.
    pub fn with_msg(mut self, msg: impl Into<String>) -> Self {
        self.msg = Some(msg.into());
        self
    }

    /// Adds a diff.
    pub fn with_diff(mut self, diff: Diff) -> Self {
        self.diffs.push(diff);
        self
    }

    /// Adds a field reported in check mode.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), value.into());
        self
    }
}

/// Where modules' own log lines and warnings go (the run's reporter,
/// through its redaction).
pub trait Notes: Send + Sync {
    /// A log line about the host, shown with `-v`.
    fn log(&self, host: &str, msg: &str);
    /// A warning about the host, shown at once.
    fn warn(&self, host: &str, msg: &str);
}

/// Notes that go nowhere, for tests and tools.
pub struct NoNotes;

impl Notes for NoNotes {
    fn log(&self, _host: &str, _msg: &str) {}
    fn warn(&self, _host: &str, _msg: &str) {}
}

/// The run-wide services a module may use, shared by all hosts.
#[derive(Clone)]
pub struct Services {
    /// The HTTP client every module shares (connection pools, TLS).
    pub http: reqwest::Client,
    /// Redacts the run's secrets from anything shown.
    pub redactor: Redactor,
    /// Every module, for script modules that call others.
    pub registry: Arc<Registry>,
    /// The Keystone sessions, shared by all tasks with the same credentials.
    pub openstack: crate::openstack::Sessions,
    /// Where log lines and warnings go.
    pub notes: Arc<dyn Notes>,
    /// User and group names per connection, for the file modules.
    pub ids: Arc<files::ids::IdCache>,
}

/// What a module sees of the run while it works on one host.
pub struct ModuleCtx<'a> {
    /// The inventory name of the host.
    pub host: &'a str,
    /// The host's connection.
    pub conn: &'a Arc<dyn Connection>,
    /// How to become another user, when the task asks.
    pub become_: Option<Become>,
    /// Check mode: report what would change, change nothing.
    pub check: bool,
    /// Diff mode: show what changes.
    pub diff: bool,
    /// How many `-v` were given.
    pub verbosity: u8,
    /// The task's `environment`.
    pub env: &'a [(String, String)],
    /// Everything templates can see for this task on this host.
    pub vars: &'a minijinja::Value,
    /// Renders templates with the task's variables.
    pub templar: &'a Templar,
    /// Where `src:` of copy/template and lookups are searched, in order.
    pub search_paths: &'a [PathBuf],
    /// The run-wide services.
    pub services: &'a Services,
    /// The facts gathered for the host (or an empty map).
    pub facts: &'a Map<String, Value>,
    /// The task's `timeout:`, which also bounds a script module's run.
    pub timeout: Option<std::time::Duration>,
}

impl ModuleCtx<'_> {
    /// Runs a shell command on the host with the task's become and environment.
    pub async fn exec(&self, cmd: impl Into<String>) -> Result<ExecOutput, ModuleError> {
        self.exec_req(ExecRequest::shell(cmd)).await
    }

    /// Runs a request, adding the task's become and environment.
    pub async fn exec_req(&self, mut req: ExecRequest) -> Result<ExecOutput, ModuleError> {
        if req.become_.is_none() {
            req.become_ = self.become_.clone();
        }
        let mut env = self.env.to_vec();
        env.append(&mut req.env);
        req.env = env;
        Ok(self.conn.exec(&req).await?)
    }

    /// Finds a local file named by `src:`, as Ansible does: relative paths
    /// are looked up in each search path (with `subdir`, e.g. `templates`,
    /// tried first).
    pub fn find_local(&self, name: &str, subdir: &str) -> Option<PathBuf> {
        let p = PathBuf::from(name);
        if p.is_absolute() {
            return p.exists().then_some(p);
        }
        self.search_paths
            .iter()
            .flat_map(|dir| [dir.join(subdir).join(name), dir.join(name)])
            .find(|c| c.exists())
    }
}

/// A module: a name, documented parameters, and a way to make an action.
///
/// An implementation must:
/// - return the same [`ModuleSpec`] from every call of [`Module::spec`];
///   load-time validation, `oplay doc` and the did-you-mean hints read it;
/// - check the templated arguments in [`Module::action`] and fail there
///   with [`ModuleError::Params`] for anything the spec cannot express.
///
/// An implementation must not touch the host, the network or the run's
/// services in [`Module::action`]: it runs for every host before the
/// host is looked at, and it runs in check mode too.
#[async_trait]
pub trait Module: Send + Sync {
    /// The module's name, documentation and parameters.
    fn spec(&self) -> &ModuleSpec;

    /// Checks the templated arguments and builds the action for one host.
    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError>;
}

/// One task on one host, before the host has been looked at.
///
/// [`invoke`] drives it: [`Action::prepare`] once, then
/// [`Action::query`], which consumes the action and returns the plan as
/// a [`Query`]. Whether the plan is applied (never in check mode) and
/// which diffs are shown (only with `--diff`) is decided by [`invoke`]
/// alone.
///
/// An implementation of `query` must:
/// - only look: read files, list objects, run commands that change
///   nothing. It runs in check mode exactly as outside it;
/// - return [`Query::Unchanged`] with the task's full result when the
///   host is already as wanted;
/// - otherwise return [`Query::Change`] with what would change (the
///   message, diffs and fields check mode reports) and the [`Apply`]
///   value that carries everything the apply needs (what was found,
///   the connection it was found through), so the apply asks nothing
///   again;
/// - return [`Query::Unknowable`] only when the result cannot be known
///   without doing the work (check mode then skips the task).
///
/// An implementation must not change the host in `query` or `prepare`
/// outside what `prepare`'s docs allow, and must not filter diffs: check
/// and diff modes belong to [`invoke`]. It may read `ctx.diff` to skip
/// building a diff nobody will see, and `ctx.check` to avoid work that
/// the apply would repeat (a script's `run`) or to report in check mode
/// what the apply would report.
#[async_trait]
pub trait Action: Send {
    /// Gets ready to look, before [`Action::query`]; called once, in check
    /// mode too. The default does nothing.
    ///
    /// Override it only for work the module needs before it can look at
    /// all (updating a package cache, which is a change and so is skipped
    /// here in check mode). It must not do what `query` or the apply are
    /// for: deciding what would change, or changing it.
    async fn prepare(&mut self, _ctx: &ModuleCtx<'_>) -> Result<(), ModuleError> {
        Ok(())
    }

    /// Looks at the host and says what would change; see the trait docs.
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError>;
}

/// The plan a [`Query`] returned, ready to be carried out.
///
/// An implementation must make the change the query described and return
/// the task's result. It is called at most once, never in check mode.
/// It may return diffs of its own (they replace the query's); whether
/// any diff is shown is decided by [`invoke`], not here.
#[async_trait]
pub trait Apply: Send {
    /// Makes the change and returns the task's result.
    async fn apply(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError>;
}

/// An action that carries out a plan its query made: the usual way to
/// write an [`Apply`] without a struct of its own (see [`Planned`]).
#[async_trait]
pub trait ApplyPlan: Send + Sized + 'static {
    /// What the query found and decided.
    type Plan: Send + 'static;

    /// Makes the change `plan` describes; the contract of [`Apply::apply`].
    async fn apply_plan(
        self,
        plan: Self::Plan,
        ctx: &ModuleCtx<'_>,
    ) -> Result<Outcome, ModuleError>;
}

/// An action together with the plan its query made.
pub struct Planned<A: ApplyPlan> {
    action: A,
    plan: A::Plan,
}

impl<A: ApplyPlan> Planned<A> {
    /// The apply of `action` with `plan`, for a [`Query`].
    pub fn boxed(action: A, plan: A::Plan) -> Box<dyn Apply> {
        Box::new(Planned { action, plan })
    }
}

#[async_trait]
impl<A: ApplyPlan> Apply for Planned<A> {
    async fn apply(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let Planned { action, plan } = *self;
        action.apply_plan(plan, ctx).await
    }
}

/// Deserializes a module's typed parameters from templated arguments.
/// Aliases (declared once, as the fields' `x-aliases`) are read as the
/// parameters they stand for.
pub fn parse_params<P: DeserializeOwned + JsonSchema + 'static>(
    args: &Map<String, Value>,
) -> Result<P, ModuleError> {
    let args = spec::canonical_args::<P>(args).map_err(ModuleError::Params)?;
    serde_json::from_value(Value::Object(args)).map_err(|e| ModuleError::Params(e.to_string()))
}

/// The query-then-apply protocol. Check and diff modes live here and only here.
pub async fn invoke(
    module: &dyn Module,
    args: &Map<String, Value>,
    ctx: &ModuleCtx<'_>,
) -> Result<Outcome, ModuleError> {
    module
        .spec()
        .check_exclusive(args.keys().map(String::as_str))
        .map_err(ModuleError::Params)?;
    let mut action = module.action(args)?;
    action.prepare(ctx).await?;
    match action.query(ctx).await? {
        Query::Unchanged(outcome) => Ok(outcome),
        Query::Unknowable(_) if ctx.check => Ok(Outcome {
            skipped: true,
            msg: Some("skipped in check mode: the module cannot predict its result".into()),
            ..Default::default()
        }),
        Query::Change(change, _) if ctx.check => {
            for w in &change.warnings {
                ctx.services.notes.warn(ctx.host, w);
            }
            Ok(Outcome {
                changed: true,
                msg: change.msg,
                data: change.data,
                diffs: if ctx.diff { change.diffs } else { Vec::new() },
                ..Default::default()
            })
        }
        Query::Change(change, plan) => {
            let mut outcome = plan.apply(ctx).await?;
            if outcome.diffs.is_empty() {
                outcome.diffs = change.diffs;
            }
            if !ctx.diff {
                outcome.diffs.clear();
            }
            Ok(outcome)
        }
        Query::Unknowable(plan) => {
            let mut outcome = plan.apply(ctx).await?;
            if !ctx.diff {
                outcome.diffs.clear();
            }
            Ok(outcome)
        }
    }
}
