//! `wait_for`: wait until a port opens or closes, or a file appears, holds
//! some text, or goes away — as seen from the target.
//!
//! Ports are probed through [`Connection::tunnel`](crate::connection::Connection::tunnel):
//! over SSH that is a direct-tcpip channel, so the target itself opens the
//! TCP connection, as Ansible's `wait_for` (which runs on the target)
//! does. Files are probed with `stat` and `read_file` on the connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use tokio::io::AsyncReadExt;

use crate::connection::{ConnectionError, TunnelTarget};
use crate::modules::{
    Action, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Query, parse_params,
};

/// Waits for a port or a file on the host, or for a number of seconds.
///
/// With `port`: `started` (default) waits until a TCP connection to
/// `host:port` succeeds (and, with `search_regex`, until what the server
/// sends matches); `stopped` or `absent` waits until connecting fails. The
/// connection is made from the target, so `host: 127.0.0.1` (the default)
/// is the target's own loopback. With `path`: `present`/`started` waits
/// until the file exists (and, with `search_regex`, its content matches,
/// line anchors `^`/`$` working per line); `absent` waits until it is gone.
/// With neither, it just sleeps `timeout` seconds. Fails with "Timeout
/// when waiting for HOST:PORT" (or the file's equivalent) when `timeout`
/// runs out. The result has `elapsed` (whole seconds), `state`, `port`,
/// `path`, `search_regex`, `match_groups` and `match_groupdict`. Times may
/// be fractions of a second. Also waits in check mode; never a change.
/// Not supported: `state: drained`, `exclude_hosts`,
/// `active_connection_states`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitForParams {
    /// The address to connect to, as the target resolves it (default 127.0.0.1).
    #[serde(default = "loopback")]
    pub host: String,
    /// The TCP port to wait for.
    #[serde(default, deserialize_with = "crate::value::de_opt_int")]
    pub port: Option<i64>,
    /// The file to wait for.
    #[serde(default)]
    #[schemars(extend("x-aliases" = ["dest"]))]
    pub path: Option<String>,
    /// What to wait for (default started).
    #[serde(default)]
    pub state: WaitState,
    /// A regular expression to find in the file or in what the port sends.
    #[serde(default)]
    pub search_regex: Option<String>,
    /// Seconds to wait at most, delay included (default 300).
    #[serde(default = "three_hundred", deserialize_with = "de_seconds")]
    pub timeout: f64,
    /// Seconds to wait before the first check (default 0).
    #[serde(default, deserialize_with = "de_seconds")]
    pub delay: f64,
    /// Seconds between checks (default 1).
    #[serde(default = "one", deserialize_with = "de_seconds")]
    pub sleep: f64,
    /// Seconds to wait for one connection attempt (default 5).
    #[serde(default = "five", deserialize_with = "de_seconds")]
    pub connect_timeout: f64,
    /// The message on timeout, instead of the default one.
    #[serde(default)]
    pub msg: Option<String>,
}

/// `state:` of wait_for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WaitState {
    /// The port accepts connections, or the path exists (with
    /// `search_regex` matching, if given).
    #[default]
    Started,
    /// As `started`.
    Present,
    /// The port refuses connections.
    Stopped,
    /// The port refuses connections, or the path does not exist.
    Absent,
}

impl WaitState {
    fn name(self) -> &'static str {
        match self {
            WaitState::Started => "started",
            WaitState::Present => "present",
            WaitState::Stopped => "stopped",
            WaitState::Absent => "absent",
        }
    }

    fn wants_gone(self) -> bool {
        matches!(self, WaitState::Stopped | WaitState::Absent)
    }
}

fn loopback() -> String {
    "127.0.0.1".into()
}
fn three_hundred() -> f64 {
    300.0
}
fn one() -> f64 {
    1.0
}
fn five() -> f64 {
    5.0
}

/// serde helper: a non-negative number of seconds, also from a string.
pub(crate) fn de_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = Value::deserialize(d)?;
    let secs = match &v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    secs.filter(|s| s.is_finite() && *s >= 0.0).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "expected a number of seconds, found {}",
            crate::value::describe(&v)
        ))
    })
}

/// The `wait_for` module.
pub struct WaitForModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![Arc::new(WaitForModule {
        spec: ModuleSpec::native::<WaitForParams>("wait_for").with_examples(
            "- wait_for:\n    port: 3306\n    timeout: 60\n\n- wait_for:\n    path: /var/log/nova/nova-compute.log\n    search_regex: \"Compute node record created\"\n\n- wait_for:\n    host: \"{{ ansible_host }}\"\n    port: 5672\n    state: stopped",
        ),
    })]
}

/// What the task waits on, checked once per loop.
#[derive(Debug)]
enum Target {
    Port(u16),
    Path(String),
    Nothing,
}

impl Module for WaitForModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: WaitForParams = parse_params(args)?;
        let target = match (p.port, &p.path) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::Params(
                    "port and path parameter can not both be passed to wait_for".into(),
                ));
            }
            (Some(port), None) => {
                Target::Port(u16::try_from(port).ok().filter(|p| *p > 0).ok_or_else(|| {
                    ModuleError::Params(format!("port {port} is not a TCP port (1-65535)"))
                })?)
            }
            (None, Some(path)) => Target::Path(path.clone()),
            (None, None) => Target::Nothing,
        };
        if matches!(target, Target::Path(_)) && p.state == WaitState::Stopped {
            return Err(ModuleError::Params(
                "state=stopped should only be used for checking a port in the wait_for module"
                    .into(),
            ));
        }
        let regex =
            match &p.search_regex {
                Some(re) => Some(Regex::new(&format!("(?m){re}")).map_err(|e| {
                    ModuleError::Params(format!("invalid search_regex '{re}': {e}"))
                })?),
                None => None,
            };
        Ok(Box::new(WaitForAction { p, target, regex }))
    }
}

struct WaitForAction {
    p: WaitForParams,
    target: Target,
    regex: Option<Regex>,
}

/// The groups of a `search_regex` match, as Ansible reports them.
#[derive(Default)]
struct Found {
    groups: Vec<Value>,
    named: Map<String, Value>,
}

#[async_trait]
impl Action for WaitForAction {
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        self.run(ctx).await.map(Query::Unchanged)
    }
}

impl WaitForAction {
    async fn run(&self, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(self.p.timeout);
        tokio::time::sleep(Duration::from_secs_f64(self.p.delay)).await;
        if matches!(self.target, Target::Nothing) {
            tokio::time::sleep(Duration::from_secs_f64(self.p.timeout)).await;
            return Ok(self.success(start, Found::default()));
        }
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(self.timed_out(start));
            }
            if let Some(found) = self.probe(ctx, deadline - now).await? {
                return Ok(self.success(start, found));
            }
            let pause = Duration::from_secs_f64(self.p.sleep)
                .min(deadline.saturating_duration_since(Instant::now()));
            tokio::time::sleep(pause).await;
        }
    }

    /// One check: `Some` when the wait is over.
    async fn probe(
        &self,
        ctx: &ModuleCtx<'_>,
        left: Duration,
    ) -> Result<Option<Found>, ModuleError> {
        match &self.target {
            Target::Port(port) => self.probe_port(ctx, *port, left).await,
            Target::Path(path) => self.probe_path(ctx, path).await,
            Target::Nothing => Ok(Some(Found::default())),
        }
    }

    async fn probe_port(
        &self,
        ctx: &ModuleCtx<'_>,
        port: u16,
        left: Duration,
    ) -> Result<Option<Found>, ModuleError> {
        let target = TunnelTarget::Tcp {
            host: self.p.host.clone(),
            port,
        };
        let limit = Duration::from_secs_f64(self.p.connect_timeout).min(left);
        let stream = match tokio::time::timeout(limit, ctx.conn.tunnel(&target)).await {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(e)) if is_fatal(&e) => return Err(e.into()),
            Ok(Err(_)) | Err(_) => None,
        };
        match (stream, self.p.state.wants_gone(), &self.regex) {
            (None, true, _) => Ok(Some(Found::default())),
            (None, false, _) | (Some(_), true, _) => Ok(None),
            (Some(_), false, None) => Ok(Some(Found::default())),
            (Some(mut stream), false, Some(re)) => {
                // Read what the server says until the pattern shows up, it
                // hangs up, or time runs out; a miss means try again.
                let mut seen = Vec::new();
                let mut chunk = [0u8; 4096];
                let until = Instant::now() + left;
                loop {
                    let wait = until.saturating_duration_since(Instant::now());
                    match tokio::time::timeout(wait, stream.read(&mut chunk)).await {
                        Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&chunk[..n]),
                        _ => return Ok(None),
                    }
                    if let Some(found) = search(re, &String::from_utf8_lossy(&seen)) {
                        return Ok(Some(found));
                    }
                }
            }
        }
    }

    async fn probe_path(
        &self,
        ctx: &ModuleCtx<'_>,
        path: &str,
    ) -> Result<Option<Found>, ModuleError> {
        let become_ = ctx.become_.as_ref();
        let exists = match ctx.conn.stat(path, become_).await {
            Ok(st) => st.is_some(),
            Err(e) if is_fatal(&e) => return Err(e.into()),
            // Ansible counts an unreadable path as not there (yet).
            Err(_) => false,
        };
        if self.p.state.wants_gone() {
            return Ok((!exists).then(Found::default));
        }
        let (true, Some(re)) = (exists, &self.regex) else {
            return Ok(exists.then(Found::default));
        };
        match ctx.conn.read_file(path, become_).await {
            Ok(Some(data)) => Ok(search(re, &String::from_utf8_lossy(&data))),
            Ok(None) => Ok(None),
            Err(e) if is_fatal(&e) => Err(e.into()),
            Err(_) => Ok(None),
        }
    }

    fn success(&self, start: Instant, found: Found) -> Outcome {
        Outcome::ok()
            .with("elapsed", start.elapsed().as_secs())
            .with("state", self.p.state.name())
            .with("port", self.p.port.map_or(Value::Null, Value::from))
            .with("path", self.p.path.clone().map_or(Value::Null, Value::from))
            .with(
                "search_regex",
                self.p.search_regex.clone().map_or(Value::Null, Value::from),
            )
            .with("match_groups", found.groups)
            .with("match_groupdict", found.named)
    }

    /// Ansible's timeout messages, word for word.
    fn timed_out(&self, start: Instant) -> Outcome {
        let host = &self.p.host;
        let gone = self.p.state.wants_gone();
        let default = match (&self.target, &self.p.search_regex) {
            (Target::Port(port), _) if gone => {
                format!("Timeout when waiting for {host}:{port} to stop.")
            }
            (Target::Port(port), Some(re)) => {
                format!("Timeout when waiting for search string {re} in {host}:{port}")
            }
            (Target::Port(port), None) => format!("Timeout when waiting for {host}:{port}"),
            (Target::Path(path), _) if gone => {
                format!("Timeout when waiting for {path} to be absent.")
            }
            (Target::Path(path), Some(re)) => {
                format!("Timeout when waiting for search string {re} in {path}")
            }
            (Target::Path(path), None) => format!("Timeout when waiting for file {path}"),
            (Target::Nothing, _) => "Timeout".to_string(),
        };
        let mut out = Outcome::ok()
            .with_msg(self.p.msg.clone().unwrap_or(default))
            .with("elapsed", start.elapsed().as_secs());
        out.failed = true;
        out
    }
}

/// Errors that mean the host itself is gone, not just the port or file.
fn is_fatal(e: &ConnectionError) -> bool {
    matches!(
        e,
        ConnectionError::Lost { .. }
            | ConnectionError::Auth { .. }
            | ConnectionError::HostKey { .. }
            | ConnectionError::Become(_)
    )
}

fn search(re: &Regex, text: &str) -> Option<Found> {
    let caps = re.captures(text)?;
    let groups = caps
        .iter()
        .skip(1)
        .map(|g| g.map_or(Value::Null, |m| Value::String(m.as_str().into())))
        .collect();
    let named = re
        .capture_names()
        .flatten()
        .map(|n| {
            (
                n.to_string(),
                caps.name(n)
                    .map_or(Value::Null, |m| Value::String(m.as_str().into())),
            )
        })
        .collect();
    Some(Found { groups, named })
}

#[cfg(test)]
mod tests {
    use crate::modules::testing::TestHost;
    use serde_json::json;
    use std::time::{Duration, Instant};
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    fn free_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn waits_for_a_port_that_opens_later() {
        let port = free_port();
        let server = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            let l = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
            loop {
                let (mut s, _) = l.accept().await.unwrap();
                let _ = s.write_all(b"SSH-2.0-fake\r\n").await;
            }
        });
        let h = TestHost::new();
        let started = Instant::now();
        let out = h
            .run("wait_for", json!({"port": port, "timeout": 10, "sleep": 0.2, "search_regex": "SSH-(\\d)\\.(?P<minor>\\d)"}))
            .await
            .unwrap();
        let took = started.elapsed();
        assert!(!out.failed && !out.changed, "{out:?}");
        assert!(
            took >= Duration::from_millis(1200) && took < Duration::from_secs(4),
            "{took:?}"
        );
        assert!(out.data["elapsed"].as_u64().unwrap() >= 1);
        assert_eq!(out.data["port"], json!(port));
        assert_eq!(out.data["state"], json!("started"));
        assert_eq!(out.data["match_groups"], json!(["2", "0"]));
        assert_eq!(out.data["match_groupdict"], json!({"minor": "0"}));
        server.abort();
    }

    #[tokio::test]
    async fn closed_port_times_out_with_ansibles_message() {
        let port = free_port();
        let h = TestHost::new();
        let started = Instant::now();
        let out = h
            .run(
                "wait_for",
                json!({"port": port, "timeout": 1, "sleep": 0.2}),
            )
            .await
            .unwrap();
        assert!(out.failed);
        assert_eq!(
            out.msg,
            Some(format!("Timeout when waiting for 127.0.0.1:{port}"))
        );
        assert_eq!(out.data["elapsed"], json!(1));
        assert!(started.elapsed() < Duration::from_millis(1600));
        let out = h
            .run(
                "wait_for",
                json!({"port": port, "timeout": 0.3, "msg": "no db"}),
            )
            .await
            .unwrap();
        assert_eq!(out.msg.as_deref(), Some("no db"));
    }

    #[tokio::test]
    async fn stopped_waits_until_connections_fail() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let h = TestHost::new();
        let out = h
            .run(
                "wait_for",
                json!({"port": port, "state": "stopped", "timeout": 0.5, "sleep": 0.1}),
            )
            .await
            .unwrap();
        assert_eq!(
            out.msg,
            Some(format!(
                "Timeout when waiting for 127.0.0.1:{port} to stop."
            ))
        );
        let closer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            drop(l);
        });
        let out = h
            .run(
                "wait_for",
                json!({"port": port, "state": "absent", "timeout": 5, "sleep": 0.1}),
            )
            .await
            .unwrap();
        assert!(!out.failed, "{out:?}");
        closer.await.unwrap();
    }

    #[tokio::test]
    async fn waits_for_file_content_and_absence() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nova.log");
        let path = file.to_str().unwrap().to_string();
        let writer = {
            let file = file.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                std::fs::write(&file, "starting\n").unwrap();
                tokio::time::sleep(Duration::from_millis(300)).await;
                std::fs::write(&file, "starting\nready on port 8774\n").unwrap();
            })
        };
        let h = TestHost::new();
        let out = h
            .run("wait_for", json!({"path": path, "search_regex": "^ready on port (\\d+)$", "timeout": 5, "sleep": 0.1}))
            .await
            .unwrap();
        writer.await.unwrap();
        assert!(!out.failed, "{out:?}");
        assert_eq!(out.data["match_groups"], json!(["8774"]));
        assert_eq!(out.data["path"], json!(path));
        let out = h
            .run(
                "wait_for",
                json!({"path": path, "search_regex": "never", "timeout": 0.3, "sleep": 0.1}),
            )
            .await
            .unwrap();
        assert_eq!(
            out.msg,
            Some(format!(
                "Timeout when waiting for search string never in {path}"
            ))
        );
        let out = h
            .run(
                "wait_for",
                json!({"path": path, "state": "absent", "timeout": 0.3}),
            )
            .await
            .unwrap();
        assert_eq!(
            out.msg,
            Some(format!("Timeout when waiting for {path} to be absent."))
        );
    }

    #[tokio::test]
    async fn absent_file_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone").to_str().unwrap().to_string();
        let h = TestHost::new();
        let out = h
            .run(
                "wait_for",
                json!({"path": path, "state": "absent", "timeout": 1}),
            )
            .await
            .unwrap();
        assert!(!out.failed);
        let out = h
            .run("wait_for", json!({"path": path, "timeout": 0.2}))
            .await
            .unwrap();
        assert_eq!(
            out.msg,
            Some(format!("Timeout when waiting for file {path}"))
        );
    }

    #[tokio::test]
    async fn plain_sleep_and_bad_parameters() {
        let h = TestHost::new();
        let started = Instant::now();
        let out = h
            .run("wait_for", json!({"timeout": 0.3, "delay": "0.1"}))
            .await
            .unwrap();
        assert!(!out.failed && started.elapsed() >= Duration::from_millis(400));
        let err = h
            .run("wait_for", json!({"port": 1, "path": "/x"}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid parameters: port and path parameter can not both be passed to wait_for"
        );
        let err = h.run("wait_for", json!({"port": 70000})).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid parameters: port 70000 is not a TCP port (1-65535)"
        );
        let err = h
            .run("wait_for", json!({"path": "/x", "state": "stopped"}))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("state=stopped should only be used for checking a port")
        );
    }
}
