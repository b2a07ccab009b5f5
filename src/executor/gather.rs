//! Fact gathering at the start of a play: one round trip per host (see
//! `facts/` for the script and its parsers), over the play's `connection`
//! and `remote_user`, at most `throttle` hosts at once, with the play's
//! `gather_subset`, `gather_timeout` and `fact_path`.

use std::sync::Arc;
use std::time::Instant;

use futures::stream::{self, StreamExt};
use serde_json::{Map, Value};

use super::Executor;
use super::facts;
use super::host::{Attempt, HostEnd};
use super::play::BatchCtx;
use crate::connection::ExecRequest;
use crate::modules::Outcome;
use crate::output::{Progress, Status, TaskInfo};
use crate::playbook::{Task, TaskAction};

impl Executor {
    /// Gathers facts on every host in one round trip each.
    pub(super) async fn gather_facts(&self, bc: &BatchCtx, hosts: Vec<String>) -> Vec<String> {
        let info = TaskInfo {
            name: "Gathering Facts".into(),
            location: bc.pv.play.span.location(),
            handler: false,
            module: Some("setup".into()),
        };
        self.reporter.task_start(&info);
        let started = Instant::now();
        let count = hosts.len();
        self.reporter
            .task_progress(&info, Progress::Started { hosts: count });
        let key = format!("facts {}", bc.pv.play.span.location());
        let gate = match hosts.first() {
            Some(first) => {
                let scope = self.run.scope(first, &bc.pv, None, None).into_value();
                self.throttle_gate(&key, &bc.pv.play.attrs, &scope)
                    .unwrap_or_else(|msg| {
                        self.reporter
                            .warning(&format!("{}: {msg}", bc.pv.play.span.location()));
                        None
                    })
            }
            None => None,
        };
        let ends: Vec<(String, HostEnd)> = stream::iter(hosts.clone())
            .map(|h| {
                let (gate, info) = (gate.clone(), &info);
                async move {
                    let _permit = match &gate {
                        Some(g) => g.clone().acquire_owned().await.ok(),
                        None => None,
                    };
                    let end = self.gather_host(bc, info, &h).await;
                    self.reporter.task_progress(info, Progress::HostDone);
                    (h, end)
                }
            })
            .buffer_unordered(self.opts.forks.max(1))
            .collect()
            .await;
        self.reporter
            .task_progress(&info, Progress::Ended { hosts: count });
        self.record_time(0, &info.name, &info.location, started.elapsed());
        self.survivors(bc, hosts, &ends, false, bc.any_errors_fatal)
    }

    /// Runs the fact script on one host: the facts, or why not.
    async fn gather_result(
        &self,
        bc: &BatchCtx,
        host: &str,
    ) -> Result<Map<String, Value>, (Status, String)> {
        let scope = self.run.scope(host, &bc.pv, None, None).into_value();
        let play = &bc.pv.play;
        let opts = facts::GatherOptions::from_keywords(
            play.gather_subset.as_ref(),
            play.gather_timeout.as_ref(),
            play.fact_path.as_ref(),
        )
        .map_err(|msg| (Status::Failed, msg))?;
        let kw = self
            .conn_keywords(&play.attrs, &scope)
            .map_err(|e| (Status::Failed, e.to_string()))?;
        let conn = self
            .conns
            .get(host, &self.settings(host, &scope, &kw))
            .await
            .map_err(|e| (Status::Unreachable, e.to_string()))?;
        match conn.exec(&ExecRequest::shell(facts::script(&opts))).await {
            Ok(out) if out.rc == 0 => Ok(facts::parse(&out.stdout, &opts)),
            Ok(out) => Err((
                Status::Failed,
                format!(
                    "fact gathering failed (rc {}): {}",
                    out.rc,
                    out.stderr.trim()
                ),
            )),
            Err(e) if e.is_unreachable() => Err((Status::Unreachable, e.to_string())),
            Err(e) => Err((Status::Failed, e.to_string())),
        }
    }

    /// Gathers facts for one host and reports the result.
    pub(super) async fn gather_host(&self, bc: &BatchCtx, info: &TaskInfo, host: &str) -> HostEnd {
        let result = self.gather_result(bc, host).await;
        let (status, outcome) = match result {
            Ok(f) => {
                self.run.states.with(host, |s| s.set_facts(f));
                (Status::Ok, Outcome::ok())
            }
            Err((st, msg)) => {
                let mut o = Outcome {
                    failed: true,
                    msg: Some(msg),
                    ..Outcome::default()
                };
                if st == Status::Unreachable {
                    o = o.with("unreachable", true);
                }
                (st, o)
            }
        };
        let task = facts_task(bc);
        self.finish_task(
            &task,
            info,
            host,
            Attempt {
                outcome,
                status,
                ignored: false,
                delegated: None,
            },
            false,
        )
    }
}

/// A stand-in task for fact gathering (no register, no notify).
fn facts_task(bc: &BatchCtx) -> Task {
    Task {
        id: 0,
        name: Some("Gathering Facts".into()),
        span: bc.pv.play.span.clone(),
        action: TaskAction::Block {
            block: vec![],
            rescue: vec![],
            always: vec![],
        },
        attrs: Default::default(),
        loop_: None,
        loop_flatten: false,
        loop_control: Default::default(),
        register: None,
        changed_when: None,
        failed_when: None,
        notify: vec![],
        listen: vec![],
        until: None,
        retries: None,
        delay: None,
        ignore_unreachable: bc.pv.play.ignore_unreachable,
        role: None,
        search_paths: Arc::new(vec![]),
        chain: Default::default(),
    }
}
