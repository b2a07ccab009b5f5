//! Values derived from secrets: the `{{ … }}` expressions of a template
//! that read a secret, evaluated alone, so that what a filter made of a
//! secret (`{{ db_password | b64encode }}`, `{{ pw ~ '@' ~ host }}`) is
//! scrubbed from the output like the secret itself.
//!
//! An expression reads a secret when one of the variables it names has a
//! secret-looking name at any step of its path (`creds.db_password`), or
//! when its value holds a secret the run's redactor already knows.
//! Expressions that only make sense inside a block of the template (a loop
//! variable) cannot be evaluated alone and are left as they are.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Templar, TemplateError};
use crate::secret::{Redactor, is_secret_name};

/// The variables each expression names, parsed once per run.
#[derive(Default)]
pub(super) struct NamesCache {
    names: Mutex<HashMap<String, Arc<Vec<String>>>>,
}

/// The `{{ … }}` expressions of `text`, without their braces.
fn expressions(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim_matches(['-', '+', ' ', '\t', '\n']));
        rest = &after[end + 2..];
    }
    out
}

impl Templar {
    /// Tells `redactor` the value of every expression of `text` that reads
    /// a secret. Errors are not reported here: rendering the whole
    /// template reports them.
    pub fn taint_secrets(&self, text: &str, ctx: &minijinja::Value, redactor: &Redactor) {
        if !text.contains("{{") {
            return;
        }
        for expr in expressions(text) {
            if self.reads_secret(expr, ctx, redactor) {
                if let Ok(value) = self.render_str(&format!("{{{{ {expr} }}}}"), ctx) {
                    redactor.add(&value);
                }
            }
        }
    }

    fn reads_secret(&self, expr: &str, ctx: &minijinja::Value, redactor: &Redactor) -> bool {
        let names = match self.names_of(expr) {
            Ok(n) => n,
            Err(_) => return false,
        };
        names.iter().any(|path| {
            path.split('.').any(is_secret_name) || holds_known_secret(path, ctx, redactor)
        })
    }

    fn names_of(&self, expr: &str) -> Result<Arc<Vec<String>>, TemplateError> {
        let cache = &self.names;
        if let Some(found) = cache.names.lock().ok().and_then(|m| m.get(expr).cloned()) {
            return Ok(found);
        }
        let compiled = self
            .env
            .compile_expression(expr)
            .map_err(|e| super::convert_error(e, expr))?;
        let mut names: Vec<String> = compiled.undeclared_variables(true).into_iter().collect();
        names.sort();
        let names = Arc::new(names);
        if let Ok(mut m) = cache.names.lock() {
            m.insert(expr.to_string(), names.clone());
        }
        Ok(names)
    }
}

/// Whether the scalar at `path` (`a.b.c`) is a value the redactor knows.
/// Mappings and lists are judged by their names only: walking `hostvars`
/// for every expression would cost more than it finds.
fn holds_known_secret(path: &str, ctx: &minijinja::Value, redactor: &Redactor) -> bool {
    let mut value = ctx.clone();
    for step in path.split('.') {
        match value.get_attr(step) {
            Ok(v) if !v.is_undefined() => value = v,
            _ => return false,
        }
    }
    match value.kind() {
        minijinja::value::ValueKind::String | minijinja::value::ValueKind::Number => {
            let text = value.to_string();
            redactor.scrub(&text) != text
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn finds_the_expressions() {
        assert_eq!(
            expressions("a {{ x | b64encode }} b {{- y -}}{{z}}"),
            vec!["x | b64encode", "y", "z"]
        );
        assert!(expressions("no {{ end").is_empty());
    }

    #[test]
    fn a_filtered_secret_is_known_and_the_rest_is_not() {
        let t = Templar::new(Default::default());
        let r = Redactor::new();
        r.add("s3cr3t-pw");
        let ctx = context! { db_password => "s3cr3t-pw", pw2 => "s3cr3t-pw",
        creds => context!{ api_key => "key-12345" }, host => "db1" };
        t.taint_secrets(
            "mysql -p{{ db_password | b64encode }} {{ pw2 | upper }} {{ creds.api_key ~ '!' }} -h {{ host }}",
            &ctx,
            &r,
        );
        assert_eq!(
            r.scrub("czNjcjN0LXB3 S3CR3T-PW key-12345! db1"),
            "******** ******** ******** db1"
        );
    }
}
