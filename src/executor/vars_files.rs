//! `vars_files` entries that are templates (`"{{ os }}.yml"`), loaded per
//! host at the start of each batch and again once facts are gathered.
//!
//! As in ansible-core, a name that cannot be rendered yet for lack of a
//! variable is skipped with a warning until facts are gathered; after
//! that it is an error. Unlike ansible-core, which skips a missing file
//! silently, a rendered name that matches no file fails the host with the
//! names it tried: the fixed entries of `vars_files` are checked the same
//! way at load time. A failed host fails at its first task.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::scope::PlayVars;
use super::{Executor, VarsFileError};
use crate::playbook::VarsFile;
use crate::source::{SourceFile, Span, yaml};
use crate::template::TemplateError;

/// What one templated entry gave.
enum Entry {
    Vars(Map<String, Value>),
    /// A variable the name needs is not defined (yet).
    Undefined(String),
}

impl Executor {
    /// Loads the play's `vars_files` for each host. `facts_known`: facts
    /// have been gathered, so an undefined variable is an error now.
    pub(super) fn load_vars_files(&self, pv: &PlayVars, hosts: &[String], facts_known: bool) {
        let play = &pv.play;
        if !play
            .vars_files_entries
            .iter()
            .any(|e| matches!(e, VarsFile::Dynamic { .. }))
        {
            return;
        }
        for host in hosts {
            if pv.host_files.error(host).is_some() {
                continue;
            }
            let result = self.host_vars_files(pv, host, facts_known);
            pv.host_files
                .set(host, result.map(Arc::new).map_err(Arc::new));
        }
    }

    fn host_vars_files(
        &self,
        pv: &PlayVars,
        host: &str,
        facts_known: bool,
    ) -> Result<Map<String, Value>, VarsFileError> {
        let scope = self.run.scope(host, pv, None, None).into_value();
        let mut merged = Map::new();
        for entry in &pv.play.vars_files_entries {
            let (candidates, span) = match entry {
                VarsFile::Loaded(m) => {
                    merged.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
                    continue;
                }
                VarsFile::Dynamic { candidates, span } => (candidates, span),
            };
            match self.dynamic_entry(candidates, span, &scope, &pv.play.base_dir)? {
                Entry::Vars(m) => merged.extend(m),
                Entry::Undefined(why) if facts_known => {
                    return Err(VarsFileError::Undefined {
                        entry: candidates.join(", "),
                        why,
                        location: span.location(),
                    });
                }
                Entry::Undefined(why) => {
                    if !pv.play.gather_facts {
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
    ) -> Result<Entry, VarsFileError> {
        let mut tried = Vec::new();
        for c in candidates {
            let name = match self.templar.render_str(c, scope) {
                Ok(n) => n,
                Err(e @ TemplateError::Undefined { .. }) => {
                    return Ok(Entry::Undefined(e.to_string()));
                }
                Err(source) => {
                    return Err(VarsFileError::Render {
                        name: c.clone(),
                        location: span.location(),
                        source,
                    });
                }
            };
            let path = base.join(&name);
            if path.is_file() {
                return read_vars_file(&path, span).map(Entry::Vars);
            }
            tried.push(path.display().to_string());
        }
        Err(VarsFileError::NotFound {
            entry: candidates.join(", "),
            tried: tried.join(", "),
            location: span.location(),
        })
    }
}

fn read_vars_file(path: &Path, span: &Span) -> Result<Map<String, Value>, VarsFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| VarsFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let root = yaml::parse(&SourceFile::new(path, text))?;
    match root.to_value() {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(VarsFileError::NotMapping {
            path: path.to_path_buf(),
            location: span.location(),
        }),
    }
}
