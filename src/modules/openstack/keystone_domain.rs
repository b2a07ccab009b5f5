//! `keystone_domain`: a Keystone domain (Ansible's
//! `openstack.cloud.identity_domain`).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::common::{Api, keystone_params, put};
use super::resource::{Kind, Resource, ResourceModule, Wanted};
use crate::modules::{Module, ModuleError, ModuleSpec};

const KIND: Kind = Kind {
    collection: "domains",
    singular: "domain",
    disable_before_delete: true,
};

keystone_params! {
    /// Creates, updates or deletes a Keystone domain.
    ///
    /// Like `openstack.cloud.identity_domain`. A domain is found by name or
    /// id. `enabled` defaults to yes when the domain is created and is left
    /// alone on an existing domain unless given. Deleting a domain disables
    /// it first (Keystone refuses to delete an enabled domain), and deletes
    /// everything in it.
    pub struct DomainParams with enabled {
        /// The domain's name (or id, to find an existing one).
        name: String,
    }
}

/// The `keystone_domain` module, for the registry.
pub fn module() -> Arc<dyn Module> {
    Arc::new(ResourceModule::<DomainParams>::new(ModuleSpec::native::<DomainParams>("keystone_domain").with_examples(
            "- keystone_domain:\n    cloud: mycloud\n    name: heat\n    description: Stacks' projects and users",
        )))
}

#[async_trait]
impl Resource for DomainParams {
    fn kind(&self) -> Kind {
        KIND
    }

    fn label(&self) -> String {
        self.name.clone()
    }

    async fn resolve(&self, api: &Api) -> Result<Wanted, ModuleError> {
        let current = api.find("domains", "domain", &self.name, &[]).await?;
        let mut compare = Map::new();
        put(&mut compare, "description", self.description.clone());
        put(&mut compare, "enabled", self.enabled);
        let mut create = compare.clone();
        create.insert("name".into(), self.name.clone().into());
        create.entry("enabled").or_insert(Value::Bool(true));
        Ok(Wanted {
            current,
            create,
            compare,
        })
    }
}
