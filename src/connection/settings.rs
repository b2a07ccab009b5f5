//! What it takes to open one host's connection: how the host is reached,
//! its address, the login and its timeouts. The executor fills these from
//! the inventory variables; the manager and the SSH handshake read them.
//! Not for opening anything.

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

/// How a host is reached (`ansible_connection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    /// The control node itself (`ansible_connection=local`).
    Local,
    /// SSH (`ansible_connection=ssh`, the default).
    Ssh,
}

/// How to log in over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshAuth {
    /// `~/.ssh/id_ed25519`, then `~/.ssh/id_rsa`, then the ssh-agent.
    Default,
    /// A private key file without passphrase (`ansible_ssh_private_key_file`).
    KeyFile(PathBuf),
    /// `ansible_password`.
    Password(Secret),
    /// The keys of the ssh-agent.
    Agent,
}

/// Everything needed to open one host's connection.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Local or SSH.
    pub kind: ConnectionKind,
    /// `ansible_host`, else the inventory name.
    pub address: String,
    /// `ansible_port`, default 22.
    pub port: u16,
    /// `ansible_user`; `None` logs in as the local user, as ssh does.
    pub user: Option<String>,
    /// How to log in.
    pub auth: SshAuth,
    /// Where host keys are looked up; `None` is `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
    /// Off only when explicitly disabled (`host_key_checking = false`).
    pub host_key_checking: bool,
    /// Per attempt, for TCP connect plus key exchange, and again for login.
    pub connect_timeout: Duration,
    /// Further attempts after a refused, reset or timed-out connection.
    /// Authentication and host key failures are never retried.
    pub retries: u32,
    /// The ssh-agent socket; `None` uses `SSH_AUTH_SOCK`.
    pub agent_socket: Option<PathBuf>,
}

impl ConnectionSettings {
    /// SSH to `address:port` with every other setting at its default.
    pub fn ssh(address: impl Into<String>, port: u16) -> Self {
        ConnectionSettings {
            kind: ConnectionKind::Ssh,
            address: address.into(),
            port,
            user: None,
            auth: SshAuth::Default,
            known_hosts: None,
            host_key_checking: true,
            connect_timeout: Duration::from_secs(10),
            retries: 2,
            agent_socket: None,
        }
    }

    /// The control node itself.
    pub fn local() -> Self {
        ConnectionSettings {
            kind: ConnectionKind::Local,
            ..ConnectionSettings::ssh("localhost", 22)
        }
    }

    /// `address:port`, for messages and for throttling handshakes.
    pub fn target(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
}
