//! `oplay doc`: module documentation, from the modules' own declarations.

use crate::cli::{DocArgs, exit};
use crate::modules::Registry;
use crate::source::did_you_mean;

pub fn run(args: DocArgs) -> i32 {
    let registry = Registry::builtin();
    if args.list || args.module.is_none() {
        let width = registry.names().map(str::len).max().unwrap_or(0);
        for m in registry.all() {
            let spec = m.spec();
            let mark = if registry.is_overridden(&spec.name) {
                " (script override)"
            } else {
                ""
            };
            println!("{:<width$}  {}{mark}", spec.name, spec.summary);
        }
        return exit::OK;
    }
    let name = args.module.unwrap_or_default();
    match registry.get(&name) {
        Some(m) => {
            print!("{}", m.spec().render_doc());
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
