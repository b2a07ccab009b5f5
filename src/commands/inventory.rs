//! `oplay inventory`: the inventory as oplay reads it.

use crate::cli::{InventoryArgs, exit};

pub fn run(args: InventoryArgs) -> i32 {
    let inv = match super::load_inventory(&args.inventory) {
        Ok(i) => i,
        Err(code) => return code,
    };
    if args.list {
        println!(
            "{}",
            serde_json::to_string_pretty(&inv.to_list_json()).unwrap_or_default()
        );
    } else if args.graph {
        print!("{}", inv.graph());
    } else if let Some(host) = args.host {
        match inv.host_json(&host) {
            Some(v) => println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default()),
            None => {
                super::report_error(&format!("host `{host}` is not in the inventory"));
                return exit::USAGE;
            }
        }
    }
    exit::OK
}
