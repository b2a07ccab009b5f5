//! System modules: package, service, and the network helpers uri and wait_for.

pub mod package;
pub mod service;

use std::sync::Arc;

use super::Module;

pub fn modules() -> Vec<Arc<dyn Module>> {
    let mut all = Vec::new();
    all.extend(package::modules());
    all.extend(service::modules());
    all
}
