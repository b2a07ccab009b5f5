//! Bookkeeping of the render in progress on this thread.
//!
//! minijinja asks [`VarScope`](super::VarScope) for variables through
//! `Object::get_value`, which can return neither an error nor a reason for
//! a miss. This module is the side channel: the templar that is rendering
//! (so a templated variable renders with the same environment), the
//! variables being resolved (to detect `a: "{{ a }}"`), the last name that
//! was looked up and not found (to name it in "'x' is undefined"), and an
//! error raised while resolving a variable (to report it unchanged).
//! Rendering is synchronous, so a thread-local is exact. Not for anything
//! that outlives one top-level render.

use std::cell::RefCell;

use super::{Probe, Templar, TemplarOptions, TemplateError};

#[derive(Default)]
struct Active {
    templars: Vec<Templar>,
    /// `(scope identity, variable path)` of the variables being rendered.
    resolving: Vec<(usize, String)>,
    missing: Option<(String, String)>,
    pending: Option<TemplateError>,
    /// The probes ([`Templar::eval_probe`]) under way, innermost last.
    probes: Vec<Probe>,
}

thread_local! {
    static ACTIVE: RefCell<Active> = RefCell::new(Active::default());
}

/// Marks a templar as rendering until dropped.
pub(crate) struct RenderGuard(());

impl RenderGuard {
    pub(crate) fn enter(templar: &Templar) -> RenderGuard {
        ACTIVE.with(|a| {
            let mut a = a.borrow_mut();
            if a.templars.is_empty() {
                // A new top-level render: forget what the last one left.
                a.missing = None;
                a.pending = None;
            }
            a.templars.push(templar.clone());
        });
        RenderGuard(())
    }
}

impl Drop for RenderGuard {
    fn drop(&mut self) {
        ACTIVE.with(|a| {
            a.borrow_mut().templars.pop();
        });
    }
}

/// The templar rendering on this thread, or a default one when a scope is
/// read outside any render (e.g. serialized for a dump).
pub(crate) fn current_templar() -> Templar {
    let active = ACTIVE.with(|a| a.borrow().templars.last().cloned());
    active.unwrap_or_else(|| {
        static DEFAULT: std::sync::OnceLock<Templar> = std::sync::OnceLock::new();
        DEFAULT
            .get_or_init(|| Templar::new(TemplarOptions::default()))
            .clone()
    })
}

/// Remembers a name that was looked up and not found, with a note on
/// where it was needed (may be empty).
pub(crate) fn note_missing(name: String, context: String) {
    ACTIVE.with(|a| a.borrow_mut().missing = Some((name, context)));
}

/// Forgets the last miss: a lookup that follows it succeeded, so the
/// miss is not what a later error is about.
pub(crate) fn clear_missing() {
    ACTIVE.with(|a| {
        if let Ok(mut a) = a.try_borrow_mut() {
            a.missing = None;
        }
    });
}

/// The last name that was looked up and not found, if any.
pub(crate) fn take_missing() -> Option<(String, String)> {
    ACTIVE.with(|a| a.borrow_mut().missing.take())
}

/// The last name that was looked up and not found, left in place.
pub(crate) fn peek_missing() -> Option<String> {
    ACTIVE.with(|a| a.borrow().missing.as_ref().map(|(name, _)| name.clone()))
}

/// Keeps an error raised while resolving a variable, for the render that
/// asked for the variable to report.
pub(crate) fn set_pending(err: TemplateError) {
    ACTIVE.with(|a| a.borrow_mut().pending = Some(err));
}

pub(crate) fn take_pending() -> Option<TemplateError> {
    ACTIVE.with(|a| a.borrow_mut().pending.take())
}

/// Marks a probe as under way until dropped.
pub(crate) struct ProbeGuard(());

impl ProbeGuard {
    pub(crate) fn enter(probe: Probe) -> ProbeGuard {
        ACTIVE.with(|a| a.borrow_mut().probes.push(probe));
        ProbeGuard(())
    }
}

impl Drop for ProbeGuard {
    fn drop(&mut self) {
        ACTIVE.with(|a| {
            a.borrow_mut().probes.pop();
        });
    }
}

/// The strictest probe under way on this thread, if any.
pub(crate) fn probing() -> Option<Probe> {
    ACTIVE.with(|a| {
        a.try_borrow()
            .ok()
            .and_then(|a| a.probes.iter().copied().max())
    })
}

/// Marks a variable as being rendered until dropped.
pub(crate) struct ResolveGuard(());

impl ResolveGuard {
    /// Fails when the variable is already being rendered: its template
    /// refers to itself, directly or through others.
    pub(crate) fn enter(scope_id: usize, path: &str) -> Result<ResolveGuard, TemplateError> {
        ACTIVE.with(|a| {
            let mut a = a.borrow_mut();
            if a.resolving
                .iter()
                .any(|(id, p)| *id == scope_id && p == path)
            {
                return Err(TemplateError::Recursion {
                    name: path.to_string(),
                });
            }
            a.resolving.push((scope_id, path.to_string()));
            Ok(ResolveGuard(()))
        })
    }
}

impl Drop for ResolveGuard {
    fn drop(&mut self) {
        ACTIVE.with(|a| {
            a.borrow_mut().resolving.pop();
        });
    }
}
