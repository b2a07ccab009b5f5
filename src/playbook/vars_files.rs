//! Loading a play's `vars_files` entries: fixed names now, templated ones
//! handed to the executor to load per host. Not for the variables' use:
//! that is the executor's and the templates'.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::PlaybookError;
use super::loader::Loader;
use super::model::VarsFile;
use super::node::{invalid, scalar};
use crate::source::yaml::Node;
use crate::template::Templar;

impl Loader {
    /// `vars_files`: fixed names are loaded now; an entry with a template
    /// is loaded per host at run time. An entry may be a list of names, of
    /// which the first that exists is read.
    pub(crate) fn vars_files(
        &mut self,
        node: Option<&Node>,
        base: &Path,
    ) -> Result<(Map<String, Value>, Vec<VarsFile>), PlaybookError> {
        let mut merged = Map::new();
        let mut entries = Vec::new();
        let Some(node) = node else {
            return Ok((merged, entries));
        };
        for item in node.as_seq().unwrap_or(std::slice::from_ref(node)) {
            let candidates: Vec<String> = match item.as_seq() {
                Some(list) => list
                    .iter()
                    .map(|n| scalar(n, "vars_files"))
                    .collect::<Result<_, _>>()?,
                None => vec![scalar(item, "vars_files")?],
            };
            if candidates.iter().any(|c| Templar::is_template(c)) {
                entries.push(VarsFile::Dynamic {
                    candidates,
                    span: item.span.clone(),
                });
                continue;
            }
            let map = self.first_vars_file(&candidates, base, item)?;
            merged.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
            entries.push(VarsFile::Loaded(Arc::new(map)));
        }
        Ok((merged, entries))
    }

    fn first_vars_file(
        &mut self,
        candidates: &[String],
        base: &Path,
        item: &Node,
    ) -> Result<Map<String, Value>, PlaybookError> {
        let found = match candidates {
            [one] => one,
            _ => candidates
                .iter()
                .find(|c| base.join(c).is_file())
                .ok_or_else(|| {
                    invalid(
                        format!(
                            "none of the vars files {} was found in {}",
                            candidates.join(", "),
                            base.display()
                        ),
                        &item.span,
                    )
                })?,
        };
        let root = self.load_yaml(&base.join(found), Some(&item.span))?;
        match root.to_value() {
            Value::Object(m) => Ok(m),
            Value::Null => Ok(Map::new()),
            _ => Err(invalid(
                format!("vars file `{found}` must hold a mapping"),
                &root.span,
            )),
        }
    }
}
