//! An INI file editor that keeps every byte it does not own.
//!
//! [`IniDoc`] parses a file into lines, each remembering its exact text and
//! line ending, and classifies them (section header, option, comment,
//! blank, continuation). Edits replace, insert or delete whole lines, so
//! comments, blank lines, ordering, indentation, CRLF endings and a
//! missing final newline survive untouched; [`IniDoc::render`] gives back
//! the original bytes when nothing was edited.
//!
//! It is written for OpenStack's configuration files (oslo.config), whose
//! shipped versions carry a commented `#option = default` line for every
//! option under its section: [`SetOptions::modify_inactive`] replaces that
//! line in place instead of appending a new one.
//!
//! This is a library with no knowledge of hosts or modules: the `ini_set`
//! module reads and writes the file, and Rhai scripts may use it too.

mod edit;
mod secrets;

pub use edit::SetOptions;
pub use secrets::{is_secret_option, mask_secrets};

/// What is wrong with an edit request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IniError {
    /// An option name that would not read back as one option; it holds
    /// the name.
    #[error(
        "invalid option name '{0}': it must be non-empty and contain no '=', line break, or leading '[', '#' or ';'"
    )]
    BadOption(String),
    /// A section name that would not read back as one header; it holds
    /// the name.
    #[error("invalid section name '{0}': it must be non-empty and contain no ']' or line break")]
    BadSection(String),
    /// A value that would spill onto a line of its own; it holds the
    /// option's name, not the value, which may be a secret.
    #[error("the value of option '{0}' contains a line break")]
    BadValue(String),
}

/// What a line is, as far as editing is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Blank,
    /// Starts with `#` or `;` (after optional indentation).
    Comment,
    /// `[name]`, with the name trimmed of the spaces inside the brackets.
    Section(String),
    /// `key = value`, or a bare `key` (value `None`).
    Option {
        key: String,
        value: Option<String>,
    },
    /// A line indented deeper than the option above it: part of its value.
    Continuation,
}

/// One line: its text without the ending, and the ending itself.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) text: String,
    /// `"\n"`, `"\r\n"` or `""` (only possible for the last line).
    pub(crate) ending: String,
    pub(crate) kind: Kind,
}

/// A parsed INI file that renders back to the same bytes.
#[derive(Debug, Clone)]
pub struct IniDoc {
    pub(crate) lines: Vec<Line>,
    /// The ending given to new lines: the one the file already uses.
    pub(crate) eol: &'static str,
    /// Whether the file ends with a line ending (kept as it was).
    pub(crate) final_newline: bool,
}

impl Default for IniDoc {
    fn default() -> Self {
        IniDoc::parse("")
    }
}

impl IniDoc {
    /// Parses INI text. Never fails: lines that are not sections, options
    /// or comments are kept as they are.
    pub fn parse(text: &str) -> Self {
        let mut lines = Vec::new();
        let mut option_indent: Option<usize> = None;
        let mut rest = text;
        while !rest.is_empty() {
            let (raw, ending, next) = match rest.find('\n') {
                Some(i) if i > 0 && rest.as_bytes()[i - 1] == b'\r' => {
                    (&rest[..i - 1], "\r\n", &rest[i + 1..])
                }
                Some(i) => (&rest[..i], "\n", &rest[i + 1..]),
                None => (rest, "", ""),
            };
            rest = next;
            let kind = classify(raw, &mut option_indent);
            lines.push(Line {
                text: raw.to_string(),
                ending: ending.to_string(),
                kind,
            });
        }
        let eol = match lines.iter().find(|l| !l.ending.is_empty()) {
            Some(l) if l.ending == "\r\n" => "\r\n",
            _ => "\n",
        };
        IniDoc {
            lines,
            eol,
            final_newline: text.is_empty() || text.ends_with('\n'),
        }
    }

    /// The text of the file, byte for byte as parsed apart from the edits.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            out.push_str(&line.text);
            let ending = match (i == last, line.ending.is_empty()) {
                (false, true) => self.eol,
                (false, false) => line.ending.as_str(),
                (true, _) if !self.final_newline => "",
                (true, true) => self.eol,
                (true, false) => line.ending.as_str(),
            };
            out.push_str(ending);
        }
        out
    }

    /// The names of the sections, in file order, each once.
    pub fn sections(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for line in &self.lines {
            if let Kind::Section(name) = &line.kind {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Whether a section exists. `None` (the lines before the first
    /// section) always does.
    pub fn has_section(&self, section: Option<&str>) -> bool {
        section.is_none() || !self.section_bodies(section).is_empty()
    }

    /// Every value of an option in a section, in file order; a bare
    /// option (no `=`) reads as `None`.
    pub fn get_all(&self, section: Option<&str>, key: &str) -> Vec<Option<&str>> {
        self.option_lines(section, key)
            .into_iter()
            .filter_map(|i| match &self.lines[i].kind {
                Kind::Option { value, .. } => Some(value.as_deref()),
                _ => None,
            })
            .collect()
    }

    /// The value of an option as oslo.config reads it: the last one wins.
    /// A bare option reads as an empty string.
    pub fn get(&self, section: Option<&str>, key: &str) -> Option<&str> {
        self.get_all(section, key).last().map(|v| v.unwrap_or(""))
    }

    /// The body of each block of a section: from the line after its header
    /// to the next header (exclusive). A section may appear more than once;
    /// all its blocks count as one section.
    pub(crate) fn section_bodies(&self, section: Option<&str>) -> Vec<(usize, usize)> {
        let headers: Vec<usize> = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l.kind, Kind::Section(_)))
            .map(|(i, _)| i)
            .collect();
        let Some(name) = section else {
            return vec![(0, headers.first().copied().unwrap_or(self.lines.len()))];
        };
        headers
            .iter()
            .enumerate()
            .filter(|(_, h)| matches!(&self.lines[**h].kind, Kind::Section(n) if n == name))
            .map(|(k, h)| {
                (
                    h + 1,
                    headers.get(k + 1).copied().unwrap_or(self.lines.len()),
                )
            })
            .collect()
    }

    /// Indices of the active lines of an option in a section, in order.
    pub(crate) fn option_lines(&self, section: Option<&str>, key: &str) -> Vec<usize> {
        self.section_bodies(section)
            .into_iter()
            .flat_map(|(a, b)| a..b)
            .filter(|i| matches!(&self.lines[*i].kind, Kind::Option { key: k, .. } if k == key))
            .collect()
    }
}

/// The leading spaces and tabs of a line.
pub(crate) fn indent_of(text: &str) -> &str {
    &text[..text.len() - text.trim_start_matches([' ', '\t']).len()]
}

/// Classifies one line. `option_indent` is the indentation of the option
/// (or continuation chain) just above, which a deeper-indented line
/// continues, as configparser and oslo.config read it.
fn classify(raw: &str, option_indent: &mut Option<usize>) -> Kind {
    let trimmed = raw.trim();
    let indent = indent_of(raw).len();
    let kind = if trimmed.is_empty() {
        Kind::Blank
    } else if trimmed.starts_with('#') || trimmed.starts_with(';') {
        Kind::Comment
    } else if option_indent.is_some_and(|o| indent > o) {
        Kind::Continuation
    } else if let Some(name) = section_name(trimmed) {
        Kind::Section(name)
    } else {
        match trimmed.split_once('=') {
            Some((k, v)) => Kind::Option {
                key: k.trim().to_string(),
                value: Some(v.trim().to_string()),
            },
            None => Kind::Option {
                key: trimmed.to_string(),
                value: None,
            },
        }
    };
    match &kind {
        Kind::Option { .. } => *option_indent = Some(indent),
        Kind::Continuation => {}
        _ => *option_indent = None,
    }
    kind
}

/// The name in a `[name]` header (trailing text after `]` is allowed).
fn section_name(trimmed: &str) -> Option<String> {
    let inner = trimmed.strip_prefix('[')?;
    let end = inner.find(']')?;
    Some(inner[..end].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_back_byte_for_byte() {
        for text in [
            "",
            "\n",
            "a=1",
            "a = 1\n[s]\nb=2\n",
            "[s]\r\nb = 2\r\n# c\r\n\r\n",
            "  [ s ] # x\n\tk=v\n\t\tcont\nno_value\n; semi\n[t]\nx = y",
            "mixed\r\nendings\nhere",
        ] {
            assert_eq!(IniDoc::parse(text).render(), text, "{text:?}");
        }
    }

    #[test]
    fn classifies_lines() {
        let doc =
            IniDoc::parse("g = 0\n[ s ]\n# c\nk = v\n  more\nbare\n\n[t]\n  k2=v2\n  k3 = v3\n");
        let kinds: Vec<&Kind> = doc.lines.iter().map(|l| &l.kind).collect();
        assert!(matches!(kinds[1], Kind::Section(n) if n == "s"));
        assert_eq!(kinds[2], &Kind::Comment);
        assert_eq!(kinds[4], &Kind::Continuation);
        assert!(matches!(kinds[5], Kind::Option { key, value: None } if key == "bare"));
        assert_eq!(kinds[6], &Kind::Blank);
        // Equal indentation is a new option, not a continuation (git config style).
        assert!(matches!(kinds[9], Kind::Option { key, .. } if key == "k3"));
        assert_eq!(doc.get(None, "g"), Some("0"));
        assert_eq!(doc.get(Some("t"), "k3"), Some("v3"));
        assert_eq!(doc.get(Some("s"), "bare"), Some(""));
        assert_eq!(doc.get(Some("S"), "k"), None);
        assert_eq!(doc.sections(), vec!["s", "t"]);
    }

    #[test]
    fn last_value_wins_and_blocks_merge() {
        let doc = IniDoc::parse("[a]\nx = 1\n[b]\nx = 2\n[a]\nx = 3\n");
        assert_eq!(doc.get_all(Some("a"), "x"), vec![Some("1"), Some("3")]);
        assert_eq!(doc.get(Some("a"), "x"), Some("3"));
        assert_eq!(doc.get(Some("b"), "x"), Some("2"));
    }
}
