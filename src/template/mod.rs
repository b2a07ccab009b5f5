//! Jinja2 templating with minijinja, as Ansible does it.
//!
//! [`Templar`] renders strings and whole argument trees; a string that is
//! exactly one `{{ expression }}` keeps the expression's native type, as in
//! Ansible. [`VarScope`] is the variables a task sees on a host: layers in
//! Ansible's precedence order, looked up lazily so that nothing is copied
//! per task and templated variables resolve when they are used.

pub mod scope;

use std::sync::Arc;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

pub use scope::{Layer, VarScope};

use crate::secret::Redactor;

/// A template that failed to render or evaluate.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("'{name}' is undefined{context}")]
    Undefined { name: String, context: String },
    #[error("template error in `{source_text}`: {message}")]
    Render {
        source_text: String,
        message: String,
    },
}

/// Options of the template environment for a run.
#[derive(Clone, Default)]
pub struct TemplarOptions {
    pub redactor: Redactor,
    /// Where `lookup('password', path)` keeps relative paths.
    pub base_dir: std::path::PathBuf,
}

/// The template environment shared by the whole run.
#[derive(Clone)]
pub struct Templar {
    env: Arc<Environment<'static>>,
}

impl Templar {
    pub fn new(opts: TemplarOptions) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        let _ = opts;
        Templar { env: Arc::new(env) }
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
        self.env
            .render_str(text, ctx)
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
        if let Some(expr) = single_expression(s) {
            let v = self.eval(expr, ctx)?;
            return Ok(v);
        }
        self.render_str(s, ctx).map(Value::String)
    }

    /// Evaluates a bare Jinja expression (`when:`, `that:`, `var:`).
    pub fn eval(&self, expr: &str, ctx: &minijinja::Value) -> Result<Value, TemplateError> {
        let expr = single_expression(expr).unwrap_or(expr);
        let compiled = self
            .env
            .compile_expression(expr)
            .map_err(|e| convert_error(e, expr))?;
        let v = compiled.eval(ctx).map_err(|e| convert_error(e, expr))?;
        if v.is_undefined() {
            return Err(TemplateError::Undefined {
                name: expr.trim().to_string(),
                context: String::new(),
            });
        }
        Ok(to_json(&v))
    }

    /// Evaluates a condition. A list means all of them (AND).
    pub fn eval_bool(&self, expr: &str, ctx: &minijinja::Value) -> Result<bool, TemplateError> {
        let v = self.eval(expr, ctx)?;
        Ok(match &v {
            Value::String(s) => crate::value::parse_bool(&v).unwrap_or(!s.is_empty()),
            other => crate::value::is_truthy(other),
        })
    }
}

/// The inside of `{{ expr }}` when the whole string is one expression.
fn single_expression(s: &str) -> Option<&str> {
    let t = s.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") {
        return None;
    }
    Some(inner.trim())
}

/// Converts a minijinja value to plain data.
pub fn to_json(v: &minijinja::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn convert_error(e: minijinja::Error, source: &str) -> TemplateError {
    if e.kind() == minijinja::ErrorKind::UndefinedError {
        let name = undefined_name(source).unwrap_or_else(|| "a variable".to_string());
        return TemplateError::Undefined {
            name,
            context: String::new(),
        };
    }
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        message.push_str(&format!(": {c}"));
        cause = c.source();
    }
    TemplateError::Render {
        source_text: source.to_string(),
        message,
    }
}

/// A best guess at which name was undefined: the first identifier in the
/// expression. The scope refines this where it knows better.
fn undefined_name(source: &str) -> Option<String> {
    let inner = single_expression(source).unwrap_or(source);
    let start = inner.find(|c: char| c.is_ascii_alphabetic() || c == '_')?;
    let name: String = inner[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(v: Value) -> minijinja::Value {
        let Value::Object(m) = v else { panic!() };
        VarScope::new(vec![Layer::new("vars", m)]).into_value()
    }

    #[test]
    fn single_expression_keeps_type() {
        let t = Templar::new(TemplarOptions::default());
        let ctx = scope(json!({"port": 8080, "list": [1, 2]}));
        assert_eq!(
            t.render_value(&json!("{{ port }}"), &ctx).unwrap(),
            json!(8080)
        );
        assert_eq!(
            t.render_value(&json!("{{ list }}"), &ctx).unwrap(),
            json!([1, 2])
        );
        assert_eq!(
            t.render_value(&json!("p={{ port }}"), &ctx).unwrap(),
            json!("p=8080")
        );
    }

    #[test]
    fn undefined_is_an_error_naming_the_variable() {
        let t = Templar::new(TemplarOptions::default());
        let ctx = scope(json!({}));
        let err = t.render_value(&json!("{{ nope }}"), &ctx).unwrap_err();
        assert_eq!(err.to_string(), "'nope' is undefined");
    }

    #[test]
    fn conditions() {
        let t = Templar::new(TemplarOptions::default());
        let ctx = scope(json!({"a": 1, "s": "yes"}));
        assert!(t.eval_bool("a == 1", &ctx).unwrap());
        assert!(!t.eval_bool("{{ a > 1 }}", &ctx).unwrap());
        assert!(t.eval_bool("s", &ctx).unwrap());
    }
}
