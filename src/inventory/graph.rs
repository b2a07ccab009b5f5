//! The group/host graph that every inventory source feeds: groups with
//! their child groups and direct hosts, hosts with their direct groups,
//! and the variables each source set on them.
//!
//! It mirrors Ansible's `InventoryData`: `all` and `ungrouped` always exist,
//! groups without a parent become children of `all`, and hosts in no group
//! land in `ungrouped` (`reconcile`). Host order within a group follows
//! Ansible's `Group.get_hosts()`: the group's own hosts, then its
//! descendants breadth first. Not for parsing or variable precedence.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::{Map, Value};

/// The id of `all`: every graph starts with it.
pub(crate) const ALL: usize = 0;
/// The id of `ungrouped`, made with `all`.
pub(crate) const UNGROUPED: usize = 1;

/// Ansible's default `ansible_group_priority`.
const DEFAULT_PRIORITY: i64 = 1;

/// One group as the inventory sources declare it.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// Unique among groups; may clash with a host's name (a warning).
    pub name: String,
    /// Variables set on the group by inventory files (`[g:vars]`, `vars:`).
    pub vars: Map<String, Value>,
    /// Direct child groups, by id; never a loop.
    pub children: Vec<usize>,
    /// Direct parent groups, by id; only `all` has none.
    pub parents: Vec<usize>,
    /// Direct members, in the order they were added.
    pub hosts: Vec<usize>,
    /// `ansible_group_priority`: among groups of one depth, the higher
    /// priority's variables win.
    pub priority: i64,
    /// Longest path from `all`; parents sort before children.
    pub depth: usize,
}

/// One host as the inventory sources declare it.
#[derive(Debug, Clone)]
pub struct Host {
    /// The inventory name (`inventory_hostname`), which is the address
    /// only when `ansible_host` is unset.
    pub name: String,
    /// Variables set on the host itself by inventory files (inline, `hosts:`).
    pub vars: Map<String, Value>,
    /// Direct groups, in the order the host joined them.
    pub(crate) groups: Vec<usize>,
}

/// Where hosts come from, for `inventory_file` and `inventory_dir`.
pub(crate) enum Origin<'a> {
    File(&'a Path),
    HostList(&'a str),
}

/// Why the graph refused a change; the loaders add the place.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum GraphError {
    /// More hosts than [`MAX_HOSTS`](super::MAX_HOSTS).
    #[error("the inventory would hold more than {} hosts", super::MAX_HOSTS)]
    TooManyHosts,
    /// A group made a child of itself.
    #[error("group `{0}` cannot be a child of itself")]
    OwnChild(String),
    /// A child group that is already an ancestor.
    #[error("adding group `{child}` as a child of `{parent}` creates a loop")]
    Loop { child: String, parent: String },
    /// An `ansible_group_priority` that is not an integer.
    #[error("ansible_group_priority must be an integer, found {0}")]
    Priority(Value),
}

/// Groups and hosts, addressed by id (their index) so that the links
/// between them are plain numbers.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    /// By id; `all` and `ungrouped` first.
    pub groups: Vec<Group>,
    /// By id, in the order the sources declared them (Ansible's order).
    pub hosts: Vec<Host>,
    group_index: HashMap<String, usize>,
    host_index: HashMap<String, usize>,
}

impl Default for Graph {
    fn default() -> Self {
        let mut graph = Graph {
            groups: Vec::new(),
            hosts: Vec::new(),
            group_index: HashMap::new(),
            host_index: HashMap::new(),
        };
        graph.add_group("all");
        graph.add_group("ungrouped");
        graph.groups[ALL].children.push(UNGROUPED);
        graph.groups[UNGROUPED].parents.push(ALL);
        graph
    }
}

impl Graph {
    /// The id of a group by name.
    pub fn group_id(&self, name: &str) -> Option<usize> {
        self.group_index.get(name).copied()
    }

    /// The id of a host by name.
    pub fn host_id(&self, name: &str) -> Option<usize> {
        self.host_index.get(name).copied()
    }

    /// Refuses names that would take the inventory past
    /// [`MAX_HOSTS`](super::MAX_HOSTS) hosts.
    pub fn check_room(&self, names: &[String]) -> Result<(), GraphError> {
        let new = names.iter().filter(|n| self.host_id(n).is_none()).count();
        if self.hosts.len() + new > super::MAX_HOSTS {
            return Err(GraphError::TooManyHosts);
        }
        Ok(())
    }

    /// The group's id, creating the group if it is new.
    pub fn add_group(&mut self, name: &str) -> usize {
        if let Some(id) = self.group_id(name) {
            return id;
        }
        let id = self.groups.len();
        self.groups.push(Group {
            name: name.to_string(),
            vars: Map::new(),
            children: Vec::new(),
            parents: Vec::new(),
            hosts: Vec::new(),
            priority: DEFAULT_PRIORITY,
            depth: 0,
        });
        self.group_index.insert(name.to_string(), id);
        id
    }

    /// Adds a host (once) and puts it in `group`. A port from `host:port`
    /// becomes `ansible_port`, as Ansible's `add_host` does.
    pub fn add_host(
        &mut self,
        name: &str,
        group: usize,
        port: Option<u64>,
        origin: &Origin,
    ) -> usize {
        let id = match self.host_id(name) {
            Some(id) => id,
            None => {
                let id = self.hosts.len();
                let (file, dir) = match origin {
                    // Absolute, as in Ansible, so that paths built from
                    // them do not depend on the working directory.
                    Origin::File(path) => {
                        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
                        (
                            Value::from(path.display().to_string()),
                            path.parent()
                                .map_or(Value::Null, |d| Value::from(d.display().to_string())),
                        )
                    }
                    Origin::HostList(text) => (Value::from(*text), Value::Null),
                };
                let mut vars = Map::new();
                vars.insert("inventory_file".into(), file);
                vars.insert("inventory_dir".into(), dir);
                self.hosts.push(Host {
                    name: name.to_string(),
                    vars,
                    groups: Vec::new(),
                });
                self.host_index.insert(name.to_string(), id);
                id
            }
        };
        if let Some(port) = port {
            self.hosts[id]
                .vars
                .insert("ansible_port".into(), Value::from(port));
        }
        self.join(id, group);
        id
    }

    fn join(&mut self, host: usize, group: usize) {
        // A host is in few groups, a group may hold 100,000 hosts.
        if !self.hosts[host].groups.contains(&group) {
            self.groups[group].hosts.push(host);
            self.hosts[host].groups.push(group);
        }
    }

    /// Makes `child` a child group of `parent`; refuses loops.
    pub fn add_child(&mut self, parent: usize, child: usize) -> Result<(), GraphError> {
        if parent == child {
            return Err(GraphError::OwnChild(self.groups[parent].name.clone()));
        }
        if self.groups[parent].children.contains(&child) {
            return Ok(());
        }
        if self.descendants(child).contains(&parent) {
            return Err(GraphError::Loop {
                child: self.groups[child].name.clone(),
                parent: self.groups[parent].name.clone(),
            });
        }
        self.groups[parent].children.push(child);
        self.groups[child].parents.push(parent);
        Ok(())
    }

    /// Sets a group variable; `ansible_group_priority` sets the priority
    /// instead, as Ansible does.
    pub fn set_group_var(
        &mut self,
        group: usize,
        key: &str,
        value: Value,
    ) -> Result<(), GraphError> {
        if key == "ansible_group_priority" {
            let priority = match &value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            self.groups[group].priority = priority.ok_or(GraphError::Priority(value))?;
            return Ok(());
        }
        self.groups[group].vars.insert(key.to_string(), value);
        Ok(())
    }

    /// Sets a host variable; a later source overwrites an earlier one.
    pub fn set_host_var(&mut self, host: usize, key: &str, value: Value) {
        self.hosts[host].vars.insert(key.to_string(), value);
    }

    /// Ansible's `reconcile_inventory`: parentless groups join `all`,
    /// groupless hosts join `ungrouped`, depths are settled. Returns
    /// warnings for names used both as a group and as a host.
    pub fn reconcile(&mut self) -> Vec<String> {
        for id in 0..self.groups.len() {
            if id != ALL && self.groups[id].parents.is_empty() {
                self.groups[ALL].children.push(id);
                self.groups[id].parents.push(ALL);
            }
        }
        let mut leave_ungrouped = std::collections::HashSet::new();
        for host in 0..self.hosts.len() {
            let groups = &self.hosts[host].groups;
            let elsewhere = groups.iter().any(|g| *g != ALL && *g != UNGROUPED);
            if elsewhere && groups.contains(&UNGROUPED) {
                self.hosts[host].groups.retain(|g| *g != UNGROUPED);
                leave_ungrouped.insert(host);
            } else if !elsewhere {
                self.join(host, UNGROUPED);
            }
        }
        if !leave_ungrouped.is_empty() {
            self.groups[UNGROUPED]
                .hosts
                .retain(|h| !leave_ungrouped.contains(h));
        }
        self.settle_depths();
        self.hosts
            .iter()
            .filter(|h| self.group_index.contains_key(&h.name))
            .map(|h| format!("found both a group and a host named `{}`", h.name))
            .collect()
    }

    /// Depth = longest path from `all`, so a group sorts after every parent.
    fn settle_depths(&mut self) {
        for g in &mut self.groups {
            g.depth = 0;
        }
        let mut frontier = vec![ALL];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for g in frontier {
                let depth = self.groups[g].depth + 1;
                for c in self.groups[g].children.clone() {
                    if self.groups[c].depth < depth {
                        self.groups[c].depth = depth;
                        next.push(c);
                    }
                }
            }
            frontier = next;
        }
    }

    /// The group and its descendants, breadth first, each once.
    pub fn descendants(&self, group: usize) -> Vec<usize> {
        let mut ordered = vec![group];
        let mut seen: HashSet<usize> = HashSet::from([group]);
        let mut frontier = vec![group];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for g in frontier {
                for &c in &self.groups[g].children {
                    if seen.insert(c) {
                        ordered.push(c);
                        next.push(c);
                    }
                }
            }
            frontier = next;
        }
        ordered
    }

    /// Ansible's `Group.get_hosts()`: own hosts, then descendants' hosts.
    pub fn group_hosts(&self, group: usize) -> Vec<usize> {
        let mut seen = HashSet::new();
        self.descendants(group)
            .into_iter()
            .flat_map(|g| self.groups[g].hosts.iter().copied())
            .filter(|h| seen.insert(*h))
            .collect()
    }

    /// Every group a host belongs to, directly or through a child group.
    pub fn host_groups(&self, host: usize) -> Vec<usize> {
        let mut seen = HashSet::new();
        let mut stack: Vec<usize> = self.hosts[host].groups.clone();
        let mut out = Vec::new();
        while let Some(g) = stack.pop() {
            if seen.insert(g) {
                out.push(g);
                stack.extend(self.groups[g].parents.iter().copied());
            }
        }
        out
    }

    /// Ansible's `sort_groups`: by depth, then priority, then name.
    pub fn sort_groups(&self, groups: &mut [usize]) {
        groups.sort_by(|a, b| {
            let (a, b) = (&self.groups[*a], &self.groups[*b]);
            (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name))
        });
    }
}
