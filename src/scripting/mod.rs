//! Rhai script modules: custom modules written as `NAME.rhai` files that
//! run on the control node through the same host API as native modules.

use std::sync::Arc;

use crate::playbook::ModuleFinder;

/// The finder the loader uses for module folders (none until scripting lands).
pub fn finder() -> Option<Arc<dyn ModuleFinder>> {
    None
}
