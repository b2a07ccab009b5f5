//! Reading typed values out of YAML nodes for the playbook loader: a
//! scalar, a boolean, a string list, a mapping, each refused with the
//! node's file:line:col. Shared by the play, task, role and keyword
//! parsers; not for anything about what a keyword means.

use serde_json::{Map, Value};

use super::PlaybookError;
use crate::source::yaml::{Node, NodeKind};
use crate::source::{Diagnostic, Span};

/// A load error at `span`.
pub(crate) fn invalid(msg: impl Into<String>, span: &Span) -> PlaybookError {
    PlaybookError::Invalid(Diagnostic::new(msg, Some(span.clone())))
}

/// A string or a list of strings (`tags: a` or `tags: [a, b]`).
pub(crate) fn string_list(node: &Node, what: &str) -> Result<Vec<String>, PlaybookError> {
    match &node.kind {
        NodeKind::Null => Ok(Vec::new()),
        NodeKind::Seq(items) => items.iter().map(|i| scalar(i, what)).collect(),
        _ => Ok(vec![scalar(node, what)?]),
    }
}

/// A scalar as text; booleans as Jinja reads them in conditions.
pub(crate) fn scalar(node: &Node, what: &str) -> Result<String, PlaybookError> {
    match &node.kind {
        NodeKind::Str(s) => Ok(s.clone()),
        NodeKind::Bool(b) => Ok(if *b { "true" } else { "false" }.into()),
        NodeKind::Int(i) => Ok(i.to_string()),
        NodeKind::Float(f) => Ok(f.to_string()),
        _ => Err(invalid(
            format!("`{what}` must be a string, found {}", node.type_name()),
            &node.span,
        )),
    }
}

/// A boolean as Ansible spells them (`yes`, `no`, `true`, `false`).
pub(crate) fn boolean(node: &Node, what: &str) -> Result<bool, PlaybookError> {
    crate::value::parse_bool(&node.to_value()).ok_or_else(|| {
        invalid(
            format!(
                "`{what}` must be a boolean (yes/no/true/false), found {}",
                node.type_name()
            ),
            &node.span,
        )
    })
}

/// A mapping (empty when the value is null).
pub(crate) fn mapping(node: &Node, what: &str) -> Result<Map<String, Value>, PlaybookError> {
    match node.to_value() {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(invalid(
            format!("`{what}` must be a mapping, found {}", node.type_name()),
            &node.span,
        )),
    }
}
