//! File modules: copy, template, file, lineinfile, get_url, ini_set.

pub mod ini_set;

use std::sync::Arc;

use super::Module;

pub fn modules() -> Vec<Arc<dyn Module>> {
    let mut all = Vec::new();
    all.extend(ini_set::modules());
    all
}
