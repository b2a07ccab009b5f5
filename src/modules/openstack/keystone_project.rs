//! `keystone_project`: a Keystone project (Ansible's
//! `openstack.cloud.project`).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::common::{Api, State, keystone_params, put};
use super::resource::{Kind, Resource, ResourceModule, Wanted};
use crate::modules::{Module, ModuleError, ModuleSpec};

const KIND: Kind = Kind {
    collection: "projects",
    singular: "project",
    disable_before_delete: false,
};

keystone_params! {
    /// Creates, updates or deletes a Keystone project.
    ///
    /// Like `openstack.cloud.project`. The project is looked up by name in
    /// its domain (or by id). `enabled` defaults to yes on creation and is
    /// left alone on an existing project unless given. `domain` defaults to
    /// `default` here (Ansible leaves it to the cloud). Extra `properties`
    /// are not supported.
    pub struct ProjectParams with enabled {
        /// The project's name (or id, to find an existing one).
        name: String,
        /// The domain, by name or id.
        #[serde(default = "default_domain")]
        #[schemars(extend("x-aliases" = ["domain_id"]))]
        domain: String,
        /// A parent project (name or id) in the same domain; only used on creation.
        #[serde(default)]
        parent: Option<String>,
    }
}

fn default_domain() -> String {
    "default".into()
}

/// The `keystone_project` module, for the registry.
pub fn module() -> Arc<dyn Module> {
    Arc::new(ResourceModule::<ProjectParams>::new(ModuleSpec::native::<ProjectParams>("keystone_project").with_examples(
            "- keystone_project:\n    cloud: mycloud\n    name: service\n    description: Service Project",
        )))
}

#[async_trait]
impl Resource for ProjectParams {
    fn kind(&self) -> Kind {
        KIND
    }

    fn label(&self) -> String {
        self.name.clone()
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
            .find(
                "projects",
                "project",
                &self.name,
                &[("domain_id", &domain_id)],
            )
            .await?;
        let mut compare = Map::new();
        put(&mut compare, "description", self.description.clone());
        put(&mut compare, "enabled", self.enabled);
        let mut create = compare.clone();
        create.insert("name".into(), self.name.clone().into());
        create.insert("domain_id".into(), domain_id.clone().into());
        create.entry("enabled").or_insert(Value::Bool(true));
        if let (Some(parent), None) = (&self.parent, &current) {
            let p = api
                .require("projects", "project", parent, &[("domain_id", &domain_id)])
                .await?;
            create.insert("parent_id".into(), super::common::id_of(&p).into());
        }
        Ok(Wanted {
            current,
            create,
            compare,
        })
    }
}
