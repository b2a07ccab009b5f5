//! Ansible's Jinja tests (`x is failed`, `x is match('re')`, `v is
//! version('1.9', '>')`...). minijinja's own `defined`, `undefined`,
//! `none`, `in`, `string`, `number`, `mapping`, `iterable` already behave
//! as Ansible's and stay. (Jinja calls these predicates tests; the unit
//! tests of the folder are `tests.rs`.)

use std::cmp::Ordering;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

use super::filters::fail;

pub(crate) fn register(env: &mut Environment<'static>) {
    for name in ["succeeded", "success", "successful"] {
        env.add_test(name, |v: &Value| result_flag(v, "failed", name).map(|f| !f));
    }
    for name in ["failed", "failure"] {
        env.add_test(name, |v: &Value| result_flag(v, "failed", name));
    }
    for name in ["changed", "change"] {
        env.add_test(name, |v: &Value| result_flag(v, "changed", name));
    }
    for name in ["skipped", "skip"] {
        env.add_test(name, |v: &Value| result_flag(v, "skipped", name));
    }
    env.add_test("match", |v: String, p: String, k: Kwargs| {
        regex_test(&v, &p, Anchor::Start, k)
    });
    env.add_test("search", |v: String, p: String, k: Kwargs| {
        regex_test(&v, &p, Anchor::None, k)
    });
    env.add_test("regex", regex_kind_test);
    env.add_test("truthy", |v: &Value, k: Kwargs| truthy(v, k));
    env.add_test("falsy", |v: &Value, k: Kwargs| truthy(v, k).map(|t| !t));
    env.add_test("version", version_test);
    env.add_test("version_compare", version_test);
    env.add_test("contains", |seq: &Value, item: &Value| {
        seq_contains(seq, item)
    });
    env.add_test("subset", |a: &Value, b: &Value| all_in(a, b));
    env.add_test("superset", |a: &Value, b: &Value| all_in(b, a));
    env.add_test("exists", |p: String| std::path::Path::new(&p).exists());
    env.add_test("file", |p: String| std::path::Path::new(&p).is_file());
    env.add_test("directory", |p: String| std::path::Path::new(&p).is_dir());
    env.add_test("link", |p: String| std::path::Path::new(&p).is_symlink());
    env.add_test("abs", |p: String| p.starts_with('/'));
}

/// `failed`/`changed`/`skipped` of a registered result; missing is false.
fn result_flag(v: &Value, key: &str, test: &str) -> Result<bool, Error> {
    if v.kind() != ValueKind::Map {
        return Err(fail(format!(
            "the '{test}' test expects a registered result (a dictionary), got {}",
            v.kind()
        )));
    }
    let flag = v.get_attr(key)?;
    Ok(match flag.kind() {
        ValueKind::Undefined | ValueKind::None => false,
        ValueKind::String => crate::value::parse_bool(&serde_json::Value::String(
            flag.as_str().unwrap_or_default().to_string(),
        ))
        .unwrap_or(false),
        _ => flag.is_true(),
    })
}

enum Anchor {
    Start,
    None,
}

/// Python's `re.match` (anchored at the start) or `re.search`.
fn regex_test(value: &str, pattern: &str, anchor: Anchor, kwargs: Kwargs) -> Result<bool, Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let pattern = match anchor {
        Anchor::Start => format!(r"\A(?:{pattern})"),
        Anchor::None => pattern.to_string(),
    };
    let re = regex::RegexBuilder::new(&pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| fail(format!("invalid regular expression '{pattern}': {e}")))?;
    Ok(re.is_match(value))
}

/// `regex(pattern, match_type='search'|'match'|'fullmatch')`.
fn regex_kind_test(value: String, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let kind = kwargs
        .get::<Option<String>>("match_type")?
        .unwrap_or_else(|| "search".into());
    let pattern = match kind.as_str() {
        "search" => pattern,
        "match" => format!(r"\A(?:{pattern})"),
        "fullmatch" => format!(r"\A(?:{pattern})\z"),
        other => return Err(fail(format!("regex: unknown match_type '{other}'"))),
    };
    regex_test(&value, &pattern, Anchor::None, kwargs)
}

/// `truthy(convert_bool=False)`: Python truthiness, or Ansible's boolean
/// reading of strings such as `no` when `convert_bool`.
fn truthy(v: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    let convert = kwargs.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    if let Some(s) = v.as_str().filter(|_| convert) {
        if let Some(b) = crate::value::parse_bool(&serde_json::Value::String(s.to_string())) {
            return Ok(b);
        }
    }
    Ok(v.is_true())
}

fn seq_contains(seq: &Value, item: &Value) -> Result<bool, Error> {
    Ok(seq.try_iter()?.any(|x| &x == item))
}

fn all_in(a: &Value, b: &Value) -> Result<bool, Error> {
    let b: Vec<Value> = b.try_iter()?.collect();
    let mut items = a.try_iter()?;
    Ok(items.all(|x| b.contains(&x)))
}

/// `'1.10' is version('1.9', '>')`; operators as Ansible spells them.
fn version_test(
    value: &Value,
    other: &Value,
    op: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let op = match op {
        Some(op) => op,
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    // Loose comparison always; `strict`/`version_type` only tighten parsing.
    let _ = kwargs.get::<Option<Value>>("strict")?;
    let _ = kwargs.get::<Option<Value>>("version_type")?;
    kwargs.assert_all_used()?;
    let ord = compare_versions(&value.to_string(), &other.to_string());
    Ok(match op.as_str() {
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        other => return Err(fail(format!("version: unknown operator '{other}'"))),
    })
}

/// One piece of a version: a number or a run of letters.
#[derive(PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Part {
    // Letters sort before numbers, as in Python's LooseVersion on
    // `1.0a` < `1.0.1`; Debian's `~` is not special here.
    Text(String),
    Num(u64),
}

fn version_parts(v: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut chars = v.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut n = String::new();
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                n.push(d);
                chars.next();
            }
            parts.push(Part::Num(n.parse().unwrap_or(u64::MAX)));
        } else if c.is_alphabetic() {
            let mut s = String::new();
            while let Some(a) = chars.peek().copied().filter(|a| a.is_alphabetic()) {
                s.push(a);
                chars.next();
            }
            parts.push(Part::Text(s));
        } else {
            chars.next();
        }
    }
    parts
}

/// Compares two versions piece by piece, numbers numerically.
fn compare_versions(a: &str, b: &str) -> Ordering {
    version_parts(a).cmp(&version_parts(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare_versions("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare_versions("2:1.2-3", "2:1.2-3"), Ordering::Equal);
        assert_eq!(compare_versions("1.0", "1.0.1"), Ordering::Less);
        assert_eq!(compare_versions("27.0.0", "26.1"), Ordering::Greater);
    }
}
