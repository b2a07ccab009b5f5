//! Jinja2 templating with minijinja, as Ansible does it.
//!
//! [`Templar`] renders strings and whole argument trees; a string that is
//! exactly one `{{ expression }}` keeps the expression's native type, as in
//! Ansible. [`VarScope`] is the variables a task sees on a host: layers in
//! Ansible's precedence order, looked up lazily so that nothing is copied
//! per task and templated variables resolve when they are used. Ansible's
//! filters, tests and lookups live in `filters`, `collections`, `predicates`
//! and `lookups`; the `omit` placeholder here. A string without template
//! syntax never reaches minijinja.

mod active;
mod bounds;
mod collections;
mod filters;
mod format;
mod lookups;
mod predicates;
pub mod scope;
mod taint;

use std::sync::{Arc, OnceLock};

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

pub use scope::{Layer, VarScope};

use crate::secret::Redactor;
use active::RenderGuard;

/// A template that failed to render or evaluate.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A variable (or attribute) that is not defined, worded as Ansible
    /// words it.
    #[error("'{name}' is undefined{context}")]
    Undefined {
        /// The missing name, or the whole expression when the missing
        /// part has no name of its own.
        name: String,
        /// ` (needed by 'VAR')` when a variable's own template needed
        /// it; empty otherwise.
        context: String,
    },
    /// A variable whose template needs itself, directly or through
    /// others; reported instead of recursing until the stack ends.
    #[error("recursive loop detected in template for '{name}'")]
    Recursion {
        /// The variable (or `var.key` path) being resolved again.
        name: String,
    },
    /// Anything else: a syntax error, a failing filter or lookup, a value
    /// too large.
    #[error("template error in `{source_text}`: {message}")]
    Render {
        /// The template text as written, so the user can find it.
        source_text: String,
        /// minijinja's message with its causes, or the filter's own.
        message: String,
    },
}

/// Options of the template environment for a run.
#[derive(Clone, Default)]
pub struct TemplarOptions {
    /// Told every password that `lookup('password')` returns.
    pub redactor: Redactor,
    /// The playbook's directory: where `lookup('password', path)` keeps
    /// relative paths, and the last place `lookup('file')` searches.
    pub base_dir: std::path::PathBuf,
    /// Lookups that reach the control node (`env`, `file`, `fileglob`,
    /// `password`, `pipe`) fail instead: for fuzzing templates.
    pub sandboxed: bool,
}

/// What a probe ([`Templar::eval_probe`]) leaves undone, mildest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Probe {
    /// `lookup('password')` only reads a password already stored: one not
    /// stored yet is an error, not generated. Its first real use makes it.
    StoredPasswords,
    /// That, and `lookup('pipe')` runs nothing (an error too): no side
    /// effect at all, for looking before the run.
    NoSideEffects,
}

/// The prefix of the template names that stand for their own source.
const INLINE: &str = "\u{0}inline:";

/// The name of the scope variable holding the task's search paths (a list
/// of directories, most specific first) for `lookup('file')`.
pub const SEARCH_PATHS_VAR: &str = "oplay_search_paths";

/// The template environment shared by the whole run.
#[derive(Clone)]
pub struct Templar {
    env: Arc<Environment<'static>>,
    names: Arc<taint::NamesCache>,
}

impl Templar {
    /// Builds the environment once per run: filters, tests and lookups
    /// are registered here, and compiled templates are cached in it.
    pub fn new(opts: TemplarOptions) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        // Template names are their source text; a string ending in `.html`
        // must not switch on HTML escaping. Ansible never escapes.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        // Ansible's templar trims the newline after a block tag.
        env.set_trim_blocks(true);
        // Debug info would look every referenced name up again after an
        // error, overwriting the note of which one was missing.
        env.set_debug(false);
        env.set_formatter(format::python_formatter);
        // Template strings are compiled once and kept by minijinja's
        // loader cache: the same task arguments render for every host.
        // Only names we make are inline sources; an `{% include %}` of
        // any other name is not found rather than taken as its own text.
        env.set_loader(|name| Ok(name.strip_prefix(INLINE).map(str::to_string)));
        // Python's string methods (`'{}'.format(x)`), with format widths
        // checked; `format` and `indent` too.
        bounds::register(&mut env);
        env.add_global("omit", omit_token());
        filters::register(&mut env);
        collections::register(&mut env);
        predicates::register(&mut env);
        lookups::register(&mut env, &opts);
        Templar {
            env: Arc::new(env),
            names: Arc::default(),
        }
    }

    /// Whether a string holds template syntax at all.
    pub fn is_template(s: &str) -> bool {
        s.contains("{{") || s.contains("{%") || s.contains("{#")
    }

    /// Renders a template string to text.
    pub fn render_str(&self, text: &str, ctx: &minijinja::Value) -> Result<String, TemplateError> {
        if !Self::is_template(text) {
            return Ok(text.to_string());
        }
        let _guard = RenderGuard::enter(self);
        let name = format!("{INLINE}{text}");
        // minijinja panics on some inputs (an overflow in `[1] * n * m`
        // where debug assertions are on); a panic must not end the run.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.env.get_template(&name).and_then(|t| t.render(ctx))
        }))
        .map_err(|_| engine_failed(text))?
        .map_err(|e| convert_error(e, text))
    }

    /// Renders every string in a value. A string that is a single
    /// `{{ expr }}` becomes the expression's value, not its text.
    pub fn render_value(&self, v: &Value, ctx: &minijinja::Value) -> Result<Value, TemplateError> {
        match v {
            Value::String(s) => self.render_string_value(s, ctx),
            Value::Array(items) => items
                .iter()
                .map(|i| self.render_value(i, ctx))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, val) in map {
                    let key = self.render_str(k, ctx)?;
                    out.insert(key, self.render_value(val, ctx)?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn render_string_value(&self, s: &str, ctx: &minijinja::Value) -> Result<Value, TemplateError> {
        if !Self::is_template(s) {
            return Ok(Value::String(s.to_string()));
        }
        if whole_expression(s).is_some() {
            return self.eval(s, ctx);
        }
        self.render_str(s, ctx).map(Value::String)
    }

    /// Evaluates a bare Jinja expression (`when:`, `that:`, `var:`).
    pub fn eval(&self, expr: &str, ctx: &minijinja::Value) -> Result<Value, TemplateError> {
        let _guard = RenderGuard::enter(self);
        let expr = single_expression(expr).unwrap_or(expr);
        let v = self.eval_raw(expr, ctx)?;
        if v.is_undefined() {
            return Err(undefined_error(expr));
        }
        bounds::check_value(&v).map_err(|e| convert_error(e, expr))?;
        try_to_json(&v)
    }

    /// [`Templar::eval`] to look at a value before it is used, with fewer
    /// side effects (see [`Probe`]). Variables the expression reads are
    /// probed the same way.
    pub fn eval_probe(
        &self,
        expr: &str,
        ctx: &minijinja::Value,
        probe: Probe,
    ) -> Result<Value, TemplateError> {
        let _probe = active::ProbeGuard::enter(probe);
        self.eval(expr, ctx)
    }

    /// Evaluates a condition. A list means all of them (AND).
    pub fn eval_bool(&self, expr: &str, ctx: &minijinja::Value) -> Result<bool, TemplateError> {
        let v = self.eval(expr, ctx)?;
        Ok(match &v {
            Value::String(s) => crate::value::parse_bool(&v).unwrap_or(!s.is_empty()),
            other => crate::value::is_truthy(other),
        })
    }

    /// One variable of a scope, rendered; `None` when it is undefined.
    pub fn get_var(
        &self,
        ctx: &minijinja::Value,
        name: &str,
    ) -> Result<Option<Value>, TemplateError> {
        let _guard = RenderGuard::enter(self);
        let v = ctx.get_attr(name).map_err(|e| convert_error(e, name))?;
        if v.is_undefined() {
            return Ok(None);
        }
        try_to_json(&v).map(Some)
    }

    /// Evaluates a template string to a template value without converting
    /// it to JSON: a single expression keeps its type, anything else is
    /// rendered to text. Used for variables rendered lazily.
    pub(crate) fn eval_text(
        &self,
        text: &str,
        ctx: &minijinja::Value,
    ) -> Result<minijinja::Value, TemplateError> {
        match whole_expression(text) {
            Some(expr) => {
                let _guard = RenderGuard::enter(self);
                self.eval_raw(expr, ctx)
            }
            None => self.render_str(text, ctx).map(minijinja::Value::from),
        }
    }

    fn eval_raw(
        &self,
        expr: &str,
        ctx: &minijinja::Value,
    ) -> Result<minijinja::Value, TemplateError> {
        if bounds::stray_close(expr) {
            return Err(TemplateError::Render {
                source_text: expr.to_string(),
                message: "syntax error: unexpected `}}` before the end of the expression".into(),
            });
        }
        // minijinja panics on some inputs; a panic must not end the run.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.env
                .compile_expression(expr)
                .and_then(|compiled| compiled.eval(ctx))
        }))
        .map_err(|_| engine_failed(expr))?
        .map_err(|e| convert_error(e, expr))
    }
}

/// The environment's global names (ours and minijinja's), which are looked
/// up in the scope first and are not undefined variables when missing there.
fn is_global(name: &str) -> bool {
    matches!(
        name,
        "omit" | "lookup" | "query" | "q" | "range" | "dict" | "namespace" | "debug"
    )
}

/// The inside of `{{ expr }}` when the whole string is one expression.
/// Like [`single_expression`], but only when nothing, not even white
/// space, surrounds the braces: `"{{ x }}\n"` is text, as in Ansible.
fn whole_expression(s: &str) -> Option<&str> {
    if s.len() != s.trim().len() {
        return None;
    }
    single_expression(s)
}

fn single_expression(s: &str) -> Option<&str> {
    let t = s.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") {
        return None;
    }
    Some(inner.trim())
}

/// The placeholder that `omit` evaluates to. The executor drops every
/// module argument equal to it ([`strip_omitted`]). Random per run, so no
/// real value can collide with it.
pub fn omit_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| format!("__omit_place_holder__{:016x}", rand::random::<u64>()))
}

/// Removes every mapping entry and list item equal to [`omit_token`], at
/// any depth, as Ansible does with a task's arguments.
pub fn strip_omitted(v: &mut Value) {
    let token = omit_token();
    match v {
        Value::Object(map) => {
            map.retain(|_, item| item.as_str() != Some(token));
            map.values_mut().for_each(strip_omitted);
        }
        Value::Array(items) => {
            items.retain(|item| item.as_str() != Some(token));
            items.iter_mut().for_each(strip_omitted);
        }
        _ => {}
    }
}

/// Converts a minijinja value to plain data (`null` where it cannot).
pub fn to_json(v: &minijinja::Value) -> Value {
    if bounds::check_value(v).is_err() {
        return Value::Null;
    }
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Converts a minijinja value to plain data, reporting a variable that
/// failed to render while it was read (minijinja serializes such a value
/// as null, so the error is found in the side channel).
pub(crate) fn try_to_json(v: &minijinja::Value) -> Result<Value, TemplateError> {
    bounds::check_value(v).map_err(|e| TemplateError::Render {
        source_text: v.kind().to_string(),
        message: e.to_string(),
    })?;
    let earlier = active::take_pending();
    let result = serde_json::to_value(v);
    if let Some(err) = active::take_pending() {
        return Err(err);
    }
    if let Some(earlier) = earlier {
        active::set_pending(earlier);
    }
    result.map_err(|e| TemplateError::Render {
        source_text: v.to_string(),
        message: e.to_string(),
    })
}

/// A template value as plain data, for filters that work on data. A
/// variable's error stays pending for the render to report as it is.
pub(crate) fn data_of(v: &minijinja::Value) -> Result<Value, minijinja::Error> {
    try_to_json(v).map_err(|e| {
        let message = e.to_string();
        active::set_pending(e);
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message)
    })
}

/// Plain data as a template value.
pub(crate) fn value_of(v: &Value) -> minijinja::Value {
    minijinja::Value::from_serialize(v)
}

fn undefined_error(source: &str) -> TemplateError {
    // Without a note (an attribute missing from a computed value), the
    // expression itself is the best name there is.
    let (name, context) = active::take_missing().unwrap_or_else(|| {
        (
            single_expression(source)
                .unwrap_or(source)
                .trim()
                .to_string(),
            String::new(),
        )
    });
    TemplateError::Undefined { name, context }
}

fn engine_failed(source: &str) -> TemplateError {
    TemplateError::Render {
        source_text: source.to_string(),
        message: "the template engine failed on this template".into(),
    }
}

fn convert_error(e: minijinja::Error, source: &str) -> TemplateError {
    if let Some(pending) = active::take_pending() {
        return pending;
    }
    if e.kind() == minijinja::ErrorKind::UndefinedError {
        return undefined_error(source);
    }
    let mut message = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        message.push_str(&format!(": {c}"));
        cause = c.source();
    }
    if let Some(line) = e.line().filter(|_| source.contains('\n')) {
        message.push_str(&format!(" (line {line})"));
    }
    TemplateError::Render {
        source_text: source.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests;
