//! System modules: package, service, and the network helpers uri and wait_for.

use std::sync::Arc;

use super::Module;

pub fn modules() -> Vec<Arc<dyn Module>> {
    Vec::new()
}
