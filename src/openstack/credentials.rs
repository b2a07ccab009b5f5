//! Which Keystone credentials a task uses, and where they come from.
//!
//! The order follows openstacksdk as the Ansible collection uses it: the
//! task's `auth:` mapping, else a named cloud (`cloud:` or `OS_CLOUD`) in
//! `clouds.yaml`, else the `OS_*` environment variables. This file only
//! resolves credentials; it sends nothing (that is `session.rs`).

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::OpenStackError;
use crate::secret::Secret;

/// The `auth:` mapping of a task (and of a cloud in `clouds.yaml`): password
/// authentication only.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthParams {
    /// Keystone's URL, e.g. `http://controller:5000/v3`.
    #[serde(default)]
    pub auth_url: Option<String>,
    /// The user by name; needs a user domain (`Default` if none given).
    #[serde(default)]
    pub username: Option<String>,
    /// The user by id, which needs no domain; wins over `username`.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Required; redacted from all output like every [`Secret`].
    #[serde(default)]
    pub password: Option<Secret>,
    /// A project scope, by name (with a project domain).
    #[serde(default)]
    pub project_name: Option<String>,
    /// A project scope, by id; wins over `project_name`.
    #[serde(default)]
    pub project_id: Option<String>,
    /// The domain of `project_name` (`Default` if no domain is given).
    #[serde(default)]
    pub project_domain_name: Option<String>,
    /// The domain of `project_name`, by id.
    #[serde(default)]
    pub project_domain_id: Option<String>,
    /// The domain of `username`.
    #[serde(default)]
    pub user_domain_name: Option<String>,
    /// The domain of `username`, by id.
    #[serde(default)]
    pub user_domain_id: Option<String>,
    /// A domain scope (instead of a project).
    #[serde(default)]
    pub domain_name: Option<String>,
    /// A domain scope, by id.
    #[serde(default)]
    pub domain_id: Option<String>,
    /// `all` for a system-scoped token.
    #[serde(default)]
    pub system_scope: Option<String>,
    /// Where endpoints are picked; the task's `region_name` wins.
    #[serde(default)]
    pub region_name: Option<String>,
}

const AUTH_KEYS: &[&str] = &[
    "auth_url",
    "username",
    "user_id",
    "password",
    "project_name",
    "project_id",
    "project_domain_name",
    "project_domain_id",
    "user_domain_name",
    "user_domain_id",
    "domain_name",
    "domain_id",
    "system_scope",
    "region_name",
];

/// What the token is scoped to; the first of project, domain and system
/// that the `auth` names wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Most API calls need this.
    Project {
        /// The project's name, used when there is no id.
        name: Option<String>,
        /// The project's id; with it, name and domain are not sent.
        id: Option<String>,
        /// The domain of `name`.
        domain_name: Option<String>,
        /// The domain of `name`, by id; wins over `domain_name`.
        domain_id: Option<String>,
    },
    /// For managing a domain's users and projects.
    Domain {
        /// The domain's name, used when there is no id.
        name: Option<String>,
        /// The domain's id.
        id: Option<String>,
    },
    /// For system-wide resources (services, endpoints, regions) under
    /// Keystone's system-scope policies.
    System,
    /// The `auth` names no scope: the token proves the password and
    /// can do little else.
    Unscoped,
}

/// One complete set of credentials; the token cache is keyed by it.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Keystone's URL without a trailing `/`.
    pub auth_url: String,
    /// The user by name; at least one of this and `user_id` is set.
    pub username: Option<String>,
    /// The user by id; sent instead of the name when set.
    pub user_id: Option<String>,
    /// Sent only in the token request.
    pub password: Secret,
    /// Already `Default` for a user named without a domain.
    pub user_domain_name: Option<String>,
    /// The user's domain, by id.
    pub user_domain_id: Option<String>,
    /// What the token will be scoped to.
    pub scope: Scope,
    /// The region endpoints are picked from (none: any region).
    pub region_name: Option<String>,
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// Where they came from, for messages ("auth", "cloud x", "OS_* environment").
    pub origin: String,
}

/// What a task says about its cloud; every field may be empty.
#[derive(Debug, Clone, Default)]
pub struct CloudRequest {
    /// The task's `auth:`; when given, `cloud` and `OS_*` are not read.
    pub auth: Option<AuthParams>,
    /// A cloud of `clouds.yaml`; else `OS_CLOUD`.
    pub cloud: Option<String>,
    /// Wins over the region of the `auth`, the cloud and `OS_REGION_NAME`.
    pub region_name: Option<String>,
    /// `public`, `internal` or `admin` (`publicURL` also works); wins
    /// over the cloud's and `OS_INTERFACE`.
    pub interface: Option<String>,
}

impl Credentials {
    /// Resolves credentials for a task. `env` looks up an environment
    /// variable (the task's `environment`, then the process).
    pub fn resolve(
        req: &CloudRequest,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Credentials, OpenStackError> {
        let (auth, origin, cloud_region, cloud_iface) = if let Some(auth) = &req.auth {
            (auth.clone(), "the task's `auth`".to_string(), None, None)
        } else if let Some(name) = req.cloud.clone().or_else(|| env("OS_CLOUD")) {
            let cloud = find_cloud(&name, env)?;
            (
                cloud.auth,
                format!("cloud `{name}` in {}", cloud.file.display()),
                cloud.region_name,
                cloud.interface,
            )
        } else if env("OS_AUTH_URL").is_some() {
            (
                auth_from_env(env),
                "the OS_* environment".to_string(),
                None,
                None,
            )
        } else {
            return Err(OpenStackError::Credentials(
                "no OpenStack credentials: give `auth` or `cloud`, or set OS_CLOUD or OS_AUTH_URL"
                    .into(),
            ));
        };
        let region_name = req
            .region_name
            .clone()
            .or_else(|| auth.region_name.clone())
            .or(cloud_region)
            .or_else(|| env("OS_REGION_NAME"))
            .filter(|r| !r.is_empty());
        let interface = req
            .interface
            .clone()
            .or(cloud_iface)
            .or_else(|| env("OS_INTERFACE"))
            .map(|i| normalize_interface(&i))
            .unwrap_or_else(|| "public".into());
        Credentials::from_auth(auth, origin, region_name, interface)
    }

    fn from_auth(
        auth: AuthParams,
        origin: String,
        region_name: Option<String>,
        interface: String,
    ) -> Result<Credentials, OpenStackError> {
        let missing =
            |what: &str| OpenStackError::Credentials(format!("`{what}` is missing from {origin}"));
        let auth_url = auth.auth_url.clone().ok_or_else(|| missing("auth_url"))?;
        if auth.username.is_none() && auth.user_id.is_none() {
            return Err(missing("username"));
        }
        let password = auth.password.clone().ok_or_else(|| missing("password"))?;
        // Keystone needs a domain for a user given by name; like most
        // deployments (and the install guide) assume `Default`.
        let user_domain_name = auth.user_domain_name.clone().or_else(|| {
            (auth.user_domain_id.is_none() && auth.user_id.is_none()).then(|| "Default".into())
        });
        let scope = if auth.project_name.is_some() || auth.project_id.is_some() {
            Scope::Project {
                name: auth.project_name.clone(),
                id: auth.project_id.clone(),
                domain_name: auth.project_domain_name.clone().or_else(|| {
                    (auth.project_domain_id.is_none() && auth.project_id.is_none())
                        .then(|| "Default".into())
                }),
                domain_id: auth.project_domain_id.clone(),
            }
        } else if auth.domain_name.is_some() || auth.domain_id.is_some() {
            Scope::Domain {
                name: auth.domain_name.clone(),
                id: auth.domain_id.clone(),
            }
        } else if auth.system_scope.is_some() {
            Scope::System
        } else {
            Scope::Unscoped
        };
        Ok(Credentials {
            auth_url: auth_url.trim_end_matches('/').to_string(),
            username: auth.username,
            user_id: auth.user_id,
            password,
            user_domain_name,
            user_domain_id: auth.user_domain_id,
            scope,
            region_name,
            interface,
            origin,
        })
    }

    /// The cache key: a digest of every field, so that the password itself
    /// is not kept as a map key.
    pub fn key(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            Some(self.auth_url.as_str()),
            self.username.as_deref(),
            self.user_id.as_deref(),
            Some(self.password.expose()),
            self.user_domain_name.as_deref(),
            self.user_domain_id.as_deref(),
        ] {
            h.update(part.unwrap_or("\u{0}"));
            h.update([0xff]);
        }
        h.update(format!("{:?}", self.scope));
        hex::encode(h.finalize())
    }

    /// Who authenticates, for messages: the user name (or id).
    pub fn user_label(&self) -> &str {
        self.username
            .as_deref()
            .or(self.user_id.as_deref())
            .unwrap_or("?")
    }

    /// The body of `POST /v3/auth/tokens`.
    pub fn token_request_body(&self) -> Value {
        let mut user = Map::new();
        if let Some(id) = &self.user_id {
            user.insert("id".into(), id.clone().into());
        } else if let Some(name) = &self.username {
            user.insert("name".into(), name.clone().into());
            user.insert(
                "domain".into(),
                name_or_id(&self.user_domain_name, &self.user_domain_id),
            );
        }
        user.insert("password".into(), self.password.expose().into());
        let mut auth = serde_json::json!({
            "identity": {"methods": ["password"], "password": {"user": user}}
        });
        let scope = match &self.scope {
            Scope::Project {
                name,
                id,
                domain_name,
                domain_id,
            } => Some(match id {
                Some(id) => serde_json::json!({"project": {"id": id}}),
                None => serde_json::json!({"project": {
                    "name": name,
                    "domain": name_or_id(domain_name, domain_id)
                }}),
            }),
            Scope::Domain { name, id } => Some(serde_json::json!({"domain": name_or_id(name, id)})),
            Scope::System => Some(serde_json::json!({"system": {"all": true}})),
            Scope::Unscoped => None,
        };
        if let (Some(scope), Some(obj)) = (scope, auth.as_object_mut()) {
            obj.insert("scope".into(), scope);
        }
        serde_json::json!({ "auth": auth })
    }
}

fn name_or_id(name: &Option<String>, id: &Option<String>) -> Value {
    match (id, name) {
        (Some(id), _) => serde_json::json!({ "id": id }),
        (None, Some(name)) => serde_json::json!({ "name": name }),
        (None, None) => serde_json::json!({ "id": "default" }),
    }
}

/// `publicURL` and `public` both mean `public`.
pub fn normalize_interface(i: &str) -> String {
    i.trim_end_matches("URL").to_ascii_lowercase()
}

fn auth_from_env(env: &dyn Fn(&str) -> Option<String>) -> AuthParams {
    let v = |name: &str| env(name).filter(|s| !s.is_empty());
    AuthParams {
        auth_url: v("OS_AUTH_URL"),
        username: v("OS_USERNAME"),
        user_id: v("OS_USER_ID"),
        password: v("OS_PASSWORD").map(Secret::new),
        project_name: v("OS_PROJECT_NAME").or_else(|| v("OS_TENANT_NAME")),
        project_id: v("OS_PROJECT_ID").or_else(|| v("OS_TENANT_ID")),
        project_domain_name: v("OS_PROJECT_DOMAIN_NAME"),
        project_domain_id: v("OS_PROJECT_DOMAIN_ID"),
        user_domain_name: v("OS_USER_DOMAIN_NAME"),
        user_domain_id: v("OS_USER_DOMAIN_ID"),
        domain_name: v("OS_DOMAIN_NAME"),
        domain_id: v("OS_DOMAIN_ID"),
        system_scope: v("OS_SYSTEM_SCOPE"),
        region_name: None,
    }
}

/// A cloud found in a `clouds.yaml`.
struct Cloud {
    file: PathBuf,
    auth: AuthParams,
    region_name: Option<String>,
    interface: Option<String>,
}

/// The `clouds.yaml` files openstacksdk reads, in its order.
fn clouds_files(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(f) = env("OS_CLIENT_CONFIG_FILE") {
        files.push(PathBuf::from(f));
    }
    files.push(PathBuf::from("clouds.yaml"));
    if let Some(home) = env("HOME") {
        files.push(Path::new(&home).join(".config/openstack/clouds.yaml"));
    }
    files.push(PathBuf::from("/etc/openstack/clouds.yaml"));
    files
}

fn find_cloud(name: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Cloud, OpenStackError> {
    let files = clouds_files(env);
    let Some(file) = files.iter().find(|f| f.is_file()) else {
        let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        return Err(OpenStackError::Credentials(format!(
            "cloud `{name}`: no clouds.yaml found (looked at {})",
            list.join(", ")
        )));
    };
    let text = std::fs::read_to_string(file).map_err(|e| {
        OpenStackError::Credentials(format!("could not read {}: {e}", file.display()))
    })?;
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| {
        OpenStackError::Credentials(format!("{} is not valid YAML: {e}", file.display()))
    })?;
    let clouds = doc.get("clouds").and_then(Value::as_object);
    let Some(cloud) = clouds.and_then(|c| c.get(name)) else {
        let known: Vec<&str> = clouds
            .map(|c| c.keys().map(String::as_str).collect())
            .unwrap_or_default();
        return Err(OpenStackError::Credentials(format!(
            "cloud `{name}` is not in {} (it has: {})",
            file.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    // Keep only the keys of password authentication; clouds.yaml may hold others.
    let mut auth = cloud
        .get("auth")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    auth.retain(|k, _| AUTH_KEYS.contains(&k.as_str()));
    let auth: AuthParams = serde_json::from_value(Value::Object(auth)).map_err(|e| {
        OpenStackError::Credentials(format!("cloud `{name}` in {}: {e}", file.display()))
    })?;
    let text_field = |k: &str| cloud.get(k).and_then(Value::as_str).map(String::from);
    Ok(Cloud {
        file: file.clone(),
        auth,
        region_name: text_field("region_name"),
        interface: text_field("interface"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| m.get(k).cloned()
    }

    #[test]
    fn env_credentials_and_defaults() {
        let env = env_of(&[
            ("OS_AUTH_URL", "http://k:5000/v3/"),
            ("OS_USERNAME", "admin"),
            ("OS_PASSWORD", "pw"),
            ("OS_PROJECT_NAME", "admin"),
            ("OS_REGION_NAME", "RegionOne"),
            ("OS_INTERFACE", "internalURL"),
        ]);
        let c = Credentials::resolve(&CloudRequest::default(), &env).unwrap();
        assert_eq!(c.auth_url, "http://k:5000/v3");
        assert_eq!(c.interface, "internal");
        assert_eq!(c.region_name.as_deref(), Some("RegionOne"));
        let body = c.token_request_body();
        assert_eq!(
            body["auth"]["scope"],
            serde_json::json!({"project": {"name": "admin", "domain": {"name": "Default"}}})
        );
        assert_eq!(
            body["auth"]["identity"]["password"]["user"]["domain"],
            serde_json::json!({"name": "Default"})
        );
    }

    #[test]
    fn auth_mapping_wins_and_cloud_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("clouds.yaml");
        std::fs::write(
            &f,
            "clouds:\n  c1:\n    auth:\n      auth_url: http://c:5000/v3\n      username: u\n      password: p\n      domain_name: d\n      auth_type_extra: x\n    region_name: R2\n",
        )
        .unwrap();
        let env = env_of(&[
            ("OS_CLIENT_CONFIG_FILE", f.to_str().unwrap()),
            ("OS_AUTH_URL", "http://env:5000/v3"),
        ]);
        let req = CloudRequest {
            cloud: Some("c1".into()),
            ..Default::default()
        };
        let c = Credentials::resolve(&req, &env).unwrap();
        assert_eq!(c.auth_url, "http://c:5000/v3");
        assert_eq!(c.region_name.as_deref(), Some("R2"));
        assert_eq!(
            c.scope,
            Scope::Domain {
                name: Some("d".into()),
                id: None
            }
        );
        let missing = CloudRequest {
            cloud: Some("nope".into()),
            ..Default::default()
        };
        let err = Credentials::resolve(&missing, &env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cloud `nope` is not in") && err.contains("it has: c1"),
            "{err}"
        );
        let with_auth = CloudRequest {
            auth: Some(AuthParams {
                auth_url: Some("http://a/v3".into()),
                username: Some("x".into()),
                password: Some(Secret::new("y")),
                system_scope: Some("all".into()),
                ..Default::default()
            }),
            cloud: Some("c1".into()),
            ..Default::default()
        };
        let c = Credentials::resolve(&with_auth, &env).unwrap();
        assert_eq!(c.auth_url, "http://a/v3");
        assert_eq!(c.scope, Scope::System);
        assert_ne!(c.key(), Credentials::resolve(&req, &env).unwrap().key());
    }

    #[test]
    fn nothing_given_is_explained() {
        let err = Credentials::resolve(&CloudRequest::default(), &env_of(&[])).unwrap_err();
        assert!(err.to_string().starts_with("no OpenStack credentials"));
    }
}
