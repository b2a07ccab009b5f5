//! Ansible's filters on scalars: type conversions, strings, regular
//! expressions (with Python's `re` semantics where they differ from
//! Rust's), serialization (JSON, YAML, base64), paths and hashes.
//! minijinja's builtins are kept where they already behave as Ansible's
//! (`default`, `lower`, `join`, `split`, `replace`, `map`, `select`...).
//! Filters on collections are in `collections`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use regex::Regex;

use super::{active, data_of, value_of};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("bool", to_bool);
    env.add_filter("int", to_int);
    env.add_filter("ternary", ternary);
    env.add_filter("mandatory", mandatory);
    env.add_filter("type_debug", type_debug);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", |s: String| regex::escape(&s));
    env.add_filter("quote", |s: String| crate::connection::shell_quote(&s));
    env.add_filter("basename", |s: String| basename(&s).to_string());
    env.add_filter("dirname", |s: String| dirname(&s).to_string());
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_yaml);
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("b64encode", |s: String| {
        base64::engine::general_purpose::STANDARD.encode(s)
    });
    env.add_filter("b64decode", b64decode);
    env.add_filter("hash", hash);
}

pub(crate) fn fail(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Ansible's `bool`: `yes/on/true/1` (any case) are true, the rest false.
fn to_bool(value: &Value) -> bool {
    match value.kind() {
        ValueKind::Bool => value.is_true(),
        ValueKind::Number => value.as_i64() == Some(1),
        ValueKind::String => matches!(
            value
                .as_str()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
                .as_str(),
            "yes" | "on" | "1" | "true" | "y"
        ),
        _ => false,
    }
}

/// Jinja2's `int(default=0, base=10)`: never fails, falls back to the
/// default; `"12.7"` gives 12, `"0x1f"` with base 16 gives 31.
fn to_int(
    state: &State,
    value: &Value,
    default: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or(Value::from(0)),
    };
    let base: u32 = kwargs.get::<Option<u32>>("base")?.unwrap_or(10);
    kwargs.assert_all_used()?;
    if value.is_undefined() && state.undefined_behavior() == minijinja::UndefinedBehavior::Strict {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    let parsed = match value.kind() {
        ValueKind::Bool => Some(value.is_true() as i64),
        ValueKind::Number => value
            .as_i64()
            .or_else(|| f64::try_from(value.clone()).ok().map(|f| f as i64)),
        ValueKind::String => parse_int(value.as_str().unwrap_or_default(), base),
        _ => None,
    };
    Ok(parsed.map(Value::from).unwrap_or(default))
}

fn parse_int(s: &str, base: u32) -> Option<i64> {
    let t = s.trim().replace('_', "");
    let digits = match base {
        16 => t.trim_start_matches("0x").trim_start_matches("0X"),
        8 => t.trim_start_matches("0o").trim_start_matches("0O"),
        2 => t.trim_start_matches("0b").trim_start_matches("0B"),
        _ => t.as_str(),
    };
    i64::from_str_radix(digits, base).ok().or_else(|| {
        (base == 10)
            .then(|| digits.parse::<f64>().ok().map(|f| f as i64))
            .flatten()
    })
}

/// `cond | ternary(a, b, none_value)`.
fn ternary(value: &Value, yes: Value, no: Value, none: Option<Value>) -> Value {
    match none {
        Some(n) if value.is_none() => n,
        _ if value.is_true() => yes,
        _ => no,
    }
}

fn mandatory(value: &Value, msg: Option<String>) -> Result<Value, Error> {
    if !value.is_undefined() {
        return Ok(value.clone());
    }
    let message = msg.unwrap_or_else(|| match active::peek_missing() {
        Some(name) => format!("Mandatory variable '{name}' not defined."),
        None => "Mandatory variable not defined.".to_string(),
    });
    Err(fail(message))
}

/// Python's name for the value's type.
fn type_debug(value: &Value) -> &'static str {
    match value.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Map => "dict",
        _ => "list",
    }
}

/// Compiled regular expressions, by pattern and flags: playbooks apply the
/// same few patterns to every host.
fn regex(pattern: &str, kwargs: &Kwargs) -> Result<Arc<Regex>, Error> {
    static CACHE: Mutex<Option<HashMap<String, Arc<Regex>>>> = Mutex::new(None);
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    let key = format!("{}{}{pattern}", ignorecase as u8, multiline as u8);
    let mut guard = CACHE.lock().map_err(|_| fail("regex cache poisoned"))?;
    let cache = guard.get_or_insert_with(HashMap::new);
    if let Some(re) = cache.get(&key) {
        return Ok(re.clone());
    }
    // Python's `\Z` is Rust's `\z`.
    let translated = pattern.replace(r"\Z", r"\z");
    let re = regex::RegexBuilder::new(&translated)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| fail(format!("invalid regular expression '{pattern}': {e}")))?;
    let re = Arc::new(re);
    if cache.len() > 512 {
        cache.clear();
    }
    cache.insert(key, re.clone());
    Ok(re)
}

/// A Python `re.sub` replacement (`\1`, `\g<1>`, `\g<name>`) as a Rust
/// `regex` one (`${1}`, `${name}`), with literal `$` escaped.
fn python_replacement(repl: &str) -> String {
    let mut out = String::with_capacity(repl.len());
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut num = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        if num.len() == 2 {
                            break;
                        }
                        num.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// `regex_replace(pattern, replacement='', ignorecase, multiline, count=0)`.
fn regex_replace(
    value: String,
    pattern: String,
    repl: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let re = regex(&pattern, &kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let repl = python_replacement(&repl.unwrap_or_default());
    Ok(re.replacen(&value, count, repl.as_str()).into_owned())
}

/// `regex_search(pattern, '\\1', '\\g<name>'...)`: the match (or none);
/// with group arguments, the list of those groups.
fn regex_search(
    value: String,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let re = regex(&pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let Some(caps) = re.captures(&value) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::with_capacity(groups.len());
    for g in groups.iter() {
        let m = if let Some(n) = g.strip_prefix('\\').and_then(|n| n.parse::<usize>().ok()) {
            caps.get(n)
        } else if let Some(name) = g.strip_prefix("\\g<").and_then(|n| n.strip_suffix('>')) {
            match name.parse::<usize>() {
                Ok(n) => caps.get(n),
                Err(_) => caps.name(name),
            }
        } else {
            return Err(fail(format!(
                "unknown argument '{g}': expected '\\1' or '\\g<name>'"
            )));
        };
        out.push(m.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(out))
}

/// `regex_findall(pattern)`: every match; with groups, the groups (one
/// group: its text; several: a list per match), as Python's `findall`.
fn regex_findall(value: String, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
    let re = regex(&pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let groups = re.captures_len() - 1;
    let found = re.captures_iter(&value).map(|caps| {
        let text = |i: usize| Value::from(caps.get(i).map_or("", |m| m.as_str()));
        match groups {
            0 => text(0),
            1 => text(1),
            n => Value::from((1..=n).map(text).collect::<Vec<_>>()),
        }
    });
    Ok(Value::from(found.collect::<Vec<_>>()))
}

/// Python's `os.path.basename`: what follows the last `/`.
fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Python's `os.path.dirname`: what precedes the last `/`, trailing
/// slashes removed unless it is the root.
fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        None => "",
        Some(i) => {
            let head = &path[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                &head[..1]
            } else {
                trimmed
            }
        }
    }
}

/// Python's `json.dumps`: `", "` and `": "` separators, keys in order.
fn to_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?;
    let sort = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let mut data = data_of(value)?;
    if sort {
        sort_keys(&mut data);
    }
    match indent {
        Some(n) => pretty_json(&data, n),
        None => Ok(python_json(&data)),
    }
}

/// Ansible's `to_nice_json`: sorted keys, indented by 4.
fn to_nice_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(4);
    let sort = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let mut data = data_of(value)?;
    if sort {
        sort_keys(&mut data);
    }
    pretty_json(&data, indent)
}

fn sort_keys(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.sort_keys();
            m.values_mut().for_each(sort_keys);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

fn pretty_json(data: &serde_json::Value, indent: usize) -> Result<String, Error> {
    use serde::Serialize as _;
    let spaces = " ".repeat(indent);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(spaces.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    data.serialize(&mut ser).map_err(|e| fail(e.to_string()))?;
    String::from_utf8(buf).map_err(|e| fail(e.to_string()))
}

/// JSON with Python's default separators.
fn python_json(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::Array(items) => {
            let inner: Vec<String> = items.iter().map(python_json).collect();
            format!("[{}]", inner.join(", "))
        }
        J::Object(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", J::String(k.clone()), python_json(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        scalar => scalar.to_string(),
    }
}

fn from_json(text: String) -> Result<Value, Error> {
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| fail(format!("from_json: invalid JSON: {e}")))?;
    Ok(value_of(&v))
}

/// `to_yaml` and `to_nice_yaml`: block style (serde_yaml's only style).
fn to_yaml(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    // Ansible's indent/width/sort_keys options are accepted and ignored.
    for k in [
        "indent",
        "width",
        "sort_keys",
        "default_flow_style",
        "allow_unicode",
    ] {
        let _ = kwargs.get::<Option<Value>>(k)?;
    }
    kwargs.assert_all_used()?;
    serde_yaml::to_string(&data_of(value)?).map_err(|e| fail(format!("to_yaml: {e}")))
}

fn from_yaml(text: String) -> Result<Value, Error> {
    let v: serde_json::Value =
        serde_yaml::from_str(&text).map_err(|e| fail(format!("from_yaml: invalid YAML: {e}")))?;
    Ok(value_of(&v))
}

fn b64decode(text: String) -> Result<String, Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| fail(format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map_err(|_| fail("b64decode: the decoded data is not UTF-8 text"))
}

/// `hash('md5' | 'sha256' | 'sha512')`, hex digest.
fn hash(text: String, algo: Option<String>) -> Result<String, Error> {
    use md5::Digest as _;
    // Ansible's default, sha1, has no implementation here.
    let algo = algo.unwrap_or_else(|| "sha1".into());
    Ok(match algo.as_str() {
        "md5" => hex::encode(md5::Md5::digest(text.as_bytes())),
        "sha256" => hex::encode(sha2::Sha256::digest(text.as_bytes())),
        "sha512" => hex::encode(sha2::Sha512::digest(text.as_bytes())),
        other => {
            return Err(fail(format!(
                "hash: unsupported algorithm '{other}' (md5, sha256, sha512)"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_replacements_become_rust_ones() {
        assert_eq!(
            python_replacement(r"\1-\g<name>-\g<2>"),
            "${1}-${name}-${2}"
        );
        assert_eq!(python_replacement("cost $5"), "cost $$5");
    }

    #[test]
    fn paths_follow_os_path() {
        assert_eq!(basename("/etc/nova/nova.conf"), "nova.conf");
        assert_eq!(basename("/etc/nova/"), "");
        assert_eq!(dirname("/etc/nova/nova.conf"), "/etc/nova");
        assert_eq!(dirname("/etc"), "/");
        assert_eq!(dirname("nova.conf"), "");
    }

    #[test]
    fn int_parsing() {
        assert_eq!(parse_int(" 42 ", 10), Some(42));
        assert_eq!(parse_int("12.7", 10), Some(12));
        assert_eq!(parse_int("0x1f", 16), Some(31));
        assert_eq!(parse_int("abc", 10), None);
    }
}
