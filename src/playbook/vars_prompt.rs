//! Parsing a play's `vars_prompt` and `vars_files` entries.
//!
//! `vars_prompt` keeps Ansible's keys that oplay honours (`name`, `prompt`,
//! `default`, `private`, `confirm`, `unsafe`); `encrypt`, `salt` and
//! `salt_size` hash the answer with passlib, which oplay has not, so they
//! are refused. Asking happens in the executor, through the terminal.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::PlaybookError;
use super::loader::Loader;
use super::model::{VarsFile, VarsPrompt};
use super::task::{boolean, invalid, scalar};
use crate::source::yaml::{Node, NodeKind};
use crate::source::{Diagnostic, did_you_mean};
use crate::template::Templar;

const PROMPT_KEYS: &[&str] = &["name", "prompt", "default", "private", "confirm", "unsafe"];

/// `vars_prompt:` — a list of mappings, each naming its variable.
pub(crate) fn vars_prompt(node: &Node) -> Result<Vec<VarsPrompt>, PlaybookError> {
    let items = match &node.kind {
        NodeKind::Null => return Ok(Vec::new()),
        NodeKind::Seq(items) => items,
        _ => {
            return Err(invalid(
                format!("`vars_prompt` must be a list, found {}", node.type_name()),
                &node.span,
            ));
        }
    };
    items.iter().map(entry).collect()
}

fn entry(node: &Node) -> Result<VarsPrompt, PlaybookError> {
    let Some(pairs) = node.as_map() else {
        return Err(invalid(
            format!(
                "a `vars_prompt` entry must be a mapping, found {}",
                node.type_name()
            ),
            &node.span,
        ));
    };
    let mut p = VarsPrompt {
        name: String::new(),
        prompt: None,
        default: None,
        private: true,
        confirm: false,
        unsafe_: false,
        span: node.span.clone(),
    };
    for (k, v) in pairs {
        let key = k.key_string();
        match key.as_str() {
            "name" => p.name = scalar(v, "name")?,
            "prompt" => p.prompt = Some(scalar(v, "prompt")?),
            "default" => p.default = Some(scalar(v, "default")?),
            "private" => p.private = boolean(v, "private")?,
            "confirm" => p.confirm = boolean(v, "confirm")?,
            "unsafe" => p.unsafe_ = boolean(v, "unsafe")?,
            "encrypt" | "salt" | "salt_size" => {
                return Err(invalid(
                    format!(
                        "`{key}` in `vars_prompt` is not supported; oplay does not hash prompted values"
                    ),
                    &k.span,
                ));
            }
            other => {
                let mut d = Diagnostic::new(
                    format!("unknown `vars_prompt` key `{other}`"),
                    Some(k.span.clone()),
                );
                if let Some(s) = did_you_mean(other, PROMPT_KEYS.iter().copied()) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                return Err(PlaybookError::Invalid(d));
            }
        }
    }
    if p.name.trim().is_empty() {
        return Err(invalid(
            "this `vars_prompt` entry has no `name`",
            &node.span,
        ));
    }
    Ok(p)
}

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
