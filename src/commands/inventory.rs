//! `oplay inventory`: the inventory as oplay reads it.

use crate::cli::InventoryArgs;
use crate::error::Error;

/// Prints the inventory as `--list`, `--graph` or `--host` asks.
pub fn run(args: InventoryArgs) -> Result<(), Error> {
    let inv = super::load_inventory(&args.inventory)?;
    let base_dir = std::env::current_dir().unwrap_or_default();
    super::refuse_secret_hosts(&inv, &Default::default(), &base_dir)?;
    if args.list {
        super::outln!("{}", inv.to_list_json());
    } else if args.graph {
        super::outln!("{}", inv.graph());
    } else if let Some(host) = args.host {
        let text = inv.host_json(&host).map_err(Error::UnknownHost)?;
        super::outln!("{text}");
    }
    Ok(())
}
