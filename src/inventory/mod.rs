//! Hosts, groups and their variables: Ansible's INI and YAML inventories,
//! directory inventories with `group_vars/` and `host_vars/`, and host
//! patterns (`all`, `a:b`, `a:&b`, `a:!b`, wildcards, regexes).
//!
//! | file | what it holds |
//! |---|---|
//! | `graph` | groups, hosts, membership; Ansible's host order and group sort |
//! | `sources` | `-i` arguments: files, directories, `a,b,` host lists |
//! | `ini`, `literal` | the INI format and its Python-literal values |
//! | `yaml` | the YAML (and JSON) format |
//! | `expand` | `host:port` and `web[01:03]` ranges |
//! | `vars_dirs` | `group_vars/` and `host_vars/` directories |
//! | `pattern` | `select`: host patterns |
//! | `display` | `oplay inventory`: `--list`, `--graph`, `--host` |
//! | `secrets` | refusing hosts named by a secret (a password file as a source) |
//!
//! Variables are merged once, when the inventory is loaded (and again when
//! a playbook directory is added), in Ansible's precedence; `host_vars`
//! then hands out a shared map. Not for facts, play vars or magic
//! variables such as `inventory_hostname`: those belong to `template`.

mod display;
mod expand;
mod graph;
mod ini;
mod literal;
mod pattern;
mod secrets;
mod sources;
mod vars_dirs;
mod yaml;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::source::Diagnostic;
pub use graph::Host;
use graph::{ALL, Graph};
use pattern::LOCALHOST;
use vars_dirs::{Vars, VarsDir};

/// How many hosts one inventory may hold (each takes about 2 KiB).
pub const MAX_HOSTS: usize = 200_000;

/// Why an inventory could not be loaded, or a host pattern not resolved.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A source or a `group_vars`/`host_vars` file is malformed; the
    /// diagnostic points at the place.
    #[error("{0}")]
    Parse(Diagnostic),
    /// A source that could not be read.
    #[error("inventory {path}: {source}")]
    Io {
        /// The file or folder given as a source (or found in one).
        path: PathBuf,
        /// Why reading it failed.
        #[source]
        source: std::io::Error,
    },
    /// A host pattern (`hosts:`, `--limit`) that is malformed or selects
    /// nothing where something is needed; the message quotes it.
    #[error("{0}")]
    Pattern(String),
    /// A host whose name is a secret's value (see
    /// [`Inventory::refuse_secret_hosts`]); the value is never in the
    /// message.
    #[error(
        "{origin}: a host is named by the value of the secret `{var}`; refusing the inventory, \
         so that the value is neither shown nor used as an address (is a password file read \
         as an inventory source? keep credentials out of inventory folders)"
    )]
    SecretHost {
        /// Where the host was declared: `inventory FILE` or the `-i`
        /// host list.
        origin: String,
        /// The secret-named variable whose value is the host's name.
        var: String,
    },
}

/// All hosts and groups of one or more inventory sources.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    graph: Graph,
    /// `group_vars/`/`host_vars/` beside each `-i` source, in `-i` order.
    inventory_dirs: Vec<VarsDir>,
    /// The same beside playbooks (`add_vars_dir`).
    playbook_dirs: Vec<VarsDir>,
    warnings: Vec<String>,
    merged: Merged,
}

/// What `host_vars`, `group_names` and `groups` hand out, computed once.
#[derive(Debug, Clone, Default)]
struct Merged {
    host_vars: HashMap<String, Vars>,
    group_names: HashMap<String, Vec<String>>,
    groups: Arc<Map<String, Value>>,
}

impl Inventory {
    /// Loads and merges inventory sources (files, directories, or `a,b,`
    /// host lists), in order.
    pub fn load(paths: &[PathBuf]) -> Result<Self, InventoryError> {
        let mut inv = Inventory::default();
        let mut roots: Vec<PathBuf> = Vec::new();
        for path in paths {
            if let sources::Source::Path { vars_root } =
                sources::load(path, &mut inv.graph, &mut inv.warnings)?
            {
                if !roots.contains(&vars_root) {
                    roots.push(vars_root);
                }
            }
        }
        let clashes = inv.graph.reconcile();
        inv.warnings.extend(clashes);
        for root in roots {
            let dir = inv.load_vars_dir(&root)?;
            inv.inventory_dirs.push(dir);
        }
        inv.merge();
        Ok(inv)
    }

    /// An inventory from one INI or YAML text, without `group_vars/` or
    /// `host_vars/` (for tests and fuzzing).
    pub fn from_text(path: &Path, text: &str, yaml: bool) -> Result<Self, InventoryError> {
        let mut inv = Inventory::default();
        let file = crate::source::SourceFile::new(path, text);
        if yaml {
            let root = crate::source::yaml::parse(&file).map_err(InventoryError::Parse)?;
            yaml::parse(&file, &root, &mut inv.graph)?;
        } else {
            ini::parse(&file, &mut inv.graph)?;
        }
        let clashes = inv.graph.reconcile();
        inv.warnings.extend(clashes);
        inv.merge();
        Ok(inv)
    }

    /// An inventory with no hosts: only the implicit `localhost` answers
    /// (to the `localhost` pattern, not to `all`), as in Ansible.
    pub fn localhost_only() -> Self {
        let mut inv = Inventory::default();
        inv.graph.reconcile();
        inv.merge();
        inv
    }

    /// Also reads `group_vars/` and `host_vars/` beside a playbook. They
    /// override the inventory's own `group_vars/` and `host_vars/`.
    pub fn add_vars_dir(&mut self, dir: &Path) -> Result<(), InventoryError> {
        if self.playbook_dirs.iter().any(|d| d.root == dir) {
            return Ok(());
        }
        let loaded = self.load_vars_dir(dir)?;
        self.playbook_dirs.push(loaded);
        self.merge();
        Ok(())
    }

    fn load_vars_dir(&self, root: &Path) -> Result<VarsDir, InventoryError> {
        let groups = self.graph.groups.iter().map(|g| g.name.as_str());
        let hosts = self
            .graph
            .hosts
            .iter()
            .map(|h| h.name.as_str())
            .chain(LOCALHOST);
        VarsDir::load(root, groups, hosts)
    }

    /// Host names in inventory order (the order of `all`; the implicit
    /// localhost is not included).
    pub fn host_names(&self) -> Vec<String> {
        self.graph
            .group_hosts(ALL)
            .into_iter()
            .map(|h| self.graph.hosts[h].name.clone())
            .collect()
    }

    /// A host as the inventory declares it.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.graph.host_id(name).map(|h| &self.graph.hosts[h])
    }

    /// Hosts matching a pattern, in inventory order. `localhost` matches
    /// the implicit local host when the inventory does not declare it. A
    /// pattern that matches nothing gives an empty list.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, InventoryError> {
        pattern::select(&self.graph, pattern)
    }

    /// A host's inventory-level variables, merged in Ansible's precedence
    /// (lowest first): inventory-file group vars (`all`, then groups by
    /// depth, `ansible_group_priority` and name), inventory
    /// `group_vars/all`, playbook `group_vars/all`, inventory
    /// `group_vars/GROUP`, playbook `group_vars/GROUP`, inventory-file
    /// host vars, inventory `host_vars/HOST`, playbook `host_vars/HOST`.
    /// The map is computed once and shared.
    pub fn host_vars(&self, host: &str) -> Arc<Map<String, Value>> {
        self.merged.host_vars.get(host).cloned().unwrap_or_default()
    }

    /// `group_names`: the groups a host belongs to (directly or through a
    /// child group), sorted, without `all`. Like Ansible, a host in no
    /// group is in `ungrouped`.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        self.merged
            .group_names
            .get(host)
            .cloned()
            .unwrap_or_default()
    }

    /// `groups`: every group with its hosts, `all` and `ungrouped` included.
    pub fn groups(&self) -> Arc<Map<String, Value>> {
        self.merged.groups.clone()
    }

    /// Findings that did not stop the load (skipped files, name clashes).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Recomputes every shared map after the sources or vars dirs changed.
    fn merge(&mut self) {
        let g = &self.graph;
        let mut host_vars = HashMap::new();
        let mut group_names = HashMap::new();
        for (id, host) in g.hosts.iter().enumerate() {
            host_vars.insert(
                host.name.clone(),
                Arc::new(self.merge_host(Some(id), &host.name)),
            );
            let mut names: Vec<String> = g
                .host_groups(id)
                .into_iter()
                .filter(|gid| *gid != ALL)
                .map(|gid| g.groups[gid].name.clone())
                .collect();
            names.sort();
            group_names.insert(host.name.clone(), names);
        }
        for name in LOCALHOST {
            if g.host_id(name).is_none() {
                host_vars.insert(name.to_string(), Arc::new(self.merge_host(None, name)));
            }
        }
        let groups = g
            .groups
            .iter()
            .enumerate()
            .map(|(id, group)| {
                let hosts = g
                    .group_hosts(id)
                    .into_iter()
                    .map(|h| Value::from(g.hosts[h].name.clone()));
                (group.name.clone(), Value::Array(hosts.collect()))
            })
            .collect();
        self.merged = Merged {
            host_vars,
            group_names,
            groups: Arc::new(groups),
        };
    }

    /// One host's variables; `None` is the implicit local host.
    fn merge_host(&self, host: Option<usize>, name: &str) -> Map<String, Value> {
        let g = &self.graph;
        let mut groups = host.map_or_else(Vec::new, |h| g.host_groups(h));
        groups.retain(|id| *id != ALL);
        g.sort_groups(&mut groups);
        let group_names: Vec<&str> = groups
            .iter()
            .map(|id| g.groups[*id].name.as_str())
            .collect();

        let mut out = g.groups[ALL].vars.clone();
        for id in &groups {
            extend(&mut out, &g.groups[*id].vars);
        }
        for dirs in [&self.inventory_dirs, &self.playbook_dirs] {
            for d in dirs {
                d.group("all").inspect(|v| extend(&mut out, v));
            }
        }
        for dirs in [&self.inventory_dirs, &self.playbook_dirs] {
            for d in dirs {
                for name in &group_names {
                    d.group(name).inspect(|v| extend(&mut out, v));
                }
            }
        }
        match host {
            Some(h) => extend(&mut out, &g.hosts[h].vars),
            None => {
                out.insert("ansible_connection".into(), Value::from("local"));
            }
        }
        for dirs in [&self.inventory_dirs, &self.playbook_dirs] {
            for d in dirs {
                d.host(name).inspect(|v| extend(&mut out, v));
            }
        }
        out
    }
}

/// Ansible's default `hash_behaviour=replace`: a later layer replaces a
/// variable whole, dictionaries included.
fn extend(into: &mut Map<String, Value>, layer: &Map<String, Value>) {
    for (k, v) in layer {
        into.insert(k.clone(), v.clone());
    }
}
