//! Core modules: commands, and the modules that act on the run itself
//! (debug, assert, fail, set_fact, meta).

pub mod command;

use std::sync::Arc;

use super::Module;

pub fn modules() -> Vec<Arc<dyn Module>> {
    let mut all = Vec::new();
    all.extend(command::modules());
    all
}
