//! File modules: copy, template, file, lineinfile, get_url, ini_set.

use std::sync::Arc;

use super::Module;

pub fn modules() -> Vec<Arc<dyn Module>> {
    Vec::new()
}
