//! The keywords plays and tasks accept, and the parsing of those whose
//! values oplay implements only in part: `connection`, `become_method`,
//! `debugger`, `collections`, `order`, `throttle` and `module_defaults`.
//!
//! The rule: a keyword accepted here has the effect ansible-core gives it;
//! a value oplay cannot honour is rejected at load time with its location,
//! never ignored. Not for running anything: the executor reads the parsed
//! values from the model.

use serde_json::Value;

use super::PlaybookError;
use super::model::{HostOrder, ModuleDefaults};
use super::node::{invalid, scalar};
use crate::modules::Registry;
use crate::source::yaml::{Node, NodeKind};
use crate::source::{Diagnostic, did_you_mean};
use crate::template::Templar;

/// Keywords a play may carry.
pub const PLAY_KEYWORDS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "become",
    "become_user",
    "become_method",
    "serial",
    "any_errors_fatal",
    "max_fail_percentage",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "handlers",
    "roles",
    "strategy",
    "check_mode",
    "diff",
    "environment",
    "tags",
    "ignore_errors",
    "ignore_unreachable",
    "remote_user",
    "connection",
    "collections",
    "order",
    "force_handlers",
    "no_log",
    "vars_prompt",
    "module_defaults",
    "run_once",
    "throttle",
];

/// Keywords a task may carry besides its module.
pub const TASK_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "loop",
    "with_items",
    "with_list",
    "with_dict",
    "loop_control",
    "register",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "notify",
    "listen",
    "tags",
    "delegate_to",
    "delegate_facts",
    "run_once",
    "until",
    "retries",
    "delay",
    "environment",
    "no_log",
    "vars",
    "become",
    "become_user",
    "become_method",
    "check_mode",
    "diff",
    "args",
    "any_errors_fatal",
    "throttle",
    "timeout",
    "remote_user",
    "connection",
    "collections",
    "debugger",
    "module_defaults",
];

/// The connection plugins oplay has, by the names Ansible gives them.
/// `paramiko` and `smart` are other ways to SSH; oplay uses its own.
pub(crate) fn connection_kind(name: &str) -> Option<&'static str> {
    match name {
        "local" => Some("local"),
        "ssh" | "paramiko" | "smart" => Some("ssh"),
        _ => None,
    }
}

/// The message for a connection oplay does not have.
pub fn unsupported_connection(name: &str) -> String {
    format!(
        "`connection: {name}` is not supported; oplay connects with `ssh` (also used for \
         `paramiko` and `smart`) or `local`"
    )
}

/// `connection:` — `local` or `ssh` (and its aliases), or a template that
/// the executor checks once rendered.
pub(crate) fn connection(v: &Node) -> Result<String, PlaybookError> {
    let name = scalar(v, "connection")?;
    if Templar::is_template(&name) {
        return Ok(name);
    }
    connection_kind(name.trim())
        .map(String::from)
        .ok_or_else(|| invalid(unsupported_connection(name.trim()), &v.span))
}

/// `become_method:` — oplay becomes with sudo only.
pub(crate) fn become_method(v: &Node) -> Result<(), PlaybookError> {
    let method = scalar(v, "become_method")?;
    if method.trim() == "sudo" {
        return Ok(());
    }
    Err(invalid(
        format!("`become_method: {method}` is not supported; oplay becomes with sudo only"),
        &v.span,
    ))
}

/// `debugger:` — oplay has no task debugger, so only `never` is accepted.
pub(crate) fn debugger(v: &Node) -> Result<(), PlaybookError> {
    let value = scalar(v, "debugger")?;
    if value.trim() == "never" {
        return Ok(());
    }
    Err(invalid(
        format!(
            "`debugger: {value}` is not supported; oplay has no task debugger (only `debugger: never` is accepted)"
        ),
        &v.span,
    ))
}

/// `collections:` — module names already resolve from `ansible.builtin`
/// and `ansible.legacy`; any other collection would change what a short
/// name means, which oplay cannot follow.
pub(crate) fn collections(v: &Node) -> Result<(), PlaybookError> {
    let items: Vec<&Node> = match &v.kind {
        NodeKind::Seq(items) => items.iter().collect(),
        NodeKind::Null => Vec::new(),
        _ => vec![v],
    };
    for item in items {
        let name = scalar(item, "collections")?;
        if !["ansible.builtin", "ansible.legacy"].contains(&name.trim()) {
            return Err(invalid(
                format!(
                    "collection `{name}` is not supported; oplay resolves module names from \
                     ansible.builtin and ansible.legacy only"
                ),
                &item.span,
            ));
        }
    }
    Ok(())
}

/// `order:` of a play's hosts.
pub(crate) fn order(v: &Node) -> Result<HostOrder, PlaybookError> {
    let value = scalar(v, "order")?;
    Ok(match value.trim() {
        "inventory" => HostOrder::Inventory,
        "reverse_inventory" => HostOrder::ReverseInventory,
        "sorted" => HostOrder::Sorted,
        "reverse_sorted" => HostOrder::ReverseSorted,
        "shuffle" => HostOrder::Shuffle,
        other => {
            return Err(invalid(
                format!(
                    "unknown order `{other}`: expected inventory, reverse_inventory, sorted, \
                     reverse_sorted or shuffle"
                ),
                &v.span,
            ));
        }
    })
}

/// `throttle:` — a whole number of hosts, or a template checked at run time.
pub(crate) fn throttle(v: &Node) -> Result<Value, PlaybookError> {
    let value = v.to_value();
    match &value {
        Value::Number(n) if n.as_u64().is_some() => Ok(value),
        Value::String(s) if Templar::is_template(s) => Ok(value),
        Value::String(s) if s.trim().parse::<u64>().is_ok() => Ok(value),
        _ => Err(invalid(
            "`throttle` must be a whole number of hosts (0 for no limit)",
            &v.span,
        )),
    }
}

/// `module_defaults:` — a mapping (or a list of mappings) from module
/// names to their default arguments. Names resolve as task keys do;
/// `group/...` entries name Ansible action groups, which oplay has not.
pub(crate) fn module_defaults(
    v: &Node,
    registry: &Registry,
) -> Result<Vec<ModuleDefaults>, PlaybookError> {
    let maps: Vec<&Node> = match &v.kind {
        NodeKind::Seq(items) => items.iter().collect(),
        NodeKind::Null => Vec::new(),
        _ => vec![v],
    };
    let mut out = Vec::new();
    for m in maps {
        let Some(pairs) = m.as_map() else {
            return Err(invalid(
                format!(
                    "`module_defaults` must be a mapping of module names to their arguments, found {}",
                    m.type_name()
                ),
                &m.span,
            ));
        };
        for (k, args) in pairs {
            out.push(module_default(k, args, registry)?);
        }
    }
    Ok(out)
}

fn module_default(
    k: &Node,
    args: &Node,
    registry: &Registry,
) -> Result<ModuleDefaults, PlaybookError> {
    let key = k.key_string();
    if key.starts_with("group/") {
        return Err(invalid(
            format!(
                "`module_defaults` groups (`{key}`) are not supported; list the modules by name"
            ),
            &k.span,
        ));
    }
    let Some(module) = registry.get(&key) else {
        let mut d = Diagnostic::new(
            format!("unknown module `{key}` in `module_defaults`"),
            Some(k.span.clone()),
        );
        if let Some(s) = did_you_mean(&key, registry.names()) {
            d = d.with_hint(format!("did you mean `{s}`?"));
        }
        return Err(PlaybookError::Invalid(d));
    };
    match &args.kind {
        NodeKind::Map(_) | NodeKind::Null => Ok((module.spec().name.clone(), args.clone())),
        _ => Err(invalid(
            format!(
                "the `module_defaults` of `{key}` must be a mapping of its arguments, found {}",
                args.type_name()
            ),
            &args.span,
        )),
    }
}

/// Adds the defaults for `module` to a task's argument pairs: the last
/// `module_defaults` entry naming the module wins as a whole (Ansible
/// updates a dict per module name), and the task's own arguments win over
/// it, aliases included.
pub(crate) fn apply_module_defaults(
    pairs: &mut Vec<(Node, Node)>,
    module: &crate::modules::ModuleSpec,
    defaults: &[ModuleDefaults],
) {
    let Some((_, args)) = defaults.iter().rev().find(|(name, _)| *name == module.name) else {
        return;
    };
    let canonical = |key: &str| {
        module
            .param(key)
            .map_or(key.to_string(), |p| p.name.clone())
    };
    for (k, v) in args.as_map().unwrap_or_default() {
        let name = canonical(&k.key_string());
        if !pairs
            .iter()
            .any(|(t, _)| canonical(&t.key_string()) == name)
        {
            pairs.push((k.clone(), v.clone()));
        }
    }
}
