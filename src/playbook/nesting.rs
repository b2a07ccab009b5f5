//! How files pull each other in: the chain of `import_playbook`,
//! `import_tasks`, `include_tasks` and role references that led to a file,
//! the loops found in it, and the depth limit.
//!
//! Imports are expanded when the playbook loads, so an import loop never
//! ends and is refused at once. An `include_tasks` that comes back to its
//! own file is left to run time, as in Ansible (a `when:` may end it);
//! there, as everywhere, nesting deeper than [`MAX_INCLUDE_DEPTH`] is an
//! error instead of a stack overflow.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::PlaybookError;
use super::node::invalid;
use crate::source::Span;

/// How many imports, includes and roles may nest.
pub const MAX_INCLUDE_DEPTH: usize = 64;

/// The references that led to a file, outermost first.
#[derive(Clone, Default)]
pub struct Chain(Arc<Vec<Span>>);

impl Chain {
    /// How many references deep this is.
    pub fn depth(&self) -> usize {
        self.0.len()
    }

    /// The chain one reference deeper: `from` (a `what` reference) names
    /// `target`, a file or a role's folder. Also tells whether `target`
    /// is already being read, which makes a loop.
    pub fn enter(
        &self,
        from: &Span,
        target: &Path,
        what: &str,
    ) -> Result<(Chain, bool), PlaybookError> {
        let mut spans = (*self.0).clone();
        spans.push(from.clone());
        let deeper = Chain(Arc::new(spans));
        if deeper.depth() > MAX_INCLUDE_DEPTH {
            return Err(invalid(
                format!(
                    "`{what}` nested more than {MAX_INCLUDE_DEPTH} levels deep: {} (a file that includes itself without end?)",
                    deeper.render()
                ),
                from,
            ));
        }
        let target = canonical(target);
        let loops = deeper
            .0
            .iter()
            .any(|s| canonical(s.path()).starts_with(&target));
        Ok((deeper, loops))
    }

    /// The error for a loop of imports.
    pub fn loop_error(&self, what: &str, target: &Path) -> PlaybookError {
        let at = self.0.last().cloned();
        let message = format!(
            "`{what}` loop: {} imports {} again, which would never end",
            self.render(),
            relative(target).display()
        );
        match at {
            Some(span) => invalid(message, &span),
            None => PlaybookError::Invalid(crate::source::Diagnostic::new(message, None)),
        }
    }

    /// `a.yml:3:5 → b.yml:1:3 → …`, long chains shortened in the middle.
    fn render(&self) -> String {
        let all: Vec<String> = self.0.iter().map(Span::location).collect();
        if all.len() <= 8 {
            return all.join(" → ");
        }
        let (head, tail) = (&all[..4], &all[all.len() - 3..]);
        format!(
            "{} → … ({} more) → {}",
            head.join(" → "),
            all.len() - 7,
            tail.join(" → ")
        )
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn relative(path: &Path) -> &Path {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path)
}
