//! Host names as inventories write them: an optional port (`host:2222`,
//! `[2001:db8::1]:2222`) and ranges expanded into names (`web[01:03]`,
//! `db-[a:c]`, `node[1:10:2]`), following Ansible's `parse_address` and
//! `expand_hostname_range`. Not for host *patterns* (`web*:!db`): those
//! live in `pattern`.

use std::sync::LazyLock;

use regex::Regex;

static BRACKETED_HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[(.+)\]:([0-9]+)$").expect("static regex"));
static HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").expect("static regex"));
/// A range inside a host label, replaced before the label check.
static LABEL_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(?:[a-zA-Z]:[a-zA-Z]|[0-9a-fA-F]+:[0-9a-fA-F]+)(?::[0-9]+)?\]")
        .expect("static regex")
});
static LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[\w&&[^_]]|\w[\w-]*[\w&&[^_]])$").expect("static regex"));

/// Splits `host:port` and `[host]:port`. `None` when the text is not a
/// host identifier (a name, IPv4 or IPv6 address, ranges allowed), which
/// is how Ansible tells `web:db` (two patterns) from `web:22`.
pub(crate) fn parse_address(text: &str) -> Option<(String, Option<u64>)> {
    let mut address = text.to_string();
    let mut port = None;
    for re in [&*BRACKETED_HOSTPORT, &*HOSTPORT] {
        if let Some(c) = re.captures(&address.clone()) {
            port = Some(c[2].parse::<u64>().ok()?);
            address = c[1].to_string();
        }
    }
    (is_ipv6(&address) || is_hostname(&address)).then_some((address, port))
}

fn is_hostname(text: &str) -> bool {
    let plain = LABEL_RANGE.replace_all(text, "x");
    !plain.is_empty() && plain.split('.').all(|label| LABEL.is_match(label))
}

fn is_ipv6(text: &str) -> bool {
    let hex_group =
        |g: &str| (1..=4).contains(&g.len()) && g.chars().all(|c| c.is_ascii_hexdigit());
    let groups = |part: &str| -> Option<usize> {
        if part.is_empty() {
            return Some(0);
        }
        let items: Vec<&str> = part.split(':').collect();
        let (last, rest) = items.split_last()?;
        let v4 = last.contains('.');
        let last_ok = if v4 {
            last.split('.').count() == 4 && last.split('.').all(|o| o.parse::<u8>().is_ok())
        } else {
            hex_group(last)
        };
        (last_ok && rest.iter().all(|g| hex_group(g))).then_some(items.len() + usize::from(v4))
    };
    match text.split_once("::") {
        Some((a, b)) => {
            !b.contains("::") && matches!((groups(a), groups(b)), (Some(x), Some(y)) if x + y <= 7)
        }
        None => text.contains(':') && groups(text) == Some(8),
    }
}

/// Why a host range (`web[01:03]`) could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RangeError {
    #[error("host range expands to more than {MAX_RANGE_HOSTS} hosts")]
    TooMany,
    #[error("host range has no closing `]`")]
    Unclosed,
    #[error("host range must be begin:end or begin:end:step")]
    Form,
    #[error("host range must specify end value")]
    NoEnd,
    #[error("host range step must be a positive integer, got `{0}`")]
    Step(String),
    #[error("host range must specify equal-length begin and end formats")]
    Width,
    #[error("host range must have begin <= end")]
    Backwards,
    #[error("host range bounds must be numbers or single letters, got `{0}`")]
    Bound(String),
}

/// A host entry as written in an inventory: the names it expands to and
/// the port it gave, if any.
pub(crate) fn expand_host_entry(text: &str) -> Result<(Vec<String>, Option<u64>), RangeError> {
    let (pattern, port) = parse_address(text).unwrap_or_else(|| (text.to_string(), None));
    let names = if pattern.contains('[') {
        expand_ranges(&pattern)?
    } else {
        vec![pattern]
    };
    Ok((names, port))
}

/// How many hosts one inventory entry may expand to. Ansible has no
/// limit; `web[0:99999999]` would take gigabytes and hours there.
pub(crate) const MAX_RANGE_HOSTS: u64 = 100_000;

/// Expands every `[begin:end(:step)]` range, left to right.
pub(crate) fn expand_ranges(text: &str) -> Result<Vec<String>, RangeError> {
    let mut total: u64 = 1;
    let mut rest = text;
    while let Some((range, after)) = next_range(rest)? {
        total = total.saturating_mul(Range::parse(range)?.count());
        rest = after;
    }
    if total > MAX_RANGE_HOSTS {
        return Err(RangeError::TooMany);
    }
    expand(text)
}

/// The body of the first `[...]` in `text` and the text after it.
fn next_range(text: &str) -> Result<Option<(&str, &str)>, RangeError> {
    let Some(open) = text.find('[') else {
        return Ok(None);
    };
    let close = text[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or(RangeError::Unclosed)?;
    Ok(Some((&text[open + 1..close], &text[close + 1..])))
}

fn expand(text: &str) -> Result<Vec<String>, RangeError> {
    let Some((range, tail)) = next_range(text)? else {
        return Ok(vec![text.to_string()]);
    };
    let head = &text[..text.find('[').unwrap_or(0)];
    let tails = expand(tail)?;
    let mut names = Vec::new();
    for item in Range::parse(range)?.items() {
        for t in &tails {
            names.push(format!("{head}{item}{t}"));
        }
    }
    Ok(names)
}

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// One range body (`01:03`, `a:c`, `1:10:2`), checked.
enum Range {
    Letters {
        begin: usize,
        end: usize,
        step: usize,
    },
    Numbers {
        begin: u64,
        end: u64,
        step: u64,
        width: usize,
    },
}

impl Range {
    fn parse(range: &str) -> Result<Range, RangeError> {
        let bounds: Vec<&str> = range.split(':').collect();
        if bounds.len() != 2 && bounds.len() != 3 {
            return Err(RangeError::Form);
        }
        let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
        let end = bounds[1];
        if end.is_empty() {
            return Err(RangeError::NoEnd);
        }
        let step: usize = match bounds.get(2) {
            None => 1,
            Some(s) => s
                .parse()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| RangeError::Step(s.to_string()))?,
        };
        let width = if begin.starts_with('0') && begin.len() > 1 {
            if begin.len() != end.len() {
                return Err(RangeError::Width);
            }
            begin.len()
        } else {
            0
        };
        if let (Some(b), Some(e)) = (letter_index(begin), letter_index(end)) {
            if b > e {
                return Err(RangeError::Backwards);
            }
            return Ok(Range::Letters {
                begin: b,
                end: e,
                step,
            });
        }
        let number = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| RangeError::Bound(range.to_string()))
        };
        let (b, e) = (number(begin)?, number(end)?);
        if b > e {
            // Ansible silently expands this to nothing; that is always a typo.
            return Err(RangeError::Backwards);
        }
        Ok(Range::Numbers {
            begin: b,
            end: e,
            step: step as u64,
            width,
        })
    }

    fn count(&self) -> u64 {
        match *self {
            Range::Letters { begin, end, step } => ((end - begin) / step + 1) as u64,
            Range::Numbers {
                begin, end, step, ..
            } => ((end - begin) / step).saturating_add(1),
        }
    }

    /// The items; only called once the count is known to be small.
    fn items(&self) -> Vec<String> {
        match *self {
            Range::Letters { begin, end, step } => LETTERS[begin..=end]
                .chars()
                .step_by(step)
                .map(String::from)
                .collect(),
            Range::Numbers {
                begin, step, width, ..
            } => (0..self.count())
                .map(|i| format!("{:0width$}", begin + i * step))
                .collect(),
        }
    }
}

fn letter_index(s: &str) -> Option<usize> {
    let mut chars = s.chars();
    let c = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    LETTERS.find(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_like_ansible() {
        let cases: &[(&str, &[&str])] = &[
            ("web[01:03]", &["web01", "web02", "web03"]),
            ("db-[a:c]", &["db-a", "db-b", "db-c"]),
            ("n[1:10:3]", &["n1", "n4", "n7", "n10"]),
            ("h[:2]", &["h0", "h1", "h2"]),
            (
                "r[1:2]-[a:b].lan",
                &["r1-a.lan", "r1-b.lan", "r2-a.lan", "r2-b.lan"],
            ),
            ("x[y:B]", &["xy", "xz", "xA", "xB"]),
            ("plain", &["plain"]),
            (
                "w[0:18446744073709551615:9223372036854775808]",
                &["w0", "w9223372036854775808"],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(expand_ranges(text).unwrap(), *want, "{text}");
        }
    }

    #[test]
    fn bad_ranges_are_refused() {
        let cases = [
            ("web[3:1]", "host range must have begin <= end"),
            ("web[c:a]", "host range must have begin <= end"),
            ("web[1]", "host range must be begin:end or begin:end:step"),
            ("web[1:]", "host range must specify end value"),
            (
                "web[01:100]",
                "host range must specify equal-length begin and end formats",
            ),
            (
                "web[1:3:0]",
                "host range step must be a positive integer, got `0`",
            ),
            (
                "web[a:5]",
                "host range bounds must be numbers or single letters, got `a:5`",
            ),
            ("web[1:3", "host range has no closing `]`"),
            (
                "web[0:99999999]",
                "host range expands to more than 100000 hosts",
            ),
            (
                "web[0:18446744073709551615]",
                "host range expands to more than 100000 hosts",
            ),
            (
                "web[0:999][0:999]",
                "host range expands to more than 100000 hosts",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(expand_ranges(text).unwrap_err().to_string(), want, "{text}");
        }
    }

    #[test]
    fn addresses_and_ports() {
        type Case<'a> = (&'a str, Option<(&'a str, Option<u64>)>);
        let cases: &[Case] = &[
            ("web1", Some(("web1", None))),
            ("web1:2222", Some(("web1", Some(2222)))),
            ("web[01:03]:22", Some(("web[01:03]", Some(22)))),
            ("10.0.0.1:22", Some(("10.0.0.1", Some(22)))),
            ("[2001:db8::1]:22", Some(("2001:db8::1", Some(22)))),
            ("2001:db8::1", Some(("2001:db8::1", None))),
            ("::1", Some(("::1", None))),
            ("web:db", None),
            ("ab:cd:ef", None),
            ("bad_", None),
        ];
        for (text, want) in cases {
            let got = parse_address(text);
            let want = want.map(|(h, p)| (h.to_string(), p));
            assert_eq!(got, want, "{text}");
        }
    }
}
