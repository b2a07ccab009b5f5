//! Parsing a play's `vars_prompt` entries.
//!
//! `vars_prompt` keeps Ansible's keys that oplay honours (`name`, `prompt`,
//! `default`, `private`, `confirm`, `unsafe`); `encrypt`, `salt` and
//! `salt_size` hash the answer with passlib, which oplay has not, so they
//! are refused. Asking happens in the executor, through the terminal.

use super::PlaybookError;
use super::model::VarsPrompt;
use super::node::{boolean, invalid, scalar};
use crate::source::yaml::{Node, NodeKind};
use crate::source::{Diagnostic, did_you_mean};

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
