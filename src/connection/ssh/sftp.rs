//! File operations over the host's one SFTP channel.
//!
//! Built on russh-sftp's `RawSftpSession`, which matches replies to request
//! ids and so serves concurrent callers without a lock. Reads and writes
//! keep several requests in flight; renames use `posix-rename@openssh.com`
//! because a plain SFTP rename refuses to replace an existing file on
//! OpenSSH. Not for deciding when SFTP applies (become) or how names map to
//! ids: that is `ssh.rs`.

use std::io;
use std::sync::Arc;

use futures::stream::{FuturesOrdered, FuturesUnordered, StreamExt};
use russh_sftp::client::RawSftpSession;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::{FileAttributes, OpenFlags, Packet, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::connection::{ConnectionError, FileKind, FileStat};

const POSIX_RENAME: &str = "posix-rename@openssh.com";
/// Bytes per read or write request: well under OpenSSH's 256 KiB limit.
const CHUNK: u32 = 64 * 1024;
/// Requests kept in flight by one read or write.
const WINDOW: usize = 8;
/// Seconds a single SFTP request may take.
const REQUEST_TIMEOUT: u64 = 60;

/// An initialised SFTP session and what the server supports.
pub(crate) struct Sftp {
    raw: Arc<RawSftpSession>,
    posix_rename: bool,
}

/// Mode and numeric ownership for a file being written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NumericAttrs {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Sftp {
    /// Starts the protocol on an open `sftp` subsystem channel.
    pub(crate) async fn start(raw: RawSftpSession) -> Result<Sftp, SftpError> {
        raw.set_timeout(REQUEST_TIMEOUT);
        let version = raw.init().await?;
        let posix_rename = version
            .extensions
            .get(POSIX_RENAME)
            .is_some_and(|v| v == "1");
        Ok(Sftp {
            raw: Arc::new(raw),
            posix_rename,
        })
    }

    pub(crate) fn has_posix_rename(&self) -> bool {
        self.posix_rename
    }

    /// `lstat`, plus the link target of a symbolic link.
    pub(crate) async fn stat(&self, path: &str) -> Result<Option<FileStat>, ConnectionError> {
        let attrs = match self.raw.lstat(path).await {
            Ok(a) => a.attrs,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(sftp_err("stat", path, e)),
        };
        let mut st = to_stat(&attrs);
        if st.kind == FileKind::Symlink {
            let name = self
                .raw
                .readlink(path)
                .await
                .map_err(|e| sftp_err("readlink", path, e))?;
            st.link_target = name.files.into_iter().next().map(|f| f.filename);
        }
        Ok(Some(st))
    }

    /// `stat` following links: what an existing destination looks like.
    pub(crate) async fn stat_follow(
        &self,
        path: &str,
    ) -> Result<Option<FileStat>, ConnectionError> {
        match self.raw.stat(path).await {
            Ok(a) => Ok(Some(to_stat(&a.attrs))),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(sftp_err("stat", path, e)),
        }
    }

    /// The whole file, or `None` if it does not exist.
    ///
    /// The first read goes out together with an FSTAT: when the file is a
    /// regular one and its size is what came back, it is all there, without
    /// a second read to meet EOF. The CLOSE is not waited for.
    pub(crate) async fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, ConnectionError> {
        let handle = match self
            .raw
            .open(path, OpenFlags::READ, FileAttributes::empty())
            .await
        {
            Ok(h) => h.handle,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(sftp_err("read", path, e)),
        };
        let res = self.read_small(&handle).await;
        self.close_later(handle);
        res.map(Some).map_err(|e| sftp_err("read", path, e))
    }

    async fn read_small(&self, handle: &str) -> Result<Vec<u8>, SftpError> {
        let (first, st) = futures::join!(self.raw.read(handle, 0, CHUNK), self.raw.fstat(handle));
        let mut data = match first {
            Ok(d) => d.data,
            Err(SftpError::Status(s)) if s.status_code == StatusCode::Eof => Vec::new(),
            Err(e) => return Err(e),
        };
        let regular = st
            .ok()
            .map(|a| a.attrs)
            .filter(|a| a.permissions.is_some_and(|p| p & 0o170000 == 0o100000));
        if regular.and_then(|a| a.size) == Some(data.len() as u64) {
            return Ok(data);
        }
        let start = data.len() as u64;
        self.read_all(handle, start, |chunk| {
            data.extend_from_slice(&chunk);
            std::future::ready(true)
        })
        .await?;
        Ok(data)
    }

    /// Sends a CLOSE and goes on: the server handles requests in order, so
    /// later ones find the file closed, and a failed close of a file that
    /// was only read loses nothing.
    fn close_later(&self, handle: String) {
        let raw = Arc::clone(&self.raw);
        tokio::spawn(async move {
            let _ = raw.close(handle).await;
        });
    }

    /// Opens `path` for reading; the handle is for [`Sftp::read_all`].
    pub(crate) async fn open_read(&self, path: &str) -> Result<String, ConnectionError> {
        self.raw
            .open(path, OpenFlags::READ, FileAttributes::empty())
            .await
            .map(|h| h.handle)
            .map_err(|e| sftp_err("open", path, e))
    }

    pub(crate) async fn close(&self, handle: String) {
        let _ = self.raw.close(handle).await;
    }

    /// Reads the file behind `handle` from `start`, handing each chunk in
    /// order to `sink` until EOF or until `sink` returns false.
    pub(crate) async fn read_all<F, Fut>(
        &self,
        handle: &str,
        start: u64,
        mut sink: F,
    ) -> Result<(), SftpError>
    where
        F: FnMut(Vec<u8>) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let mut offset = start;
        // One request first: most files fit in one chunk, and every request
        // past the end costs the server a round of work for nothing. Each
        // round that comes back full doubles the window, up to WINDOW.
        let mut window: u64 = 1;
        loop {
            // A short reply (not EOF) makes the later answers land at the
            // wrong place, so the next round starts over from there.
            let mut pending: FuturesOrdered<_> = (0..window)
                .map(|i| self.raw.read(handle, offset + i * CHUNK as u64, CHUNK))
                .collect();
            let mut full = true;
            while let Some(res) = pending.next().await {
                let data = match res {
                    Ok(d) => d.data,
                    Err(SftpError::Status(s)) if s.status_code == StatusCode::Eof => {
                        return Ok(());
                    }
                    Err(e) => return Err(e),
                };
                let n = data.len() as u64;
                offset += n;
                if !sink(data).await {
                    return Ok(());
                }
                if n < CHUNK as u64 {
                    full = false;
                    break;
                }
            }
            if full {
                window = (window * 2).min(WINDOW as u64);
            }
        }
    }

    /// Writes `reader` into a new file `tmp` (which must not exist), with
    /// `attrs` applied before it is closed. Returns the byte count. On error
    /// `tmp` may exist and the caller removes it.
    pub(crate) async fn write_new(
        &self,
        tmp: &str,
        reader: &mut (dyn AsyncRead + Send + Unpin),
        attrs: NumericAttrs,
    ) -> Result<u64, ConnectionError> {
        // Created with its final permission bits, so a secret is never
        // readable by others, not even for a moment.
        let create = FileAttributes {
            permissions: Some(attrs.mode.map_or(0o666, |m| m & 0o777)),
            ..FileAttributes::empty()
        };
        let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUDE;
        let handle = self
            .raw
            .open(tmp, flags, create)
            .await
            .map_err(|e| sftp_err("write", tmp, e))?
            .handle;
        // The owner is read while the data goes out, not after it.
        let asks_owner = attrs.uid.is_some() || attrs.gid.is_some();
        let (filled, owner) = futures::join!(self.fill(tmp, &handle, reader), async {
            match asks_owner {
                true => Some(self.raw.fstat(handle.as_str()).await),
                false => None,
            }
        });
        let res = match filled {
            Ok(n) => self.set_attrs(tmp, &handle, attrs, owner).await.map(|()| n),
            Err(e) => Err(e),
        };
        let closed = self.raw.close(handle).await;
        let n = res?;
        closed.map_err(|e| sftp_err("write", tmp, e))?;
        Ok(n)
    }

    async fn fill(
        &self,
        path: &str,
        handle: &str,
        reader: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<u64, ConnectionError> {
        let mut offset: u64 = 0;
        let mut in_flight = FuturesUnordered::new();
        loop {
            let mut buf = vec![0u8; CHUNK as usize];
            let n = read_full(reader, &mut buf)
                .await
                .map_err(|source| ConnectionError::Io {
                    op: "write",
                    path: path.to_string(),
                    source,
                })?;
            if n == 0 {
                break;
            }
            buf.truncate(n);
            in_flight.push(self.raw.write(handle, offset, buf));
            offset += n as u64;
            if in_flight.len() >= WINDOW {
                if let Some(res) = in_flight.next().await {
                    res.map_err(|e| sftp_err("write", path, e))?;
                }
            }
        }
        while let Some(res) = in_flight.next().await {
            res.map_err(|e| sftp_err("write", path, e))?;
        }
        Ok(offset)
    }

    /// Ownership first, then the mode: changing the owner clears set-id
    /// bits, and sftp-server applies one SETSTAT's mode before its owner.
    /// What the new file already has (owner, and the mode it was created
    /// with under the server's umask) is not set again.
    async fn set_attrs(
        &self,
        path: &str,
        handle: &str,
        attrs: NumericAttrs,
        owner: Option<Result<russh_sftp::protocol::Attrs, SftpError>>,
    ) -> Result<(), ConnectionError> {
        let mut mode_now = None;
        // SFTP sets uid and gid together: fill in the one not asked for.
        if let Some(cur) = owner {
            let cur = cur.map_err(|e| sftp_err("chown", path, e))?.attrs;
            mode_now = cur.permissions.map(|p| p & 0o7777);
            let (uid, gid) = (attrs.uid.or(cur.uid), attrs.gid.or(cur.gid));
            // Skipped when nothing changes: a non-root login may not chown,
            // even to the owner the file already has.
            if (uid, gid) != (cur.uid, cur.gid) {
                let own = FileAttributes {
                    uid,
                    gid,
                    ..FileAttributes::empty()
                };
                self.raw
                    .fsetstat(handle, own)
                    .await
                    .map_err(|e| sftp_err("chown", path, e))?;
                mode_now = None;
            }
        }
        if let Some(mode) = attrs.mode.filter(|m| Some(m & 0o7777) != mode_now) {
            let perm = FileAttributes {
                permissions: Some(mode & 0o7777),
                ..FileAttributes::empty()
            };
            self.raw
                .fsetstat(handle, perm)
                .await
                .map_err(|e| sftp_err("chmod", path, e))?;
        }
        Ok(())
    }

    /// Replaces `to` with `from` atomically (posix-rename extension).
    pub(crate) async fn posix_rename(&self, from: &str, to: &str) -> Result<(), ConnectionError> {
        let mut data = Vec::with_capacity(from.len() + to.len() + 8);
        for s in [from, to] {
            data.extend_from_slice(&(s.len() as u32).to_be_bytes());
            data.extend_from_slice(s.as_bytes());
        }
        match self.raw.extended(POSIX_RENAME, data).await {
            Ok(Packet::Status(s)) if s.status_code == StatusCode::Ok => Ok(()),
            Ok(Packet::Status(s)) => Err(sftp_err("rename", to, SftpError::Status(s))),
            Ok(_) => Err(sftp_err("rename", to, SftpError::UnexpectedPacket)),
            Err(e) => Err(sftp_err("rename", to, e)),
        }
    }

    pub(crate) async fn remove(&self, path: &str) {
        let _ = self.raw.remove(path).await;
    }

    pub(crate) async fn shutdown(&self) {
        let _ = self.raw.close_session();
    }
}

/// Fills `buf` as far as the reader allows, so every request but the last
/// carries a whole chunk.
async fn read_full(
    reader: &mut (dyn AsyncRead + Send + Unpin),
    buf: &mut [u8],
) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = reader.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

fn to_stat(a: &FileAttributes) -> FileStat {
    let ft = a.file_type();
    let kind = if ft.is_symlink() {
        FileKind::Symlink
    } else if ft.is_dir() {
        FileKind::Directory
    } else if ft.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    };
    FileStat {
        kind,
        mode: a.permissions.unwrap_or(0) & 0o7777,
        uid: a.uid.unwrap_or(0),
        gid: a.gid.unwrap_or(0),
        size: a.size.unwrap_or(0),
        mtime: i64::from(a.mtime.unwrap_or(0)),
        link_target: None,
    }
}

fn is_missing(e: &SftpError) -> bool {
    matches!(e, SftpError::Status(s) if s.status_code == StatusCode::NoSuchFile)
}

/// Maps SFTP failures onto the errors the local connection gives, so
/// callers can test for `NotFound` or `PermissionDenied` either way.
pub(crate) fn sftp_err(op: &'static str, path: &str, e: SftpError) -> ConnectionError {
    let kind = match &e {
        SftpError::Status(s) => match s.status_code {
            StatusCode::NoSuchFile => Some(io::ErrorKind::NotFound),
            StatusCode::PermissionDenied => Some(io::ErrorKind::PermissionDenied),
            _ => None,
        },
        _ => None,
    };
    match kind {
        Some(kind) => ConnectionError::Io {
            op,
            path: path.to_string(),
            source: io::Error::new(kind, status_text(&e)),
        },
        None => ConnectionError::Remote {
            op,
            path: path.to_string(),
            message: status_text(&e),
        },
    }
}

fn status_text(e: &SftpError) -> String {
    match e {
        SftpError::Status(s) if !s.error_message.is_empty() => s.error_message.clone(),
        other => other.to_string(),
    }
}
