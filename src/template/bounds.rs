//! Size limits on what a template makes, where minijinja has none: a value
//! printed or turned into data (`[1] * 100000000000` is a lazy list of that
//! many items, and would be allocated whole), and the widths that
//! `format`, `'...'.format()` and `indent` pad to. Past them the template
//! fails with a message instead of the process aborting on a failed
//! allocation.

use std::sync::LazyLock;

use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

/// How many items a value printed or turned into data may hold, at all
/// levels together.
pub(crate) const MAX_ITEMS: usize = 1_000_000;

/// How deep such a value may nest.
pub(crate) const MAX_DEPTH: usize = 256;

/// The widest padding or precision a format or `indent` may ask for.
pub(crate) const MAX_WIDTH: u64 = 10_000;

fn too_large(what: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, what)
}

/// Fails when `value` holds more than [`MAX_ITEMS`] items or nests deeper
/// than [`MAX_DEPTH`]; lengths are looked at before any item is.
pub(crate) fn check_value(value: &Value) -> Result<(), Error> {
    let mut budget = MAX_ITEMS;
    walk(value, &mut budget, 0)
}

fn walk(value: &Value, budget: &mut usize, depth: usize) -> Result<(), Error> {
    let kind = value.kind();
    if !matches!(kind, ValueKind::Seq | ValueKind::Iterable | ValueKind::Map) {
        return Ok(());
    }
    if depth >= MAX_DEPTH {
        return Err(too_large(format!(
            "a value nested more than {MAX_DEPTH} levels deep"
        )));
    }
    let over = || too_large(format!("a value of more than {MAX_ITEMS} items"));
    if value.len().is_some_and(|n| n > *budget) {
        return Err(over());
    }
    let Ok(items) = value.try_iter() else {
        return Ok(());
    };
    for item in items {
        *budget = budget.checked_sub(1).ok_or_else(over)?;
        if kind == ValueKind::Map {
            let inner = value.get_item(&item).unwrap_or_default();
            walk(&inner, budget, depth + 1)?;
        } else {
            walk(&item, budget, depth + 1)?;
        }
    }
    Ok(())
}

/// Fails when a printf-style format (`%-10s`, `braces` false) or a
/// `str.format` one (`{:>10}`, `braces` true) asks for a width or
/// precision beyond [`MAX_WIDTH`].
pub(crate) fn check_format(format: &str, braces: bool) -> Result<(), Error> {
    if non_ascii_key(format, braces) {
        // minijinja slices such a field by bytes and panics.
        let what = if braces { "a `{field}`" } else { "a `%(key)`" };
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("{what} format whose name is not ASCII is not supported"),
        ));
    }
    let (mut in_spec, mut in_braces, mut just_opened) = (false, false, false);
    let mut number: Option<u64> = None;
    for c in format.chars().chain(std::iter::once('\0')) {
        if let Some(d) = c.to_digit(10) {
            if in_spec {
                number = Some(
                    number
                        .unwrap_or(0)
                        .saturating_mul(10)
                        .saturating_add(u64::from(d)),
                );
            }
            just_opened = false;
            continue;
        }
        if number.take().is_some_and(|n| n > MAX_WIDTH) {
            return Err(too_large(format!(
                "a format width or precision beyond {MAX_WIDTH}"
            )));
        }
        let opened = just_opened;
        just_opened = false;
        match c {
            // `%%` is a literal percent sign.
            '%' if !braces => {
                in_spec = !opened;
                just_opened = in_spec;
            }
            '{' if braces => in_braces = true,
            '}' if braces => (in_braces, in_spec) = (false, false),
            ':' if braces && in_braces => in_spec = true,
            '-' | '+' | ' ' | '#' | '.' | '<' | '>' | '^' | '=' | ',' | '_' | '0' => {}
            // In a `{:...}` spec any character may be the fill (`{:`>9}`),
            // so only `}` ends it.
            _ => in_spec &= braces && in_braces,
        }
    }
    Ok(())
}

/// Whether a format names a field holding a character outside ASCII: a
/// printf-style `%(key)s` up to its `)`, or a `str.format` field `{...}` up
/// to its `}` (or the end).
fn non_ascii_key(format: &str, braces: bool) -> bool {
    let (open, close) = if braces { ('{', '}') } else { ('%', ')') };
    let mut rest = format;
    while let Some(at) = rest.find(open) {
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix(open) {
            rest = after;
            continue;
        }
        let key = if braces {
            Some(rest)
        } else {
            rest.strip_prefix('(')
        };
        if let Some(key) = key {
            let end = key.find(close).unwrap_or(key.len());
            if !key[..end].is_ascii() {
                return true;
            }
            rest = &key[end..];
        }
    }
    false
}

/// Whether an expression holds a `}}` outside strings and brackets with
/// anything after it: minijinja's lexer takes it for the end of a `{{ }}` and
/// panics on what follows (`when: "a }} b"`).
pub(crate) fn stray_close(expr: &str) -> bool {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut chars = expr.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            if c == '\\' {
                chars.next();
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            '}' if depth == 0 && expr[i + 1..].starts_with('}') => {
                // Even white space: the lexer does not skip all of it.
                return i + 2 < expr.len();
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Fails when any number among `args` is beyond [`MAX_WIDTH`].
fn check_widths(args: &[Value]) -> Result<(), Error> {
    for a in args {
        let wide = match a.kind() {
            ValueKind::Number => {
                i64::try_from(a.clone()).map_or(true, |n| n.unsigned_abs() > MAX_WIDTH)
            }
            ValueKind::Map => a
                .get_attr("width")
                .ok()
                .is_some_and(|w| check_widths(&[w]).is_err()),
            _ => false,
        };
        if wide {
            return Err(too_large(format!("a width beyond {MAX_WIDTH}")));
        }
    }
    Ok(())
}

static FORMAT: LazyLock<Value> = LazyLock::new(|| Value::from_function(minijinja::filters::format));
static INDENT: LazyLock<Value> = LazyLock::new(|| Value::from_function(minijinja::filters::indent));

/// `format` and `indent` with their widths checked, then minijinja's own.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("format", |state: &State, fmt: Value, args: Rest<Value>| {
        check_format(fmt.as_str().unwrap_or_default(), false)?;
        check_widths(&args)?;
        let mut all = vec![fmt];
        all.extend(args.iter().cloned());
        FORMAT.call(state, &all)
    });
    env.add_filter("indent", |state: &State, text: Value, args: Rest<Value>| {
        check_widths(&args)?;
        let mut all = vec![text];
        all.extend(args.iter().cloned());
        INDENT.call(state, &all)
    });
    env.set_unknown_method_callback(|state, value, method, args| {
        if method == "format" {
            check_format(value.as_str().unwrap_or_default(), true)?;
        }
        minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_widths_are_checked() {
        for ok in ["%s", "%-10s|%05.2f", "100%% 123456", "id 123456"] {
            assert!(check_format(ok, false).is_ok(), "{ok}");
        }
        for ok in [
            "{:>20}",
            "{0} {name}",
            "10:30 123456",
            "{} 123456",
            "{:x>9} 99999",
        ] {
            assert!(check_format(ok, true).is_ok(), "{ok}");
        }
        for bad in ["%0100000000000d", "%.99999s", "%-99999s"] {
            assert!(check_format(bad, false).is_err(), "{bad}");
        }
        for bad in [
            "{:>100000000000}",
            "{0:99999}",
            "{:.99999f}",
            "{:55555555555555555555555}",
            "{:`>100000000000}",
            "{:x^99999}",
        ] {
            assert!(check_format(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn non_ascii_keys_are_refused() {
        for bad in ["%(kéy)s", "%(é", "a %s %(ü)d", "%%%(é)s"] {
            assert!(check_format(bad, false).is_err(), "{bad}");
        }
        for ok in ["%(key)s é", "%%(é)s", "é %s", "%(a)s%(b)d"] {
            assert!(check_format(ok, false).is_ok(), "{ok}");
        }
        for bad in ["{vv[\u{3db}]}", "{é", "a {0} {ü:>3}"] {
            assert!(check_format(bad, true).is_err(), "{bad}");
        }
        for ok in ["{0} é", "{{é}}", "é {}", "{a[1]}"] {
            assert!(check_format(ok, true).is_ok(), "{ok}");
        }
    }

    #[test]
    fn stray_closing_braces_are_found() {
        for bad in ["1 }} 2", "x }} {{ 'n", "a }}b", "\u{c}}}\u{c}", "a }} "] {
            assert!(stray_close(bad), "{bad}");
        }
        for ok in [
            "a }}",
            "{'a': {'b': 1}}",
            "x == '}} y'",
            "d['}}'] ~ \"}}x\"",
            "a",
        ] {
            assert!(!stray_close(ok), "{ok}");
        }
    }
}
