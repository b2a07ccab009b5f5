//! The one error type at the top: every command ends in `Ok(())` or one of
//! these, [`Error::code`] is the only place that turns it into the process
//! exit status, and [`Error::report`] the only place that prints it.
//!
//! The codes, as ansible-playbook uses them where it has one (README,
//! "Exit codes"): 0 every host ok, 1 an error outside the hosts, 2 a host
//! failed, 3 a playbook, inventory or vars file could not be loaded or is
//! invalid, 4 a host was unreachable (wins over 2), 5 bad usage, 130
//! interrupted. Each layer keeps its own error enum; this one only wraps
//! them and says which code each means. Not for a host's failure inside a
//! run: that is a reported outcome (the recap), which lands here only as
//! [`Error::HostsFailed`] or [`Error::HostsUnreachable`].

use crate::config::ConfigError;
use crate::inventory::InventoryError;
use crate::playbook::PlaybookError;
use crate::playbook::kv::KvError;
use crate::source::Diagnostic;

/// Why a command did not end with every host ok.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What clap refused (bad usage, 5), or the help or version it printed
    /// (0).
    #[error(transparent)]
    Cli(#[from] clap::Error),
    /// The configuration file could not be read or is invalid (5).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `-e` values that could not be read (3).
    #[error(transparent)]
    ExtraVars(#[from] ExtraVarsError),
    /// An inventory that could not be loaded or is refused (3).
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// A playbook, role or module folder that could not be loaded (3).
    #[error(transparent)]
    Playbook(#[from] PlaybookError),
    /// Anything else found invalid before a host is touched: a host
    /// pattern, a question nobody can answer, a script module (3).
    #[error(transparent)]
    Invalid(#[from] Diagnostic),
    /// `oplay inventory --host NAME` of a host the inventory has not (5).
    #[error(transparent)]
    UnknownHost(InventoryError),
    /// `oplay doc NAME` of no module (5).
    #[error("no module named `{name}`{}", suggestion.as_ref().map(|s| format!("\nhint: did you mean `{s}`?")).unwrap_or_default())]
    UnknownModule {
        /// The name asked for.
        name: String,
        /// The closest name there is.
        suggestion: Option<String>,
    },
    /// `oplay vault` failed: bad usage (5), or a file it could not read,
    /// decrypt or write (1).
    #[error(transparent)]
    Vault(#[from] crate::vault::ToolError),
    /// The run stopped on an error outside the hosts (1).
    #[error("{0}")]
    Stopped(String),
    /// At least one host failed (2); the recap has said which.
    #[error("at least one host failed")]
    HostsFailed,
    /// At least one host was unreachable (4), whether others failed or
    /// not; the recap has said which.
    #[error("at least one host was unreachable")]
    HostsUnreachable,
    /// Stopped by Ctrl-C (130 = 128 + SIGINT, as a shell reports it).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The process exit status this error ends oplay with.
    pub fn code(&self) -> i32 {
        match self {
            Error::Cli(e) if !e.use_stderr() => 0,
            Error::Vault(crate::vault::ToolError::Usage(_)) => 5,
            Error::Stopped(_) | Error::Vault(_) => 1,
            Error::HostsFailed => 2,
            Error::ExtraVars(_) | Error::Inventory(_) | Error::Playbook(_) | Error::Invalid(_) => 3,
            Error::HostsUnreachable => 4,
            Error::Cli(_)
            | Error::Config(_)
            | Error::UnknownHost(_)
            | Error::UnknownModule { .. } => 5,
            Error::Interrupted => 130,
        }
    }

    /// Prints the error on standard error, the same way for every command:
    /// `error: …`, red when colours are on. Failed hosts and an interrupt
    /// print nothing more: the recap and the interrupt notice said it.
    pub fn report(&self) {
        match self {
            Error::Cli(e) => {
                let _ = e.print();
            }
            Error::HostsFailed | Error::HostsUnreachable | Error::Interrupted => {}
            other => {
                let text = format!("error: {other}");
                let styled = if console::colors_enabled_stderr() {
                    console::style(text).red().to_string()
                } else {
                    text
                };
                eprintln!("{styled}");
            }
        }
    }
}

/// The exit status of a command's result: 0 for `Ok`.
pub fn exit_code(result: &Result<(), Error>) -> i32 {
    result.as_ref().err().map_or(0, Error::code)
}

/// Why the `-e` values could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ExtraVarsError {
    /// `-e @file` of a file that could not be read.
    #[error("could not read extra vars file {path}: {source}")]
    Read {
        /// The file named after `@`.
        path: String,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// A file or inline text that is not valid YAML or JSON.
    #[error(transparent)]
    Syntax(#[from] Diagnostic),
    /// `k=v` text with an unbalanced quote.
    #[error(transparent)]
    Words(#[from] KvError),
    /// A word of `k=v` text without `=`.
    #[error("invalid extra var `{0}`: expected key=value")]
    NotPair(String),
    /// A value that is not a mapping (`-e '[1]'`).
    #[error("extra vars `{0}` must be a mapping")]
    NotMapping(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_readme_table() {
        let invalid = || Diagnostic::new("x", None);
        let cases = [
            (Error::Stopped("x".into()), 1),
            (Error::HostsFailed, 2),
            (Error::Invalid(invalid()), 3),
            (Error::ExtraVars(ExtraVarsError::NotPair("a".into())), 3),
            (Error::HostsUnreachable, 4),
            (
                Error::UnknownModule {
                    name: "x".into(),
                    suggestion: None,
                },
                5,
            ),
            (Error::Interrupted, 130),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code, "{e:?}");
        }
        assert_eq!(exit_code(&Ok(())), 0);
    }

    #[test]
    fn an_unknown_module_names_the_closest() {
        let e = Error::UnknownModule {
            name: "ini_sett".into(),
            suggestion: Some("ini_set".into()),
        };
        assert_eq!(
            e.to_string(),
            "no module named `ini_sett`\nhint: did you mean `ini_set`?"
        );
    }
}
