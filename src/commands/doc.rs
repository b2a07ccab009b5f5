//! `oplay doc`: module documentation, from the modules' own declarations.

use crate::cli::DocArgs;
use crate::config::Config;
use crate::error::Error;
use crate::modules::Registry;
use crate::source::did_you_mean;

/// Lists the modules, or prints one module's documentation.
pub fn run(args: DocArgs) -> Result<(), Error> {
    let registry = registry(&args)?;
    if args.list || args.module.is_none() {
        let width = registry.names().map(str::len).max().unwrap_or(0);
        for m in registry.all() {
            let spec = m.spec();
            let mark = match &spec.origin {
                _ if registry.is_overridden(&spec.name) => " (script, overrides the native module)",
                crate::modules::spec::ModuleOrigin::Script(_) => " (script)",
                crate::modules::spec::ModuleOrigin::Native => "",
            };
            super::outln!("{:<width$}  {}{mark}", spec.name, spec.summary);
        }
        return Ok(());
    }
    let name = args.module.unwrap_or_default();
    match registry.get(&name) {
        Some(m) => {
            super::out(format_args!("{}", m.spec().render_doc()));
            if registry.is_overridden(m.spec().name.as_str()) {
                super::outln!(
                    "\nThis script overrides the native module `{0}`; the script can call the original as native(\"{0}\", params).",
                    m.spec().name
                );
            }
            Ok(())
        }
        None => Err(Error::UnknownModule {
            suggestion: did_you_mean(&name, registry.names()).map(str::to_string),
            name,
        }),
    }
}

/// The builtin modules and the script modules of the folders a run in the
/// current directory would search: the config's `module_path`,
/// `OPLAY_MODULE_PATH`, `--module-path`, and `./modules`.
fn registry(args: &DocArgs) -> Result<Registry, Error> {
    let config = Config::discover(None)?;
    let mut dirs = vec![std::path::PathBuf::from("modules")];
    dirs.extend(crate::scripting::module_path(&config, &args.module_path));
    Ok(crate::scripting::registry_with(&dirs)?)
}
