//! One JSON event per line on stdout, for machines: play start, task
//! start, host result, warnings and the recap. Redacted like the console.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::{HostResult, Recap, Reporter, TaskInfo, unified_diff};
use crate::secret::Redactor;

/// `--output json`: one object per event, each with an `event` key.
pub struct JsonReporter {
    verbosity: u8,
    redactor: Redactor,
    out: Mutex<std::io::Stdout>,
}

impl JsonReporter {
    /// `verbosity` decides which `verbose` events are written, as `-v`
    /// does for the console.
    pub fn new(verbosity: u8, redactor: Redactor) -> Self {
        JsonReporter {
            verbosity,
            redactor,
            out: Mutex::new(std::io::stdout()),
        }
    }

    fn emit(&self, event: Value) {
        let clean = self.redactor.redact_value(&event);
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{clean}");
            let _ = out.flush();
        }
    }
}

impl Reporter for JsonReporter {
    fn playbook_start(&self, path: &Path) {
        self.emit(json!({"event": "playbook_start", "playbook": path.display().to_string()}));
    }

    fn play_start(&self, name: &str) {
        self.emit(json!({"event": "play_start", "play": name}));
    }

    fn task_start(&self, task: &TaskInfo) {
        self.emit(json!({
            "event": "task_start",
            "task": task.name,
            "location": task.location,
            "handler": task.handler,
            "module": task.module,
        }));
    }

    fn host_result(&self, task: &TaskInfo, r: &HostResult) {
        let result = if r.no_log {
            json!({"censored": "the output has been hidden due to the fact that 'no_log: true' was specified for this result"})
        } else {
            r.result.clone()
        };
        self.emit(json!({
            "event": "host_result",
            "task": task.name,
            "host": r.host,
            "delegated_to": r.delegated_to,
            "status": r.status.word(),
            "item": r.item_label,
            "ignored": r.ignored,
            "result": result,
            "diff": r.diffs.iter().map(unified_diff).collect::<Vec<_>>(),
        }));
    }

    fn warning(&self, msg: &str) {
        self.emit(json!({"event": "warning", "msg": msg}));
    }

    fn verbose(&self, level: u8, host: &str, msg: &str) {
        if self.verbosity >= level {
            self.emit(json!({"event": "verbose", "level": level, "host": host, "msg": msg}));
        }
    }

    fn recap(&self, recap: &Recap) {
        let hosts: serde_json::Map<String, Value> = recap
            .hosts
            .iter()
            .map(|(h, s)| (h.clone(), serde_json::to_value(s).unwrap_or(Value::Null)))
            .collect();
        self.emit(json!({
            "event": "recap",
            "hosts": hosts,
            "elapsed": recap.elapsed.as_secs_f64(),
            "slowest": recap.slowest.iter().map(|(n, l, d)| json!({"task": n, "location": l, "seconds": d.as_secs_f64()})).collect::<Vec<_>>(),
        }));
    }
}
