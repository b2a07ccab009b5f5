//! `meta`: ask the executor to do something to the run itself (flush
//! handlers, end the play or the host, clear facts).
//!
//! The module does nothing on the host; it returns an [`Outcome::control`]
//! that the executor acts on. The free form `meta: flush_handlers` sets the
//! `action` parameter (the loader puts free-form text into the spec's
//! `free_form` parameter; `_raw_params` and `free_form` are aliases).

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::modules::{
    Action, Control, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Query, parse_params,
};

/// Acts on the run itself: handlers, the play, the host, facts.
///
/// Written free form: `meta: flush_handlers`. `flush_handlers` runs the
/// handlers notified so far; `end_play` ends the play for all hosts;
/// `end_host` ends it for this host only; `clear_facts` forgets the
/// gathered facts of every host of the play (`set_fact` variables stay, as
/// in Ansible); `noop` does nothing. `refresh_inventory`,
/// `reset_connection` and `clear_host_errors` are accepted for
/// compatibility but do nothing here and print a warning: the inventory is
/// read once, each host's connection is kept for the whole run, and a
/// failed host stays failed. Runs in check mode too.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetaParams {
    /// What to do. The free form `meta: end_play` sets it.
    #[schemars(extend("x-aliases" = ["_raw_params", "free_form"]))]
    pub action: MetaAction,
}

/// What `meta:` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetaAction {
    /// Run the handlers notified so far.
    FlushHandlers,
    /// End the play for every host.
    EndPlay,
    /// End the play for this host.
    EndHost,
    /// Forget the host's facts.
    ClearFacts,
    /// Nothing.
    Noop,
    /// Does nothing in oplay, and says so in a warning.
    RefreshInventory,
    /// Does nothing in oplay, and says so in a warning.
    ResetConnection,
    /// Does nothing in oplay, and says so in a warning.
    ClearHostErrors,
}

impl MetaAction {
    /// The control for the executor, Ansible's message, and a warning for
    /// the actions oplay accepts but does not perform.
    fn plan(self) -> (Control, &'static str, Option<&'static str>) {
        match self {
            MetaAction::FlushHandlers => (Control::FlushHandlers, "flushing handlers", None),
            MetaAction::EndPlay => (Control::EndPlay, "ending play", None),
            MetaAction::EndHost => (Control::EndHost, "ending play for host", None),
            MetaAction::ClearFacts => (Control::ClearFacts, "facts cleared", None),
            MetaAction::Noop => (Control::Noop, "noop", None),
            MetaAction::RefreshInventory => (
                Control::Noop,
                "noop",
                Some(
                    "meta: refresh_inventory does nothing in oplay: the inventory is read once at the start of the run",
                ),
            ),
            MetaAction::ResetConnection => (
                Control::Noop,
                "noop",
                Some(
                    "meta: reset_connection does nothing in oplay: each host keeps one connection for the run",
                ),
            ),
            MetaAction::ClearHostErrors => (
                Control::Noop,
                "noop",
                Some("meta: clear_host_errors does nothing in oplay: a failed host stays failed"),
            ),
        }
    }
}

/// The `meta` module.
pub struct MetaModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![Arc::new(MetaModule {
        spec: ModuleSpec::native::<MetaParams>("meta")
            .with_free_form("action")
            .with_examples("- meta: flush_handlers\n\n- meta: end_host\n  when: inventory_hostname in groups.skip"),
    })]
}

impl Module for MetaModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: MetaParams = parse_params(args)?;
        Ok(Box::new(MetaRun { action: p.action }))
    }
}

struct MetaRun {
    action: MetaAction,
}

impl MetaRun {
    fn outcome(&self) -> Outcome {
        let (control, msg, warning) = self.action.plan();
        let mut out = Outcome::ok().with_msg(msg);
        out.control = Some(control);
        out.warnings.extend(warning.map(String::from));
        out
    }
}

#[async_trait]
impl Action for MetaRun {
    async fn query(self: Box<Self>, _ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        Ok(Query::Unchanged(self.outcome()))
    }
}

#[cfg(test)]
mod tests {
    use crate::modules::testing::TestHost;
    use crate::modules::{Control, ModuleError};
    use serde_json::json;

    #[tokio::test]
    async fn maps_actions_to_controls() {
        let mut h = TestHost::new();
        h.check = true;
        for (name, control) in [
            ("flush_handlers", Control::FlushHandlers),
            ("end_play", Control::EndPlay),
            ("end_host", Control::EndHost),
            ("clear_facts", Control::ClearFacts),
            ("noop", Control::Noop),
        ] {
            let out = h.run("meta", json!({"_raw_params": name})).await.unwrap();
            assert_eq!(out.control, Some(control), "{name}");
            assert!(out.warnings.is_empty() && !out.changed && !out.failed);
        }
    }

    #[tokio::test]
    async fn unsupported_actions_warn_or_fail() {
        let h = TestHost::new();
        let out = h
            .run("meta", json!({"action": "refresh_inventory"}))
            .await
            .unwrap();
        assert_eq!(out.control, Some(Control::Noop));
        assert!(out.warnings[0].starts_with("meta: refresh_inventory does nothing in oplay"));
        let err = h
            .run("meta", json!({"action": "end_batch"}))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ModuleError::Params(m) if m.contains("unknown variant `end_batch`")),
            "{err}"
        );
        let spec = h.services.registry.get("meta").unwrap().spec();
        assert_eq!(spec.free_form.as_deref(), Some("action"));
        assert!(
            spec.param("action")
                .unwrap()
                .choices
                .contains(&"flush_handlers".to_string())
        );
    }
}
