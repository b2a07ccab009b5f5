//! Ansible's INI inventory format: `[group]` sections of host lines with
//! inline `key=value` variables, `[group:vars]` and `[group:children]`
//! sections, `#` and `;` comments, host ranges and `host:port`.
//!
//! Values are typed as Ansible types them (Python literals, see
//! `literal`), in host lines and in `:vars` sections alike: Ansible's docs
//! say `:vars` values are strings, but its parser runs both through
//! `ast.literal_eval`, and inventories written for it rely on what it does.
//! Host lines are split like a POSIX shell (`shlex`), so quotes group words
//! and an unquoted `#` starts a comment anywhere.

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::InventoryError;
use super::expand::expand_host_entry;
use super::graph::{Graph, Origin, UNGROUPED};
use super::literal::parse_value;
use crate::source::{Diagnostic, SourceFile, Span};

static SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("static regex"));
static GROUP_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").expect("static regex"));
/// A host line that starts with a bracketed address: `[2001:db8::1]:22`.
static BRACKETED_HOST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[[^\]\s]+\]:[0-9]+(?:\s|$)").expect("static regex"));

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Hosts,
    Vars,
    Children,
}

/// A reference to a group that must be declared later in the same file.
struct Pending {
    name: String,
    span: Span,
    /// `None` for `[g:vars]`; the parents waiting for it for `children`.
    parents: Option<Vec<usize>>,
}

struct IniParser<'a> {
    file: &'a Arc<SourceFile>,
    graph: &'a mut Graph,
    origin: Origin<'a>,
    group: usize,
    kind: Kind,
    pending: Vec<Pending>,
}

/// Parses one INI inventory file into the graph.
pub(crate) fn parse(file: &Arc<SourceFile>, graph: &mut Graph) -> Result<(), InventoryError> {
    let path = file.path.clone();
    let mut parser = IniParser {
        file,
        graph,
        origin: Origin::File(&path),
        group: UNGROUPED,
        kind: Kind::Hosts,
        pending: Vec::new(),
    };
    for (index, raw) in file.text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim_start();
        let col = line.chars().count() - trimmed.chars().count() + 1;
        let trimmed = trimmed.trim_end();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        parser
            .line(trimmed, index + 1, col)
            .map_err(InventoryError::Parse)?;
    }
    parser.finish().map_err(InventoryError::Parse)
}

impl IniParser<'_> {
    fn span(&self, line: usize, col: usize) -> Span {
        Span::new(self.file, line, col)
    }

    fn line(&mut self, text: &str, line: usize, col: usize) -> Result<(), Diagnostic> {
        if text.starts_with('[') && !BRACKETED_HOST.is_match(text) {
            return self.section(text, line, col);
        }
        match self.kind {
            Kind::Hosts => self.host_line(text, line, col),
            Kind::Vars => self.var_line(text, line, col),
            Kind::Children => self.child_line(text, line, col),
        }
    }

    fn section(&mut self, text: &str, line: usize, col: usize) -> Result<(), Diagnostic> {
        let Some(caps) = SECTION.captures(text) else {
            return Err(Diagnostic::new(format!("invalid section header `{text}`"), Some(self.span(line, col)))
                .with_hint("a section is `[group]`, `[group:vars]` or `[group:children]`, without spaces; comments start with `#`"));
        };
        let name = caps[1].to_string();
        let kind = match caps.get(2).map(|m| m.as_str()) {
            None | Some("hosts") => Kind::Hosts,
            Some("vars") => Kind::Vars,
            Some("children") => Kind::Children,
            Some(other) => {
                let at = caps.get(2).map_or(0, |m| text[..m.start()].chars().count());
                return Err(Diagnostic::new(
                    format!("section [{name}:{other}] has unknown type `{other}`"),
                    Some(self.span(line, col + at)),
                )
                .with_hint(format!(
                    "use `[{name}]`, `[{name}:vars]` or `[{name}:children]`"
                )));
            }
        };
        if self.graph.group_id(&name).is_none() && kind == Kind::Vars && !self.is_pending(&name) {
            self.pending.push(Pending {
                name: name.clone(),
                span: self.span(line, col),
                parents: None,
            });
        }
        self.group = self.graph.add_group(&name);
        self.kind = kind;
        if kind != Kind::Vars {
            self.resolve_pending(&name)?;
        }
        Ok(())
    }

    fn is_pending(&self, name: &str) -> bool {
        self.pending.iter().any(|p| p.name == name)
    }

    /// A group was declared: attach it to the parents that named it early.
    fn resolve_pending(&mut self, name: &str) -> Result<(), Diagnostic> {
        let Some(i) = self.pending.iter().position(|p| p.name == name) else {
            return Ok(());
        };
        let pending = self.pending.remove(i);
        let child = self.graph.add_group(name);
        for parent in pending.parents.unwrap_or_default() {
            self.graph
                .add_child(parent, child)
                .map_err(|e| Diagnostic::new(e.to_string(), Some(pending.span.clone())))?;
            let parent_name = self.graph.groups[parent].name.clone();
            if self
                .pending
                .iter()
                .any(|p| p.name == parent_name && p.parents.is_some())
            {
                self.resolve_pending(&parent_name)?;
            }
        }
        Ok(())
    }

    fn host_line(&mut self, text: &str, line: usize, col: usize) -> Result<(), Diagnostic> {
        let words = shlex_split(text).map_err(|(msg, at)| {
            Diagnostic::new(
                format!("cannot parse host line: {msg}"),
                Some(self.span(line, col + at)),
            )
        })?;
        let Some((first, rest)) = words.split_first() else {
            return Ok(());
        };
        let entry_span = self.span(line, col + first.col);
        let (names, port) = expand_host_entry(&first.text).map_err(|m| {
            Diagnostic::new(
                format!("invalid host range `{}`: {m}", first.text),
                Some(entry_span.clone()),
            )
        })?;
        if first.text.ends_with(':') && port.is_none() {
            return Err(Diagnostic::new(
                format!(
                    "invalid host `{}`: a `:` after a host name must be followed by a port number",
                    first.text
                ),
                Some(entry_span),
            ));
        }
        if first.text == "---" {
            return Err(Diagnostic::new("invalid host `---`", Some(entry_span))
                .with_hint("`---` starts a YAML document; name the file `.yml` to read it as a YAML inventory"));
        }
        let mut vars = Vec::new();
        for word in rest {
            let Some((key, value)) = word.text.split_once('=') else {
                return Err(Diagnostic::new(
                    format!(
                        "expected key=value host variable assignment, got `{}`",
                        word.text
                    ),
                    Some(self.span(line, col + word.col)),
                )
                .with_hint("quote values that hold spaces: key='a value'"));
            };
            vars.push((key.to_string(), parse_value(value)));
        }
        self.graph
            .check_room(&names)
            .map_err(|e| Diagnostic::new(e.to_string(), Some(entry_span.clone())))?;
        for name in names {
            let host = self.graph.add_host(&name, self.group, port, &self.origin);
            for (key, value) in &vars {
                self.graph.set_host_var(host, key, value.clone());
            }
        }
        Ok(())
    }

    fn var_line(&mut self, text: &str, line: usize, col: usize) -> Result<(), Diagnostic> {
        let Some((key, value)) = text.split_once('=') else {
            return Err(Diagnostic::new(
                format!("expected key=value, got `{text}`"),
                Some(self.span(line, col)),
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(Diagnostic::new(
                "expected a variable name before `=`",
                Some(self.span(line, col)),
            ));
        }
        self.graph
            .set_group_var(self.group, key, parse_value(value.trim()))
            .map_err(|e| Diagnostic::new(e.to_string(), Some(self.span(line, col))))
    }

    fn child_line(&mut self, text: &str, line: usize, col: usize) -> Result<(), Diagnostic> {
        let Some(caps) = GROUP_NAME.captures(text) else {
            return Err(Diagnostic::new(
                format!("expected a group name, got `{text}`"),
                Some(self.span(line, col)),
            ));
        };
        let name = &caps[1];
        match self.graph.group_id(name) {
            Some(child) => self
                .graph
                .add_child(self.group, child)
                .map_err(|e| Diagnostic::new(e.to_string(), Some(self.span(line, col)))),
            None => {
                match self.pending.iter_mut().find(|p| p.name == name) {
                    Some(p) => p.parents.get_or_insert_with(Vec::new).push(self.group),
                    None => self.pending.push(Pending {
                        name: name.to_string(),
                        span: self.span(line, col),
                        parents: Some(vec![self.group]),
                    }),
                }
                Ok(())
            }
        }
    }

    /// Any reference still pending names a group the file never declared.
    fn finish(self) -> Result<(), Diagnostic> {
        let Some(p) = self.pending.first() else {
            return Ok(());
        };
        let name = &p.name;
        let message = match &p.parents {
            None => format!("section [{name}:vars] is for a group that is never declared"),
            Some(parents) => {
                let parent = parents
                    .last()
                    .map_or("", |g| self.graph.groups[*g].name.as_str());
                format!("section [{parent}:children] includes undefined group `{name}`")
            }
        };
        Err(
            Diagnostic::new(message, Some(p.span.clone())).with_hint(format!(
                "declare the group with a `[{name}]` section (it may be empty)"
            )),
        )
    }
}

/// A word of a host line and the 0-based column it starts at.
#[derive(Debug, PartialEq)]
pub(crate) struct Word {
    /// The word with its quotes and escapes resolved.
    pub text: String,
    /// Where it starts, for a diagnostic's caret.
    pub col: usize,
}

/// Splits a line like Python's `shlex.split(line, comments=True)`: quotes
/// group words, a backslash escapes, an unquoted `#` ends the line. An
/// error carries the 0-based column at fault.
pub(crate) fn shlex_split(line: &str) -> Result<Vec<Word>, (String, usize)> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == '#' {
            words.extend(current.take());
            if c == '#' {
                break;
            }
            i += 1;
            continue;
        }
        let word = current.get_or_insert_with(|| Word {
            text: String::new(),
            col: i,
        });
        match c {
            '\\' => {
                let next = chars
                    .get(i + 1)
                    .ok_or(("no escaped character".to_string(), i))?;
                word.text.push(*next);
                i += 2;
            }
            '\'' | '"' => {
                let start = i;
                i += 1;
                loop {
                    let q = *chars
                        .get(i)
                        .ok_or(("no closing quotation".to_string(), start))?;
                    i += 1;
                    if q == c {
                        break;
                    }
                    if c == '"' && q == '\\' && matches!(chars.get(i), Some('"' | '\\')) {
                        word.text.push(chars[i]);
                        i += 1;
                    } else {
                        word.text.push(q);
                    }
                }
            }
            _ => {
                word.text.push(c);
                i += 1;
            }
        }
    }
    words.extend(current);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        shlex_split(line)
            .unwrap()
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    #[test]
    fn splits_like_shlex() {
        assert_eq!(words("h a='x y' b=\"q\\\"z\""), ["h", "a=x y", "b=q\"z"]);
        assert_eq!(words("h pw=abc#def rest=1"), ["h", "pw=abc"]);
        assert_eq!(words("h pw=\"'03#pa'\""), ["h", "pw='03#pa'"]);
        assert_eq!(words("h a\\ b"), ["h", "a b"]);
        assert_eq!(shlex_split("h  x=1").unwrap()[1].col, 3);
        assert_eq!(
            shlex_split("h x='open").unwrap_err(),
            ("no closing quotation".to_string(), 4)
        );
    }
}
