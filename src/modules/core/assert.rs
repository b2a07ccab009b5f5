//! `assert`: fail the host unless every given condition holds.
//!
//! The conditions in `that` are bare Jinja expressions evaluated here, like
//! `when:`; the executor leaves them untemplated. Changes nothing, so it
//! runs the same in check mode.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::modules::{
    Action, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Query, parse_params,
};

/// Checks that conditions hold, and fails the host when one does not.
///
/// `that` is one expression or a list of them, written as for `when:`
/// (`{{ }}` around them is allowed but not needed). They are checked in
/// order; the first false one fails the task with `fail_msg`, and the
/// result names it in `assertion` with `evaluated_to: false`. An
/// expression that cannot be evaluated (an undefined variable) fails too.
/// The result is shown without `-v` unless `quiet` is set.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssertParams {
    /// The conditions that must all be true.
    #[serde(deserialize_with = "de_conditions")]
    #[schemars(extend("x-raw" = true))]
    pub that: Vec<String>,
    /// The message when a condition is false (default "Assertion failed").
    /// A list is printed one item per line.
    #[serde(default)]
    #[schemars(extend("x-aliases" = ["msg"]))]
    pub fail_msg: Option<Value>,
    /// The message when all conditions hold (default "All assertions passed").
    #[serde(default)]
    pub success_msg: Option<Value>,
    /// Do not show the result unless it fails.
    #[serde(default, deserialize_with = "crate::value::de_bool")]
    pub quiet: bool,
}

/// One condition or a list of them. Unlike Ansible's comma-separated
/// lists, a single string is never split: `a in [1, 2]` is one condition.
fn de_conditions<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Value::deserialize(d)?;
    let items = match v {
        Value::Array(items) => items,
        one => vec![one],
    };
    items
        .iter()
        .map(|i| {
            crate::value::scalar_to_string(i).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "expected a condition or a list of conditions, found {}",
                    crate::value::describe(i)
                ))
            })
        })
        .collect()
}

/// A message given as text or as a list of lines.
fn message_text(msg: &Option<Value>, default: &str) -> String {
    match msg {
        None | Some(Value::Null) => default.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(lines)) => lines
            .iter()
            .map(|l| crate::value::scalar_to_string(l).unwrap_or_else(|| l.to_string()))
            .collect::<Vec<_>>()
            .join("\n"),
        Some(other) => other.to_string(),
    }
}

/// The `assert` module.
pub struct AssertModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![Arc::new(AssertModule {
        spec: ModuleSpec::native::<AssertParams>("assert").with_examples(
            "- assert:\n    that:\n      - keystone_port | int > 0\n      - \"'controller' in group_names\"\n    fail_msg: \"keystone_port must be set\"\n    quiet: true",
        ),
    })]
}

impl Module for AssertModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: AssertParams = parse_params(args)?;
        if p.that.is_empty() {
            return Err(ModuleError::Params(
                "`that` needs at least one condition".into(),
            ));
        }
        Ok(Box::new(AssertAction { p }))
    }
}

struct AssertAction {
    p: AssertParams,
}

impl AssertAction {
    fn run(&self, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        for cond in &self.p.that {
            let holds = ctx.templar.eval_bool(cond, ctx.vars).map_err(|e| {
                ModuleError::failed(format!(
                    "The conditional check '{cond}' failed. The error was: {e}"
                ))
            })?;
            if !holds {
                let mut out = Outcome::ok()
                    .with_msg(message_text(&self.p.fail_msg, "Assertion failed"))
                    .with("assertion", cond.clone())
                    .with("evaluated_to", false);
                out.failed = true;
                out.show = true;
                return Ok(out);
            }
        }
        let mut out =
            Outcome::ok().with_msg(message_text(&self.p.success_msg, "All assertions passed"));
        out.show = !self.p.quiet;
        Ok(out)
    }
}

#[async_trait]
impl Action for AssertAction {
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        self.run(ctx).map(Query::Unchanged)
    }
}

#[cfg(test)]
mod tests {
    use crate::modules::testing::TestHost;
    use serde_json::json;

    fn host() -> TestHost {
        TestHost::with_vars(json!({"port": 5000, "roles": ["controller"], "flag": "yes"}))
    }

    #[tokio::test]
    async fn all_true_passes() {
        let h = host();
        let out = h
            .run(
                "assert",
                json!({"that": ["port == 5000", "{{ 'controller' in roles }}", "flag"]}),
            )
            .await
            .unwrap();
        assert!(!out.failed && !out.changed && out.show);
        assert_eq!(out.msg.as_deref(), Some("All assertions passed"));
        let out = h
            .run(
                "assert",
                json!({"that": "port > 1", "success_msg": "fine", "quiet": true}),
            )
            .await
            .unwrap();
        assert_eq!(out.msg.as_deref(), Some("fine"));
        assert!(!out.show);
    }

    #[tokio::test]
    async fn first_false_condition_fails_and_is_named() {
        let h = host();
        let out = h
            .run(
                "assert",
                json!({"that": ["port > 1", "port in [1, 2]", "nope"]}),
            )
            .await
            .unwrap();
        assert!(out.failed);
        assert_eq!(out.msg.as_deref(), Some("Assertion failed"));
        assert_eq!(out.data["assertion"], json!("port in [1, 2]"));
        assert_eq!(out.data["evaluated_to"], json!(false));
        let out = h
            .run(
                "assert",
                json!({"that": "port < 1", "msg": ["bad", "port"]}),
            )
            .await
            .unwrap();
        assert_eq!(out.msg.as_deref(), Some("bad\nport"));
    }

    #[tokio::test]
    async fn undefined_variable_fails_with_the_condition() {
        let err = host()
            .run("assert", json!({"that": "nope == 1"}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "The conditional check 'nope == 1' failed. The error was: 'nope' is undefined"
        );
    }
}
