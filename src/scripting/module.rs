//! A Rhai script as a module: it is compiled once, its `MODULE`
//! declaration becomes a [`ModuleSpec`] (what load-time validation and
//! `oplay doc` read), and each task on each host gets a
//! [`super::action::ScriptAction`].

use std::path::Path;
use std::sync::Arc;

use rhai::{AST, Dynamic, Engine, Map as RMap, Scope};
use serde_json::{Map, Value};

use super::action::ScriptAction;
use super::api::Constants;
use super::error::{Source, load_error};
use super::script::{Protocol, Script};
use crate::modules::spec::ModuleOrigin;
use crate::modules::{Action, Module, ModuleError, ModuleSpec, ParamKind, ParamSpec};
use crate::source::{Diagnostic, SourceFile, Span, did_you_mean};

/// The keys a parameter declaration may hold.
const PARAM_KEYS: &[&str] = &[
    "type", "required", "default", "choices", "aliases", "secret", "doc",
];

/// The keys of `MODULE` itself.
const MODULE_KEYS: &[&str] = &["doc", "params", "examples"];

/// A compiled script module, shared by every task and host of the run.
pub struct ScriptModule {
    spec: ModuleSpec,
    script: Arc<Script>,
}

impl ScriptModule {
    /// Compiles a script and reads its `MODULE` declaration.
    pub fn load(engine: Arc<Engine>, path: &Path) -> Result<Self, Diagnostic> {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::new(
                format!(
                    "could not read script module {}: {e}",
                    super::relative(path).display()
                ),
                None,
            )
        })?;
        let file = SourceFile::new(super::relative(path), text.clone());
        let mut ast = engine
            .compile(&text)
            .map_err(|e| compile_error(&name, &e, &file))?;
        ast.set_source(super::relative(path).to_string_lossy().into_owned());
        let src = Source { path, text: &text };
        let mut scope = Scope::new();
        engine.run_ast_with_scope(&mut scope, &ast).map_err(|e| {
            Diagnostic::new(
                format!("script module `{name}`: {}", load_error(&e, &src)),
                None,
            )
        })?;
        let whole = Span::whole(&file);
        let decl = scope
            .get_value::<RMap>("MODULE")
            .ok_or_else(|| {
                Diagnostic::new(
                    format!("script module `{name}` must declare `const MODULE = #{{ doc: \"...\", params: #{{ ... }} }};`"),
                    Some(whole.clone()),
                )
            })?;
        let spec = spec_from(&name, &decl, path, &file)?;
        let protocol = protocol_of(&ast).ok_or_else(|| {
            Diagnostic::new(
                format!("script module `{name}` must define `check(params)` and `apply(params)` (or `apply(params, found)`), or `run(params)`"),
                Some(whole),
            )
        })?;
        let constants: Constants = scope
            .iter()
            .filter(|(_, constant, _)| *constant)
            .map(|(name, _, value)| (name.to_string(), value))
            .collect();
        Ok(ScriptModule {
            spec,
            script: Arc::new(Script {
                engine,
                ast,
                path: path.to_path_buf(),
                text,
                protocol,
                constants: Arc::new(constants),
            }),
        })
    }
}

fn compile_error(name: &str, e: &rhai::ParseError, file: &Arc<SourceFile>) -> Diagnostic {
    let pos = e.position();
    let span = Span::new(file, pos.line().unwrap_or(1), pos.position().unwrap_or(1));
    let what = e.err_type();
    let diag = Diagnostic::new(
        format!("script module `{name}` does not compile: {what}"),
        Some(span),
    );
    match what {
        rhai::ParseErrorType::Reserved(word) if word == "default" => diag
            .with_hint("`default` is a Rhai keyword: write the key quoted, `\"default\": value`"),
        _ => diag,
    }
}

/// Which functions the script defines, each taking one parameter.
fn protocol_of(ast: &AST) -> Option<Protocol> {
    let has = |name: &str, arity: usize| {
        ast.iter_functions()
            .any(|f| f.name == name && f.params.len() == arity)
    };
    let apply_gets_found = has("apply", 2);
    if has("check", 1) && (has("apply", 1) || apply_gets_found) {
        Some(Protocol::CheckApply { apply_gets_found })
    } else if has("run", 1) {
        Some(Protocol::Run)
    } else {
        None
    }
}

/// Where a key first appears in the script, for errors and to keep the
/// declaration's order in `oplay doc`.
fn key_span(file: &Arc<SourceFile>, key: &str) -> Option<Span> {
    key_span_from(file, key, 0)
}

/// [`key_span`] for a parameter: looked for after `params:` so that the
/// documentation's words do not count.
fn param_span(file: &Arc<SourceFile>, key: &str) -> Option<Span> {
    let start = key_span(file, "params")
        .map(|s| offset(&file.text, s.line, s.col))
        .unwrap_or(0);
    key_span_from(file, key, start)
}

fn offset(text: &str, line: usize, col: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    start + col - 1
}

fn key_span_from(file: &Arc<SourceFile>, key: &str, start: usize) -> Option<Span> {
    let text = &file.text;
    let mut from = start;
    while let Some(i) = text[from..].find(key) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        let after = text[at + key.len()..].trim_start_matches('"').trim_start();
        let boundary = !before.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if boundary && after.starts_with(':') {
            let line = text[..at].matches('\n').count() + 1;
            let col = at - text[..at].rfind('\n').map(|n| n + 1).unwrap_or(0) + 1;
            let col = if before == Some('"') { col - 1 } else { col };
            return Some(Span::new(file, line, col));
        }
        from = at + key.len();
    }
    None
}

fn spec_from(
    name: &str,
    decl: &RMap,
    path: &Path,
    file: &Arc<SourceFile>,
) -> Result<ModuleSpec, Diagnostic> {
    let whole = Span::whole(file);
    for key in decl.keys() {
        if !MODULE_KEYS.contains(&key.as_str()) {
            return Err(unknown_key("MODULE", key, MODULE_KEYS, file));
        }
    }
    let doc = decl.get("doc").map(|v| v.to_string()).unwrap_or_default();
    let mut params = Vec::new();
    if let Some(p) = decl.get("params") {
        let p = p.clone().try_cast::<RMap>().ok_or_else(|| {
            Diagnostic::new(
                "`params` must be a map like #{ name: #{ type: \"str\" } }",
                Some(whole.clone()),
            )
        })?;
        for (pname, def) in p {
            params.push(param_from(&pname, def, file)?);
        }
    }
    let order = |p: &ParamSpec| param_span(file, &p.name).map(|s| (s.line, s.col));
    params.sort_by_key(|p| order(p).unwrap_or((usize::MAX, 0)));
    Ok(ModuleSpec {
        name: name.to_string(),
        summary: doc.lines().next().unwrap_or_default().to_string(),
        doc,
        params,
        free_form: None,
        exclusive: Vec::new(),
        open_params: false,
        examples: decl
            .get("examples")
            .map(|v| v.to_string())
            .unwrap_or_default(),
        origin: ModuleOrigin::Script(super::relative(path)),
    })
}

fn unknown_key(what: &str, key: &str, known: &[&str], file: &Arc<SourceFile>) -> Diagnostic {
    let diag = Diagnostic::new(
        format!(
            "unknown key `{key}` in {what} (known: {})",
            known.join(", ")
        ),
        key_span(file, key).or_else(|| Some(Span::whole(file))),
    );
    match did_you_mean(key, known.iter().copied()) {
        Some(s) => diag.with_hint(format!("did you mean `{s}`?")),
        None => diag,
    }
}

fn param_from(pname: &str, def: Dynamic, file: &Arc<SourceFile>) -> Result<ParamSpec, Diagnostic> {
    let span = param_span(file, pname).or_else(|| Some(Span::whole(file)));
    let bad = |msg: String| Diagnostic::new(msg, span.clone());
    let def = def.try_cast::<RMap>().ok_or_else(|| {
        bad(format!(
            "parameter `{pname}` must be declared as a map like #{{ type: \"str\" }}"
        ))
    })?;
    for key in def.keys() {
        if !PARAM_KEYS.contains(&key.as_str()) {
            let mut diag = unknown_key(
                &format!("the declaration of `{pname}`"),
                key,
                PARAM_KEYS,
                file,
            );
            if let Some(at) = span.as_ref().map(|s| offset(&file.text, s.line, s.col)) {
                diag.span = key_span_from(file, key, at).or(diag.span);
            }
            return Err(diag);
        }
    }
    let kind_name = def
        .get("type")
        .map(|t| t.to_string())
        .unwrap_or_else(|| "str".into());
    let kind = ParamKind::parse(&kind_name).ok_or_else(|| {
        bad(format!("parameter `{pname}` has unknown type `{kind_name}` (str, int, bool, list, dict, path, float, raw)"))
    })?;
    let flag = |k: &str| def.get(k).and_then(|v| v.as_bool().ok()).unwrap_or(false);
    let list = |k: &str| -> Vec<String> {
        def.get(k)
            .and_then(|v| v.clone().try_cast::<rhai::Array>())
            .map(|a| a.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default()
    };
    let default = match def.get("default") {
        Some(d) => Some(rhai::serde::from_dynamic::<Value>(d).map_err(|e| {
            bad(format!(
                "the default of `{pname}` is not a plain value: {e}"
            ))
        })?),
        None => None,
    };
    Ok(ParamSpec {
        name: pname.to_string(),
        kind,
        required: flag("required"),
        default: default.filter(|d| !d.is_null()),
        choices: list("choices"),
        aliases: list("aliases"),
        secret: flag("secret"),
        raw: false,
        doc: def.get("doc").map(|v| v.to_string()).unwrap_or_default(),
    })
}

impl Module for ScriptModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let params = coerce(&self.spec, args)?;
        Ok(Box::new(ScriptAction::new(self.script.clone(), params)))
    }
}

/// Checks the templated arguments against the declaration and applies
/// types and defaults: the script sees every declared parameter, `()`
/// for those neither given nor defaulted.
fn coerce(spec: &ModuleSpec, args: &Map<String, Value>) -> Result<Map<String, Value>, ModuleError> {
    let mut out = Map::new();
    for (k, v) in args {
        let p = spec
            .param(k)
            .ok_or_else(|| ModuleError::Params(format!("unknown parameter `{k}`")))?;
        if v.is_null() {
            continue;
        }
        let value = coerce_one(p, v)?;
        if !p.choices.is_empty() {
            let s = crate::value::scalar_to_string(&value).unwrap_or_default();
            if !p.choices.contains(&s) {
                return Err(ModuleError::Params(format!(
                    "parameter `{}` must be one of {}, found '{s}'",
                    p.name,
                    p.choices.join(", ")
                )));
            }
        }
        out.insert(p.name.clone(), value);
    }
    for p in &spec.params {
        if out.contains_key(&p.name) {
            continue;
        }
        if p.required {
            return Err(ModuleError::Params(format!(
                "missing required parameter `{}`",
                p.name
            )));
        }
        out.insert(p.name.clone(), p.default.clone().unwrap_or(Value::Null));
    }
    Ok(out)
}

fn coerce_one(p: &ParamSpec, v: &Value) -> Result<Value, ModuleError> {
    let bad = || {
        ModuleError::Params(format!(
            "parameter `{}` must be {}, found {}",
            p.name,
            p.kind.name(),
            crate::value::describe(v)
        ))
    };
    Ok(match p.kind {
        ParamKind::Bool => Value::Bool(crate::value::parse_bool(v).ok_or_else(bad)?),
        ParamKind::Int => Value::from(crate::value::to_int(v).ok_or_else(bad)?),
        ParamKind::Float => match v {
            Value::Number(_) => v.clone(),
            _ => Value::from(
                v.as_str()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .ok_or_else(bad)?,
            ),
        },
        ParamKind::Str | ParamKind::Path => {
            Value::String(crate::value::scalar_to_string(v).ok_or_else(bad)?)
        }
        ParamKind::List => match v {
            Value::Array(_) => v.clone(),
            Value::Object(_) => return Err(bad()),
            _ => Value::from(
                crate::value::to_string_list(v)
                    .ok_or_else(bad)?
                    .into_iter()
                    .map(Value::from)
                    .collect::<Vec<_>>(),
            ),
        },
        ParamKind::Dict if !v.is_object() => return Err(bad()),
        ParamKind::Dict | ParamKind::Any => v.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Arc<SourceFile> {
        SourceFile::new("m.rhai", text)
    }

    #[test]
    fn key_span_finds_plain_and_quoted_keys() {
        let f = file("#{\n  user: #{ type: \"str\" },\n  \"default\": 1, username: 2 }");
        let s = key_span(&f, "user").unwrap();
        assert_eq!((s.line, s.col), (2, 3));
        let s = key_span(&f, "default").unwrap();
        assert_eq!((s.line, s.col), (3, 3));
        assert!(key_span(&f, "ser").is_none());
    }

    #[test]
    fn coerce_applies_types_defaults_and_choices() {
        let spec = ModuleSpec {
            name: "m".into(),
            summary: String::new(),
            doc: String::new(),
            params: vec![
                ParamSpec {
                    name: "n".into(),
                    kind: ParamKind::Int,
                    required: false,
                    default: Some(Value::from(3)),
                    choices: vec![],
                    aliases: vec!["count".into()],
                    secret: false,
                    raw: false,
                    doc: String::new(),
                },
                ParamSpec {
                    name: "state".into(),
                    kind: ParamKind::Str,
                    required: false,
                    default: None,
                    choices: vec!["present".into(), "absent".into()],
                    aliases: vec![],
                    secret: false,
                    raw: false,
                    doc: String::new(),
                },
            ],
            free_form: None,
            exclusive: vec![],
            examples: String::new(),
            origin: ModuleOrigin::Native,
            open_params: false,
        };
        let args = |v: Value| v.as_object().cloned().unwrap();
        let out = coerce(&spec, &args(serde_json::json!({"count": "7"}))).unwrap();
        assert_eq!(
            Value::Object(out),
            serde_json::json!({"n": 7, "state": null})
        );
        let out = coerce(&spec, &args(serde_json::json!({}))).unwrap();
        assert_eq!(out["n"], 3);
        let e = coerce(&spec, &args(serde_json::json!({"state": "gone"}))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid parameters: parameter `state` must be one of present, absent, found 'gone'"
        );
        let e = coerce(&spec, &args(serde_json::json!({"n": "many"}))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid parameters: parameter `n` must be int, found 'many'"
        );
    }
}
