//! Parsing one task (or handler, or block) from its YAML mapping.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::PlaybookError;
use super::keywords;
use super::kv::{self, Word};
use super::loader::{Loader, TaskCtx};
use super::model::{Inherited, LoopControl, Task, TaskAction};
use super::node::{boolean, invalid, mapping, scalar, string_list};
use crate::source::yaml::{Node, NodeKind};
use crate::source::{Diagnostic, did_you_mean};

pub use super::keywords::TASK_KEYWORDS;

/// Task keywords that Ansible refuses on a block ("not a valid attribute
/// for a Block"): they belong to the block's tasks.
const NOT_ON_BLOCKS: &[&str] = &[
    "loop",
    "with_items",
    "with_list",
    "with_dict",
    "loop_control",
    "register",
    "changed_when",
    "failed_when",
    "until",
    "retries",
    "delay",
    "listen",
    "args",
];

/// The keywords oplay honours on `include_tasks` (Ansible's valid include
/// keywords less `loop`, `loop_control`, `register`, `run_once` and
/// `timeout`, which oplay does not implement for includes).
const ON_INCLUDES: &[&str] = &[
    "name",
    "when",
    "tags",
    "vars",
    "ignore_errors",
    "no_log",
    "collections",
    "debugger",
    "listen",
    "include_tasks",
    "include",
    "args",
];

/// Keys that make a task something other than a module call.
const STRUCTURE_KEYS: &[&str] = &[
    "block",
    "rescue",
    "always",
    "include_tasks",
    "import_tasks",
    "include",
    "action",
    "local_action",
];

impl Loader {
    /// Parses a list of tasks.
    pub(crate) fn tasks(
        &mut self,
        node: &Node,
        ctx: &TaskCtx,
        handlers: bool,
    ) -> Result<Vec<Task>, PlaybookError> {
        let items = match &node.kind {
            NodeKind::Null => return Ok(Vec::new()),
            NodeKind::Seq(items) => items,
            _ => {
                return Err(invalid(
                    format!("expected a list of tasks, found {}", node.type_name()),
                    &node.span,
                ));
            }
        };
        let mut out = Vec::new();
        for item in items {
            if let Some(mut imported) = self.import_tasks(item, ctx, handlers)? {
                out.append(&mut imported);
            } else {
                out.push(self.task(item, ctx, handlers)?);
            }
        }
        Ok(out)
    }

    /// `import_tasks: file` is spliced in at load time, its keywords passed down.
    fn import_tasks(
        &mut self,
        node: &Node,
        ctx: &TaskCtx,
        handlers: bool,
    ) -> Result<Option<Vec<Task>>, PlaybookError> {
        let Some(file_node) = node.get("import_tasks") else {
            return Ok(None);
        };
        let file = scalar(file_node, "import_tasks")?;
        if let Some(n) = node.get("notify") {
            for name in string_list(n, "notify")? {
                self.notify_refs.push((name, n.span.clone()));
            }
        }
        let inner = self.child_ctx(node, ctx, &["import_tasks", "name"])?;
        let path = self.resolve_task_file(&file, ctx, &file_node.span)?;
        let (chain, loops) = ctx.chain.enter(&file_node.span, &path, "import_tasks")?;
        if loops {
            return Err(chain.loop_error("import_tasks", &path));
        }
        let root = self.load_yaml(&path, Some(&file_node.span))?;
        let file_ctx = TaskCtx {
            file_dir: path.parent().map(PathBuf::from).unwrap_or_default(),
            chain,
            ..inner
        };
        self.tasks(&root, &file_ctx, handlers).map(Some)
    }

    /// The context for tasks inside a block or import: the container's
    /// keywords are merged into what is passed down.
    fn child_ctx(
        &mut self,
        node: &Node,
        ctx: &TaskCtx,
        skip: &[&str],
    ) -> Result<TaskCtx, PlaybookError> {
        let mut inner = ctx.clone();
        let Some(pairs) = node.as_map() else {
            return Ok(inner);
        };
        for (k, v) in pairs {
            let key = k.key_string();
            if skip.contains(&key.as_str()) || ["block", "rescue", "always"].contains(&key.as_str())
            {
                continue;
            }
            self.inherit_keyword(&mut inner.inherited, &key, k, v)?;
        }
        Ok(inner)
    }

    /// Applies one keyword to what a block passes down. Returns false when
    /// the keyword is not one that blocks pass down.
    pub(crate) fn inherit_keyword(
        &mut self,
        inh: &mut Inherited,
        key: &str,
        k: &Node,
        v: &Node,
    ) -> Result<bool, PlaybookError> {
        match key {
            "when" => inh.when.extend(string_list(v, "when")?),
            "tags" => {
                for t in string_list(v, "tags")? {
                    if !inh.tags.contains(&t) {
                        inh.tags.push(t);
                    }
                }
            }
            "become" => inh.become_ = Some(boolean(v, "become")?),
            "become_user" => inh.become_user = Some(scalar(v, "become_user")?),
            "environment" => inh.environment.insert(0, v.to_value()),
            "vars" => inh.vars.insert(0, Arc::new(mapping(v, "vars")?)),
            "ignore_errors" => inh.ignore_errors = Some(boolean(v, "ignore_errors")?),
            "no_log" => inh.no_log = Some(boolean(v, "no_log")?),
            "check_mode" => inh.check_mode = Some(boolean(v, "check_mode")?),
            "diff" => inh.diff = Some(boolean(v, "diff")?),
            "delegate_to" => inh.delegate_to = Some(scalar(v, "delegate_to")?),
            "run_once" => inh.run_once = Some(boolean(v, "run_once")?),
            "any_errors_fatal" => inh.any_errors_fatal = Some(boolean(v, "any_errors_fatal")?),
            "timeout" => inh.timeout = Some(timeout(v)?),
            "connection" => inh.connection = Some(keywords::connection(v)?),
            "remote_user" => inh.remote_user = Some(scalar(v, "remote_user")?),
            "throttle" => inh.throttle = Some(keywords::throttle(v)?),
            "delegate_facts" => inh.delegate_facts = Some(boolean(v, "delegate_facts")?),
            "ignore_unreachable" => inh.ignore_unreachable = Some(boolean(v, key)?),
            "module_defaults" => inh
                .module_defaults
                .extend(keywords::module_defaults(v, &self.registry)?),
            "become_method" => keywords::become_method(v)?,
            "collections" => keywords::collections(v)?,
            "debugger" => keywords::debugger(v)?,
            // A block's (or an import's) `notify` is its tasks' unless
            // they name their own; the names are checked where written.
            "notify" => inh.notify = string_list(v, "notify")?,
            "name" => {}
            _ => {
                let _ = k;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Parses one task, block or include.
    pub(crate) fn task(
        &mut self,
        node: &Node,
        ctx: &TaskCtx,
        handler: bool,
    ) -> Result<Task, PlaybookError> {
        let Some(pairs) = node.as_map() else {
            return Err(invalid(
                format!("a task must be a mapping, found {}", node.type_name()),
                &node.span,
            ));
        };
        let mut t = Task {
            id: self.next_id(),
            name: None,
            span: node.span.clone(),
            action: TaskAction::Block {
                block: vec![],
                rescue: vec![],
                always: vec![],
            },
            attrs: ctx.inherited.clone(),
            loop_: None,
            loop_flatten: false,
            loop_control: LoopControl::default(),
            register: None,
            changed_when: None,
            failed_when: None,
            notify: Vec::new(),
            listen: Vec::new(),
            until: None,
            retries: None,
            delay: None,
            ignore_unreachable: false,
            role: ctx.role.clone(),
            search_paths: ctx.search_paths.clone(),
            chain: ctx.chain.clone(),
        };
        // Block-level keywords apply to the block's own tasks, so the task's
        // own keywords are collected first.
        let mut module: Option<(&Node, &Node)> = None;
        let mut args_kw: Option<&Node> = None;
        let is_block = node.get("block").is_some();
        for (k, v) in pairs {
            let key = k.key_string();
            if self.task_keyword(&mut t, &key, k, v, handler)? {
                continue;
            }
            if key == "args" {
                args_kw = Some(v);
                continue;
            }
            if is_block && ["block", "rescue", "always"].contains(&key.as_str()) {
                continue;
            }
            if ["rescue", "always"].contains(&key.as_str()) {
                return Err(invalid(
                    format!("`{key}` is only valid together with `block`"),
                    &k.span,
                ));
            }
            if !STRUCTURE_KEYS.contains(&key.as_str()) && self.registry.get(&key).is_none() {
                return Err(self.unknown_key(&key, k));
            }
            if let Some((first, _)) = module {
                return Err(PlaybookError::Invalid(Diagnostic::new(
                    format!(
                        "a task can run only one module, but this one names `{}` and `{key}`",
                        first.key_string()
                    ),
                    Some(k.span.clone()),
                )));
            }
            module = Some((k, v));
        }
        if t.notify.is_empty() {
            t.notify = ctx.inherited.notify.clone();
        }
        if is_block {
            refuse_keys(pairs, NOT_ON_BLOCKS, |key| {
                format!("`{key}` is not valid on a block; put it on the block's tasks")
            })?;
            let inner = self.child_ctx(node, ctx, &[])?;
            t.action = self.block(node, &inner, handler)?;
            t.attrs = ctx.inherited.clone();
            return Ok(t);
        }
        let Some((k, v)) = module else {
            return Err(invalid("this task has no module or action", &node.span));
        };
        let kind = k.key_string();
        if kind == "include_tasks" || kind == "include" {
            let allowed = |key: &str| ON_INCLUDES.contains(&key) || !TASK_KEYWORDS.contains(&key);
            for (key_node, _) in pairs {
                let key = key_node.key_string();
                if !allowed(&key) {
                    return Err(invalid(include_refusal(&key, &kind), &key_node.span));
                }
            }
        }
        t.ignore_unreachable = t.attrs.ignore_unreachable.unwrap_or(false);
        t.action = self.task_action(k, v, args_kw, ctx, &mut t)?;
        Ok(t)
    }

    fn block(
        &mut self,
        node: &Node,
        inner: &TaskCtx,
        handler: bool,
    ) -> Result<TaskAction, PlaybookError> {
        let part = |name: &str| node.get(name);
        let mut lists = Vec::new();
        for name in ["block", "rescue", "always"] {
            lists.push(match part(name) {
                Some(n) => self.tasks(n, inner, handler)?,
                None => Vec::new(),
            });
        }
        let always = lists.pop().unwrap_or_default();
        let rescue = lists.pop().unwrap_or_default();
        let block = lists.pop().unwrap_or_default();
        Ok(TaskAction::Block {
            block,
            rescue,
            always,
        })
    }

    fn unknown_key(&self, key: &str, k: &Node) -> PlaybookError {
        let known = TASK_KEYWORDS
            .iter()
            .copied()
            .chain(STRUCTURE_KEYS.iter().copied());
        let hint = did_you_mean(key, self.registry.names().chain(known))
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| "`oplay doc --list` lists the modules".to_string());
        PlaybookError::Invalid(
            Diagnostic::new(
                format!("unknown module or keyword `{key}`"),
                Some(k.span.clone()),
            )
            .with_hint(hint),
        )
    }

    /// Handles a task keyword; false when `key` is not one.
    fn task_keyword(
        &mut self,
        t: &mut Task,
        key: &str,
        k: &Node,
        v: &Node,
        handler: bool,
    ) -> Result<bool, PlaybookError> {
        match key {
            "name" => t.name = Some(scalar(v, "name")?),
            "loop" | "with_list" => t.loop_ = Some(v.to_value()),
            "with_items" => {
                t.loop_ = Some(v.to_value());
                t.loop_flatten = true;
            }
            "with_dict" => {
                t.loop_ = Some(match v.to_value() {
                    Value::String(s) => {
                        let inner = s
                            .trim()
                            .trim_start_matches("{{")
                            .trim_end_matches("}}")
                            .trim()
                            .to_string();
                        Value::String(format!("{{{{ ({inner}) | dict2items }}}}"))
                    }
                    other => Value::Array(dict_items(&other)),
                });
            }
            "loop_control" => t.loop_control = loop_control(v)?,
            "register" => t.register = Some(scalar(v, "register")?),
            "changed_when" => t.changed_when = Some(string_list(v, "changed_when")?),
            "failed_when" => t.failed_when = Some(string_list(v, "failed_when")?),
            "until" => t.until = Some(string_list(v, "until")?),
            "retries" => t.retries = Some(v.to_value()),
            "delay" => t.delay = Some(v.to_value()),
            "notify" => {
                for (i, name) in string_list(v, "notify")?.into_iter().enumerate() {
                    let span = v
                        .as_seq()
                        .and_then(|s| s.get(i))
                        .map_or(v.span.clone(), |n| n.span.clone());
                    self.notify_refs.push((name.clone(), span));
                    t.notify.push(name);
                }
            }
            "listen" if handler => t.listen = string_list(v, "listen")?,
            "listen" => return Err(invalid("`listen` is only valid on handlers", &k.span)),
            _ => return self.inherit_keyword(&mut t.attrs, key, k, v),
        }
        Ok(true)
    }

    fn task_action(
        &mut self,
        k: &Node,
        v: &Node,
        args_kw: Option<&Node>,
        ctx: &TaskCtx,
        t: &mut Task,
    ) -> Result<TaskAction, PlaybookError> {
        let key = k.key_string();
        match key.as_str() {
            "include_tasks" | "include" => {
                let file = match v.get("file") {
                    Some(f) => scalar(f, "file")?,
                    None => scalar(v, &key)?,
                };
                // As in Ansible, the included tasks inherit from the
                // enclosing blocks and the play, not from the include
                // itself, except its vars.
                let inherited = Inherited {
                    vars: t.attrs.vars.clone(),
                    ..ctx.inherited.clone()
                };
                if crate::template::Templar::is_template(&file) {
                    return Ok(TaskAction::Include {
                        file,
                        base_dir: ctx.file_dir.clone(),
                        inherited: Box::new(inherited),
                    });
                }
                let path = self.resolve_task_file(&file, ctx, &v.span)?;
                let (chain, loops) = ctx.chain.enter(&t.span, &path, "include_tasks")?;
                if loops {
                    // It comes back to its own file: included when it
                    // runs, as Ansible does, where a `when:` may end it.
                    let depth = Path::new(&file).components().count();
                    let base_dir = path.ancestors().nth(depth).map(PathBuf::from);
                    return Ok(TaskAction::Include {
                        file,
                        base_dir: base_dir.unwrap_or_default(),
                        inherited: Box::new(inherited),
                    });
                }
                let root = self.load_yaml(&path, Some(&v.span))?;
                let inner = TaskCtx {
                    file_dir: path.parent().map(PathBuf::from).unwrap_or_default(),
                    chain,
                    inherited,
                    ..ctx.clone()
                };
                let tasks = self.tasks(&root, &inner, false)?;
                Ok(TaskAction::Included { file, tasks })
            }
            "action" | "local_action" => {
                if key == "local_action" {
                    t.attrs.delegate_to = Some("localhost".into());
                }
                let text = scalar(v, &key)?;
                let (name, rest) = text
                    .trim()
                    .split_once(char::is_whitespace)
                    .unwrap_or((text.trim(), ""));
                let name_node = Node {
                    kind: NodeKind::Str(name.to_string()),
                    span: v.span.clone(),
                };
                if self.registry.get(name).is_none() {
                    return Err(self.unknown_key(name, &name_node));
                }
                let args_node = Node {
                    kind: NodeKind::Str(rest.to_string()),
                    span: v.span.clone(),
                };
                self.module_action(&name_node, &args_node, args_kw, &t.attrs.module_defaults)
            }
            _ => self.module_action(k, v, args_kw, &t.attrs.module_defaults),
        }
    }

    /// Resolves the module and checks its arguments against its spec.
    fn module_action(
        &mut self,
        k: &Node,
        v: &Node,
        args_kw: Option<&Node>,
        defaults: &[super::model::ModuleDefaults],
    ) -> Result<TaskAction, PlaybookError> {
        let name = k.key_string();
        let Some(module) = self.registry.get(&name).cloned() else {
            return Err(self.unknown_key(&name, k));
        };
        let spec = module.spec().clone();
        let mut pairs: Vec<(Node, Node)> = match &v.kind {
            NodeKind::Map(p) => p.clone(),
            NodeKind::Null => Vec::new(),
            NodeKind::Str(text) => free_form_pairs(text, &spec, v)?,
            _ if spec.free_form.is_some() => {
                let key = Node {
                    kind: NodeKind::Str(spec.free_form.clone().unwrap_or_default()),
                    span: v.span.clone(),
                };
                vec![(key, v.clone())]
            }
            _ => {
                return Err(invalid(
                    format!(
                        "arguments of `{name}` must be a mapping, found {}",
                        v.type_name()
                    ),
                    &v.span,
                ));
            }
        };
        if let Some(extra) = args_kw {
            match &extra.kind {
                NodeKind::Map(p) => pairs.extend(p.iter().cloned()),
                _ => return Err(invalid("`args` must be a mapping", &extra.span)),
            }
        }
        keywords::apply_module_defaults(&mut pairs, &spec, defaults);
        let args_node = Node {
            kind: NodeKind::Map(pairs),
            span: v.span.clone(),
        };
        spec.validate(&args_node, k)
            .map_err(PlaybookError::Invalid)?;
        let Value::Object(args) = args_node.to_value() else {
            return Err(invalid("module arguments must be a mapping", &v.span));
        };
        Ok(TaskAction::Module { module, name, args })
    }
}

/// Refuses the first key of `pairs` that is in `refused`.
fn refuse_keys(
    pairs: &[(Node, Node)],
    refused: &[&str],
    message: impl Fn(&str) -> String,
) -> Result<(), PlaybookError> {
    match pairs
        .iter()
        .find(|(k, _)| refused.contains(&k.key_string().as_str()))
    {
        Some((k, _)) => Err(invalid(message(&k.key_string()), &k.span)),
        None => Ok(()),
    }
}

/// Why a keyword is refused on `include_tasks`.
fn include_refusal(key: &str, include: &str) -> String {
    match key {
        "loop" | "with_items" | "with_list" | "with_dict" | "loop_control" | "register"
        | "run_once" | "timeout" => {
            format!("`{key}` on `{include}` is not supported by oplay")
        }
        _ => format!(
            "`{key}` is not valid on `{include}`: it would not apply to the included tasks \
             (use `import_tasks`, or put it on a block around the include)"
        ),
    }
}

/// Parses `k=v` argument text; modules with a free-form parameter keep the
/// rest of the text, as written (newlines included), as that parameter.
fn free_form_pairs(
    text: &str,
    spec: &crate::modules::ModuleSpec,
    v: &Node,
) -> Result<Vec<(Node, Node)>, PlaybookError> {
    let words =
        kv::split(text).map_err(|e| invalid(format!("cannot parse arguments: {e}"), &v.span))?;
    let node = |s: &str| Node {
        kind: NodeKind::Str(s.to_string()),
        span: v.span.clone(),
    };
    let mut pairs = Vec::new();
    let mut free = String::new();
    let mut cursor = 0;
    for (word, raw) in words {
        // Tokens are literal substrings of `text`, in order.
        let start = text[cursor..].find(&raw).map_or(cursor, |i| cursor + i);
        let end = start + raw.len();
        match word {
            Word::Pair(key, value)
                if spec.free_form.is_none()
                    || (spec.param(&key).is_some() && Some(&key) != spec.free_form.as_ref()) =>
            {
                pairs.push((node(&key), node(&value)));
            }
            _ => {
                if !free.is_empty() {
                    free.push_str(&text[cursor..start]);
                }
                free.push_str(&text[start..end]);
            }
        }
        cursor = end;
    }
    if !free.is_empty() {
        let Some(param) = &spec.free_form else {
            return Err(invalid(
                format!(
                    "module `{}` takes key=value arguments, found `{free}`",
                    spec.name
                ),
                &v.span,
            ));
        };
        pairs.push((node(param), node(&free)));
    }
    Ok(pairs)
}

fn dict_items(v: &Value) -> Vec<Value> {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
            .collect(),
        _ => Vec::new(),
    }
}

fn loop_control(node: &Node) -> Result<LoopControl, PlaybookError> {
    let mut lc = LoopControl::default();
    let Some(pairs) = node.as_map() else {
        return Err(invalid("`loop_control` must be a mapping", &node.span));
    };
    for (k, v) in pairs {
        match k.key_string().as_str() {
            "loop_var" => lc.loop_var = Some(scalar(v, "loop_var")?),
            "index_var" => lc.index_var = Some(scalar(v, "index_var")?),
            "label" => lc.label = Some(scalar(v, "label")?),
            "pause" => lc.pause = v.to_value().as_f64(),
            "extended" => lc.extended = boolean(v, "extended")?,
            other => {
                let hint = did_you_mean(
                    other,
                    ["loop_var", "index_var", "label", "pause", "extended"],
                );
                let mut d = Diagnostic::new(
                    format!("unknown `loop_control` key `{other}`"),
                    Some(k.span.clone()),
                );
                if let Some(h) = hint {
                    d = d.with_hint(format!("did you mean `{h}`?"));
                }
                return Err(PlaybookError::Invalid(d));
            }
        }
    }
    Ok(lc)
}

/// `timeout:` seconds: a whole number, or a template checked at run time.
fn timeout(v: &Node) -> Result<Value, PlaybookError> {
    let value = v.to_value();
    match &value {
        Value::Number(n) if n.as_u64().is_some() => Ok(value),
        Value::String(s) if crate::template::Templar::is_template(s) => Ok(value),
        Value::String(s) if s.trim().parse::<u64>().is_ok() => Ok(value),
        _ => Err(invalid(
            "`timeout` must be a whole number of seconds",
            &v.span,
        )),
    }
}
