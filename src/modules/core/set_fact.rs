//! `set_fact`: set host variables from the task's arguments.
//!
//! Every argument except `cacheable` is a fact. The module only returns
//! them in [`Outcome::facts`]; the executor stores them on the host. Its
//! spec accepts any parameter name (`open_params`), so load-time
//! validation does not reject the fact names.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::modules::{Action, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Query};

/// Sets variables (facts) on the host for the rest of the run.
///
/// Every parameter is a variable name and its (already templated) value,
/// e.g. `set_fact: {db_host: "{{ groups.db[0] }}"}`. Names must start with
/// a letter or `_` and hold only letters, digits and `_`. Facts win over
/// inventory and play variables, as in Ansible. Runs in check mode too.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SetFactParams {
    /// Accepted for compatibility and ignored: oplay has no fact cache.
    #[serde(default, deserialize_with = "crate::value::de_bool")]
    pub cacheable: bool,
}

/// The `set_fact` module.
pub struct SetFactModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![Arc::new(SetFactModule {
        spec: ModuleSpec::native::<SetFactParams>("set_fact")
            .with_open_params()
            .with_examples(
                "- set_fact:\n    keystone_url: \"http://{{ groups.controller[0] }}:5000/v3\"\n    db_nodes: \"{{ groups.db | length }}\"",
            ),
    })]
}

/// Whether `name` can be used as a variable, as Ansible's set_fact checks.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Module for SetFactModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let mut facts = args.clone();
        if let Some(c) = facts.remove("cacheable") {
            if crate::value::parse_bool(&c).is_none() {
                return Err(ModuleError::Params(format!(
                    "`cacheable` must be a boolean, found {}",
                    crate::value::describe(&c)
                )));
            }
        }
        if facts.is_empty() {
            return Err(ModuleError::Params(
                "No key/value pairs provided, at least one is required for this action to succeed"
                    .into(),
            ));
        }
        if let Some(bad) = facts.keys().find(|k| !valid_name(k)) {
            return Err(ModuleError::Params(format!(
                "The variable name '{bad}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores."
            )));
        }
        Ok(Box::new(SetFactAction { facts }))
    }
}

struct SetFactAction {
    facts: Map<String, Value>,
}

impl SetFactAction {
    fn outcome(&self) -> Outcome {
        Outcome {
            facts: Some(self.facts.clone()),
            ..Outcome::ok()
        }
    }
}

#[async_trait]
impl Action for SetFactAction {
    async fn query(self: Box<Self>, _ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        Ok(Query::Unchanged(self.outcome()))
    }
}

#[cfg(test)]
mod tests {
    use crate::modules::ModuleError;
    use crate::modules::testing::TestHost;
    use crate::source::{SourceFile, yaml};
    use serde_json::json;

    #[tokio::test]
    async fn returns_every_argument_as_a_fact() {
        let mut h = TestHost::new();
        h.check = true;
        let out = h
            .run(
                "set_fact",
                json!({"a": 1, "b": {"c": [true]}, "cacheable": "yes"}),
            )
            .await
            .unwrap();
        assert!(!out.changed && !out.failed);
        assert_eq!(
            out.facts,
            Some(
                json!({"a": 1, "b": {"c": [true]}})
                    .as_object()
                    .unwrap()
                    .clone()
            )
        );
        assert_eq!(out.to_value()["ansible_facts"]["a"], json!(1));
    }

    #[tokio::test]
    async fn rejects_bad_names_and_empty_args() {
        let h = TestHost::new();
        let err = h.run("set_fact", json!({"1x": 1})).await.unwrap_err();
        assert!(
            matches!(&err, ModuleError::Params(m) if m.starts_with("The variable name '1x' is not valid."))
        );
        let err = h
            .run("set_fact", json!({"cacheable": true}))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ModuleError::Params(m) if m.starts_with("No key/value pairs provided"))
        );
    }

    #[test]
    fn spec_accepts_any_key_but_checks_declared_ones() {
        let h = TestHost::new();
        let spec = h.services.registry.get("set_fact").unwrap().spec().clone();
        let check = |text: &str| {
            let file = SourceFile::new("t.yml", text);
            let node = yaml::parse(&file).unwrap();
            let (k, v) = &node.as_map().unwrap()[0];
            spec.validate(v, k).map_err(|d| d.to_string())
        };
        assert!(check("set_fact: {anything: 1, other: [2]}").is_ok());
        assert!(
            check("set_fact: {x: 1, cacheable: maybe}")
                .unwrap_err()
                .contains("parameter `cacheable` of `set_fact` must be a boolean")
        );
    }
}
