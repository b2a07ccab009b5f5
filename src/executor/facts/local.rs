//! Local facts (`ansible_local`): each `*.fact` file under `fact_path`,
//! run when executable, read otherwise, then read as JSON, else as INI,
//! with ansible-core's error strings as values when neither works. The
//! script marks each file with a `\x1dfact PATH` line. Not for other facts.

use serde_json::{Map, Value, json};

/// One file's text (or its failure) -> its fact value.
fn fact_value(path: &str, text: &str) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v;
    }
    ini(text).unwrap_or_else(|| {
        json!(format!(
            "error loading facts as JSON or ini - please check content: {path}"
        ))
    })
}

/// Python's ConfigParser, as far as fact files use it: `[section]`,
/// `key = value` or `key: value` (keys lower-cased), `#`/`;` comments.
fn ini(text: &str) -> Option<Value> {
    let mut out = Map::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            out.entry(name.to_string()).or_insert_with(|| json!({}));
            section = Some(name.to_string());
            continue;
        }
        let sec = section.as_ref()?;
        let (k, v) = match (t.find('='), t.find(':')) {
            (Some(e), Some(c)) => t.split_at(e.min(c)),
            (Some(i), None) | (None, Some(i)) => t.split_at(i),
            (None, None) => return None,
        };
        let key = k.trim().to_lowercase();
        let val = v[1..].trim();
        if let Some(Value::Object(m)) = out.get_mut(sec) {
            m.insert(key, json!(val));
        }
    }
    Some(Value::Object(out))
}

/// Parses the `local` section into the `local` fact.
pub fn parse(lines: &[&str]) -> Value {
    let mut local = Map::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    let finish = |cur: Option<(String, Vec<&str>)>, local: &mut Map<String, Value>| {
        if let Some((path, body)) = cur {
            let base = path
                .rsplit('/')
                .next()
                .unwrap_or(&path)
                .replace(".fact", "");
            let value = match body.last().and_then(|l| l.strip_prefix("\u{1d}failed ")) {
                Some(rc) => json!(format!(
                    "Failure executing fact script ({path}), rc: {rc}, err: "
                )),
                None => fact_value(&path, &body.join("\n")),
            };
            local.insert(base, value);
        }
    };
    for line in lines {
        if let Some(path) = line.strip_prefix("\u{1d}fact ") {
            finish(current.take(), &mut local);
            current = Some((path.to_string(), Vec::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push(line);
        }
    }
    finish(current.take(), &mut local);
    Value::Object(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_ini_and_failures() {
        let v = parse(&[
            "\u{1d}fact /etc/ansible/facts.d/a.fact",
            "{\"x\": 1}",
            "\u{1d}fact /etc/ansible/facts.d/b.fact",
            "[general]",
            "Name = web",
            "\u{1d}fact /etc/ansible/facts.d/c.fact",
            "\u{1d}failed 3",
            "\u{1d}fact /etc/ansible/facts.d/d.fact",
            "not ini",
        ]);
        assert_eq!(v["a"], json!({"x": 1}));
        assert_eq!(v["b"], json!({"general": {"name": "web"}}));
        assert!(v["c"].as_str().unwrap().contains("rc: 3"));
        assert!(v["d"].as_str().unwrap().starts_with("error loading facts"));
    }
}
