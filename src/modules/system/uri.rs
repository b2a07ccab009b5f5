//! `uri`: send an HTTP request and check the answer's status.
//!
//! Unlike Ansible, where `uri` runs on the target, the request is sent
//! from the control node through the run's HTTP client. For OpenStack
//! APIs this is the same thing (they listen on addresses both can reach).
//!
//! Check mode: GET and HEAD are read-only, so they are sent while
//! querying and run in check mode too (reporting the real answer). Any
//! other method is reported as a change it would make and is only sent
//! outside check mode. As in Ansible, a request is never itself reported
//! as `changed`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::{Method, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::modules::{
    Action, Apply, Change, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Query, parse_params,
};
use crate::secret::Secret;

use super::wait_for::de_seconds;

/// Sends an HTTP request and fails unless the status is one of `status_code`.
///
/// The request goes out from the control node. The result holds `status`,
/// the final `url`, every response header with its name lower-cased and
/// `-` turned into `_` (`content_type`), `json` when the answer is JSON,
/// `content` when `return_content` is set or the status is unexpected,
/// `redirected` and `elapsed`. A status outside `status_code` fails with
/// "Status code was 404 and not [200]: ...", a request that cannot be sent
/// fails with status -1; both can be registered and retried with `until:`.
/// Never reports a change. GET and HEAD also run in check mode; other
/// methods only report what they would send. Not supported: `dest`,
/// `src`, `creates`, `removes`, `unix_socket`, client certificates,
/// `form-multipart`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UriParams {
    /// The URL, `http://` or `https://`.
    pub url: String,
    /// The HTTP method (default GET).
    #[serde(default = "get")]
    pub method: String,
    /// The request body; with `body_format: json` or `form-urlencoded` it
    /// may be a mapping, which is serialized.
    #[serde(default)]
    pub body: Option<Value>,
    /// How to serialize `body` and which Content-Type to send with it.
    #[serde(default)]
    pub body_format: BodyFormat,
    /// Request headers.
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// The statuses that count as success (default 200).
    #[serde(default = "ok_status", deserialize_with = "de_status_codes")]
    pub status_code: Vec<i64>,
    /// Put the response body in `content` (default no).
    #[serde(default, deserialize_with = "crate::value::de_bool")]
    pub return_content: bool,
    /// Seconds to wait for the whole answer (default 30).
    #[serde(default = "thirty", deserialize_with = "de_seconds")]
    pub timeout: f64,
    /// Check the server's TLS certificate (default yes).
    #[serde(default = "yes", deserialize_with = "crate::value::de_bool")]
    pub validate_certs: bool,
    /// User name for HTTP basic authentication.
    #[serde(default)]
    #[schemars(extend("x-aliases" = ["user"]))]
    pub url_username: Option<String>,
    /// Password for HTTP basic authentication.
    #[serde(default)]
    #[schemars(extend("x-aliases" = ["password"]))]
    pub url_password: Option<Secret>,
    /// Send the credentials with the first request instead of waiting
    /// for the server to answer 401 (default no).
    #[serde(default, deserialize_with = "crate::value::de_bool")]
    pub force_basic_auth: bool,
    /// Which redirects to follow: `safe` (default) only for GET and HEAD,
    /// `all` (or yes), `none` (or no).
    #[serde(default, deserialize_with = "de_follow")]
    pub follow_redirects: FollowRedirects,
}

/// `body_format:` of uri.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BodyFormat {
    /// The body is sent as given.
    #[default]
    Raw,
    /// The body is sent as JSON.
    Json,
    /// The body (a mapping) is sent as an HTML form.
    FormUrlencoded,
}

/// `follow_redirects:` of uri.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FollowRedirects {
    /// Follow every redirect.
    All,
    /// Follow no redirect.
    #[serde(rename = "none")]
    Never,
    /// Follow redirects of GET and HEAD only.
    #[default]
    Safe,
    /// As `safe` (Ansible's old name).
    Urllib2,
    /// As `all`.
    Yes,
    /// As `none`.
    No,
}

fn get() -> String {
    "GET".into()
}
fn ok_status() -> Vec<i64> {
    vec![200]
}
fn thirty() -> f64 {
    30.0
}
fn yes() -> bool {
    true
}

/// A status code, a list of them, or a comma-separated string of them.
fn de_status_codes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    let words = match &v {
        Value::Number(_) => Some(vec![v.clone()]),
        Value::String(s) => Some(
            s.split(',')
                .map(|w| Value::String(w.trim().into()))
                .collect(),
        ),
        Value::Array(items) => Some(items.clone()),
        _ => None,
    };
    words
        .and_then(|ws| {
            ws.iter()
                .map(crate::value::to_int)
                .collect::<Option<Vec<_>>>()
        })
        .filter(|codes| !codes.is_empty())
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "expected a status code or a list of them, found {}",
                crate::value::describe(&v)
            ))
        })
}

/// `follow_redirects`, also as a YAML boolean as older playbooks write it.
fn de_follow<'de, D: Deserializer<'de>>(d: D) -> Result<FollowRedirects, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(true) => Ok(FollowRedirects::All),
        Value::Bool(false) => Ok(FollowRedirects::Never),
        other => serde_json::from_value(other).map_err(serde::de::Error::custom),
    }
}

/// The `uri` module.
pub struct UriModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![Arc::new(UriModule {
        spec: ModuleSpec::native::<UriParams>("uri").with_examples(
            "- uri:\n    url: \"http://{{ keystone_host }}:5000/v3\"\n    status_code: [200, 300]\n  register: ks\n  until: ks.status in [200, 300]\n  retries: 30\n  delay: 2\n\n- uri:\n    url: http://127.0.0.1:8080/api\n    method: POST\n    body_format: json\n    body: {name: demo}\n    status_code: 201",
        ),
    })]
}

impl Module for UriModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: UriParams = parse_params(args)?;
        let method = Method::from_bytes(p.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| ModuleError::Params(format!("invalid HTTP method '{}'", p.method)))?;
        let url = reqwest::Url::parse(&p.url)
            .map_err(|e| ModuleError::Params(format!("invalid url '{}': {e}", p.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ModuleError::Params(format!(
                "unsupported url scheme '{}': use http or https",
                url.scheme()
            )));
        }
        if !p.timeout.is_finite() || p.timeout <= 0.0 {
            return Err(ModuleError::Params(
                "`timeout` must be more than 0 seconds".into(),
            ));
        }
        let body = encode_body(p.body.as_ref(), p.body_format)?;
        Ok(Box::new(UriAction {
            p,
            method,
            url,
            body,
        }))
    }
}

/// A serialized body and the Content-Type that goes with its format.
struct Body {
    bytes: Vec<u8>,
    content_type: Option<&'static str>,
}

fn encode_body(body: Option<&Value>, format: BodyFormat) -> Result<Option<Body>, ModuleError> {
    let Some(body) = body.filter(|b| !b.is_null()) else {
        return Ok(None);
    };
    let text = |v: &Value| crate::value::scalar_to_string(v).unwrap_or_else(|| v.to_string());
    let (bytes, content_type) = match (format, body) {
        (BodyFormat::Raw, b) => (text(b).into_bytes(), None),
        (BodyFormat::Json, Value::String(s)) => (s.clone().into_bytes(), Some("application/json")),
        (BodyFormat::Json, b) => (b.to_string().into_bytes(), Some("application/json")),
        (BodyFormat::FormUrlencoded, Value::String(s)) => (
            s.clone().into_bytes(),
            Some("application/x-www-form-urlencoded"),
        ),
        (BodyFormat::FormUrlencoded, b) => (
            form_encode(b)?.into_bytes(),
            Some("application/x-www-form-urlencoded"),
        ),
    };
    Ok(Some(Body {
        bytes,
        content_type,
    }))
}

/// A mapping, or a list of `[name, value]` pairs, as `a=1&b=x+y`.
fn form_encode(body: &Value) -> Result<String, ModuleError> {
    let pairs: Vec<(String, &Value)> = match body {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i.as_array().map(Vec::as_slice) {
                Some([k, v]) => Ok((crate::value::scalar_to_string(k).unwrap_or_default(), v)),
                _ => Err(ModuleError::Params(
                    "form-urlencoded body items must be [name, value] pairs".into(),
                )),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(ModuleError::Params(format!(
                "a form-urlencoded body must be a mapping or a string, found {}",
                crate::value::type_name(other)
            )));
        }
    };
    let enc =
        |v: &Value| urlencode(&crate::value::scalar_to_string(v).unwrap_or_else(|| v.to_string()));
    Ok(pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&"))
}

/// application/x-www-form-urlencoded escaping, as Python's `urlencode`.
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

struct UriAction {
    p: UriParams,
    method: Method,
    url: reqwest::Url,
    body: Option<Body>,
}

#[async_trait]
impl Action for UriAction {
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        if matches!(self.method, Method::GET | Method::HEAD) {
            return Ok(Query::Unchanged(self.send(ctx).await?));
        }
        Ok(Query::Change(
            Change::new()
                .with_msg(format!("would send {} to {}", self.method, self.p.url))
                .with("url", self.p.url.clone())
                .with("method", self.method.as_str()),
            self,
        ))
    }
}

#[async_trait]
impl Apply for UriAction {
    async fn apply(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        self.send(ctx).await
    }
}

impl UriAction {
    fn follows_redirects(&self) -> bool {
        match self.p.follow_redirects {
            FollowRedirects::All | FollowRedirects::Yes => true,
            FollowRedirects::Never | FollowRedirects::No => false,
            FollowRedirects::Safe | FollowRedirects::Urllib2 => {
                matches!(self.method, Method::GET | Method::HEAD)
            }
        }
    }

    /// The run's shared client when its defaults fit (it follows
    /// redirects and checks certificates); a client of our own otherwise.
    fn client(&self, ctx: &ModuleCtx<'_>) -> Result<reqwest::Client, ModuleError> {
        let follow = self.follows_redirects();
        if follow && self.p.validate_certs {
            return Ok(ctx.services.http.clone());
        }
        let policy = if follow {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        };
        reqwest::Client::builder()
            .redirect(policy)
            .danger_accept_invalid_certs(!self.p.validate_certs)
            .build()
            .map_err(|e| {
                ModuleError::failed(format!("cannot build the HTTP client: {}", error_chain(&e)))
            })
    }

    async fn request(
        &self,
        client: &reqwest::Client,
        with_auth: bool,
    ) -> Result<Response, reqwest::Error> {
        let mut req = client
            .request(self.method.clone(), self.url.clone())
            .timeout(Duration::from_secs_f64(self.p.timeout));
        let mut has_content_type = false;
        for (name, value) in &self.p.headers {
            has_content_type |= name.eq_ignore_ascii_case("content-type");
            let value = crate::value::scalar_to_string(value).unwrap_or_else(|| value.to_string());
            req = req.header(name.as_str(), value);
        }
        if let Some(body) = &self.body {
            if let (Some(ct), false) = (body.content_type, has_content_type) {
                req = req.header(reqwest::header::CONTENT_TYPE, ct);
            }
            req = req.body(body.bytes.clone());
        }
        if let (true, Some(user)) = (with_auth, &self.p.url_username) {
            req = req.basic_auth(user, self.p.url_password.as_ref().map(Secret::expose));
        }
        req.send().await
    }

    async fn send(&self, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let client = self.client(ctx)?;
        let started = Instant::now();
        let has_user = self.p.url_username.is_some();
        let mut sent = self
            .request(&client, has_user && self.p.force_basic_auth)
            .await;
        // Like urllib's basic auth handler: credentials go out only once
        // the server asks for them, unless `force_basic_auth`.
        if has_user && !self.p.force_basic_auth {
            if let Ok(resp) = &sent {
                if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
                    sent = self.request(&client, true).await;
                }
            }
        }
        let result = match sent {
            Ok(resp) => self.read_response(resp).await,
            Err(e) => Err(e),
        };
        let elapsed = started.elapsed().as_secs();
        let mut out = match result {
            Ok(out) => out,
            Err(e) => self.request_failed(&e),
        };
        out.data.insert("elapsed".into(), elapsed.into());
        Ok(out)
    }

    /// A request that got no answer, reported as Ansible does (status -1).
    fn request_failed(&self, e: &reqwest::Error) -> Outcome {
        let reason = if e.is_timeout() {
            format!("timed out after {} seconds", self.p.timeout)
        } else {
            error_chain(e)
        };
        let mut out = Outcome::ok()
            .with_msg(format!(
                "Status code was -1 and not {}: Request failed: {reason}",
                self.expected()
            ))
            .with("status", -1)
            .with("url", self.p.url.clone());
        out.failed = true;
        out
    }

    /// `[200, 201]`, as Ansible prints the expected statuses.
    fn expected(&self) -> String {
        let codes: Vec<String> = self.p.status_code.iter().map(i64::to_string).collect();
        format!("[{}]", codes.join(", "))
    }

    async fn read_response(&self, resp: Response) -> Result<Outcome, reqwest::Error> {
        let status = resp.status();
        let final_url = resp.url().to_string();
        let mut out = Outcome::ok();
        out.data = header_fields(resp.headers());
        let header = |name: &str| out.data.get(name).and_then(Value::as_str).map(String::from);
        let length = header("content_length").unwrap_or_else(|| "unknown".into());
        let is_json = header("content_type").is_some_and(|ct| ct.contains("json"));
        let bytes = resp.bytes().await?;
        if is_json {
            if let Ok(js) = serde_json::from_slice::<Value>(&bytes) {
                out.data.insert("json".into(), js);
            }
        }
        let code = status.as_u16();
        let msg = if status.is_success() {
            format!("OK ({length} bytes)")
        } else {
            let reason = status.canonical_reason().unwrap_or("Unknown");
            format!("HTTP Error {code}: {reason}")
        };
        let expected = self.p.status_code.contains(&i64::from(code));
        out.data.insert("status".into(), code.into());
        out.data
            .insert("redirected".into(), (final_url != self.url.as_str()).into());
        out.data.insert("url".into(), final_url.into());
        if self.p.return_content || !expected {
            let content = String::from_utf8_lossy(&bytes).into_owned();
            out.data.insert("content".into(), content.into());
        }
        out.failed = !expected;
        out.msg = Some(match expected {
            true => msg,
            false => format!("Status code was {code} and not {}: {msg}", self.expected()),
        });
        Ok(out)
    }
}

/// Response headers as result fields: `Content-Type` becomes
/// `content_type`, as Ansible names them; repeated headers are joined.
fn header_fields(headers: &reqwest::header::HeaderMap) -> Map<String, Value> {
    let mut fields = Map::new();
    for (name, value) in headers {
        let key = name.as_str().to_ascii_lowercase().replace('-', "_");
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let joined = match fields.get(&key).and_then(Value::as_str) {
            Some(prev) => format!("{prev}, {value}"),
            None => value,
        };
        fields.insert(key, joined.into());
    }
    fields
}

/// An error and its causes, e.g. "error sending request ...: tcp connect
/// error: Connection refused (os error 111)".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::urlencode;
    use crate::modules::ParamKind;
    use crate::modules::testing::TestHost;
    use serde_json::json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A real HTTP/1.1 server on loopback answering fixed responses by path.
    async fn serve() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            loop {
                let (sock, _) = listener.accept().await.unwrap();
                tokio::spawn(answer(sock));
            }
        });
        base
    }

    async fn read_request(sock: &mut TcpStream) -> String {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if n == 0 || buf.len() >= end + 4 + len {
                    return text;
                }
            }
            if n == 0 {
                return text;
            }
        }
    }

    async fn answer(mut sock: TcpStream) {
        let req = read_request(&mut sock).await;
        let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
        let authorized = req
            .to_ascii_lowercase()
            .contains("authorization: basic dxnlcjpwyxnz");
        let (status, headers, body) = match path.as_str() {
            "/json" => (
                "200 OK",
                "Content-Type: application/json\r\nX-Subject-Token: abc\r\n",
                r#"{"version": {"id": "v3"}}"#.to_string(),
            ),
            "/missing" => (
                "404 Not Found",
                "Content-Type: text/plain\r\n",
                "no such thing".to_string(),
            ),
            "/echo" => ("200 OK", "Content-Type: text/plain\r\n", req.clone()),
            "/auth" if authorized => ("200 OK", "", "welcome".to_string()),
            "/auth" => (
                "401 Unauthorized",
                "WWW-Authenticate: Basic realm=\"t\"\r\n",
                String::new(),
            ),
            "/redirect" => ("302 Found", "Location: /json\r\n", String::new()),
            "/slow" => {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                ("200 OK", "", String::new())
            }
            _ => ("201 Created", "", "made".to_string()),
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = sock.write_all(resp.as_bytes()).await;
        let _ = sock.shutdown().await;
    }

    #[tokio::test]
    async fn get_parses_json_and_headers() {
        let base = serve().await;
        let h = TestHost::new();
        let out = h
            .run("uri", json!({"url": format!("{base}/json")}))
            .await
            .unwrap();
        assert!(!out.failed && !out.changed, "{out:?}");
        assert_eq!(out.data["status"], json!(200));
        assert_eq!(out.data["json"], json!({"version": {"id": "v3"}}));
        assert_eq!(out.data["content_type"], json!("application/json"));
        assert_eq!(out.data["x_subject_token"], json!("abc"));
        assert_eq!(out.data["redirected"], json!(false));
        assert_eq!(out.msg.as_deref(), Some("OK (25 bytes)"));
        assert!(!out.data.contains_key("content"));
        let out = h
            .run(
                "uri",
                json!({"url": format!("{base}/json"), "return_content": true}),
            )
            .await
            .unwrap();
        assert_eq!(out.data["content"], json!(r#"{"version": {"id": "v3"}}"#));
    }

    #[tokio::test]
    async fn unexpected_status_fails_with_content() {
        let base = serve().await;
        let h = TestHost::new();
        let url = format!("{base}/missing");
        let out = h.run("uri", json!({"url": url})).await.unwrap();
        assert!(out.failed);
        assert_eq!(
            out.msg.as_deref(),
            Some("Status code was 404 and not [200]: HTTP Error 404: Not Found")
        );
        assert_eq!(out.data["status"], json!(404));
        assert_eq!(out.data["content"], json!("no such thing"));
        let out = h
            .run("uri", json!({"url": url, "status_code": "200, 404"}))
            .await
            .unwrap();
        assert!(!out.failed);
        let out = h
            .run(
                "uri",
                json!({"url": format!("{base}/new"), "method": "put", "status_code": [200, 204]}),
            )
            .await
            .unwrap();
        assert_eq!(
            out.msg.as_deref(),
            Some("Status code was 201 and not [200, 204]: OK (4 bytes)")
        );
    }

    #[tokio::test]
    async fn sends_json_and_form_bodies_with_headers() {
        let base = serve().await;
        let h = TestHost::new();
        let args = json!({"url": format!("{base}/echo"), "method": "POST", "body_format": "json",
            "body": {"name": "demo"}, "headers": {"X-Trace": 7}, "return_content": true});
        let out = h.run("uri", args).await.unwrap();
        let seen = out.data["content"].as_str().unwrap().to_ascii_lowercase();
        assert!(seen.starts_with("post /echo http/1.1"), "{seen}");
        assert!(
            seen.contains("content-type: application/json") && seen.contains("x-trace: 7"),
            "{seen}"
        );
        assert!(seen.ends_with(r#"{"name":"demo"}"#), "{seen}");
        let args = json!({"url": format!("{base}/echo"), "method": "POST", "body_format": "form-urlencoded",
            "body": {"a": 1, "b": "x y&z"}, "return_content": true});
        let out = h.run("uri", args).await.unwrap();
        let seen = out.data["content"].as_str().unwrap();
        assert!(
            seen.contains("content-type: application/x-www-form-urlencoded"),
            "{seen}"
        );
        assert!(seen.ends_with("a=1&b=x+y%26z"), "{seen}");
        assert_eq!(urlencode("é/"), "%C3%A9%2F");
    }

    #[tokio::test]
    async fn check_mode_sends_only_reads() {
        let base = serve().await;
        let mut h = TestHost::new();
        h.check = true;
        let out = h
            .run("uri", json!({"url": format!("{base}/json")}))
            .await
            .unwrap();
        assert_eq!(out.data["status"], json!(200));
        assert!(!out.changed);
        let out = h
            .run(
                "uri",
                json!({"url": format!("{base}/echo"), "method": "DELETE"}),
            )
            .await
            .unwrap();
        assert!(out.changed && !out.data.contains_key("status"));
        assert_eq!(out.msg, Some(format!("would send DELETE to {base}/echo")));
    }

    #[tokio::test]
    async fn basic_auth_after_challenge_or_forced() {
        let base = serve().await;
        let h = TestHost::new();
        let out = h
            .run("uri", json!({"url": format!("{base}/auth"), "url_username": "user", "url_password": "pass"}))
            .await
            .unwrap();
        assert_eq!(out.data["status"], json!(200), "{out:?}");
        let out = h
            .run("uri", json!({"url": format!("{base}/auth")}))
            .await
            .unwrap();
        assert_eq!(out.data["status"], json!(401));
        let args = json!({"url": format!("{base}/echo"), "user": "user", "password": "pass",
            "force_basic_auth": true, "return_content": true});
        let out = h.run("uri", args).await.unwrap();
        assert!(
            out.data["content"]
                .as_str()
                .unwrap()
                .contains("authorization: Basic dXNlcjpwYXNz")
        );
    }

    #[tokio::test]
    async fn redirects_are_followed_safely() {
        let base = serve().await;
        let h = TestHost::new();
        let out = h
            .run("uri", json!({"url": format!("{base}/redirect")}))
            .await
            .unwrap();
        assert_eq!(out.data["url"], json!(format!("{base}/json")));
        assert_eq!(out.data["redirected"], json!(true));
        let out = h
            .run(
                "uri",
                json!({"url": format!("{base}/redirect"), "method": "POST"}),
            )
            .await
            .unwrap();
        assert_eq!(
            out.msg.as_deref(),
            Some("Status code was 302 and not [200]: HTTP Error 302: Found")
        );
        let out = h
            .run(
                "uri",
                json!({"url": format!("{base}/redirect"), "follow_redirects": "none"}),
            )
            .await
            .unwrap();
        assert_eq!(out.data["status"], json!(302));
    }

    #[tokio::test]
    async fn unreachable_and_slow_servers_fail_with_status_minus_one() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let h = TestHost::new();
        let out = h
            .run("uri", json!({"url": format!("http://127.0.0.1:{port}/")}))
            .await
            .unwrap();
        assert!(out.failed);
        assert_eq!(out.data["status"], json!(-1));
        let msg = out.msg.unwrap();
        assert!(
            msg.starts_with(
                "Status code was -1 and not [200]: Request failed: error sending request"
            ),
            "{msg}"
        );
        assert!(msg.contains("Connection refused"), "{msg}");
        let base = serve().await;
        let out = h
            .run(
                "uri",
                json!({"url": format!("{base}/slow"), "timeout": 0.3}),
            )
            .await
            .unwrap();
        assert_eq!(
            out.msg.as_deref(),
            Some("Status code was -1 and not [200]: Request failed: timed out after 0.3 seconds")
        );
    }

    #[test]
    fn spec_marks_the_password_secret() {
        let h = TestHost::new();
        let spec = h.services.registry.get("uri").unwrap().spec();
        assert!(spec.param("password").unwrap().secret);
        assert_eq!(spec.param("status_code").unwrap().kind, ParamKind::List);
        let follow = &spec.param("follow_redirects").unwrap().choices;
        assert!(follow.contains(&"none".to_string()) && follow.contains(&"safe".to_string()));
        assert_eq!(
            spec.param("body_format").unwrap().choices,
            ["raw", "json", "form-urlencoded"]
        );
    }

    #[tokio::test]
    async fn bad_parameters_are_refused() {
        let h = TestHost::new();
        let err = h.run("uri", json!({"url": "ftp://x/"})).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid parameters: unsupported url scheme 'ftp': use http or https"
        );
        let err = h
            .run("uri", json!({"url": "http://x/", "status_code": "ok"}))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a status code or a list of them, found 'ok'"),
            "{err}"
        );
    }
}
