//! File modules: copy, template, file, lineinfile, get_url, ini_set.

pub mod common;
pub mod copy;
pub mod file;
pub mod get_url;
pub mod lineinfile;
pub mod template;
pub mod write;

use std::sync::Arc;

use super::Module;

pub fn modules() -> Vec<Arc<dyn Module>> {
    let mut all = Vec::new();
    all.extend(copy::modules());
    all.extend(template::modules());
    all.extend(file::modules());
    all.extend(lineinfile::modules());
    all.extend(get_url::modules());
    all
}
