//! Rhai script modules: custom modules written as `NAME.rhai` files that
//! run on the control node through the same host API as native modules.
//!
//! A script is found in a module folder (beside the playbook, the
//! project's `modules/`, `--module-path`, `OPLAY_MODULE_PATH`, the config's
//! `module_path`, a role's `modules/`), compiled once per run, and used in a
//! task exactly like a native module. A script named like a native module
//! overrides it; the original stays reachable as `native(name, params)`.
//!
//! This layer knows Rhai; the loader and the executor only see
//! [`ModuleFinder`] and [`crate::modules::Module`].

mod action;
mod api;
mod engine;
mod error;
pub mod limits;
mod module;
mod script;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rhai::Engine;

use crate::modules::Registry;
use crate::modules::spec::ModuleOrigin;
use crate::playbook::ModuleFinder;
use crate::source::Diagnostic;

pub use error::ScriptError;
pub use module::ScriptModule;

/// Finds `*.rhai` files in module folders and registers them.
pub struct RhaiFinder {
    engine: Arc<Engine>,
    /// Folders already loaded, canonical, so one reached by two routes
    /// (`playbooks/../modules` and `modules`) is compiled once.
    seen: Mutex<HashSet<PathBuf>>,
}

impl RhaiFinder {
    /// A finder with its own Rhai engine.
    pub fn new() -> Self {
        RhaiFinder {
            engine: Arc::new(engine::build()),
            seen: Mutex::new(HashSet::new()),
        }
    }
}

impl Default for RhaiFinder {
    fn default() -> Self {
        RhaiFinder::new()
    }
}

impl ModuleFinder for RhaiFinder {
    fn load_dir(&self, dir: &Path, registry: &mut Registry) -> Result<(), Diagnostic> {
        let Ok(canonical) = dir.canonicalize() else {
            return Ok(());
        };
        if let Ok(mut seen) = self.seen.lock() {
            if !seen.insert(canonical.clone()) {
                return Ok(());
            }
        }
        let Ok(entries) = std::fs::read_dir(&canonical) else {
            return Ok(());
        };
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| canonical.join(e.file_name()))
            .filter(|p| p.extension().is_some_and(|x| x == "rhai") && p.is_file())
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
    Some(Arc::new(RhaiFinder::new()))
}

/// The builtin registry plus the script modules of `dirs`, later folders
/// overriding earlier ones (what `oplay doc` shows).
pub fn registry_with(dirs: &[PathBuf]) -> Result<Registry, Diagnostic> {
    let finder = RhaiFinder::new();
    let mut registry = Registry::builtin();
    for dir in dirs {
        finder.load_dir(dir, &mut registry)?;
    }
    Ok(registry)
}

/// The `-v` line for a task whose module is a script overriding a native
/// module of the same name.
pub fn override_note(registry: &Registry, name: &str) -> Option<String> {
    if !registry.is_overridden(name) {
        return None;
    }
    let module = registry.get(name)?;
    match &module.spec().origin {
        ModuleOrigin::Script(path) => Some(format!(
            "using script module {} (overrides the native module {name})",
            relative(path).display()
        )),
        ModuleOrigin::Native => None,
    }
}

/// A path as the user would type it: relative to the working directory
/// when it is below it.
pub fn relative(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).to_path_buf()
}

/// The module folders named by the config's `module_path`,
/// `OPLAY_MODULE_PATH` and `--module-path`, in that order: a later folder's
/// script overrides an earlier one of the same name.
pub fn module_path(config: &crate::config::Config, cli: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs = config.module_path.clone();
    if let Some(env) = std::env::var_os("OPLAY_MODULE_PATH") {
        dirs.extend(std::env::split_paths(&env).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs.extend(cli.iter().cloned());
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "const MODULE = #{ doc: \"x\", params: #{} };\nfn run(p) { #{} }\n";

    #[test]
    fn a_folder_reached_twice_is_compiled_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("modules")).unwrap();
        std::fs::create_dir_all(dir.path().join("playbooks")).unwrap();
        std::fs::write(dir.path().join("modules/m.rhai"), SCRIPT).unwrap();
        let finder = RhaiFinder::new();
        let mut registry = Registry::builtin();
        finder
            .load_dir(&dir.path().join("modules"), &mut registry)
            .unwrap();
        let first = registry.get("m").unwrap().clone();
        finder
            .load_dir(&dir.path().join("playbooks/../modules"), &mut registry)
            .unwrap();
        assert!(Arc::ptr_eq(&first, registry.get("m").unwrap()));
        assert!(!registry.is_overridden("m"));
    }

    #[test]
    fn scripts_cannot_read_local_files() {
        let engine = engine::build();
        for script in [
            "import \"/etc/passwd\" as p;",
            "open_file(\"/etc/passwd\")",
            "eval(\"import \\\"/etc/passwd\\\" as p;\")",
        ] {
            assert!(engine.run(script).is_err(), "{script} succeeded");
        }
    }
}
