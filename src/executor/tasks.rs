//! Walking a list of tasks on a set of hosts: blocks with rescue and
//! always, includes, tag selection, and the per-task barrier of the linear
//! strategy.

use std::sync::atomic::Ordering;
use std::time::Instant;

use futures::stream::{self, StreamExt};

use super::Executor;
use super::host::HostEnd;
use super::play::BatchCtx;
use super::state::Gone;
use crate::output::{Progress, TaskInfo};
use crate::playbook::{Task, TaskAction};

/// The parts of a templated `include_tasks`.
struct DynamicInclude<'a> {
    file: &'a str,
    base_dir: &'a std::path::Path,
    inherited: &'a crate::playbook::Inherited,
}

impl Executor {
    /// Runs tasks in order on `hosts`; returns the hosts still in the play.
    pub(super) async fn run_list(
        &self,
        bc: &BatchCtx,
        tasks: &[Task],
        hosts: Vec<String>,
        handler: bool,
    ) -> Vec<String> {
        let mut active = hosts;
        for task in tasks {
            if active.is_empty() || bc.aborted() {
                break;
            }
            active = Box::pin(self.run_task(bc, task, active, handler)).await;
        }
        active
    }

    async fn run_task(
        &self,
        bc: &BatchCtx,
        task: &Task,
        hosts: Vec<String>,
        handler: bool,
    ) -> Vec<String> {
        match &task.action {
            TaskAction::Module { .. } => self.run_module_task(bc, task, hosts, handler).await,
            TaskAction::Block {
                block,
                rescue,
                always,
            } => {
                self.run_block(bc, block, rescue, always, hosts, handler)
                    .await
            }
            TaskAction::Included { tasks, .. } => {
                let passing = self.include_hosts(bc, task, hosts.clone()).await;
                let after = self.run_list(bc, tasks, passing.clone(), handler).await;
                hosts
                    .into_iter()
                    .filter(|h| !passing.contains(h) || after.contains(h))
                    .collect()
            }
            TaskAction::Include {
                file,
                base_dir,
                inherited,
            } => {
                let include = DynamicInclude {
                    file,
                    base_dir,
                    inherited,
                };
                self.run_dynamic_include(bc, task, &include, hosts, handler)
                    .await
            }
        }
    }

    /// Whether tags select this task (`--tags`, `--skip-tags`, `always`, `never`).
    pub(super) fn selected(&self, task: &Task) -> bool {
        let tags = task.tags();
        let has = |t: &str| tags.iter().any(|x| x == t);
        if self
            .opts
            .skip_tags
            .iter()
            .any(|s| has(s) || (s == "tagged" && !tags.is_empty()))
        {
            return false;
        }
        if has("always") {
            return true;
        }
        if self.opts.tags.is_empty() || self.opts.tags.iter().any(|t| t == "all") {
            return !has("never");
        }
        self.opts.tags.iter().any(|t| {
            has(t) || (t == "tagged" && !tags.is_empty()) || (t == "untagged" && tags.is_empty())
        })
    }

    /// `--start-at-task`: false until the named task is reached.
    fn reached_start(&self, task: &Task) -> bool {
        let Ok(mut start) = self.start_at.lock() else {
            return true;
        };
        match start.as_deref() {
            None => true,
            Some(name) if task.name.as_deref() == Some(name) || task.display_name() == name => {
                *start = None;
                true
            }
            Some(_) => false,
        }
    }

    async fn run_module_task(
        &self,
        bc: &BatchCtx,
        task: &Task,
        hosts: Vec<String>,
        handler: bool,
    ) -> Vec<String> {
        if !self.selected(task) || !self.reached_start(task) {
            return hosts;
        }
        let info = TaskInfo {
            name: task.display_name(),
            location: task.span.location(),
            handler,
            module: task.module_name().map(String::from),
        };
        self.reporter.task_start(&info);
        let started = Instant::now();
        let run_once = task.attrs.run_once.unwrap_or(false);
        let targets: Vec<String> = if run_once {
            hosts.iter().take(1).cloned().collect()
        } else {
            hosts.clone()
        };
        if let Some(note) = task
            .module_name()
            .and_then(|m| crate::scripting::override_note(&self.services.registry, m))
        {
            self.reporter.verbose(1, &targets.join(", "), &note);
        }
        let count = targets.len();
        self.reporter
            .task_progress(&info, Progress::Started { hosts: count });
        let ends = self
            .run_hosts(bc, task, &info, targets, run_once, handler)
            .await;
        self.reporter
            .task_progress(&info, Progress::Ended { hosts: count });
        self.record_time(task.id, &info.name, &info.location, started.elapsed());
        if run_once {
            self.share_run_once(task, &hosts, &ends);
        }
        // ansible-core runs `meta: clear_facts` once, on the first host,
        // and clears the facts of every host of the play (the batch).
        let first = hosts.first();
        if ends
            .iter()
            .any(|(h, e)| Some(h) == first && *e == HostEnd::ClearFacts)
        {
            for h in bc.pv.play_hosts.iter() {
                self.run.states.with(h, |s| s.facts = Default::default());
            }
        }
        let flush = !handler && ends.iter().any(|(_, e)| *e == HostEnd::Flush);
        let fatal = task.attrs.any_errors_fatal.unwrap_or(bc.any_errors_fatal);
        let active = self.survivors(bc, hosts, &ends, run_once, fatal);
        if flush {
            return self.flush_handlers(bc, active).await;
        }
        active
    }

    /// Runs a module task on its targets, at most `forks` (and `throttle`)
    /// at once.
    async fn run_hosts(
        &self,
        bc: &BatchCtx,
        task: &Task,
        info: &TaskInfo,
        targets: Vec<String>,
        run_once: bool,
        handler: bool,
    ) -> Vec<(String, HostEnd)> {
        // Ansible ignores `throttle` on a `run_once` task.
        let gate = match (run_once, targets.first()) {
            (false, Some(first)) => {
                let scope = self.run.scope(first, &bc.pv, Some(task), None).into_value();
                self.throttle_gate(&format!("task {}", task.id), &task.attrs, &scope)
            }
            _ => Ok(None),
        };
        match gate {
            Ok(gate) => {
                stream::iter(targets)
                    .map(|h| {
                        let (gate, info) = (gate.clone(), info);
                        async move {
                            let _permit = match &gate {
                                Some(g) => g.clone().acquire_owned().await.ok(),
                                None => None,
                            };
                            let end = self.host_task(bc, task, info, &h).await;
                            self.reporter.task_progress(info, Progress::HostDone);
                            (h, end)
                        }
                    })
                    .buffer_unordered(self.opts.forks.max(1))
                    .collect()
                    .await
            }
            Err(e) => targets
                .into_iter()
                .map(|h| {
                    let end = self.fail_host(task, &h, &e.to_string(), handler);
                    (h, end)
                })
                .collect(),
        }
    }

    /// A `run_once` result counts for every host of the batch.
    fn share_run_once(&self, task: &Task, hosts: &[String], ends: &[(String, HostEnd)]) {
        let (Some(reg), Some((first, _))) = (&task.register, ends.first()) else {
            return;
        };
        let Some(value) = self
            .run
            .states
            .read(first, |s| s.vars.get(reg).cloned())
            .flatten()
        else {
            return;
        };
        for h in hosts.iter().skip(1) {
            self.run.states.with(h, |s| s.set_var(reg, value.clone()));
        }
    }

    /// The hosts that go on after a task, and the play-wide stop rules.
    pub(super) fn survivors(
        &self,
        bc: &BatchCtx,
        hosts: Vec<String>,
        ends: &[(String, HostEnd)],
        run_once: bool,
        any_errors_fatal: bool,
    ) -> Vec<String> {
        let end_of = |h: &str| ends.iter().find(|(x, _)| x == h).map(|(_, e)| *e);
        let any_failed = ends.iter().any(|(_, e)| *e == HostEnd::Failed);
        if ends.iter().any(|(_, e)| *e == HostEnd::EndPlay) {
            return Vec::new();
        }
        let protected = bc.rescuable.load(Ordering::Relaxed) > 0;
        let fatal = any_errors_fatal && any_failed && !protected;
        let mut out = Vec::new();
        for h in hosts {
            match end_of(&h) {
                Some(HostEnd::Failed) if run_once => return Vec::new(),
                Some(HostEnd::Failed | HostEnd::Unreachable | HostEnd::EndHost) => {}
                _ => out.push(h),
            }
        }
        if fatal {
            bc.abort.store(true, Ordering::Relaxed);
            return Vec::new();
        }
        if let (Some(pct), false) = (bc.max_fail_percentage, protected) {
            let total = bc.pv.play_hosts.len().max(1) as f64;
            let failed = bc
                .pv
                .play_hosts
                .iter()
                .filter(|h| {
                    self.run
                        .states
                        .read(h, |s| {
                            matches!(s.gone, Some(Gone::Failed | Gone::Unreachable))
                        })
                        .unwrap_or(false)
                })
                .count() as f64;
            if failed / total * 100.0 > pct {
                bc.abort.store(true, Ordering::Relaxed);
                return Vec::new();
            }
        }
        out
    }

    async fn run_block(
        &self,
        bc: &BatchCtx,
        block: &[Task],
        rescue: &[Task],
        always: &[Task],
        hosts: Vec<String>,
        handler: bool,
    ) -> Vec<String> {
        if !rescue.is_empty() {
            bc.rescuable.fetch_add(1, Ordering::Relaxed);
        }
        let after_block = self.run_list(bc, block, hosts.clone(), handler).await;
        if !rescue.is_empty() {
            bc.rescuable.fetch_sub(1, Ordering::Relaxed);
        }
        let failed: Vec<String> = hosts
            .iter()
            .filter(|h| !after_block.contains(h) && self.is_gone(h, Gone::Failed))
            .cloned()
            .collect();
        let mut survivors = after_block;
        if !rescue.is_empty() && !failed.is_empty() {
            for h in &failed {
                self.run.states.with(h, |s| {
                    s.gone = None;
                    s.stats.failed = s.stats.failed.saturating_sub(1);
                });
            }
            let rescued = self.run_list(bc, rescue, failed.clone(), handler).await;
            for h in &rescued {
                self.run.states.with(h, |s| s.stats.rescued += 1);
            }
            survivors.extend(rescued);
        }
        if !always.is_empty() {
            let ran: Vec<String> = hosts
                .iter()
                .filter(|h| !self.is_gone(h, Gone::Unreachable))
                .cloned()
                .collect();
            let after_always = self.run_list(bc, always, ran, handler).await;
            survivors.retain(|h| after_always.contains(h));
        }
        hosts
            .into_iter()
            .filter(|h| survivors.contains(h))
            .collect()
    }

    fn is_gone(&self, host: &str, why: Gone) -> bool {
        self.run
            .states
            .read(host, |s| s.gone == Some(why))
            .unwrap_or(false)
    }

    /// Hosts for which an include's own `when` holds.
    async fn include_hosts(&self, bc: &BatchCtx, task: &Task, hosts: Vec<String>) -> Vec<String> {
        if !self.selected(task) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for h in hosts {
            let scope = self.run.scope(&h, &bc.pv, Some(task), None).into_value();
            if self
                .conditions_hold(&task.attrs.when, &scope)
                .unwrap_or(false)
            {
                out.push(h);
            }
        }
        out
    }

    /// `include_tasks` with a templated name: load per distinct file.
    async fn run_dynamic_include(
        &self,
        bc: &BatchCtx,
        task: &Task,
        include: &DynamicInclude<'_>,
        hosts: Vec<String>,
        handler: bool,
    ) -> Vec<String> {
        let DynamicInclude {
            file,
            base_dir,
            inherited,
        } = include;
        let passing = self.include_hosts(bc, task, hosts.clone()).await;
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        let mut failed = Vec::new();
        for h in &passing {
            let scope = self.run.scope(h, &bc.pv, Some(task), None).into_value();
            match self.templar.render_str(file, &scope) {
                Ok(name) => match groups.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, hs)) => hs.push(h.clone()),
                    None => groups.push((name, vec![h.clone()])),
                },
                Err(e) => {
                    self.fail_host(task, h, &format!("include_tasks: {e}"), handler);
                    failed.push(h.clone());
                }
            }
        }
        let mut survivors: Vec<String> = hosts
            .iter()
            .filter(|h| !passing.contains(h))
            .cloned()
            .collect();
        for (name, group) in groups {
            let path = base_dir.join(&name);
            let loaded = self
                .loader
                .lock()
                .map_err(|_| "loader poisoned".to_string())
                .and_then(|mut l| {
                    l.load_include(&path, task, inherited)
                        .map_err(|e| e.to_string())
                });
            match loaded {
                Ok(tasks) => survivors.extend(self.run_list(bc, &tasks, group, handler).await),
                Err(msg) => {
                    for h in &group {
                        self.fail_host(task, h, &msg, handler);
                    }
                }
            }
        }
        hosts
            .into_iter()
            .filter(|h| survivors.contains(h))
            .collect()
    }
}
