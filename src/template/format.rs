//! How a value prints inside a larger template string: as Python prints
//! it, since that is what Ansible users see and what their config files
//! hold (`debug = {{ flag }}` gives `debug = False`, a list prints as
//! `['a', 'b']`). Not used for a string that is one expression: that keeps
//! its native value and never prints.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind, Output, State};

/// The environment's formatter: Python's `str()` of the value. An undefined
/// value fails, as Ansible's strict undefined does.
pub(crate) fn python_formatter(
    out: &mut Output,
    state: &State,
    value: &Value,
) -> Result<(), Error> {
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    match value.kind() {
        ValueKind::Bool | ValueKind::None | ValueKind::Seq | ValueKind::Map => {
            super::bounds::check_value(value)?;
            let mut s = String::new();
            py_repr(value, &mut s)?;
            out.write_str(&s).map_err(Error::from)
        }
        ValueKind::Iterable => {
            super::bounds::check_value(value)?;
            minijinja::escape_formatter(out, state, value)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// Python's `repr()` of a value, as `str()` of a container shows items.
pub(crate) fn py_repr(value: &Value, out: &mut String) -> Result<(), Error> {
    match value.kind() {
        // A variable that failed to render while it was read.
        ValueKind::Invalid => {
            return Err(Error::new(ErrorKind::InvalidOperation, value.to_string()));
        }
        ValueKind::Undefined => return Err(Error::from(ErrorKind::UndefinedError)),
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::String => quote_str(value.as_str().unwrap_or_default(), out),
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            for (i, item) in value.try_iter()?.enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_repr(&item, out)?;
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            let pairs = value
                .as_object()
                .and_then(|o| o.try_iter_pairs())
                .ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, "cannot iterate a mapping")
                })?;
            for (i, (k, v)) in pairs.enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_repr(&k, out)?;
                out.push_str(": ");
                py_repr(&v, out)?;
            }
            out.push('}');
        }
        _ => out.push_str(&value.to_string()),
    }
    Ok(())
}

/// A string quoted as Python's `repr()` does.
fn quote_str(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}
