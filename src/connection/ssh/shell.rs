//! One long-lived `/bin/sh` per SSH connection that runs the commands
//! which take no input, one after another.
//!
//! A new exec channel costs the host a fork of the sshd session process and
//! an exec of the login shell, about 2 ms of CPU per command. The shell here
//! is started once; each command then runs in a subshell of it, with
//! `/dev/null` as its input, between markers that carry a random token and
//! the command's number:
//!
//! ```text
//! printf '%s\n' S:TOKEN:7; printf '%s\n' S:TOKEN:7 >&2
//! (eval 'the command') </dev/null
//! printf 'E:TOKEN:7:%d\n' $?; printf '%s\n' E:TOKEN:7 >&2
//! ```
//!
//! What a command prints lies between its two markers on each stream;
//! anything before the start marker (a daemon started earlier that still
//! writes to its inherited output) is dropped. A command that names `$$`
//! runs under `/bin/sh -c` instead of `eval`, so that `$$` is its own shell
//! and not this one.
//!
//! A command whose task is cancelled (its `timeout:` expired, or the run
//! was interrupted) is stopped on the host: the shell traps SIGTERM, so a
//! `kill -TERM -- -PGID` sent over a new channel ends the shell's running
//! job and everything it started in the shell's process group, and the
//! shell itself lives on. A command's output is kept up to
//! [`crate::connection::OUTPUT_MAX`] bytes a stream; beyond that its
//! start is dropped and the result says it was cut.
//!
//! Commands with input (stdin, a sudo password) still get their own exec
//! channel, and so does a command issued while another one holds the shell.
//! When the shell cannot be started (a forced command in authorized_keys, a
//! login shell that refuses `-c`), the connection falls back to exec
//! channels for the rest of the run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use russh::ChannelMsg;
use tokio::sync::mpsc;

use super::handshake::Session;
use crate::connection::sudo::find;
use crate::connection::{ConnectionError, ExecOutput, shell_quote};

/// How long the shell may take to answer its first marker.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The persistent shell of one connection, started on first use.
pub(super) struct PersistentShell {
    slot: tokio::sync::Mutex<Option<Shell>>,
    token: String,
    next: AtomicU64,
    unsupported: AtomicBool,
}

/// A running shell: its input, and what it printed not yet consumed.
struct Shell {
    rx: mpsc::UnboundedReceiver<Chunk>,
    wr: Option<russh::ChannelWriteHalf<russh::client::Msg>>,
    /// The shell's process group, which its jobs share.
    pgid: Option<u32>,
}

enum Chunk {
    Out(Vec<u8>),
    Err(Vec<u8>),
    End,
}

enum StartError {
    /// The shell did not come up: use exec channels from now on.
    Unsupported,
    Lost(ConnectionError),
}

impl PersistentShell {
    pub(super) fn new() -> Self {
        PersistentShell {
            slot: tokio::sync::Mutex::new(None),
            token: format!("{:032x}", rand::random::<u128>()),
            next: AtomicU64::new(1),
            unsupported: AtomicBool::new(false),
        }
    }

    /// Runs `line` (a command without input) in the shell. `None` means the
    /// shell is busy or unavailable and the caller opens an exec channel.
    pub(super) async fn run(
        &self,
        session: &Arc<Session>,
        target: &str,
        line: &str,
    ) -> Option<Result<ExecOutput, ConnectionError>> {
        if self.unsupported.load(Ordering::Relaxed) {
            return None;
        }
        let mut slot = self.slot.try_lock().ok()?;
        let mut shell = match slot.take() {
            Some(s) => s,
            None => match Shell::start(session, target, &self.token).await {
                Ok(s) => s,
                Err(StartError::Unsupported) => {
                    self.unsupported.store(true, Ordering::Relaxed);
                    return None;
                }
                Err(StartError::Lost(e)) => return Some(Err(e)),
            },
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut guard = InFlight {
            session: session.clone(),
            pgid: shell.pgid,
        };
        let res = shell.run(&Markers::new(&self.token, id), line).await;
        guard.pgid = None;
        // A shell that ended is not put back; the next command starts one.
        if res.is_ok() {
            *slot = Some(shell);
        }
        Some(res.map_err(|reason| {
            if session.is_closed() {
                ConnectionError::Lost {
                    target: target.to_string(),
                    reason: reason.to_string(),
                }
            } else {
                ConnectionError::Remote {
                    op: "exec",
                    path: target.to_string(),
                    message: reason.to_string(),
                }
            }
        }))
    }
}

/// A job running in the shell. Dropped before the job ended (its task was
/// cancelled), it stops the job's process group on the host.
struct InFlight {
    session: Arc<Session>,
    pgid: Option<u32>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let Some(pgid) = self.pgid.take() else {
            return;
        };
        let session = self.session.clone();
        crate::connection::cleanup::spawn(async move {
            if let Ok(ch) = session.channel_open_session().await {
                let _ = ch
                    .exec(true, format!("kill -TERM -- -{pgid} 2>/dev/null"))
                    .await;
                let (mut rd, _wr) = ch.split();
                while let Some(msg) = rd.wait().await {
                    if matches!(msg, ChannelMsg::Close | ChannelMsg::ExitStatus { .. }) {
                        break;
                    }
                }
            }
        });
    }
}

/// The start and end markers of one command.
struct Markers {
    start: String,
    end: String,
}

impl Markers {
    fn new(token: &str, id: u64) -> Self {
        Markers {
            start: format!("S:{token}:{id}\n"),
            end: format!("E:{token}:{id}"),
        }
    }

    /// The shell text that runs `line` between the markers.
    fn job(&self, line: &str) -> String {
        let body = if line.contains("$$") || line.contains("${$") {
            format!("/bin/sh -c {}", shell_quote(line))
        } else {
            format!("eval {}", shell_quote(line))
        };
        let (s, e) = (self.start.trim_end(), &self.end);
        format!(
            "printf '%s\\n' {s}; printf '%s\\n' {s} >&2; ({body}) </dev/null; \
             printf '{e}:%d\\n' $?; printf '%s\\n' {e} >&2\n"
        )
    }
}

/// One output stream of the shell, scanned as it arrives: what comes
/// before the command's start marker is dropped, then its end is looked for
/// in the new bytes only.
#[derive(Default)]
struct Stream {
    buf: Vec<u8>,
    started: bool,
    /// Bytes of `buf` already searched.
    scanned: usize,
    /// Whether the start of the output was dropped.
    cut: bool,
}

impl Stream {
    fn push(&mut self, data: &[u8], m: &Markers) {
        self.buf.extend_from_slice(data);
        if self.started {
            // Keep the end of a huge output; the markers are searched in
            // what is new, so dropping the start loses nothing else.
            self.cut |= crate::connection::keep_tail(&mut self.buf, &mut self.scanned);
            return;
        }
        let from = self.scanned.saturating_sub(m.start.len());
        match find(&self.buf[from..], m.start.as_bytes()) {
            Some(at) => {
                self.buf.drain(..from + at + m.start.len());
                self.started = true;
                self.scanned = 0;
            }
            None => self.scanned = self.buf.len(),
        }
    }

    /// Where `end` begins in the command's output, once it has arrived.
    fn find_end(&mut self, end: &[u8]) -> Option<usize> {
        if !self.started {
            return None;
        }
        let from = self.scanned.saturating_sub(end.len());
        self.scanned = self.buf.len();
        find(&self.buf[from..], end).map(|at| from + at)
    }

    /// The command's stdout and exit code: the end marker is `E:..:RC\n`.
    fn stdout(&mut self, m: &Markers) -> Option<(usize, i32)> {
        let scanned = self.scanned;
        let at = self.find_end(format!("{}:", m.end).as_bytes())?;
        let digits = at + m.end.len() + 1;
        let Some(nl) = find(&self.buf[digits..], b"\n") else {
            // The marker is here but not its line's end: look again.
            self.scanned = scanned;
            return None;
        };
        let rc = std::str::from_utf8(&self.buf[digits..digits + nl]).ok()?;
        Some((at, rc.parse().ok()?))
    }

    /// The command's stderr: the end marker is `E:..\n`.
    fn stderr(&mut self, m: &Markers) -> Option<usize> {
        self.find_end(format!("{}\n", m.end).as_bytes())
    }
}

impl Shell {
    /// Opens the channel, starts `/bin/sh` and waits for its first answer.
    async fn start(session: &Session, target: &str, token: &str) -> Result<Shell, StartError> {
        let lost = |e: russh::Error| {
            StartError::Lost(ConnectionError::Lost {
                target: target.to_string(),
                reason: e.to_string(),
            })
        };
        let ch = session.channel_open_session().await.map_err(lost)?;
        ch.exec(true, "exec /bin/sh").await.map_err(lost)?;
        let (rd, wr) = ch.split();
        let (tx, rx) = mpsc::unbounded_channel();
        // Always drained, so that output nobody waits for (a daemon's) never
        // fills russh's bounded channel queue and stalls the session.
        tokio::spawn(drain(rd, tx));
        // SIGTERM is caught, not ignored: the jobs get the default action
        // back, so a TERM to the process group ends them, not the shell.
        let _ = wr.data(&b"trap : TERM; oplay_pg=$$\n"[..]).await;
        let mut shell = Shell {
            rx,
            wr: Some(wr),
            pgid: None,
        };
        let first = Markers::new(token, 0);
        let probe = shell.run(&first, "printf %s \"$oplay_pg\"");
        match tokio::time::timeout(START_TIMEOUT, probe).await {
            Ok(Ok(out)) if out.rc == 0 => {
                shell.pgid = out.stdout.trim().parse().ok();
                Ok(shell)
            }
            _ => Err(StartError::Unsupported),
        }
    }

    async fn run(&mut self, m: &Markers, line: &str) -> Result<ExecOutput, &'static str> {
        let wr = self.wr.as_ref().ok_or(ENDED)?;
        wr.data(m.job(line).as_bytes()).await.map_err(|_| ENDED)?;
        let (mut out, mut err) = (Stream::default(), Stream::default());
        let (mut stdout, mut stderr) = (None, None);
        loop {
            match self.rx.recv().await {
                Some(Chunk::Out(d)) if stdout.is_none() => {
                    out.push(&d, m);
                    stdout = out.stdout(m);
                }
                Some(Chunk::Err(d)) if stderr.is_none() => {
                    err.push(&d, m);
                    stderr = err.stderr(m);
                }
                // Output after a stream's end marker is not this command's.
                Some(Chunk::Out(_) | Chunk::Err(_)) => {}
                Some(Chunk::End) | None => return Err(ENDED),
            }
            if let (Some((o, rc)), Some(e)) = (stdout, stderr) {
                let cut = out.cut || err.cut;
                let res = ExecOutput::from_streams(rc, &out.buf[..o], &err.buf[..e], cut);
                return Ok(res);
            }
        }
    }
}

const ENDED: &str = "the remote shell ended while running the command";

/// Ends the shell when it is dropped: after its command, or when the task
/// that ran a command was cancelled midway.
impl Drop for Shell {
    fn drop(&mut self) {
        if let (Some(wr), Ok(rt)) = (self.wr.take(), tokio::runtime::Handle::try_current()) {
            rt.spawn(async move {
                let _ = wr.eof().await;
            });
        }
    }
}

/// Forwards what the shell prints until its channel closes.
async fn drain(mut rd: russh::ChannelReadHalf, tx: mpsc::UnboundedSender<Chunk>) {
    while let Some(msg) = rd.wait().await {
        let chunk = match msg {
            ChannelMsg::Data { data } => Chunk::Out(data.to_vec()),
            ChannelMsg::ExtendedData { data, ext: 1 } => Chunk::Err(data.to_vec()),
            ChannelMsg::Failure | ChannelMsg::Eof | ChannelMsg::Close => break,
            _ => continue,
        };
        if tx.send(chunk).is_err() {
            return;
        }
    }
    let _ = tx.send(Chunk::End);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_runs_the_line_in_a_subshell_between_markers() {
        let m = Markers::new("T", 3);
        assert_eq!(
            m.job("echo 'hi'"),
            "printf '%s\\n' S:T:3; printf '%s\\n' S:T:3 >&2; (eval 'echo '\\''hi'\\''') </dev/null; \
             printf 'E:T:3:%d\\n' $?; printf '%s\\n' E:T:3 >&2\n"
        );
        assert!(m.job("echo $$").contains("(/bin/sh -c 'echo $$')"));
    }

    fn stream(chunks: &[&[u8]], m: &Markers) -> Stream {
        let mut s = Stream::default();
        for c in chunks {
            s.push(c, m);
        }
        s
    }

    #[test]
    fn output_between_the_markers_is_the_commands() {
        let m = Markers::new("T", 3);
        let mut out = stream(
            &[
                b"stale\nS:T:2\nS:T",
                b":3\nno newline at the end",
                b"E:T:3:7\n",
            ],
            &m,
        );
        let (at, rc) = out.stdout(&m).unwrap();
        assert_eq!((&out.buf[..at], rc), (&b"no newline at the end"[..], 7));
        let mut err = stream(&[b"S:T:3\nwarning\nE:T", b":3\n"], &m);
        let at = err.stderr(&m).unwrap();
        assert_eq!(&err.buf[..at], b"warning\n");
    }

    #[test]
    fn a_marker_split_across_chunks_is_found_once_whole() {
        let m = Markers::new("T", 3);
        let mut out = stream(&[b"S:T:3\nhalf E:T:3:1"], &m);
        assert_eq!(out.stdout(&m), None);
        out.push(b"2\n", &m);
        assert_eq!(out.stdout(&m).map(|(_, rc)| rc), Some(12));
        let mut err = stream(&[b"S:T:3\nE:T:3"], &m);
        assert_eq!(err.stderr(&m), None);
        err.push(b"\n", &m);
        assert_eq!(err.stderr(&m), Some(0));
    }
}
