//! What every OpenStack module shares: the `auth`/`cloud`/`region_name`
//! parameters (added to each `Params` struct by [`os_params!`]), the
//! connection to the run's Keystone session, typed REST calls that fail
//! with OpenStack's own message, Keystone name-or-id lookups, and diffs.
//!
//! The modules' logic (what to create or change) stays in their own files.

use std::sync::Arc;

use reqwest::Method;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::modules::{Diff, ModuleCtx, ModuleError};
use crate::openstack::rest::encode;
use crate::openstack::{CloudRequest, Credentials, KeystoneSession, OpenStackError, Reply, Target};

/// Adds the connection parameters every OpenStack module takes to a
/// `Params` struct (serde's `flatten` does not mix with
/// `deny_unknown_fields`, hence a macro), and derives what a `Params`
/// struct needs.
macro_rules! os_params {
    ($(#[$m:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        $(#[$m])*
        #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($fields)*
            /// Credentials for password authentication: `auth_url`, `username`,
            /// `password`, `project_name`, `project_domain_name`,
            /// `user_domain_name` (both default to `Default`), or `domain_name`
            /// or `system_scope: all` instead of a project. When given, `cloud`
            /// and the `OS_*` environment are not read.
            #[serde(default)]
            pub auth: Option<crate::openstack::AuthParams>,
            /// A cloud in `clouds.yaml` (`$OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`,
            /// `~/.config/openstack/clouds.yaml`, `/etc/openstack/clouds.yaml`;
            /// the first file found). Defaults to `$OS_CLOUD`; without both, the
            /// `OS_*` variables are used.
            #[serde(default)]
            pub cloud: Option<String>,
            /// The region whose endpoints are used (default: the cloud's, or any).
            #[serde(default)]
            pub region_name: Option<String>,
        }
    };
}
pub(crate) use os_params;

/// Adds what every simple Keystone object takes (`description`, `state`,
/// `interface`, and `enabled` with `with enabled`) to a `Params` struct,
/// on top of [`os_params!`]'s connection parameters.
macro_rules! keystone_params {
    ($(#[$m:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        $crate::modules::openstack::common::keystone_params!(@emit [$(#[$m])*] $name [$($fields)*]);
    };
    ($(#[$m:meta])* pub struct $name:ident with enabled { $($fields:tt)* }) => {
        $crate::modules::openstack::common::keystone_params!(@emit [$(#[$m])*] $name [
            $($fields)*
            /// Whether it is enabled (default yes on creation; an existing
            /// object is left alone unless given).
            #[serde(default, deserialize_with = "crate::value::de_opt_bool")]
            #[schemars(extend("x-aliases" = ["is_enabled"]))]
            enabled: Option<bool>,
        ]);
    };
    (@emit [$($m:tt)*] $name:ident [$($fields:tt)*]) => {
        $crate::modules::openstack::common::os_params! {
            $($m)*
            pub struct $name {
                $($fields)*
                /// A description.
                #[serde(default)]
                description: Option<String>,
                /// `present` or `absent`.
                #[serde(default)]
                state: $crate::modules::openstack::common::State,
                /// The catalog interface to reach Keystone through (default `public`).
                #[serde(default)]
                interface: Option<$crate::modules::openstack::common::Interface>,
            }
        }

        impl $crate::modules::openstack::common::Basics for $name {
            fn state(&self) -> $crate::modules::openstack::common::State {
                self.state
            }

            fn cloud(&self) -> $crate::openstack::CloudRequest {
                $crate::modules::openstack::common::cloud_request(
                    &self.auth,
                    &self.cloud,
                    &self.region_name,
                    self.interface,
                )
            }
        }
    };
}
pub(crate) use keystone_params;

/// What every simple Keystone module's parameters have in common, given by
/// [`keystone_params!`] itself.
pub trait Basics {
    /// `present` or `absent`.
    fn state(&self) -> State;
    /// The cloud, region and interface to talk to.
    fn cloud(&self) -> crate::openstack::CloudRequest;
}

/// The catalog interface to talk to services through.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    /// The public endpoints.
    Public,
    /// The internal endpoints.
    Internal,
    /// The admin endpoints.
    Admin,
}

impl Interface {
    /// The name Keystone's catalog uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }
}

/// `state: present | absent`.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The object exists (created or updated as needed).
    #[default]
    Present,
    /// The object does not exist (deleted if it did).
    Absent,
}

impl From<OpenStackError> for ModuleError {
    fn from(e: OpenStackError) -> Self {
        ModuleError::Failed(e.to_string())
    }
}

/// The connection parameters of a task.
pub fn cloud_request(
    auth: &Option<crate::openstack::AuthParams>,
    cloud: &Option<String>,
    region_name: &Option<String>,
    interface: Option<Interface>,
) -> CloudRequest {
    CloudRequest {
        auth: auth.clone(),
        cloud: cloud.clone(),
        region_name: region_name.clone(),
        interface: interface.map(|i| i.as_str().to_string()),
    }
}

/// A task's handle on OpenStack: the shared session plus where to send.
pub struct Api {
    /// The run's session for these credentials.
    pub session: Arc<KeystoneSession>,
    /// The catalog interface to use.
    pub interface: String,
    /// The region whose endpoints are used (`None`: any).
    pub region: Option<String>,
}

/// Resolves the task's credentials (the task's `environment` is searched
/// before the process environment) and authenticates, so that bad
/// credentials fail before anything else is asked.
pub async fn connect(ctx: &ModuleCtx<'_>, req: CloudRequest) -> Result<Api, ModuleError> {
    let env = |k: &str| {
        ctx.env
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(k).ok())
    };
    let creds = Credentials::resolve(&req, &env)?;
    let session =
        ctx.services
            .openstack
            .session(&ctx.services.http, &ctx.services.redactor, &creds);
    session.token().await?;
    Ok(Api {
        interface: creds.interface.clone(),
        region: creds.region_name.clone(),
        session,
    })
}

impl Api {
    /// Where to send requests for a service type.
    pub fn target(&self, service_type: &str) -> Target {
        Target {
            service_type: service_type.to_string(),
            interface: self.interface.clone(),
            region: self.region.clone(),
        }
    }

    /// Any answer, success or not.
    pub async fn call(
        &self,
        service: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, ModuleError> {
        Ok(self
            .session
            .request(&self.target(service), method, path, body, &[])
            .await?)
    }

    /// Any answer, with extra headers (a JSON-patch content type, say).
    pub async fn call_with(
        &self,
        service: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, ModuleError> {
        Ok(self
            .session
            .request(&self.target(service), method, path, body, headers)
            .await?)
    }

    /// A successful answer's JSON, or the error.
    pub async fn send(
        &self,
        service: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ModuleError> {
        Ok(self.call(service, method, path, body).await?.ok()?.json)
    }

    /// `GET`; `None` on 404.
    pub async fn get_opt(&self, service: &str, path: &str) -> Result<Option<Value>, ModuleError> {
        let reply = self.call(service, Method::GET, path, None).await?;
        if reply.status == 404 {
            return Ok(None);
        }
        Ok(Some(reply.ok()?.json))
    }

    /// `GET /v3/{collection}?k=v...` and the list under `collection`.
    pub async fn identity_list(
        &self,
        collection: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<Value>, ModuleError> {
        let path = with_query(&format!("/v3/{collection}"), query);
        let json = self.send("identity", Method::GET, &path, None).await?;
        Ok(json
            .get(collection)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// A Keystone object by name (with filters such as `domain_id`) or by
    /// id. Several objects of that name is an error: the id must be given.
    pub async fn find(
        &self,
        collection: &str,
        singular: &str,
        name_or_id: &str,
        filters: &[(&str, &str)],
    ) -> Result<Option<Value>, ModuleError> {
        let mut query = vec![("name", name_or_id)];
        query.extend_from_slice(filters);
        let found = self.identity_list(collection, &query).await?;
        match found.len() {
            1 => return Ok(found.into_iter().next()),
            0 => {}
            n => {
                return Err(ModuleError::failed(format!(
                    "{n} {collection} are named `{name_or_id}`; give its id (or its domain) instead"
                )));
            }
        }
        let path = format!("/v3/{collection}/{}", encode(name_or_id));
        let by_id = self.get_opt("identity", &path).await?;
        Ok(by_id.and_then(|v| v.get(singular).cloned()))
    }

    /// Like [`Api::find`], but a missing object is an error naming it.
    pub async fn require(
        &self,
        collection: &str,
        singular: &str,
        name_or_id: &str,
        filters: &[(&str, &str)],
    ) -> Result<Value, ModuleError> {
        self.find(collection, singular, name_or_id, filters)
            .await?
            .ok_or_else(|| ModuleError::failed(format!("{singular} `{name_or_id}` not found")))
    }

    /// The id of a domain given by name or id.
    pub async fn domain_id(&self, name_or_id: &str) -> Result<String, ModuleError> {
        let d = self.require("domains", "domain", name_or_id, &[]).await?;
        Ok(id_of(&d))
    }

    /// The id of a domain given by name or id, if it exists.
    pub async fn domain_id_opt(&self, name_or_id: &str) -> Result<Option<String>, ModuleError> {
        let d = self.find("domains", "domain", name_or_id, &[]).await?;
        Ok(d.as_ref().map(id_of))
    }
}

/// Appends `?k=v&...` with the values encoded.
pub fn with_query(path: &str, query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    format!("{path}?{}", q.join("&"))
}

/// The `id` field of an object (empty when missing).
pub fn id_of(v: &Value) -> String {
    v.get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The fields of `wanted` whose value differs in `current`.
pub fn differences(current: &Value, wanted: &Map<String, Value>) -> Map<String, Value> {
    wanted
        .iter()
        .filter(|(k, v)| {
            let cur = current.get(k.as_str()).unwrap_or(&Value::Null);
            // Keystone leaves out empty descriptions; "" and absent are equal.
            !(cur == *v || (cur.is_null() && v.as_str() == Some("")))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The subset of `obj` with the keys of `fields`, for diffs.
pub fn pick(obj: &Value, fields: &Map<String, Value>) -> Value {
    Value::Object(
        fields
            .keys()
            .filter_map(|k| obj.get(k).map(|v| (k.clone(), v.clone())))
            .collect(),
    )
}

/// A diff of an object as JSON, from `before` (none: it does not exist)
/// to `after` (none: it is removed).
pub fn diff(header: String, before: Option<&Value>, after: Option<&Value>) -> Diff {
    let show = |v: Option<&Value>| {
        v.map(|v| serde_json::to_string_pretty(v).unwrap_or_default() + "\n")
            .unwrap_or_default()
    };
    Diff {
        header,
        before: show(before),
        after: show(after),
    }
}

/// Inserts `value` under `key` when it is given.
pub fn put<T: Into<Value>>(m: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        m.insert(key.to_string(), v.into());
    }
}
