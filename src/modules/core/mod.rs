//! Core modules: commands, and the modules that act on the run itself
//! (debug, assert, fail, set_fact, meta).

pub mod assert;
pub mod command;
pub mod debug;
pub mod fail;
pub mod meta;
pub mod set_fact;

use std::sync::Arc;

use super::Module;

/// Every core module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    let mut all = Vec::new();
    all.extend(command::modules());
    all.extend(debug::modules());
    all.extend(assert::modules());
    all.extend(fail::modules());
    all.extend(set_fact::modules());
    all.extend(meta::modules());
    all
}
