//! One play: pick its hosts, split them into `serial` batches, gather
//! facts, run the sections and flush handlers after each.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Executor;
use super::KeywordError;
use super::prompts::PromptError;
use super::scope::PlayVars;
use super::state::Gone;
use crate::playbook::{BatchSize, HostOrder, Play, Strategy};

/// What the tasks of one batch share.
pub(super) struct BatchCtx {
    pub pv: PlayVars,
    pub any_errors_fatal: bool,
    pub max_fail_percentage: Option<f64>,
    /// Set when the play must stop for every host (`any_errors_fatal`,
    /// `max_fail_percentage`, `meta: end_play`).
    pub abort: AtomicBool,
    /// How many blocks with a `rescue` are being run: a failure there is
    /// handled by the rescue and must not trip `any_errors_fatal` or
    /// `max_fail_percentage`.
    pub rescuable: std::sync::atomic::AtomicUsize,
}

impl BatchCtx {
    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }
}

impl Executor {
    /// Runs a play; false when the whole playbook must stop.
    pub(super) async fn run_play(&self, play: Arc<Play>) -> bool {
        let hosts = match self.play_hosts(&play) {
            Ok(h) => h,
            Err(e) => {
                self.reporter.warning(&e.to_string());
                return true;
            }
        };
        // As ansible-playbook does, the questions come before the play's banner.
        let (prompted, prompted_raw) = match self.ask_vars_prompt(&play).await {
            Ok(answers) => answers,
            Err(PromptError::Interrupted) => return false,
            Err(e) => {
                self.set_fatal(e.to_string());
                return false;
            }
        };
        self.reporter.play_start(&play.name);
        if hosts.is_empty() {
            self.reporter
                .warning("no hosts matched, skipping this play");
            return true;
        }
        for batch in batches(&hosts, &play.serial) {
            // `order:` is the order hosts run in; like ansible-core, the
            // magic variables (`ansible_play_batch`...) keep inventory order.
            let shown: std::collections::HashSet<&String> = batch.iter().collect();
            let in_inventory = self
                .hosts
                .iter()
                .filter(|h| shown.contains(h))
                .cloned()
                .collect();
            let mut pv = PlayVars::new(play.clone(), in_inventory);
            pv.prompted = prompted.clone();
            pv.prompted_raw = prompted_raw.clone();
            let bc = BatchCtx {
                pv,
                any_errors_fatal: play.any_errors_fatal,
                max_fail_percentage: play.max_fail_percentage,
                abort: AtomicBool::new(false),
                rescuable: Default::default(),
            };
            // On SIGINT the batch is dropped where it is: its running
            // tasks stop their commands and remove their temporary files.
            tokio::select! {
                () = self.run_batch(&bc, batch) => {}
                () = self.opts.cancel.cancelled() => return false,
            }
            if bc.aborted() {
                return false;
            }
        }
        true
    }

    /// The play's hosts: its pattern, narrowed by `--limit`, without hosts
    /// that already failed or became unreachable earlier in the run.
    fn play_hosts(&self, play: &Play) -> Result<Vec<String>, KeywordError> {
        let scope = crate::template::VarScope::new(vec![crate::template::Layer::shared(
            "extra",
            self.run.extra.clone(),
        )])
        .into_value();
        let pattern = self
            .templar
            .render_str(&play.hosts, &scope)
            .map_err(|source| KeywordError::PlayHosts {
                play: play.name.clone(),
                source,
            })?;
        let inv = &self.run.inventory;
        let mut hosts = inv.select(&pattern)?;
        if let Some(limit) = &self.opts.limit {
            let allowed = inv.select(limit)?;
            hosts.retain(|h| allowed.contains(h));
        }
        hosts.retain(|h| {
            self.run
                .states
                .read(h, |s| s.gone.is_none() || s.gone == Some(Gone::Ended))
                .unwrap_or(false)
        });
        for h in &hosts {
            self.run.states.with(h, |s| s.gone = None);
        }
        order_hosts(&mut hosts, play.order);
        Ok(hosts)
    }

    async fn run_batch(&self, bc: &BatchCtx, batch: Vec<String>) {
        self.load_vars_files(&bc.pv, &batch, false);
        self.register_secrets(bc, &batch);
        let mut active = batch;
        if bc.pv.play.gather_facts {
            active = self.gather_facts(bc, active).await;
            self.load_vars_files(&bc.pv, &active, true);
        }
        match bc.pv.play.strategy {
            Strategy::Linear => {
                for section in &bc.pv.play.sections {
                    let entered = active.clone();
                    active = self.run_list(bc, section, active, false).await;
                    active = self.section_handlers(bc, &entered, active).await;
                }
            }
            Strategy::Free => {
                let runs = active.into_iter().map(|h| async move {
                    let mut me = vec![h];
                    for section in &bc.pv.play.sections {
                        let entered = me.clone();
                        me = self.run_list(bc, section, me, false).await;
                        me = self.section_handlers(bc, &entered, me).await;
                    }
                });
                futures::future::join_all(runs).await;
            }
        }
    }

    /// The handlers at the end of a section. With `force_handlers` (or
    /// `--force-handlers`) they also run on the hosts that failed in the
    /// section, or were stopped by `any_errors_fatal` or
    /// `max_fail_percentage`, as ansible-core's play compiler wraps each
    /// section in a block whose `always` flushes the handlers. Those hosts
    /// still leave the play afterwards.
    async fn section_handlers(
        &self,
        bc: &BatchCtx,
        entered: &[String],
        active: Vec<String>,
    ) -> Vec<String> {
        let force = bc
            .pv
            .play
            .force_handlers
            .unwrap_or(self.opts.force_handlers);
        if !force {
            return self.flush_handlers(bc, active).await;
        }
        let forced: Vec<String> = entered
            .iter()
            .filter(|h| {
                let gone = self.run.states.read(h, |s| s.gone).flatten();
                active.contains(h) || gone == Some(Gone::Failed) || (bc.aborted() && gone.is_none())
            })
            .cloned()
            .collect();
        let after = if bc.aborted() {
            // The play is over; only its handlers still run.
            let last = BatchCtx {
                pv: bc.pv.clone(),
                any_errors_fatal: false,
                max_fail_percentage: None,
                abort: AtomicBool::new(false),
                rescuable: Default::default(),
            };
            self.flush_handlers(&last, forced).await
        } else {
            self.flush_handlers(bc, forced).await
        };
        active.into_iter().filter(|h| after.contains(h)).collect()
    }

    /// Values of secret-named variables are known to the redactor before
    /// any task can print them.
    fn register_secrets(&self, bc: &BatchCtx, hosts: &[String]) {
        for host in hosts {
            let scope = self.run.scope(host, &bc.pv, None, None);
            let names: Vec<String> = scope
                .names()
                .into_iter()
                .filter(|n| crate::secret::is_secret_name(n))
                .collect();
            let value = scope.into_value();
            for name in names {
                // A password not stored yet is generated (and made known)
                // by its first use, not by the play's start: an earlier
                // play may still move its folder (credentials.yml).
                let probe = crate::template::Probe::StoredPasswords;
                if let Ok(v) = self.templar.eval_probe(&name, &value, probe) {
                    self.services
                        .redactor
                        .add_secrets_in(&serde_json::json!({ "password": v }));
                }
            }
        }
    }

    /// Runs the handlers notified so far, in the order they are defined,
    /// each on the hosts that notified it by name or by a `listen` topic.
    /// A topic wakes every handler listening to it, so the notifications
    /// are consumed only once all handlers have been looked at.
    pub(super) async fn flush_handlers(&self, bc: &BatchCtx, active: Vec<String>) -> Vec<String> {
        let mut active = active;
        let mut consumed: Vec<(String, Vec<String>)> = Vec::new();
        for handler in &bc.pv.play.handlers {
            let names = handler_names(handler);
            let targets: Vec<String> = active
                .iter()
                .filter(|h| {
                    self.run
                        .states
                        .read(h, |s| names.iter().any(|n| s.notified.contains(n)))
                        .unwrap_or(false)
                })
                .cloned()
                .collect();
            if targets.is_empty() {
                continue;
            }
            for h in &targets {
                consumed.push((h.clone(), names.clone()));
            }
            let survivors = self
                .run_list(bc, std::slice::from_ref(handler), targets.clone(), true)
                .await;
            active.retain(|h| !targets.contains(h) || survivors.contains(h));
        }
        for (host, names) in consumed {
            self.run
                .states
                .with(&host, |s| s.notified.retain(|n| !names.contains(n)));
        }
        active
    }
}

/// The names a handler answers to: its name (also as `role : name`) and
/// its `listen` topics.
fn handler_names(handler: &crate::playbook::Task) -> Vec<String> {
    let mut names: Vec<String> = handler.listen.clone();
    if let Some(n) = &handler.name {
        names.push(n.clone());
        if let Some(role) = &handler.role {
            names.push(format!("{} : {n}", role.name));
        }
    }
    names
}

/// Puts a play's hosts in its `order:` (before `serial` splits them).
fn order_hosts(hosts: &mut [String], order: HostOrder) {
    match order {
        HostOrder::Inventory => {}
        HostOrder::ReverseInventory => hosts.reverse(),
        HostOrder::Sorted => hosts.sort(),
        HostOrder::ReverseSorted => {
            hosts.sort();
            hosts.reverse();
        }
        HostOrder::Shuffle => {
            use rand::seq::SliceRandom;
            hosts.shuffle(&mut rand::rng());
        }
    }
}

/// Splits hosts into `serial` batches; the last size repeats.
fn batches(hosts: &[String], serial: &[BatchSize]) -> Vec<Vec<String>> {
    if serial.is_empty() {
        return vec![hosts.to_vec()];
    }
    let mut out = Vec::new();
    let mut rest = hosts;
    let mut i = 0;
    while !rest.is_empty() {
        let size = match &serial[i.min(serial.len() - 1)] {
            BatchSize::Count(c) => *c,
            BatchSize::Percent(p) => ((hosts.len() as f64) * p / 100.0).floor() as usize,
        }
        .clamp(1, rest.len());
        out.push(rest[..size].to_vec());
        rest = &rest[size..];
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_batches() {
        let hosts: Vec<String> = (1..=7).map(|i| format!("h{i}")).collect();
        let sizes = |s: &[BatchSize]| batches(&hosts, s).iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(sizes(&[]), vec![7]);
        assert_eq!(sizes(&[BatchSize::Count(3)]), vec![3, 3, 1]);
        assert_eq!(
            sizes(&[
                BatchSize::Count(1),
                BatchSize::Count(2),
                BatchSize::Percent(50.0)
            ]),
            vec![1, 2, 3, 1]
        );
    }
}
