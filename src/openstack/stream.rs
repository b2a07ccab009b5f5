//! Streaming data to a service without holding it in memory: a reader that
//! hashes what passes through it (sha512 for Glance's `os_hash_value`, and
//! the algorithm of a user's checksum), checks the checksum at the end and
//! fails the stream rather than let bad data finish, and moves a progress
//! bar.

use std::io;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use indicatif::ProgressBar;
use md5::Md5;
use sha2::{Digest, Sha256, Sha512};
use tokio::io::{AsyncRead, ReadBuf};

/// A hash algorithm a checksum may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgo {
    /// Only for checksums that old image sites still publish.
    Md5,
    /// What most image sites publish (`SHA256SUMS`).
    Sha256,
    /// Glance's own `os_hash_algo`.
    Sha512,
}

impl HashAlgo {
    /// The prefix of a checksum written `ALGO:HEX`, and Glance's name.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "md5",
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha512 => "sha512",
        }
    }
}

/// An expected digest, written `sha256:HEX` (or a bare hex digest, whose
/// length says the algorithm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// Given by the prefix, or guessed from the digest's length.
    pub algo: HashAlgo,
    /// Lower case, so that it compares with what the hasher gives.
    pub hex: String,
}

impl FromStr for Checksum {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (algo, hex) = match s.split_once(':') {
            Some((a, h)) => {
                let algo = match a.to_ascii_lowercase().as_str() {
                    "md5" => HashAlgo::Md5,
                    "sha256" => HashAlgo::Sha256,
                    "sha512" => HashAlgo::Sha512,
                    other => {
                        return Err(format!(
                            "unsupported checksum algorithm `{other}` (use md5, sha256 or sha512)"
                        ));
                    }
                };
                (algo, h)
            }
            None => match s.len() {
                32 => (HashAlgo::Md5, s),
                64 => (HashAlgo::Sha256, s),
                128 => (HashAlgo::Sha512, s),
                _ => return Err(format!("`{s}` is not a checksum; write it as sha256:HEX")),
            },
        };
        let hex = hex.to_ascii_lowercase();
        let want_len = match algo {
            HashAlgo::Md5 => 32,
            HashAlgo::Sha256 => 64,
            HashAlgo::Sha512 => 128,
        };
        if hex.len() != want_len || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("`{s}` is not a valid {} digest", algo.name()));
        }
        Ok(Checksum { algo, hex })
    }
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algo.name(), self.hex)
    }
}

enum Hasher {
    Md5(Md5),
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    fn new(algo: HashAlgo) -> Self {
        match algo {
            HashAlgo::Md5 => Hasher::Md5(Md5::new()),
            HashAlgo::Sha256 => Hasher::Sha256(Sha256::new()),
            HashAlgo::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    fn finish(self) -> String {
        match self {
            Hasher::Md5(h) => hex::encode(h.finalize()),
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
        }
    }
}

/// What a finished stream was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    /// Bytes read, for Glance's `size`.
    pub size: u64,
    /// Lower-case hex, for Glance's `os_hash_value`.
    pub sha512: String,
    /// The digest in the checksum's algorithm, when one was expected.
    pub checked: Option<String>,
}

/// Where a [`HashingReader`] leaves its [`Digests`] once it reaches the end.
pub type DigestSlot = Arc<Mutex<Option<Digests>>>;

/// Hashes what is read through it; at the end, fails with `InvalidData`
/// if the data does not match the expected checksum or sha512.
pub struct HashingReader<R> {
    inner: R,
    sha512: Option<Sha512>,
    check: Option<(Checksum, Hasher)>,
    expect_sha512: Option<String>,
    size: u64,
    progress: Option<ProgressBar>,
    slot: DigestSlot,
}

impl<R: AsyncRead + Unpin> HashingReader<R> {
    /// `checksum` is the user's expected digest; `expect_sha512` the
    /// sha512 an earlier pass over the same data found, so that data
    /// changed in between fails the stream. Either, both or neither.
    pub fn new(inner: R, checksum: Option<Checksum>, expect_sha512: Option<String>) -> Self {
        HashingReader {
            inner,
            sha512: Some(Sha512::new()),
            check: checksum.map(|c| {
                let h = Hasher::new(c.algo);
                (c, h)
            }),
            expect_sha512,
            size: 0,
            progress: None,
            slot: Arc::new(Mutex::new(None)),
        }
    }

    /// Moves `bar` by the bytes read; `None` (not a terminal) shows
    /// nothing.
    pub fn with_progress(mut self, bar: Option<ProgressBar>) -> Self {
        self.progress = bar;
        self
    }

    /// Where the digests appear once the stream has ended well.
    pub fn slot(&self) -> DigestSlot {
        self.slot.clone()
    }

    /// Called once at the end of the data.
    fn finish(&mut self) -> io::Result<()> {
        let Some(h) = self.sha512.take() else {
            return Ok(());
        };
        let sha512 = hex::encode(h.finalize());
        let checked = match self.check.take() {
            Some((want, h)) => {
                let got = h.finish();
                if got != want.hex {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "checksum mismatch: expected {want}, the data has {}:{got}",
                            want.algo.name()
                        ),
                    ));
                }
                Some(got)
            }
            None => None,
        };
        if let Some(want) = self.expect_sha512.as_ref().filter(|w| **w != sha512) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the data changed while it was read (sha512 {want} before, {sha512} now)"),
            ));
        }
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some(Digests {
                size: self.size,
                sha512,
                checked,
            });
        }
        Ok(())
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for HashingReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let new = &buf.filled()[before..];
                if new.is_empty() {
                    return Poll::Ready(this.finish());
                }
                if let Some(h) = this.sha512.as_mut() {
                    h.update(new);
                }
                if let Some((_, h)) = this.check.as_mut() {
                    h.update(new);
                }
                this.size += new.len() as u64;
                if let Some(bar) = &this.progress {
                    bar.inc(new.len() as u64);
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

/// Reads a stream to its end, only to hash it.
pub async fn digest<R: AsyncRead + Unpin>(
    reader: R,
    checksum: Option<Checksum>,
) -> io::Result<Digests> {
    let mut r = HashingReader::new(reader, checksum, None);
    tokio::io::copy(&mut r, &mut tokio::io::sink()).await?;
    let slot = r.slot();
    let digests = slot.lock().ok().and_then(|mut s| s.take());
    digests.ok_or_else(|| io::Error::other("the stream ended without a digest"))
}

/// A progress bar for `total` bytes, only when stderr is a terminal.
pub fn progress_bar(total: Option<u64>, what: &str) -> Option<ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    // In the process's one MultiProgress, so the task spinner stacks
    // with it instead of drawing over it.
    let bar = crate::output::progress::bars().add(match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    });
    let style = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "));
    if let (Ok(style), Some(_)) = (style, total) {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_checksums() {
        let c: Checksum = format!("SHA256:{}", "AB".repeat(32)).parse().unwrap();
        assert_eq!(c.hex, "ab".repeat(32));
        assert_eq!(c.algo, HashAlgo::Sha256);
        let md5: Checksum = "41ce4d32ce22529a293044bc1eb4e734".parse().unwrap();
        assert_eq!(md5.algo, HashAlgo::Md5);
        assert!(
            "crc32:1234"
                .parse::<Checksum>()
                .unwrap_err()
                .contains("unsupported")
        );
        assert!(
            "sha256:xyz"
                .parse::<Checksum>()
                .unwrap_err()
                .contains("not a valid sha256")
        );
    }

    #[tokio::test]
    async fn hashes_and_refuses_bad_data() {
        let data = b"hello\n".to_vec();
        let d = digest(
            &data[..],
            Some("md5:b1946ac92492d2347c6235b4d2611184".parse().unwrap()),
        )
        .await
        .unwrap();
        assert_eq!(d.size, 6);
        assert!(d.sha512.starts_with("e7c22b994c59d9cf"));
        let bad = digest(
            &data[..],
            Some(format!("sha256:{}", "0".repeat(64)).parse().unwrap()),
        )
        .await;
        let err = bad.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string()
                .contains("checksum mismatch: expected sha256:000"),
            "{err}"
        );
    }
}
