//! The variables a task sees on a host, as layers of precedence.
//!
//! Highest first: extra vars, registered results and set_fact, task vars,
//! block vars, play vars_files, play vars, facts, host_vars, group_vars,
//! inventory vars, role defaults. Layers are shared (`Arc`), so building a
//! scope per task per host copies nothing, and a lookup copies nothing but
//! scalars: a mapping or list is handed to templates as a view into its
//! layer ([`Node`]). A string that is a template is rendered when it is
//! read, with the same scope, as Ansible resolves variables lazily; a
//! variable whose template refers back to itself is reported, not followed.
//! Not for deciding precedence: the executor orders the layers.

use std::fmt::Write as _;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use serde_json::{Map, Value};

use super::active::{self, ResolveGuard};
use super::{Templar, TemplateError};

/// One named layer of variables.
#[derive(Debug, Clone)]
pub struct Layer {
    /// `extra`, `play`, `inventory` ...: what `-vvv` and errors say a
    /// variable came from.
    pub name: &'static str,
    /// Shared with every scope that holds the layer; never copied per
    /// task.
    pub vars: Arc<Map<String, Value>>,
    /// Whether template strings in the layer are rendered when read. Off
    /// for data that came from a host (registered results, facts), which
    /// Ansible marks unsafe: a `{{` in command output is just text.
    pub templated: bool,
}

impl Layer {
    /// A templated layer that owns its variables.
    pub fn new(name: &'static str, vars: Map<String, Value>) -> Self {
        Layer::shared(name, Arc::new(vars))
    }

    /// A templated layer over variables that other scopes hold too.
    pub fn shared(name: &'static str, vars: Arc<Map<String, Value>>) -> Self {
        Layer {
            name,
            vars,
            templated: true,
        }
    }

    /// The same layer with its strings never templated (Ansible's unsafe).
    pub fn untemplated(mut self) -> Self {
        self.templated = false;
        self
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
    /// `layers` highest precedence first.
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

    /// Provides a computed variable (hostvars, groups, ...). It wins over
    /// every layer.
    pub fn set_object(&mut self, name: &str, value: minijinja::Value) {
        self.objects.retain(|(k, _)| k != name);
        self.objects.push((name.to_string(), value));
    }

    /// The raw (unrendered) value of a variable.
    pub fn get_raw(&self, name: &str) -> Option<&Value> {
        self.layers.iter().find_map(|l| l.vars.get(name))
    }

    /// The name of the layer a variable comes from (for `-vvv` and errors).
    pub fn origin(&self, name: &str) -> Option<&'static str> {
        self.layers
            .iter()
            .find(|l| l.vars.contains_key(name))
            .map(|l| l.name)
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

    /// Flattens the scope into one unrendered mapping (for `-vvv` dumps).
    pub fn flatten(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for layer in self.layers.iter().rev() {
            for (k, v) in layer.vars.iter() {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    /// The scope as a template context: variables are looked up (and
    /// rendered) only when a template reads them.
    pub fn into_value(self) -> minijinja::Value {
        minijinja::Value::from_object(self)
    }

    /// A variable as templates see it, rendered where it is a template.
    fn lookup(self: &Arc<Self>, name: &str) -> Option<minijinja::Value> {
        // A note about an earlier miss would otherwise name the wrong
        // variable in a later error.
        active::clear_missing();
        if let Some((_, v)) = self.objects.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        let Some((layer, raw)) = self
            .layers
            .iter()
            .find_map(|l| Some((l, l.vars.get(name)?)))
        else {
            if name == "vars" {
                // Ansible's `vars`: the whole scope, as a mapping.
                return Some(minijinja::Value::from_dyn_object(self.clone()));
            }
            // minijinja asks the context before its globals: `lookup` is
            // not missing, it is just not a variable.
            if !super::is_global(name) {
                active::note_missing(name.to_string(), String::new());
            }
            return None;
        };
        let node = Node {
            scope: self.clone(),
            root: layer.vars.clone(),
            templated: layer.templated,
            path: vec![Seg::Key(name.to_string())],
        };
        Some(node.wrap(raw))
    }
}

impl Object for VarScope {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        self.lookup(key.as_str()?)
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

/// One step of the path from a variable to a value inside it.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// A mapping or list inside a layer, seen by templates without a copy.
/// Its strings are rendered on access when the layer is templated.
#[derive(Debug)]
struct Node {
    scope: Arc<VarScope>,
    root: Arc<Map<String, Value>>,
    templated: bool,
    path: Vec<Seg>,
}

impl Node {
    /// The JSON value this node points at.
    fn value(&self) -> Option<&Value> {
        let mut segs = self.path.iter();
        let Some(Seg::Key(first)) = segs.next() else {
            return None;
        };
        let mut cur = self.root.get(first)?;
        for seg in segs {
            cur = match (seg, cur) {
                (Seg::Key(k), Value::Object(m)) => m.get(k)?,
                (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// `a.b[0].c`, as a user would write it.
    fn display_path(path: &[Seg]) -> String {
        let mut out = String::new();
        for (i, seg) in path.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => out.push_str(k),
                Seg::Key(k) => {
                    let _ = write!(out, ".{k}");
                }
                Seg::Index(n) => {
                    let _ = write!(out, "[{n}]");
                }
            }
        }
        out
    }

    fn child(&self, seg: Seg) -> Node {
        let mut path = self.path.clone();
        path.push(seg);
        Node {
            scope: self.scope.clone(),
            root: self.root.clone(),
            templated: self.templated,
            path,
        }
    }

    /// The template value for `raw`, which this node's path points at.
    fn wrap(self, raw: &Value) -> minijinja::Value {
        match raw {
            Value::Null => minijinja::Value::from(()),
            Value::Bool(b) => minijinja::Value::from(*b),
            Value::Number(n) => number(n),
            Value::String(s) if self.templated && Templar::is_template(s) => {
                let lenient = self.path.len() == 1;
                render_lazily(&self.scope, &Self::display_path(&self.path), s, lenient)
            }
            Value::String(s) => minijinja::Value::from(s.as_str()),
            Value::Array(_) | Value::Object(_) => minijinja::Value::from_object(self),
        }
    }
}

impl Object for Node {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        match self.value() {
            Some(Value::Array(_)) => ObjectRepr::Seq,
            _ => ObjectRepr::Map,
        }
    }

    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        active::clear_missing();
        match self.value()? {
            Value::Object(m) => {
                let k = key.as_str()?;
                match m.get(k) {
                    Some(v) => Some(self.child(Seg::Key(k.to_string())).wrap(v)),
                    None => {
                        let name = format!("{}.{k}", Node::display_path(&self.path));
                        let why = format!(" ('dict object' has no attribute '{k}')");
                        active::note_missing(name, why);
                        None
                    }
                }
            }
            Value::Array(a) => {
                let i = key.as_usize()?;
                match a.get(i) {
                    Some(v) => Some(self.child(Seg::Index(i)).wrap(v)),
                    None => {
                        let name = format!("{}[{i}]", Node::display_path(&self.path));
                        active::note_missing(name, " (list index out of range)".to_string());
                        None
                    }
                }
            }
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.value() {
            Some(Value::Object(m)) => Enumerator::Values(
                m.keys()
                    .map(|k| minijinja::Value::from(k.as_str()))
                    .collect(),
            ),
            Some(Value::Array(a)) => Enumerator::Seq(a.len()),
            _ => Enumerator::Empty,
        }
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        match self.value() {
            Some(Value::Object(m)) => Some(m.len()),
            Some(Value::Array(a)) => Some(a.len()),
            _ => Some(0),
        }
    }
}

fn number(n: &serde_json::Number) -> minijinja::Value {
    if let Some(i) = n.as_i64() {
        minijinja::Value::from(i)
    } else if let Some(u) = n.as_u64() {
        minijinja::Value::from(u)
    } else {
        minijinja::Value::from(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Renders a variable's template with the scope it was read from. Errors
/// cannot be returned through `Object::get_value`: they are kept for the
/// render that asked, and an invalid value makes that render fail. For a
/// top-level variable (`lenient`) an undefined name instead gives an
/// undefined value, so that `default` and `is defined` still work; inside
/// a mapping it would silently serialize as null.
fn render_lazily(scope: &Arc<VarScope>, path: &str, text: &str, lenient: bool) -> minijinja::Value {
    let scope_id = Arc::as_ptr(scope) as usize;
    let _guard = match ResolveGuard::enter(scope_id, path) {
        Ok(g) => g,
        Err(e) => return invalid(e),
    };
    let templar = active::current_templar();
    let ctx = minijinja::Value::from_dyn_object(scope.clone());
    match templar.eval_text(text, &ctx) {
        Ok(v) if v.is_undefined() => {
            let (name, context) =
                active::take_missing().unwrap_or_else(|| (path.to_string(), String::new()));
            undefined(name, needed_by(context, path), lenient)
        }
        // A view into a layer would have its strings rendered later,
        // outside the guard: `k: ["{{ k }}"]` would then nest forever.
        // Resolve it while the guard is held.
        Ok(v) if v.downcast_object_ref::<Node>().is_some() => match super::try_to_json(&v) {
            Ok(data) => super::value_of(&data),
            Err(e) => invalid(e),
        },
        Ok(v) => v,
        Err(TemplateError::Undefined { name, context }) => {
            undefined(name, needed_by(context, path), lenient)
        }
        Err(e) => invalid(e),
    }
}

fn undefined(name: String, context: String, lenient: bool) -> minijinja::Value {
    if lenient {
        active::note_missing(name, context);
        minijinja::Value::UNDEFINED
    } else {
        invalid(TemplateError::Undefined { name, context })
    }
}

fn needed_by(context: String, path: &str) -> String {
    if context.is_empty() {
        format!(" (needed by '{path}')")
    } else {
        context
    }
}

fn invalid(err: TemplateError) -> minijinja::Value {
    let message = err.to_string();
    active::set_pending(err);
    minijinja::Value::from(minijinja::Error::new(
        minijinja::ErrorKind::InvalidOperation,
        message,
    ))
}
