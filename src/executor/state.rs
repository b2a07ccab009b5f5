//! What the run remembers about each host: facts, registered results and
//! set_fact variables, notified handlers, and the recap counters.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use crate::output::HostStats;

/// Why a host left the play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// A task failed on it.
    Failed,
    /// It could not be reached.
    Unreachable,
    /// `meta: end_host` or `end_play`: not an error.
    Ended,
}

#[derive(Debug, Default)]
pub struct HostState {
    /// Facts from gathering (`ansible_facts`), shared copy-on-write.
    pub facts: Arc<Map<String, Value>>,
    /// Registered results and set_fact variables.
    pub vars: Arc<Map<String, Value>>,
    pub notified: BTreeSet<String>,
    pub stats: HostStats,
    /// Set when the host failed or became unreachable in the run.
    pub gone: Option<Gone>,
}

impl HostState {
    pub fn set_var(&mut self, name: &str, value: Value) {
        Arc::make_mut(&mut self.vars).insert(name.to_string(), value);
    }

    pub fn set_facts(&mut self, facts: Map<String, Value>) {
        let f = Arc::make_mut(&mut self.facts);
        for (k, v) in facts {
            f.insert(k, v);
        }
    }
}

/// All hosts' states, created once per run.
#[derive(Clone, Default)]
pub struct HostStates {
    map: Arc<HashMap<String, Arc<RwLock<HostState>>>>,
}

impl HostStates {
    /// A fresh state for each of `hosts`.
    pub fn new(hosts: &[String]) -> Self {
        let map = hosts
            .iter()
            .map(|h| (h.clone(), Arc::new(RwLock::new(HostState::default()))))
            .collect();
        HostStates { map: Arc::new(map) }
    }

    /// The host's state, if it is one of the run's.
    pub fn get(&self, host: &str) -> Option<&Arc<RwLock<HostState>>> {
        self.map.get(host)
    }

    /// Runs `f` on a host's state for writing.
    pub fn with<R>(&self, host: &str, f: impl FnOnce(&mut HostState) -> R) -> Option<R> {
        let lock = self.map.get(host)?;
        let mut guard = lock.write().ok()?;
        Some(f(&mut guard))
    }

    /// Runs `f` on a host's state for reading.
    pub fn read<R>(&self, host: &str, f: impl FnOnce(&HostState) -> R) -> Option<R> {
        let lock = self.map.get(host)?;
        let guard = lock.read().ok()?;
        Some(f(&guard))
    }
}
