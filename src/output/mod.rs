//! Reporters: how a run is shown. [`human::HumanReporter`] prints the
//! Ansible-style console output; [`json::JsonReporter`] writes one JSON
//! event per line for machines. Both get every string through the run's
//! [`Redactor`], so a secret cannot reach the screen or a log by accident.

pub mod human;
pub mod json;
pub mod progress;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::modules::Diff;

/// How one task ended on one host (or for one loop item).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The host was already as the task wants it.
    Ok,
    /// The task changed the host (or would have, in check mode).
    Changed,
    /// The task failed; the host leaves the play unless the failure is
    /// ignored or rescued.
    Failed,
    /// A `when:` was false, or the module skipped itself.
    Skipped,
    /// The host could not be reached; it leaves the play.
    Unreachable,
}

impl Status {
    /// The word Ansible prints for it (`skipping`, not `skipped`); also the
    /// `status` of a JSON event.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Failed => "failed",
            Status::Skipped => "skipping",
            Status::Unreachable => "unreachable",
        }
    }
}

/// A task as the reporter announces it.
#[derive(Debug, Clone)]
pub struct TaskInfo {
    /// The task's `name:` (else its module), after `ROLE : ` for a role's
    /// task.
    pub name: String,
    /// `file:line:col` of the task.
    pub location: String,
    /// A handler run by `notify` (`RUNNING HANDLER`), not a task.
    pub handler: bool,
    /// The module name, or None for blocks and includes.
    pub module: Option<String>,
}

/// One result line: a host, maybe a loop item, and what happened.
#[derive(Debug, Clone)]
pub struct HostResult {
    /// The inventory host the task ran for.
    pub host: String,
    /// Where it really ran, with `delegate_to`.
    pub delegated_to: Option<String>,
    /// How it ended.
    pub status: Status,
    /// The loop item's `loop_control.label` (or the item itself); `None`
    /// outside a loop.
    pub item_label: Option<String>,
    /// The result as `register` sees it (already redacted for no_log).
    pub result: Value,
    /// What changed, shown with `--diff`.
    pub diffs: Vec<Diff>,
    /// The failure was ignored (`ignore_errors`).
    pub ignored: bool,
    /// The module wants its result shown without -v (debug).
    pub show: bool,
    /// The task has `no_log: true`: the reporter must show neither the
    /// result nor its diffs, only that it was censored.
    pub no_log: bool,
}

/// Per-host counters for the PLAY RECAP.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HostStats {
    /// Results that did not fail: ok, changed and ignored failures all
    /// count here too, as in Ansible's recap.
    pub ok: u32,
    /// Results that changed the host.
    pub changed: u32,
    /// Tasks that found the host unreachable.
    pub unreachable: u32,
    /// Failures that were neither ignored nor rescued.
    pub failed: u32,
    /// Skipped results.
    pub skipped: u32,
    /// Blocks whose `rescue:` ran after a failure.
    pub rescued: u32,
    /// Failures ignored by `ignore_errors`.
    pub ignored: u32,
}

/// The recap: counters per host in inventory order, and timings.
#[derive(Debug, Clone, Default)]
pub struct Recap {
    /// Hosts that ran anything; the others are left out, as in Ansible.
    pub hosts: Vec<(String, HostStats)>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// The slowest tasks: name, location and wall time.
    pub slowest: Vec<(String, String, Duration)>,
}

/// How far a task has got on its hosts, for a live progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The task starts on this many hosts (after `task_start`).
    Started {
        /// How many hosts this run of the task has.
        hosts: usize,
    },
    /// One host is done with it.
    HostDone,
    /// The run of the task that started on this many hosts is over.
    Ended {
        /// The same count as its `Started`.
        hosts: usize,
    },
}

/// Receives the events of a run and shows them; the executor calls it and
/// never prints anything itself.
///
/// An implementation must:
///
/// - pass every string it shows (messages, results, diffs, host names)
///   through the run's [`Redactor`](crate::secret::Redactor): the executor
///   hands over results as modules returned them, and only the reporter
///   sits between them and the screen;
/// - show nothing of a result with [`HostResult::no_log`] but that it was
///   censored;
/// - take events from many tasks at once: with `forks` the results of one
///   task arrive concurrently from several hosts, and with `strategy: free`
///   several tasks run at once. Keep one event's lines together (one lock
///   per event), not a task's;
/// - return quickly: it is called on the async runtime's worker threads,
///   so it must not block on anything slower than writing a line, nor
///   enter the runtime (`block_on`).
///
/// It must not fail the run: the methods return nothing, and an output
/// that cannot be written (a closed pipe) is dropped rather than a reason
/// to panic. It must not decide anything either: exit codes, failed hosts
/// and the recap's counts are the executor's.
///
/// Order: `playbook_start`, then per play `play_start`, then per task
/// `task_start` before any of that task's `host_result`s, and `recap`
/// last, once. `warning` and `verbose` may come at any point between.
pub trait Reporter: Send + Sync {
    /// A playbook file starts (Ansible shows it only with `-v`).
    fn playbook_start(&self, path: &Path);
    /// A play starts; `name` is its `name:` or its host pattern.
    fn play_start(&self, name: &str);
    /// A task (or handler) starts on the hosts still in the play.
    fn task_start(&self, task: &TaskInfo);
    /// One host (or one loop item on it) is done with `task`.
    fn host_result(&self, task: &TaskInfo, result: &HostResult);
    /// Something the user should fix that does not stop the run; shown at
    /// every verbosity.
    fn warning(&self, msg: &str);
    /// Detail shown at `-v` levels: `level` 3 is the commands sent. The
    /// reporter filters by its own verbosity; callers send every level.
    fn verbose(&self, level: u8, host: &str, msg: &str);
    /// The run is over: the PLAY RECAP.
    fn recap(&self, recap: &Recap);
    /// Progress within a task; only a reporter with a live line cares.
    fn task_progress(&self, _task: &TaskInfo, _progress: Progress) {}
}

/// A unified diff of one change, as `--diff` shows it.
pub fn unified_diff(d: &Diff) -> String {
    let diff = similar::TextDiff::from_lines(&d.before, &d.after);
    diff.unified_diff()
        .context_radius(3)
        .header(
            &format!("before: {}", d.header),
            &format!("after: {}", d.header),
        )
        .to_string()
}
