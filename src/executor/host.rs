//! One task on one host: conditions, loops, templated arguments, the
//! connection (delegated or not), become, retries, `changed_when` and
//! `failed_when`, `register`, `notify`, and the report.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::play::BatchCtx;
use super::state::Gone;
use super::{Executor, KeywordError};
use crate::connection::Connection;
use crate::modules::{Control, ModuleCtx, ModuleError, Outcome, invoke};
use crate::output::{HostResult, Status, TaskInfo};
use crate::playbook::{Task, TaskAction};
use crate::template::TemplateError;

/// How a task ended for a host, as far as the play is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HostEnd {
    Continue,
    Failed,
    Unreachable,
    EndHost,
    EndPlay,
    /// `meta: flush_handlers`: run the notified handlers now.
    Flush,
    /// `meta: clear_facts`: forget the gathered facts of the play's hosts.
    ClearFacts,
}

/// One run of the module (one loop item, or the whole task).
pub(super) struct Attempt {
    pub outcome: Outcome,
    pub status: Status,
    pub ignored: bool,
    /// The delegate's name, for a delegated task (`delegate_facts`).
    pub delegated: Option<String>,
}

impl Executor {
    pub(super) async fn host_task(
        &self,
        bc: &BatchCtx,
        task: &Task,
        info: &TaskInfo,
        host: &str,
    ) -> HostEnd {
        if let Some(e) = bc.pv.host_files.error(host) {
            return self.fail_host(task, host, &e.to_string(), info.handler);
        }
        let base = self.run.scope(host, &bc.pv, Some(task), None).into_value();
        let items = match self.loop_items(task, &base) {
            Ok(items) => items,
            Err(e) => {
                return self.fail_host(
                    task,
                    host,
                    &self.located(task, &e.to_string()),
                    info.handler,
                );
            }
        };
        let Some(items) = items else {
            let attempt = self.attempt(task, host, base).await;
            return self.finish_task(task, info, host, attempt, false);
        };
        let mut results = Vec::new();
        let mut agg = Outcome::ok();
        let mut status = Status::Skipped;
        let mut ignored = false;
        for (index, item) in items.iter().enumerate() {
            let vars = self.loop_vars(task, item, index, items.len());
            let scope = self
                .run
                .scope(host, &bc.pv, Some(task), Some(vars))
                .into_value();
            let label = self.item_label(task, item, &scope);
            let a = self.attempt(task, host, scope).await;
            if a.status == Status::Unreachable {
                return self.finish_task(task, info, host, a, false);
            }
            self.report(task, info, host, &a, Some(label));
            // Each item's facts count for the next item (`x: "{{ x + [item] }}"`).
            if let Some(facts) = &a.outcome.facts {
                self.run.states.with(fact_target(task, host, &a), |s| {
                    for (k, v) in facts {
                        s.set_var(k, v.clone());
                    }
                });
            }
            agg.changed |= a.outcome.changed;
            agg.failed |= a.outcome.failed && !a.ignored;
            ignored |= a.ignored;
            status = merge_status(status, a.status);
            let mut r = a.outcome.to_value();
            if let Value::Object(m) = &mut r {
                m.insert(
                    task.loop_control
                        .loop_var
                        .clone()
                        .unwrap_or_else(|| "item".into()),
                    item.clone(),
                );
            }
            results.push(r);
            if let Some(p) = task.loop_control.pause {
                tokio::time::sleep(Duration::from_secs_f64(p)).await;
            }
        }
        agg.data.insert("results".into(), Value::Array(results));
        agg.msg = agg.failed.then(|| "One or more items failed".to_string());
        agg.skipped = status == Status::Skipped;
        let a = Attempt {
            outcome: agg,
            status,
            ignored,
            delegated: None,
        };
        self.finish_task(task, info, host, a, true)
    }

    /// Registers, notifies, counts and reports a task's final result
    /// (`items_reported`: a loop whose items were reported one by one).
    pub(super) fn finish_task(
        &self,
        task: &Task,
        info: &TaskInfo,
        host: &str,
        a: Attempt,
        items_reported: bool,
    ) -> HostEnd {
        let value = a.outcome.to_value();
        let notify = a.outcome.changed && a.status != Status::Failed;
        let target = fact_target(task, host, &a);
        if target != host {
            if let Some(facts) = &a.outcome.facts {
                self.run.states.with(target, |s| {
                    for (k, v) in facts {
                        s.set_var(k, v.clone());
                    }
                });
            }
        }
        let end = self.run.states.with(host, |s| {
            if let Some(reg) = &task.register {
                s.set_var(reg, value.clone());
            }
            if let (Some(facts), true) = (&a.outcome.facts, target == host) {
                for (k, v) in facts {
                    s.set_var(k, v.clone());
                }
            }
            if notify {
                s.notified.extend(task.notify.iter().cloned());
            }
            // Like Ansible, a `meta` action that took effect is not a result.
            if a.outcome.control.is_none() || a.status == Status::Failed {
                count(&mut s.stats, a.status, a.ignored);
            }
            match a.status {
                Status::Failed if !a.ignored => {
                    s.gone = Some(Gone::Failed);
                    HostEnd::Failed
                }
                Status::Unreachable if !task.ignore_unreachable => {
                    s.gone = Some(Gone::Unreachable);
                    HostEnd::Unreachable
                }
                _ => HostEnd::Continue,
            }
        });
        if task.attrs.no_log != Some(true) {
            self.services.redactor.add_secrets_in(&value);
        }
        if !items_reported {
            self.report(task, info, host, &a, None);
        }
        let end = end.unwrap_or(HostEnd::Failed);
        let (HostEnd::Continue, Some(control)) = (end, a.outcome.control) else {
            return end;
        };
        match control {
            Control::EndHost => {
                self.run.states.with(host, |s| s.gone = Some(Gone::Ended));
                HostEnd::EndHost
            }
            Control::EndPlay => HostEnd::EndPlay,
            Control::FlushHandlers => HostEnd::Flush,
            Control::ClearFacts => HostEnd::ClearFacts,
            Control::Noop => HostEnd::Continue,
        }
    }

    fn report(&self, task: &Task, info: &TaskInfo, host: &str, a: &Attempt, label: Option<String>) {
        let r = HostResult {
            host: host.to_string(),
            delegated_to: task.attrs.delegate_to.clone(),
            status: a.status,
            item_label: label,
            result: a.outcome.to_value(),
            diffs: a.outcome.diffs.clone(),
            ignored: a.ignored,
            show: a.outcome.show,
            no_log: task.attrs.no_log == Some(true),
        };
        self.reporter.host_result(info, &r);
        for w in &a.outcome.warnings {
            self.reporter.warning(w);
        }
    }

    /// Fails a host outside the module protocol (a bad include, a template
    /// error in a loop) and reports it.
    pub(super) fn fail_host(&self, task: &Task, host: &str, msg: &str, handler: bool) -> HostEnd {
        let info = TaskInfo {
            name: task.display_name(),
            location: task.span.location(),
            handler,
            module: task.module_name().map(String::from),
        };
        let outcome = Outcome {
            failed: true,
            msg: Some(msg.to_string()),
            ..Outcome::default()
        };
        let ignored = task.attrs.ignore_errors == Some(true);
        self.finish_task(
            task,
            &info,
            host,
            Attempt {
                outcome,
                status: Status::Failed,
                ignored,
                delegated: None,
            },
            false,
        )
    }

    /// "MESSAGE (task NAME at FILE:LINE:COL)".
    fn located(&self, task: &Task, msg: &str) -> String {
        format!(
            "{msg} (in task '{}' at {})",
            task.display_name(),
            task.span.location()
        )
    }

    pub(super) fn conditions_hold(
        &self,
        conds: &[String],
        scope: &minijinja::Value,
    ) -> Result<bool, TemplateError> {
        for c in conds {
            if !self.templar.eval_bool(c, scope)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Runs the module once for the host (with retries for `until`).
    async fn attempt(&self, task: &Task, host: &str, scope: minijinja::Value) -> Attempt {
        let ignore = task.attrs.ignore_errors == Some(true);
        let failed = |msg: String| Attempt {
            outcome: Outcome {
                failed: true,
                msg: Some(msg),
                ..Outcome::default()
            },
            status: Status::Failed,
            ignored: ignore,
            delegated: None,
        };
        match self.conditions_hold(&task.attrs.when, &scope) {
            Ok(true) => {}
            Ok(false) => {
                let mut o = Outcome::ok().with_msg("Conditional result was False");
                o.skipped = true;
                return Attempt {
                    outcome: o,
                    status: Status::Skipped,
                    ignored: false,
                    delegated: None,
                };
            }
            Err(e) => {
                return failed(self.located(task, &format!("the conditional check failed: {e}")));
            }
        }
        let TaskAction::Module { module, args, .. } = &task.action else {
            return failed("not a module task".into());
        };
        let args = match self.render_args(module.as_ref(), args, &scope) {
            Ok(a) => a,
            Err(e) => return failed(self.located(task, &e.to_string())),
        };
        // A templated `connection:` that names no plugin oplay has fails
        // the task (the host is not unreachable).
        if let Err(e) = self.conn_keywords(&task.attrs, &scope) {
            return failed(self.located(task, &e.to_string()));
        }
        let (conn, target) = match self.task_connection(task, host, &scope).await {
            Ok(c) => c,
            Err(e) => {
                let o = Outcome {
                    failed: true,
                    msg: Some(e.to_string()),
                    ..Outcome::default()
                }
                .with("unreachable", true);
                return Attempt {
                    outcome: o,
                    status: Status::Unreachable,
                    ignored: false,
                    delegated: None,
                };
            }
        };
        let result = self
            .invoke_with_retries(task, host, module.as_ref(), &args, &scope, conn)
            .await;
        let mut a = self.judge(task, result, &scope);
        a.delegated = task.attrs.delegate_to.is_some().then_some(target);
        a
    }

    async fn invoke_with_retries(
        &self,
        task: &Task,
        host: &str,
        module: &dyn crate::modules::Module,
        args: &Map<String, Value>,
        scope: &minijinja::Value,
        conn: Arc<dyn Connection>,
    ) -> Result<Outcome, ModuleError> {
        let env = self.task_env(task, scope)?;
        let become_ = self
            .become_for(task, scope)
            .map_err(|e| ModuleError::Failed(e.to_string()))?;
        let facts = self
            .run
            .states
            .read(host, |s| s.facts.clone())
            .unwrap_or_default();
        let limit = match self.task_timeout(task, scope) {
            Ok(l) => l,
            Err(e) => return Err(ModuleError::Params(e.to_string())),
        };
        let ctx = ModuleCtx {
            host,
            conn: &conn,
            become_,
            check: task.attrs.check_mode.unwrap_or(self.opts.check),
            diff: task.attrs.diff.unwrap_or(self.opts.diff),
            verbosity: self.opts.verbosity,
            env: &env,
            vars: scope,
            templar: &self.templar,
            search_paths: &task.search_paths,
            services: &self.services,
            facts: &facts,
            timeout: limit,
        };
        let Some(until) = &task.until else {
            return timed(limit, invoke(module, args, &ctx)).await;
        };
        let retries = task
            .retries
            .as_ref()
            .and_then(crate::value::to_int)
            .unwrap_or(3)
            .max(1);
        let delay = task
            .delay
            .as_ref()
            .and_then(|d| {
                d.as_f64()
                    .or_else(|| crate::value::to_int(d).map(|i| i as f64))
            })
            .unwrap_or(5.0);
        let mut left = retries;
        loop {
            let result = timed(limit, invoke(module, args, &ctx)).await;
            let value = match &result {
                Ok(o) => o.to_value(),
                Err(e) => json!({"failed": true, "msg": e.to_string()}),
            };
            let bound = self.bind_result(task, scope, &value);
            if self.conditions_hold(until, &bound).unwrap_or(false) || left <= 1 {
                return result.map(|mut o| {
                    o.data.insert("attempts".into(), json!(retries - left + 1));
                    o
                });
            }
            left -= 1;
            self.reporter.verbose(
                0,
                host,
                &format!(
                    "FAILED - RETRYING: {} ({left} retries left).",
                    task.display_name()
                ),
            );
            tokio::time::sleep(Duration::from_secs_f64(delay)).await;
        }
    }

    /// Applies `changed_when`, `failed_when` and `ignore_errors`.
    fn judge(
        &self,
        task: &Task,
        result: Result<Outcome, ModuleError>,
        scope: &minijinja::Value,
    ) -> Attempt {
        let ignore = task.attrs.ignore_errors == Some(true);
        let mut outcome = match result {
            Ok(o) => o,
            Err(e) if e.is_unreachable() => {
                let o = Outcome {
                    failed: true,
                    msg: Some(e.to_string()),
                    ..Outcome::default()
                }
                .with("unreachable", true);
                return Attempt {
                    outcome: o,
                    status: Status::Unreachable,
                    ignored: false,
                    delegated: None,
                };
            }
            Err(e) => Outcome {
                failed: true,
                msg: Some(e.to_string()),
                ..Outcome::default()
            },
        };
        if task.changed_when.is_some() || task.failed_when.is_some() {
            let bound = self.bind_result(task, scope, &outcome.to_value());
            if let Some(conds) = &task.changed_when {
                match self.conditions_hold(conds, &bound) {
                    Ok(c) => outcome.changed = c,
                    Err(e) => return self.judge_error(task, outcome, e),
                }
            }
            if let Some(conds) = &task.failed_when {
                match self.conditions_hold(conds, &bound) {
                    Ok(f) => {
                        outcome.failed = f;
                        if f && outcome.msg.is_none() {
                            outcome.msg = Some("failed_when condition was true".into());
                        }
                    }
                    Err(e) => return self.judge_error(task, outcome, e),
                }
            }
        }
        let status = if outcome.failed {
            Status::Failed
        } else if outcome.skipped {
            Status::Skipped
        } else if outcome.changed {
            Status::Changed
        } else {
            Status::Ok
        };
        Attempt {
            outcome,
            status,
            ignored: ignore && status == Status::Failed,
            delegated: None,
        }
    }

    fn judge_error(&self, task: &Task, mut outcome: Outcome, e: TemplateError) -> Attempt {
        outcome.failed = true;
        outcome.msg = Some(self.located(task, &format!("the conditional check failed: {e}")));
        Attempt {
            outcome,
            status: Status::Failed,
            ignored: task.attrs.ignore_errors == Some(true),
            delegated: None,
        }
    }

    /// The scope with the current result bound under the `register` name.
    fn bind_result(
        &self,
        task: &Task,
        scope: &minijinja::Value,
        value: &Value,
    ) -> minijinja::Value {
        let mut extra = Map::new();
        if let Some(reg) = &task.register {
            extra.insert(reg.clone(), value.clone());
        }
        if let Value::Object(m) = value {
            for (k, v) in m {
                extra.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let scope_obj = scope.clone();
        let layered =
            crate::template::VarScope::new(vec![crate::template::Layer::new("result", extra)]);
        Overlay::wrap(layered, scope_obj)
    }

    /// Templates a task's arguments and drops those equal to `omit`.
    fn render_args(
        &self,
        module: &dyn crate::modules::Module,
        args: &Map<String, Value>,
        scope: &minijinja::Value,
    ) -> Result<Map<String, Value>, TemplateError> {
        let raw_keys = module.spec().raw_params();
        let mut out = Map::with_capacity(args.len());
        for (k, v) in args {
            let mut rendered = if raw_keys.contains(&k.as_str()) {
                v.clone()
            } else {
                self.taint_secrets(v, scope);
                self.templar.render_value(v, scope)?
            };
            if rendered.as_str() == Some(crate::template::omit_token()) {
                continue;
            }
            crate::template::strip_omitted(&mut rendered);
            if crate::secret::is_secret_name(k) || module.spec().param(k).is_some_and(|p| p.secret)
            {
                self.services
                    .redactor
                    .add_secrets_in(&json!({ "password": rendered }));
            }
            out.insert(k.clone(), rendered);
        }
        Ok(out)
    }

    /// The task's `timeout:`, templated; `None` when it has none (or 0).
    fn task_timeout(
        &self,
        task: &Task,
        scope: &minijinja::Value,
    ) -> Result<Option<Duration>, KeywordError> {
        let Some(v) = &task.attrs.timeout else {
            return Ok(None);
        };
        let v = self.templar.render_value(v, scope)?;
        let secs = crate::value::to_int(&v)
            .filter(|s| *s >= 0)
            .ok_or_else(|| KeywordError::Timeout(v.clone()))?;
        Ok((secs > 0).then(|| Duration::from_secs(secs as u64)))
    }

    /// Tells the redactor what the templates in `v` derive from secrets.
    fn taint_secrets(&self, v: &Value, scope: &minijinja::Value) {
        match v {
            Value::String(s) => self
                .templar
                .taint_secrets(s, scope, &self.services.redactor),
            Value::Array(items) => items.iter().for_each(|i| self.taint_secrets(i, scope)),
            Value::Object(m) => m.values().for_each(|i| self.taint_secrets(i, scope)),
            _ => {}
        }
    }

    fn task_env(
        &self,
        task: &Task,
        scope: &minijinja::Value,
    ) -> Result<Vec<(String, String)>, ModuleError> {
        let mut env: Vec<(String, String)> = Vec::new();
        for layer in task.attrs.environment.iter().rev() {
            let v = self.templar.render_value(layer, scope)?;
            if let Value::Object(m) = v {
                for (k, v) in m {
                    if !crate::connection::is_env_name(&k) {
                        return Err(ModuleError::Params(format!(
                            "environment: `{k}` is not a valid variable name \
                             (letters, digits and `_`, not starting with a digit)"
                        )));
                    }
                    let s = crate::value::scalar_to_string(&v).unwrap_or_default();
                    env.retain(|(ek, _)| *ek != k);
                    env.push((k, s));
                }
            }
        }
        Ok(env)
    }

    /// The items of a task's loop, or None when it has no loop.
    fn loop_items(
        &self,
        task: &Task,
        scope: &minijinja::Value,
    ) -> Result<Option<Vec<Value>>, TemplateError> {
        let Some(spec) = &task.loop_ else {
            return Ok(None);
        };
        let v = self.templar.render_value(spec, scope)?;
        let mut items = match v {
            Value::Array(a) => a,
            Value::Null => Vec::new(),
            Value::Object(m) => m
                .into_iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect(),
            other => vec![other],
        };
        if task.loop_flatten {
            items = items
                .into_iter()
                .flat_map(|i| match i {
                    Value::Array(a) => a,
                    o => vec![o],
                })
                .collect();
        }
        Ok(Some(items))
    }

    fn loop_vars(&self, task: &Task, item: &Value, index: usize, len: usize) -> Map<String, Value> {
        let lc = &task.loop_control;
        let mut m = Map::new();
        m.insert(
            lc.loop_var.clone().unwrap_or_else(|| "item".into()),
            item.clone(),
        );
        if let Some(iv) = &lc.index_var {
            m.insert(iv.clone(), json!(index));
        }
        m.insert(
            "ansible_loop".into(),
            json!({"index": index + 1, "index0": index, "first": index == 0, "last": index + 1 == len, "length": len}),
        );
        m
    }

    fn item_label(&self, task: &Task, item: &Value, scope: &minijinja::Value) -> String {
        if let Some(label) = &task.loop_control.label {
            if let Ok(s) = self.templar.render_str(label, scope) {
                return s;
            }
        }
        match item {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// Where a task's facts go: the delegate with `delegate_facts: true`,
/// else the host the task ran for.
fn fact_target<'a>(task: &Task, host: &'a str, a: &'a Attempt) -> &'a str {
    match (&a.delegated, task.attrs.delegate_facts) {
        (Some(d), Some(true)) => d,
        _ => host,
    }
}

fn count(stats: &mut crate::output::HostStats, status: Status, ignored: bool) {
    match status {
        Status::Ok => stats.ok += 1,
        Status::Changed => {
            stats.ok += 1;
            stats.changed += 1;
        }
        Status::Skipped => stats.skipped += 1,
        Status::Failed if ignored => {
            stats.ok += 1;
            stats.ignored += 1;
        }
        Status::Failed => stats.failed += 1,
        Status::Unreachable => stats.unreachable += 1,
    }
}

/// The overall status of a looped task from its items.
fn merge_status(acc: Status, item: Status) -> Status {
    let rank = |s: Status| match s {
        Status::Skipped => 0,
        Status::Ok => 1,
        Status::Changed => 2,
        Status::Failed => 3,
        Status::Unreachable => 4,
    };
    if rank(item) > rank(acc) { item } else { acc }
}

/// A scope with extra variables on top of another scope.
#[derive(Debug)]
struct Overlay {
    top: crate::template::VarScope,
    base: minijinja::Value,
}

impl Overlay {
    fn wrap(top: crate::template::VarScope, base: minijinja::Value) -> minijinja::Value {
        minijinja::Value::from_object(Overlay { top, base })
    }
}

impl minijinja::value::Object for Overlay {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        let name = key.as_str()?;
        if let Some(v) = self.top.get_raw(name) {
            return Some(minijinja::Value::from_serialize(v));
        }
        self.base.get_item(key).ok().filter(|v| !v.is_undefined())
    }
}

/// Runs one attempt of a module under the task's `timeout:`. When it
/// expires the attempt is dropped, which stops its command on the host
/// (see `connection::ssh::shell`), and the task fails as in Ansible.
async fn timed(
    limit: Option<Duration>,
    attempt: impl std::future::Future<Output = Result<Outcome, ModuleError>>,
) -> Result<Outcome, ModuleError> {
    let Some(limit) = limit else {
        return attempt.await;
    };
    match tokio::time::timeout(limit, attempt).await {
        Ok(result) => result,
        Err(_) => {
            let secs = limit.as_secs();
            Ok(Outcome {
                failed: true,
                msg: Some(format!("Task failed: Timed out after {secs} second(s).")),
                ..Outcome::default()
            }
            .with("timedout", json!({ "period": secs })))
        }
    }
}
