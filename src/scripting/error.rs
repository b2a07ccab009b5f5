//! What can go wrong while a script module runs, and how it reads: every
//! runtime error names the script file, line and column and the chain of
//! calls that led there; `fail(msg)` reads as the script's own words.
//!
//! Load-time problems (a script that does not compile, a bad `MODULE`
//! declaration) are [`crate::source::Diagnostic`]s instead, shown with the
//! offending line like any playbook error.

use std::path::Path;

use rhai::{EvalAltResult, Map as RMap, Position};

use super::engine::{FAIL_MARK, MAX_CALL_LEVELS, MAX_OPERATIONS};
use crate::modules::ModuleError;

/// Why a script module's call failed; each becomes the task's failure.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The script called `fail(msg)`.
    #[error("{0}")]
    Failed(String),
    /// The script broke: a type error, an unknown function, a limit.
    #[error("script error in {func}(): {location}: {message}{stack}")]
    Runtime {
        /// The protocol function that was called (`check`, `apply`, `run`).
        func: String,
        /// The script's file:line:col where it broke.
        location: String,
        /// Rhai's message.
        message: String,
        /// `\n  in f() called at file:line:col` lines, innermost first.
        stack: String,
    },
    /// A protocol function returned something other than a result map.
    #[error(
        "{location}: {func}() must return a map like #{{ changed: true, msg: \"...\" }}, found {found}"
    )]
    BadResult {
        /// The function.
        func: String,
        /// Where it returned.
        location: String,
        /// The type it returned.
        found: String,
    },
    /// The blocking thread running the script died.
    #[error("script {path} stopped unexpectedly: {message}")]
    Crashed {
        /// The script.
        path: String,
        /// The panic's message.
        message: String,
    },
}

impl From<ScriptError> for ModuleError {
    fn from(e: ScriptError) -> Self {
        ModuleError::Failed(e.to_string())
    }
}

/// The script being run: its path as shown to the user and its text, to
/// place errors that Rhai reports without a position.
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    pub fn at(&self, pos: Position) -> String {
        let path = super::relative(self.path);
        match (pos.line(), pos.position()) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", path.display()),
            (Some(l), None) => format!("{}:{l}", path.display()),
            _ => path.display().to_string(),
        }
    }

    /// Where `fn NAME(` is defined, as a position.
    pub fn fn_position(&self, name: &str) -> Position {
        for (i, line) in self.text.lines().enumerate() {
            let trimmed = line.trim_start();
            let rest = trimmed
                .strip_prefix("private ")
                .unwrap_or(trimmed)
                .trim_start();
            let Some(after) = rest.strip_prefix("fn ") else {
                continue;
            };
            let after = after.trim_start();
            if after
                .strip_prefix(name)
                .is_some_and(|r| r.trim_start().starts_with('('))
            {
                let col = line.len() - trimmed.len() + 1;
                return Position::new(i as u16 + 1, col as u16);
            }
        }
        Position::NONE
    }
}

/// A Rhai error raised while running `func` as a [`ScriptError`].
pub fn runtime(e: &EvalAltResult, src: &Source, func: &str) -> ScriptError {
    if let Some(msg) = fail_message(e) {
        return ScriptError::Failed(msg);
    }
    let mut stack = String::new();
    let mut cur = e;
    let mut innermost_fn = func.to_string();
    while let EvalAltResult::ErrorInFunctionCall(name, _, inner, pos) = cur {
        stack = format!("\n  in {name}() called at {}{stack}", src.at(*pos));
        innermost_fn = name.clone();
        cur = inner;
    }
    // Rhai moves a limit error (too many operations, stack overflow) to
    // the call site of the function it happened in; the outermost call
    // has no site, so point at the function itself.
    let mut pos = cur.position();
    if pos.is_none() {
        pos = src.fn_position(&innermost_fn);
    }
    ScriptError::Runtime {
        func: func.to_string(),
        location: src.at(pos),
        message: what(cur),
        stack,
    }
}

/// An error while running a script's top level at load time.
pub fn load_error(e: &EvalAltResult, src: &Source) -> String {
    let mut cur = e;
    while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _) = cur {
        cur = inner;
    }
    format!("{}: {}", src.at(cur.position()), what(cur))
}

fn what(e: &EvalAltResult) -> String {
    match e {
        EvalAltResult::ErrorTooManyOperations(_) => format!(
            "the script ran too long and was stopped after {MAX_OPERATIONS} operations (an endless loop?)"
        ),
        EvalAltResult::ErrorStackOverflow(_) => {
            format!("too many nested calls (more than {MAX_CALL_LEVELS}; endless recursion?)")
        }
        EvalAltResult::ErrorDataTooLarge(what, _) => {
            format!("{what} grew beyond the script limits")
        }
        EvalAltResult::ErrorTerminated(token, _) => super::limits::stopped_message(token),
        EvalAltResult::ErrorRuntime(v, _) => v.to_string(),
        other => strip_position(&other.to_string()),
    }
}

fn fail_message(e: &EvalAltResult) -> Option<String> {
    match e {
        EvalAltResult::ErrorRuntime(v, _) => v
            .clone()
            .try_cast::<RMap>()?
            .get(FAIL_MARK)
            .map(|m| m.to_string()),
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => fail_message(inner),
        _ => None,
    }
}

/// Rhai's messages end in ` (line 3, position 5)`; we print it our way.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" (line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_function_definitions() {
        let text = "const MODULE = #{};\n\nfn check(p) {}\n  private fn run (p) {\n}\n";
        let src = Source {
            path: Path::new("/nowhere/m.rhai"),
            text,
        };
        assert_eq!(src.fn_position("check"), Position::new(3, 1));
        assert_eq!(src.fn_position("run"), Position::new(4, 3));
        assert!(src.fn_position("apply").is_none());
        assert_eq!(src.at(Position::new(4, 3)), "/nowhere/m.rhai:4:3");
    }
}
