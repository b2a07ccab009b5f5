//! Python literals, as Ansible's INI inventory reads values: it passes each
//! value through `ast.literal_eval` and keeps the text as a string when
//! that fails. So `2222` is an integer, `True` a boolean, `[1, 2]` a list,
//! `'x'` a string, while `true`, `0755` and `10-5` stay strings.
//! Tuples and sets become lists; complex numbers and bytes-only details are
//! not modelled (such values stay strings).

use serde_json::{Map, Number, Value};

/// The value of an INI `key=value`, typed the way Ansible types it.
pub(crate) fn parse_value(text: &str) -> Value {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        depth: 0,
    };
    match p.parse_all() {
        Some(v) => v,
        None => Value::String(text.to_string()),
    }
}

/// Python's tokenizer refuses more nested brackets than this ("too many
/// nested parentheses"), and Ansible then keeps the text as a string.
const MAX_NESTING: usize = 200;

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Brackets open at this point.
    depth: usize,
}

impl Parser {
    fn parse_all(&mut self) -> Option<Value> {
        self.skip_ws();
        let v = self.expr()?;
        self.skip_ws();
        (self.pos == self.chars.len()).then_some(v)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    /// Whitespace and `#` comments, as Python's tokenizer skips them.
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += 1;
            } else if c == '#' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn expr(&mut self) -> Option<Value> {
        self.skip_ws();
        let open = self.peek()?;
        if matches!(open, '[' | '(' | '{') {
            if self.depth >= MAX_NESTING {
                return None;
            }
            self.depth += 1;
            let v = match open {
                '[' => self.seq(']').map(Value::Array),
                '(' => self.paren(),
                _ => self.brace(),
            };
            self.depth -= 1;
            return v;
        }
        match open {
            '-' | '+' => {
                let negative = self.peek() == Some('-');
                self.pos += 1;
                self.skip_ws();
                match self.number()? {
                    Value::Number(n) if negative => negate(&n),
                    v @ Value::Number(_) => Some(v),
                    _ => None,
                }
            }
            c if c.is_ascii_digit()
                || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                self.number()
            }
            '.' if self.peek_at(1) == Some('.') && self.peek_at(2) == Some('.') => {
                self.pos += 3;
                Some(Value::from("..."))
            }
            _ => self.word_or_string(),
        }
    }

    /// `True`, `False`, `None`, or (possibly prefixed, possibly adjacent)
    /// string literals.
    fn word_or_string(&mut self) -> Option<Value> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        if matches!(self.peek(), Some('\'' | '"')) {
            self.pos = start;
            return self.strings().map(Value::String);
        }
        match word.as_str() {
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "None" => Some(Value::Null),
            _ => None,
        }
    }

    /// One or more adjacent string literals, concatenated.
    fn strings(&mut self) -> Option<String> {
        let mut out = self.string()?;
        loop {
            let save = self.pos;
            self.skip_ws();
            match self.string() {
                Some(more) => out.push_str(&more),
                None => {
                    self.pos = save;
                    return Some(out);
                }
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let start = self.pos;
        let mut raw = false;
        while let Some(c) = self.peek().filter(|c| c.is_ascii_alphabetic()) {
            match c.to_ascii_lowercase() {
                'r' => raw = true,
                'b' | 'u' => {}
                _ => {
                    self.pos = start;
                    return None;
                }
            }
            self.pos += 1;
        }
        if self.pos - start > 2 {
            self.pos = start;
            return None;
        }
        let quote = self
            .peek()
            .filter(|c| *c == '\'' || *c == '"')
            .or_else(|| {
                self.pos = start;
                None
            })?;
        let triple = self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == quote
                && (!triple || (self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote)))
            {
                self.pos += if triple { 3 } else { 1 };
                return Some(out);
            }
            if c == '\n' && !triple {
                return None;
            }
            self.pos += 1;
            if c == '\\' {
                let next = self.peek()?;
                self.pos += 1;
                if raw {
                    out.push('\\');
                    out.push(next);
                } else {
                    self.escape(next, &mut out)?;
                }
            } else {
                out.push(c);
            }
        }
    }

    fn escape(&mut self, c: char, out: &mut String) -> Option<()> {
        let simple = match c {
            '\n' => return Some(()),
            '\\' | '\'' | '"' => Some(c),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            return Some(());
        }
        let hex_len = match c {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            '0'..='7' => {
                let mut code = c.to_digit(8)?;
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            code = code * 8 + d;
                            self.pos += 1;
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(code)?);
                return Some(());
            }
            'N' => return None,
            _ => {
                out.push('\\');
                out.push(c);
                return Some(());
            }
        };
        let digits: String = self
            .chars
            .get(self.pos..self.pos + hex_len)?
            .iter()
            .collect();
        self.pos += hex_len;
        out.push(char::from_u32(u32::from_str_radix(&digits, 16).ok()?)?);
        Some(())
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            // An exponent sign belongs to the number: `1e-5`.
            let c = self.chars[self.pos];
            self.pos += 1;
            if matches!(c, 'e' | 'E')
                && matches!(self.peek(), Some('+' | '-'))
                && !self.is_prefixed(start)
            {
                self.pos += 1;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        number_value(&text)
    }

    fn is_prefixed(&self, start: usize) -> bool {
        self.chars.get(start) == Some(&'0') && matches!(self.chars.get(start + 1), Some('x' | 'X'))
    }

    /// Items up to `close`, separated by commas (a trailing comma is fine).
    fn seq(&mut self, close: char) -> Option<Vec<Value>> {
        self.pos += 1;
        let mut items = Vec::new();
        self.rest_of_seq(close, &mut items)?;
        Some(items)
    }

    /// The items after the first ones, up to `close`.
    fn rest_of_seq(&mut self, close: char, items: &mut Vec<Value>) -> Option<()> {
        loop {
            self.skip_ws();
            if self.peek()? == close {
                self.pos += 1;
                return Some(());
            }
            items.push(self.expr()?);
            self.skip_ws();
            match self.peek()? {
                ',' => self.pos += 1,
                c if c == close => {}
                _ => return None,
            }
        }
    }

    /// `(x)` is x; `()`, `(x,)` and `(x, y)` are tuples, given as lists.
    /// The first item is read once (reading it again as a tuple's would
    /// double the work at every level of `((((...`).
    fn paren(&mut self) -> Option<Value> {
        self.pos += 1;
        self.skip_ws();
        if self.peek()? == ')' {
            self.pos += 1;
            return Some(Value::Array(Vec::new()));
        }
        let first = self.expr()?;
        self.skip_ws();
        match self.peek()? {
            ')' => {
                self.pos += 1;
                Some(first)
            }
            ',' => {
                self.pos += 1;
                let mut items = vec![first];
                self.rest_of_seq(')', &mut items)?;
                Some(Value::Array(items))
            }
            _ => None,
        }
    }

    /// A dict, or a set (given as a list).
    fn brace(&mut self) -> Option<Value> {
        self.pos += 1;
        let mut map = Map::new();
        let mut set = Vec::new();
        loop {
            self.skip_ws();
            if self.peek()? == '}' {
                self.pos += 1;
                return Some(if set.is_empty() {
                    Value::Object(map)
                } else {
                    Value::Array(set)
                });
            }
            let key = self.expr()?;
            self.skip_ws();
            if self.peek()? == ':' {
                if !set.is_empty() {
                    return None;
                }
                self.pos += 1;
                let value = self.expr()?;
                map.insert(key_string(&key)?, value);
            } else {
                if !map.is_empty() {
                    return None;
                }
                set.push(key);
            }
            self.skip_ws();
            match self.peek()? {
                ',' => self.pos += 1,
                '}' => {}
                _ => return None,
            }
        }
    }
}

fn negate(n: &Number) -> Option<Value> {
    if let Some(i) = n.as_i64() {
        return Some(Value::from(i.checked_neg()?));
    }
    Number::from_f64(-n.as_f64()?).map(Value::Number)
}

/// A dict key as JSON writes it.
fn key_string(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Array(_) | Value::Object(_) => None,
        other => Some(other.to_string()),
    }
}

/// Python's numeric literals: `12`, `1_000`, `0x1f`, `0o17`, `0b11`,
/// `1.5`, `.5`, `1e3`. Leading zeros (`0755`) are not a number.
fn number_value(text: &str) -> Option<Value> {
    let valid_digits = |s: &str, radix: u32| {
        !s.is_empty()
            && !s.ends_with('_')
            && !s.contains("__")
            && s.chars().all(|c| c == '_' || c.is_digit(radix))
    };
    let lower = text.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(body) = lower.strip_prefix(prefix) {
            let body = body.strip_prefix('_').unwrap_or(body);
            if !valid_digits(body, radix) {
                return None;
            }
            return i64::from_str_radix(&body.replace('_', ""), radix)
                .ok()
                .map(Value::from);
        }
    }
    let is_float = lower.contains(['.', 'e']);
    if !is_float {
        if !valid_digits(text, 10) || text.starts_with('_') {
            return None;
        }
        let digits = text.replace('_', "");
        if digits.len() > 1 && digits.starts_with('0') && !digits.trim_start_matches('0').is_empty()
        {
            return None;
        }
        return digits.parse::<i64>().ok().map(Value::from);
    }
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (lower.as_str(), None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let part_ok = |s: &str| s.is_empty() || (valid_digits(s, 10) && !s.starts_with('_'));
    let exp_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        valid_digits(e, 10) && !e.starts_with('_')
    });
    if !part_ok(int_part)
        || !part_ok(frac_part)
        || (int_part.is_empty() && frac_part.is_empty())
        || !exp_ok
    {
        return None;
    }
    let f: f64 = lower.replace('_', "").parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_typed_like_literal_eval() {
        let cases = [
            ("2222", json!(2222)),
            ("-5", json!(-5)),
            ("1_000", json!(1000)),
            ("0x1f", json!(31)),
            ("0o17", json!(15)),
            ("0", json!(0)),
            ("00", json!(0)),
            ("1.5", json!(1.5)),
            (".5", json!(0.5)),
            ("1e3", json!(1000.0)),
            ("True", json!(true)),
            ("False", json!(false)),
            ("None", json!(null)),
            ("'x y'", json!("x y")),
            ("\"it's\"", json!("it's")),
            ("'a' \"b\"", json!("ab")),
            ("'\\n\\x41\\u00e9'", json!("\nAé")),
            ("r'\\d'", json!("\\d")),
            ("[1, 'a', [True]]", json!([1, "a", [true]])),
            ("(1, 2)", json!([1, 2])),
            ("(5)", json!(5)),
            ("()", json!([])),
            ("{'a': 1, 2: None}", json!({"a": 1, "2": null})),
            ("{}", json!({})),
            ("8080 # http", json!(8080)),
            ("...", json!("...")),
        ];
        for (text, want) in cases {
            assert_eq!(parse_value(text), want, "{text}");
        }
    }

    #[test]
    fn non_literals_stay_strings() {
        for text in [
            "true",
            "yes",
            "FALSE",
            "0755",
            "10-5",
            "56L",
            "abc",
            "1.2.3",
            "{a:1}",
            "[1,",
            "'open",
            "x # y",
            "1__0",
            "_1",
            "1_",
            "--5",
            "5j",
            "",
            "web01.example.com",
            "f'x'",
        ] {
            assert_eq!(parse_value(text), Value::from(text), "{text}");
        }
    }

    #[test]
    fn deep_nesting_stays_a_string_without_overflowing() {
        let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
        assert_eq!(parse_value(&deep), Value::String(deep.clone()));
        let parens = "(".repeat(60);
        assert_eq!(parse_value(&parens), Value::String(parens.clone()));
        let ok = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(parse_value(&ok).is_array());
        assert_eq!(
            parse_value("(1, (2,), ())"),
            serde_json::json!([1, [2], []])
        );
    }
}
