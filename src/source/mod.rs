//! Source files, spans and the diagnostics that point into them.
//!
//! Every user-written file (playbooks, inventories, vars files) is loaded
//! through here so that any later error can say `file:line:col`, show the
//! offending line and put a caret under the fault. Not for run-time
//! results: those are reported by `output`.

pub mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The text of one loaded file, shared by every span that points into it.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as it was opened; [`Span::location`] shortens it.
    pub path: PathBuf,
    /// The whole file, which every excerpt quotes from.
    pub text: String,
}

impl SourceFile {
    /// Shared from the start: every span into the file holds it.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
        })
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line(&self, line: usize) -> Option<&str> {
        self.text
            .lines()
            .nth(line.checked_sub(1)?)
            .map(|l| l.trim_end_matches('\r'))
    }
}

/// A position in a source file: 1-based line and column.
#[derive(Clone)]
pub struct Span {
    /// The file, kept alive so that an error can quote it long after
    /// loading.
    pub file: Arc<SourceFile>,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters (not bytes).
    pub col: usize,
}

impl Span {
    /// `line` and `col` are 1-based; a position past the text is allowed
    /// and gives an empty excerpt.
    pub fn new(file: &Arc<SourceFile>, line: usize, col: usize) -> Self {
        Span {
            file: file.clone(),
            line,
            col,
        }
    }

    /// A span for a file as a whole (line 1, column 1).
    pub fn whole(file: &Arc<SourceFile>) -> Self {
        Span::new(file, 1, 1)
    }

    /// The file's path as it was opened (not shortened).
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// `path:line:col`, the form editors and terminals understand. Paths
    /// below the current directory are shown relative to it.
    pub fn location(&self) -> String {
        let cwd = std::env::current_dir().unwrap_or_default();
        let path = self.file.path.strip_prefix(&cwd).unwrap_or(&self.file.path);
        format!("{}:{}:{}", path.display(), self.line, self.col)
    }

    /// The source line and a caret under the column, indented for a report.
    pub fn excerpt(&self) -> String {
        let Some(text) = self.file.line(self.line) else {
            return String::new();
        };
        // Control characters (a stray NUL, an escape sequence) would reach
        // the terminal as they are.
        let text: String = text
            .chars()
            .map(|c| {
                if c.is_control() && c != '\t' {
                    '\u{fffd}'
                } else {
                    c
                }
            })
            .collect();
        let gutter = self.line.to_string();
        let pad = " ".repeat(gutter.len());
        // Columns count characters; tabs keep their width in the caret line.
        let lead: String = text
            .chars()
            .take(self.col.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("{pad} |\n{gutter} | {text}\n{pad} | {lead}^")
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.location())
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.location())
    }
}

/// A located message: what went wrong, where, and what might fix it.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// What went wrong, without the location (Display puts it first).
    pub message: String,
    /// `None` for faults with no place in a file (a missing file).
    pub span: Option<Span>,
    /// Shown as `hint: ...` on a line of its own.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without a hint.
    pub fn new(message: impl Into<String>, span: Option<Span>) -> Self {
        Diagnostic {
            message: message.into(),
            span,
            hint: None,
        }
    }

    /// Adds what might fix it ("did you mean `ini_set`?").
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::error::Error for Diagnostic {}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.span {
            Some(span) => {
                write!(f, "{}: {}", span.location(), self.message)?;
                let excerpt = span.excerpt();
                if !excerpt.is_empty() {
                    write!(f, "\n{excerpt}")?;
                }
            }
            None => f.write_str(&self.message)?,
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

/// The closest candidate to `word`, for "did you mean" hints.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_puts_caret_under_column() {
        let file = SourceFile::new("p.yml", "- hosts: all\n  taks: []\n");
        let span = Span::new(&file, 2, 3);
        assert_eq!(span.location(), "p.yml:2:3");
        assert_eq!(span.excerpt(), "  |\n2 |   taks: []\n  |   ^");
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(
            did_you_mean("ini_sett", ["ini_set", "copy"]),
            Some("ini_set")
        );
        assert_eq!(did_you_mean("zzz", ["ini_set", "copy"]), None);
    }
}
