//! `keystone_region`: a region of the Keystone catalog.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Map;

use super::common::{Api, keystone_params, put};
use super::resource::{Kind, Resource, ResourceModule, Wanted};
use crate::modules::{Module, ModuleError, ModuleSpec};
use crate::openstack::rest::encode;

const KIND: Kind = Kind {
    collection: "regions",
    singular: "region",
    disable_before_delete: false,
};

keystone_params! {
    /// Creates, updates or deletes a region of the Keystone catalog.
    ///
    /// The openstack.cloud collection has no region module; this one
    /// follows `openstack region create`. A region is known by its id
    /// (e.g. `RegionOne`, case-sensitive). A region that still has
    /// endpoints or child regions cannot be deleted (Keystone answers 403).
    pub struct RegionParams {
        /// The region's id.
        #[schemars(extend("x-aliases" = ["name"]))]
        id: String,
        /// The parent region's id.
        #[serde(default)]
        #[schemars(extend("x-aliases" = ["parent_region", "parent_region_id"]))]
        parent: Option<String>,
    }
}

/// The `keystone_region` module, for the registry.
pub fn module() -> Arc<dyn Module> {
    Arc::new(ResourceModule::<RegionParams>::new(ModuleSpec::native::<RegionParams>("keystone_region").with_examples(
            "- keystone_region:\n    cloud: mycloud\n    id: RegionTwo\n    description: Second site",
        )))
}

#[async_trait]
impl Resource for RegionParams {
    fn kind(&self) -> Kind {
        KIND
    }

    fn label(&self) -> String {
        self.id.clone()
    }

    async fn resolve(&self, api: &Api) -> Result<Wanted, ModuleError> {
        let path = format!("/v3/regions/{}", encode(&self.id));
        let current = api
            .get_opt("identity", &path)
            .await?
            .and_then(|v| v.get("region").cloned());
        let mut compare = Map::new();
        put(&mut compare, "description", self.description.clone());
        put(&mut compare, "parent_region_id", self.parent.clone());
        let mut create = compare.clone();
        create.insert("id".into(), self.id.clone().into());
        Ok(Wanted {
            current,
            create,
            compare,
        })
    }
}
