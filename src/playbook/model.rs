//! The playbook model: plays, tasks, blocks and handlers, as loaded.
//!
//! Everything here is validated already: module names resolve, module
//! arguments fit their declared parameters, handler references exist.
//! Values stay untemplated until the executor runs them on a host.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::modules::Module;
use crate::source::Span;

/// A playbook file and everything it imports, in order.
#[derive(Clone)]
pub struct Playbook {
    /// The file named on the command line.
    pub path: PathBuf,
    /// Its plays, imported playbooks' in place.
    pub plays: Vec<Arc<Play>>,
}

/// `strategy:` — how a play's hosts go through its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Every host finishes a task before the next task starts.
    #[default]
    Linear,
    /// Each host goes through the play on its own.
    Free,
}

/// `serial:` — batch sizes, as counts or percentages, the last one repeating.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchSize {
    /// This many hosts.
    Count(usize),
    /// This percentage of the play's hosts (at least one).
    Percent(f64),
}

/// One play, loaded and checked.
#[derive(Clone)]
pub struct Play {
    /// `name:` (empty when none was given).
    pub name: String,
    /// Where the play starts.
    pub span: Span,
    /// The host pattern (may be a template).
    pub hosts: String,
    /// `vars:`.
    pub vars: Arc<Map<String, Value>>,
    /// Variables loaded from `vars_files`, merged in order (the fixed
    /// entries only; see `vars_files_entries`).
    pub vars_files: Arc<Map<String, Value>>,
    /// Every `vars_files` entry in order. When one is a template, the
    /// executor loads the entries per host at run time.
    pub vars_files_entries: Vec<VarsFile>,
    /// `vars_prompt`: asked on the terminal before the play starts.
    pub vars_prompt: Vec<VarsPrompt>,
    /// `order:` of the play's hosts.
    pub order: HostOrder,
    /// `force_handlers:`; `None` follows `--force-handlers`.
    pub force_handlers: Option<bool>,
    /// What the play passes down to its tasks (also used by fact gathering
    /// for `connection`, `remote_user` and `throttle`).
    pub attrs: Inherited,
    /// `gather_facts:` (default true).
    pub gather_facts: bool,
    /// `gather_subset` as written; the executor reads it
    /// (executor/facts/subset.rs).
    pub gather_subset: Option<Value>,
    /// `gather_timeout` as written.
    pub gather_timeout: Option<Value>,
    /// `fact_path` as written: the folder of local facts.
    pub fact_path: Option<Value>,
    /// `become:`.
    pub become_: Option<bool>,
    /// `become_user:`.
    pub become_user: Option<String>,
    /// `serial:`; empty runs all hosts in one batch.
    pub serial: Vec<BatchSize>,
    /// `any_errors_fatal:`.
    pub any_errors_fatal: bool,
    /// `max_fail_percentage:`.
    pub max_fail_percentage: Option<f64>,
    /// `strategy:`.
    pub strategy: Strategy,
    /// `check_mode:`.
    pub check_mode: Option<bool>,
    /// `environment:` (a mapping or a template).
    pub environment: Option<Value>,
    /// `tags:`.
    pub tags: Vec<String>,
    /// `ignore_unreachable:`.
    pub ignore_unreachable: bool,
    /// `pre_tasks`, then roles and `tasks`, then `post_tasks`; handlers are
    /// flushed after each section.
    pub sections: Vec<Vec<Task>>,
    /// `handlers:`, roles' included.
    pub handlers: Vec<Task>,
    /// Role defaults of every role in the play (lowest precedence).
    pub role_defaults: Arc<Map<String, Value>>,
    /// The playbook's folder (relative paths start here).
    pub base_dir: PathBuf,
}

/// `order:` — the order in which a play's hosts run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostOrder {
    /// As the inventory lists them (the default).
    #[default]
    Inventory,
    /// The inventory's order, reversed.
    ReverseInventory,
    /// By name.
    Sorted,
    /// By name, reversed.
    ReverseSorted,
    /// In a random order.
    Shuffle,
}

/// One `vars_files` entry: loaded at load time, or a template (or a list
/// of candidates, the first found wins) loaded per host at run time.
#[derive(Debug, Clone)]
pub enum VarsFile {
    /// Read at load time.
    Loaded(Arc<Map<String, Value>>),
    /// Read per host at run time.
    Dynamic {
        /// File names, the first that exists is read; some are templates.
        candidates: Vec<String>,
        /// Where the entry is.
        span: Span,
    },
}

/// One `vars_prompt` entry.
#[derive(Debug, Clone)]
pub struct VarsPrompt {
    /// The variable the answer goes to.
    pub name: String,
    /// The question (may be a template); `None` asks "input for NAME".
    pub prompt: Option<String>,
    /// The answer when the input is empty (may be a template).
    pub default: Option<String>,
    /// No echo while typing (Ansible's default).
    pub private: bool,
    /// Ask twice until both answers match.
    pub confirm: bool,
    /// The answer is never templated.
    pub unsafe_: bool,
    /// Where the entry is.
    pub span: Span,
}

/// `module_defaults` for one module: the module's name as the registry
/// knows it, and the mapping of default arguments (spans kept).
pub type ModuleDefaults = (String, crate::source::yaml::Node);

/// A loop's controls (`loop_control`).
#[derive(Debug, Clone, Default)]
pub struct LoopControl {
    /// `loop_var:` (default `item`).
    pub loop_var: Option<String>,
    /// `index_var:`: the item's index goes in this variable.
    pub index_var: Option<String>,
    /// `label:`: what is shown for each item.
    pub label: Option<String>,
    /// `pause:` seconds between items.
    pub pause: Option<f64>,
    /// `extended:`: `ansible_loop` is set.
    pub extended: bool,
}

/// What a task does.
#[derive(Clone)]
pub enum TaskAction {
    /// A module call.
    Module {
        /// The module, resolved at load time.
        module: Arc<dyn Module>,
        /// The module's name as written (for messages).
        name: String,
        /// Its arguments, untemplated.
        args: Map<String, Value>,
    },
    /// `block:`, with its `rescue:` and `always:`.
    Block {
        /// The tasks of `block:`.
        block: Vec<Task>,
        /// Run when a task of `block:` failed.
        rescue: Vec<Task>,
        /// Run after either.
        always: Vec<Task>,
    },
    /// `include_tasks` of a fixed file, loaded and validated up front but
    /// run as an include: its `when` is checked once, not by each task.
    Included {
        /// The file name as written.
        file: String,
        /// Its tasks, loaded.
        tasks: Vec<Task>,
    },
    /// `include_tasks` with a templated file name, loaded per host at run time.
    Include {
        /// The file name as written.
        file: String,
        /// Where a relative name is looked up.
        base_dir: PathBuf,
        /// What the included tasks inherit: the enclosing blocks' and the
        /// play's keywords (not the include's own), and the include's vars.
        inherited: Box<Inherited>,
    },
}

/// Keywords that a block passes down to its tasks, already merged at load.
#[derive(Clone, Default)]
pub struct Inherited {
    /// `when:` conditions, all of which must hold.
    pub when: Vec<String>,
    /// `tags:`.
    pub tags: Vec<String>,
    /// `become:`.
    pub become_: Option<bool>,
    /// `become_user:`.
    pub become_user: Option<String>,
    /// `environment` values, innermost first (mappings or templates).
    pub environment: Vec<Value>,
    /// Variable layers, highest first (task vars, then enclosing blocks).
    pub vars: Vec<Arc<Map<String, Value>>>,
    /// `ignore_errors:`.
    pub ignore_errors: Option<bool>,
    /// `no_log:`.
    pub no_log: Option<bool>,
    /// `check_mode:`.
    pub check_mode: Option<bool>,
    /// `diff:`.
    pub diff: Option<bool>,
    /// `delegate_to:` (may be a template).
    pub delegate_to: Option<String>,
    /// `run_once:`.
    pub run_once: Option<bool>,
    /// `any_errors_fatal:`.
    pub any_errors_fatal: Option<bool>,
    /// `timeout:` seconds (a number or a template); 0 means none.
    pub timeout: Option<Value>,
    /// `connection:` (`local`, `ssh`, or a template checked at run time).
    pub connection: Option<String>,
    /// `remote_user:` (may be a template).
    pub remote_user: Option<String>,
    /// `throttle:` hosts at once (a number or a template); 0 means no limit.
    pub throttle: Option<Value>,
    /// `delegate_facts:` facts of a delegated task go to the delegate.
    pub delegate_facts: Option<bool>,
    /// `module_defaults`, outermost first; the last entry for a module wins.
    pub module_defaults: Vec<ModuleDefaults>,
    /// `ignore_unreachable:`.
    pub ignore_unreachable: Option<bool>,
    /// A block's `notify`, for its tasks that name none of their own.
    pub notify: Vec<String>,
}

/// The role a task came from, for `role_path`, search paths and role vars.
#[derive(Debug)]
pub struct RoleInfo {
    /// The role's name.
    pub name: String,
    /// The role's folder.
    pub path: PathBuf,
    /// The role's `vars/main.yml`.
    pub vars: Arc<Map<String, Value>>,
    /// The parameters the play gave the role.
    pub params: Arc<Map<String, Value>>,
}

/// One task (or handler, or block), loaded and checked.
#[derive(Clone)]
pub struct Task {
    /// A unique id within the run, for handlers and the slowest-tasks list.
    pub id: usize,
    /// `name:`.
    pub name: Option<String>,
    /// Where the task starts.
    pub span: Span,
    /// What it does.
    pub action: TaskAction,
    /// The task's own keywords merged with what its blocks pass down.
    pub attrs: Inherited,
    /// `loop:` or `with_*:` (a list or a template).
    pub loop_: Option<Value>,
    /// `with_items` flattens one level; `loop` does not.
    pub loop_flatten: bool,
    /// `loop_control:`.
    pub loop_control: LoopControl,
    /// `register:`.
    pub register: Option<String>,
    /// `changed_when:`.
    pub changed_when: Option<Vec<String>>,
    /// `failed_when:`.
    pub failed_when: Option<Vec<String>>,
    /// `notify:` handler names or topics.
    pub notify: Vec<String>,
    /// For handlers: the topics they listen to (besides their name).
    pub listen: Vec<String>,
    /// `until:`: retried until these hold.
    pub until: Option<Vec<String>>,
    /// `retries:` (default 3 with `until`).
    pub retries: Option<Value>,
    /// `delay:` seconds between retries (default 5).
    pub delay: Option<Value>,
    /// `ignore_unreachable:`.
    pub ignore_unreachable: bool,
    /// The role it came from.
    pub role: Option<Arc<RoleInfo>>,
    /// Where relative `src:` paths and lookups are searched, in order.
    pub search_paths: Arc<Vec<PathBuf>>,
    /// The imports, includes and roles that led to this task.
    pub chain: super::Chain,
}

impl Task {
    /// The name shown in output: the task's name, or the module's.
    pub fn display_name(&self) -> String {
        let base = match (&self.name, &self.action) {
            (Some(n), _) => n.clone(),
            (None, TaskAction::Module { name, .. }) => name.clone(),
            (None, TaskAction::Block { .. }) => "block".into(),
            (None, TaskAction::Include { file, .. } | TaskAction::Included { file, .. }) => {
                format!("include_tasks: {file}")
            }
        };
        match &self.role {
            Some(r) => format!("{} : {base}", r.name),
            None => base,
        }
    }

    /// The module's name, for module tasks.
    pub fn module_name(&self) -> Option<&str> {
        match &self.action {
            TaskAction::Module { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Its tags, inherited ones included.
    pub fn tags(&self) -> &[String] {
        &self.attrs.tags
    }
}
