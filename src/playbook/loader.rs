//! Loads a playbook with everything it pulls in (imported playbooks and
//! task files, roles, vars files) and validates all of it before any host
//! is contacted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::model::{
    BatchSize, HostOrder, Inherited, Play, Playbook, RoleInfo, Strategy, Task, TaskAction,
};
use super::node::{boolean, invalid, mapping, scalar, string_list};
use super::{Chain, PlaybookError};
use crate::modules::Registry;
use crate::source::yaml::{self, Node, NodeKind};
use crate::source::{Diagnostic, SourceFile, Span, did_you_mean};

pub use super::keywords::PLAY_KEYWORDS;

/// Keywords of a `roles:` entry that apply to the role's tasks (as in
/// Ansible, where they are the role's attributes); other keys are role
/// parameters.
const ROLE_KEYWORDS: &[&str] = &[
    "become_method",
    "connection",
    "remote_user",
    "collections",
    "throttle",
    "module_defaults",
    "environment",
    "ignore_errors",
    "no_log",
    "check_mode",
    "diff",
    "delegate_to",
    "delegate_facts",
    "run_once",
    "any_errors_fatal",
    "timeout",
    "debugger",
];

/// Play keywords that the play passes down to its tasks as blocks do
/// (besides the ones `play_body` sets itself).
const PLAY_PASSED_DOWN: &[&str] = &[
    "become_method",
    "connection",
    "remote_user",
    "collections",
    "throttle",
    "module_defaults",
];

/// Loads script modules from a folder into the registry (the scripting
/// layer provides it, so the loader needs no knowledge of Rhai).
pub trait ModuleFinder: Send + Sync {
    /// Registers the modules found in `dir` (a missing folder is no error).
    fn load_dir(&self, dir: &Path, registry: &mut Registry) -> Result<(), Diagnostic>;
}

/// Where a list of tasks is being read from, and what it inherits.
#[derive(Clone)]
pub struct TaskCtx {
    /// The folder of the file being read (includes are relative to it).
    pub file_dir: PathBuf,
    /// The role the tasks belong to, if any.
    pub role: Option<Arc<RoleInfo>>,
    /// Where `template` and `copy` look for files, in order.
    pub search_paths: Arc<Vec<PathBuf>>,
    /// Keywords set by the enclosing blocks, includes and play.
    pub inherited: Inherited,
    /// The imports, includes and roles that led here.
    pub chain: Chain,
}

/// Loads playbooks, roles and task files, and checks them against the
/// module registry before anything runs.
pub struct Loader {
    pub(crate) registry: Registry,
    finder: Option<Arc<dyn ModuleFinder>>,
    roles_path: Vec<PathBuf>,
    next_id: usize,
    pub(crate) notify_refs: Vec<(String, Span)>,
    module_dirs_seen: Vec<PathBuf>,
    files: HashMap<PathBuf, Arc<SourceFile>>,
    /// The `import_playbook` references that led to the playbook loading.
    playbook_chain: Chain,
}

impl Loader {
    /// A loader for the modules of `registry` (and the script modules
    /// `finder` finds), with roles looked up in `roles_path`.
    pub fn new(
        registry: Registry,
        finder: Option<Arc<dyn ModuleFinder>>,
        roles_path: Vec<PathBuf>,
    ) -> Self {
        Loader {
            registry,
            finder,
            roles_path,
            next_id: 1,
            notify_refs: Vec::new(),
            module_dirs_seen: Vec::new(),
            files: HashMap::new(),
            playbook_chain: Chain::default(),
        }
    }

    /// The registry with every script module found while loading.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub(crate) fn next_id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    /// Loads script modules from `dir/modules` once.
    pub fn add_module_dir(&mut self, dir: &Path) -> Result<(), PlaybookError> {
        if !dir.is_dir() || self.module_dirs_seen.iter().any(|d| d == dir) {
            return Ok(());
        }
        self.module_dirs_seen.push(dir.to_path_buf());
        if let Some(finder) = self.finder.clone() {
            finder
                .load_dir(dir, &mut self.registry)
                .map_err(PlaybookError::Invalid)?;
        }
        Ok(())
    }

    /// Reads and parses a YAML file; `from` is the reference that named it.
    pub(crate) fn load_yaml(
        &mut self,
        path: &Path,
        from: Option<&Span>,
    ) -> Result<Node, PlaybookError> {
        let file = match self.files.get(path) {
            Some(f) => f.clone(),
            None => {
                let text = std::fs::read_to_string(path).map_err(|source| match from {
                    Some(span) => PlaybookError::Invalid(Diagnostic::new(
                        format!("could not read {}: {source}", path.display()),
                        Some(span.clone()),
                    )),
                    None => PlaybookError::Io {
                        path: path.to_path_buf(),
                        source,
                    },
                })?;
                let f = SourceFile::new(path, text);
                self.files.insert(path.to_path_buf(), f.clone());
                f
            }
        };
        yaml::parse(&file).map_err(PlaybookError::Invalid)
    }

    /// Finds a task file named by `import_tasks`/`include_tasks`.
    pub(crate) fn resolve_task_file(
        &self,
        file: &str,
        ctx: &TaskCtx,
        span: &Span,
    ) -> Result<PathBuf, PlaybookError> {
        let p = Path::new(file);
        let mut candidates = Vec::new();
        if p.is_absolute() {
            candidates.push(p.to_path_buf());
        } else {
            if let Some(role) = &ctx.role {
                candidates.push(role.path.join("tasks").join(p));
            }
            candidates.push(ctx.file_dir.join(p));
            candidates.extend(ctx.search_paths.iter().map(|d| d.join(p)));
        }
        candidates
            .iter()
            .find(|c| c.is_file())
            .cloned()
            .ok_or_else(|| {
                invalid(
                    format!(
                        "task file `{file}` not found (looked in {})",
                        candidates
                            .iter()
                            .map(|c| c.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    span,
                )
            })
    }

    /// Loads a playbook file and everything it imports.
    pub fn load_playbook(&mut self, path: &Path) -> Result<Playbook, PlaybookError> {
        if let Err(source) = std::fs::metadata(path) {
            return Err(PlaybookError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
        self.load_playbook_file(absolute(path))
    }

    /// Takes `text` as the content of `path`, which need not exist (for
    /// fuzzing), and loads it as a playbook.
    pub fn load_playbook_text(
        &mut self,
        path: &Path,
        text: &str,
    ) -> Result<Playbook, PlaybookError> {
        let path = absolute(path);
        self.files
            .insert(path.clone(), SourceFile::new(path.clone(), text));
        self.load_playbook_file(path)
    }

    fn load_playbook_file(&mut self, path: PathBuf) -> Result<Playbook, PlaybookError> {
        let base = path.parent().map(PathBuf::from).unwrap_or_default();
        self.add_module_dir(&base.join("modules"))?;
        let root = self.load_yaml(&path, None)?;
        let mut plays = Vec::new();
        let items = match &root.kind {
            NodeKind::Seq(items) => items.as_slice(),
            NodeKind::Null => &[],
            _ => {
                return Err(invalid(
                    format!(
                        "a playbook must be a list of plays, found {}",
                        root.type_name()
                    ),
                    &root.span,
                ));
            }
        };
        for item in items {
            if let Some(target) = item.get("import_playbook") {
                let file = scalar(target, "import_playbook")?;
                let sub = base.join(&file);
                if !sub.is_file() {
                    return Err(invalid(
                        format!("imported playbook `{file}` not found at {}", sub.display()),
                        &target.span,
                    ));
                }
                let (chain, loops) =
                    self.playbook_chain
                        .enter(&target.span, &sub, "import_playbook")?;
                if loops {
                    return Err(chain.loop_error("import_playbook", &sub));
                }
                let outer = std::mem::replace(&mut self.playbook_chain, chain);
                let imported = self.load_playbook(&sub);
                self.playbook_chain = outer;
                plays.extend(imported?.plays);
                continue;
            }
            plays.push(Arc::new(self.play(item, &base)?));
        }
        Ok(Playbook { path, plays })
    }

    fn play(&mut self, node: &Node, base: &Path) -> Result<Play, PlaybookError> {
        let Some(pairs) = node.as_map() else {
            return Err(invalid(
                format!("a play must be a mapping, found {}", node.type_name()),
                &node.span,
            ));
        };
        for (k, _) in pairs {
            let key = k.key_string();
            if !PLAY_KEYWORDS.contains(&key.as_str()) {
                let mut d = Diagnostic::new(
                    format!("unknown play keyword `{key}`"),
                    Some(k.span.clone()),
                );
                if let Some(s) = did_you_mean(&key, PLAY_KEYWORDS.iter().copied()) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                } else if self.registry.get(&key).is_some() {
                    d = d.with_hint("modules go in a task under `tasks:`");
                }
                return Err(PlaybookError::Invalid(d));
            }
        }
        let hosts = match node.get("hosts") {
            Some(h) => match h.as_seq() {
                Some(items) => items
                    .iter()
                    .map(|i| scalar(i, "hosts"))
                    .collect::<Result<Vec<_>, _>>()?
                    .join(":"),
                None => scalar(h, "hosts")?,
            },
            None => return Err(invalid("this play has no `hosts`", &node.span)),
        };
        let mut play = self.play_header(node, base, hosts)?;
        self.play_body(node, base, &mut play)?;
        self.check_notify(&play)?;
        Ok(play)
    }

    fn play_header(
        &mut self,
        node: &Node,
        base: &Path,
        hosts: String,
    ) -> Result<Play, PlaybookError> {
        let get = |k: &str| node.get(k);
        let opt_bool = |k: &str| get(k).map(|n| boolean(n, k)).transpose();
        let (vars_files, vars_files_entries) = self.vars_files(get("vars_files"), base)?;
        Ok(Play {
            name: get("name")
                .map(|n| scalar(n, "name"))
                .transpose()?
                .unwrap_or_else(|| hosts.clone()),
            span: node.span.clone(),
            hosts,
            vars: Arc::new(
                get("vars")
                    .map(|n| mapping(n, "vars"))
                    .transpose()?
                    .unwrap_or_default(),
            ),
            vars_files: Arc::new(vars_files),
            vars_files_entries,
            vars_prompt: get("vars_prompt")
                .map(super::vars_prompt::vars_prompt)
                .transpose()?
                .unwrap_or_default(),
            order: get("order")
                .map(super::keywords::order)
                .transpose()?
                .unwrap_or(HostOrder::Inventory),
            force_handlers: opt_bool("force_handlers")?,
            attrs: Inherited::default(),
            gather_facts: opt_bool("gather_facts")?.unwrap_or(true),
            gather_subset: get("gather_subset").map(|n| n.to_value()),
            gather_timeout: get("gather_timeout").map(|n| n.to_value()),
            fact_path: get("fact_path").map(|n| n.to_value()),
            become_: opt_bool("become")?,
            become_user: get("become_user")
                .map(|n| scalar(n, "become_user"))
                .transpose()?,
            serial: get("serial").map(serial).transpose()?.unwrap_or_default(),
            any_errors_fatal: opt_bool("any_errors_fatal")?.unwrap_or(false),
            max_fail_percentage: get("max_fail_percentage")
                .map(|n| {
                    n.to_value()
                        .as_f64()
                        .ok_or_else(|| invalid("`max_fail_percentage` must be a number", &n.span))
                })
                .transpose()?,
            strategy: match get("strategy")
                .map(|n| scalar(n, "strategy"))
                .transpose()?
                .as_deref()
            {
                None | Some("linear") => Strategy::Linear,
                Some("free") => Strategy::Free,
                Some(other) => {
                    return Err(invalid(
                        format!("unknown strategy `{other}`: expected linear or free"),
                        &get("strategy").map_or(node.span.clone(), |n| n.span.clone()),
                    ));
                }
            },
            check_mode: opt_bool("check_mode")?,
            environment: get("environment").map(Node::to_value),
            tags: get("tags")
                .map(|n| string_list(n, "tags"))
                .transpose()?
                .unwrap_or_default(),
            ignore_unreachable: opt_bool("ignore_unreachable")?.unwrap_or(false),
            sections: Vec::new(),
            handlers: Vec::new(),
            role_defaults: Arc::new(Map::new()),
            base_dir: base.to_path_buf(),
        })
    }

    fn play_body(
        &mut self,
        node: &Node,
        base: &Path,
        play: &mut Play,
    ) -> Result<(), PlaybookError> {
        let ctx = TaskCtx {
            file_dir: base.to_path_buf(),
            role: None,
            search_paths: Arc::new(vec![base.to_path_buf()]),
            chain: self.playbook_chain.clone(),
            inherited: Inherited {
                tags: play.tags.clone(),
                become_: play.become_,
                become_user: play.become_user.clone(),
                environment: play.environment.clone().into_iter().collect(),
                ignore_errors: node
                    .get("ignore_errors")
                    .map(|n| boolean(n, "ignore_errors"))
                    .transpose()?,
                no_log: node
                    .get("no_log")
                    .map(|n| boolean(n, "no_log"))
                    .transpose()?,
                check_mode: play.check_mode,
                diff: node.get("diff").map(|n| boolean(n, "diff")).transpose()?,
                run_once: node
                    .get("run_once")
                    .map(|n| boolean(n, "run_once"))
                    .transpose()?,
                ignore_unreachable: Some(play.ignore_unreachable),
                ..Inherited::default()
            },
        };
        let mut ctx = ctx;
        for (k, v) in node.as_map().unwrap_or_default() {
            let key = k.key_string();
            if PLAY_PASSED_DOWN.contains(&key.as_str()) {
                self.inherit_keyword(&mut ctx.inherited, &key, k, v)?;
            }
        }
        play.attrs = ctx.inherited.clone();
        let section =
            |me: &mut Self, key: &str, handlers: bool| -> Result<Vec<Task>, PlaybookError> {
                match node.get(key) {
                    Some(n) => me.tasks(n, &ctx, handlers),
                    None => Ok(Vec::new()),
                }
            };
        let pre = section(self, "pre_tasks", false)?;
        let mut main = Vec::new();
        let mut defaults = Map::new();
        if let Some(roles) = node.get("roles") {
            for r in roles.as_seq().unwrap_or_default() {
                self.role(r, &ctx, base, &mut main, &mut play.handlers, &mut defaults)?;
            }
        }
        main.extend(section(self, "tasks", false)?);
        let post = section(self, "post_tasks", false)?;
        play.handlers.extend(section(self, "handlers", true)?);
        play.sections = vec![pre, main, post];
        play.role_defaults = Arc::new(defaults);
        Ok(())
    }

    /// Every `notify` must name a handler or a topic one listens to.
    fn check_notify(&mut self, play: &Play) -> Result<(), PlaybookError> {
        let mut known: Vec<String> = Vec::new();
        for h in &play.handlers {
            if let Some(n) = &h.name {
                known.push(n.clone());
                if let Some(role) = &h.role {
                    known.push(format!("{} : {n}", role.name));
                }
            }
            known.extend(h.listen.iter().cloned());
        }
        for (name, span) in self.notify_refs.drain(..) {
            if !known.contains(&name) {
                let mut d = Diagnostic::new(
                    format!(
                        "this task notifies `{name}`, but no handler of the play has that name or listens to it"
                    ),
                    Some(span),
                );
                if let Some(s) = did_you_mean(&name, known.iter().map(String::as_str)) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                return Err(PlaybookError::Invalid(d));
            }
        }
        Ok(())
    }

    /// Expands one entry of `roles:` into its tasks, handlers and defaults.
    fn role(
        &mut self,
        node: &Node,
        ctx: &TaskCtx,
        base: &Path,
        tasks: &mut Vec<Task>,
        handlers: &mut Vec<Task>,
        defaults: &mut Map<String, Value>,
    ) -> Result<(), PlaybookError> {
        let (name, name_span) = match &node.kind {
            NodeKind::Str(s) => (s.clone(), node.span.clone()),
            NodeKind::Map(_) => {
                let n = node
                    .get("role")
                    .or_else(|| node.get("name"))
                    .ok_or_else(|| invalid("a role entry needs `role:`", &node.span))?;
                (scalar(n, "role")?, n.span.clone())
            }
            _ => {
                return Err(invalid(
                    "a role entry must be a name or a mapping",
                    &node.span,
                ));
            }
        };
        let path = self.find_role(&name, base).ok_or_else(|| {
            invalid(
                format!(
                    "role `{name}` not found (looked in {}/roles and the roles path)",
                    base.display()
                ),
                &name_span,
            )
        })?;
        let (chain, loops) = ctx.chain.enter(&name_span, &path, "role")?;
        if loops {
            return Err(chain.loop_error("role", &path));
        }
        let mut params = Map::new();
        let mut inner = TaskCtx {
            chain,
            ..ctx.clone()
        };
        if let Some(pairs) = node.as_map() {
            for (k, v) in pairs {
                match k.key_string().as_str() {
                    "role" | "name" => {}
                    "vars" => params.extend(mapping(v, "vars")?),
                    "when" => inner.inherited.when.extend(string_list(v, "when")?),
                    "tags" => inner.inherited.tags.extend(string_list(v, "tags")?),
                    "become" => inner.inherited.become_ = Some(boolean(v, "become")?),
                    "become_user" => inner.inherited.become_user = Some(scalar(v, "become_user")?),
                    kw if ROLE_KEYWORDS.contains(&kw) => {
                        self.inherit_keyword(&mut inner.inherited, kw, k, v)?;
                    }
                    other => {
                        params.insert(other.to_string(), v.to_value());
                    }
                }
            }
        }
        let deps_ctx = TaskCtx {
            chain: inner.chain.clone(),
            ..ctx.clone()
        };
        self.role_meta_dependencies(&path, &deps_ctx, base, tasks, handlers, defaults)?;
        let load_map = |me: &mut Self, sub: &str| -> Result<Map<String, Value>, PlaybookError> {
            match main_file(&path.join(sub)) {
                Some(f) => mapping(&me.load_yaml(&f, Some(&name_span))?, sub),
                None => Ok(Map::new()),
            }
        };
        for (k, v) in load_map(self, "defaults")? {
            defaults.entry(k).or_insert(v);
        }
        let info = Arc::new(RoleInfo {
            name: name.clone(),
            path: path.clone(),
            vars: Arc::new(load_map(self, "vars")?),
            params: Arc::new(params.clone()),
        });
        self.add_module_dir(&path.join("modules"))?;
        inner.role = Some(info.clone());
        inner.file_dir = path.join("tasks");
        inner.search_paths = Arc::new(vec![path.clone(), base.to_path_buf()]);
        let mut layers = vec![Arc::new(params), info.vars.clone()];
        layers.extend(inner.inherited.vars.iter().cloned());
        inner.inherited.vars = layers;
        if let Some(f) = main_file(&path.join("tasks")) {
            let root = self.load_yaml(&f, Some(&name_span))?;
            tasks.extend(self.tasks(&root, &inner, false)?);
        }
        if let Some(f) = main_file(&path.join("handlers")) {
            let root = self.load_yaml(&f, Some(&name_span))?;
            inner.file_dir = path.join("handlers");
            handlers.extend(self.tasks(&root, &inner, true)?);
        }
        Ok(())
    }

    fn role_meta_dependencies(
        &mut self,
        path: &Path,
        ctx: &TaskCtx,
        base: &Path,
        tasks: &mut Vec<Task>,
        handlers: &mut Vec<Task>,
        defaults: &mut Map<String, Value>,
    ) -> Result<(), PlaybookError> {
        let Some(meta) = main_file(&path.join("meta")) else {
            return Ok(());
        };
        let root = self.load_yaml(&meta, None)?;
        if let Some(deps) = root.get("dependencies").and_then(Node::as_seq) {
            for d in deps {
                self.role(d, ctx, base, tasks, handlers, defaults)?;
            }
        }
        Ok(())
    }

    fn find_role(&self, name: &str, base: &Path) -> Option<PathBuf> {
        let direct = Path::new(name);
        if direct.is_absolute() {
            return direct.is_dir().then(|| direct.to_path_buf());
        }
        [base.join("roles").join(name), base.join(name)]
            .into_iter()
            .chain(self.roles_path.iter().map(|p| p.join(name)))
            .find(|p| p.is_dir())
    }

    /// Loads a task file at run time for a templated `include_tasks`; its
    /// tasks inherit `inherited` (see [`TaskAction::Include`]).
    pub fn load_include(
        &mut self,
        path: &Path,
        template: &Task,
        inherited: &Inherited,
    ) -> Result<Vec<Task>, PlaybookError> {
        let (chain, _) = template
            .chain
            .enter(&template.span, path, "include_tasks")?;
        let root = self.load_yaml(path, Some(&template.span))?;
        let ctx = TaskCtx {
            file_dir: path.parent().map(PathBuf::from).unwrap_or_default(),
            role: template.role.clone(),
            search_paths: template.search_paths.clone(),
            chain,
            inherited: inherited.clone(),
        };
        let tasks = self.tasks(&root, &ctx, false)?;
        self.notify_refs.clear();
        Ok(tasks)
    }
}

fn main_file(dir: &Path) -> Option<PathBuf> {
    ["main.yml", "main.yaml", "main"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir()
        .map(|d| d.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

fn serial(node: &Node) -> Result<Vec<BatchSize>, PlaybookError> {
    let one = |n: &Node| -> Result<BatchSize, PlaybookError> {
        match n.to_value() {
            Value::Number(x) => x
                .as_u64()
                .filter(|c| *c > 0)
                .map(|c| BatchSize::Count(c as usize))
                .ok_or_else(|| {
                    invalid(
                        "`serial` must be a positive number or a percentage",
                        &n.span,
                    )
                }),
            Value::String(s) if s.trim().ends_with('%') => s
                .trim()
                .trim_end_matches('%')
                .trim()
                .parse::<f64>()
                .map(BatchSize::Percent)
                .map_err(|_| invalid(format!("invalid `serial` percentage `{s}`"), &n.span)),
            Value::String(s) => s
                .trim()
                .parse::<usize>()
                .map(BatchSize::Count)
                .map_err(|_| invalid(format!("invalid `serial` value `{s}`"), &n.span)),
            _ => Err(invalid(
                "`serial` must be a number, a percentage or a list of them",
                &n.span,
            )),
        }
    };
    match node.as_seq() {
        Some(items) => items.iter().map(one).collect(),
        None => Ok(vec![one(node)?]),
    }
}

#[allow(dead_code)]
fn is_module(t: &Task) -> bool {
    matches!(t.action, TaskAction::Module { .. })
}
