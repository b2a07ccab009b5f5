//! What `oplay inventory` prints, in the exact shapes of
//! `ansible-inventory --list`, `--graph` and `--host`, so that tools and
//! eyes used to those outputs read ours unchanged: JSON with sorted keys
//! and four-space indents, and the `@all:` / `  |--@group:` tree.

use serde::Serialize;
use serde_json::{Map, Value};

use super::graph::ALL;
use super::{Inventory, InventoryError};

/// Variables Ansible sets internally and leaves out of its listings.
const INTERNAL_VARS: [&str; 2] = ["inventory_file", "inventory_dir"];

impl Inventory {
    /// `ansible-inventory --list`: groups with their direct `hosts` and
    /// `children` (empty groups left out), `all.children`, and every host's
    /// merged variables under `_meta.hostvars`.
    pub fn to_list_json(&self) -> String {
        let g = &self.graph;
        let mut out = Map::new();
        for (id, group) in g.groups.iter().enumerate() {
            let mut entry = Map::new();
            if id != ALL && !group.hosts.is_empty() {
                let hosts = group
                    .hosts
                    .iter()
                    .map(|h| Value::from(g.hosts[*h].name.clone()));
                entry.insert("hosts".into(), Value::Array(hosts.collect()));
            }
            if !group.children.is_empty() {
                let children = group
                    .children
                    .iter()
                    .map(|c| Value::from(g.groups[*c].name.clone()));
                entry.insert("children".into(), Value::Array(children.collect()));
            }
            if !entry.is_empty() {
                out.insert(group.name.clone(), Value::Object(entry));
            }
        }
        let mut hostvars = Map::new();
        for name in self.host_names() {
            let vars = self.public_vars(&name);
            if !vars.is_empty() {
                hostvars.insert(name, Value::Object(vars));
            }
        }
        let mut meta = Map::new();
        meta.insert("hostvars".into(), Value::Object(hostvars));
        meta.insert("profile".into(), Value::from("inventory_legacy"));
        out.insert("_meta".into(), Value::Object(meta));
        python_json(&Value::Object(out))
    }

    /// `ansible-inventory --graph`: the tree under `all`.
    pub fn graph(&self) -> String {
        self.graph_from("all").unwrap_or_default()
    }

    /// `ansible-inventory --graph GROUP`; `None` for an unknown group.
    pub fn graph_from(&self, group: &str) -> Option<String> {
        let id = self.graph.group_id(group)?;
        let mut lines = Vec::new();
        self.graph_lines(id, 0, &mut lines);
        Some(lines.join("\n"))
    }

    fn graph_lines(&self, id: usize, depth: usize, lines: &mut Vec<String>) {
        let g = &self.graph;
        lines.push(tree_line(&format!("@{}:", g.groups[id].name), depth));
        for child in &g.groups[id].children {
            self.graph_lines(*child, depth + 1, lines);
        }
        if id != ALL {
            for h in &g.groups[id].hosts {
                lines.push(tree_line(&g.hosts[*h].name, depth + 1));
            }
        }
    }

    /// `ansible-inventory --host NAME`: the host's merged variables.
    pub fn host_json(&self, name: &str) -> Result<String, InventoryError> {
        let hosts = self.select(name)?;
        match hosts.as_slice() {
            [one] => Ok(python_json(&Value::Object(self.public_vars(one)))),
            _ => Err(InventoryError::Pattern(format!(
                "`{name}` is not a single host of the inventory"
            ))),
        }
    }

    fn public_vars(&self, host: &str) -> Map<String, Value> {
        let mut vars = (*self.host_vars(host)).clone();
        vars.retain(|k, _| !INTERNAL_VARS.contains(&k.as_str()));
        vars
    }
}

fn tree_line(text: &str, depth: usize) -> String {
    if depth == 0 {
        text.to_string()
    } else {
        format!("{}--{text}", "  |".repeat(depth))
    }
}

/// JSON as Python's `json.dumps(sort_keys=True, indent=4)` writes it.
pub(crate) fn python_json(value: &Value) -> String {
    let sorted = sort_keys(value);
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    // Serializing a Value into a Vec cannot fail.
    if sorted.serialize(&mut ser).is_err() {
        return String::new();
    }
    String::from_utf8(buf).unwrap_or_default()
}

fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sort_keys(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}
