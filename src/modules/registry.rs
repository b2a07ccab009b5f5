//! The one list of every module oplay knows.
//!
//! Native modules are registered in [`Registry::builtin`]; script modules
//! found in module folders are added on top and may override a native
//! module of the same name (the original stays reachable as `native`).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Module;
use crate::source::did_you_mean;

/// Prefixes that Ansible playbooks put before module names.
const COLLECTION_PREFIXES: &[&str] = &["ansible.builtin.", "ansible.legacy."];

/// Every module of a run, native and script, by name.
#[derive(Clone, Default)]
pub struct Registry {
    modules: BTreeMap<String, Arc<dyn Module>>,
    natives: BTreeMap<String, Arc<dyn Module>>,
}

impl Registry {
    /// Every native module, in one place.
    pub fn builtin() -> Self {
        let mut r = Registry::default();
        for m in super::core::modules()
            .into_iter()
            .chain(super::files::modules())
            .chain(super::system::modules())
            .chain(super::database::modules())
            .chain(super::openstack::modules())
        {
            r.add_native(m);
        }
        r
    }

    fn add_native(&mut self, m: Arc<dyn Module>) {
        let name = m.spec().name.clone();
        self.natives.insert(name.clone(), m.clone());
        self.modules.insert(name, m);
    }

    /// Adds (or overrides with) a module found at load time.
    pub fn add(&mut self, m: Arc<dyn Module>) {
        self.modules.insert(m.spec().name.clone(), m);
    }

    /// The module a task's key names, with `ansible.builtin.` and the like
    /// accepted as prefixes.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Module>> {
        let short = COLLECTION_PREFIXES
            .iter()
            .find_map(|p| name.strip_prefix(p))
            .unwrap_or(name);
        self.modules.get(short)
    }

    /// The native module of that name, even when a script overrides it.
    pub fn native(&self, name: &str) -> Option<&Arc<dyn Module>> {
        self.natives.get(name)
    }

    /// Whether a script module replaces the native module of this name.
    pub fn is_overridden(&self, name: &str) -> bool {
        match (self.modules.get(name), self.natives.get(name)) {
            (Some(m), Some(n)) => !Arc::ptr_eq(m, n),
            _ => false,
        }
    }

    /// The modules' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }

    /// The modules, sorted by name.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Module>> {
        self.modules.values()
    }

    /// A "did you mean" for a mistyped module name.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        did_you_mean(name, self.names())
    }
}
