//! One Keystone session: a set of credentials, its token (requested once,
//! shared by every task and host, renewed before it expires or after a
//! 401) and the service catalog that came with the token.
//!
//! The token lives behind an async mutex, so tasks that need it at the same
//! time wait for the one request in flight instead of each sending theirs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::Mutex;

use super::OpenStackError;
use super::credentials::Credentials;
use super::rest::{self, REQUEST_TIMEOUT};
use crate::secret::{Redactor, Secret};

/// Renew a token this many seconds before Keystone says it expires.
const RENEW_MARGIN: i64 = 300;

/// A token and what Keystone said about it.
#[derive(Debug)]
pub struct Token {
    /// The `X-Subject-Token`, sent as `X-Auth-Token`; also known to the
    /// run's redactor.
    pub value: Secret,
    /// Seconds since the epoch, if Keystone gave `expires_at`.
    pub expires_at: Option<i64>,
    /// The token's service catalog as Keystone sent it (the entries of
    /// `token.catalog`), searched by [`find_endpoint`].
    pub catalog: Vec<Value>,
    /// The authenticated user's id, which a name-only `auth` lacks.
    pub user_id: Option<String>,
    /// The project of a project-scoped token.
    pub project_id: Option<String>,
    /// The domain of a domain-scoped token.
    pub domain_id: Option<String>,
}

impl Token {
    fn fresh(&self) -> bool {
        self.expires_at
            .is_none_or(|t| t - rest::now_epoch() > RENEW_MARGIN)
    }
}

/// Where a request goes: a service type, an interface and a region.
#[derive(Debug, Clone)]
pub struct Target {
    /// The catalog's `type`: `identity`, `image`, `compute` ...
    pub service_type: String,
    /// `public`, `internal` or `admin`, already normalized.
    pub interface: String,
    /// `None` takes the first endpoint of any region.
    pub region: Option<String>,
}

/// An answer: the status and the JSON body (`null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    /// Kept for the error [`Reply::ok`] makes.
    pub method: Method,
    /// The full URL that was asked, endpoint included.
    pub url: String,
    /// Any status: a 404 is an answer here, not an error.
    pub status: u16,
    /// The body as JSON; `null` when it is empty or not JSON.
    pub json: Value,
    /// The body as text when it was not JSON (Glance's HTML errors).
    pub text: String,
}

impl Reply {
    /// A 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The reply itself if it is a success, else the error with
    /// OpenStack's own message.
    pub fn ok(self) -> Result<Reply, OpenStackError> {
        if self.is_success() {
            return Ok(self);
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = if self.json.is_null() {
            self.text.clone()
        } else {
            self.json.to_string()
        };
        Err(OpenStackError::Http {
            method: self.method.to_string(),
            url: self.url,
            status: self.status,
            message: rest::error_message(status, &body),
        })
    }
}

/// One set of credentials and its token.
pub struct KeystoneSession {
    creds: Credentials,
    http: reqwest::Client,
    redactor: Redactor,
    token: Mutex<Option<Arc<Token>>>,
    token_requests: AtomicU64,
}

impl KeystoneSession {
    /// Tells `redactor` the password at once; no token is requested until
    /// the first call that needs one.
    pub fn new(creds: Credentials, http: reqwest::Client, redactor: Redactor) -> Self {
        redactor.add(creds.password.expose());
        KeystoneSession {
            creds,
            http,
            redactor,
            token: Mutex::new(None),
            token_requests: AtomicU64::new(0),
        }
    }

    /// The credentials the session was made for.
    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    /// The run's HTTP client, shared by every session (and its connection
    /// pool with it).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// How many tokens this session has requested.
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// The current token, requesting one if there is none or it is about
    /// to expire. Concurrent callers share one request.
    pub async fn token(&self) -> Result<Arc<Token>, OpenStackError> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| t.fresh()) {
            return Ok(t.clone());
        }
        let t = Arc::new(self.authenticate().await?);
        self.redactor.add(t.value.expose());
        *slot = Some(t.clone());
        Ok(t)
    }

    /// Forgets `used` (after a 401), unless another task already replaced it.
    async fn invalidate(&self, used: &Arc<Token>) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|t| Arc::ptr_eq(t, used)) {
            *slot = None;
        }
    }

    async fn authenticate(&self) -> Result<Token, OpenStackError> {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}/auth/tokens", self.creds.auth_url);
        let body = self.creds.token_request_body();
        let resp = rest::send_with_retry(&Method::POST, &url, &|| {
            self.http.post(&url).json(&body).timeout(REQUEST_TIMEOUT)
        })
        .await
        .map_err(|e| match e {
            OpenStackError::Unreachable {
                url,
                reason,
                waited,
                ..
            } => OpenStackError::KeystoneUnreachable {
                url,
                reason,
                waited,
            },
            other => other,
        })?;
        let status = resp.status();
        let header = resp
            .headers()
            .get("X-Subject-Token")
            .and_then(|h| h.to_str().ok())
            .map(String::from);
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(OpenStackError::Auth {
                user: self.creds.user_label().to_string(),
                url,
                status: status.as_u16(),
                message: rest::error_message(status, &text),
            });
        }
        let Some(value) = header else {
            return Err(OpenStackError::Auth {
                user: self.creds.user_label().to_string(),
                url,
                status: status.as_u16(),
                message: "Keystone sent no X-Subject-Token header".into(),
            });
        };
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let tok = &json["token"];
        let text_at = |p: &str| tok.pointer(p).and_then(Value::as_str).map(String::from);
        Ok(Token {
            value: Secret::new(value),
            expires_at: tok
                .get("expires_at")
                .and_then(Value::as_str)
                .and_then(rest::parse_timestamp),
            catalog: tok
                .get("catalog")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            user_id: text_at("/user/id"),
            project_id: text_at("/project/id"),
            domain_id: text_at("/domain/id"),
        })
    }

    /// The URL of a service from the token's catalog. Identity falls back
    /// to `auth_url` when the catalog has no such endpoint.
    pub async fn endpoint(&self, target: &Target) -> Result<String, OpenStackError> {
        let token = self.token().await?;
        if let Some(url) = find_endpoint(&token.catalog, target) {
            return Ok(url);
        }
        // The catalog is the one of the token's time: an endpoint created
        // later in the run (glance.yml, then cirros.yml) needs a new token.
        self.invalidate(&token).await;
        let token = self.token().await?;
        if let Some(url) = find_endpoint(&token.catalog, target) {
            return Ok(url);
        }
        if target.service_type == "identity" {
            return Ok(self.creds.auth_url.clone());
        }
        Err(OpenStackError::NoEndpoint {
            service_type: target.service_type.clone(),
            interface: target.interface.clone(),
            region: target.region.clone(),
        })
    }

    /// Sends a JSON request to a service, with the token. A 401 gets one
    /// retry with a fresh token; unreachable services and 502/503/504 are
    /// retried with backoff. Any status is returned (see [`Reply::ok`]).
    pub async fn request(
        &self,
        target: &Target,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, OpenStackError> {
        let url = rest::join_url(&self.endpoint(target).await?, path);
        let mut retried = false;
        loop {
            let token = self.token().await?;
            let build = || {
                let mut req = self
                    .http
                    .request(method.clone(), &url)
                    .header("X-Auth-Token", token.value.expose())
                    .header("Accept", "application/json")
                    .timeout(REQUEST_TIMEOUT);
                if let Some(b) = body {
                    let typed = headers
                        .iter()
                        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
                    if !typed {
                        req = req.header("Content-Type", "application/json");
                    }
                    req = req.body(b.to_string());
                }
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req
            };
            let resp = rest::send_with_retry(&method, &url, &build).await?;
            if resp.status() == StatusCode::UNAUTHORIZED && !retried {
                retried = true;
                self.invalidate(&token).await;
                continue;
            }
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let json = serde_json::from_str(&text).unwrap_or(Value::Null);
            return Ok(Reply {
                method,
                url,
                status,
                json,
                text,
            });
        }
    }

    /// Sends a body that can be read only once (a streamed upload): no
    /// retries, but the token is renewed first if it is about to expire.
    pub async fn send_once(
        &self,
        method: Method,
        url: &str,
        body: reqwest::Body,
        content_type: &str,
    ) -> Result<Reply, OpenStackError> {
        let token = self.token().await?;
        let mut req = self
            .http
            .request(method.clone(), url)
            .header("X-Auth-Token", token.value.expose())
            .header("Content-Type", content_type)
            .body(body);
        if let Some(ua) = rest::user_agent() {
            req = req.header(reqwest::header::USER_AGENT, ua);
        }
        let resp = req.send().await.map_err(|e| OpenStackError::Unreachable {
            method: method.to_string(),
            url: url.to_string(),
            reason: rest::transport_reason(&e),
            waited: 0,
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Ok(Reply {
            method,
            url: url.to_string(),
            status,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        })
    }

    /// Whether `password` is right for a user: asks Keystone for an
    /// unscoped token as that user (the token is thrown away).
    pub async fn password_works(
        &self,
        user_id: &str,
        password: &Secret,
    ) -> Result<bool, OpenStackError> {
        let url = format!("{}/auth/tokens", self.creds.auth_url);
        let body = serde_json::json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"id": user_id, "password": password.expose()}}}}});
        let resp = rest::send_with_retry(&Method::POST, &url, &|| {
            self.http.post(&url).json(&body).timeout(REQUEST_TIMEOUT)
        })
        .await?;
        match resp.status().as_u16() {
            201 | 200 => Ok(true),
            401 => Ok(false),
            s => {
                let text = resp.text().await.unwrap_or_default();
                Err(OpenStackError::Http {
                    method: "POST".into(),
                    url,
                    status: s,
                    message: rest::error_message(
                        StatusCode::from_u16(s).unwrap_or_default(),
                        &text,
                    ),
                })
            }
        }
    }
}

/// Picks an endpoint from a catalog by type, interface and (if given) region.
pub fn find_endpoint(catalog: &[Value], target: &Target) -> Option<String> {
    catalog
        .iter()
        .filter(|s| s.get("type").and_then(Value::as_str) == Some(target.service_type.as_str()))
        .flat_map(|s| {
            s.get("endpoints")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .find(|e| {
            let field = |k: &str| e.get(k).and_then(Value::as_str);
            field("interface") == Some(target.interface.as_str())
                && target
                    .region
                    .as_deref()
                    .is_none_or(|r| field("region_id") == Some(r) || field("region") == Some(r))
        })
        .and_then(|e| e.get("url").and_then(Value::as_str))
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_endpoint_by_type_interface_region() {
        let catalog: Vec<Value> = serde_json::from_str(
            r#"[{"type": "image", "name": "glance", "endpoints": [
                {"interface": "public", "region_id": "R1", "region": "R1", "url": "http://pub1"},
                {"interface": "internal", "region_id": "R1", "region": "R1", "url": "http://int1"},
                {"interface": "public", "region_id": "R2", "region": "R2", "url": "http://pub2"}]}]"#,
        )
        .unwrap();
        let t = |i: &str, r: Option<&str>| Target {
            service_type: "image".into(),
            interface: i.into(),
            region: r.map(String::from),
        };
        assert_eq!(
            find_endpoint(&catalog, &t("public", Some("R2"))).as_deref(),
            Some("http://pub2")
        );
        assert_eq!(
            find_endpoint(&catalog, &t("internal", None)).as_deref(),
            Some("http://int1")
        );
        assert_eq!(find_endpoint(&catalog, &t("admin", None)), None);
    }
}
