//! A Rhai script as a module: its declaration becomes a [`ModuleSpec`],
//! and its `check`/`apply` (or `run`) functions become the query-then-apply
//! protocol of every other module.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use rhai::{AST, CallFnOptions, Dynamic, Engine, EvalAltResult, Map as RMap, Scope};
use serde_json::{Map, Value};

use super::api::{Api, HostApi};
use super::engine::{FAIL_MARK, Http, Ini, OpenStack, Vars};
use crate::modules::spec::ModuleOrigin;
use crate::modules::{
    Action, Change, Diff, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, ParamKind,
    ParamSpec, Query,
};
use crate::source::Diagnostic;

/// A compiled script module, shared by every task and host of the run.
pub struct ScriptModule {
    spec: ModuleSpec,
    ast: Arc<AST>,
    engine: Arc<Engine>,
    path: PathBuf,
    has_check: bool,
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
                format!("could not read script module {}: {e}", path.display()),
                None,
            )
        })?;
        let file = crate::source::SourceFile::new(path, text.clone());
        let ast = engine.compile(&text).map_err(|e| {
            let pos = e.position();
            Diagnostic::new(
                format!("script module `{name}` does not compile: {}", e.err_type()),
                Some(crate::source::Span::new(
                    &file,
                    pos.line().unwrap_or(1),
                    pos.position().unwrap_or(1),
                )),
            )
        })?;
        let mut scope = Scope::new();
        engine.run_ast_with_scope(&mut scope, &ast).map_err(|e| {
            Diagnostic::new(
                format!("script module `{name}`: {}", describe(&e, path)),
                None,
            )
        })?;
        let decl: RMap = scope.get_value("MODULE").ok_or_else(|| {
            Diagnostic::new(format!("script module {} must declare `const MODULE = #{{ doc: ..., params: #{{...}} }};`", path.display()), Some(crate::source::Span::whole(&file)))
        })?;
        let spec = spec_from(&name, &decl, path)
            .map_err(|m| Diagnostic::new(m, Some(crate::source::Span::whole(&file))))?;
        let fns: Vec<String> = ast.iter_functions().map(|f| f.name.to_string()).collect();
        let has_check = fns.iter().any(|f| f == "check") && fns.iter().any(|f| f == "apply");
        if !has_check && !fns.iter().any(|f| f == "run") {
            return Err(Diagnostic::new(
                format!(
                    "script module {} must define `check(params)` and `apply(params)`, or `run(params)`",
                    path.display()
                ),
                Some(crate::source::Span::whole(&file)),
            ));
        }
        Ok(ScriptModule {
            spec,
            ast: Arc::new(ast),
            engine,
            path: path.to_path_buf(),
            has_check,
        })
    }
}

fn spec_from(name: &str, decl: &RMap, path: &Path) -> Result<ModuleSpec, String> {
    let text = |m: &RMap, k: &str| m.get(k).map(|v| v.to_string()).unwrap_or_default();
    let doc = text(decl, "doc");
    let mut params = Vec::new();
    if let Some(p) = decl.get("params") {
        let p = p
            .clone()
            .try_cast::<RMap>()
            .ok_or("`params` must be a map")?;
        for (pname, def) in p {
            let def = def.try_cast::<RMap>().ok_or(format!(
                "parameter `{pname}` must be declared as a map like #{{ type: \"str\" }}"
            ))?;
            let kind_name = def
                .get("type")
                .map(|t| t.to_string())
                .unwrap_or_else(|| "str".into());
            let kind = ParamKind::parse(&kind_name).ok_or(format!("parameter `{pname}` has unknown type `{kind_name}` (str, int, bool, list, dict, path, raw)"))?;
            let list = |k: &str| -> Vec<String> {
                def.get(k)
                    .and_then(|v| v.clone().try_cast::<rhai::Array>())
                    .map(|a| a.iter().map(|x| x.to_string()).collect())
                    .unwrap_or_default()
            };
            params.push(ParamSpec {
                name: pname.to_string(),
                kind,
                required: def
                    .get("required")
                    .and_then(|v| v.as_bool().ok())
                    .unwrap_or(false),
                default: def
                    .get("default")
                    .and_then(|d| rhai::serde::from_dynamic::<Value>(d).ok()),
                choices: list("choices"),
                aliases: list("aliases"),
                secret: def
                    .get("secret")
                    .and_then(|v| v.as_bool().ok())
                    .unwrap_or(false),
                raw: false,
                doc: text(&def, "doc"),
            });
        }
    }
    Ok(ModuleSpec {
        name: name.to_string(),
        summary: doc.lines().next().unwrap_or_default().to_string(),
        doc,
        params,
        free_form: None,
        exclusive: Vec::new(),
        open_params: false,
        examples: text(decl, "examples"),
        origin: ModuleOrigin::Script(path.to_path_buf()),
    })
}

impl Module for ScriptModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let params = coerce(&self.spec, args)?;
        Ok(Box::new(ScriptAction {
            ast: self.ast.clone(),
            engine: self.engine.clone(),
            path: self.path.clone(),
            has_check: self.has_check,
            params,
            api: None,
        }))
    }
}

/// Applies defaults and types to the templated arguments.
fn coerce(spec: &ModuleSpec, args: &Map<String, Value>) -> Result<Map<String, Value>, ModuleError> {
    let mut out = Map::new();
    for (k, v) in args {
        let p = spec
            .param(k)
            .ok_or_else(|| ModuleError::Params(format!("unknown parameter `{k}`")))?;
        let bad = || {
            ModuleError::Params(format!(
                "parameter `{}` must be {}, found {}",
                p.name,
                p.kind.name(),
                crate::value::describe(v)
            ))
        };
        let value = match p.kind {
            ParamKind::Bool => Value::Bool(crate::value::parse_bool(v).ok_or_else(bad)?),
            ParamKind::Int => Value::from(crate::value::to_int(v).ok_or_else(bad)?),
            ParamKind::Str | ParamKind::Path => {
                Value::String(crate::value::scalar_to_string(v).ok_or_else(bad)?)
            }
            ParamKind::List => Value::from(
                crate::value::to_string_list(v)
                    .map(|l| l.into_iter().map(Value::from).collect::<Vec<_>>())
                    .or_else(|| v.as_array().cloned())
                    .ok_or_else(bad)?,
            ),
            ParamKind::Dict if !v.is_object() => return Err(bad()),
            _ => v.clone(),
        };
        if !p.choices.is_empty()
            && !value
                .as_str()
                .is_some_and(|s| p.choices.iter().any(|c| c == s))
        {
            return Err(ModuleError::Params(format!(
                "parameter `{}` must be one of {}",
                p.name,
                p.choices.join(", ")
            )));
        }
        out.insert(p.name.clone(), value);
    }
    for p in &spec.params {
        if out.contains_key(&p.name) {
            continue;
        }
        match (&p.default, p.required) {
            (_, true) => {
                return Err(ModuleError::Params(format!(
                    "missing required parameter `{}`",
                    p.name
                )));
            }
            (Some(d), _) => {
                out.insert(p.name.clone(), d.clone());
            }
            (None, _) => {
                out.insert(p.name.clone(), Value::Null);
            }
        }
    }
    Ok(out)
}

struct ScriptAction {
    ast: Arc<AST>,
    engine: Arc<Engine>,
    path: PathBuf,
    has_check: bool,
    params: Map<String, Value>,
    api: Option<Arc<HostApi>>,
}

impl ScriptAction {
    /// Calls a script function on a blocking thread with the host API.
    async fn call(
        &mut self,
        ctx: &ModuleCtx<'_>,
        func: &'static str,
        check: bool,
    ) -> Result<RMap, ModuleError> {
        let mut host = HostApi::from_ctx(ctx);
        host.check = check;
        let api = Arc::new(host);
        self.api = Some(api.clone());
        let (engine, ast, path) = (self.engine.clone(), self.ast.clone(), self.path.clone());
        let params = rhai::serde::to_dynamic(&self.params)
            .map_err(|e| ModuleError::Params(e.to_string()))?;
        let joined = tokio::task::spawn_blocking(move || {
            let handle = Api(api);
            let mut scope = Scope::new();
            scope.push_constant("host", handle.clone());
            scope.push_constant("vars", Vars(handle.clone()));
            scope.push_constant(
                "facts",
                rhai::serde::to_dynamic(&handle.0.facts).unwrap_or(Dynamic::UNIT),
            );
            scope.push_constant("http", Http(handle.clone()));
            scope.push_constant("openstack", OpenStack(handle.clone()));
            scope.push_constant("ini", Ini);
            let opts = CallFnOptions::new()
                .with_tag(Dynamic::from(handle))
                .eval_ast(false);
            engine
                .call_fn_with_options::<Dynamic>(opts, &mut scope, &ast, func, (params,))
                .map_err(|e| script_error(&e, &path, func))
        })
        .await
        .map_err(|e| {
            ModuleError::Failed(format!("script {} panicked: {e}", self.path.display()))
        })?;
        let value = joined?;
        if value.is_unit() {
            return Ok(RMap::new());
        }
        value.try_cast::<RMap>().ok_or_else(|| {
            ModuleError::Failed(format!(
                "{}: {func}() must return a map like #{{ changed: true }}",
                self.path.display()
            ))
        })
    }

    fn warnings(&self) -> Vec<String> {
        self.api
            .as_ref()
            .and_then(|a| a.warnings.lock().ok().map(|w| w.clone()))
            .unwrap_or_default()
    }
}

/// A script's result map as an outcome.
fn outcome(map: RMap, warnings: Vec<String>) -> Outcome {
    let value: Value = rhai::serde::from_dynamic(&map.into()).unwrap_or(Value::Null);
    let mut o = Outcome::ok();
    let Value::Object(mut m) = value else {
        return o;
    };
    o.changed = m
        .remove("changed")
        .and_then(|c| crate::value::parse_bool(&c))
        .unwrap_or(false);
    o.failed = m
        .remove("failed")
        .and_then(|c| crate::value::parse_bool(&c))
        .unwrap_or(false);
    o.msg = m.remove("msg").and_then(|v| v.as_str().map(String::from));
    if let Some(Value::Object(d)) = m.remove("diff") {
        let s = |k: &str| {
            d.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        o.diffs.push(Diff {
            header: s("header"),
            before: s("before"),
            after: s("after"),
        });
    }
    o.data = m;
    o.warnings = warnings;
    o
}

#[async_trait]
impl Action for ScriptAction {
    async fn query(&mut self, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        if !self.has_check {
            if !ctx.check {
                return Ok(Query::Change(Change::new()));
            }
            let o = outcome(self.call(ctx, "run", true).await?, self.warnings());
            return Ok(to_query(o));
        }
        let o = outcome(self.call(ctx, "check", ctx.check).await?, self.warnings());
        Ok(to_query(o))
    }

    async fn apply(&mut self, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let func = if self.has_check { "apply" } else { "run" };
        let map = self.call(ctx, func, false).await?;
        let mut o = outcome(map, self.warnings());
        if self.has_check && !map_has_changed(&o) {
            o.changed = true;
        }
        Ok(o)
    }
}

fn map_has_changed(o: &Outcome) -> bool {
    o.changed
}

fn to_query(o: Outcome) -> Query {
    if o.changed {
        let mut c = Change::new();
        c.msg = o.msg;
        c.diffs = o.diffs;
        c.data = o.data;
        Query::Change(c)
    } else {
        Query::Unchanged(o)
    }
}

/// A script error as a task failure: file:line:col, the call stack, and
/// `fail(msg)` read as the script's own words.
fn script_error(e: &EvalAltResult, path: &Path, func: &str) -> ModuleError {
    if let Some(msg) = fail_message(e) {
        return ModuleError::Failed(msg);
    }
    ModuleError::Failed(format!("script error in {func}(): {}", describe(e, path)))
}

fn fail_message(e: &EvalAltResult) -> Option<String> {
    match e {
        EvalAltResult::ErrorRuntime(v, _) => v
            .clone()
            .try_cast::<RMap>()?
            .get(FAIL_MARK)
            .map(|m| m.to_string()),
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => fail_message(inner),
        _ => None,
    }
}

/// The innermost error with its position, and the chain of calls to it.
pub fn describe(e: &EvalAltResult, path: &Path) -> String {
    let mut stack = Vec::new();
    let mut cur = e;
    while let EvalAltResult::ErrorInFunctionCall(name, _, inner, pos) = cur {
        stack.push(format!("{name}() called at {}", at(path, *pos)));
        cur = inner;
    }
    let pos = cur.position();
    let what = match cur {
        EvalAltResult::ErrorTooManyOperations(_) => format!(
            "the script ran too long and was stopped after {} operations (an endless loop?)",
            super::engine::MAX_OPERATIONS
        ),
        EvalAltResult::ErrorStackOverflow(_) => format!(
            "too many nested calls (limit {})",
            super::engine::MAX_CALL_LEVELS
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => format!("{what} is too large"),
        other => strip_position(&other.to_string()),
    };
    let mut out = format!("{}: {what}", at(path, pos));
    for s in stack {
        out.push_str(&format!("\n  in {s}"));
    }
    out
}

fn at(path: &Path, pos: rhai::Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", path.display()),
        (Some(l), None) => format!("{}:{l}", path.display()),
        _ => path.display().to_string(),
    }
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" (line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}
