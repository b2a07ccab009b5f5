//! One script-module task on one host: the script's `check`/`apply` (or
//! `run`) functions behind the query-then-apply protocol of every other
//! module, so check and diff modes work as they do for native modules.
//!
//! Rhai is synchronous: each call runs on a blocking thread, so a slow
//! `host.exec` in one host's script leaves the other hosts' futures free
//! to run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rhai::{CallFnOptions, Dynamic, Map as RMap, Scope};
use serde_json::{Map, Value};

use super::api::{Api, HostApi};
use super::error::{ScriptError, runtime};
use super::limits;
use super::script::{Protocol, Script};
use crate::modules::{Action, Apply, Change, Diff, ModuleCtx, ModuleError, Outcome, Query};

pub struct ScriptAction {
    script: Arc<Script>,
    params: Map<String, Value>,
    /// What `check` returned: its extra fields are kept under those of
    /// `apply`, and `apply(params, found)` gets all of it.
    found: RMap,
}

impl ScriptAction {
    pub fn new(script: Arc<Script>, params: Map<String, Value>) -> Self {
        ScriptAction {
            script,
            params,
            found: RMap::new(),
        }
    }

    /// Calls a script function on a blocking thread with the host API.
    async fn call(
        &self,
        ctx: &ModuleCtx<'_>,
        func: &'static str,
        check: bool,
        found: Option<RMap>,
    ) -> Result<(RMap, Vec<String>), ModuleError> {
        let mut host = HostApi::from_ctx(ctx, self.script.constants.clone());
        host.check = check;
        let api = Api(Arc::new(host));
        let script = self.script.clone();
        let params = rhai::serde::to_dynamic(&self.params)
            .map_err(|e| ModuleError::Params(e.to_string()))?;
        let handle = api.clone();
        // With a task timeout, the executor stops the task first and says
        // so; the flag then stops the script, which runs on its own thread.
        let time = ctx
            .timeout
            .map_or(limits::DEFAULT_TIME_LIMIT, |t| t + Duration::from_secs(5));
        let cancelled = Arc::new(AtomicBool::new(false));
        let _stop = StopOnDrop(cancelled.clone());
        let joined = tokio::task::spawn_blocking(move || {
            let _budget = limits::Budget::start(time, cancelled);
            let mut scope = Scope::new();
            let opts = CallFnOptions::new()
                .with_tag(Dynamic::from(handle))
                .eval_ast(false);
            let engine = &script.engine;
            match found {
                Some(found) => engine.call_fn_with_options::<Dynamic>(
                    opts,
                    &mut scope,
                    &script.ast,
                    func,
                    (params, found),
                ),
                None => engine.call_fn_with_options::<Dynamic>(
                    opts,
                    &mut scope,
                    &script.ast,
                    func,
                    (params,),
                ),
            }
            .map_err(|e| runtime(&e, &script.source(), func))
        })
        .await;
        let warnings = api.0.take_warnings();
        let value = match joined {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                // The task fails without a result to carry them: show now.
                for w in &warnings {
                    api.0.services.notes.warn(&api.0.host, w);
                }
                return Err(e.into());
            }
            Err(e) => {
                return Err(ScriptError::Crashed {
                    path: super::relative(&self.script.path).display().to_string(),
                    message: e.to_string(),
                }
                .into());
            }
        };
        if value.is_unit() {
            return Ok((RMap::new(), warnings));
        }
        let type_name = value.type_name().to_string();
        let map = value
            .try_cast::<RMap>()
            .ok_or_else(|| ScriptError::BadResult {
                func: func.to_string(),
                location: self
                    .script
                    .source()
                    .at(self.script.source().fn_position(func)),
                found: type_name,
            })?;
        Ok((map, warnings))
    }
}

/// Stops the script when the call is dropped before it returns (its task
/// timed out, or the run was interrupted).
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A script's result map as an outcome; `changed` is `default_changed`
/// when the script does not say.
fn outcome(map: RMap, warnings: Vec<String>, default_changed: bool) -> Outcome {
    let value: Value = rhai::serde::from_dynamic(&map.into()).unwrap_or(Value::Null);
    let mut o = Outcome::ok();
    o.warnings = warnings;
    let Value::Object(mut m) = value else {
        return o;
    };
    o.changed = m
        .remove("changed")
        .and_then(|c| crate::value::parse_bool(&c))
        .unwrap_or(default_changed);
    o.failed = m
        .remove("failed")
        .and_then(|c| crate::value::parse_bool(&c))
        .unwrap_or(false);
    o.msg = m
        .remove("msg")
        .and_then(|v| crate::value::scalar_to_string(&v));
    match m.remove("diff") {
        Some(Value::Object(d)) => o.diffs.push(diff_from(&d)),
        Some(Value::Array(ds)) => o
            .diffs
            .extend(ds.iter().filter_map(Value::as_object).map(diff_from)),
        _ => {}
    }
    o.data = m;
    o
}

fn diff_from(d: &Map<String, Value>) -> Diff {
    let s = |k: &str| match d.get(k) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => serde_json::to_string_pretty(other).unwrap_or_default() + "\n",
    };
    Diff {
        header: s("header"),
        before: s("before"),
        after: s("after"),
    }
}

fn to_query(o: Outcome, plan: Box<dyn Apply>) -> Query {
    if o.changed {
        let mut c = Change::new();
        c.msg = o.msg;
        c.diffs = o.diffs;
        c.data = o.data;
        Query::Change(c, plan)
    } else {
        Query::Unchanged(o)
    }
}

#[async_trait]
impl Action for ScriptAction {
    async fn query(mut self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        match self.script.protocol {
            // Outside check mode, `run` is called once, in `apply`.
            Protocol::Run if !ctx.check => Ok(Query::Change(Change::new(), self)),
            Protocol::Run => {
                let (map, warnings) = self.call(ctx, "run", true, None).await?;
                Ok(to_query(outcome(map, warnings, false), self))
            }
            Protocol::CheckApply { .. } => {
                let (map, warnings) = self.call(ctx, "check", ctx.check, None).await?;
                if !map.contains_key("changed") {
                    return Err(ScriptError::BadResult {
                        func: "check".into(),
                        location: self
                            .script
                            .source()
                            .at(self.script.source().fn_position("check")),
                        found: "a map without `changed`".into(),
                    }
                    .into());
                }
                self.found = map.clone();
                Ok(to_query(outcome(map, warnings, false), self))
            }
        }
    }
}

#[async_trait]
impl Apply for ScriptAction {
    async fn apply(mut self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let found = std::mem::take(&mut self.found);
        let (map, warnings) = match self.script.protocol {
            Protocol::CheckApply { apply_gets_found } => {
                let arg = apply_gets_found.then(|| found.clone());
                self.call(ctx, "apply", false, arg).await?
            }
            Protocol::Run => self.call(ctx, "run", false, None).await?,
        };
        let default_changed = self.script.protocol != Protocol::Run;
        let mut o = outcome(map, warnings, default_changed);
        // The fields `check` found stay in the result unless `apply`
        // says otherwise.
        let mut data = outcome(found, Vec::new(), false).data;
        data.extend(std::mem::take(&mut o.data));
        o.data = data;
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_maps_become_outcomes() {
        let mut m = RMap::new();
        m.insert("msg".into(), "done".into());
        m.insert("uid".into(), Dynamic::from(12_i64));
        let mut d = RMap::new();
        d.insert("before".into(), "a\n".into());
        d.insert("after".into(), "b\n".into());
        m.insert("diff".into(), d.into());
        let o = outcome(m, vec!["careful".into()], true);
        assert!(o.changed);
        assert_eq!(o.msg.as_deref(), Some("done"));
        assert_eq!(o.data["uid"], 12);
        assert_eq!(o.diffs[0].after, "b\n");
        assert_eq!(o.warnings, vec!["careful".to_string()]);
        let mut m = RMap::new();
        m.insert("changed".into(), false.into());
        assert!(!outcome(m, vec![], true).changed);
    }
}
