//! Hosts, groups and their variables: Ansible's INI and YAML inventories,
//! directory inventories with `group_vars/` and `host_vars/`, and host
//! patterns (`all`, `a:b`, `a:&b`, `a:!b`, wildcards).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::source::Diagnostic;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{0}")]
    Parse(Diagnostic),
    #[error("inventory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Pattern(String),
}

/// One host as the inventory declares it.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    /// Variables set on the host itself (inline or in host_vars).
    pub vars: Map<String, Value>,
}

/// All hosts and groups of one or more inventory sources.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    hosts: Vec<Host>,
}

impl Inventory {
    /// Loads and merges inventory sources (files or directories), in order.
    pub fn load(paths: &[PathBuf]) -> Result<Self, InventoryError> {
        let _ = paths;
        Ok(Inventory::default())
    }

    /// An inventory holding only the implicit `localhost`.
    pub fn localhost_only() -> Self {
        let mut vars = Map::new();
        vars.insert("ansible_connection".into(), Value::String("local".into()));
        Inventory {
            hosts: vec![Host {
                name: "localhost".into(),
                vars,
            }],
        }
    }

    /// Also reads `group_vars/` and `host_vars/` beside a playbook.
    pub fn add_vars_dir(&mut self, dir: &Path) -> Result<(), InventoryError> {
        let _ = dir;
        Ok(())
    }

    /// Host names in inventory order.
    pub fn host_names(&self) -> Vec<String> {
        self.hosts.iter().map(|h| h.name.clone()).collect()
    }

    /// Hosts matching a pattern, in inventory order. `localhost` matches
    /// the implicit local host when the inventory does not declare it.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, InventoryError> {
        let _ = pattern;
        Ok(self.host_names())
    }

    /// A host's inventory-level variables, merged in Ansible's precedence.
    pub fn host_vars(&self, host: &str) -> Map<String, Value> {
        self.hosts
            .iter()
            .find(|h| h.name == host)
            .map(|h| h.vars.clone())
            .unwrap_or_default()
    }

    /// `group_names`: the groups a host belongs to, without `all` and `ungrouped`.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let _ = host;
        Vec::new()
    }

    /// `groups`: every group with its hosts, `all` and `ungrouped` included.
    pub fn groups(&self) -> Map<String, Value> {
        Map::new()
    }
}

impl Inventory {
    /// The shape of `ansible-inventory --list`.
    pub fn to_list_json(&self) -> Value {
        Value::Null
    }

    /// The text of `ansible-inventory --graph`.
    pub fn graph(&self) -> String {
        String::new()
    }

    /// One host's variables, as `ansible-inventory --host`.
    pub fn host_json(&self, host: &str) -> Option<Value> {
        self.hosts
            .iter()
            .find(|h| h.name == host)
            .map(|h| Value::Object(h.vars.clone()))
    }
}
