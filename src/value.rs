//! Plain data as playbooks see it (`serde_json::Value`), and the lenient
//! conversions Ansible users rely on: `yes`/`no` booleans, numbers given as
//! strings, a single string where a list is expected.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A short name for a value's type, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Ansible's reading of a boolean: `yes/no/true/false/on/off/1/0`, any case.
pub fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "on" | "1" => Some(true),
            "no" | "n" | "false" | "off" | "0" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Jinja truthiness, as `when:` uses it.
pub fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// serde helper: a boolean in any of Ansible's spellings.
pub fn de_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Value::deserialize(d)?;
    parse_bool(&v).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "expected a boolean (yes/no/true/false), found {}",
            describe(&v)
        ))
    })
}

/// serde helper: an optional boolean in any of Ansible's spellings.
pub fn de_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    parse_bool(&v).map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "expected a boolean (yes/no/true/false), found {}",
            describe(&v)
        ))
    })
}

/// serde helper: an integer, also from a string of digits.
pub fn de_int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    to_int(&v).ok_or_else(|| {
        serde::de::Error::custom(format!("expected an integer, found {}", describe(&v)))
    })
}

/// serde helper: an optional integer, also from a string of digits.
pub fn de_opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    to_int(&v).map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!("expected an integer, found {}", describe(&v)))
    })
}

/// serde helper: a list of strings, also from one string or a
/// comma-separated string (`name: a,b`), as Ansible's `list` type accepts.
pub fn de_string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Value::deserialize(d)?;
    to_string_list(&v).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "expected a list of strings, found {}",
            describe(&v)
        ))
    })
}

/// serde helper: a file mode as an octal string (`"0644"`, `"u=rw"` is not
/// supported) or an integer whose decimal value is the mode (`0644` in YAML
/// is already octal, 420).
pub fn de_opt_mode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .filter(|m| *m <= 0o7777)
            .map(|m| Some(m as u32))
            .ok_or_else(|| serde::de::Error::custom(format!("invalid mode {n}"))),
        Value::String(s) => u32::from_str_radix(s.trim().trim_start_matches("0o"), 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .map(Some)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid mode '{s}': expected octal digits like '0644'"
                ))
            }),
        other => Err(serde::de::Error::custom(format!(
            "expected a mode like '0644', found {}",
            describe(other)
        ))),
    }
}

/// An integer, also from a string of digits (`"8080"` from a template).
pub fn to_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A list of strings from a list of scalars, a comma-separated string or
/// one scalar; `None` for a mapping, null, or a list holding either.
pub fn to_string_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect(),
        ),
        Value::Array(items) => items.iter().map(scalar_to_string).collect(),
        Value::Number(_) | Value::Bool(_) => scalar_to_string(v).map(|s| vec![s]),
        _ => None,
    }
}

/// A scalar as text (`true`, `3`, `x`); `None` for lists, maps and null.
pub fn scalar_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// How a value reads in an error message: its type and a short preview.
pub fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Array(_) | Value::Object(_) => type_name(v).to_string(),
        other => format!("{} {other}", type_name(other)),
    }
}

/// Merges `over` into `base`, recursing into mappings (`combine(recursive=True)`).
pub fn merge_deep(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        merge_deep(existing, v)
                    }
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bools_in_ansible_spellings() {
        for (v, b) in [
            (json!("yes"), true),
            (json!("No"), false),
            (json!(1), true),
            (json!("off"), false),
        ] {
            assert_eq!(parse_bool(&v), Some(b), "{v}");
        }
        assert_eq!(parse_bool(&json!("maybe")), None);
    }

    #[test]
    fn lists_from_strings() {
        assert_eq!(to_string_list(&json!("a, b")).unwrap(), vec!["a", "b"]);
        assert_eq!(to_string_list(&json!(["a", 1])).unwrap(), vec!["a", "1"]);
    }
}
