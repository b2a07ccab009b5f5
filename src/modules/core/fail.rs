//! `fail`: fail the host with a message, usually under a `when:`.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::modules::{
    Action, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Query, parse_params,
};

/// Fails the task with a message.
///
/// Used with `when:` to stop a host on a condition. Also fails in check
/// mode.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailParams {
    /// The message (default "Failed as requested from task").
    #[serde(default)]
    pub msg: Option<Value>,
}

/// The `fail` module.
pub struct FailModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![Arc::new(FailModule {
        spec: ModuleSpec::native::<FailParams>("fail").with_examples(
            "- fail:\n    msg: \"set database_password in group_vars\"\n  when: database_password is not defined",
        ),
    })]
}

impl Module for FailModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: FailParams = parse_params(args)?;
        let msg = match p.msg {
            None | Some(Value::Null) => "Failed as requested from task".to_string(),
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
        };
        Ok(Box::new(FailAction { msg }))
    }
}

struct FailAction {
    msg: String,
}

impl FailAction {
    fn outcome(&self) -> Outcome {
        Outcome {
            failed: true,
            ..Outcome::ok().with_msg(self.msg.clone())
        }
    }
}

#[async_trait]
impl Action for FailAction {
    async fn query(self: Box<Self>, _ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        Ok(Query::Unchanged(self.outcome()))
    }
}

#[cfg(test)]
mod tests {
    use crate::modules::testing::TestHost;
    use serde_json::json;

    #[tokio::test]
    async fn fails_with_given_or_default_message() {
        let mut h = TestHost::new();
        let out = h.run("fail", json!({"msg": "no password"})).await.unwrap();
        assert!(out.failed && !out.changed);
        assert_eq!(out.msg.as_deref(), Some("no password"));
        h.check = true;
        let out = h.run("fail", json!({})).await.unwrap();
        assert!(out.failed);
        assert_eq!(out.msg.as_deref(), Some("Failed as requested from task"));
    }
}
