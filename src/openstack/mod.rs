//! The Keystone session (authentication, token cache, service catalog) and
//! the REST plumbing that the OpenStack modules share. It is not a module
//! itself: the modules in `modules/openstack/` and the Rhai scripting layer
//! are its users.
//!
//! # The generic API
//!
//! ```text
//! let creds = Credentials::resolve(&CloudRequest { cloud: Some("mycloud".into()), ..Default::default() }, &env)?;
//! let (status, json) = services.openstack
//!     .request(&services.http, &services.redactor, &creds, "image", None, None,
//!              Method::GET, "/v2/images?name=cirros", None)
//!     .await?;
//! ```
//!
//! [`Sessions::request`] sends one JSON request to a service found by type
//! (`identity`, `image`, `placement`, `compute` ...) in the token's catalog,
//! with the run's single token for those credentials. `interface` defaults
//! to the credentials' one (`public` unless configured), `region` to theirs.
//! The path may or may not repeat the endpoint's version (`/v3/users` and
//! `/users` both work against `http://k:5000/v3`). Any HTTP status is
//! returned with the JSON body (`null` when the body is not JSON); only
//! transport failures and authentication failures are errors. For more
//! control, [`Sessions::session`] hands out the shared [`KeystoneSession`].
//!
//! Tokens: one per set of credentials for the whole run, requested on first
//! use (concurrent first uses wait for one request), renewed five minutes
//! before `expires_at` or after a 401 (the request is then retried once).
//! Connection failures, timeouts and 502/503/504 are retried with
//! exponential backoff for up to 60 s (`OPLAY_OPENSTACK_RETRY_SECONDS`
//! changes that). `OPLAY_USER_AGENT` sets the User-Agent of every request.
//! Errors name the method, the URL, the status and OpenStack's own message,
//! never a token or a password; both are also given to the run's redactor.

pub mod credentials;
pub mod rest;
pub mod session;
pub mod stream;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::Value;

pub use credentials::{AuthParams, CloudRequest, Credentials, Scope};
pub use session::{KeystoneSession, Reply, Target, Token};

use crate::secret::Redactor;

/// Why an OpenStack call failed. None of the messages holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum OpenStackError {
    /// No usable credentials, or a bad `clouds.yaml`.
    #[error("{0}")]
    Credentials(String),
    /// Keystone refused the credentials.
    #[error("authentication failed for user {user} at {url}: {status} {message}")]
    Auth {
        /// The user name (or id) that tried; never the password.
        user: String,
        /// The token URL: `auth_url` + `/auth/tokens`.
        url: String,
        /// Keystone's HTTP status (401, 403 ...).
        status: u16,
        /// Keystone's own explanation.
        message: String,
    },
    /// Keystone could not be reached at all.
    #[error(
        "could not reach Keystone at {url}: {reason} (retried for {waited} s); check `auth_url` and that Keystone is running"
    )]
    KeystoneUnreachable {
        /// The token URL.
        url: String,
        /// The innermost transport error ("Connection refused").
        reason: String,
        /// Seconds spent retrying before giving up.
        waited: u64,
    },
    /// A service could not be reached.
    #[error("{method} {url}: {reason} (retried for {waited} s)")]
    Unreachable {
        /// The HTTP method.
        method: String,
        /// The full URL, endpoint included.
        url: String,
        /// The innermost transport error ("Connection refused").
        reason: String,
        /// Seconds spent retrying (0 for a body that can be sent once).
        waited: u64,
    },
    /// A service answered with an error.
    #[error("{method} {url} returned {status}: {message}")]
    Http {
        /// The HTTP method.
        method: String,
        /// The full URL, endpoint included.
        url: String,
        /// The HTTP status.
        status: u16,
        /// OpenStack's own message, dug out of its error body.
        message: String,
    },
    /// The token's catalog has no such endpoint.
    #[error("no {interface} endpoint for service type `{service_type}`{} in the catalog", region.as_ref().map(|r| format!(" in region {r}")).unwrap_or_default())]
    NoEndpoint {
        /// `image`, `compute` ...
        service_type: String,
        /// `public`, `internal` or `admin`.
        interface: String,
        /// The region asked for; `None` accepts any.
        region: Option<String>,
    },
}

/// Keystone sessions of the run, one per set of credentials, shared by
/// every task and host (the type is cheap to clone).
#[derive(Clone, Default)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Arc<KeystoneSession>>>>,
}

impl Sessions {
    /// The session for these credentials, made on first use.
    pub fn session(
        &self,
        http: &reqwest::Client,
        redactor: &Redactor,
        creds: &Credentials,
    ) -> Arc<KeystoneSession> {
        let key = creds.key();
        let mut map = match self.inner.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(key)
            .or_insert_with(|| {
                Arc::new(KeystoneSession::new(
                    creds.clone(),
                    http.clone(),
                    redactor.clone(),
                ))
            })
            .clone()
    }

    /// Tokens requested so far by all sessions (for tests and `-vvv`).
    pub fn token_requests(&self) -> u64 {
        match self.inner.lock() {
            Ok(m) => m.values().map(|s| s.token_requests()).sum(),
            Err(_) => 0,
        }
    }

    /// One JSON request to a service found in the catalog; see the module
    /// documentation. Returns the status and the JSON body.
    #[allow(clippy::too_many_arguments)]
    pub async fn request(
        &self,
        http: &reqwest::Client,
        redactor: &Redactor,
        creds: &Credentials,
        service_type: &str,
        interface: Option<&str>,
        region: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), OpenStackError> {
        let session = self.session(http, redactor, creds);
        let target = Target {
            service_type: service_type.to_string(),
            interface: interface
                .map(credentials::normalize_interface)
                .unwrap_or_else(|| creds.interface.clone()),
            region: region
                .map(String::from)
                .or_else(|| creds.region_name.clone()),
        };
        let reply = session.request(&target, method, path, body, &[]).await?;
        Ok((reply.status, reply.json))
    }
}
