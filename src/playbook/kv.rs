//! Ansible's `key=value` argument strings (`copy: src=a dest=b`), and the
//! free-form text of modules like `command`.

/// Why an argument string could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// A quote that is never closed.
    #[error("unbalanced quotes")]
    UnbalancedQuotes,
}

/// One parsed `key=value` pair, or a word of free-form text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// `key=value`, the value unquoted.
    Pair(String, String),
    /// Any other word, quotes kept.
    Free(String),
}

/// Splits an argument string into words, honouring quotes, and recognizes
/// `key=value` pairs. Quotes around a value are removed; free words keep
/// their quotes so that a command line survives unchanged.
pub fn split(text: &str) -> Result<Vec<(Word, String)>, KvError> {
    let mut out = Vec::new();
    for raw in tokens(text)? {
        let word = match raw.split_once('=') {
            Some((k, v)) if is_key(k) => Word::Pair(k.to_string(), unquote(v)),
            _ => Word::Free(raw.clone()),
        };
        out.push((word, raw));
    }
    Ok(out)
}

fn is_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !k.starts_with(|c: char| c.is_ascii_digit())
}

fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        return v[1..v.len() - 1].to_string();
    }
    v.to_string()
}

/// Whitespace-separated tokens; quotes and `{{ }}` keep their content together.
fn tokens(text: &str) -> Result<Vec<String>, KvError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                cur.push(c);
                if c == '\\' && i + 1 < chars.len() {
                    cur.push(chars[i + 1]);
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                if (c == '{' || c == '}') && chars.get(i + 1) == Some(&c) {
                    depth = if c == '{' {
                        depth + 1
                    } else {
                        depth.saturating_sub(1)
                    };
                    cur.push(c);
                    cur.push(c);
                    i += 2;
                    continue;
                }
                if c.is_whitespace() && depth == 0 {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                } else {
                    if c == '"' || c == '\'' {
                        quote = Some(c);
                    }
                    cur.push(c);
                }
            }
        }
        i += 1;
    }
    if quote.is_some() {
        return Err(KvError::UnbalancedQuotes);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_free_words() {
        let words: Vec<Word> = split("src=a dest='/b c' echo \"x y\" k={{ a | b }}")
            .unwrap()
            .into_iter()
            .map(|(w, _)| w)
            .collect();
        assert_eq!(
            words,
            vec![
                Word::Pair("src".into(), "a".into()),
                Word::Pair("dest".into(), "/b c".into()),
                Word::Free("echo".into()),
                Word::Free("\"x y\"".into()),
                Word::Pair("k".into(), "{{ a | b }}".into()),
            ]
        );
    }

    #[test]
    fn rejects_unbalanced_quotes() {
        assert!(split("a='b").is_err());
    }
}
