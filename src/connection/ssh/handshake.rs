//! Opening an SSH session: TCP connect (with TCP_NODELAY), key exchange with
//! host key verification, then authentication. One attempt per call; the
//! caller decides about retries from [`Failure::retryable`].
//!
//! russh is used directly here because async-ssh2-tokio's `Client` hides the
//! socket (no TCP_NODELAY before the handshake), reduces a host key refusal
//! to "server check failed" and cannot order host key algorithms by what
//! known_hosts holds.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{PrivateKeyWithHashAlg, PublicKey};
use russh::{MethodKind, Preferred};

use super::known_hosts::{KnownHosts, Verdict};
use crate::connection::ConnectionError;
use crate::connection::settings::{ConnectionSettings, SshAuth};

/// One failed attempt, and whether another attempt might succeed.
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: ConnectionError,
    pub retryable: bool,
}

/// Errors raised inside russh's session task by our [`client::Handler`].
#[derive(Debug)]
pub(crate) enum HandshakeError {
    Ssh(russh::Error),
    HostKey(String),
}

impl From<russh::Error> for HandshakeError {
    fn from(e: russh::Error) -> Self {
        HandshakeError::Ssh(e)
    }
}

/// The session's handler: verifies the server's host key.
pub(crate) struct HostKeyCheck {
    /// `None` when host key checking is off.
    known: Option<KnownHosts>,
}

impl client::Handler for HostKeyCheck {
    type Error = HandshakeError;

    async fn check_server_key(&mut self, key: &PublicKey) -> Result<bool, HandshakeError> {
        match self.known.as_ref().map(|k| k.check(key)) {
            None | Some(Verdict::Known) => Ok(true),
            Some(Verdict::Refused(reason)) => Err(HandshakeError::HostKey(reason)),
        }
    }
}

pub(crate) type Session = Handle<HostKeyCheck>;

/// How often an idle session is probed.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// Connects, verifies the host key and logs in as `user`.
pub(crate) async fn open(settings: &ConnectionSettings, user: &str) -> Result<Session, Failure> {
    let target = settings.target();
    let known = if settings.host_key_checking {
        let path = known_hosts_path(settings);
        let kh =
            KnownHosts::load(&path, &settings.address, settings.port).map_err(|e| Failure {
                error: ConnectionError::HostKey {
                    target: target.clone(),
                    reason: e.to_string(),
                },
                retryable: false,
            })?;
        Some(kh)
    } else {
        None
    };
    let mut config = client::Config {
        nodelay: true,
        // A host that stops answering (a partition, a frozen sshd) is
        // unreachable after 45 s, as with OpenSSH's ServerAliveInterval 15
        // and ServerAliveCountMax 3: russh gives up at the tick after
        // `keepalive_max` unanswered ones, so 2 here.
        keepalive_interval: Some(KEEPALIVE_INTERVAL),
        keepalive_max: 2,
        ..Default::default()
    };
    if let Some(kh) = &known {
        config.preferred.key = Cow::Owned(kh.preferred_algorithms(&Preferred::DEFAULT.key));
    }
    let handler = HostKeyCheck { known };
    let connect = async {
        let tcp = connect_tcp(&settings.address, settings.port).await?;
        // Nagle's algorithm would hold each small request for ~40 ms.
        tcp.set_nodelay(true).map_err(HandshakeError::from_io)?;
        client::connect_stream(Arc::new(config), tcp, handler).await
    };
    let mut session = match tokio::time::timeout(settings.connect_timeout, connect).await {
        Err(_) => return Err(timed_out(&target, settings.connect_timeout)),
        Ok(Err(e)) => return Err(classify(&target, e)),
        Ok(Ok(s)) => s,
    };
    match tokio::time::timeout(
        settings.connect_timeout,
        authenticate(&mut session, user, settings),
    )
    .await
    {
        Err(_) => Err(timed_out(&target, settings.connect_timeout)),
        Ok(Err(AuthError::Refused(reason))) => Err(Failure {
            error: ConnectionError::Auth {
                target,
                user: user.to_string(),
                reason,
            },
            retryable: false,
        }),
        Ok(Err(AuthError::Ssh(e))) => Err(classify(&target, HandshakeError::Ssh(e))),
        Ok(Ok(())) => Ok(session),
    }
}

impl HandshakeError {
    fn from_io(e: std::io::Error) -> Self {
        HandshakeError::Ssh(russh::Error::IO(e))
    }
}

/// The explicit known_hosts file, else `~/.ssh/known_hosts`.
fn known_hosts_path(settings: &ConnectionSettings) -> PathBuf {
    settings
        .known_hosts
        .clone()
        .unwrap_or_else(|| home().join(".ssh").join("known_hosts"))
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

async fn connect_tcp(host: &str, port: u16) -> Result<tokio::net::TcpStream, HandshakeError> {
    let addrs = tokio::net::lookup_host((host, port)).await.map_err(|e| {
        HandshakeError::Ssh(russh::Error::IO(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("cannot resolve {host}: {e}"),
        )))
    })?;
    let mut last = std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{host} resolves to no address"),
    );
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(HandshakeError::from_io(last))
}

fn timed_out(target: &str, after: Duration) -> Failure {
    Failure {
        error: ConnectionError::Unreachable {
            target: target.to_string(),
            reason: format!("timed out after {} s", after.as_secs_f32()),
        },
        retryable: true,
    }
}

/// Sorts a handshake error into host key, retryable network trouble (refused,
/// reset, closed before the banner as sshd does beyond `MaxStartups`) or a
/// permanent failure.
fn classify(target: &str, e: HandshakeError) -> Failure {
    use std::io::ErrorKind as K;
    let e = match e {
        HandshakeError::HostKey(reason) => {
            return Failure {
                error: ConnectionError::HostKey {
                    target: target.to_string(),
                    reason,
                },
                retryable: false,
            };
        }
        HandshakeError::Ssh(e) => e,
    };
    let retryable = match &e {
        russh::Error::IO(io) => !matches!(io.kind(), K::NotFound | K::InvalidInput),
        russh::Error::Disconnect
        | russh::Error::HUP
        | russh::Error::ConnectionTimeout
        | russh::Error::Elapsed(_)
        | russh::Error::SendError
        | russh::Error::RecvError => true,
        _ => false,
    };
    let reason = match &e {
        russh::Error::IO(io) if io.kind() == K::UnexpectedEof => {
            "the server closed the connection during the handshake".to_string()
        }
        other => other.to_string(),
    };
    Failure {
        error: ConnectionError::Unreachable {
            target: target.to_string(),
            reason,
        },
        retryable,
    }
}

enum AuthError {
    Refused(String),
    Ssh(russh::Error),
}

impl From<russh::Error> for AuthError {
    fn from(e: russh::Error) -> Self {
        AuthError::Ssh(e)
    }
}

async fn authenticate(
    session: &mut Session,
    user: &str,
    settings: &ConnectionSettings,
) -> Result<(), AuthError> {
    match &settings.auth {
        SshAuth::KeyFile(path) => key_auth(session, user, path).await,
        SshAuth::Password(pw) => {
            let res = session.authenticate_password(user, pw.expose()).await?;
            if res.success() {
                Ok(())
            } else {
                Err(AuthError::Refused(format!(
                    "the server refused the password{}",
                    methods_left(&res)
                )))
            }
        }
        SshAuth::Agent => agent_auth(session, user, settings.agent_socket.as_deref()).await,
        SshAuth::Default => default_auth(session, user, settings.agent_socket.as_deref()).await,
    }
}

/// OpenSSH's order: the usual key files, then the agent.
async fn default_auth(
    session: &mut Session,
    user: &str,
    agent: Option<&Path>,
) -> Result<(), AuthError> {
    let mut tried = Vec::new();
    for name in ["id_ed25519", "id_rsa"] {
        let path = home().join(".ssh").join(name);
        if !path.exists() {
            continue;
        }
        match key_auth(session, user, &path).await {
            Ok(()) => return Ok(()),
            Err(AuthError::Refused(r)) => tried.push(r),
            Err(e) => return Err(e),
        }
    }
    if agent.is_some() || std::env::var_os("SSH_AUTH_SOCK").is_some() {
        match agent_auth(session, user, agent).await {
            Ok(()) => return Ok(()),
            Err(AuthError::Refused(r)) => tried.push(r),
            Err(e) => return Err(e),
        }
    }
    if tried.is_empty() {
        return Err(AuthError::Refused(
            "no credentials: neither ~/.ssh/id_ed25519 nor ~/.ssh/id_rsa exists and no \
             ssh-agent is running (SSH_AUTH_SOCK is unset)\n\
             hint: set ansible_ssh_private_key_file or ansible_password for this host"
                .into(),
        ));
    }
    Err(AuthError::Refused(tried.join("; ")))
}

async fn key_auth(session: &mut Session, user: &str, path: &Path) -> Result<(), AuthError> {
    let key = russh::keys::load_secret_key(path, None).map_err(|e| {
        AuthError::Refused(format!(
            "cannot load private key {}: {e} (a key with a passphrase must be loaded into \
             ssh-agent)",
            path.display()
        ))
    })?;
    let hash = session.best_supported_rsa_hash().await?.flatten();
    let res = session
        .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
        .await?;
    if res.success() {
        return Ok(());
    }
    Err(AuthError::Refused(format!(
        "the server refused key {}{}",
        path.display(),
        methods_left(&res)
    )))
}

async fn agent_auth(
    session: &mut Session,
    user: &str,
    socket: Option<&Path>,
) -> Result<(), AuthError> {
    use russh::keys::agent::client::AgentClient;
    let agent = match socket {
        Some(p) => AgentClient::connect_uds(p).await,
        None => AgentClient::connect_env().await,
    };
    let mut agent =
        agent.map_err(|e| AuthError::Refused(format!("cannot reach ssh-agent: {e}")))?;
    let ids = agent
        .request_identities()
        .await
        .map_err(|e| AuthError::Refused(format!("ssh-agent: {e}")))?;
    if ids.is_empty() {
        return Err(AuthError::Refused("ssh-agent holds no keys".into()));
    }
    let hash = session.best_supported_rsa_hash().await?.flatten();
    for id in &ids {
        let key = id.public_key().into_owned();
        let res = session
            .authenticate_publickey_with(user, key, hash, &mut agent)
            .await
            .map_err(|e| AuthError::Refused(format!("ssh-agent: {e}")))?;
        if res.success() {
            return Ok(());
        }
    }
    Err(AuthError::Refused(format!(
        "the server refused all {} keys of ssh-agent",
        ids.len()
    )))
}

fn methods_left(res: &client::AuthResult) -> String {
    match res {
        client::AuthResult::Failure {
            remaining_methods, ..
        } => {
            let names: Vec<&str> = remaining_methods
                .iter()
                .map(|m: &MethodKind| m.into())
                .collect();
            format!(" (it accepts: {})", names.join(", "))
        }
        client::AuthResult::Success => String::new(),
    }
}
