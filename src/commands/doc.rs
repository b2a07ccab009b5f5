//! `oplay doc`: module documentation, from the modules' own declarations.

use crate::cli::{DocArgs, exit};
use crate::config::Config;
use crate::modules::Registry;
use crate::source::did_you_mean;

pub fn run(args: DocArgs) -> i32 {
    let registry = match registry(&args) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if args.list || args.module.is_none() {
        let width = registry.names().map(str::len).max().unwrap_or(0);
        for m in registry.all() {
            let spec = m.spec();
            let mark = match &spec.origin {
                _ if registry.is_overridden(&spec.name) => " (script, overrides the native module)",
                crate::modules::spec::ModuleOrigin::Script(_) => " (script)",
                crate::modules::spec::ModuleOrigin::Native => "",
            };
            println!("{:<width$}  {}{mark}", spec.name, spec.summary);
        }
        return exit::OK;
    }
    let name = args.module.unwrap_or_default();
    match registry.get(&name) {
        Some(m) => {
            print!("{}", m.spec().render_doc());
            if registry.is_overridden(m.spec().name.as_str()) {
                println!(
                    "\nThis script overrides the native module `{0}`; the script can call the original as native(\"{0}\", params).",
                    m.spec().name
                );
            }
            exit::OK
        }
        None => {
            let mut msg = format!("no module named `{name}`");
            if let Some(s) = did_you_mean(&name, registry.names()) {
                msg.push_str(&format!("\nhint: did you mean `{s}`?"));
            }
            super::report_error(&msg);
            exit::USAGE
        }
    }
}

/// The builtin modules and the script modules of the folders a run in the
/// current directory would search: the config's `module_path`,
/// `OPLAY_MODULE_PATH`, `--module-path`, and `./modules`.
fn registry(args: &DocArgs) -> Result<Registry, i32> {
    let config = Config::discover(None).map_err(|e| {
        super::report_error(&e.to_string());
        exit::USAGE
    })?;
    let mut dirs = vec![std::path::PathBuf::from("modules")];
    dirs.extend(crate::scripting::module_path(&config, &args.module_path));
    crate::scripting::registry_with(&dirs).map_err(|e| {
        super::report_error(&e.to_string());
        exit::INVALID
    })
}
