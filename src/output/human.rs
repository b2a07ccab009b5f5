//! The console output Ansible users know: PLAY and TASK banners, one line
//! per host result, diffs, and the PLAY RECAP. Plain text without a TTY or
//! with `NO_COLOR`; colour only marks what the words already say.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use console::{Style, Term};
use serde_json::Value;

use super::progress::{Spinner, bars};
use super::{HostResult, Progress, Recap, Reporter, Status, TaskInfo, unified_diff};
use crate::secret::Redactor;

const WIDTH: usize = 79;

/// Ansible's console output on stdout; colour and the live progress line
/// only on a terminal without `NO_COLOR`.
pub struct HumanReporter {
    verbosity: u8,
    redactor: Redactor,
    out: Mutex<Box<dyn Write + Send>>,
    colors: bool,
    /// The live line under long tasks: only on a terminal without NO_COLOR.
    spinner: Option<Spinner>,
    /// stdout is a terminal, where progress bars may be drawn.
    tty: bool,
}

impl HumanReporter {
    /// Looks at stdout and `NO_COLOR` once, here: the choice of colour
    /// holds for the whole run.
    pub fn new(verbosity: u8, redactor: Redactor) -> Self {
        let tty = Term::stdout().is_term();
        let colors = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && tty;
        console::set_colors_enabled(colors);
        HumanReporter {
            verbosity,
            redactor,
            out: Mutex::new(Box::new(std::io::stdout())),
            colors,
            spinner: colors.then(Spinner::new),
            tty,
        }
    }

    fn emit(&self, text: &str) {
        let clean = self.redactor.scrub(text);
        if let Ok(mut out) = self.out.lock() {
            let mut write = || {
                let _ = writeln!(out, "{clean}");
                let _ = out.flush();
            };
            // On a terminal, bars on stderr are cleared while the line is
            // written and drawn again below it.
            if self.tty {
                bars().suspend(write);
            } else {
                write();
            }
        }
    }

    fn style(&self, status: Status) -> Style {
        if !self.colors {
            return Style::new();
        }
        match status {
            Status::Ok => Style::new().green(),
            Status::Changed => Style::new().yellow(),
            Status::Failed | Status::Unreachable => Style::new().red(),
            Status::Skipped => Style::new().cyan(),
        }
    }

    fn banner(&self, title: &str) -> String {
        let stars = WIDTH.saturating_sub(title.len() + 1).max(3);
        format!("\n{title} {}", "*".repeat(stars))
    }

    /// The JSON body shown after `=>` for a result.
    fn body(&self, r: &HostResult) -> Option<String> {
        if r.no_log {
            return Some("{\"censored\": \"the output has been hidden due to the fact that 'no_log: true' was specified for this result\"}".into());
        }
        let redacted = self.redactor.redact_value(&r.result);
        let show_all = self.verbosity >= 1 || r.show;
        let value = match r.status {
            Status::Failed | Status::Unreachable => redacted,
            _ if show_all => {
                if r.show && self.verbosity == 0 {
                    strip_bookkeeping(redacted)
                } else {
                    redacted
                }
            }
            _ => return None,
        };
        let text = if self.verbosity >= 1 || r.show {
            serde_json::to_string_pretty(&value).unwrap_or_default()
        } else {
            serde_json::to_string(&value).unwrap_or_default()
        };
        Some(text)
    }
}

/// Without -v, `debug` shows only what it was asked to print.
fn strip_bookkeeping(v: Value) -> Value {
    match v {
        Value::Object(mut m) => {
            for k in ["changed", "failed", "skipped"] {
                m.remove(k);
            }
            Value::Object(m)
        }
        other => other,
    }
}

impl Reporter for HumanReporter {
    fn playbook_start(&self, path: &Path) {
        if self.verbosity >= 1 {
            self.emit(&format!("PLAYBOOK: {}", path.display()));
        }
    }

    fn play_start(&self, name: &str) {
        self.emit(&self.banner(&format!("PLAY [{name}]")));
    }

    fn task_start(&self, task: &TaskInfo) {
        let kind = if task.handler {
            "RUNNING HANDLER"
        } else {
            "TASK"
        };
        let mut text = self.banner(&format!("{kind} [{}]", task.name));
        if self.verbosity >= 2 {
            text.push_str(&format!("\ntask path: {}", task.location));
        }
        self.emit(&text);
    }

    fn host_result(&self, _task: &TaskInfo, r: &HostResult) {
        let host = match &r.delegated_to {
            Some(d) => format!("[{} -> {d}]", r.host),
            None => format!("[{}]", r.host),
        };
        let item = r
            .item_label
            .as_ref()
            .map(|l| format!(" => (item={l})"))
            .unwrap_or_default();
        let line = match r.status {
            Status::Failed if r.item_label.is_some() => format!("failed: {host}{item}"),
            Status::Failed => format!("fatal: {host}: FAILED!"),
            Status::Unreachable => format!("fatal: {host}: UNREACHABLE!"),
            s => format!("{}: {host}{item}", s.word()),
        };
        let mut text = self.style(r.status).apply_to(line).to_string();
        if let Some(body) = self.body(r) {
            text.push_str(" => ");
            text.push_str(&body);
        }
        if r.ignored {
            text.push_str("\n...ignoring");
        }
        for d in &r.diffs {
            text.push('\n');
            text.push_str(unified_diff(d).trim_end());
        }
        self.emit(&text);
    }

    fn warning(&self, msg: &str) {
        let style = if self.colors {
            Style::new().magenta()
        } else {
            Style::new()
        };
        self.emit(&style.apply_to(format!("[WARNING]: {msg}")).to_string());
    }

    fn verbose(&self, level: u8, host: &str, msg: &str) {
        if self.verbosity >= level {
            self.emit(&format!("<{host}> {msg}"));
        }
    }

    fn task_progress(&self, task: &TaskInfo, progress: Progress) {
        if let Some(s) = &self.spinner {
            let key = format!("{}|{}", task.handler, task.location);
            s.update(&key, &task.name, progress);
        }
    }

    fn recap(&self, recap: &Recap) {
        let mut text = self.banner("PLAY RECAP");
        let width = recap
            .hosts
            .iter()
            .map(|(h, _)| h.len())
            .max()
            .unwrap_or(0)
            .max(26);
        for (host, s) in &recap.hosts {
            let status = if s.unreachable > 0 || s.failed > 0 {
                Status::Failed
            } else if s.changed > 0 {
                Status::Changed
            } else {
                Status::Ok
            };
            let name = self.style(status).apply_to(format!("{host:<width$}"));
            text.push_str(&format!(
                "\n{name} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={}",
                s.ok, s.changed, s.unreachable, s.failed, s.skipped, s.rescued, s.ignored
            ));
        }
        text.push_str(&format!(
            "\n\nFinished in {:.2}s",
            recap.elapsed.as_secs_f64()
        ));
        if !recap.slowest.is_empty() {
            text.push_str("; slowest tasks:");
            for (name, loc, d) in &recap.slowest {
                text.push_str(&format!("\n  {:>8.2}s  {name} ({loc})", d.as_secs_f64()));
            }
        }
        self.emit(&text);
    }
}
