//! The terminal side of `vars_prompt`: questions on standard error,
//! answers from standard input, private ones without echo, as
//! ansible-playbook asks them.
//!
//! Echo is turned off with `stty -echo` on the terminal itself (the
//! child inherits our standard input), which keeps oplay free of unsafe
//! code; the saved settings are put back after the answer, and by
//! [`restore_terminal`] when the run is interrupted mid-question.

use std::io::{BufRead, IsTerminal, Write};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::executor::{Answer, PromptError, Prompter, Question, not_interactive};
use crate::playbook::Playbook;

/// The terminal settings to restore while echo is off.
static SAVED: Mutex<Option<String>> = Mutex::new(None);

/// Asks on the terminal when standard input is one.
pub struct TerminalPrompter;

impl Prompter for TerminalPrompter {
    fn ask(&self, q: &Question) -> Result<Answer, PromptError> {
        if !std::io::stdin().is_terminal() {
            return Ok(Answer::NotInteractive);
        }
        loop {
            let first = ask_once(&q.text, q.private)?;
            if !q.confirm {
                return Ok(Answer::Typed(first));
            }
            let second = ask_once(&format!("confirm {}", q.text), q.private)?;
            if first == second {
                return Ok(Answer::Typed(first));
            }
            eprintln!("***** VALUES ENTERED DO NOT MATCH ****");
        }
    }
}

/// Before any host is touched: a question that cannot be asked (standard
/// input is not a terminal) needs a `default` or a `-e` value.
pub fn check_answerable(
    playbooks: &[Playbook],
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), crate::source::Diagnostic> {
    if std::io::stdin().is_terminal() {
        return Ok(());
    }
    let missing = playbooks
        .iter()
        .flat_map(|pb| pb.plays.iter())
        .flat_map(|play| play.vars_prompt.iter())
        .find(|p| p.default.is_none() && !extra.contains_key(&p.name));
    match missing {
        Some(p) => Err(not_interactive(p)),
        None => Ok(()),
    }
}

/// Puts echo back if a private question was interrupted.
pub fn restore_terminal() {
    let saved = SAVED.lock().ok().and_then(|mut s| s.take());
    if let Some(settings) = saved {
        let _ = stty(&[settings.as_str()]);
    }
}

fn ask_once(text: &str, private: bool) -> Result<String, PromptError> {
    let mut err = std::io::stderr();
    let _ = write!(err, "{text}");
    let _ = err.flush();
    if private {
        let saved = stty(&["-g"])?;
        if let Ok(mut s) = SAVED.lock() {
            *s = Some(saved.clone());
        }
        stty(&["-echo"])?;
        let line = read_line();
        restore_terminal();
        let _ = writeln!(err);
        line
    } else {
        read_line()
    }
}

fn read_line() -> Result<String, PromptError> {
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(PromptError::Read)?;
    if n == 0 {
        return Err(PromptError::Closed);
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Runs `stty ARGS` on our terminal; its output (for `-g`).
fn stty(args: &[&str]) -> Result<String, PromptError> {
    let out = Command::new("stty")
        .args(args)
        .stdin(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .map_err(PromptError::SttyRun)?;
    if !out.status.success() {
        return Err(PromptError::Stty {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
