//! HTTP plumbing shared by the session and the modules: sending with
//! retries (services are often just starting), reading OpenStack's error
//! bodies, joining endpoint URLs and paths, and Keystone's timestamps.
//!
//! Nothing here knows about tokens; the session adds them.

use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

use super::OpenStackError;

/// How long requests are retried while a service is unreachable or
/// answers 502/503/504, unless `OPLAY_OPENSTACK_RETRY_SECONDS` says otherwise.
const DEFAULT_RETRY: Duration = Duration::from_secs(60);

/// The time a single JSON request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The retry budget: `OPLAY_OPENSTACK_RETRY_SECONDS` (may be 0) or 60 s.
pub fn retry_budget() -> Duration {
    std::env::var("OPLAY_OPENSTACK_RETRY_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| *s >= 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_RETRY)
}

/// The User-Agent sent to OpenStack: `OPLAY_USER_AGENT` if set (tests use
/// it to count their own requests in Keystone's log).
pub fn user_agent() -> Option<String> {
    std::env::var("OPLAY_USER_AGENT")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Whether an answer means "try again soon".
fn transient_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 502..=504)
}

/// Sends a request built by `build` (called once per attempt), retrying
/// connection failures, timeouts and 502/503/504 with exponential backoff
/// (0.5 s, 1 s, 2 s ...) until the retry budget is spent.
pub async fn send_with_retry(
    method: &Method,
    url: &str,
    build: &(dyn Fn() -> RequestBuilder + Send + Sync),
) -> Result<Response, OpenStackError> {
    let started = Instant::now();
    let budget = retry_budget();
    let mut delay = Duration::from_millis(500);
    loop {
        let mut req = build();
        if let Some(ua) = user_agent() {
            req = req.header(reqwest::header::USER_AGENT, ua);
        }
        let failure = match req.send().await {
            Ok(resp) if !transient_status(resp.status()) => return Ok(resp),
            Ok(resp) => {
                let status = resp.status();
                Failure::Status(
                    status,
                    error_message(status, &resp.text().await.unwrap_or_default()),
                )
            }
            Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => {
                Failure::Transport(transport_reason(&e))
            }
            Err(e) => {
                return Err(OpenStackError::Unreachable {
                    method: method.to_string(),
                    url: url.to_string(),
                    reason: transport_reason(&e),
                    waited: 0,
                });
            }
        };
        let spent = started.elapsed();
        if spent + delay > budget {
            return Err(match failure {
                Failure::Status(status, message) => OpenStackError::Http {
                    method: method.to_string(),
                    url: url.to_string(),
                    status: status.as_u16(),
                    message,
                },
                Failure::Transport(reason) => OpenStackError::Unreachable {
                    method: method.to_string(),
                    url: url.to_string(),
                    reason,
                    waited: spent.as_secs(),
                },
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(16));
    }
}

enum Failure {
    Status(StatusCode, String),
    Transport(String),
}

/// The innermost cause of a transport error ("Connection refused (os error
/// 111)"), which says more than reqwest's outer "error sending request".
pub fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let text = cur.to_string();
    if text.is_empty() { e.to_string() } else { text }
}

/// OpenStack's own words about an error: Keystone's `error.message`,
/// Nova's `{"badRequest": {"message": ..}}`, or Glance's HTML body
/// stripped of its tags; the status text when the body says nothing.
pub fn error_message(status: StatusCode, body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        if let Some(m) = v.pointer("/error/message").and_then(Value::as_str) {
            return m.trim().to_string();
        }
        if let Some(m) = v
            .as_object()
            .and_then(|o| o.values().find_map(|x| x.get("message")))
            .and_then(Value::as_str)
        {
            return m.trim().to_string();
        }
        if let Some(m) = v.get("message").and_then(Value::as_str) {
            return m.trim().to_string();
        }
    }
    let text = strip_html(body);
    let reason = status.canonical_reason().unwrap_or("");
    let head = format!("{} {reason}", status.as_u16());
    // Glance repeats "409 Conflict" as title and heading before its message.
    let text = text.replace(&head, " ");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        reason.to_string()
    } else {
        text.chars().take(500).collect()
    }
}

fn strip_html(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Joins an endpoint URL and an API path. When the endpoint already ends
/// with the version the path starts with (`.../v3` + `/v3/users`), the
/// version is not repeated, so callers may write paths either way.
pub fn join_url(endpoint: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_string();
    }
    let base = endpoint.trim_end_matches('/');
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let last = base.rsplit('/').next().unwrap_or("");
    if is_version(last) {
        let prefix = format!("/{last}");
        if path == prefix
            || path.starts_with(&format!("{prefix}/"))
            || path.starts_with(&format!("{prefix}?"))
        {
            return format!("{base}{}", &path[prefix.len()..]);
        }
    }
    format!("{base}{path}")
}

fn is_version(seg: &str) -> bool {
    let Some(rest) = seg.strip_prefix('v') else {
        return false;
    };
    !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Percent-encodes a value for a query string or a path segment.
pub fn encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Seconds since the epoch of a Keystone timestamp such as
/// `2026-11-26T07:03:12.000000Z`.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let time = time.split(['+', '.']).next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>());
    let (h, mi, sec) = (
        t.next()?.ok()?,
        t.next()?.ok()?,
        t.next().unwrap_or(Ok(0)).ok()?,
    );
    Some(days_from_civil(y, m, day) * 86_400 + h * 3600 + mi * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch, now.
pub fn now_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_with_or_without_version() {
        assert_eq!(
            join_url("http://k:5000/v3/", "/v3/users"),
            "http://k:5000/v3/users"
        );
        assert_eq!(
            join_url("http://k:5000/v3", "/users?name=a"),
            "http://k:5000/v3/users?name=a"
        );
        assert_eq!(
            join_url("http://g:9292", "/v2/images"),
            "http://g:9292/v2/images"
        );
        assert_eq!(
            join_url("http://k:5000/v3", "/v3?x=1"),
            "http://k:5000/v3?x=1"
        );
    }

    #[test]
    fn reads_error_bodies() {
        let ks = r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#;
        assert_eq!(
            error_message(StatusCode::UNAUTHORIZED, ks),
            "The request you have made requires authentication."
        );
        let glance = "<html>\n <head>\n  <title>409 Conflict</title>\n </head>\n <body>\n  <h1>409 Conflict</h1>\n  Image status transition from active to saving is not allowed<br /><br />\n\n\n\n </body>\n</html>";
        assert_eq!(
            error_message(StatusCode::CONFLICT, glance),
            "Image status transition from active to saving is not allowed"
        );
        assert_eq!(error_message(StatusCode::NOT_FOUND, ""), "Not Found");
    }

    #[test]
    fn parses_keystone_time() {
        assert_eq!(parse_timestamp("1970-01-02T00:00:01.000000Z"), Some(86_401));
        assert_eq!(
            parse_timestamp("2026-11-26T07:03:12.000000Z"),
            Some(1_795_676_592)
        );
        assert_eq!(parse_timestamp("garbage"), None);
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
