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
    pub path: PathBuf,
    pub plays: Vec<Arc<Play>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    Linear,
    Free,
}

/// `serial:` — batch sizes, as counts or percentages, the last one repeating.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchSize {
    Count(usize),
    Percent(f64),
}

#[derive(Clone)]
pub struct Play {
    pub name: String,
    pub span: Span,
    /// The host pattern (may be a template).
    pub hosts: String,
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
    pub gather_facts: bool,
    /// `gather_subset`, `gather_timeout` and `fact_path` as written; the
    /// executor reads them (executor/facts/subset.rs).
    pub gather_subset: Option<Value>,
    pub gather_timeout: Option<Value>,
    pub fact_path: Option<Value>,
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    pub serial: Vec<BatchSize>,
    pub any_errors_fatal: bool,
    pub max_fail_percentage: Option<f64>,
    pub strategy: Strategy,
    pub check_mode: Option<bool>,
    pub environment: Option<Value>,
    pub tags: Vec<String>,
    pub ignore_unreachable: bool,
    /// `pre_tasks`, then roles and `tasks`, then `post_tasks`; handlers are
    /// flushed after each section.
    pub sections: Vec<Vec<Task>>,
    pub handlers: Vec<Task>,
    /// Role defaults of every role in the play (lowest precedence).
    pub role_defaults: Arc<Map<String, Value>>,
    pub base_dir: PathBuf,
}

/// `order:` — the order in which a play's hosts run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostOrder {
    #[default]
    Inventory,
    ReverseInventory,
    Sorted,
    ReverseSorted,
    Shuffle,
}

/// One `vars_files` entry: loaded at load time, or a template (or a list
/// of candidates, the first found wins) loaded per host at run time.
#[derive(Debug, Clone)]
pub enum VarsFile {
    Loaded(Arc<Map<String, Value>>),
    Dynamic {
        /// File names, the first that exists is read; some are templates.
        candidates: Vec<String>,
        span: Span,
    },
}

/// One `vars_prompt` entry.
#[derive(Debug, Clone)]
pub struct VarsPrompt {
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
    pub span: Span,
}

/// `module_defaults` for one module: the module's name as the registry
/// knows it, and the mapping of default arguments (spans kept).
pub type ModuleDefaults = (String, crate::source::yaml::Node);

/// A loop's controls (`loop_control`).
#[derive(Debug, Clone, Default)]
pub struct LoopControl {
    pub loop_var: Option<String>,
    pub index_var: Option<String>,
    pub label: Option<String>,
    pub pause: Option<f64>,
    pub extended: bool,
}

/// What a task does.
#[derive(Clone)]
pub enum TaskAction {
    Module {
        module: Arc<dyn Module>,
        /// The module's name as written (for messages).
        name: String,
        args: Map<String, Value>,
    },
    Block {
        block: Vec<Task>,
        rescue: Vec<Task>,
        always: Vec<Task>,
    },
    /// `include_tasks` of a fixed file, loaded and validated up front but
    /// run as an include: its `when` is checked once, not by each task.
    Included { file: String, tasks: Vec<Task> },
    /// `include_tasks` with a templated file name, loaded per host at run time.
    Include {
        file: String,
        base_dir: PathBuf,
        /// What the included tasks inherit: the enclosing blocks' and the
        /// play's keywords (not the include's own), and the include's vars.
        inherited: Box<Inherited>,
    },
}

/// Keywords that a block passes down to its tasks, already merged at load.
#[derive(Clone, Default)]
pub struct Inherited {
    pub when: Vec<String>,
    pub tags: Vec<String>,
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    /// `environment` values, innermost first (mappings or templates).
    pub environment: Vec<Value>,
    /// Variable layers, highest first (task vars, then enclosing blocks).
    pub vars: Vec<Arc<Map<String, Value>>>,
    pub ignore_errors: Option<bool>,
    pub no_log: Option<bool>,
    pub check_mode: Option<bool>,
    pub diff: Option<bool>,
    pub delegate_to: Option<String>,
    pub run_once: Option<bool>,
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
    pub ignore_unreachable: Option<bool>,
    /// A block's `notify`, for its tasks that name none of their own.
    pub notify: Vec<String>,
}

/// The role a task came from, for `role_path`, search paths and role vars.
#[derive(Debug)]
pub struct RoleInfo {
    pub name: String,
    pub path: PathBuf,
    pub vars: Arc<Map<String, Value>>,
    pub params: Arc<Map<String, Value>>,
}

#[derive(Clone)]
pub struct Task {
    /// A unique id within the run, for handlers and the slowest-tasks list.
    pub id: usize,
    pub name: Option<String>,
    pub span: Span,
    pub action: TaskAction,
    /// The task's own keywords merged with what its blocks pass down.
    pub attrs: Inherited,
    pub loop_: Option<Value>,
    /// `with_items` flattens one level; `loop` does not.
    pub loop_flatten: bool,
    pub loop_control: LoopControl,
    pub register: Option<String>,
    pub changed_when: Option<Vec<String>>,
    pub failed_when: Option<Vec<String>>,
    pub notify: Vec<String>,
    /// For handlers: the topics they listen to (besides their name).
    pub listen: Vec<String>,
    pub until: Option<Vec<String>>,
    pub retries: Option<Value>,
    pub delay: Option<Value>,
    pub ignore_unreachable: bool,
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

    pub fn tags(&self) -> &[String] {
        &self.attrs.tags
    }
}
