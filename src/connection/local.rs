//! The local connection: runs commands with `/bin/sh -c` and touches files
//! directly, for `ansible_connection=local` and `delegate_to: localhost`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Stdio;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::sudo::{Exchange, Feed};
use super::{
    Become, Connection, ConnectionError, ExecOutput, ExecRequest, FileAttrs, FileKind, FileStat,
    Tunnel, TunnelTarget, temp_path,
};

/// Runs everything on the control node itself.
#[derive(Debug, Default)]
pub struct LocalConnection;

impl LocalConnection {
    /// The control node.
    pub fn new() -> Self {
        LocalConnection
    }

    /// Become to another user cannot use direct file access: fall back to
    /// commands run through `sudo`.
    fn needs_shell(become_: Option<&Become>) -> bool {
        become_.is_some_and(|b| b.user != current_user())
    }
}

/// The user running oplay: the default SSH login user, as for ssh.
pub(crate) fn current_user() -> String {
    std::env::var("USER").unwrap_or_else(|_| {
        if uid_is_root() {
            "root".into()
        } else {
            String::new()
        }
    })
}

fn uid_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Writes what the exchange asks for to the child's stdin, in order.
async fn feed_stdin(
    stdin: Option<tokio::process::ChildStdin>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Feed>,
) {
    let mut stdin = stdin;
    while let Some(feed) = rx.recv().await {
        match (feed, stdin.as_mut()) {
            // A command that exits without reading its input is not an error.
            (Feed::Data(d), Some(s)) => {
                let _ = s.write_all(&d).await;
            }
            (Feed::Eof, _) => stdin = None,
            (Feed::Data(_), None) => {}
        }
    }
}

/// Reads stderr through the exchange, which may answer on stdin. The
/// flag tells that the start of a huge output was dropped.
async fn watch_stderr(
    err: Option<&mut tokio::process::ChildStderr>,
    exchange: &mut Exchange,
    tx: tokio::sync::mpsc::UnboundedSender<Feed>,
) -> (Vec<u8>, bool) {
    let (mut stderr, mut cut, mut unused) = (Vec::new(), false, 0);
    let Some(err) = err else {
        return (stderr, cut);
    };
    let mut buf = vec![0u8; 8192];
    loop {
        match err.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                for f in exchange.stderr(&buf[..n], &mut stderr) {
                    let _ = tx.send(f);
                }
                cut |= super::keep_tail(&mut stderr, &mut unused);
            }
        }
    }
    (stderr, cut)
}

/// Reads a stream to its end, keeping at most its last `OUTPUT_MAX` bytes.
async fn read_capped(out: Option<&mut tokio::process::ChildStdout>) -> (Vec<u8>, bool) {
    let (mut data, mut cut, mut unused) = (Vec::new(), false, 0);
    let Some(out) = out else {
        return (data, cut);
    };
    let mut buf = vec![0u8; 65536];
    loop {
        match out.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                data.extend_from_slice(&buf[..n]);
                cut |= super::keep_tail(&mut data, &mut unused);
            }
        }
    }
    (data, cut)
}

/// Sends SIGTERM to a command's process group when dropped while armed:
/// its task was cancelled before the command ended.
struct KillOnDrop(Option<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", "--", &format!("-{pgid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn io_err<'a>(
    op: &'static str,
    path: &'a str,
) -> impl FnOnce(std::io::Error) -> ConnectionError + 'a {
    move |source| ConnectionError::Io {
        op,
        path: path.to_string(),
        source,
    }
}

#[async_trait]
impl Connection for LocalConnection {
    fn describe(&self) -> String {
        "local".into()
    }

    async fn exec(&self, req: &ExecRequest) -> Result<ExecOutput, ConnectionError> {
        let (line, mut exchange) = Exchange::prepare(req);
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(line);
        cmd.stdin(if exchange.wants_stdin() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        // Its own process group: a Ctrl-C at the terminal reaches oplay,
        // which stops the command itself (see `KillOnDrop`).
        cmd.process_group(0);
        let mut child = cmd.spawn().map_err(io_err("exec", "/bin/sh"))?;
        let mut guard = KillOnDrop(child.id());
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        for f in exchange.start() {
            let _ = tx.send(f);
        }
        let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
        // Input is written while the output is read, so a large input
        // cannot block against a full output pipe.
        let (_, stdout, stderr) = tokio::join!(
            feed_stdin(child.stdin.take(), rx),
            read_capped(out.as_mut()),
            watch_stderr(err.as_mut(), &mut exchange, tx),
        );
        let status = child.wait().await.map_err(io_err("exec", "/bin/sh"))?;
        guard.0 = None;
        exchange.finish()?;
        let ((stdout, cut_out), (stderr, cut_err)) = (stdout, stderr);
        Ok(ExecOutput::from_streams(
            status.code().unwrap_or(-1),
            &stdout,
            &stderr,
            cut_out || cut_err,
        ))
    }

    async fn stat(
        &self,
        path: &str,
        become_: Option<&Become>,
    ) -> Result<Option<FileStat>, ConnectionError> {
        if Self::needs_shell(become_) {
            return super::shellops::stat(self, path, become_).await;
        }
        let meta = match tokio::fs::symlink_metadata(path).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("stat", path)(e)),
        };
        let ft = meta.file_type();
        let kind = if ft.is_symlink() {
            FileKind::Symlink
        } else if ft.is_dir() {
            FileKind::Directory
        } else if ft.is_file() {
            FileKind::File
        } else {
            FileKind::Other
        };
        let link_target = if ft.is_symlink() {
            tokio::fs::read_link(path)
                .await
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        } else {
            None
        };
        Ok(Some(FileStat {
            kind,
            mode: meta.permissions().mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            size: meta.len(),
            mtime: meta.mtime(),
            link_target,
        }))
    }

    async fn read_file(
        &self,
        path: &str,
        become_: Option<&Become>,
    ) -> Result<Option<Vec<u8>>, ConnectionError> {
        if Self::needs_shell(become_) {
            return super::shellops::read_file(self, path, become_).await;
        }
        match tokio::fs::read(path).await {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("read", path)(e)),
        }
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
        if Self::needs_shell(become_) {
            return super::shellops::write_stream(self, path, reader, attrs, become_).await;
        }
        let tmp = temp_path(path);
        // Created private and exclusive: whatever the umask, the data is
        // never readable by others before the final mode is applied.
        let guard = crate::connection::cleanup::TempFile::local(&tmp);
        let result = async {
            let mut file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .await
                .map_err(io_err("write", path))?;
            let n = tokio::io::copy(reader, &mut file)
                .await
                .map_err(io_err("write", path))?;
            file.sync_all().await.map_err(io_err("write", path))?;
            drop(file);
            apply_attrs(&tmp, path, attrs).await?;
            tokio::fs::rename(&tmp, path)
                .await
                .map_err(io_err("rename", path))?;
            Ok(n)
        }
        .await;
        match &result {
            Ok(_) => guard.done(),
            // The guard removes the temporary file.
            Err(_) => drop(guard),
        }
        result
    }

    async fn open_read(
        &self,
        path: &str,
        become_: Option<&Become>,
    ) -> Result<Box<dyn AsyncRead + Send + Unpin>, ConnectionError> {
        if Self::needs_shell(become_) {
            let data = self.read_file(path, become_).await?.unwrap_or_default();
            return Ok(Box::new(std::io::Cursor::new(data)));
        }
        let f = tokio::fs::File::open(path)
            .await
            .map_err(io_err("open", path))?;
        Ok(Box::new(f))
    }

    async fn tunnel(&self, target: &TunnelTarget) -> Result<Box<dyn Tunnel>, ConnectionError> {
        // A closed port fails the task, not the host.
        let unreachable = |source: std::io::Error| ConnectionError::Io {
            op: "tunnel",
            path: target.to_string(),
            source,
        };
        match target {
            TunnelTarget::Tcp { host, port } => {
                let s = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(unreachable)?;
                let _ = s.set_nodelay(true);
                Ok(Box::new(s))
            }
            TunnelTarget::Unix(p) => {
                let s = tokio::net::UnixStream::connect(p)
                    .await
                    .map_err(unreachable)?;
                Ok(Box::new(s))
            }
        }
    }
}

/// Applies ownership, then mode, to the temporary file (a change of owner
/// clears set-id bits). Without an explicit mode an existing destination
/// keeps its mode and owner, as Ansible does, and a new file gets the
/// umask's default: the temporary file itself was created 0600.
async fn apply_attrs(tmp: &str, dest: &str, attrs: &FileAttrs) -> Result<(), ConnectionError> {
    let existing = tokio::fs::metadata(dest).await.ok();
    let owner = attrs
        .owner
        .clone()
        .or_else(|| existing.as_ref().map(|m| m.uid().to_string()));
    let group = attrs
        .group
        .clone()
        .or_else(|| existing.as_ref().map(|m| m.gid().to_string()));
    if owner.is_some() || group.is_some() {
        let uid = owner.as_deref().map(resolve_user).transpose()?;
        let gid = group.as_deref().map(resolve_group).transpose()?;
        std::os::unix::fs::chown(tmp, uid, gid).map_err(io_err("chown", dest))?;
    }
    let mode = attrs
        .mode
        .or_else(|| existing.as_ref().map(|m| m.permissions().mode() & 0o7777))
        .unwrap_or(0o666 & !process_umask());
    tokio::fs::set_permissions(tmp, std::fs::Permissions::from_mode(mode))
        .await
        .map_err(io_err("chmod", dest))
}

/// This process's umask, from `/proc/self/status` (022 where it cannot
/// be read), so that a new file gets the mode a plain `open` would give.
fn process_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

fn resolve_user(name: &str) -> Result<u32, ConnectionError> {
    resolve_id(name, "/etc/passwd", "user")
}

fn resolve_group(name: &str) -> Result<u32, ConnectionError> {
    resolve_id(name, "/etc/group", "group")
}

fn resolve_id(name: &str, db: &str, what: &'static str) -> Result<u32, ConnectionError> {
    if let Ok(id) = name.parse() {
        return Ok(id);
    }
    let text = std::fs::read_to_string(db).map_err(io_err("read", db))?;
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let n = f.next()?;
            let _ = f.next();
            let id = f.next()?.parse().ok()?;
            (n == name).then_some(id)
        })
        .next()
        .ok_or_else(|| ConnectionError::Remote {
            op: "chown",
            path: name.to_string(),
            message: format!("no such {what}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        let p = path.to_str().unwrap();
        let c = LocalConnection::new();
        assert!(c.read_file(p, None).await.unwrap().is_none());
        let attrs = FileAttrs {
            mode: Some(0o600),
            ..Default::default()
        };
        c.write_file(p, b"hello", &attrs, None).await.unwrap();
        assert_eq!(c.read_file(p, None).await.unwrap().unwrap(), b"hello");
        let st = c.stat(p, None).await.unwrap().unwrap();
        assert_eq!((st.kind, st.mode, st.size), (FileKind::File, 0o600, 5));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn a_sudo_that_does_not_ask_never_gets_the_password() {
        // Root is not asked for a password: the command must not see it.
        let c = LocalConnection::new();
        let req = ExecRequest {
            become_: Some(Become {
                user: "root".into(),
                password: Some(crate::secret::Secret::new("pw")),
            }),
            ..ExecRequest::shell("cat")
        };
        let out = c.exec(&req).await.unwrap();
        assert_eq!(
            (out.rc, out.stdout.as_str(), out.stderr.as_str()),
            (0, "", "")
        );
        let req = ExecRequest {
            stdin: Some(b"in".to_vec()),
            ..req
        };
        assert_eq!(c.exec(&req).await.unwrap().stdout, "in");
    }

    #[tokio::test]
    async fn exec_with_env_stdin_and_chdir() {
        let c = LocalConnection::new();
        let req = ExecRequest {
            cmd: "cat; echo \" $X $(pwd)\"; exit 3".into(),
            stdin: Some(b"in".to_vec()),
            env: vec![("X".into(), "y z".into())],
            chdir: Some("/tmp".into()),
            become_: None,
        };
        let out = c.exec(&req).await.unwrap();
        assert_eq!(out.rc, 3);
        assert_eq!(out.stdout, "in y z /tmp\n");
    }
}
