//! Temporary files that a write has created and not yet renamed, so that
//! an interrupted run (SIGINT) can remove them before it exits.
//!
//! Each write holds a [`TempFile`] guard while its temporary file exists;
//! [`remove_all`] deletes what the guards still hold. Writes on a remote
//! host register a command that removes the file there; the shell that
//! writes through `become` also traps the signals itself.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where a registered temporary file lives.
#[derive(Debug, Clone)]
enum Place {
    Local(String),
}

static LIVE: Mutex<BTreeMap<u64, Place>> = Mutex::new(BTreeMap::new());
static NEXT: AtomicU64 = AtomicU64::new(1);

/// Keeps a temporary file registered while it exists.
#[derive(Debug)]
pub struct TempFile {
    id: u64,
}

impl TempFile {
    /// Registers a temporary file on the control node.
    pub fn local(path: &str) -> TempFile {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut live) = LIVE.lock() {
            live.insert(id, Place::Local(path.to_string()));
        }
        TempFile { id }
    }
}

impl TempFile {
    /// The file was renamed into place (or removed): forget it.
    pub fn done(self) {
        if let Ok(mut live) = LIVE.lock() {
            live.remove(&self.id);
        }
        std::mem::forget(self);
    }
}

/// Dropped without [`TempFile::done`] (its write was cancelled midway),
/// the guard removes the file.
impl Drop for TempFile {
    fn drop(&mut self) {
        let place = LIVE.lock().ok().and_then(|mut live| live.remove(&self.id));
        if let Some(Place::Local(p)) = place {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Work started when a task was cancelled midway (stopping its command on
/// the host, removing its temporary file there), still running.
static PENDING: AtomicU64 = AtomicU64::new(0);

/// Runs `work` in the background and counts it until it is done, so that
/// [`settle`] can wait for it before the process exits.
pub fn spawn<F>(work: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    PENDING.fetch_add(1, Ordering::SeqCst);
    rt.spawn(async move {
        work.await;
        PENDING.fetch_sub(1, Ordering::SeqCst);
    });
}

/// Waits until the work of [`spawn`] is done, at most `limit`.
pub async fn settle(limit: std::time::Duration) {
    let end = tokio::time::Instant::now() + limit;
    while PENDING.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < end {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Removes every temporary file still registered; returns how many.
pub fn remove_all() -> usize {
    let Ok(mut live) = LIVE.lock() else {
        return 0;
    };
    let mut n = 0;
    for (_, place) in std::mem::take(&mut *live) {
        match place {
            Place::Local(p) => {
                if std::fs::remove_file(&p).is_ok() {
                    n += 1;
                }
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_what_is_still_registered() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("kept");
        let gone = dir.path().join("gone");
        std::fs::write(&kept, "x").unwrap();
        std::fs::write(&gone, "x").unwrap();
        TempFile::local(kept.to_str().unwrap()).done();
        let _live = TempFile::local(gone.to_str().unwrap());
        assert!(remove_all() >= 1);
        assert!(kept.exists());
        assert!(!gone.exists());
        let dropped = dir.path().join("dropped");
        std::fs::write(&dropped, "x").unwrap();
        drop(TempFile::local(dropped.to_str().unwrap()));
        assert!(!dropped.exists());
    }
}
