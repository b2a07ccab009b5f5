//! What the module (load time) and the action (each task) of a script
//! share: the compiled script and which functions it implements. Not for
//! compiling it (that is `module`) or calling it (that is `action`).

use std::path::PathBuf;
use std::sync::Arc;

use rhai::{AST, Engine};

use super::api::Constants;
use super::error::Source;

/// Which functions a script implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `check(params)` says what would change; `apply(params)` changes it.
    /// `apply(params, found)` also gets the map `check` returned, so it
    /// need not ask the host again.
    CheckApply { apply_gets_found: bool },
    /// `run(params)` does both and asks `check_mode()` itself.
    Run,
}

/// What every call of the script needs: the engine, the compiled script
/// and its text (to place errors).
pub struct Script {
    pub engine: Arc<Engine>,
    pub ast: AST,
    pub path: PathBuf,
    pub text: String,
    pub protocol: Protocol,
    /// The top-level constants, which Rhai functions could not see
    /// otherwise.
    pub constants: Arc<Constants>,
}

impl Script {
    pub fn source(&self) -> Source<'_> {
        Source {
            path: &self.path,
            text: &self.text,
        }
    }
}
