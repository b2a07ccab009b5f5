//! The variables a task sees on a host, as layers of precedence.
//!
//! Highest first: extra vars, registered results and set_fact, task vars,
//! block vars, play vars_files, play vars, facts, host_vars, group_vars,
//! inventory vars, role defaults. Layers are shared (`Arc`), so building a
//! scope per task per host copies nothing. A variable whose value is a
//! template is rendered when it is read, with the same scope.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use serde_json::{Map, Value};

/// One named layer of variables.
#[derive(Debug, Clone)]
pub struct Layer {
    pub name: &'static str,
    pub vars: Arc<Map<String, Value>>,
}

impl Layer {
    pub fn new(name: &'static str, vars: Map<String, Value>) -> Self {
        Layer {
            name,
            vars: Arc::new(vars),
        }
    }

    pub fn shared(name: &'static str, vars: Arc<Map<String, Value>>) -> Self {
        Layer { name, vars }
    }
}

/// Variables in precedence order (first wins), plus computed values such as
/// `hostvars` that are provided as minijinja objects.
#[derive(Debug, Clone, Default)]
pub struct VarScope {
    layers: Vec<Layer>,
    objects: Vec<(String, minijinja::Value)>,
}

impl VarScope {
    pub fn new(layers: Vec<Layer>) -> Self {
        VarScope {
            layers,
            objects: Vec::new(),
        }
    }

    /// Adds a layer below the existing ones.
    pub fn push(&mut self, layer: Layer) {
        self.layers.push(layer);
    }

    /// Adds a layer above the existing ones.
    pub fn push_front(&mut self, layer: Layer) {
        self.layers.insert(0, layer);
    }

    /// Provides a computed variable (hostvars, groups, ...).
    pub fn set_object(&mut self, name: &str, value: minijinja::Value) {
        self.objects.push((name.to_string(), value));
    }

    /// The raw (unrendered) value of a variable.
    pub fn get_raw(&self, name: &str) -> Option<&Value> {
        self.layers.iter().find_map(|l| l.vars.get(name))
    }

    /// Every variable name visible in the scope.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .layers
            .iter()
            .flat_map(|l| l.vars.keys().cloned())
            .chain(self.objects.iter().map(|(k, _)| k.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Flattens the scope into one mapping (for `-vvv` dumps and hostvars).
    pub fn flatten(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for layer in self.layers.iter().rev() {
            for (k, v) in layer.vars.iter() {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    pub fn into_value(self) -> minijinja::Value {
        minijinja::Value::from_object(self)
    }
}

impl Object for VarScope {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        let name = key.as_str()?;
        if let Some((_, v)) = self.objects.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        let raw = self.get_raw(name)?;
        Some(minijinja::Value::from_serialize(raw))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.names()
                .into_iter()
                .map(minijinja::Value::from)
                .collect(),
        )
    }
}
