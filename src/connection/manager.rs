//! Hands out one connection per host, opened on first use and reused.
//! (Local-only placeholder until the SSH connection lands.)

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OnceCell};

use super::local::LocalConnection;
use super::{Connection, ConnectionError};
use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    Local,
    Ssh,
}

/// How to reach one host, from its connection variables.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    pub kind: ConnectionKind,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub private_key: Option<PathBuf>,
    pub password: Option<Secret>,
    pub known_hosts: Option<PathBuf>,
    pub host_key_checking: bool,
    pub connect_timeout: Duration,
    pub retries: u32,
}

type Slot = Arc<OnceCell<Result<Arc<dyn Connection>, Arc<ConnectionError>>>>;

#[derive(Default)]
pub struct ConnectionManager {
    slots: Mutex<HashMap<String, Slot>>,
}

impl ConnectionManager {
    pub fn new(_per_target: usize) -> Self {
        ConnectionManager::default()
    }

    pub async fn get(
        &self,
        host: &str,
        settings: &ConnectionSettings,
    ) -> Result<Arc<dyn Connection>, Arc<ConnectionError>> {
        let slot = {
            let mut slots = self.slots.lock().await;
            slots.entry(host.to_string()).or_default().clone()
        };
        slot.get_or_init(|| async {
            match settings.kind {
                ConnectionKind::Local => {
                    Ok(Arc::new(LocalConnection::new()) as Arc<dyn Connection>)
                }
                ConnectionKind::Ssh => Err(Arc::new(ConnectionError::Unreachable {
                    target: settings.address.clone(),
                    reason: "ssh is not available yet".into(),
                })),
            }
        })
        .await
        .clone()
    }

    pub async fn close_all(&self) {}
}
