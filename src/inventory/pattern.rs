//! Host patterns, as a play's `hosts:` or `--limit` writes them, evaluated
//! like Ansible's `InventoryManager.get_hosts`:
//!
//! - terms are separated by `,` (or `:` when that cannot be a port or an
//!   IPv6 address): `web:db`, `web,db`;
//! - plain terms are applied first (union), then `&term` (intersection),
//!   then `!term` (exclusion); with no plain term, `all` is implied;
//! - a term matches groups by name (`all`, `web`, shell wildcards `web*`,
//!   regexes `~web\d+`), giving all their hosts, and hosts by name;
//! - a group term may end in a subscript: `web[0]`, `web[1:]`, `web[-1]`;
//! - `localhost`, `127.0.0.1` and `::1` match an implicit local host when
//!   the inventory does not declare them.
//!
//! Results keep Ansible's order and hold each host once.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::InventoryError;
use super::expand::parse_address;
use super::graph::Graph;

/// The names that reach the implicit local host.
pub(crate) const LOCALHOST: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

static SUBSCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)[:-]([0-9]*))\]$").expect("static regex")
});
static COLON_TERMS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").expect("static regex"));

/// Hosts matching `pattern`, by name, in Ansible's order.
pub(crate) fn select(graph: &Graph, pattern: &str) -> Result<Vec<String>, InventoryError> {
    let terms = split(pattern)?;
    if terms.is_empty() {
        return Err(InventoryError::Pattern(format!(
            "empty host pattern `{pattern}`"
        )));
    }
    let mut hosts: Vec<String> = Vec::new();
    for term in order(terms) {
        if graph.host_id(term).is_some() {
            hosts.push(term.to_string());
            continue;
        }
        let (op, body) = match term.chars().next() {
            Some(c @ ('&' | '!')) => (Some(c), &term[1..]),
            _ => (None, term),
        };
        if body.is_empty() {
            return Err(InventoryError::Pattern(format!(
                "host pattern `{pattern}`: `{term}` needs a group or host name after `{term}`"
            )));
        }
        let matched = match_term(graph, body)?;
        match op {
            Some(op) => {
                let matched: HashSet<&String> = matched.iter().collect();
                hosts.retain(|h| matched.contains(h) == (op == '&'));
            }
            None => {
                let existing: HashSet<String> = hosts.iter().cloned().collect();
                hosts.extend(matched.into_iter().filter(|m| !existing.contains(m)));
            }
        }
    }
    let mut seen = HashSet::new();
    hosts.retain(|h| seen.insert(h.clone()));
    Ok(hosts)
}

/// Ansible's `split_host_pattern`. Where Ansible drops what its `:` split
/// cannot read (`~[web` becomes `~` and `web`, and `~` matches every
/// host), the pattern is refused.
fn split(pattern: &str) -> Result<Vec<&str>, InventoryError> {
    let terms: Vec<&str> = if pattern.contains(',') {
        pattern.split(',').collect()
    } else if parse_address(pattern.trim()).is_some() {
        vec![pattern]
    } else {
        let mut terms = Vec::new();
        let mut end = 0;
        let mut dropped = false;
        for m in COLON_TERMS.find_iter(pattern) {
            dropped |= !is_separator(&pattern[end..m.start()]);
            end = m.end();
            terms.push(m.as_str());
        }
        if dropped || !is_separator(&pattern[end..]) {
            return Err(InventoryError::Pattern(format!(
                "invalid host pattern `{pattern}`: a `[` without its `]` (or a `]` without its `[`)"
            )));
        }
        terms
    };
    Ok(terms
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect())
}

fn is_separator(text: &str) -> bool {
    text.chars().all(|c| c == ':' || c.is_whitespace())
}

/// Plain terms first, then `&` terms, then `!` terms; `all` if no plain term.
fn order(terms: Vec<&str>) -> Vec<&str> {
    let (mut plain, mut and, mut not) = (Vec::new(), Vec::new(), Vec::new());
    for t in terms {
        match t.chars().next() {
            Some('!') => not.push(t),
            Some('&') => and.push(t),
            _ => plain.push(t),
        }
    }
    if plain.is_empty() {
        plain.push("all");
    }
    plain.into_iter().chain(and).chain(not).collect()
}

/// One term without its `&`/`!`: groups and hosts it names, subscripted.
fn match_term(graph: &Graph, term: &str) -> Result<Vec<String>, InventoryError> {
    let (expr, subscript) = split_subscript(term);
    let matcher = compile(expr)?;
    let mut results: Vec<usize> = Vec::new();
    let mut any_group = false;
    for (id, group) in graph.groups.iter().enumerate() {
        if matcher.is_match(&group.name) {
            any_group = true;
            results.extend(graph.group_hosts(id));
        }
    }
    let wild = expr.starts_with('~') || expr.contains(['.', '?', '*', '[']);
    if !any_group || wild {
        results.extend((0..graph.hosts.len()).filter(|h| matcher.is_match(&graph.hosts[*h].name)));
    }
    let mut names: Vec<String> = results
        .into_iter()
        .map(|h| graph.hosts[h].name.clone())
        .collect();
    if names.is_empty() && LOCALHOST.contains(&expr) {
        names.push(local_host_name(graph, expr));
    }
    apply_subscript(names, subscript).ok_or_else(|| {
        InventoryError::Pattern(format!("no hosts matched the subscripted pattern `{term}`"))
    })
}

/// The host that stands for `localhost`: the first localhost-like host the
/// inventory declares, else the implicit one under the name asked for.
pub(crate) fn local_host_name(graph: &Graph, asked: &str) -> String {
    graph
        .hosts
        .iter()
        .find(|h| LOCALHOST.contains(&h.name.as_str()))
        .map_or_else(|| asked.to_string(), |h| h.name.clone())
}

type Subscript = (i64, Option<i64>);

fn split_subscript(term: &str) -> (&str, Option<Subscript>) {
    if term.starts_with('~') {
        return (term, None);
    }
    let Some(c) = SUBSCRIPT.captures(term) else {
        return (term, None);
    };
    let expr = c.get(1).map_or(term, |m| m.as_str());
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<i64>().ok());
    if let Some(idx) = num(2) {
        return (expr, Some((idx, None)));
    }
    let start = num(3).unwrap_or(0);
    (expr, Some((start, Some(num(4).unwrap_or(-1)))))
}

/// `None` when a single index is out of range (Ansible's IndexError).
fn apply_subscript(hosts: Vec<String>, subscript: Option<Subscript>) -> Option<Vec<String>> {
    let Some((start, end)) = subscript else {
        return Some(hosts);
    };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let len = hosts.len() as i64;
    let index = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) } as usize;
    match end {
        // Ansible treats `[x:0]` like `[x]`.
        None | Some(0) => {
            let i = if start < 0 { len + start } else { start };
            (0..len)
                .contains(&i)
                .then(|| vec![hosts[i as usize].clone()])
        }
        Some(end) => {
            let end = if end == -1 { len - 1 } else { end };
            let (a, b) = (index(start), index(end + 1));
            Some(if a < b {
                hosts[a..b].to_vec()
            } else {
                Vec::new()
            })
        }
    }
}

/// A term as a matcher: `~regex` (anchored at the start, like Python's
/// `re.match`) or a shell wildcard (`fnmatch`).
fn compile(expr: &str) -> Result<Regex, InventoryError> {
    let source = match expr.strip_prefix('~') {
        Some("") => {
            return Err(InventoryError::Pattern(
                "invalid host pattern `~`: a `~` must be followed by a regular expression".into(),
            ));
        }
        Some(re) => format!("^(?:{re})"),
        None => format!("^(?:{})$", fnmatch_to_regex(expr)),
    };
    Regex::new(&source).map_err(|e| {
        let detail = e
            .to_string()
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .trim_start_matches("error: ")
            .to_string();
        InventoryError::Pattern(format!("invalid host pattern `{expr}`: {detail}"))
    })
}

/// Python's `fnmatch.translate`: `*`, `?`, `[seq]`, `[!seq]`.
fn fnmatch_to_regex(pat: &str) -> String {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                    continue;
                }
                let body: String = chars[i..j].iter().collect();
                i = j + 1;
                let (negate, body) = match body.strip_prefix('!') {
                    Some(rest) => (true, rest.to_string()),
                    None => (false, body),
                };
                let escaped: String = body
                    .chars()
                    .map(|c| {
                        if matches!(c, '\\' | '[' | ']' | '&' | '~' | '^') {
                            format!("\\{c}")
                        } else {
                            c.to_string()
                        }
                    })
                    .collect();
                out.push('[');
                if negate {
                    out.push('^');
                }
                out.push_str(&escaped);
                out.push(']');
            }
            _ => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out
}
