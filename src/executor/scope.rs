//! Builds the variables a task sees on a host, in Ansible's precedence,
//! and the `hostvars` object that lets templates read other hosts.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use minijinja::value::{Enumerator, Object, ObjectRepr};
use serde_json::{Map, Value, json};

use super::state::HostStates;
use super::{VarsFileError, facts};
use crate::inventory::Inventory;
use crate::playbook::{Play, Task};
use crate::template::{Layer, VarScope};

/// What every scope of the run shares.
#[derive(Clone)]
pub struct RunVars {
    /// `-e` variables.
    pub extra: Arc<Map<String, Value>>,
    /// The inventory the run was given.
    pub inventory: Arc<Inventory>,
    /// Each host's facts, registered variables and state.
    pub states: HostStates,
    /// Per-host inventory variables, merged once.
    pub host_vars: Arc<HashMap<String, Arc<Map<String, Value>>>>,
    /// `groups`: each group's hosts.
    pub groups: Arc<Map<String, Value>>,
    /// The run-wide magic variables (`ansible_check_mode`, `omit`...).
    pub magic: Arc<Map<String, Value>>,
}

/// The play-level part of a scope: play vars and the hosts in play.
#[derive(Clone)]
pub struct PlayVars {
    pub play: Arc<Play>,
    pub play_hosts: Arc<Vec<String>>,
    /// `vars_prompt` answers: templated ones, and `unsafe` ones.
    pub prompted: Arc<Map<String, Value>>,
    pub prompted_raw: Arc<Map<String, Value>>,
    /// Each host's `vars_files` when some entries are templates.
    pub host_files: Arc<HostVarsFiles>,
}

impl PlayVars {
    pub fn new(play: Arc<Play>, play_hosts: Vec<String>) -> Self {
        PlayVars {
            play,
            play_hosts: Arc::new(play_hosts),
            prompted: Default::default(),
            prompted_raw: Default::default(),
            host_files: Default::default(),
        }
    }

    /// The `vars_files` variables a host sees.
    fn vars_files(&self, host: &str) -> Arc<Map<String, Value>> {
        self.host_files
            .vars(host)
            .unwrap_or_else(|| self.play.vars_files.clone())
    }
}

/// A host's merged `vars_files`, or why they could not be loaded.
type Loaded = Result<Arc<Map<String, Value>>, Arc<VarsFileError>>;

/// Each host's merged `vars_files`.
#[derive(Default)]
pub struct HostVarsFiles {
    hosts: RwLock<HashMap<String, Loaded>>,
}

impl HostVarsFiles {
    /// The host's variables, once loaded.
    pub fn vars(&self, host: &str) -> Option<Arc<Map<String, Value>>> {
        let hosts = self.hosts.read().ok()?;
        hosts.get(host)?.as_ref().ok().cloned()
    }

    /// Why the host's `vars_files` could not be loaded.
    pub fn error(&self, host: &str) -> Option<Arc<VarsFileError>> {
        let hosts = self.hosts.read().ok()?;
        hosts.get(host)?.as_ref().err().cloned()
    }

    /// Records what loading the host's `vars_files` gave.
    pub(super) fn set(&self, host: &str, value: Loaded) {
        if let Ok(mut hosts) = self.hosts.write() {
            hosts.insert(host.to_string(), value);
        }
    }
}

impl RunVars {
    /// The scope for a host: a task (if any) and a loop item (if any) on top.
    pub fn scope(
        &self,
        host: &str,
        pv: &PlayVars,
        task: Option<&Task>,
        item: Option<Map<String, Value>>,
    ) -> VarScope {
        let (facts, registered) = self
            .states
            .read(host, |s| (s.facts.clone(), s.vars.clone()))
            .unwrap_or_default();
        let mut layers = vec![Layer::shared("extra", self.extra.clone())];
        if let Some(item) = item {
            layers.push(Layer::new("loop", item));
        }
        layers.push(Layer::shared("registered", registered).untemplated());
        if let Some(t) = task {
            layers.extend(
                t.attrs
                    .vars
                    .iter()
                    .map(|v| Layer::shared("task", v.clone())),
            );
        }
        layers.push(Layer::shared("vars_files", pv.vars_files(host)));
        layers.push(Layer::shared("vars_prompt", pv.prompted.clone()));
        layers.push(Layer::shared("vars_prompt", pv.prompted_raw.clone()).untemplated());
        layers.push(Layer::shared("play", pv.play.vars.clone()));
        layers.push(Layer::new("facts", facts::as_vars(&facts)).untemplated());
        if let Some(hv) = self.host_vars.get(host) {
            layers.push(Layer::shared("inventory", hv.clone()));
        }
        layers.push(Layer::shared(
            "role_defaults",
            pv.play.role_defaults.clone(),
        ));
        layers.insert(0, Layer::new("magic", self.host_magic(host, pv, task)));
        layers.insert(1, Layer::shared("run_magic", self.magic.clone()));
        let mut scope = VarScope::new(layers);
        scope.set_object(
            "hostvars",
            minijinja::Value::from_object(HostVars {
                run: self.clone(),
                play: pv.clone(),
            }),
        );
        scope
    }

    fn host_magic(&self, host: &str, pv: &PlayVars, task: Option<&Task>) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("inventory_hostname".into(), json!(host));
        m.insert(
            "inventory_hostname_short".into(),
            json!(host.split('.').next().unwrap_or(host)),
        );
        m.insert(
            "group_names".into(),
            json!(self.inventory.group_names(host)),
        );
        m.insert("groups".into(), Value::Object((*self.groups).clone()));
        m.insert("play_hosts".into(), json!(*pv.play_hosts));
        m.insert("ansible_play_hosts".into(), json!(*pv.play_hosts));
        m.insert("ansible_play_batch".into(), json!(*pv.play_hosts));
        m.insert("ansible_play_name".into(), json!(pv.play.name));
        m.insert(
            "playbook_dir".into(),
            json!(pv.play.base_dir.display().to_string()),
        );
        if let Some(t) = task {
            if let Some(role) = &t.role {
                m.insert("role_name".into(), json!(role.name));
                m.insert("role_path".into(), json!(role.path.display().to_string()));
            }
            let paths: Vec<String> = t
                .search_paths
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            m.insert("oplay_search_paths".into(), json!(paths));
        }
        m
    }
}

/// `hostvars[name]`: another host's variables, resolved lazily.
#[derive(Clone)]
struct HostVars {
    run: RunVars,
    play: PlayVars,
}

impl std::fmt::Debug for HostVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("hostvars")
    }
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        let host = key.as_str()?;
        self.run.states.get(host)?;
        let scope = self.run.scope(host, &self.play, None, None);
        Some(scope.into_value())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let names = self.run.inventory.host_names();
        Enumerator::Values(names.into_iter().map(minijinja::Value::from).collect())
    }
}
