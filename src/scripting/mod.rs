//! Rhai script modules: custom modules written as `NAME.rhai` files that
//! run on the control node through the same host API as native modules.
//!
//! A script is found in a module folder (beside the playbook, the
//! project's `modules/`, `--module-path`, `OPLAY_MODULE_PATH`, the config's
//! `module_path`, a role's `modules/`), compiled once per run, and used in a
//! task exactly like a native module. A script named like a native module
//! overrides it; the original stays reachable as `native(name, params)`.

mod api;
mod engine;
mod module;

use std::path::Path;
use std::sync::Arc;

use rhai::Engine;

use crate::modules::Registry;
use crate::playbook::ModuleFinder;
use crate::source::Diagnostic;

pub use module::ScriptModule;

/// Finds `*.rhai` files in module folders and registers them.
pub struct RhaiFinder {
    engine: Arc<Engine>,
}

impl ModuleFinder for RhaiFinder {
    fn load_dir(&self, dir: &Path, registry: &mut Registry) -> Result<(), Diagnostic> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
            .collect();
        paths.sort();
        for path in paths {
            let module = ScriptModule::load(self.engine.clone(), &path)?;
            registry.add(Arc::new(module));
        }
        Ok(())
    }
}

/// The finder the loader uses for module folders.
pub fn finder() -> Option<Arc<dyn ModuleFinder>> {
    Some(Arc::new(RhaiFinder {
        engine: Arc::new(engine::build()),
    }))
}
