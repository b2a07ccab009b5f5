//! `vars_files` entries that are templates (`"{{ os }}.yml"`), loaded per
//! host at the start of each batch and again once facts are gathered.
//!
//! As in ansible-core, a name that cannot be rendered yet for lack of a
//! variable is skipped with a warning until facts are gathered; after
//! that it is an error. Unlike ansible-core, which skips a missing file
//! silently, a rendered name that matches no file fails the host with the
//! names it tried: the fixed entries of `vars_files` are checked the same
//! way at load time. A failed host fails at its first task.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use super::Executor;
use super::play::BatchCtx;
use crate::playbook::VarsFile;
use crate::source::{SourceFile, Span, yaml};
use crate::template::TemplateError;

/// A host's merged `vars_files`, or why they could not be loaded.
type Loaded = Result<Arc<Map<String, Value>>, String>;

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
    pub fn error(&self, host: &str) -> Option<String> {
        let hosts = self.hosts.read().ok()?;
        hosts.get(host)?.as_ref().err().cloned()
    }

    fn set(&self, host: &str, value: Loaded) {
        if let Ok(mut hosts) = self.hosts.write() {
            hosts.insert(host.to_string(), value);
        }
    }
}

/// What one templated entry gave.
enum Entry {
    Vars(Map<String, Value>),
    /// A variable the name needs is not defined (yet).
    Undefined(String),
}

impl Executor {
    /// Loads the play's `vars_files` for each host. `facts_known`: facts
    /// have been gathered, so an undefined variable is an error now.
    pub(super) fn load_vars_files(&self, bc: &BatchCtx, hosts: &[String], facts_known: bool) {
        let play = &bc.pv.play;
        if !play
            .vars_files_entries
            .iter()
            .any(|e| matches!(e, VarsFile::Dynamic { .. }))
        {
            return;
        }
        for host in hosts {
            if bc.pv.host_files.error(host).is_some() {
                continue;
            }
            let result = self.host_vars_files(bc, host, facts_known);
            bc.pv.host_files.set(host, result.map(Arc::new));
        }
    }

    fn host_vars_files(
        &self,
        bc: &BatchCtx,
        host: &str,
        facts_known: bool,
    ) -> Result<Map<String, Value>, String> {
        let scope = self.run.scope(host, &bc.pv, None, None).into_value();
        let mut merged = Map::new();
        for entry in &bc.pv.play.vars_files_entries {
            let (candidates, span) = match entry {
                VarsFile::Loaded(m) => {
                    merged.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
                    continue;
                }
                VarsFile::Dynamic { candidates, span } => (candidates, span),
            };
            match self.dynamic_entry(candidates, span, &scope, &bc.pv.play.base_dir)? {
                Entry::Vars(m) => merged.extend(m),
                Entry::Undefined(why) if facts_known => {
                    return Err(format!(
                        "an undefined variable was found when attempting to template the vars_files entry `{}`: {why} (at {})",
                        candidates.join(", "),
                        span.location()
                    ));
                }
                Entry::Undefined(why) => {
                    if !bc.pv.play.gather_facts {
                        self.reporter.warning(&format!(
                            "{}: skipping vars_files entry `{}` due to an undefined variable: {why}",
                            span.location(),
                            candidates.join(", ")
                        ));
                    }
                }
            }
        }
        Ok(merged)
    }

    /// Renders an entry's names and reads the first file that exists.
    fn dynamic_entry(
        &self,
        candidates: &[String],
        span: &Span,
        scope: &minijinja::Value,
        base: &Path,
    ) -> Result<Entry, String> {
        let mut tried = Vec::new();
        for c in candidates {
            let name = match self.templar.render_str(c, scope) {
                Ok(n) => n,
                Err(e @ TemplateError::Undefined { .. }) => {
                    return Ok(Entry::Undefined(e.to_string()));
                }
                Err(e) => {
                    return Err(format!(
                        "vars_files entry `{c}` at {}: {e}",
                        span.location()
                    ));
                }
            };
            let path = base.join(&name);
            if path.is_file() {
                return read_vars_file(&path, span).map(Entry::Vars);
            }
            tried.push(path.display().to_string());
        }
        Err(format!(
            "vars file `{}` not found (looked for {}; vars_files entry at {})",
            candidates.join(", "),
            tried.join(", "),
            span.location()
        ))
    }
}

fn read_vars_file(path: &Path, span: &Span) -> Result<Map<String, Value>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("could not read vars file {}: {e}", path.display()))?;
    let root = yaml::parse(&SourceFile::new(path, text)).map_err(|d| d.to_string())?;
    match root.to_value() {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(format!(
            "vars file {} (vars_files entry at {}) must hold a mapping",
            path.display(),
            span.location()
        )),
    }
}
