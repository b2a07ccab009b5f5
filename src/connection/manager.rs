//! Hands out one connection per inventory host (and per way of reaching
//! it: local or SSH, and the login user), opened on first use and kept for
//! the whole run.
//!
//! Concurrent callers for the same host share one handshake. Handshakes to
//! one address:port are throttled, because sshd's default `MaxStartups
//! 10:30:100` randomly drops connections beyond ten unauthenticated ones: 50
//! inventory aliases of one machine must all get in. A host whose connection
//! failed stays failed for the run, and later callers get the same error at
//! once. Not for choosing what to connect to: the executor fills
//! [`ConnectionSettings`] from the inventory variables.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OnceCell, Semaphore};

use super::local::LocalConnection;
use super::settings::{ConnectionKind, ConnectionSettings};
use super::ssh::SshConnection;
use super::{Connection, ConnectionError};

/// Handshakes in flight per address:port. Below sshd's `MaxStartups` start
/// value (10) with some room: sshd counts a connection as unauthenticated
/// until its child reports back, slightly after the client sees success.
pub const MAX_HANDSHAKES_PER_TARGET: usize = 8;

type Slot = Arc<OnceCell<Result<Arc<dyn Connection>, ConnectionError>>>;

/// The run's connections, one per inventory host name.
#[derive(Default)]
pub struct ConnectionManager {
    hosts: Mutex<HashMap<String, Slot>>,
    gates: Mutex<HashMap<String, Arc<Semaphore>>>,
    ssh: Mutex<Vec<Arc<SshConnection>>>,
    handshakes: AtomicUsize,
    attempts: AtomicUsize,
}

impl ConnectionManager {
    /// No connection open yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The connection of inventory host `host`, opened with `settings` by
    /// the first caller. A task with another `connection:` or another login
    /// user (`remote_user:`) gets a connection of its own; other settings
    /// of later callers for the same host are ignored.
    pub async fn get(
        &self,
        host: &str,
        settings: &ConnectionSettings,
    ) -> Result<Arc<dyn Connection>, ConnectionError> {
        let key = format!(
            "{host}\0{:?}\0{}",
            settings.kind,
            settings.user.as_deref().unwrap_or("")
        );
        let slot = {
            let mut hosts = lock(&self.hosts);
            Arc::clone(hosts.entry(key).or_default())
        };
        slot.get_or_init(|| self.open(settings)).await.clone()
    }

    /// SSH sessions successfully opened so far.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::Relaxed)
    }

    /// SSH connection attempts so far, retries included.
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::Relaxed)
    }

    /// Closes every SSH session and forgets every host.
    pub async fn close_all(&self) {
        let sessions: Vec<Arc<SshConnection>> = std::mem::take(&mut *lock(&self.ssh));
        lock(&self.hosts).clear();
        for s in sessions {
            s.close().await;
        }
    }

    async fn open(
        &self,
        settings: &ConnectionSettings,
    ) -> Result<Arc<dyn Connection>, ConnectionError> {
        if settings.kind == ConnectionKind::Local {
            return Ok(Arc::new(LocalConnection::new()));
        }
        let gate = {
            let mut gates = lock(&self.gates);
            Arc::clone(
                gates
                    .entry(settings.target())
                    .or_insert_with(|| Arc::new(Semaphore::new(MAX_HANDSHAKES_PER_TARGET))),
            )
        };
        let result = SshConnection::connect_gated(settings, Some(&gate)).await;
        let conn = match result {
            Ok(c) => c,
            Err((e, attempts)) => {
                self.attempts
                    .fetch_add(attempts as usize, Ordering::Relaxed);
                return Err(e);
            }
        };
        self.attempts
            .fetch_add(conn.attempts() as usize, Ordering::Relaxed);
        self.handshakes.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(conn);
        lock(&self.ssh).push(Arc::clone(&conn));
        Ok(conn)
    }
}

/// A poisoned lock only means another task panicked while holding it; the
/// maps stay usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::ExecRequest;

    #[tokio::test]
    async fn local_hosts_share_nothing_but_work() {
        let m = ConnectionManager::new();
        let c = m
            .get("localhost", &ConnectionSettings::local())
            .await
            .unwrap();
        let out = c.exec(&ExecRequest::shell("echo hi")).await.unwrap();
        assert_eq!(out.stdout, "hi\n");
        assert_eq!(m.handshakes(), 0);
    }

    #[tokio::test]
    async fn a_failed_host_stays_failed() {
        // Port 1 on loopback refuses at once.
        let m = ConnectionManager::new();
        let mut s = ConnectionSettings::ssh("127.0.0.1", 1);
        s.retries = 0;
        let first = m.get("h", &s).await.err().unwrap();
        assert!(first.is_unreachable(), "{first}");
        let again = m.get("h", &s).await.err().unwrap();
        assert_eq!(first.to_string(), again.to_string());
        assert_eq!(m.attempts(), 1);
    }
}
