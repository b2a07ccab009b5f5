//! `throttle:` — at most N hosts run a task at once, below `forks`.
//!
//! One gate per task (or per play's fact gathering), kept for the run so
//! that the hosts of the free strategy, which reach a task each on its
//! own, share it too.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::{Executor, KeywordError};
use crate::playbook::Inherited;

impl Executor {
    /// The gate for `key` when the keyword sets a limit; `scope` renders a
    /// templated value. An error when it is not a whole number.
    pub(super) fn throttle_gate(
        &self,
        key: &str,
        attrs: &Inherited,
        scope: &minijinja::Value,
    ) -> Result<Option<Arc<Semaphore>>, KeywordError> {
        let Some(value) = &attrs.throttle else {
            return Ok(None);
        };
        let rendered = self
            .templar
            .render_value(value, scope)
            .map_err(KeywordError::ThrottleTemplate)?;
        let limit = crate::value::to_int(&rendered)
            .filter(|n| *n >= 0)
            .ok_or_else(|| KeywordError::Throttle(rendered.clone()))?;
        if limit == 0 {
            return Ok(None);
        }
        let mut gates = self.throttles.lock().map_err(|_| KeywordError::Poisoned)?;
        let gate = gates
            .entry(key.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(limit as usize)));
        Ok(Some(gate.clone()))
    }
}
