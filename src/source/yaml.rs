//! A YAML tree that remembers where every node came from.
//!
//! Playbooks, inventories and vars files are parsed into [`Node`]s so that
//! validation can point at the exact key or value at fault. Scalars are
//! resolved the way Ansible's YAML 1.1 loader resolves them (`yes`/`no` are
//! booleans, `0644` is octal), because playbooks written for Ansible rely on it.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::{Diagnostic, SourceFile, Span};

/// One YAML node with its position.
#[derive(Debug, Clone)]
pub struct Node {
    /// The value, with scalars already resolved to their YAML 1.1 type.
    pub kind: NodeKind,
    /// Where the node starts; a key's span is where an error about the
    /// key (unknown, duplicate) points.
    pub span: Span,
}

/// A node's value. Aliases are already copies of their anchor, and merge
/// keys (`<<`) already merged, so no variant stands for either.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// `~`, `null`, or nothing at all.
    Null,
    /// Any of YAML 1.1's spellings: `yes`, `On`, `false` ...
    Bool(bool),
    /// Decimal, `0x` hex, or octal (`0o17`, and `017` as YAML 1.1 reads
    /// it); `_` separators allowed.
    Int(i64),
    /// Written with a `.` or an exponent (`1.5`, `1e3`), or `.inf`.
    Float(f64),
    /// A plain scalar that resolves to nothing else, or a quoted one.
    Str(String),
    /// A sequence, in file order.
    Seq(Vec<Node>),
    /// A mapping in file order; duplicate keys were refused by the parser.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The text of a string scalar; `None` for a number or boolean, which
    /// a caller wanting text must not silently accept.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The pairs of a mapping, in file order.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items of a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the value is null, as a key written with nothing after the
    /// colon is.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    /// The value under a string key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name for the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// The node as plain data, dropping positions.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::Number((*i).into()),
            NodeKind::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(pairs) => {
                let mut map = Map::new();
                for (k, v) in pairs {
                    map.insert(k.key_string(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }

    /// A mapping key as a string (numbers and booleans are written out).
    pub fn key_string(&self) -> String {
        match &self.kind {
            NodeKind::Str(s) => s.clone(),
            NodeKind::Null => String::new(),
            NodeKind::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => f.to_string(),
            _ => self.to_value().to_string(),
        }
    }
}

/// How deep mappings and sequences may nest. Real files stay far below;
/// deeper nesting only comes from broken or hostile input, and would
/// exhaust the stack of the code that walks the tree.
pub const MAX_DEPTH: usize = 256;

/// How many nodes aliases may copy into one file, all aliases together:
/// a few anchors aliasing each other ("billion laughs") would otherwise
/// expand to billions of nodes.
pub const MAX_ALIAS_NODES: usize = 1_000_000;

/// Parses every document of a YAML file. A syntax error is returned as a
/// diagnostic located where the parser stopped.
pub fn parse_documents(file: &Arc<SourceFile>) -> Result<Vec<Node>, Diagnostic> {
    check_characters(file)?;
    let mut builder = Builder {
        file: file.clone(),
        stack: Vec::new(),
        docs: Vec::new(),
        anchors: HashMap::new(),
        aliased: 0,
        error: None,
    };
    // The events are pulled one by one: the parser's own `load` recurses
    // once per nesting level and overflows the stack on deep input.
    let mut parser = Parser::new_from_str(&file.text);
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            let mark = e.marker();
            let span = clamp_to_text(file, mark.line().max(1), mark.col() + 1);
            Diagnostic::new(format!("invalid YAML: {}", e.info()), Some(span))
        })?;
        if event == Event::StreamEnd {
            break;
        }
        builder.on_event(event, mark);
        if let Some(diag) = builder.error.take() {
            return Err(diag);
        }
    }
    Ok(builder.docs)
}

/// Refuses the characters YAML does not allow in a stream (PyYAML's
/// check): control characters other than tab and line breaks, and the
/// non-characters U+FFFE and U+FFFF. The YAML parser would take a NUL
/// for the end of the file and silently drop everything after it.
fn check_characters(file: &Arc<SourceFile>) -> Result<(), Diagnostic> {
    let allowed = |c: char| match c {
        '\t' | '\n' | '\r' | '\u{85}' => true,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}' => false,
        _ => true,
    };
    let Some((offset, bad)) = file.text.char_indices().find(|(_, c)| !allowed(*c)) else {
        return Ok(());
    };
    let before = &file.text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Err(Diagnostic::new(
        format!(
            "invalid YAML: unacceptable character #x{:04x}: special characters are not allowed",
            u32::from(bad)
        ),
        Some(Span::new(file, line, col)),
    ))
}

/// An error at the very end of the file is shown on its last line, so the
/// report can quote something.
fn clamp_to_text(file: &Arc<SourceFile>, line: usize, col: usize) -> Span {
    if file.line(line).is_some_and(|l| !l.trim().is_empty()) {
        return Span::new(file, line, col);
    }
    let last = file
        .text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .last()
        .map(|(i, l)| (i + 1, l.trim_end().chars().count() + 1));
    match last {
        Some((l, c)) if l <= line => Span::new(file, l, c),
        _ => Span::new(file, line, col),
    }
}

/// Parses a file that holds one document (an empty file is `null`).
pub fn parse(file: &Arc<SourceFile>) -> Result<Node, Diagnostic> {
    let mut docs = parse_documents(file)?;
    match docs.len() {
        0 => Ok(Node {
            kind: NodeKind::Null,
            span: Span::whole(file),
        }),
        1 => Ok(docs.remove(0)),
        _ => Err(Diagnostic::new(
            "expected a single YAML document, found several",
            Some(docs[1].span.clone()),
        )),
    }
}

enum Frame {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>),
}

struct Builder {
    file: Arc<SourceFile>,
    stack: Vec<Frame>,
    docs: Vec<Node>,
    /// Anchored nodes by id, with their sizes in nodes.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes copied by aliases so far.
    aliased: usize,
    error: Option<Diagnostic>,
}

impl Builder {
    fn span(&self, mark: Marker) -> Span {
        Span::new(&self.file, mark.line().max(1), mark.col() + 1)
    }

    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size(&node)));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(seq, _)) => {
                if let NodeKind::Seq(items) = &mut seq.kind {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    let NodeKind::Map(pairs) = &mut map.kind else {
                        return;
                    };
                    if key.as_str() == Some("<<") {
                        merge_into(pairs, node);
                    } else if let Some(dup) = pairs
                        .iter()
                        .find(|(k, _)| k.key_string() == key.key_string())
                    {
                        if self.error.is_none() {
                            let first = dup.0.span.location();
                            self.error = Some(Diagnostic::new(
                                format!(
                                    "duplicate key `{}` (first defined at {first})",
                                    key.key_string()
                                ),
                                Some(key.span.clone()),
                            ));
                        }
                    } else {
                        pairs.push((key, node));
                    }
                }
            },
        }
    }
}

impl Builder {
    /// An alias is a copy of its anchor's node, counted against
    /// [`MAX_ALIAS_NODES`].
    fn alias(&mut self, id: usize, span: Span) {
        let Some((node, nodes)) = self.anchors.get(&id) else {
            self.error = Some(Diagnostic::new(
                "invalid YAML: found undefined alias",
                Some(span),
            ));
            return;
        };
        self.aliased = self.aliased.saturating_add(*nodes);
        if self.aliased > MAX_ALIAS_NODES {
            self.error = Some(Diagnostic::new(
                format!(
                    "invalid YAML: aliases expand to more than {MAX_ALIAS_NODES} nodes (aliases of aliases?)"
                ),
                Some(span),
            ));
            return;
        }
        let node = Node {
            span,
            ..node.clone()
        };
        self.push_value(node, 0);
    }
}

/// The number of nodes in a tree.
fn size(node: &Node) -> usize {
    1 + match &node.kind {
        NodeKind::Seq(items) => items.iter().map(size).sum(),
        NodeKind::Map(pairs) => pairs.iter().map(|(k, v)| size(k) + size(v)).sum(),
        _ => 0,
    }
}

/// YAML merge keys (`<<: *base`): keys already present win.
fn merge_into(pairs: &mut Vec<(Node, Node)>, source: Node) {
    let sources = match source.kind {
        NodeKind::Seq(items) => items,
        _ => vec![source],
    };
    for src in sources {
        if let NodeKind::Map(src_pairs) = src.kind {
            for (k, v) in src_pairs {
                if !pairs
                    .iter()
                    .any(|(pk, _)| pk.key_string() == k.key_string())
                {
                    pairs.push((k, v));
                }
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let span = self.span(mark);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == TScalarStyle::Plain && tag.is_none();
                let kind = if plain || tag.as_ref().is_some_and(|t| t.suffix == "int") {
                    resolve_plain(&text)
                } else {
                    NodeKind::Str(text)
                };
                self.push_value(Node { kind, span }, anchor);
            }
            Event::DocumentStart => self.anchors.clear(),
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.error = Some(Diagnostic::new(
                    format!("invalid YAML: nested more than {MAX_DEPTH} levels deep"),
                    Some(span),
                ));
            }
            Event::SequenceStart(anchor, _) => {
                let node = Node {
                    kind: NodeKind::Seq(Vec::new()),
                    span,
                };
                self.stack.push(Frame::Seq(node, anchor));
            }
            Event::MappingStart(anchor, _) => {
                let node = Node {
                    kind: NodeKind::Map(Vec::new()),
                    span,
                };
                self.stack.push(Frame::Map(node, anchor, None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    let (mut node, anchor) = match frame {
                        Frame::Seq(n, a) => (n, a),
                        Frame::Map(n, a, _) => (n, a),
                    };
                    // A block mapping is reported where its first key is.
                    if let NodeKind::Map(pairs) = &node.kind {
                        if let Some((k, _)) = pairs.first() {
                            node.span = k.span.clone();
                        }
                    }
                    self.push_value(node, anchor);
                }
            }
            Event::Alias(id) => self.alias(id, span),
            _ => {}
        }
    }
}

/// Resolves a plain scalar as PyYAML (YAML 1.1) does.
fn resolve_plain(text: &str) -> NodeKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return NodeKind::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return NodeKind::Bool(false);
        }
        _ => {}
    }
    if let Some(i) = resolve_int(text) {
        return NodeKind::Int(i);
    }
    let looks_numeric = text
        .trim_start_matches(['-', '+'])
        .starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if looks_numeric && text.contains(['.', 'e', 'E']) {
        if let Ok(f) = text.replace('_', "").parse::<f64>() {
            return NodeKind::Float(f);
        }
    }
    match text {
        ".inf" | ".Inf" | "+.inf" => NodeKind::Float(f64::INFINITY),
        "-.inf" | "-.Inf" => NodeKind::Float(f64::NEG_INFINITY),
        _ => NodeKind::Str(text.to_string()),
    }
}

fn resolve_int(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let body = body.replace('_', "");
    if body.is_empty() || !body.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let value = if let Some(hex) = body.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = body.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse().ok()?
    };
    Some(if neg { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Node {
        parse(&SourceFile::new("t.yml", text)).unwrap()
    }

    #[test]
    fn resolves_scalars_like_ansible() {
        let n = load("a: yes\nb: 0644\nc: '0644'\nd: 1.5\ne: ~\nf: text\ng: 12\n");
        let v = n.to_value();
        assert_eq!(v["a"], Value::Bool(true));
        assert_eq!(v["b"], Value::from(420));
        assert_eq!(v["c"], Value::from("0644"));
        assert_eq!(v["d"], Value::from(1.5));
        assert_eq!(v["e"], Value::Null);
        assert_eq!(v["f"], Value::from("text"));
        assert_eq!(v["g"], Value::from(12));
    }

    #[test]
    fn keeps_positions() {
        let n = load("- hosts: all\n  tasks:\n    - name: x\n      copy: {}\n");
        let play = &n.as_seq().unwrap()[0];
        let task = &play.get("tasks").unwrap().as_seq().unwrap()[0];
        let copy = task
            .as_map()
            .unwrap()
            .iter()
            .find(|(k, _)| k.as_str() == Some("copy"))
            .unwrap();
        assert_eq!((copy.0.span.line, copy.0.span.col), (4, 7));
    }

    #[test]
    fn reports_syntax_errors_with_location() {
        let err = parse(&SourceFile::new("bad.yml", "a: [1, 2\nb: 3\n")).unwrap_err();
        assert!(err.to_string().starts_with("bad.yml:"), "{err}");
        assert!(err.message.starts_with("invalid YAML"));
    }

    #[test]
    fn rejects_duplicate_keys() {
        let err = parse(&SourceFile::new("d.yml", "a: 1\na: 2\n")).unwrap_err();
        assert_eq!(
            err.message,
            "duplicate key `a` (first defined at d.yml:1:1)"
        );
    }

    #[test]
    fn aliases_and_merge_keys() {
        let v = load("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n").to_value();
        assert_eq!(v["other"]["x"], Value::from(1));
        assert_eq!(v["other"]["y"], Value::from(2));
    }

    #[test]
    fn refuses_nul_and_control_characters() {
        let err = parse(&SourceFile::new("n.yml", "a: 1\nb: x\0y\nc: 3\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "n.yml:2:5: invalid YAML: unacceptable character #x0000: special characters are not allowed\n  |\n2 | b: x\u{fffd}y\n  |     ^"
        );
        let err = parse(&SourceFile::new("e.yml", "a: \u{1b}[31m\n")).unwrap_err();
        assert!(err.message.contains("#x001b"), "{err}");
        assert!(parse(&SourceFile::new("ok.yml", "a: b\t\r\nc: \u{e9}\n")).is_ok());
    }

    #[test]
    fn refuses_deep_nesting_without_overflowing() {
        let deep = format!("v:\n  {}x\n", "- ".repeat(20_000));
        let err = parse(&SourceFile::new("d.yml", deep)).unwrap_err();
        assert_eq!(
            err.message,
            "invalid YAML: nested more than 256 levels deep"
        );
        assert_eq!(
            (err.span.as_ref().unwrap().line, err.span.unwrap().col),
            (2, 513)
        );
        let maps: String = (0..2_000)
            .map(|i| format!("{}a:\n", " ".repeat(i)))
            .collect();
        assert!(parse(&SourceFile::new("m.yml", maps)).is_err());
        let flow = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
        assert!(parse(&SourceFile::new("f.yml", flow)).is_err());
        let fine: String = (0..200).map(|i| format!("{}-\n", " ".repeat(i))).collect();
        assert!(parse(&SourceFile::new("ok.yml", fine)).is_ok());
    }

    #[test]
    fn refuses_alias_bombs() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..=9 {
            let p = i - 1;
            text += &format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            );
        }
        let err = parse(&SourceFile::new("b.yml", text)).unwrap_err();
        assert_eq!(
            err.message,
            "invalid YAML: aliases expand to more than 1000000 nodes (aliases of aliases?)"
        );
        assert_eq!(err.span.unwrap().line, 6);
    }

    #[test]
    fn anchors_do_not_cross_documents() {
        let docs = "a: &x 1\n---\nb: *x\n";
        let err = parse_documents(&SourceFile::new("t.yml", docs)).unwrap_err();
        assert!(
            err.message.contains("alias") || err.message.contains("anchor"),
            "{err}"
        );
    }
}
