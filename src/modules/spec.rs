//! A module's documentation and parameter declarations.
//!
//! Native modules derive theirs from the `Params` struct (serde + schemars,
//! doc comments become the documentation); script modules declare theirs
//! in the script. Both end up as a [`ModuleSpec`], which is what load-time
//! validation and `oplay doc` read, so the two kinds behave the same.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use schemars::JsonSchema;
use serde_json::{Map, Value};

use crate::source::yaml::{Node, NodeKind};
use crate::source::{Diagnostic, did_you_mean};

/// Where a module comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleOrigin {
    /// Built into oplay, declared by a `Params` type.
    Native,
    /// A Rhai script, with the file it was loaded from.
    Script(std::path::PathBuf),
}

/// The type of a parameter, as `oplay doc` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A string.
    Str,
    /// An integer.
    Int,
    /// A number.
    Float,
    /// A yes/no boolean.
    Bool,
    /// A list.
    List,
    /// A mapping.
    Dict,
    /// A path (a string).
    Path,
    /// Anything: a string, a list or a mapping.
    Any,
}

impl ParamKind {
    /// The name `oplay doc` shows.
    pub fn name(self) -> &'static str {
        match self {
            ParamKind::Str => "str",
            ParamKind::Int => "int",
            ParamKind::Float => "float",
            ParamKind::Bool => "bool",
            ParamKind::List => "list",
            ParamKind::Dict => "dict",
            ParamKind::Path => "path",
            ParamKind::Any => "raw",
        }
    }

    /// The kind a script module's declaration names (`str`, `int`, ...).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "str" | "string" => ParamKind::Str,
            "int" | "integer" => ParamKind::Int,
            "float" | "number" => ParamKind::Float,
            "bool" | "boolean" => ParamKind::Bool,
            "list" | "array" => ParamKind::List,
            "dict" | "map" | "object" => ParamKind::Dict,
            "path" => ParamKind::Path,
            "raw" | "any" => ParamKind::Any,
            _ => return None,
        })
    }
}

/// One parameter of a module, as validation and `oplay doc` see it.
#[derive(Debug, Clone)]
pub struct ParamSpec {
    /// The parameter's name.
    pub name: String,
    /// Its type.
    pub kind: ParamKind,
    /// Whether a task must give it.
    pub required: bool,
    /// The value used when it is not given.
    pub default: Option<Value>,
    /// The values it accepts, when only some are.
    pub choices: Vec<String>,
    /// Other names it may be given under.
    pub aliases: Vec<String>,
    /// Redacted in every output.
    pub secret: bool,
    /// Not templated by the executor: the module evaluates it itself
    /// (`assert`'s `that`, `debug`'s `var`).
    pub raw: bool,
    /// Its documentation.
    pub doc: String,
}

/// A module's documentation and parameters.
#[derive(Debug, Clone)]
pub struct ModuleSpec {
    /// The module's name, its key in a task.
    pub name: String,
    /// The first line of the documentation.
    pub summary: String,
    /// The documentation (the `Params` type's doc comment).
    pub doc: String,
    /// The parameters.
    pub params: Vec<ParamSpec>,
    /// The parameter that takes the free-form text of `command: ls -l`.
    pub free_form: Option<String>,
    /// Groups of parameters of which exactly one... at most one may be given.
    pub exclusive: Vec<Vec<String>>,
    /// Example tasks, for `oplay doc`.
    pub examples: String,
    /// Where the module comes from.
    pub origin: ModuleOrigin,
    /// Any parameter name is accepted (`set_fact`: every key is a fact).
    pub open_params: bool,
}

impl ModuleSpec {
    /// Builds the spec of a native module from its `Params` type. The type's
    /// doc comment is the module's documentation.
    pub fn native<P: JsonSchema>(name: &str) -> Self {
        let schema = root_schema::<P>();
        let root = schema.as_value();
        let doc = root
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let required: Vec<&str> = root
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut params = Vec::new();
        if let Some(props) = root.get("properties").and_then(Value::as_object) {
            for (pname, prop) in props {
                params.push(param_from_schema(
                    pname,
                    prop,
                    required.contains(&pname.as_str()),
                ));
            }
        }
        ModuleSpec {
            name: name.to_string(),
            summary: doc.lines().next().unwrap_or_default().to_string(),
            doc,
            params,
            free_form: None,
            exclusive: Vec::new(),
            examples: String::new(),
            origin: ModuleOrigin::Native,
            open_params: false,
        }
    }

    /// Names the parameter that takes the free-form text.
    pub fn with_free_form(mut self, param: &str) -> Self {
        self.free_form = Some(param.to_string());
        self
    }

    /// Accepts parameters beyond the declared ones.
    pub fn with_open_params(mut self) -> Self {
        self.open_params = true;
        self
    }

    /// Adds example tasks.
    pub fn with_examples(mut self, examples: &str) -> Self {
        self.examples = examples.to_string();
        self
    }

    /// The parameter with this name or alias.
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params
            .iter()
            .find(|p| p.name == name || p.aliases.iter().any(|a| a == name))
    }

    /// Names of the parameters the executor must not template.
    pub fn raw_params(&self) -> Vec<&str> {
        self.params
            .iter()
            .filter(|p| p.raw)
            .map(|p| p.name.as_str())
            .collect()
    }

    /// Names of the parameters declared secret (aliases included).
    pub fn secret_params(&self) -> impl Iterator<Item = &str> {
        self.params.iter().filter(|p| p.secret).flat_map(|p| {
            std::iter::once(p.name.as_str()).chain(p.aliases.iter().map(String::as_str))
        })
    }

    /// Checks a task's arguments as written, before any host is touched:
    /// names, required parameters, choices, and the types of values that
    /// are not templates. `at` is the node of the module key.
    pub fn validate(&self, args: &Node, at: &Node) -> Result<(), Diagnostic> {
        let empty = Vec::new();
        let pairs = match &args.kind {
            NodeKind::Map(p) => p,
            NodeKind::Null => &empty,
            _ => {
                return Err(Diagnostic::new(
                    format!(
                        "arguments of `{}` must be a mapping, found {}",
                        self.name,
                        args.type_name()
                    ),
                    Some(args.span.clone()),
                ));
            }
        };
        for (key, value) in pairs {
            let name = key.key_string();
            let Some(param) = self.param(&name) else {
                if self.open_params {
                    continue;
                }
                let names = self.params.iter().map(|p| p.name.as_str());
                let mut diag = Diagnostic::new(
                    format!("unknown parameter `{name}` for module `{}`", self.name),
                    Some(key.span.clone()),
                );
                diag = match did_you_mean(&name, names) {
                    Some(s) => diag.with_hint(format!("did you mean `{s}`?")),
                    None => {
                        diag.with_hint(format!("`oplay doc {}` lists its parameters", self.name))
                    }
                };
                return Err(diag);
            };
            check_type(param, value).map_err(|msg| {
                Diagnostic::new(
                    format!("parameter `{name}` of `{}` {msg}", self.name),
                    Some(value.span.clone()),
                )
            })?;
        }
        for p in self.params.iter().filter(|p| p.required) {
            let given = pairs.iter().any(|(k, _)| {
                let k = k.key_string();
                k == p.name || p.aliases.contains(&k)
            });
            if !given {
                return Err(Diagnostic::new(
                    format!(
                        "missing required parameter `{}` for module `{}`",
                        p.name, self.name
                    ),
                    Some(at.span.clone()),
                ));
            }
        }
        // A templated value may turn out to be `omit`: only literal values
        // count here; [`ModuleSpec::check_exclusive`] sees the rendered ones.
        let literal: Vec<String> = pairs
            .iter()
            .filter(|(_, v)| {
                !v.as_str()
                    .is_some_and(crate::template::Templar::is_template)
            })
            .map(|(k, _)| k.key_string())
            .collect();
        self.check_exclusive(literal.iter().map(String::as_str))
            .map_err(|msg| Diagnostic::new(msg, Some(at.span.clone())))
    }

    /// Fails when more than one parameter of an exclusive group is given
    /// (by name or alias).
    pub fn check_exclusive<'a>(
        &self,
        given: impl Iterator<Item = &'a str> + Clone,
    ) -> Result<(), String> {
        for group in &self.exclusive {
            let hits: Vec<&String> = group
                .iter()
                .filter(|g| {
                    let aliases = self.param(g).map(|p| p.aliases.clone()).unwrap_or_default();
                    given
                        .clone()
                        .any(|k| k == g.as_str() || aliases.iter().any(|a| a == k))
                })
                .collect();
            if hits.len() > 1 {
                return Err(format!(
                    "parameters {} of `{}` are mutually exclusive",
                    hits.iter()
                        .map(|g| format!("`{g}`"))
                        .collect::<Vec<_>>()
                        .join(" and "),
                    self.name
                ));
            }
        }
        Ok(())
    }

    /// The documentation as `oplay doc` prints it.
    pub fn render_doc(&self) -> String {
        let mut out = String::new();
        let origin = match &self.origin {
            ModuleOrigin::Native => "native module".to_string(),
            ModuleOrigin::Script(p) => format!("script module, {}", p.display()),
        };
        let _ = writeln!(out, "{} ({origin})\n", self.name);
        let _ = writeln!(out, "{}\n", self.doc.trim());
        if !self.params.is_empty() {
            let _ = writeln!(out, "PARAMETERS");
        }
        for p in &self.params {
            let mut flags = vec![p.kind.name().to_string()];
            if p.required {
                flags.push("required".into());
            }
            if p.secret {
                flags.push("secret".into());
            }
            if let Some(d) = &p.default {
                flags.push(format!("default: {d}"));
            }
            if !p.choices.is_empty() {
                flags.push(format!("choices: {}", p.choices.join(", ")));
            }
            if !p.aliases.is_empty() {
                flags.push(format!("aliases: {}", p.aliases.join(", ")));
            }
            let _ = writeln!(out, "  {} ({})", p.name, flags.join("; "));
            for line in p.doc.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
        if !self.examples.trim().is_empty() {
            let _ = writeln!(out, "\nEXAMPLES\n{}", self.examples.trim_end());
        }
        out
    }
}

/// The JSON schema of a native `Params` type, subschemas inlined.
fn root_schema<P: JsonSchema>() -> schemars::Schema {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
    });
    settings.into_generator().into_root_schema_for::<P>()
}

/// Alias → parameter name, for one `Params` type.
type AliasMap = HashMap<String, String>;

/// The aliases a native `Params` type declares, as alias → parameter
/// name. A field's aliases are declared once, as `x-aliases` in its
/// `#[schemars(extend(...))]`: `oplay doc` and validation read them from
/// the schema, and [`canonical_args`] turns them into the parameter's
/// name before serde sees the arguments. Computed once per type.
fn aliases_of<P: JsonSchema + 'static>() -> Arc<AliasMap> {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, Arc<AliasMap>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    cache
        .entry(TypeId::of::<P>())
        .or_insert_with(|| {
            let schema = root_schema::<P>();
            let props = schema
                .as_value()
                .get("properties")
                .and_then(Value::as_object);
            let aliases = props.into_iter().flatten().flat_map(|(name, prop)| {
                let list = prop.get("x-aliases").and_then(Value::as_array);
                list.into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(move |a| (a.to_string(), name.clone()))
            });
            Arc::new(aliases.collect())
        })
        .clone()
}

/// A task's arguments with every alias of `P`'s parameters replaced by the
/// parameter's name, as serde's `alias` would have read them. Giving a
/// parameter twice (under its name and an alias) fails as serde does.
pub(crate) fn canonical_args<P: JsonSchema + 'static>(
    args: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let aliases = aliases_of::<P>();
    if aliases.is_empty() {
        return Ok(args.clone());
    }
    let mut out = Map::new();
    for (key, value) in args {
        let name = aliases.get(key).unwrap_or(key);
        if out.insert(name.clone(), value.clone()).is_some() {
            return Err(format!("duplicate field `{name}`"));
        }
    }
    Ok(out)
}

fn is_template(node: &Node) -> bool {
    node.as_str()
        .is_some_and(|s| s.contains("{{") || s.contains("{%"))
}

fn check_type(param: &ParamSpec, value: &Node) -> Result<(), String> {
    if is_template(value) || value.is_null() {
        return Ok(());
    }
    let v = value.to_value();
    let ok = match param.kind {
        ParamKind::Any => true,
        ParamKind::Str | ParamKind::Path => !matches!(v, Value::Array(_) | Value::Object(_)),
        ParamKind::Int => crate::value::to_int(&v).is_some(),
        ParamKind::Float => {
            v.is_number() || v.as_str().is_some_and(|s| s.trim().parse::<f64>().is_ok())
        }
        ParamKind::Bool => crate::value::parse_bool(&v).is_some(),
        ParamKind::List => !v.is_object(),
        ParamKind::Dict => v.is_object(),
    };
    if !ok {
        return Err(format!(
            "must be {}, found {}",
            kind_phrase(param.kind),
            crate::value::describe(&v)
        ));
    }
    if !param.choices.is_empty() {
        if let Some(s) = crate::value::scalar_to_string(&v) {
            if !param.choices.contains(&s) {
                return Err(format!(
                    "must be one of {}, found '{s}'",
                    param.choices.join(", ")
                ));
            }
        }
    }
    Ok(())
}

fn kind_phrase(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Str => "a string",
        ParamKind::Path => "a path",
        ParamKind::Int => "an integer",
        ParamKind::Float => "a number",
        ParamKind::Bool => "a boolean (yes/no/true/false)",
        ParamKind::List => "a list",
        ParamKind::Dict => "a mapping",
        ParamKind::Any => "a value",
    }
}

/// Reads one property of a schemars schema into a parameter.
fn param_from_schema(name: &str, prop: &Value, required: bool) -> ParamSpec {
    let mut choices = Vec::new();
    let kind = schema_kind(prop, &mut choices);
    let strings = |key: &str| -> Vec<String> {
        prop.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    ParamSpec {
        name: name.to_string(),
        kind: prop
            .get("x-kind")
            .and_then(Value::as_str)
            .and_then(ParamKind::parse)
            .unwrap_or(kind),
        required,
        default: prop.get("default").cloned().filter(|d| !d.is_null()),
        choices,
        aliases: strings("x-aliases"),
        secret: has_flag(prop, "x-secret"),
        raw: has_flag(prop, "x-raw"),
        doc: prop
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    }
}

/// Whether a flag like `x-secret` is set on a schema or one of its alternatives.
fn has_flag(prop: &Value, flag: &str) -> bool {
    prop.get(flag).and_then(Value::as_bool) == Some(true)
        || ["anyOf", "oneOf"].iter().any(|k| {
            prop.get(*k)
                .and_then(Value::as_array)
                .is_some_and(|alts| alts.iter().any(|a| has_flag(a, flag)))
        })
}

/// The parameter kind of a (sub)schema; enum values are collected as choices.
fn schema_kind(prop: &Value, choices: &mut Vec<String>) -> ParamKind {
    if prop.get("x-secret").and_then(Value::as_bool) == Some(true) {
        return ParamKind::Str;
    }
    if let Some(values) = prop.get("enum").and_then(Value::as_array) {
        choices.extend(values.iter().filter_map(Value::as_str).map(String::from));
        return ParamKind::Str;
    }
    if let Some(c) = prop.get("const").and_then(Value::as_str) {
        choices.push(c.to_string());
        return ParamKind::Str;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = prop.get(key).and_then(Value::as_array) {
            let kinds: Vec<ParamKind> = alts
                .iter()
                .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                .map(|a| schema_kind(a, choices))
                .collect();
            return match kinds.as_slice() {
                [one] => *one,
                _ if kinds.iter().all(|k| *k == ParamKind::Str) => ParamKind::Str,
                _ => ParamKind::Any,
            };
        }
    }
    let types: Vec<&str> = match prop.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => vec![],
    };
    match types.as_slice() {
        ["string"] => ParamKind::Str,
        ["integer"] => ParamKind::Int,
        ["number"] => ParamKind::Float,
        ["boolean"] => ParamKind::Bool,
        ["array"] => ParamKind::List,
        ["object"] => ParamKind::Dict,
        _ => ParamKind::Any,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{SourceFile, yaml};
    use serde::Deserialize;

    /// Writes a file.
    ///
    /// More words.
    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Demo {
        /// Where to write.
        #[schemars(extend("x-aliases" = ["path"]))]
        dest: String,
        #[serde(default)]
        mode: Option<String>,
        #[serde(default)]
        #[schemars(with = "bool")]
        force: Option<bool>,
        #[serde(default)]
        state: Option<DemoState>,
        #[serde(default)]
        password: Option<crate::secret::Secret>,
        #[serde(default)]
        count: Option<i64>,
    }

    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    #[allow(dead_code)]
    enum DemoState {
        Present,
        Absent,
    }

    fn check(text: &str) -> Result<(), String> {
        let spec = ModuleSpec::native::<Demo>("demo");
        let file = SourceFile::new("t.yml", text);
        let node = yaml::parse(&file).unwrap();
        let (k, v) = &node.as_map().unwrap()[0];
        spec.validate(v, k).map_err(|d| d.to_string())
    }

    #[test]
    fn reads_schema() {
        let spec = ModuleSpec::native::<Demo>("demo");
        assert_eq!(spec.summary, "Writes a file.");
        let dest = spec.param("path").unwrap();
        assert!(dest.required);
        assert_eq!(dest.doc, "Where to write.");
        assert_eq!(spec.param("force").unwrap().kind, ParamKind::Bool);
        assert_eq!(
            spec.param("state").unwrap().choices,
            vec!["present", "absent"]
        );
        assert!(spec.param("password").unwrap().secret);
        assert_eq!(spec.param("count").unwrap().kind, ParamKind::Int);
    }

    #[test]
    fn validates_names_types_and_required() {
        assert!(check("demo: {dest: /x, force: yes, count: '3'}").is_ok());
        assert!(check("demo: {dest: /x, count: '{{ n }}'}").is_ok());
        assert_eq!(
            check("demo: {dest: /x, mdoe: 1}").unwrap_err(),
            "t.yml:1:18: unknown parameter `mdoe` for module `demo`\n  |\n1 | demo: {dest: /x, mdoe: 1}\n  |                  ^\nhint: did you mean `mode`?"
        );
        assert!(check("demo: {dest: /x, force: maybe}").unwrap_err().contains("parameter `force` of `demo` must be a boolean (yes/no/true/false), found 'maybe'"));
        assert!(
            check("demo: {mode: x}")
                .unwrap_err()
                .contains("missing required parameter `dest` for module `demo`")
        );
        assert!(
            check("demo: {dest: /x, state: gone}")
                .unwrap_err()
                .contains("must be one of present, absent, found 'gone'")
        );
    }

    #[test]
    fn aliases_are_read_as_the_parameter_they_stand_for() {
        let args = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        let p = crate::modules::parse_params::<Demo>(&args(serde_json::json!({"path": "/x"})));
        assert_eq!(p.map(|d| d.dest).ok().as_deref(), Some("/x"));
        let twice = args(serde_json::json!({"dest": "/x", "path": "/y"}));
        assert_eq!(
            canonical_args::<Demo>(&twice),
            Err("duplicate field `dest`".to_string())
        );
        let unknown = args(serde_json::json!({"dset": "/x"}));
        assert_eq!(canonical_args::<Demo>(&unknown), Ok(unknown.clone()));
    }
}
