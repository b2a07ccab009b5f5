//! `lineinfile`: make sure one line is in a file (replacing the line a
//! regular expression finds) or that matching lines are not.
//!
//! The editing itself ([`present`], [`absent`]) works on the file's lines
//! and follows Ansible's algorithm step by step; the module around it
//! reads the file, writes it back only when it changed and fixes attributes.

use std::sync::Arc;

use async_trait::async_trait;
use regex::bytes::{Captures, Regex};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::{
    self, AttrChanges, Probe, ProbeRequest, Wanted, add_file_fields, content_diff, parent_of,
    predicted_file, probe,
};
use super::params::file_params;
use super::write::{Source, validated_write};
use crate::connection::{FileKind, shell_quote};
use crate::modules::{
    Action, ApplyPlan, Change, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Planned, Query,
    parse_params,
};

file_params! {
    /// Ensures a line is present in a file, or that matching lines are absent.
    ///
    /// With `regexp` (or `search_string`), the last matching line is replaced
    /// (the first with `firstmatch`); without a match the line is added after
    /// `insertafter` (a regex, or `EOF`, the default) or before `insertbefore`
    /// (a regex, or `BOF`), unless the exact line is already there. `state:
    /// absent` removes every line matching `regexp`, `search_string` or
    /// equal to `line`. Regular expressions use Rust's syntax (no
    /// look-around) and are matched against each line without its line ending;
    /// `backrefs` accepts Python's `\1` and `\g<name>`. Each line keeps its
    /// ending (`\n` or `\r\n`), new lines take the file's, and a file without a
    /// final newline keeps lacking one.
    pub struct LineinfileParams with backup {
        /// The file to edit.
        #[schemars(extend("x-aliases" = ["dest", "destfile", "name"]))]
        pub path: String,
        /// `present` (default) or `absent`.
        #[serde(default)]
        pub state: LineState,
        /// A regular expression finding the line to replace or remove.
        #[serde(default)]
        #[schemars(extend("x-aliases" = ["regex"]))]
        pub regexp: Option<String>,
        /// A literal string finding the line to replace or remove.
        #[serde(default)]
        pub search_string: Option<String>,
        /// The line to put in the file.
        #[serde(default)]
        #[schemars(extend("x-aliases" = ["value"]))]
        pub line: Option<String>,
        /// Add the line after the last line matching this regex, or at `EOF`.
        #[serde(default)]
        pub insertafter: Option<String>,
        /// Add the line before the last line matching this regex, or at `BOF`.
        #[serde(default)]
        pub insertbefore: Option<String>,
        /// Create the file (and its folders) when it is missing.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub create: bool,
        /// Expand `regexp`'s groups into `line`; without a match nothing changes.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub backrefs: bool,
        /// Use the first match of `regexp`/`insertafter`/`insertbefore`, not the last.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub firstmatch: bool,
        /// A command that checks the new file before it replaces the old; `%s`
        /// is the file's temporary path.
        #[serde(default)]
        pub validate: Option<String>,
    }
}

/// `state:` of lineinfile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LineState {
    /// The line is in the file.
    #[default]
    Present,
    /// No line matches.
    Absent,
}

/// The `lineinfile` module.
pub struct LineinfileModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![Arc::new(LineinfileModule {
        spec: ModuleSpec::native::<LineinfileParams>("lineinfile").with_examples(
            "- lineinfile:\n    path: /etc/default/memcached\n    regexp: '^-l '\n    line: '-l 0.0.0.0'\n\n\
             - lineinfile:\n    path: /etc/hosts\n    line: '10.0.0.11 controller'",
        ),
    })]
}

/// Where a line goes when nothing matched.
#[derive(Debug)]
pub enum Anchor {
    /// At the start of the file (`BOF`).
    Start,
    /// At the end of the file (`EOF`).
    End,
    /// After the last (or first) line matching.
    After(Regex),
    /// Before the last (or first) line matching.
    Before(Regex),
}

/// How the present/absent edit finds lines.
#[derive(Debug)]
pub struct LineSpec {
    /// The regular expression finding the line.
    pub regexp: Option<Regex>,
    /// The literal text finding the line.
    pub search: Option<Vec<u8>>,
    /// The line to put in the file.
    pub line: Vec<u8>,
    /// Where the line goes when nothing matched.
    pub anchor: Anchor,
    /// Expand `regexp`'s groups into `line`.
    pub backrefs: bool,
    /// Use the first match instead of the last.
    pub firstmatch: bool,
}

fn compile(what: &str, re: &str) -> Result<Regex, ModuleError> {
    Regex::new(re).map_err(|e| ModuleError::Params(format!("invalid {what} '{re}': {e}")))
}

impl Module for LineinfileModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: LineinfileParams = parse_params(args)?;
        let exclusive = |a: bool, b: bool, names: &str| {
            if a && b {
                Err(ModuleError::Params(format!(
                    "parameters are mutually exclusive: {names}"
                )))
            } else {
                Ok(())
            }
        };
        exclusive(
            p.insertbefore.is_some(),
            p.insertafter.is_some(),
            "insertbefore|insertafter",
        )?;
        exclusive(
            p.regexp.is_some(),
            p.search_string.is_some(),
            "regexp|search_string",
        )?;
        exclusive(
            p.backrefs,
            p.search_string.is_some(),
            "backrefs|search_string",
        )?;
        if p.state == LineState::Present {
            if p.backrefs && p.regexp.is_none() {
                return Err(ModuleError::failed("regexp is required with backrefs=true"));
            }
            if p.line.is_none() {
                return Err(ModuleError::failed("line is required with state=present"));
            }
        } else if p.regexp.is_none() && p.search_string.is_none() && p.line.is_none() {
            return Err(ModuleError::failed(
                "one of line, search_string, or regexp is required with state=absent",
            ));
        }
        let anchor = match (p.insertafter.as_deref(), p.insertbefore.as_deref()) {
            (Some("BOF"), _) | (_, Some("BOF")) => Anchor::Start,
            (Some("EOF"), _) | (None, None) => Anchor::End,
            (Some(re), _) => Anchor::After(compile("insertafter", re)?),
            (None, Some(re)) => Anchor::Before(compile("insertbefore", re)?),
        };
        let spec = LineSpec {
            regexp: p
                .regexp
                .as_deref()
                .map(|r| compile("regexp", r))
                .transpose()?,
            search: p.search_string.clone().map(String::into_bytes),
            line: p.line.clone().unwrap_or_default().into_bytes(),
            anchor,
            backrefs: p.backrefs,
            firstmatch: p.firstmatch,
        };
        Ok(Box::new(LineinfileAction { p, spec }))
    }
}

/// A line's text without its ending, and the ending.
fn split_ending(line: &[u8]) -> (&[u8], &[u8]) {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let body = body
        .strip_suffix(b"\r")
        .filter(|_| body.len() < line.len())
        .unwrap_or(body);
    line.split_at(body.len())
}

fn body(line: &[u8]) -> &[u8] {
    split_ending(line).0
}

/// Splits text into lines that keep their endings.
pub fn split_lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// The line ending the file uses (its first line's), `\n` by default.
fn file_ending(lines: &[Vec<u8>]) -> Vec<u8> {
    lines
        .iter()
        .map(|l| split_ending(l).1)
        .find(|e| !e.is_empty())
        .unwrap_or(b"\n")
        .to_vec()
}

/// Inserts a line at `at`. At the end of a file lacking a final newline,
/// the old last line gets one and the new line goes without.
fn insert(lines: &mut Vec<Vec<u8>>, at: usize, text: &[u8]) {
    let eol = file_ending(lines);
    let last_open = lines.last().is_some_and(|l| split_ending(l).1.is_empty());
    if at == lines.len() && last_open {
        if let Some(last) = lines.last_mut() {
            last.extend_from_slice(&eol);
        }
        lines.push(text.to_vec());
        return;
    }
    let mut new = text.to_vec();
    new.extend_from_slice(&eol);
    lines.insert(at.min(lines.len()), new);
}

/// Python's `match.expand` templates (`\1`, `\g<1>`, `\g<name>`) for the regex crate.
fn expand(caps: &Captures<'_>, template: &[u8]) -> Vec<u8> {
    let mut rust = Vec::new();
    let mut i = 0;
    while i < template.len() {
        let c = template[i];
        let next = template.get(i + 1).copied();
        match (c, next) {
            (b'\\', Some(d)) if d.is_ascii_digit() => {
                let end = (i + 1..template.len())
                    .find(|&j| !template[j].is_ascii_digit())
                    .unwrap_or(template.len());
                rust.extend_from_slice(b"${");
                rust.extend_from_slice(&template[i + 1..end]);
                rust.push(b'}');
                i = end;
            }
            (b'\\', Some(b'g')) if template.get(i + 2) == Some(&b'<') => {
                let close = template[i..].iter().position(|&b| b == b'>').map(|p| p + i);
                let Some(close) = close else {
                    rust.push(c);
                    i += 1;
                    continue;
                };
                rust.extend_from_slice(b"${");
                rust.extend_from_slice(&template[i + 3..close]);
                rust.push(b'}');
                i = close + 1;
            }
            (b'\\', Some(b'\\')) => {
                rust.push(b'\\');
                i += 2;
            }
            (b'$', _) => {
                rust.extend_from_slice(b"$$");
                i += 1;
            }
            _ => {
                rust.push(c);
                i += 1;
            }
        }
    }
    let mut out = Vec::new();
    caps.expand(&rust, &mut out);
    out
}

/// The last line (the first with `firstmatch`) whose text satisfies `hit`.
fn pick(lines: &[Vec<u8>], firstmatch: bool, hit: impl Fn(&[u8]) -> bool) -> Option<usize> {
    let mut hits = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| hit(body(l)))
        .map(|(i, _)| i);
    if firstmatch { hits.next() } else { hits.last() }
}

/// Ansible's `present()`: edits `lines` and returns the message, or `None`
/// when the file already has the line.
pub fn present(lines: &mut Vec<Vec<u8>>, spec: &LineSpec) -> Option<&'static str> {
    let mut found = spec
        .regexp
        .as_ref()
        .and_then(|re| pick(lines, spec.firstmatch, |l| re.is_match(l)))
        .or_else(|| {
            spec.search
                .as_ref()
                .and_then(|s| pick(lines, spec.firstmatch, |l| contains(l, s)))
        });
    let matched = found.is_some();
    let mut ins: Option<usize> = None;
    if !matched {
        for (i, l) in lines.iter().enumerate() {
            if body(l) == spec.line.as_slice() {
                found = Some(i);
            } else if let Anchor::After(re) | Anchor::Before(re) = &spec.anchor {
                if re.is_match(body(l)) {
                    ins = Some(if matches!(spec.anchor, Anchor::After(_)) {
                        i + 1
                    } else {
                        i
                    });
                    if spec.firstmatch {
                        break;
                    }
                }
            }
        }
    }
    if let Some(i) = found {
        let text = match (&spec.regexp, spec.backrefs && matched) {
            (Some(re), true) => re.captures(body(&lines[i])).map(|c| expand(&c, &spec.line)),
            _ => None,
        }
        .unwrap_or_else(|| spec.line.clone());
        let mut new = text;
        new.extend_from_slice(split_ending(&lines[i]).1);
        if lines[i] == new {
            return None;
        }
        lines[i] = new;
        return Some("line replaced");
    }
    if spec.backrefs {
        return None;
    }
    match (&spec.anchor, ins) {
        (Anchor::Start, _) => insert(lines, 0, &spec.line),
        (Anchor::End, _) | (_, None) => insert(lines, lines.len(), &spec.line),
        (Anchor::After(_), Some(k)) => {
            let neighbour = if k == lines.len() { k - 1 } else { k };
            if body(&lines[neighbour]) == spec.line.as_slice() {
                return None;
            }
            insert(lines, k, &spec.line);
        }
        (Anchor::Before(_), Some(k)) => insert(lines, k, &spec.line),
    }
    Some("line added")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Ansible's `absent()`: removes matching lines and returns how many.
pub fn absent(lines: &mut Vec<Vec<u8>>, spec: &LineSpec) -> usize {
    let before = lines.len();
    lines.retain(|l| {
        let b = body(l);
        let hit = match (&spec.regexp, &spec.search) {
            (Some(re), _) => re.is_match(b),
            (None, Some(s)) => contains(b, s),
            (None, None) => b == spec.line.as_slice(),
        };
        !hit
    });
    before - lines.len()
}

struct LineinfileAction {
    p: LineinfileParams,
    spec: LineSpec,
}

/// What the query found and decided; the apply carries it out.
struct Plan {
    probe: Probe,
    wanted: Wanted,
    /// The new content, when it changed.
    content: Option<Vec<u8>>,
    changes: AttrChanges,
    outcome: Outcome,
}

impl LineinfileAction {
    /// Applies the edit to the file's content: the new content if it
    /// changed, the message, and the outcome so far (`found`, warnings).
    fn edit(&self, before: &[u8]) -> (Option<Vec<u8>>, String, Outcome) {
        let mut lines = split_lines(before);
        let mut outcome = Outcome::changed();
        let msg = match self.p.state {
            LineState::Present => present(&mut lines, &self.spec)
                .unwrap_or_default()
                .to_string(),
            LineState::Absent => {
                let n = absent(&mut lines, &self.spec);
                outcome = outcome.with("found", n);
                if n > 0 {
                    format!("{n} line(s) removed")
                } else {
                    String::new()
                }
            }
        };
        let empty_re = self
            .spec
            .regexp
            .as_ref()
            .is_some_and(|r| r.as_str().is_empty());
        if empty_re || self.spec.search.as_ref().is_some_and(Vec::is_empty) {
            outcome.warnings.push(
                "The regexp or search_string is an empty string, which will match every line in the file."
                    .into(),
            );
        }
        let content = (!msg.is_empty()).then(|| lines.concat());
        (content, msg, outcome)
    }
}

#[async_trait]
impl Action for LineinfileAction {
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let path = self.p.path.clone();
        let attrs = self.p.file_attrs();
        let mut req = ProbeRequest::new(&path).with_attrs(&attrs);
        req.follow = true;
        let pr = probe(ctx, &req).await?;
        if pr.info.as_ref().and_then(|i| i.followed_kind()) == Some(FileKind::Directory) {
            return Err(ModuleError::failed(format!("Path {path} is a directory !")));
        }
        let old = match &pr.info {
            Some(_) => ctx.conn.read_file(&path, ctx.become_.as_ref()).await?,
            None => None,
        };
        if old.is_none() {
            if self.p.state == LineState::Absent {
                return Ok(Query::Unchanged(Outcome::ok().with_msg("file not present")));
            }
            if !self.p.create {
                return Err(ModuleError::failed(format!(
                    "Destination {path} does not exist !"
                )));
            }
        }
        let (content, msg, mut outcome) = self.edit(old.as_deref().unwrap_or_default());
        let wanted = Wanted::resolve(&attrs, &pr)?;
        let info = pr.info.clone().unwrap_or_else(|| predicted_file(&pr, 0));
        let changes = match &pr.info {
            Some(i) => wanted.changes(i),
            None => AttrChanges::default(),
        };
        let msg = match (msg.is_empty(), changes.is_empty()) {
            (_, true) => msg,
            (true, false) => "ownership, perms or SE linux context changed".to_string(),
            (false, false) => format!("{msg} and ownership, perms or SE linux context changed"),
        };
        outcome = outcome.with_msg(msg.clone()).with("backup", "");
        if content.is_none() && changes.is_empty() {
            let mut out = add_file_fields(
                Outcome {
                    changed: false,
                    ..outcome
                },
                &info,
                &wanted,
            );
            out.data.insert("path".into(), Value::from(path));
            return Ok(Query::Unchanged(out));
        }
        let mut change = Change::new().with_msg(msg).with("path", path.clone());
        if let Some(new) = &content {
            change = change.with_diff(content_diff(&path, old.as_deref().or(Some(b"")), new));
        }
        if let Some(d) = changes.diff(&path) {
            change = change.with_diff(d);
        }
        let plan = Plan {
            probe: pr,
            wanted,
            content,
            changes,
            outcome,
        };
        Ok(Query::Change(change, Planned::boxed(*self, plan)))
    }
}

#[async_trait]
impl ApplyPlan for LineinfileAction {
    type Plan = Plan;

    async fn apply_plan(self, plan: Plan, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        // Like Ansible, a symbolic link is edited through, not replaced.
        let real = match plan.probe.info.as_ref().and_then(|i| i.link_target.clone()) {
            Some(t) if t.starts_with('/') => t,
            Some(t) => format!("{}/{t}", parent_of(&self.p.path)),
            None => self.p.path.clone(),
        };
        let path = real.as_str();
        let mut outcome = plan.outcome;
        let mut size = plan.probe.info.as_ref().map_or(0, |i| i.size);
        if let Some(content) = plan.content {
            size = content.len() as u64;
            if !plan.probe.parent_is_dir {
                let dir = parent_of(path);
                let out = ctx
                    .exec(format!("mkdir -p -- {}", shell_quote(&dir)))
                    .await?;
                if out.rc != 0 {
                    return Err(ModuleError::failed(format!(
                        "Error creating {dir} ({})",
                        out.stderr.trim()
                    )));
                }
            }
            if self.p.backup && plan.probe.info.is_some() {
                let b = common::backup(ctx, path).await?;
                outcome = outcome.with("backup", b.clone()).with("backup_file", b);
            }
            let source = Source::Bytes(content);
            match &self.p.validate {
                Some(v) => {
                    validated_write(
                        ctx,
                        path,
                        &source,
                        v,
                        &plan.wanted,
                        plan.probe.info.as_ref(),
                    )
                    .await?
                }
                None => source.write_to(ctx, path, &plan.wanted.attrs()).await?,
            }
        } else if let Some(cmd) = plan.changes.command(path, false, false) {
            common::run_fix(ctx, &cmd, path).await?;
        }
        let info = predicted_file(&plan.probe, size);
        let mut out = add_file_fields(outcome, &info, &plan.wanted);
        out.data.insert("path".into(), Value::from(path));
        Ok(out)
    }
}

#[cfg(test)]
#[path = "lineinfile_tests.rs"]
mod tests;
