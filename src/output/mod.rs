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
    Ok,
    Changed,
    Failed,
    Skipped,
    Unreachable,
}

impl Status {
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
    pub name: String,
    /// `file:line:col` of the task.
    pub location: String,
    pub handler: bool,
    /// The module name, or None for blocks and includes.
    pub module: Option<String>,
}

/// One result line: a host, maybe a loop item, and what happened.
#[derive(Debug, Clone)]
pub struct HostResult {
    pub host: String,
    pub delegated_to: Option<String>,
    pub status: Status,
    pub item_label: Option<String>,
    /// The result as `register` sees it (already redacted for no_log).
    pub result: Value,
    pub diffs: Vec<Diff>,
    /// The failure was ignored (`ignore_errors`).
    pub ignored: bool,
    /// The module wants its result shown without -v (debug).
    pub show: bool,
    pub no_log: bool,
}

/// Per-host counters for the PLAY RECAP.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

/// The recap: counters per host in inventory order, and timings.
#[derive(Debug, Clone, Default)]
pub struct Recap {
    pub hosts: Vec<(String, HostStats)>,
    pub elapsed: Duration,
    /// The slowest tasks: name, location and wall time.
    pub slowest: Vec<(String, String, Duration)>,
}

/// How far a task has got on its hosts, for a live progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The task starts on this many hosts (after `task_start`).
    Started { hosts: usize },
    /// One host is done with it.
    HostDone,
    /// The run of the task that started on this many hosts is over.
    Ended { hosts: usize },
}

/// Receives the events of a run.
pub trait Reporter: Send + Sync {
    fn playbook_start(&self, path: &Path);
    fn play_start(&self, name: &str);
    fn task_start(&self, task: &TaskInfo);
    fn host_result(&self, task: &TaskInfo, result: &HostResult);
    fn warning(&self, msg: &str);
    /// Detail shown at `-v` levels: `level` 3 is the commands sent.
    fn verbose(&self, level: u8, host: &str, msg: &str);
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
