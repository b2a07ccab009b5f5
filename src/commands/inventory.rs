//! `oplay inventory`: the inventory as oplay reads it.

use crate::cli::{InventoryArgs, exit};

pub fn run(args: InventoryArgs) -> i32 {
    let inv = match super::load_inventory(&args.inventory) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let base_dir = std::env::current_dir().unwrap_or_default();
    if let Err(code) = super::refuse_secret_hosts(&inv, &Default::default(), &base_dir) {
        return code;
    }
    if args.list {
        println!("{}", inv.to_list_json());
    } else if args.graph {
        println!("{}", inv.graph());
    } else if let Some(host) = args.host {
        match inv.host_json(&host) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                super::report_error(&e.to_string());
                return exit::USAGE;
            }
        }
    }
    exit::OK
}
