//! No import cycles among the files of `src/`: each file depends only on
//! files below it, so one can be read (and changed) without the ones above.
//!
//! The graph is built from the source text, not from the compiler:
//!
//! - A node is a file, named by its module path: `src/a/b.rs` and
//!   `src/a/b/mod.rs` are `a::b`, `src/lib.rs` is the crate root. Files are
//!   found by following `mod x;` declarations from `src/lib.rs` (so a
//!   `#[path = "x_tests.rs"] mod tests;` file is `…::x::tests`). `main.rs`
//!   is the binary; nothing in the library can reach it, so it is left out.
//! - An edge is a path in the code that starts with `crate::`, `super::`,
//!   `self::` or the name of a child module, in a `use` line or inline
//!   (`crate::connection::cleanup::spawn(…)`). It goes to the deepest file
//!   the path names: `crate::connection::ssh::SshConnection` is an edge to
//!   `connection::ssh`; `crate::connection::Connection` one to `connection`.
//!   A path to the file itself (`use super::*` in its `mod tests`) is none.
//! - A file's own parts are not its dependencies: `mod x;` is no edge,
//!   and neither is any path from a file to a module inside it (a folder's
//!   `mod.rs` calling `x::run()`, `lib.rs` naming anything). The other way,
//!   a part using its folder's `mod.rs` (`super::Error`), is an edge; so an
//!   item that two siblings need lives in `mod.rs` or in a third sibling,
//!   never in one of the two.
//! - A re-export (`pub use x::Item`, any `pub(…)` too) is the file's public
//!   face, not a dependency of its own: the line is no edge, and a path
//!   through it goes on to the file that defines the item
//!   (`crate::executor::Prompter` is an edge to `executor::prompts`).
//! - Test code counts as any other code. Method calls are not paths: an
//!   `impl Loader` block in `playbook/task.rs` depends on `loader.rs` (it
//!   names `Loader`); `loader.rs` calling `self.task(…)` adds no edge.
//!
//! A cycle fails the test with every edge inside it and the line it came
//! from. Breaking one usually means moving the item both files need to a
//! file below both (settings to `connection/settings.rs`, YAML helpers to
//! `playbook/node.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A token of Rust source with comments, strings' content and lifetimes
/// already gone; `line` is 1-based.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Ident(String),
    Str(String),
    PathSep,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    line: usize,
}

impl Tok {
    fn is_ident(&self, s: &str) -> bool {
        matches!(&self.kind, Kind::Ident(i) if i == s)
    }

    fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }

    fn ident(&self) -> Option<&str> {
        match &self.kind {
            Kind::Ident(i) => Some(i),
            _ => None,
        }
    }
}

/// Splits source text into tokens, skipping comments, the content of
/// char literals and lifetimes.
fn lex(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    while i < c.len() {
        let start_line = line;
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if c[i..].starts_with(&['/', '/']) {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i..].starts_with(&['/', '*']) {
            i = skip_block_comment(&c, i, &mut line);
        } else if ch == '"' {
            let (s, end) = read_string(&c, i + 1, 0, &mut line);
            out.push(tok(Kind::Str(s), start_line));
            i = end;
        } else if ch == '\'' {
            i = skip_quote(&c, i);
        } else if ch.is_alphanumeric() || ch == '_' {
            let s: String = c[i..]
                .iter()
                .take_while(|x| x.is_alphanumeric() || **x == '_')
                .collect();
            i += s.chars().count();
            if let Some((hashes, quote)) = raw_string_start(&s, &c, i) {
                let (s, end) = read_string(&c, quote + 1, hashes, &mut line);
                out.push(tok(Kind::Str(s), start_line));
                i = end;
            } else {
                out.push(tok(Kind::Ident(s), start_line));
            }
        } else if c[i..].starts_with(&[':', ':']) {
            out.push(tok(Kind::PathSep, line));
            i += 2;
        } else {
            out.push(tok(Kind::Punct(ch), line));
            i += 1;
        }
    }
    out
}

fn tok(kind: Kind, line: usize) -> Tok {
    Tok { kind, line }
}

fn skip_block_comment(c: &[char], mut i: usize, line: &mut usize) -> usize {
    let mut depth = 0;
    while i < c.len() {
        if c[i..].starts_with(&['/', '*']) {
            depth += 1;
            i += 2;
        } else if c[i..].starts_with(&['*', '/']) {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            *line += usize::from(c[i] == '\n');
            i += 1;
        }
    }
    i
}

/// `r"…"`, `r#"…"#`, `br"…"`, `b"…"`: the number of `#` and where the
/// opening quote is, when the identifier just read starts one.
fn raw_string_start(ident: &str, c: &[char], at: usize) -> Option<(usize, usize)> {
    let hashes = c[at..].iter().take_while(|x| **x == '#').count();
    let quote = at + hashes;
    let raw = matches!(ident, "r" | "br" | "cr");
    let plain = matches!(ident, "b" | "c") && hashes == 0;
    ((raw || plain) && c.get(quote) == Some(&'"')).then_some((hashes, quote))
}

/// Reads a string's content from `i` (after its opening quote) to its
/// closing quote followed by `hashes` `#`; returns it and the index after.
fn read_string(c: &[char], mut i: usize, hashes: usize, line: &mut usize) -> (String, usize) {
    let mut s = String::new();
    while i < c.len() {
        if c[i] == '\\' && hashes == 0 {
            s.extend(c.get(i + 1));
            i += 2;
            continue;
        }
        if c[i] == '"' && c[i + 1..].iter().take(hashes).all(|x| *x == '#') {
            return (s, i + 1 + hashes);
        }
        *line += usize::from(c[i] == '\n');
        s.push(c[i]);
        i += 1;
    }
    (s, i)
}

/// A char literal (`'x'`, `'\n'`, `'\u{7f}'`) or a lifetime (`'a`).
fn skip_quote(c: &[char], i: usize) -> usize {
    if c.get(i + 1) == Some(&'\\') {
        let close = c[i + 2..].iter().position(|x| *x == '\'');
        return close.map_or(c.len(), |p| i + 2 + p + 1);
    }
    if c.get(i + 2) == Some(&'\'') {
        return i + 3;
    }
    i + 1
}

/// One path found in a file, absolute or relative to `module`.
#[derive(Debug, Clone)]
struct PathRef {
    /// The module the path was written in (the file's, or an inline one
    /// such as its `mod tests`).
    module: Vec<String>,
    segs: Vec<String>,
    /// The name it is imported as (`use a::B as C` is `C`).
    alias: Option<String>,
    line: usize,
}

/// What one file says about the others.
#[derive(Debug, Default)]
struct Parsed {
    /// `mod x;` declarations: the name and the `#[path]` if any.
    mods: Vec<(String, Option<String>)>,
    /// `use` lines and inline paths: the file's dependencies.
    uses: Vec<PathRef>,
    /// `pub use` lines: what the file hands on from elsewhere.
    reexports: Vec<PathRef>,
    /// Names of the items the file defines with `pub` (for `pub use x::*`).
    items: BTreeSet<String>,
}

const ITEM_KEYWORDS: [&str; 9] = [
    "struct", "enum", "fn", "trait", "type", "const", "static", "union", "mod",
];

fn parse(toks: &[Tok], module: &[String], children: &dyn Fn(&str) -> bool) -> Parsed {
    let mut p = Parsed::default();
    // Inline modules open at a brace depth: (name, depth).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < toks.len() {
        let here: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|m| m.0.clone()))
            .collect();
        let t = &toks[i];
        if t.is_punct('{') {
            depth += 1;
        } else if t.is_punct('}') {
            depth = depth.saturating_sub(1);
            if inline.last().is_some_and(|m| m.1 == depth) {
                inline.pop();
            }
        } else if t.is_ident("mod") {
            mod_decl(toks, i, depth, &mut inline, &mut p.mods);
        } else if t.is_ident("use") {
            let mut found = Vec::new();
            let public = is_public(toks, i);
            i = use_tree(toks, i + 1, &[], &mut found);
            for (segs, alias) in found {
                let r = PathRef {
                    module: here.clone(),
                    segs,
                    alias,
                    line: t.line,
                };
                if public {
                    &mut p.reexports
                } else {
                    &mut p.uses
                }
                .push(r);
            }
            continue;
        } else if let Some(name) = t.ident() {
            let starts = ["crate", "super", "self"].contains(&name) || children(name);
            let continues = toks.get(i + 1).is_some_and(|n| n.kind == Kind::PathSep);
            let after_sep = i > 0 && toks[i - 1].kind == Kind::PathSep;
            if starts && continues && !after_sep {
                let (segs, end) = inline_path(toks, i);
                p.uses.push(PathRef {
                    module: here.clone(),
                    segs,
                    alias: None,
                    line: t.line,
                });
                i = end;
                continue;
            }
            if ITEM_KEYWORDS.contains(&name) && is_public(toks, i) {
                if let Some(n) = toks.get(i + 1).and_then(Tok::ident) {
                    p.items.insert(n.to_string());
                }
            }
        }
        i += 1;
    }
    p
}

/// `mod x {` opens an inline module at `depth`; `mod x;` at the top
/// level declares a file.
fn mod_decl(
    toks: &[Tok],
    i: usize,
    depth: usize,
    inline: &mut Vec<(String, usize)>,
    mods: &mut Vec<(String, Option<String>)>,
) {
    let Some(name) = toks.get(i + 1).and_then(Tok::ident) else {
        return;
    };
    match toks.get(i + 2) {
        Some(n) if n.is_punct('{') => inline.push((name.to_string(), depth)),
        Some(n) if n.is_punct(';') && inline.is_empty() => {
            mods.push((name.to_string(), path_attr(toks, i)));
        }
        _ => {}
    }
}

/// Whether the item whose keyword is at `i` is `pub` or `pub(…)`
/// (skipping `async`, `unsafe`, `const` before `fn`).
fn is_public(toks: &[Tok], mut i: usize) -> bool {
    while i > 0
        && ["async", "unsafe", "const", "extern"]
            .iter()
            .any(|k| toks[i - 1].is_ident(k))
    {
        i -= 1;
    }
    if i > 0 && toks[i - 1].is_ident("pub") {
        return true;
    }
    if i > 0 && toks[i - 1].is_punct(')') {
        let open = (0..i - 1).rev().find(|&j| toks[j].is_punct('('));
        return open.is_some_and(|o| o > 0 && toks[o - 1].is_ident("pub"));
    }
    false
}

/// The `#[path = "…"]` attribute among those just before the `mod` at
/// `i`, if any.
fn path_attr(toks: &[Tok], i: usize) -> Option<String> {
    let mut j = i;
    let visibility = ["pub", "crate", "super", "in", "self"];
    while j > 0 && (visibility.iter().any(|v| toks[j - 1].is_ident(v)) || is_paren(&toks[j - 1])) {
        j -= 1;
    }
    // Attributes, last first: `#` `[` … `]`.
    while j > 0 && toks[j - 1].is_punct(']') {
        let open = (0..j - 1).rev().find(|&k| toks[k].is_punct('['))?;
        let body = &toks[open + 1..j - 1];
        if let [p, eq, s] = body {
            if let (Kind::Ident(p), Kind::Punct('='), Kind::Str(s)) = (&p.kind, &eq.kind, &s.kind) {
                if p == "path" {
                    return Some(s.clone());
                }
            }
        }
        j = open.checked_sub(1)?;
    }
    None
}

fn is_paren(t: &Tok) -> bool {
    t.is_punct('(') || t.is_punct(')')
}

/// `a::b::c` from `i`, stopping before `::<`, `::{` or `::*`.
fn inline_path(toks: &[Tok], mut i: usize) -> (Vec<String>, usize) {
    let mut segs = Vec::new();
    while let Some(name) = toks.get(i).and_then(Tok::ident) {
        segs.push(name.to_string());
        let sep = toks.get(i + 1).is_some_and(|t| t.kind == Kind::PathSep);
        let named = toks.get(i + 2).and_then(Tok::ident).is_some();
        if !(sep && named) {
            return (segs, i + 1);
        }
        i += 2;
    }
    (segs, i)
}

/// Reads a use tree (`a::b::{c, d::e as f, g::*}`) from `i`, pushing each
/// leaf path with its alias; returns the index after it (after the `;`
/// at the top level).
fn use_tree(
    toks: &[Tok],
    mut i: usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    let mut segs = prefix.to_vec();
    while i < toks.len() {
        let t = &toks[i];
        match &t.kind {
            Kind::Ident(s) if s == "as" => {
                let alias = toks.get(i + 1).and_then(Tok::ident).map(str::to_string);
                out.push((std::mem::take(&mut segs), alias));
                i += 2;
                continue;
            }
            Kind::Ident(s) => segs.push(s.clone()),
            Kind::PathSep => {}
            Kind::Punct('*') => segs.push("*".into()),
            Kind::Punct('{') => {
                i += 1;
                while i < toks.len() && !toks[i].is_punct('}') {
                    i = use_tree(toks, i, &segs, out);
                }
                segs.clear();
            }
            Kind::Punct(',') | Kind::Punct('}') | Kind::Punct(';') => {
                if segs.len() > prefix.len() {
                    out.push((segs, None));
                }
                let end = t.is_punct(',') || t.is_punct(';');
                return i + usize::from(end);
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// The files of a crate and the paths each one writes.
struct Crate {
    /// Module path ("a::b", "" for the root) -> (file, what it says).
    files: BTreeMap<String, (PathBuf, Parsed)>,
}

impl Crate {
    /// Follows `mod` declarations from `root` (a `lib.rs`), reading files
    /// through `read`.
    fn load(root: &Path, read: &dyn Fn(&Path) -> Option<String>) -> Crate {
        let mut files = BTreeMap::new();
        let mut todo = vec![(Vec::<String>::new(), root.to_path_buf())];
        while let Some((module, file)) = todo.pop() {
            let Some(text) = read(&file) else {
                continue;
            };
            let toks = lex(&text);
            let dir = child_dir(&file);
            let exists = |name: &str| {
                read(&dir.join(format!("{name}.rs"))).is_some()
                    || read(&dir.join(name).join("mod.rs")).is_some()
            };
            let parsed = parse(&toks, &module, &exists);
            for (name, attr) in &parsed.mods {
                let path = match attr {
                    Some(p) => file.parent().unwrap_or(Path::new("")).join(p),
                    None if read(&dir.join(format!("{name}.rs"))).is_some() => {
                        dir.join(format!("{name}.rs"))
                    }
                    None => dir.join(name).join("mod.rs"),
                };
                let mut m = module.clone();
                m.push(name.clone());
                todo.push((m, path));
            }
            files.insert(module.join("::"), (file, parsed));
        }
        Crate { files }
    }

    /// The deepest file a path names, following re-exports.
    fn resolve(&self, abs: &[String], hops: usize) -> Option<String> {
        let n = (0..=abs.len())
            .rev()
            .find(|&n| self.files.contains_key(&abs[..n].join("::")))?;
        let key = abs[..n].join("::");
        let (Some(name), true) = (abs.get(n), hops < 16) else {
            return Some(key);
        };
        let parsed = &self.files[&key].1;
        for r in &parsed.reexports {
            let last = r.segs.last().map(String::as_str);
            let named = r.alias.as_deref().or(last);
            let target = absolute(self, &r.module, &r.segs);
            let Some(target) = target else { continue };
            if named == Some(name.as_str()) {
                let mut next = target;
                next.extend_from_slice(&abs[n + 1..]);
                return self.resolve(&next, hops + 1);
            }
            if last == Some("*") {
                let glob = &target[..target.len() - 1];
                let defined = self.resolve(glob, hops + 1);
                if defined.is_some_and(|d| self.files[&d].1.items.contains(name)) {
                    let mut next = glob.to_vec();
                    next.extend_from_slice(&abs[n..]);
                    return self.resolve(&next, hops + 1);
                }
            }
        }
        Some(key)
    }

    /// Every edge between two files: from -> to -> first line.
    fn edges(&self) -> BTreeMap<String, BTreeMap<String, usize>> {
        let mut edges: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for (from, (_, parsed)) in &self.files {
            let out = edges.entry(from.clone()).or_default();
            for r in &parsed.uses {
                let Some(abs) = absolute(self, &r.module, &r.segs) else {
                    continue;
                };
                match self.resolve(&abs, 0) {
                    Some(to) if &to != from && !is_inside(&to, from) => {
                        out.entry(to).or_insert(r.line);
                    }
                    _ => {}
                }
            }
        }
        edges
    }
}

/// Whether module `inner` is one of `outer`'s own parts (`a::b` of `a`;
/// everything of the crate root).
fn is_inside(inner: &str, outer: &str) -> bool {
    outer.is_empty() || inner.starts_with(&format!("{outer}::"))
}

/// Where a file's `mod x;` children live: beside a `mod.rs` or `lib.rs`,
/// in the folder named after any other file.
fn child_dir(file: &Path) -> PathBuf {
    let parent = file.parent().unwrap_or(Path::new("")).to_path_buf();
    match file.file_stem().and_then(|s| s.to_str()) {
        Some("mod" | "lib" | "main") | None => parent,
        Some(stem) => parent.join(stem),
    }
}

/// A path as written in `module`, made absolute; `None` when it leaves
/// the crate (`std::…`, another crate).
fn absolute(krate: &Crate, module: &[String], segs: &[String]) -> Option<Vec<String>> {
    let first = segs.first()?;
    let (mut base, mut rest) = match first.as_str() {
        "crate" => (Vec::new(), &segs[1..]),
        "self" => (module.to_vec(), &segs[1..]),
        "super" => (module.to_vec(), segs),
        _ => {
            let mut child = module.to_vec();
            child.push(first.clone());
            krate.files.contains_key(&child.join("::")).then_some(())?;
            (module.to_vec(), segs)
        }
    };
    while rest.first().is_some_and(|s| s == "super") {
        base.pop()?;
        rest = &rest[1..];
    }
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(base)
}

/// The strongly connected components with more than one file (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeMap<String, usize>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeMap<String, usize>>,
        index: BTreeMap<&'a str, (usize, usize)>,
        stack: Vec<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, (s.next, s.next));
        s.next += 1;
        s.stack.push(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flat_map(|m| m.keys()) {
            let low = match s.index.get(w.as_str()) {
                None => {
                    visit(s, w);
                    s.index[w.as_str()].1
                }
                Some(&(idx, _)) if s.stack.contains(&w.as_str()) => idx,
                Some(_) => continue,
            };
            let e = s.index.get_mut(v).expect("visited");
            e.1 = e.1.min(low);
        }
        let (idx, low) = s.index[v];
        if idx == low {
            let at = s.stack.iter().rposition(|x| *x == v).expect("on stack");
            let comp: Vec<String> = s.stack.drain(at..).map(str::to_string).collect();
            if comp.len() > 1 {
                s.found.push(comp);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

/// The cycles of the crate at `root`, each as its edges with their lines.
fn report(krate: &Crate) -> Vec<String> {
    let edges = krate.edges();
    let mut out = Vec::new();
    for mut comp in cycles(&edges) {
        comp.sort();
        let mut text = format!("cycle among {}:", comp.join(", "));
        for a in &comp {
            for (b, line) in &edges[a] {
                if comp.contains(b) {
                    let file = krate.files[a].0.display();
                    text.push_str(&format!("\n  {a} -> {b}  ({file}:{line})"));
                }
            }
        }
        out.push(text);
    }
    out
}

fn disk(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[test]
fn no_import_cycles_in_src() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
    let krate = Crate::load(&root, &disk);
    assert!(
        krate.files.len() > 100,
        "read only {} files",
        krate.files.len()
    );
    let found = report(&krate);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The checker itself, on small made-up crates.
fn check(files: &[(&str, &str)]) -> Vec<String> {
    let map: BTreeMap<PathBuf, String> = files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), t.to_string()))
        .collect();
    let read = |p: &Path| map.get(p).cloned();
    report(&Crate::load(Path::new("lib.rs"), &read))
}

#[test]
fn finds_a_cycle_between_siblings() {
    let found = check(&[
        ("lib.rs", "mod a; mod b;"),
        ("a.rs", "use crate::b::B;\npub struct A;"),
        ("b.rs", "pub struct B;\nfn f() { let _ = crate::a::A; }"),
    ]);
    assert_eq!(
        found,
        ["cycle among a, b:\n  a -> b  (a.rs:1)\n  b -> a  (b.rs:2)"]
    );
}

#[test]
fn finds_a_cycle_through_groups_super_and_reexports() {
    let found = check(&[
        ("lib.rs", "pub mod c;"),
        ("c/mod.rs", "mod x;\nmod y;\npub use x::X;\npub use y::*;"),
        ("c/x.rs", "use super::{Y as Z, other};\npub struct X;"),
        (
            "c/y.rs",
            "// crate::c::x::X in a comment\npub struct Y;\nuse crate::c::X;",
        ),
    ]);
    assert_eq!(
        found,
        ["cycle among c::x, c::y:\n  c::x -> c::y  (c/x.rs:1)\n  c::y -> c::x  (c/y.rs:3)"]
    );
}

#[test]
fn parent_and_child_facade_is_no_cycle() {
    let found = check(&[
        ("lib.rs", "pub mod c;"),
        ("c/mod.rs", "mod x;\npub use x::X;\npub struct E;"),
        (
            "c/x.rs",
            "use super::E;\npub struct X;\n#[cfg(test)]\nmod tests { use super::*; }",
        ),
        (
            "c/z.rs",
            "fn f(s: &str) -> char { let _ = \"crate::c::x\"; '{' }",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_folder_using_its_own_parts_is_no_cycle() {
    let found = check(&[
        ("lib.rs", "mod c;"),
        ("c/mod.rs", "mod x;\nfn f() { x::g(); }\npub struct E;"),
        ("c/x.rs", "pub fn g() {}\nfn h(_: super::E) {}"),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_cycle_through_a_folder_face_is_found() {
    let found = check(&[
        ("lib.rs", "mod c; mod d;"),
        ("c/mod.rs", "mod x;\npub use x::X;"),
        ("c/x.rs", "pub struct X;\nfn f() { crate::d::g(); }"),
        ("d.rs", "use crate::c::X;\npub fn g() {}"),
    ]);
    assert_eq!(
        found,
        ["cycle among c::x, d:\n  c::x -> d  (c/x.rs:2)\n  d -> c::x  (d.rs:1)"]
    );
}

#[test]
fn path_attribute_files_are_children() {
    let found = check(&[
        ("lib.rs", "mod a;"),
        (
            "a.rs",
            "#[cfg(test)]\n#[path = \"a_tests.rs\"]\nmod tests;\npub fn f() {}",
        ),
        ("a_tests.rs", "use super::*;\nuse super::super::a::f;"),
    ]);
    assert!(found.is_empty(), "{found:?}");
}
