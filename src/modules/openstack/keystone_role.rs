//! `keystone_role`: a Keystone role (Ansible's `openstack.cloud.identity_role`).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Map;

use super::common::{Api, keystone_params, put};
use super::resource::{Kind, Resource, ResourceModule, Wanted};
use crate::modules::{Module, ModuleError, ModuleSpec};

const KIND: Kind = Kind {
    collection: "roles",
    singular: "role",
    disable_before_delete: false,
};

keystone_params! {
    /// Creates, updates or deletes a Keystone role.
    ///
    /// Like `openstack.cloud.identity_role`. Only global roles (not
    /// domain-specific ones) are managed. Deleting a role removes its
    /// assignments too.
    pub struct RoleParams {
        /// The role's name (or id, to find an existing one).
        name: String,
    }
}

/// The `keystone_role` module, for the registry.
pub fn module() -> Arc<dyn Module> {
    Arc::new(ResourceModule::<RoleParams>::new(
        ModuleSpec::native::<RoleParams>("keystone_role")
            .with_examples("- keystone_role:\n    cloud: mycloud\n    name: service"),
    ))
}

#[async_trait]
impl Resource for RoleParams {
    fn kind(&self) -> Kind {
        KIND
    }

    fn label(&self) -> String {
        self.name.clone()
    }

    async fn resolve(&self, api: &Api) -> Result<Wanted, ModuleError> {
        let current = api.find("roles", "role", &self.name, &[]).await?;
        let mut compare = Map::new();
        put(&mut compare, "description", self.description.clone());
        let mut create = compare.clone();
        create.insert("name".into(), self.name.clone().into());
        Ok(Wanted {
            current,
            create,
            compare,
        })
    }
}
