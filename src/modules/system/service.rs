//! `service`: start, stop, restart, reload, enable or disable a service
//! through systemd, Debian's init scripts, or OpenRC.
//!
//! The init-system commands live in [`backend`]; this file decides what
//! to do and, after a start, makes sure the daemon really stays up.

mod backend;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::modules::{
    Action, ApplyPlan, Change, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Planned, Query,
    parse_params,
};
use backend::{InitSystem, Status, Verb};

/// Starts, stops, restarts or reloads a service, and enables it at boot.
///
/// Like ansible.builtin.service. The init system comes from `use`, else
/// the `service_mgr` fact, else the host: systemd only when it runs as
/// PID 1, OpenRC when it is running, else sysvinit (`service NAME ...` on
/// /etc/init.d scripts, `update-rc.d` or `chkconfig` for `enabled`).
///
/// `started` on a running service and `stopped` on a stopped one change
/// nothing; `restarted` and `reloaded` always change (reloading a stopped
/// service starts it).
///
/// Whether the service runs: with `pattern`, whether a process matches
/// it (`pgrep -f`). Under systemd, the unit's ActiveState. Under
/// sysvinit, the processes decide before the script's `status`, which
/// Debian's OpenStack scripts answer wrongly (`pidof` on the interpreter:
/// keystone "running" while only another uwsgi runs, glance-api "not
/// running" while it runs): the PID file the script names (its
/// `PIDFILE=`), else one in the usual places (`/run/NAME.pid`,
/// `/run/NAME/NAME.pid`, `/run/PROJECT/NAME.pid`), must name a live
/// process; else a live process whose program or script is named NAME
/// (`/usr/sbin/libvirtd`, `python3 /usr/bin/nova-compute`) counts; only
/// when no PID file is known at all does `service NAME status` answer (0
/// running, 1 to 3 stopped). Processes are looked for in the host's own
/// PID namespace only, and zombies count as dead. Under OpenRC,
/// `rc-service NAME status`, unless the PID file names a dead process.
/// The result's `running_by` says which rule decided.
///
/// Init scripts report success even when the daemon dies at once. After a
/// start or restart the task therefore checks the status every half
/// second: the service must be seen running for `settle` seconds in a row
/// within `start_timeout` seconds, or the task fails with the last lines
/// of the service's log (`/var/log/NAME.log`, `/var/log/PROJECT/NAME.log`
/// where PROJECT is the part of NAME before the first dash, the newest
/// `/var/log/NAME/*.log`, or the journal under systemd).
///
/// `restarted` under sysvinit is not the script's `restart` (libvirtd's
/// stops without waiting, and its start then does nothing while the old
/// daemon exits): a running service is stopped, its old processes must be
/// gone within `stop_timeout` seconds (else the task fails), then it is
/// started and checked as above. Before a start, a PID file that names a
/// dead process or a zombie is removed: `start-stop-daemon` takes a
/// zombie for the daemon and starts nothing (containers whose PID 1 does
/// not reap). `stopped` also waits up to
/// `stop_timeout` seconds for the processes to go, and warns when they
/// do not.
///
/// Differences from Ansible: the check after a start, the sysvinit
/// restart, `settle`, `start_timeout` and `stop_timeout` are oplay's;
/// `arguments`, `runlevel` are not supported; `pattern` is matched with
/// `pgrep -f` (an extended regular expression).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceParams {
    /// The service's name (the init script or unit, without `.service`).
    pub name: String,
    /// started, stopped, restarted or reloaded.
    #[serde(default)]
    pub state: Option<ServiceState>,
    /// Whether the service starts at boot.
    #[serde(default, deserialize_with = "crate::value::de_opt_bool")]
    pub enabled: Option<bool>,
    /// The init system: auto, systemd, sysvinit or openrc.
    #[serde(default, rename = "use")]
    pub use_: ServiceManager,
    /// A process pattern (`pgrep -f`) that tells whether the service runs,
    /// used instead of the init system's status.
    #[serde(default)]
    pub pattern: Option<String>,
    /// restarted: stop, wait this many seconds, then start.
    #[serde(default, deserialize_with = "crate::value::de_opt_int")]
    pub sleep: Option<i64>,
    /// Seconds a started service must keep running to count as started.
    #[serde(default = "default_settle", deserialize_with = "crate::value::de_int")]
    pub settle: i64,
    /// Seconds to wait, after a stop, for the service's processes to exit.
    #[serde(
        default = "default_stop_timeout",
        deserialize_with = "crate::value::de_int"
    )]
    pub stop_timeout: i64,
    /// Seconds to wait, after a start, for the service to run (and settle).
    #[serde(
        default = "default_start_timeout",
        deserialize_with = "crate::value::de_int"
    )]
    pub start_timeout: i64,
}

fn default_settle() -> i64 {
    2
}

fn default_start_timeout() -> i64 {
    15
}

fn default_stop_timeout() -> i64 {
    10
}

/// `state:` of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    /// Running (started if it is not).
    Started,
    /// Not running (stopped if it is).
    Stopped,
    /// Restarted, whatever it was.
    Restarted,
    /// Reloaded if running, else started.
    Reloaded,
}

/// `use:` of service: the init system to drive.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceManager {
    /// Detected on the host.
    #[default]
    Auto,
    /// systemd (`systemctl`).
    Systemd,
    /// SysV init scripts (`/etc/init.d`).
    Sysvinit,
    /// OpenRC (`rc-service`).
    Openrc,
}

/// How many lines of the service's log a failure shows.
const LOG_LINES: usize = 20;

/// The `service` module.
pub struct ServiceModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    let spec = ModuleSpec::native::<ServiceParams>("service").with_examples(
        "- service:\n    name: nova-compute\n    state: started\n    enabled: true\n\n\
         - service:\n    name: apache2\n    state: restarted",
    );
    vec![Arc::new(ServiceModule { spec })]
}

impl Module for ServiceModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: ServiceParams = parse_params(args)?;
        let bad_name =
            p.name.is_empty() || p.name.starts_with('-') || p.name.contains(['/', ' ', '\t', '\n']);
        if bad_name {
            return Err(ModuleError::Params(format!(
                "invalid service name '{}'",
                p.name
            )));
        }
        if p.state.is_none() && p.enabled.is_none() {
            return Err(ModuleError::Params(
                "give `state`, `enabled`, or both".into(),
            ));
        }
        if p.settle < 0
            || p.start_timeout < 0
            || p.stop_timeout < 0
            || p.sleep.is_some_and(|s| s < 0)
        {
            return Err(ModuleError::Params(
                "`settle`, `start_timeout`, `stop_timeout` and `sleep` cannot be negative".into(),
            ));
        }
        if p.pattern
            .as_deref()
            .is_some_and(|s| s.is_empty() || s.contains('\n'))
        {
            return Err(ModuleError::Params(
                "`pattern` must be one non-empty line".into(),
            ));
        }
        Ok(Box::new(ServiceAction { p }))
    }
}

struct ServiceAction {
    p: ServiceParams,
}

/// What the query found and decided; the apply carries it out.
struct Plan {
    init: InitSystem,
    /// What to do, in order.
    verbs: Vec<Verb>,
    /// The service as the query found it.
    before: Status,
}

#[async_trait]
impl Action for ServiceAction {
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let init = InitSystem::detect(ctx, self.p.use_).await?;
        let st = init
            .status(ctx, &self.p.name, self.p.pattern.as_deref())
            .await?;
        if !st.exists {
            let hint = match init {
                InitSystem::Systemd => format!("no unit {}.service", self.p.name),
                _ => format!("/etc/init.d/{} does not exist", self.p.name),
            };
            return Err(ModuleError::failed(format!(
                "no service {} ({}): {hint}",
                self.p.name,
                init.name()
            )));
        }
        let verbs = plan(&self.p, &st);
        if verbs.is_empty() {
            return Ok(Query::Unchanged(result(
                Outcome::ok(),
                &self.p.name,
                init,
                &st,
            )));
        }
        let words: Vec<&str> = verbs.iter().map(|v| v.word()).collect();
        let change = Change::new()
            .with_msg(format!("would {} {}", words.join(" and "), self.p.name))
            .with("name", self.p.name.clone())
            .with("actions", words);
        let plan = Plan {
            init,
            verbs,
            before: st,
        };
        Ok(Query::Change(change, Planned::boxed(*self, plan)))
    }
}

#[async_trait]
impl ApplyPlan for ServiceAction {
    type Plan = Plan;

    async fn apply_plan(self, plan: Plan, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let Plan {
            init,
            verbs,
            before: mut st,
        } = plan;
        let mut warnings = Vec::new();
        for verb in verbs.iter().copied() {
            match verb {
                Verb::Restart if init == InitSystem::Sysvinit => {
                    self.restart_in_steps(ctx, init).await?;
                }
                Verb::Start => {
                    if let Some(f) = &st.pidfile {
                        init.clear_stale_pidfile(ctx, f).await?;
                    }
                    self.run_verb(ctx, init, verb).await?;
                }
                _ => self.run_verb(ctx, init, verb).await?,
            }
            match verb {
                Verb::Start | Verb::Restart => {
                    st = self.wait_running(ctx, init).await?;
                }
                Verb::Reload => st.running = true,
                Verb::Stop => {
                    let left = self.wait_gone(ctx, init, &st.pids).await?;
                    st.running = left.is_some();
                    st.pids = left.unwrap_or_default();
                    if st.running {
                        warnings.push(format!(
                            "{} still runs {} s after stop (pid {})",
                            self.p.name,
                            self.p.stop_timeout,
                            pid_list(&st.pids)
                        ));
                    }
                }
                Verb::Enable => st.enabled = true,
                Verb::Disable => st.enabled = false,
            }
        }
        let words: Vec<&str> = verbs.iter().map(|v| v.word()).collect();
        let mut outcome = result(Outcome::changed(), &self.p.name, init, &st).with_msg(format!(
            "{}: {}",
            self.p.name,
            words.join(", ")
        ));
        outcome.warnings = warnings;
        Ok(outcome)
    }
}

/// What has to happen, in order: the state first, then `enabled`.
fn plan(p: &ServiceParams, st: &Status) -> Vec<Verb> {
    let mut verbs = Vec::new();
    match p.state {
        Some(ServiceState::Started) if !st.running => verbs.push(Verb::Start),
        Some(ServiceState::Stopped) if st.running => verbs.push(Verb::Stop),
        Some(ServiceState::Restarted) => verbs.push(Verb::Restart),
        Some(ServiceState::Reloaded) => verbs.push(if st.running {
            Verb::Reload
        } else {
            Verb::Start
        }),
        _ => {}
    }
    match p.enabled {
        Some(true) if !st.enabled => verbs.push(Verb::Enable),
        Some(false) if st.enabled => verbs.push(Verb::Disable),
        _ => {}
    }
    verbs
}

/// The fields Ansible's service module returns.
fn result(outcome: Outcome, name: &str, init: InitSystem, st: &Status) -> Outcome {
    outcome
        .with("name", name)
        .with("state", if st.running { "started" } else { "stopped" })
        .with("enabled", st.enabled)
        .with("service_mgr", init.name())
        .with("running_by", st.by.clone())
        .with("pids", st.pids.clone())
}

impl ServiceAction {
    /// Runs one verb (a restart with `sleep` as stop, pause, start) and
    /// fails with the script's output and the log when it exits non-zero.
    async fn run_verb(
        &self,
        ctx: &ModuleCtx<'_>,
        init: InitSystem,
        verb: Verb,
    ) -> Result<(), ModuleError> {
        let steps: Vec<Verb> = match (verb, self.p.sleep) {
            (Verb::Restart, Some(secs)) if secs > 0 => vec![Verb::Stop, Verb::Start],
            _ => vec![verb],
        };
        for (i, step) in steps.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_secs(self.p.sleep.unwrap_or(0) as u64)).await;
            }
            let out = init.run(ctx, &self.p.name, *step).await?;
            if out.rc != 0 {
                let said =
                    crate::modules::system::package::last_lines(&out.stdout, &out.stderr, 10);
                let log = init.log_tail(ctx, &self.p.name, LOG_LINES).await?;
                return Err(ModuleError::failed(format!(
                    "{} {} failed (exit code {}):\n{said}{}",
                    step.word(),
                    self.p.name,
                    out.rc,
                    log_block(&log)
                )));
            }
        }
        Ok(())
    }

    /// The sysvinit restart: stop a running service, wait until its old
    /// processes are gone, pause `sleep` seconds, start. The check that
    /// the new daemon stays up is the caller's.
    async fn restart_in_steps(
        &self,
        ctx: &ModuleCtx<'_>,
        init: InitSystem,
    ) -> Result<(), ModuleError> {
        let name = &self.p.name;
        let st = init.status(ctx, name, self.p.pattern.as_deref()).await?;
        if st.running {
            let out = init.run(ctx, name, Verb::Stop).await?;
            if let Some(left) = self.wait_gone(ctx, init, &st.pids).await? {
                let said =
                    crate::modules::system::package::last_lines(&out.stdout, &out.stderr, 10);
                let log = init.log_tail(ctx, name, LOG_LINES).await?;
                return Err(ModuleError::failed(format!(
                    "restart {name}: still running {} s after stop (exit code {}, pid {}); not started again\n{said}{}",
                    self.p.stop_timeout,
                    out.rc,
                    pid_list(&left),
                    log_block(&log)
                )));
            }
        }
        if let Some(f) = &st.pidfile {
            init.clear_stale_pidfile(ctx, f).await?;
        }
        if let Some(secs) = self.p.sleep.filter(|s| *s > 0) {
            tokio::time::sleep(Duration::from_secs(secs as u64)).await;
        }
        self.run_verb(ctx, init, Verb::Start).await
    }

    /// Polls until the service has run for `settle` seconds in a row, and
    /// returns its last status. A daemon seen running that then stops has
    /// died: fail at once.
    async fn wait_running(
        &self,
        ctx: &ModuleCtx<'_>,
        init: InitSystem,
    ) -> Result<Status, ModuleError> {
        let started = Instant::now();
        let deadline = started + Duration::from_secs(self.p.start_timeout as u64);
        let settle = Duration::from_secs(self.p.settle as u64);
        let mut since: Option<Instant> = None;
        let died = loop {
            let st = init
                .status(ctx, &self.p.name, self.p.pattern.as_deref())
                .await?;
            let now = Instant::now();
            match (st.running, since) {
                (true, Some(t)) if now - t >= settle => return Ok(st),
                (true, None) if settle.is_zero() => return Ok(st),
                (true, None) => since = Some(now),
                (false, Some(_)) => break true,
                _ => {}
            }
            if now >= deadline {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let log = init.log_tail(ctx, &self.p.name, LOG_LINES).await?;
        let what = if died {
            "started, then died"
        } else {
            "is not running"
        };
        Err(ModuleError::failed(format!(
            "service {} {what} {:.1}s after the init system reported success{}",
            self.p.name,
            started.elapsed().as_secs_f64(),
            log_block(&log)
        )))
    }

    /// Polls, up to `stop_timeout` seconds, until the processes seen
    /// before the stop (`old`) are gone and the service no longer counts
    /// as running. `None` when it stopped, else the processes that remain.
    async fn wait_gone(
        &self,
        ctx: &ModuleCtx<'_>,
        init: InitSystem,
        old: &[u32],
    ) -> Result<Option<Vec<u32>>, ModuleError> {
        let deadline = Instant::now() + Duration::from_secs(self.p.stop_timeout as u64);
        loop {
            let mut left = init.alive(ctx, old).await?;
            let st = if left.is_empty() {
                init.status(ctx, &self.p.name, self.p.pattern.as_deref())
                    .await?
            } else {
                Status::default()
            };
            if left.is_empty() && !st.running {
                return Ok(None);
            }
            if Instant::now() >= deadline {
                left.extend(st.pids);
                return Ok(Some(left));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn pid_list(pids: &[u32]) -> String {
    if pids.is_empty() {
        return "unknown".into();
    }
    let list: Vec<String> = pids.iter().map(u32::to_string).collect();
    list.join(" ")
}

fn log_block(log: &str) -> String {
    if log.is_empty() {
        "\n(no log found in /var/log)".to_string()
    } else {
        format!("\n{log}")
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
