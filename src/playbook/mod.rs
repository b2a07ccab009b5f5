//! Playbooks: the model, the loader with spans, and validation.
//!
//! A playbook is loaded whole, includes and roles too, and checked before
//! any host is contacted; every error carries file:line:col. Not for
//! running anything: that is the executor's job.

pub mod keywords;
pub mod kv;
pub mod loader;
pub mod model;
mod nesting;
mod node;
mod task;
mod vars_files;
mod vars_prompt;

pub use loader::{Loader, ModuleFinder};
pub use model::*;
pub use nesting::{Chain, MAX_INCLUDE_DEPTH};

use crate::source::Diagnostic;

/// Why a playbook, role, task file or module folder could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    /// Invalid content, with its place.
    #[error("{0}")]
    Invalid(Diagnostic),
    /// A file that could not be read.
    #[error("could not read playbook {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
