//! `debug`: print a message or a variable's value during the run.
//!
//! Changes nothing on the host, so it runs the same in check mode. The
//! executor has already templated `msg`; `var` is a bare expression that
//! this module evaluates itself, as Ansible does.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::modules::{
    Action, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Query, parse_params,
};
use crate::template::TemplateError;

/// What Ansible prints for a `var` that is not defined.
pub const NOT_DEFINED: &str = "VARIABLE IS NOT DEFINED!";

/// Prints a message or the value of a variable.
///
/// Give `msg` (any value: a string, a list, a mapping) or `var` (the name
/// of a variable, or any expression, without `{{ }}`), not both. The result
/// is shown without `-v`; with `verbosity: N` it is shown only when the run
/// has at least N `-v`, and is skipped otherwise. An undefined `var` prints
/// `VARIABLE IS NOT DEFINED!` and does not fail. Never reports a change.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DebugParams {
    /// The message to print (default "Hello world!").
    #[serde(default)]
    pub msg: Option<Value>,
    /// A variable name or expression to print with its value.
    #[serde(default)]
    #[schemars(with = "Option<String>", extend("x-raw" = true))]
    pub var: Option<Value>,
    /// The `-v` level needed to show this (default 0: always shown).
    #[serde(default, deserialize_with = "crate::value::de_opt_int")]
    pub verbosity: Option<i64>,
}

/// The `debug` module.
pub struct DebugModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    let mut spec = ModuleSpec::native::<DebugParams>("debug").with_examples(
        "- debug:\n    msg: \"keystone listens on {{ keystone_port }}\"\n\n- debug:\n    var: nova_cells.stdout_lines\n    verbosity: 1",
    );
    spec.exclusive.push(vec!["msg".into(), "var".into()]);
    vec![Arc::new(DebugModule { spec })]
}

impl Module for DebugModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: DebugParams = parse_params(args)?;
        if p.msg.is_some() && p.var.is_some() {
            return Err(ModuleError::Params(
                "'msg' and 'var' are incompatible options".into(),
            ));
        }
        Ok(Box::new(DebugAction { p }))
    }
}

struct DebugAction {
    p: DebugParams,
}

impl DebugAction {
    fn run(&self, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let level = self.p.verbosity.unwrap_or(0);
        if level > i64::from(ctx.verbosity) {
            return Ok(Outcome {
                skipped: true,
                ..Outcome::ok().with("skipped_reason", "Verbosity threshold not met.")
            });
        }
        let mut outcome = match &self.p.var {
            Some(var) => show_var(var, ctx)?,
            None => show_msg(self.p.msg.clone()),
        };
        outcome.show = true;
        Ok(outcome)
    }
}

/// A string message is the task's `msg`; any other value goes into the
/// result as is, so `msg: [a, b]` prints as a list like Ansible's.
fn show_msg(msg: Option<Value>) -> Outcome {
    match msg {
        None => Outcome::ok().with_msg("Hello world!"),
        Some(Value::String(s)) => Outcome::ok().with_msg(s),
        Some(other) => Outcome::ok().with("msg", other),
    }
}

fn show_var(var: &Value, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
    // The executor may already have turned `var: "{{ x }}"` into x's
    // value; then there is no expression left to evaluate, only a value.
    let Value::String(expr) = var else {
        return Ok(Outcome::ok().with(&var.to_string(), var.clone()));
    };
    let value = match ctx.templar.eval(expr, ctx.vars) {
        Ok(v) => v,
        Err(TemplateError::Undefined { .. }) => Value::String(NOT_DEFINED.into()),
        Err(e) => return Err(e.into()),
    };
    Ok(Outcome::ok().with(expr, value))
}

#[async_trait]
impl Action for DebugAction {
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        self.run(ctx).map(Query::Unchanged)
    }
}

#[cfg(test)]
mod tests {
    use crate::modules::ModuleError;
    use crate::modules::testing::TestHost;
    use serde_json::json;

    fn host() -> TestHost {
        TestHost::with_vars(json!({"my": {"var": [1, 2]}, "name": "nova"}))
    }

    #[tokio::test]
    async fn prints_msg_of_any_type() {
        let h = host();
        let out = h.run("debug", json!({"msg": "hello nova"})).await.unwrap();
        assert_eq!(out.msg.as_deref(), Some("hello nova"));
        assert!(out.show && !out.changed && !out.failed);
        let out = h.run("debug", json!({"msg": {"a": [1]}})).await.unwrap();
        assert_eq!(out.to_value()["msg"], json!({"a": [1]}));
        let out = h.run("debug", json!({})).await.unwrap();
        assert_eq!(out.msg.as_deref(), Some("Hello world!"));
    }

    #[tokio::test]
    async fn var_is_keyed_by_its_expression() {
        let h = host();
        let out = h.run("debug", json!({"var": "my.var"})).await.unwrap();
        assert_eq!(out.data["my.var"], json!([1, 2]));
        assert!(out.show);
        let out = h
            .run("debug", json!({"var": "name | upper"}))
            .await
            .unwrap();
        assert_eq!(out.data["name | upper"], json!("NOVA"));
        let out = h.run("debug", json!({"var": "nope"})).await.unwrap();
        assert_eq!(out.data["nope"], json!("VARIABLE IS NOT DEFINED!"));
        assert!(!out.failed);
    }

    #[tokio::test]
    async fn verbosity_threshold_skips_quietly() {
        let h = host();
        let out = h
            .run("debug", json!({"msg": "x", "verbosity": 2}))
            .await
            .unwrap();
        assert!(out.skipped && !out.show);
        assert_eq!(
            out.data["skipped_reason"],
            json!("Verbosity threshold not met.")
        );
        let out = h
            .run("debug", json!({"msg": "x", "verbosity": "0"}))
            .await
            .unwrap();
        assert!(!out.skipped && out.show);
    }

    #[tokio::test]
    async fn runs_in_check_mode_and_rejects_msg_with_var() {
        let mut h = host();
        h.check = true;
        let out = h.run("debug", json!({"var": "name"})).await.unwrap();
        assert_eq!(out.data["name"], json!("nova"));
        let err = h
            .run("debug", json!({"msg": "a", "var": "b"}))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ModuleError::Params(m) if m == "parameters `msg` and `var` of `debug` are mutually exclusive")
        );
    }
}
