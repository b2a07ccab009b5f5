//! System modules: package, service, and the network helpers uri and wait_for.

pub mod package;
pub mod service;
pub mod uri;
pub mod wait_for;

use std::sync::Arc;

use super::Module;

/// Every system module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    let mut all = Vec::new();
    all.extend(uri::modules());
    all.extend(wait_for::modules());
    all.extend(package::modules());
    all.extend(service::modules());
    all
}
