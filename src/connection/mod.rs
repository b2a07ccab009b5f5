//! How oplay reaches a host: run a command, read, stat and write files,
//! and open a tunnel to a port on the host's side.
//!
//! [`Connection`] has a local and an SSH implementation. One connection is
//! opened per host and reused by every task of the run; the
//! [`manager::ConnectionManager`] hands them out. Not for deciding what to
//! run: that is the modules' job.

pub mod cleanup;
pub mod local;
pub mod manager;
pub mod settings;
pub mod shellops;
pub mod ssh;
pub(crate) mod sudo;

use std::fmt;
use std::path::PathBuf;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::secret::Secret;

/// Errors from talking to a host. `Unreachable` ones make the host count as
/// unreachable in the recap; the rest fail only the task.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The host could not be reached (refused, timed out, no route).
    #[error("failed to connect to {target}: {reason}")]
    Unreachable {
        /// `address:port`.
        target: String,
        /// What the network said.
        reason: String,
    },
    /// The host's key is unknown, changed or revoked.
    #[error("host key verification failed for {target}: {reason}")]
    HostKey {
        /// `address:port`.
        target: String,
        /// Which key, and which known_hosts line.
        reason: String,
    },
    /// The login was refused.
    #[error("authentication failed for {user}@{target}: {reason}")]
    Auth {
        /// `address:port`.
        target: String,
        /// The login user.
        user: String,
        /// The methods tried.
        reason: String,
    },
    /// A local file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`read`, `write`, `stat`...).
        op: &'static str,
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file operation on the host failed; `message` is what it said.
    #[error("{op} {path}: {message}")]
    Remote {
        /// What was being done (`read`, `write`, `stat`...).
        op: &'static str,
        /// The file.
        path: String,
        /// The host's message (an SFTP status or a command's stderr).
        message: String,
    },
    /// An open connection broke.
    #[error("connection to {target} lost: {reason}")]
    Lost {
        /// `address:port`.
        target: String,
        /// What broke it.
        reason: String,
    },
    /// `sudo` refused or asked for a password it could not get.
    #[error("become failed: {0}")]
    Become(String),
}

/// A failed host hands the same error to every later caller; an I/O error
/// keeps its kind and message.
impl Clone for ConnectionError {
    fn clone(&self) -> Self {
        use ConnectionError as E;
        match self {
            E::Unreachable { target, reason } => E::Unreachable {
                target: target.clone(),
                reason: reason.clone(),
            },
            E::HostKey { target, reason } => E::HostKey {
                target: target.clone(),
                reason: reason.clone(),
            },
            E::Auth {
                target,
                user,
                reason,
            } => E::Auth {
                target: target.clone(),
                user: user.clone(),
                reason: reason.clone(),
            },
            E::Io { op, path, source } => E::Io {
                op,
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            E::Remote { op, path, message } => E::Remote {
                op,
                path: path.clone(),
                message: message.clone(),
            },
            E::Lost { target, reason } => E::Lost {
                target: target.clone(),
                reason: reason.clone(),
            },
            E::Become(m) => E::Become(m.clone()),
        }
    }
}

impl ConnectionError {
    /// Whether this error means the host could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ConnectionError::Unreachable { .. }
                | ConnectionError::HostKey { .. }
                | ConnectionError::Auth { .. }
                | ConnectionError::Lost { .. }
        )
    }
}

/// Run as another user through `sudo`: `sudo -n` without a password, else
/// `sudo -S` with a unique prompt, answered only when sudo asks (see
/// `sudo.rs`).
#[derive(Debug, Clone)]
pub struct Become {
    /// The user to become.
    pub user: String,
    /// The sudo password (`ansible_become_password`); without one, `sudo -n`.
    pub password: Option<Secret>,
}

/// A command to run on the host through `/bin/sh -c`.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// Shell text, passed to `/bin/sh -c`.
    pub cmd: String,
    /// Fed to the command's standard input, then closed.
    pub stdin: Option<Vec<u8>>,
    /// Environment variables set for the command (names checked with [`is_env_name`]).
    pub env: Vec<(String, String)>,
    /// The directory to run in.
    pub chdir: Option<String>,
    /// Run as another user through `sudo`.
    pub become_: Option<Become>,
}

impl ExecRequest {
    /// A request to run `cmd` as is, with nothing else set.
    pub fn shell(cmd: impl Into<String>) -> Self {
        ExecRequest {
            cmd: cmd.into(),
            ..Default::default()
        }
    }

    /// Builds a request that runs `argv` with every word quoted for the shell.
    pub fn argv<S: AsRef<str>>(argv: &[S]) -> Self {
        let words: Vec<String> = argv.iter().map(|a| shell_quote(a.as_ref())).collect();
        ExecRequest::shell(words.join(" "))
    }

    /// The full command line as the remote shell sees it (env, cd, become),
    /// for logs: a sudo prompt shows a placeholder key.
    pub fn render(&self) -> String {
        let markers = self
            .become_
            .as_ref()
            .and_then(|b| b.password.as_ref())
            .map(|_| sudo::Markers::placeholder());
        self.render_with(markers.as_ref())
    }

    /// The command line, with `markers` for a sudo that takes a password.
    pub(crate) fn render_with(&self, markers: Option<&sudo::Markers>) -> String {
        let mut script = String::new();
        if let Some(dir) = &self.chdir {
            script.push_str(&format!("cd {} && ", shell_quote(dir)));
        }
        for (k, v) in &self.env {
            // A name that is no variable name is quoted whole: the shell
            // then takes it as a command that does not exist, and runs
            // nothing from it. The executor refuses such names first.
            if is_env_name(k) {
                script.push_str(&format!("{k}={} ", shell_quote(v)));
            } else {
                script.push_str(&format!("{} ", shell_quote(&format!("{k}={v}"))));
            }
        }
        if self.env.is_empty() && self.chdir.is_none() && self.become_.is_none() {
            return self.cmd.clone();
        }
        script.push_str("exec /bin/sh -c ");
        script.push_str(&shell_quote(&self.cmd));
        let Some(b) = &self.become_ else {
            return script;
        };
        let (prompt, script) = match (markers, &b.password) {
            (Some(m), Some(_)) => (
                format!("-S -p {}", shell_quote(&m.prompt())),
                // The marker tells that sudo is done and the command runs.
                format!("echo {} >&2; {script}", m.success()),
            ),
            _ => ("-n".to_string(), script),
        };
        format!(
            "sudo {prompt} -H -u {} /bin/sh -c {}",
            shell_quote(&b.user),
            shell_quote(&script)
        )
    }
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    /// The exit status.
    pub rc: i32,
    /// Standard output, as text (invalid UTF-8 replaced).
    pub stdout: String,
    /// Standard error, as text (invalid UTF-8 replaced).
    pub stderr: String,
    /// The output was longer than [`OUTPUT_MAX`] and only its end is kept.
    pub truncated: bool,
}

/// The most of one output stream of a command that is kept in memory:
/// beyond it, the start is dropped and the end kept, so a runaway command
/// (`yes`) cannot exhaust the control node's memory.
pub const OUTPUT_MAX: usize = 16 << 20;

impl ExecOutput {
    /// A command's result from its raw output streams, each kept to its
    /// last [`OUTPUT_MAX`] bytes; `cut` says a stream was cut while read.
    pub(crate) fn from_streams(rc: i32, stdout: &[u8], stderr: &[u8], cut: bool) -> Self {
        let (stdout, cut_out) = tail_text(stdout);
        let (stderr, cut_err) = tail_text(stderr);
        ExecOutput {
            rc,
            stdout,
            stderr,
            truncated: cut || cut_out || cut_err,
        }
    }
}

/// The text of the last [`OUTPUT_MAX`] bytes of `buf`, and whether its
/// start was dropped.
fn tail_text(buf: &[u8]) -> (String, bool) {
    let cut = buf.len().saturating_sub(OUTPUT_MAX);
    (String::from_utf8_lossy(&buf[cut..]).into_owned(), cut > 0)
}

/// Drops the start of `buf` once it is twice [`OUTPUT_MAX`], keeping the
/// last `OUTPUT_MAX` bytes; `scanned` (an index into `buf`) follows the
/// cut. True when something was dropped.
pub(crate) fn keep_tail(buf: &mut Vec<u8>, scanned: &mut usize) -> bool {
    if buf.len() < 2 * OUTPUT_MAX {
        return false;
    }
    let cut = buf.len() - OUTPUT_MAX;
    buf.drain(..cut);
    *scanned = scanned.saturating_sub(cut);
    true
}

/// What `stat` learns about a path. Missing paths are `None`, not errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStat {
    /// What the path is (a link is not followed).
    pub kind: FileKind,
    /// Permission bits, e.g. `0o644`.
    pub mode: u32,
    /// The owner's numeric id.
    pub uid: u32,
    /// The group's numeric id.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, in seconds since the epoch.
    pub mtime: i64,
    /// The target of a symbolic link.
    pub link_target: Option<String>,
}

/// What kind of file a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (not followed).
    Symlink,
    /// Anything else: a device, a socket, a FIFO.
    Other,
}

/// Ownership and permissions to give a file. Owner and group are names or
/// numeric ids, as `chown` takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileAttrs {
    /// Permission bits; `None` keeps an existing file's, or the umask's default.
    pub mode: Option<u32>,
    /// The owner, a name or a numeric id.
    pub owner: Option<String>,
    /// The group, a name or a numeric id.
    pub group: Option<String>,
}

/// A byte stream to or from a port on the host's side of the connection.
pub trait Tunnel: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Tunnel for T {}

/// Where a tunnel leads on the host's side.
#[derive(Debug, Clone)]
pub enum TunnelTarget {
    /// A TCP port, reached from the host (`host` is resolved there).
    Tcp {
        /// A name or address, as the host resolves it.
        host: String,
        /// The port.
        port: u16,
    },
    /// A unix socket on the host.
    Unix(PathBuf),
}

impl fmt::Display for TunnelTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TunnelTarget::Tcp { host, port } => write!(f, "{host}:{port}"),
            TunnelTarget::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One open connection to one host, shared by every task of the run on
/// that host (and by tasks delegated to it), possibly at the same time.
///
/// An implementation must:
///
/// - run [`exec`](Self::exec) commands with `/bin/sh -c` as the login user,
///   or through `sudo` when the request has `become_` (see [`Become`]),
///   and report a command that ran and failed as `Ok` with its `rc`;
/// - keep at most [`OUTPUT_MAX`] bytes of each output stream, the end of
///   it, and say so in [`ExecOutput::truncated`];
/// - stop the command on the host and remove its temporary files when the
///   future is dropped (a task's `timeout:` or Ctrl-C), through
///   [`cleanup`] so that the removal outlives the future;
/// - do every file operation as `become_`'s user when one is given (the
///   shell commands of [`shellops`] do it over any connection);
/// - write files atomically: a temporary file beside the destination
///   ([`temp_path`]), ownership then mode, then a rename, so the
///   destination is the old file or the whole new one, never a part, and
///   no temporary file is left after a failure;
/// - answer `Ok(None)` for a path that does not exist
///   ([`stat`](Self::stat), [`read_file`](Self::read_file)), never an
///   error;
/// - return [`ConnectionError::Unreachable`], `HostKey`, `Auth` or `Lost`
///   only when the host itself cannot be used (the host then counts as
///   unreachable); anything else fails only the task.
///
/// It must not decide what to run (that is the modules' job), retry a
/// command (commands are not idempotent; connecting is retried by the
/// manager), print anything (the reporter does), or put a secret of the
/// request ([`Become::password`], `stdin`) in an error message.
#[async_trait]
pub trait Connection: Send + Sync {
    /// `local` or `ssh://user@host:port`, for messages.
    fn describe(&self) -> String;

    /// Identifies the connection to its target for the run, so that what
    /// is learned about a target can be cached. Wrappers (the `-vvv`
    /// logger) answer with what they wrap.
    fn identity(&self) -> usize {
        (self as *const Self).cast::<()>() as usize
    }

    /// Runs a command and waits for it. A command that ran and failed is
    /// `Ok` with its `rc`; `Err` is for a command that could not be run.
    async fn exec(&self, req: &ExecRequest) -> Result<ExecOutput, ConnectionError>;

    /// What the path is (without following a last symbolic link), or `None`
    /// when it does not exist.
    async fn stat(
        &self,
        path: &str,
        become_: Option<&Become>,
    ) -> Result<Option<FileStat>, ConnectionError>;

    /// The whole content of a file, or `None` if it does not exist.
    async fn read_file(
        &self,
        path: &str,
        become_: Option<&Become>,
    ) -> Result<Option<Vec<u8>>, ConnectionError>;

    /// Writes `data` atomically and applies `attrs`.
    async fn write_file(
        &self,
        path: &str,
        data: &[u8],
        attrs: &FileAttrs,
        become_: Option<&Become>,
    ) -> Result<(), ConnectionError>;

    /// Streams `reader` into a file atomically and returns the byte count.
    /// If the reader fails, even at its very end, the temporary file is
    /// removed and the destination is left untouched; a reader that checks
    /// a checksum at EOF uses this to refuse bad data.
    async fn write_stream(
        &self,
        path: &str,
        reader: &mut (dyn AsyncRead + Send + Unpin),
        attrs: &FileAttrs,
        become_: Option<&Become>,
    ) -> Result<u64, ConnectionError>;

    /// Opens a file for streaming reads.
    async fn open_read(
        &self,
        path: &str,
        become_: Option<&Become>,
    ) -> Result<Box<dyn AsyncRead + Send + Unpin>, ConnectionError>;

    /// Opens a byte stream to a TCP port or unix socket on the host's side.
    async fn tunnel(&self, target: &TunnelTarget) -> Result<Box<dyn Tunnel>, ConnectionError>;
}

/// Quotes a word for a POSIX shell.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Quotes a glob pattern for a POSIX shell so that only its wildcards
/// (`*`, `?` and bracket expressions) stay active: every other character,
/// `$`, backquotes, `;` and spaces included, is quoted, so the shell can
/// expand the pattern but never run anything from it. A bracket holding
/// anything but letters, digits and `!^-._` is taken literally.
pub fn shell_glob(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut literal = String::new();
    let flush = |literal: &mut String, out: &mut String| {
        if !literal.is_empty() {
            out.push_str(&shell_quote(literal));
            literal.clear();
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '*' || c == '?' {
            flush(&mut literal, &mut out);
            out.push(c);
        } else if let Some(end) = (c == '[').then(|| bracket_end(&chars, i)).flatten() {
            flush(&mut literal, &mut out);
            out.extend(&chars[i..=end]);
            i = end;
        } else {
            literal.push(c);
        }
        i += 1;
    }
    flush(&mut literal, &mut out);
    if out.is_empty() { "''".into() } else { out }
}

/// The index of the `]` closing a safe bracket expression opened at `open`.
fn bracket_end(chars: &[char], open: usize) -> Option<usize> {
    let mut i = open + 1;
    if matches!(chars.get(i), Some('!' | '^')) {
        i += 1;
    }
    // A `]` right after the opening is a member, as in a shell.
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    while let Some(&c) = chars.get(i) {
        match c {
            ']' => return (i > open + 1).then_some(i),
            c if c.is_ascii_alphanumeric() || "!^-._".contains(c) => i += 1,
            _ => return None,
        }
    }
    None
}

/// Whether `name` can be a variable in a shell's environment.
pub fn is_env_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A temporary name beside `path`, so the final rename stays on one filesystem.
pub fn temp_path(path: &str) -> String {
    let p = std::path::Path::new(path);
    let dir = p
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tag: u64 = rand::random();
    let dir = if dir.is_empty() { ".".to_string() } else { dir };
    format!("{dir}/.{name}.oplay-{tag:016x}.tmp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_keep_only_their_wildcards() {
        assert_eq!(shell_glob("/etc/*.conf"), "/etc/*.conf");
        assert_eq!(shell_glob("/etc/a?[0-9].d"), "/etc/a?[0-9].d");
        assert_eq!(
            shell_glob("/etc/*.conf$(touch /tmp/PWN)"),
            "/etc/*'.conf$(touch /tmp/PWN)'"
        );
        assert_eq!(shell_glob("/x/[$(id)]*"), "'/x/[$(id)]'*");
        assert_eq!(shell_glob("a b*`id`"), "'a b'*'`id`'");
        assert_eq!(shell_glob("it's*"), r"'it'\''s'*");
        assert_eq!(shell_glob(""), "''");
    }

    #[test]
    fn env_names() {
        assert!(is_env_name("LANG") && is_env_name("_x1"));
        assert!(!is_env_name("LANG=C; touch /tmp/PWN; X"));
        assert!(!is_env_name("1A") && !is_env_name(""));
    }

    #[test]
    fn quotes_for_shell() {
        assert_eq!(shell_quote("abc"), "abc");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn renders_env_chdir_and_become() {
        let req = ExecRequest {
            cmd: "echo $X".into(),
            env: vec![("X".into(), "1 2".into())],
            chdir: Some("/tmp".into()),
            become_: Some(Become {
                user: "root".into(),
                password: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            req.render(),
            r#"sudo -n -H -u root /bin/sh -c 'cd /tmp && X='\''1 2'\'' exec /bin/sh -c '\''echo $X'\'''"#
        );
        assert_eq!(ExecRequest::shell("ls").render(), "ls");
    }
}
