//! Ansible's YAML inventory format (also read from `.json` files):
//!
//! ```yaml
//! all:
//!   hosts: {h1: {ansible_port: 2222}}
//!   vars: {ntp: pool.ntp.org}
//!   children:
//!     web: {hosts: {web[01:03]: }, vars: {...}, children: {...}}
//! ```
//!
//! Top-level keys are groups. Where Ansible only warns (a group that is not
//! a mapping, an unknown key such as `host:`), oplay refuses the file with
//! the location: such an inventory never does what its author meant.

use std::sync::Arc;

use serde_json::Value;

use super::InventoryError;
use super::expand::expand_host_entry;
use super::graph::{Graph, Origin};
use crate::source::yaml::{Node, NodeKind};
use crate::source::{Diagnostic, SourceFile, did_you_mean};

const GROUP_KEYS: [&str; 3] = ["hosts", "children", "vars"];

/// Parses a YAML inventory document into the graph. An empty document
/// declares nothing.
pub(crate) fn parse(
    file: &Arc<SourceFile>,
    root: &Node,
    graph: &mut Graph,
) -> Result<(), InventoryError> {
    let path = file.path.clone();
    let mut parser = YamlParser {
        graph,
        origin: Origin::File(&path),
    };
    parser.root(root).map_err(InventoryError::Parse)
}

struct YamlParser<'a> {
    graph: &'a mut Graph,
    origin: Origin<'a>,
}

fn error(message: impl Into<String>, node: &Node) -> Diagnostic {
    Diagnostic::new(message, Some(node.span.clone()))
}

impl YamlParser<'_> {
    fn root(&mut self, root: &Node) -> Result<(), Diagnostic> {
        if root.is_null() {
            return Ok(());
        }
        let Some(groups) = root.as_map() else {
            return Err(error(
                format!(
                    "a YAML inventory must be a mapping of groups, found {}",
                    root.type_name()
                ),
                root,
            ));
        };
        if let Some(plugin) = root.get("plugin") {
            return Err(error(
                "inventory plugin configuration files are not supported",
                plugin,
            )
            .with_hint("list the hosts in a static YAML or INI inventory"));
        }
        for (key, value) in groups {
            self.group(key, value)?;
        }
        Ok(())
    }

    fn group(&mut self, key: &Node, body: &Node) -> Result<usize, Diagnostic> {
        let name = key.key_string();
        if !body.is_null() && body.as_map().is_none() {
            return Err(error(
                format!(
                    "group `{name}` must be a mapping with `hosts`, `children` or `vars`, found {}",
                    body.type_name()
                ),
                body,
            ));
        }
        let group = self.graph.add_group(&name);
        for (k, v) in body.as_map().unwrap_or_default() {
            let section = k.key_string();
            if !GROUP_KEYS.contains(&section.as_str()) {
                let mut diag = error(
                    format!(
                        "unexpected key `{section}` in group `{name}`: only `hosts`, `children` and `vars` are valid"
                    ),
                    k,
                );
                if let Some(close) = did_you_mean(&section, GROUP_KEYS) {
                    diag = diag.with_hint(format!("did you mean `{close}`?"));
                }
                return Err(diag);
            }
            let entries = section_entries(&section, &name, v)?;
            for (ek, ev) in entries {
                match section.as_str() {
                    "vars" => self
                        .graph
                        .set_group_var(
                            group,
                            &ek.key_string(),
                            ev.map_or(Value::Null, Node::to_value),
                        )
                        .map_err(|e| error(e.to_string(), ek))?,
                    "children" => {
                        let null = Node {
                            kind: NodeKind::Null,
                            span: ek.span.clone(),
                        };
                        let child = self.group(ek, ev.unwrap_or(&null))?;
                        self.graph
                            .add_child(group, child)
                            .map_err(|e| error(e.to_string(), ek))?;
                    }
                    _ => self.hosts(group, ek, ev)?,
                }
            }
        }
        Ok(group)
    }

    fn hosts(&mut self, group: usize, key: &Node, vars: Option<&Node>) -> Result<(), Diagnostic> {
        let Some(entry) = key.as_str() else {
            return Err(error(
                format!(
                    "host `{}` must be a string; quote numbers used as host names",
                    key.key_string()
                ),
                key,
            ));
        };
        let (names, port) = expand_host_entry(entry)
            .map_err(|m| error(format!("invalid host range `{entry}`: {m}"), key))?;
        let vars = match vars {
            None => &[][..],
            Some(v) if v.is_null() => &[][..],
            Some(v) => v.as_map().ok_or_else(|| {
                error(
                    format!(
                        "the variables of host `{entry}` must be a mapping, found {}",
                        v.type_name()
                    ),
                    v,
                )
            })?,
        };
        self.graph
            .check_room(&names)
            .map_err(|e| error(e.to_string(), key))?;
        for name in names {
            let host = self.graph.add_host(&name, group, port, &self.origin);
            for (k, v) in vars {
                self.graph.set_host_var(host, &k.key_string(), v.to_value());
            }
        }
        Ok(())
    }
}

/// The entries of a `hosts`, `children` or `vars` section. A plain string
/// stands for a single entry with no value, as Ansible allows.
fn section_entries<'n>(
    section: &str,
    group: &str,
    node: &'n Node,
) -> Result<Vec<(&'n Node, Option<&'n Node>)>, Diagnostic> {
    match &node.kind {
        NodeKind::Null => Ok(Vec::new()),
        NodeKind::Str(_) => Ok(vec![(node, None)]),
        NodeKind::Map(pairs) => Ok(pairs.iter().map(|(k, v)| (k, Some(v))).collect()),
        _ => {
            let mut diag = error(
                format!(
                    "`{section}` of group `{group}` must be a mapping, found {}",
                    node.type_name()
                ),
                node,
            );
            if section != "vars" && node.as_seq().is_some() {
                diag = diag.with_hint(format!(
                    "write each entry as a key: `{section}: {{name1: , name2: }}`"
                ));
            }
            Err(diag)
        }
    }
}
