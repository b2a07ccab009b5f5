//! The wall-clock and memory limits of a script call, checked between
//! the script's operations (`Engine::on_progress`).
//!
//! Rhai's own size limits (longest string, largest array or map) are not
//! used: Rhai enforces them by walking the whole value after every call
//! that may change it, so `a.push(x)` costs the length of `a` and 200,000
//! pushes took a minute. Memory is counted instead, per thread, by
//! [`CountingAllocator`] (the binary installs it): a script runs on a
//! thread of its own, and what that thread holds beyond what it held when
//! the call started is what the script holds. Functions that make a value
//! of a size given in one operation (`pad`, `blob`) check the size first.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rhai::Dynamic;

/// How long one call into a script may run when its task sets no
/// `timeout:`.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(300);

/// How much memory one call into a script may hold.
pub const MAX_MEMORY: i64 = 256 * 1024 * 1024;

/// What `on_progress` gives Rhai to stop a script, told apart in messages.
pub const STOPPED_TIME: &str = "__oplay_time_limit__";
/// The token of a script stopped for its memory.
pub const STOPPED_MEMORY: &str = "__oplay_memory_limit__";
/// The token of a script stopped because its task was cancelled.
pub const STOPPED_CANCELLED: &str = "__oplay_cancelled__";

/// Operations between two looks at the clock.
const CLOCK_EVERY: u64 = 256;

thread_local! {
    static ALLOCATED: Cell<i64> = const { Cell::new(0) };
    static BUDGET: Cell<Option<Limits>> = const { Cell::new(None) };
    static CANCELLED: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

#[derive(Clone, Copy)]
struct Limits {
    deadline: Instant,
    seconds: u64,
    memory_base: i64,
}

/// Counts what each thread allocates and frees, on top of the system
/// allocator.
pub struct CountingAllocator;

// SAFETY: every call is passed to the system allocator unchanged; the
// counter is a thread-local `Cell` with a const initializer, which neither
// allocates nor registers a destructor.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as i64));
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as i64 - layout.size() as i64);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count(bytes: i64) {
    let _ = ALLOCATED.try_with(|a| a.set(a.get().wrapping_add(bytes)));
}

fn allocated() -> i64 {
    ALLOCATED.try_with(Cell::get).unwrap_or(0)
}

/// The limits of one script call on this thread, lifted when dropped.
pub struct Budget(());

impl Budget {
    /// Starts a call that may run for `time` and stops early once
    /// `cancelled` is set (its task timed out or the run was interrupted).
    pub fn start(time: Duration, cancelled: Arc<AtomicBool>) -> Self {
        let limits = Limits {
            deadline: Instant::now() + time,
            seconds: time.as_secs_f64().ceil() as u64,
            memory_base: allocated(),
        };
        BUDGET.with(|b| b.set(Some(limits)));
        CANCELLED.with(|c| *c.borrow_mut() = Some(cancelled));
        Budget(())
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        BUDGET.with(|b| b.set(None));
        CANCELLED.with(|c| *c.borrow_mut() = None);
    }
}

/// The `on_progress` callback: `Some` stops the script.
pub fn on_progress(ops: u64) -> Option<Dynamic> {
    let limits = BUDGET.with(Cell::get)?;
    if allocated() - limits.memory_base > MAX_MEMORY {
        return Some(STOPPED_MEMORY.into());
    }
    if ops % CLOCK_EVERY != 0 {
        return None;
    }
    let cancelled = CANCELLED.with(|c| {
        c.borrow()
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    });
    if cancelled {
        return Some(STOPPED_CANCELLED.into());
    }
    (Instant::now() > limits.deadline).then(|| format!("{STOPPED_TIME}{}", limits.seconds).into())
}

/// The message for a script that `on_progress` stopped with `token`.
pub fn stopped_message(token: &Dynamic) -> String {
    let token = token.to_string();
    if let Some(secs) = token.strip_prefix(STOPPED_TIME) {
        return format!(
            "the script ran for more than {secs} seconds and was stopped (an endless loop?); the task's `timeout:` sets this limit"
        );
    }
    match token.as_str() {
        STOPPED_MEMORY => format!(
            "the script's data grew beyond the script limits (more than {} MiB of memory)",
            MAX_MEMORY / (1024 * 1024)
        ),
        STOPPED_CANCELLED => {
            "the script was stopped: its task timed out or the run was interrupted".into()
        }
        _ => token,
    }
}

/// A value a script asked for that would not fit the memory limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a value of {items} items would grow beyond the script limits (more than {} MiB)",
    MAX_MEMORY / (1024 * 1024)
)]
pub struct SizeError {
    /// How many items it would hold.
    pub items: i64,
}

/// Refuses to make a value of `items` items of `item_bytes` bytes each
/// that would not fit the memory limit.
pub fn check_size(items: i64, item_bytes: usize) -> Result<(), SizeError> {
    let bytes = i128::from(items.max(0)) * item_bytes as i128;
    if bytes > i128::from(MAX_MEMORY) {
        return Err(SizeError { items });
    }
    Ok(())
}
