//! The SSH connection: one session per host for the whole run, one
//! long-lived shell for the commands without input (`shell.rs`), a new exec
//! channel for the others, one long-lived SFTP channel for files, and
//! direct-tcpip / streamlocal channels for tunnels.
//!
//! Built on russh and russh-sftp directly. async-ssh2-tokio's `Client` was
//! the starting point, but it cannot set TCP_NODELAY before the handshake,
//! cannot say why a host key was refused, and offers no concurrent SFTP
//! requests or posix-rename; see `handshake.rs` and `sftp.rs`.
//!
//! File operations as another user than the login user (become) go through
//! `shellops`, since SFTP runs as the login user.

mod handshake;
mod known_hosts;
mod sftp;
mod shell;

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use russh::ChannelMsg;
use tokio::io::AsyncRead;
use tokio::sync::{OnceCell, Semaphore};

use self::sftp::{NumericAttrs, Sftp};
use super::settings::ConnectionSettings;
use super::sudo::{Exchange, Feed};
use super::{
    Become, Connection, ConnectionError, ExecOutput, ExecRequest, FileAttrs, FileStat, Tunnel,
    TunnelTarget, shell_quote,
};

/// An open SSH session to one host.
pub struct SshConnection {
    session: Arc<handshake::Session>,
    user: String,
    /// `host:port`, for messages.
    target: String,
    sftp: OnceCell<Arc<Sftp>>,
    /// Runs the commands that take no input (see `shell.rs`).
    shell: shell::PersistentShell,
    /// User and group names already resolved to ids on this host.
    ids: Mutex<HashMap<String, u32>>,
    attempts: u32,
}

impl SshConnection {
    /// Connects, retrying refused, reset and timed-out attempts.
    pub async fn connect(settings: &ConnectionSettings) -> Result<SshConnection, ConnectionError> {
        Self::connect_gated(settings, None)
            .await
            .map_err(|(e, _)| e)
    }

    /// Like [`SshConnection::connect`], holding a permit of `gate` during
    /// each attempt (not during the pauses between attempts). On failure,
    /// also returns the number of attempts made.
    pub(crate) async fn connect_gated(
        settings: &ConnectionSettings,
        gate: Option<&Semaphore>,
    ) -> Result<SshConnection, (ConnectionError, u32)> {
        let user = settings
            .user
            .clone()
            .unwrap_or_else(super::local::current_user);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let res = {
                let _permit = match gate {
                    Some(g) => g.acquire().await.ok(),
                    None => None,
                };
                handshake::open(settings, &user).await
            };
            match res {
                Ok(session) => {
                    return Ok(SshConnection {
                        session: Arc::new(session),
                        user,
                        target: settings.target(),
                        sftp: OnceCell::new(),
                        shell: shell::PersistentShell::new(),
                        ids: Mutex::new(HashMap::new()),
                        attempts,
                    });
                }
                Err(f) if f.retryable && attempts <= settings.retries => {
                    tokio::time::sleep(backoff(attempts)).await;
                }
                Err(f) => return Err((f.error, attempts)),
            }
        }
    }

    /// Connection attempts it took, retries included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The login user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Ends the session politely.
    pub async fn close(&self) {
        if let Some(s) = self.sftp.get() {
            s.shutdown().await;
        }
        let _ = self
            .session
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }

    fn lost(&self, e: impl std::fmt::Display) -> ConnectionError {
        ConnectionError::Lost {
            target: self.target.clone(),
            reason: e.to_string(),
        }
    }

    /// SFTP works as the login user; becoming someone else needs sudo.
    fn uses_sftp(&self, become_: Option<&Become>) -> bool {
        become_.is_none_or(|b| b.user == self.user)
    }

    /// The SFTP channel, opened on first use.
    async fn sftp(&self) -> Result<&Arc<Sftp>, ConnectionError> {
        self.sftp
            .get_or_try_init(|| async {
                let ch = self
                    .session
                    .channel_open_session()
                    .await
                    .map_err(|e| self.lost(e))?;
                ch.request_subsystem(true, "sftp")
                    .await
                    .map_err(|e| self.lost(e))?;
                let raw = russh_sftp::client::RawSftpSession::new(ch.into_stream());
                let s = Sftp::start(raw)
                    .await
                    .map_err(|e| sftp::sftp_err("sftp", "subsystem", e))?;
                Ok(Arc::new(s))
            })
            .await
    }

    /// Owner and group names to ids, asking the host once per name.
    async fn resolve_ids(
        &self,
        attrs: &FileAttrs,
    ) -> Result<(Option<u32>, Option<u32>), ConnectionError> {
        let wanted = [("passwd", &attrs.owner), ("group", &attrs.group)];
        let mut missing = Vec::new();
        for (db, name) in wanted.iter() {
            if let Some(n) = name.as_deref() {
                let cached = n.parse::<u32>().ok().or_else(|| self.cached_id(db, n));
                if cached.is_none() {
                    missing.push((*db, n));
                }
            }
        }
        if !missing.is_empty() {
            self.lookup_ids(&missing).await?;
        }
        let id = |db: &str, name: &Option<String>| -> Result<Option<u32>, ConnectionError> {
            let Some(n) = name.as_deref() else {
                return Ok(None);
            };
            n.parse::<u32>()
                .ok()
                .or_else(|| self.cached_id(db, n))
                .map(Some)
                .ok_or_else(|| ConnectionError::Remote {
                    op: "chown",
                    path: n.to_string(),
                    message: format!(
                        "no such {} on {}",
                        if db == "passwd" { "user" } else { "group" },
                        self.target
                    ),
                })
        };
        Ok((id("passwd", &attrs.owner)?, id("group", &attrs.group)?))
    }

    fn cached_id(&self, db: &str, name: &str) -> Option<u32> {
        let ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        ids.get(&format!("{db}:{name}")).copied()
    }

    /// One `getent` exec for every name not yet known. Only found names are
    /// cached: a user created later in the run is looked up again.
    async fn lookup_ids(&self, names: &[(&str, &str)]) -> Result<(), ConnectionError> {
        let script: Vec<String> = names
            .iter()
            .map(|(db, n)| {
                format!(
                    "printf '%s\\n' \"$(getent {db} {} | cut -d: -f3 | head -n1)\"",
                    shell_quote(n)
                )
            })
            .collect();
        let out = self.exec(&ExecRequest::shell(script.join("; "))).await?;
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        for ((db, n), line) in names.iter().zip(out.stdout.lines()) {
            if let Ok(id) = line.trim().parse::<u32>() {
                ids.insert(format!("{db}:{n}"), id);
            }
        }
        Ok(())
    }

    /// Writes through SFTP: temporary file, attributes, then rename.
    async fn sftp_write(
        &self,
        path: &str,
        reader: &mut (dyn AsyncRead + Send + Unpin),
        attrs: &FileAttrs,
    ) -> Result<u64, ConnectionError> {
        let sftp = self.sftp().await?;
        let (uid, gid) = self.resolve_ids(attrs).await?;
        // Without explicit attributes an existing file keeps its own.
        let complete = attrs.mode.is_some() && uid.is_some() && gid.is_some();
        let existing = if complete {
            None
        } else {
            sftp.stat_follow(path).await?
        };
        let nattrs = NumericAttrs {
            mode: attrs.mode.or(existing.as_ref().map(|e| e.mode)),
            uid: uid.or(existing.as_ref().map(|e| e.uid)),
            gid: gid.or(existing.as_ref().map(|e| e.gid)),
        };
        let tmp = super::temp_path(path);
        // Dropped midway (the task was cancelled), this removes the file.
        let mut guard = RemoveOnDrop(Some((sftp.clone(), tmp.clone())));
        let result = async {
            let n = sftp.write_new(&tmp, reader, nattrs).await?;
            if sftp.has_posix_rename() {
                sftp.posix_rename(&tmp, path).await?;
            } else {
                self.exec_mv(&tmp, path).await?;
            }
            Ok(n)
        }
        .await;
        guard.0 = None;
        if result.is_err() {
            sftp.remove(&tmp).await;
        }
        result
    }

    /// For servers without posix-rename: `mv` replaces atomically.
    async fn exec_mv(&self, from: &str, to: &str) -> Result<(), ConnectionError> {
        let cmd = format!("mv -f {} {}", shell_quote(from), shell_quote(to));
        let out = self.exec(&ExecRequest::shell(cmd)).await?;
        if out.rc != 0 {
            return Err(ConnectionError::Remote {
                op: "rename",
                path: to.to_string(),
                message: out.stderr.trim().to_string(),
            });
        }
        Ok(())
    }

    /// Runs `cmd` on a new exec channel, writing what `exchange` asks for
    /// while the output is read. Once the command is done, input it never
    /// read is dropped rather than waited on.
    async fn run(&self, cmd: String, exchange: Exchange) -> Result<ExecOutput, ConnectionError> {
        let mut exchange = exchange;
        let channel = self
            .session
            .channel_open_session()
            .await
            .map_err(|e| self.lost(e))?;
        channel.exec(true, cmd).await.map_err(|e| self.lost(e))?;
        let (mut rd, wr) = channel.split();
        let wr = Arc::new(wr);
        // Dropped before the command ended (its task was cancelled), this
        // asks sshd to send the command SIGTERM.
        let mut guard = SignalOnDrop(Some(wr.clone()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for f in exchange.start() {
            let _ = tx.send(f);
        }
        let feed = async move {
            while let Some(f) = rx.recv().await {
                match f {
                    Feed::Data(d) => {
                        let _ = wr.data(&d[..]).await;
                    }
                    Feed::Eof => {
                        let _ = wr.eof().await;
                    }
                }
            }
            std::future::pending::<std::convert::Infallible>().await
        };
        let out = tokio::select! {
            out = self.collect(&mut rd, &mut exchange, tx) => out,
            never = feed => match never {},
        };
        guard.0 = None;
        let out = out?;
        exchange.finish()?;
        Ok(out)
    }

    /// Large input goes to a temporary file over SFTP first, and the
    /// command reads it from there. Streaming it through the exec channel
    /// beyond the server's initial window can leave data queued in russh
    /// 0.62 when the command exits early, and such a queue stalls every
    /// channel of the session. Only the sudo password line (if any) still
    /// travels over the channel, so it never touches the disk.
    async fn exec_staged(&self, req: &ExecRequest) -> Result<ExecOutput, ConnectionError> {
        let sftp = self.sftp().await?;
        let tmp = super::temp_path("/tmp/oplay-stdin");
        let (line, mut exchange) = Exchange::prepare(req);
        let input = exchange.take_input().unwrap_or_default();
        let private = NumericAttrs {
            mode: Some(0o600),
            ..NumericAttrs::default()
        };
        if let Err(e) = sftp.write_new(&tmp, &mut &input[..], private).await {
            sftp.remove(&tmp).await;
            return Err(e);
        }
        let q = shell_quote(&tmp);
        // The first `cat` passes on the channel's input (the sudo password
        // when asked) until the exchange closes it; then the file follows.
        let cmd = format!(
            "exec 3<{q} && rm -f {q} && {{ cat; cat <&3; }} | /bin/sh -c {}",
            shell_quote(&line)
        );
        let res = self.run(cmd, exchange).await;
        if res.is_err() {
            sftp.remove(&tmp).await;
        }
        res
    }

    /// Reads a command's output until the channel closes.
    async fn collect(
        &self,
        rd: &mut russh::ChannelReadHalf,
        exchange: &mut Exchange,
        tx: tokio::sync::mpsc::UnboundedSender<Feed>,
    ) -> Result<ExecOutput, ConnectionError> {
        let (mut stdout, mut stderr, mut rc) = (Vec::new(), Vec::new(), None);
        let (mut cut, mut unused) = (false, 0);
        while let Some(msg) = rd.wait().await {
            match msg {
                ChannelMsg::Data { data } => {
                    stdout.extend_from_slice(&data);
                    cut |= super::keep_tail(&mut stdout, &mut unused);
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    for f in exchange.stderr(&data, &mut stderr) {
                        let _ = tx.send(f);
                    }
                    cut |= super::keep_tail(&mut stderr, &mut unused);
                }
                ChannelMsg::ExitStatus { exit_status } => rc = Some(exit_status as i32),
                // As the local connection reports a killed process.
                ChannelMsg::ExitSignal { .. } => rc = Some(-1),
                ChannelMsg::Failure => {
                    return Err(ConnectionError::Remote {
                        op: "exec",
                        path: self.target.clone(),
                        message: "the server refused to run the command".into(),
                    });
                }
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        let rc = rc.ok_or_else(|| self.lost("the command ended without an exit status"))?;
        Ok(ExecOutput::from_streams(rc, &stdout, &stderr, cut))
    }
}

/// Removes a temporary file over SFTP when dropped while armed.
struct RemoveOnDrop(Option<(Arc<Sftp>, String)>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some((sftp, tmp)) = self.0.take() {
            super::cleanup::spawn(async move { sftp.remove(&tmp).await });
        }
    }
}

/// Sends SIGTERM to a channel's command when dropped while armed.
struct SignalOnDrop(Option<Arc<russh::ChannelWriteHalf<russh::client::Msg>>>);

impl Drop for SignalOnDrop {
    fn drop(&mut self) {
        if let Some(wr) = self.0.take() {
            super::cleanup::spawn(async move {
                let _ = wr.signal(russh::Sig::TERM).await;
                let _ = wr.eof().await;
            });
        }
    }
}

/// Input larger than this is staged in a file (see `exec_staged`); below
/// OpenSSH's initial channel window of 2 MiB.
const DIRECT_STDIN_MAX: usize = 1 << 20;

/// 200 ms, 400 ms, ... plus up to 100 ms of jitter so that many hosts
/// dropped together do not come back together.
fn backoff(attempt: u32) -> Duration {
    let jitter: u64 = rand::random::<u64>() % 100;
    Duration::from_millis(200 * u64::from(attempt.min(5)) + jitter)
}

#[async_trait]
impl Connection for SshConnection {
    fn describe(&self) -> String {
        format!("ssh://{}@{}", self.user, self.target)
    }

    async fn exec(&self, req: &ExecRequest) -> Result<ExecOutput, ConnectionError> {
        if req.stdin.as_ref().map_or(0, Vec::len) > DIRECT_STDIN_MAX {
            return self.exec_staged(req).await;
        }
        let (line, exchange) = Exchange::prepare(req);
        if !exchange.wants_stdin() {
            if let Some(res) = self.shell.run(&self.session, &self.target, &line).await {
                return res;
            }
        }
        self.run(line, exchange).await
    }

    async fn stat(
        &self,
        path: &str,
        become_: Option<&Become>,
    ) -> Result<Option<FileStat>, ConnectionError> {
        if !self.uses_sftp(become_) {
            return super::shellops::stat(self, path, become_).await;
        }
        self.sftp().await?.stat(path).await
    }

    async fn read_file(
        &self,
        path: &str,
        become_: Option<&Become>,
    ) -> Result<Option<Vec<u8>>, ConnectionError> {
        if !self.uses_sftp(become_) {
            return super::shellops::read_file(self, path, become_).await;
        }
        self.sftp().await?.read_file(path).await
    }

    async fn write_file(
        &self,
        path: &str,
        data: &[u8],
        attrs: &FileAttrs,
        become_: Option<&Become>,
    ) -> Result<(), ConnectionError> {
        let mut reader = data;
        self.write_stream(path, &mut reader, attrs, become_)
            .await
            .map(|_| ())
    }

    async fn write_stream(
        &self,
        path: &str,
        reader: &mut (dyn AsyncRead + Send + Unpin),
        attrs: &FileAttrs,
        become_: Option<&Become>,
    ) -> Result<u64, ConnectionError> {
        if !self.uses_sftp(become_) {
            return super::shellops::write_stream(self, path, reader, attrs, become_).await;
        }
        self.sftp_write(path, reader, attrs).await
    }

    async fn open_read(
        &self,
        path: &str,
        become_: Option<&Become>,
    ) -> Result<Box<dyn AsyncRead + Send + Unpin>, ConnectionError> {
        if !self.uses_sftp(become_) {
            let data = super::shellops::read_file(self, path, become_).await?;
            return match data {
                Some(d) => Ok(Box::new(Cursor::new(d))),
                None => Err(ConnectionError::Io {
                    op: "open",
                    path: path.to_string(),
                    source: std::io::ErrorKind::NotFound.into(),
                }),
            };
        }
        let sftp = Arc::clone(self.sftp().await?);
        let handle = sftp.open_read(path).await?;
        Ok(Box::new(stream_reader(sftp, handle, path.to_string())))
    }

    async fn tunnel(&self, target: &TunnelTarget) -> Result<Box<dyn Tunnel>, ConnectionError> {
        let opened = match target {
            TunnelTarget::Tcp { host, port } => {
                self.session
                    .channel_open_direct_tcpip(host.clone(), u32::from(*port), "127.0.0.1", 0)
                    .await
            }
            TunnelTarget::Unix(path) => {
                self.session
                    .channel_open_direct_streamlocal(path.to_string_lossy())
                    .await
            }
        };
        match opened {
            Ok(ch) => Ok(Box::new(ch.into_stream())),
            // The host is fine; only the port or socket behind it is not.
            Err(russh::Error::ChannelOpenFailure(why)) => Err(ConnectionError::Remote {
                op: "tunnel",
                path: format!("{target} on {}", self.target),
                message: format!("the server could not open it ({why:?})"),
            }),
            Err(e) => Err(self.lost(e)),
        }
    }
}

/// Streams a remote file: a task reads ahead over SFTP and hands chunks
/// over a small channel, so memory stays bounded.
fn stream_reader(sftp: Arc<Sftp>, handle: String, path: String) -> impl AsyncRead + Send + Unpin {
    type Chunk = std::io::Result<Cursor<Vec<u8>>>;
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    tokio::spawn(async move {
        let res = sftp
            .read_all(&handle, 0, |chunk| {
                let tx = tx.clone();
                async move { tx.send(Ok(Cursor::new(chunk))).await.is_ok() }
            })
            .await;
        sftp.close(handle).await;
        if let Err(e) = res {
            let msg = format!("read {path}: {e}");
            let _ = tx.send(Err(std::io::Error::other(msg))).await;
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    tokio_util::io::StreamReader::new(Box::pin(stream))
}
