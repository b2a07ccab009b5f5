//! `keystone_service`: a service in the Keystone catalog (Ansible's
//! `openstack.cloud.catalog_service`).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::common::{Api, keystone_params, put};
use super::resource::{Kind, Resource, ResourceModule, Wanted};
use crate::modules::{Module, ModuleError, ModuleSpec};

const KIND: Kind = Kind {
    collection: "services",
    singular: "service",
    disable_before_delete: false,
};

keystone_params! {
    /// Creates, updates or deletes a service in the Keystone catalog.
    ///
    /// Like `openstack.cloud.catalog_service`. Keystone accepts any number
    /// of services with the same name and type, so the service is looked up
    /// by type and name first and only created when none exists; when an
    /// earlier run left several, the first is used. `enabled` defaults to
    /// yes on creation. Deleting a service deletes its endpoints too.
    pub struct ServiceParams with enabled {
        /// The service's name, e.g. `glance`.
        name: String,
        /// The service type, e.g. `image`.
        #[serde(rename = "type")]
        #[schemars(extend("x-aliases" = ["service_type"]))]
        service_type: String,
    }
}

/// The `keystone_service` module, for the registry.
pub fn module() -> Arc<dyn Module> {
    Arc::new(ResourceModule::<ServiceParams>::new(ModuleSpec::native::<ServiceParams>("keystone_service").with_examples(
            "- keystone_service:\n    cloud: mycloud\n    name: glance\n    type: image\n    description: OpenStack Image",
        )))
}

#[async_trait]
impl Resource for ServiceParams {
    fn kind(&self) -> Kind {
        KIND
    }

    fn label(&self) -> String {
        format!("{} ({})", self.name, self.service_type)
    }

    async fn resolve(&self, api: &Api) -> Result<Wanted, ModuleError> {
        let current = api
            .identity_list("services", &[("type", &self.service_type)])
            .await?
            .into_iter()
            .find(|s| s.get("name").and_then(Value::as_str) == Some(self.name.as_str()));
        let mut compare = Map::new();
        put(&mut compare, "description", self.description.clone());
        put(&mut compare, "enabled", self.enabled);
        let mut create = compare.clone();
        create.insert("name".into(), self.name.clone().into());
        create.insert("type".into(), self.service_type.clone().into());
        create.entry("enabled").or_insert(Value::Bool(true));
        Ok(Wanted {
            current,
            create,
            compare,
        })
    }
}
