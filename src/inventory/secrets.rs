//! Hosts named by secrets: a password file read as an inventory source
//! (`-i` of a folder that holds the generated credentials) turns each
//! password into a host, which would then be printed in `--graph`,
//! `--list-hosts` and every result line, and sent to the DNS resolver.
//! Such an inventory is refused, with an error that names the secret's
//! variable, never its value.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};

use super::{Inventory, InventoryError};
use crate::secret::secret_values;
use crate::template::Templar;

impl Inventory {
    /// Refuses the inventory when a host's name is the value of a secret
    /// that a host's inventory variables hold: a secret-named variable (or
    /// a secret-named key inside one), as the run's redactor sees them.
    /// A secret that is a template (`lookup('password', ...)`) is asked of
    /// `render(host, variable)`, which gives its value or `None` (not
    /// known before the run); literal ones are read as they are.
    pub fn refuse_secret_hosts<F>(&self, mut render: F) -> Result<(), InventoryError>
    where
        F: FnMut(&str, &str) -> Option<Value>,
    {
        let mut secrets: HashMap<String, String> = HashMap::new();
        for host in self.host_names() {
            for (name, value) in self.host_vars(&host).iter() {
                for found in host_secrets(&host, name, value, &mut render) {
                    secrets.entry(found).or_insert_with(|| name.clone());
                }
            }
        }
        for host in &self.graph.hosts {
            if let Some(var) = secrets.get(&host.name) {
                let origin = match host.vars.get("inventory_dir") {
                    Some(Value::String(_)) => match host.vars.get("inventory_file") {
                        Some(Value::String(file)) => format!("inventory {}", shown(file)),
                        _ => "inventory".to_string(),
                    },
                    // The `-i a,b,` text itself holds the name.
                    _ => "the -i host list".to_string(),
                };
                return Err(InventoryError::SecretHost {
                    origin,
                    var: var.clone(),
                });
            }
        }
        Ok(())
    }
}

/// A path as diagnostics show it: relative below the current directory.
fn shown(file: &str) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let path = Path::new(file);
    path.strip_prefix(&cwd)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The secret values one variable holds on one host.
fn host_secrets<F>(host: &str, name: &str, value: &Value, render: &mut F) -> Vec<String>
where
    F: FnMut(&str, &str) -> Option<Value>,
{
    let found = secret_values(&json!({ name: value }));
    if !found.iter().any(|s| Templar::is_template(s)) {
        return found;
    }
    match render(host, name) {
        Some(rendered) => secret_values(&json!({ name: rendered })),
        None => found
            .into_iter()
            .filter(|s| !Templar::is_template(s))
            .collect(),
    }
}
