//! Fact gathering in ONE round trip per host, with the names, JSON types
//! and values of ansible-core's `setup` on Linux: `script.rs` builds a
//! POSIX shell script of `@@section`s (chosen by `gather_subset`, see
//! `subset.rs`), and the parsers here turn its output into facts:
//! `system.rs` (platform, distribution, env, date_time, user ...),
//! `hardware.rs` (CPU, memory, mounts, devices, DMI), `network.rs`
//! (interfaces, addresses, default routes) and `virt.rs`
//! (virtualization). Not for running anything: `gather.rs` sends the
//! script. docs/facts.md lists where oplay's facts deliberately differ.

mod clock;
mod devices;
mod hardware;
mod local;
mod network;
mod script;
mod subset;
mod system;
mod virt;

use std::collections::HashMap;

use serde_json::{Map, Value, json};

pub use script::script;
pub use subset::GatherOptions;

/// The script's output split into its `@@name` sections.
pub(crate) struct Sections<'a> {
    map: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Sections<'a> {
    fn new(out: &'a str) -> Self {
        let mut map: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut current: Option<&str> = None;
        for line in out.lines() {
            if let Some(name) = line.strip_prefix("@@") {
                current = Some(name.trim());
                map.entry(name.trim()).or_default();
            } else if let Some(c) = current {
                map.entry(c).or_default().push(line);
            }
        }
        Self { map }
    }

    /// Whether the section ran (it may still have printed nothing).
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The lines of a section (none when it did not run).
    pub fn lines(&self, name: &str) -> &[&'a str] {
        self.map.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The section's text, trimmed.
    pub fn text(&self, name: &str) -> String {
        self.lines(name).join("\n").trim().to_string()
    }

    /// `key=value` lines of a section as a map (first `=` splits).
    pub fn pairs(&self, name: &str) -> HashMap<&'a str, &'a str> {
        self.lines(name)
            .iter()
            .filter_map(|l| l.split_once('='))
            .collect()
    }
}

/// Parses the script's output into facts keyed without the `ansible_`
/// prefix, as `ansible_facts` holds them.
pub fn parse(out: &str, opts: &GatherOptions) -> Map<String, Value> {
    let s = Sections::new(out);
    let mut f = Map::new();
    system::platform(&s, &mut f);
    system::distribution(&s, &mut f);
    system::misc(&s, &mut f);
    system::user(&s, &mut f);
    system::service_mgr(&s, &mut f);
    hardware::collect(&s, &mut f);
    network::collect(&s, &mut f);
    virt::collect(&s, &mut f);
    if s.has("local") {
        f.insert("local".into(), local::parse(s.lines("local")));
    }
    f.insert("gather_subset".into(), json!(opts.requested));
    f.insert("module_setup".into(), json!(true));
    f
}

/// The facts as variables: `ansible_facts` plus the `ansible_*` names
/// (a fact already named `ansible_*` keeps its name, as in Ansible).
pub fn as_vars(facts: &Map<String, Value>) -> Map<String, Value> {
    let mut vars = Map::with_capacity(facts.len() + 1);
    for (k, v) in facts {
        let name = if k.starts_with("ansible_") {
            k.clone()
        } else {
            format!("ansible_{k}")
        };
        vars.insert(name, v.clone());
    }
    vars.insert("ansible_facts".into(), Value::Object(facts.clone()));
    vars
}

#[cfg(test)]
mod tests;
