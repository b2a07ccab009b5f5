//! `keystone_user`: a Keystone user (Ansible's `openstack.cloud.identity_user`).

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::{Api, State, id_of, keystone_params, put};
use super::resource::{Kind, Resource, ResourceModule, Wanted};
use crate::modules::{Module, ModuleError, ModuleSpec};
use crate::secret::Secret;

const KIND: Kind = Kind {
    collection: "users",
    singular: "user",
    disable_before_delete: false,
};

/// When an existing user's password is set.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UpdatePassword {
    /// Only when the user is created.
    #[default]
    OnCreate,
    /// Whenever the password does not work for the user.
    Always,
}

keystone_params! {
    /// Creates, updates or deletes a Keystone user.
    ///
    /// Like `openstack.cloud.identity_user`, with two differences: `domain`
    /// defaults to `default`, and `update_password: always` reports a change
    /// only when the password does not already work: the module asks
    /// Keystone for a token as that user with the given password, and sets
    /// the password only if that fails (Ansible sets it on every run). A
    /// disabled user cannot authenticate, so it gets its password set on
    /// every run. `enabled` defaults to yes on creation.
    pub struct UserParams with enabled {
        /// The user's name (or id, to find an existing one).
        name: String,
        /// The user's domain, by name or id.
        #[serde(default = "default_domain")]
        domain: String,
        /// The password. Needed to create a user (Keystone allows users
        /// without one, but then they cannot log in).
        #[serde(default)]
        password: Option<Secret>,
        /// `on_create`: set the password only when creating the user;
        /// `always`: also make an existing user's password the given one.
        #[serde(default)]
        update_password: UpdatePassword,
        /// An e-mail address.
        #[serde(default)]
        email: Option<String>,
        /// The default project, by name (in the user's domain) or id.
        #[serde(default)]
        default_project: Option<String>,
    }
}

fn default_domain() -> String {
    "default".into()
}

/// The `keystone_user` module, for the registry.
pub fn module() -> Arc<dyn Module> {
    Arc::new(ResourceModule::<UserParams>::new(ModuleSpec::native::<UserParams>("keystone_user").with_examples(
            "- keystone_user:\n    cloud: mycloud\n    name: glance\n    password: \"{{ glance_password }}\"\n    update_password: always\n    default_project: service",
        )))
}

#[async_trait]
impl Resource for UserParams {
    fn validate(&self) -> Result<(), ModuleError> {
        if self.update_password == UpdatePassword::Always && self.password.is_none() {
            return Err(ModuleError::Params(
                "`update_password: always` needs a `password`".into(),
            ));
        }
        Ok(())
    }

    fn kind(&self) -> Kind {
        KIND
    }

    fn label(&self) -> String {
        self.name.clone()
    }

    fn hidden(&self) -> &'static [&'static str] {
        &["password"]
    }

    async fn resolve(&self, api: &Api) -> Result<Wanted, ModuleError> {
        // Nothing to delete in a domain that does not exist.
        let domain_id = match (self.state, api.domain_id_opt(&self.domain).await?) {
            (_, Some(id)) => id,
            (State::Absent, None) => return Ok(Wanted::absent()),
            (State::Present, None) => {
                return Err(ModuleError::failed(format!(
                    "domain `{}` not found",
                    self.domain
                )));
            }
        };
        let current = api
            .find("users", "user", &self.name, &[("domain_id", &domain_id)])
            .await?;
        if self.state == State::Absent {
            return Ok(Wanted {
                current,
                create: Map::new(),
                compare: Map::new(),
            });
        }
        let mut compare = Map::new();
        put(&mut compare, "email", self.email.clone());
        put(&mut compare, "description", self.description.clone());
        put(&mut compare, "enabled", self.enabled);
        if let Some(project) = &self.default_project {
            let p = api
                .require("projects", "project", project, &[("domain_id", &domain_id)])
                .await?;
            compare.insert("default_project_id".into(), id_of(&p).into());
        }
        let mut create = compare.clone();
        create.insert("name".into(), self.name.clone().into());
        create.insert("domain_id".into(), domain_id.into());
        create.entry("enabled").or_insert(Value::Bool(true));
        if let Some(pw) = &self.password {
            create.insert("password".into(), pw.expose().into());
            if let (Some(cur), UpdatePassword::Always) = (&current, self.update_password) {
                if !api.session.password_works(&id_of(cur), pw).await? {
                    // Keystone never returns a password, so this always differs.
                    compare.insert("password".into(), pw.expose().into());
                }
            }
        }
        Ok(Wanted {
            current,
            create,
            compare,
        })
    }
}
