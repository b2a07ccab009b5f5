//! `vars_prompt`: the questions a play asks before it starts, as
//! ansible-playbook asks them, through a [`Prompter`] that the command
//! provides (the terminal); the executor only decides what to ask and
//! what the answers become.
//!
//! A variable given with `-e` is not asked. An empty answer takes the
//! `default`. Without a terminal, the `default` is used with a warning;
//! without one either, the run stops with an error (ansible-core would set
//! the variable to the text "None").

use std::sync::Arc;

use serde_json::{Map, Value};

use super::Executor;
use crate::playbook::{Play, VarsPrompt};
use crate::source::Diagnostic;
use crate::template::{Layer, TemplateError, VarScope};

/// One question, ready to show.
#[derive(Debug, Clone)]
pub struct Question {
    /// The variable the answer goes to.
    pub name: String,
    /// What is shown: `Prompt [default]: `, as ansible-playbook shows it.
    pub text: String,
    /// Read without echo.
    pub private: bool,
    /// Asked twice, until both answers match.
    pub confirm: bool,
}

/// What the prompter got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// What was typed (empty: take the default).
    Typed(String),
    /// Standard input is not a terminal: nothing was asked.
    NotInteractive,
}

/// Why a `vars_prompt` question got no answer.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Standard input could not be read.
    #[error("could not read the answer: {0}")]
    Read(#[source] std::io::Error),
    /// Standard input ended before an answer.
    #[error("no answer: standard input was closed")]
    Closed,
    /// `stty`, which hides a private answer, could not be run.
    #[error("could not run stty to hide a private answer: {0}")]
    SttyRun(#[source] std::io::Error),
    /// `stty` ran and failed.
    #[error("stty {args} failed: {stderr}")]
    Stty {
        /// The arguments it was given.
        args: String,
        /// What it printed.
        stderr: String,
    },
    /// The question's `prompt` or `default` could not be rendered.
    #[error("vars_prompt `{name}` at {location}: {source}")]
    Render {
        /// The question's variable.
        name: String,
        /// Its file:line:col.
        location: String,
        /// Why it could not be rendered.
        #[source]
        source: TemplateError,
    },
    /// The thread that asked stopped (it panicked).
    #[error("vars_prompt `{name}`: {source}")]
    Asking {
        /// The question's variable.
        name: String,
        /// How the thread ended.
        #[source]
        source: tokio::task::JoinError,
    },
    /// No terminal and no `default` (see [`not_interactive`]).
    #[error("{0}")]
    NotInteractive(Diagnostic),
    /// The run was interrupted while the question was open.
    #[error("interrupted")]
    Interrupted,
}

/// Asks questions; blocking, so the executor calls it off the runtime.
pub trait Prompter: Send + Sync {
    /// Shows `q` and waits for the answer. Must return
    /// [`Answer::NotInteractive`] without asking when there is no one to
    /// ask (standard input is not a terminal), and leave the terminal as
    /// it found it (echo back on) whatever happens.
    fn ask(&self, q: &Question) -> Result<Answer, PromptError>;
}

/// A prompter for runs without a terminal.
pub struct NoPrompter;

impl Prompter for NoPrompter {
    fn ask(&self, _q: &Question) -> Result<Answer, PromptError> {
        Ok(Answer::NotInteractive)
    }
}

type Answers = (Arc<Map<String, Value>>, Arc<Map<String, Value>>);

impl Executor {
    /// Asks the play's `vars_prompt` questions; the answers, templated
    /// ones and `unsafe` ones apart.
    pub(super) async fn ask_vars_prompt(&self, play: &Play) -> Result<Answers, PromptError> {
        let mut answers = Map::new();
        let mut raw = Map::new();
        for p in &play.vars_prompt {
            if self.run.extra.contains_key(&p.name) {
                continue;
            }
            let value = self.ask_one(play, p).await?;
            let into = if p.unsafe_ { &mut raw } else { &mut answers };
            into.insert(p.name.clone(), Value::String(value));
        }
        Ok((Arc::new(answers), Arc::new(raw)))
    }

    async fn ask_one(&self, play: &Play, p: &VarsPrompt) -> Result<String, PromptError> {
        let render = |text: &str| {
            let scope = VarScope::new(vec![
                Layer::shared("extra", self.run.extra.clone()),
                Layer::shared("vars_files", play.vars_files.clone()),
                Layer::shared("play", play.vars.clone()),
            ])
            .into_value();
            self.templar
                .render_str(text, &scope)
                .map_err(|source| PromptError::Render {
                    name: p.name.clone(),
                    location: p.span.location(),
                    source,
                })
        };
        let prompt = p.prompt.as_deref().map(render).transpose()?;
        let default = p.default.as_deref().map(render).transpose()?;
        let label = prompt.unwrap_or_else(|| p.name.clone());
        let text = match (&default, label.is_empty()) {
            (_, true) => format!("input for {}: ", p.name),
            (Some(d), false) => format!("{label} [{d}]: "),
            (None, false) => format!("{label}: "),
        };
        let q = Question {
            name: p.name.clone(),
            text,
            private: p.private,
            confirm: p.confirm,
        };
        let prompter = self.prompter.clone();
        let asking = tokio::task::spawn_blocking(move || prompter.ask(&q));
        let answer = tokio::select! {
            a = asking => a.map_err(|source| PromptError::Asking { name: p.name.clone(), source })??,
            () = self.opts.cancel.cancelled() => return Err(PromptError::Interrupted),
        };
        match (answer, default) {
            (Answer::Typed(t), Some(d)) if t.is_empty() => Ok(d),
            (Answer::Typed(t), _) => Ok(t),
            (Answer::NotInteractive, Some(d)) => {
                self.reporter
                    .warning("Not prompting as we are not in interactive mode");
                Ok(d)
            }
            (Answer::NotInteractive, None) => Err(PromptError::NotInteractive(not_interactive(p))),
        }
    }
}

/// The error for a question that cannot be asked and has no default.
pub fn not_interactive(p: &VarsPrompt) -> Diagnostic {
    Diagnostic::new(
        format!(
            "vars_prompt `{}` needs an answer, but standard input is not a terminal",
            p.name
        ),
        Some(p.span.clone()),
    )
    .with_hint(format!(
        "pass it with `-e {}=...` or give it a `default`",
        p.name
    ))
}
