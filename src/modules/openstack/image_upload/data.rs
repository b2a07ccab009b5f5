//! The data side of `image_upload`: hashing the source (a control-node
//! file, a file on the host, a URL downloaded to a temporary file),
//! streaming it to `PUT /v2/images/{id}/file`, and waiting for Glance to
//! agree on its sha512.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio_util::io::{ReaderStream, StreamReader};

use super::{ImageAction, Source, TempFile};
use crate::connection::shell_quote;
use crate::modules::openstack::common::{Api, id_of};
use crate::modules::{ModuleCtx, ModuleError, Outcome};
use crate::openstack::rest::join_url;
use crate::openstack::stream::{self, Digests, HashAlgo, HashingReader};

/// Bytes read and sent at a time: small enough to keep memory flat.
const CHUNK: usize = 256 * 1024;

type Reader = Box<dyn AsyncRead + Send + Unpin>;

impl ImageAction {
    /// The data's digests (verifying `checksum` on the way), computed once.
    pub(super) async fn local_digests(
        &mut self,
        ctx: &ModuleCtx<'_>,
        src: &Source,
    ) -> Result<Digests, ModuleError> {
        if let Some(d) = &self.known {
            return Ok(d.clone());
        }
        let digests = match src {
            Source::File(f) => {
                let path = local_path(ctx, f)?;
                let file = tokio::fs::File::open(&path).await.map_err(|e| {
                    ModuleError::failed(format!("could not open {}: {e}", path.display()))
                })?;
                stream::digest(file, self.checksum.clone())
                    .await
                    .map_err(|e| ModuleError::failed(format!("{src}: {e}")))?
            }
            Source::Remote(path) => self.remote_digests(ctx, path).await?,
            Source::Url(url) => match &self.checksum {
                // A sha512 says what the data is without downloading it;
                // it is verified when (and if) the data is uploaded.
                Some(c) if c.algo == HashAlgo::Sha512 => Digests {
                    size: 0,
                    sha512: c.hex.clone(),
                    checked: None,
                },
                _ => {
                    self.download(ctx, url).await?;
                    self.known.clone().unwrap_or_default()
                }
            },
        };
        self.known = Some(digests.clone());
        Ok(digests)
    }

    /// Hashes a file on the host with its own `sha512sum` (and `md5sum` or
    /// `sha256sum` for a checksum), so the data does not travel twice.
    async fn remote_digests(
        &self,
        ctx: &ModuleCtx<'_>,
        path: &str,
    ) -> Result<Digests, ModuleError> {
        let stat = ctx.conn.stat(path, ctx.become_.as_ref()).await?;
        let Some(stat) = stat else {
            return Err(ModuleError::failed(format!(
                "remote file {path} does not exist on {}",
                ctx.host
            )));
        };
        let sum = |algo: HashAlgo| async move {
            let out = ctx
                .exec(format!("{}sum -- {}", algo.name(), shell_quote(path)))
                .await?;
            if out.rc != 0 {
                return Err(ModuleError::failed(format!(
                    "{}sum {path} failed: {}",
                    algo.name(),
                    out.stderr.trim()
                )));
            }
            Ok(out
                .stdout
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string())
        };
        let sha512 = sum(HashAlgo::Sha512).await?;
        let checked = match &self.checksum {
            Some(c) => {
                let got = if c.algo == HashAlgo::Sha512 {
                    sha512.clone()
                } else {
                    sum(c.algo).await?
                };
                if got != c.hex {
                    return Err(ModuleError::failed(format!(
                        "remote file {path}: checksum mismatch: expected {c}, the data has {}:{got}",
                        c.algo.name()
                    )));
                }
                Some(got)
            }
            None => None,
        };
        Ok(Digests {
            size: stat.size,
            sha512,
            checked,
        })
    }

    /// Downloads a URL to a temporary file while hashing it; a checksum
    /// mismatch removes the file and fails before anything is uploaded.
    async fn download(&mut self, ctx: &ModuleCtx<'_>, url: &str) -> Result<(), ModuleError> {
        let resp = ctx.services.http.get(url).send().await.map_err(|e| {
            ModuleError::failed(format!(
                "could not download {url}: {}",
                crate::openstack::rest::transport_reason(&e)
            ))
        })?;
        if !resp.status().is_success() {
            return Err(ModuleError::failed(format!(
                "GET {url} returned {}",
                resp.status()
            )));
        }
        let temp = new_temp_file()?;
        let mut file = tokio::fs::File::create(&temp.0).await.map_err(|e| {
            ModuleError::failed(format!("could not create {}: {e}", temp.0.display()))
        })?;
        let body = StreamReader::new(futures::TryStreamExt::map_err(
            resp.bytes_stream(),
            std::io::Error::other,
        ));
        let mut reader = HashingReader::new(body, self.checksum.clone(), None);
        let slot = reader.slot();
        tokio::io::copy(&mut reader, &mut file)
            .await
            .map_err(|e| ModuleError::failed(format!("{url}: {e}")))?;
        file.flush()
            .await
            .map_err(|e| ModuleError::failed(e.to_string()))?;
        let digests = slot
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .unwrap_or_default();
        if let Some(known) = self.known.as_ref().filter(|k| k.sha512 != digests.sha512) {
            return Err(ModuleError::failed(format!(
                "{url}: checksum mismatch: expected sha512:{}, the data has sha512:{}",
                known.sha512, digests.sha512
            )));
        }
        self.known = Some(digests);
        self.temp = Some(temp);
        Ok(())
    }

    /// Makes sure the data is at hand and verified before anything changes.
    pub(super) async fn prepare_data(&mut self, ctx: &ModuleCtx<'_>) -> Result<(), ModuleError> {
        let src = self.require_source()?.clone();
        match &src {
            Source::Url(url) if self.temp.is_none() => self.download(ctx, url).await,
            Source::File(_) | Source::Remote(_) if self.checksum.is_some() => {
                self.local_digests(ctx, &src).await.map(|_| ())
            }
            _ => Ok(()),
        }
    }

    /// Opens the data for streaming, with its size when known.
    async fn open(&self, ctx: &ModuleCtx<'_>) -> Result<(Reader, Option<u64>), ModuleError> {
        if let Some(temp) = &self.temp {
            return open_local(&temp.0).await;
        }
        match self.require_source()? {
            Source::File(f) => open_local(&local_path(ctx, f)?).await,
            Source::Remote(path) => {
                let size = ctx
                    .conn
                    .stat(path, ctx.become_.as_ref())
                    .await?
                    .map(|s| s.size);
                let r = ctx.conn.open_read(path, ctx.become_.as_ref()).await?;
                Ok((r, size))
            }
            Source::Url(u) => Err(ModuleError::failed(format!("{u} was not downloaded"))),
        }
    }

    /// Streams the data into the image, waits for `active` and checks
    /// Glance's sha512 against the one computed while sending. An image
    /// created by this task is deleted again if the upload fails.
    pub(super) async fn upload_and_wait(
        &mut self,
        ctx: &ModuleCtx<'_>,
        api: &Api,
        image: &Value,
        created: bool,
    ) -> Result<Outcome, ModuleError> {
        let id = id_of(image);
        let started = Instant::now();
        let sent = self.send_data(ctx, api, &id).await;
        let digests = match sent {
            Ok(d) => d,
            Err(e) => {
                if created {
                    let path = format!("/v2/images/{id}");
                    let _ = api.call("image", Method::DELETE, &path, None).await;
                }
                return Err(e);
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let image = self.wait_active(api, &id).await?;
        let glance = image
            .get("os_hash_value")
            .and_then(Value::as_str)
            .unwrap_or("");
        if glance != digests.sha512 {
            return Err(ModuleError::failed(format!(
                "image `{}` ({id}): Glance's os_hash_value {glance} differs from the sha512 of the data sent, {}",
                self.p.name, digests.sha512
            )));
        }
        Ok(self
            .result(image, true, Some(seconds))
            .with("msg", format!("uploaded {} bytes", digests.size)))
    }

    async fn send_data(
        &self,
        ctx: &ModuleCtx<'_>,
        api: &Api,
        id: &str,
    ) -> Result<Digests, ModuleError> {
        let (reader, size) = self.open(ctx).await?;
        let expect = self.known.as_ref().map(|k| k.sha512.clone());
        let bar = stream::progress_bar(size, &format!("uploading {}", self.p.name));
        let reader = HashingReader::new(reader, self.checksum.clone(), expect).with_progress(bar);
        let slot = reader.slot();
        let body = reqwest::Body::wrap_stream(ReaderStream::with_capacity(reader, CHUNK));
        let endpoint = api.session.endpoint(&api.target("image")).await?;
        let url = join_url(&endpoint, &format!("/v2/images/{id}/file"));
        api.session
            .send_once(Method::PUT, &url, body, "application/octet-stream")
            .await?
            .ok()?;
        let digests = slot.lock().ok().and_then(|mut s| s.take());
        digests.ok_or_else(|| {
            ModuleError::failed(format!("PUT {url}: the data was not sent to its end"))
        })
    }

    async fn wait_active(&self, api: &Api, id: &str) -> Result<Value, ModuleError> {
        let deadline = Instant::now() + Duration::from_secs(self.p.wait_timeout.max(0) as u64);
        let path = format!("/v2/images/{id}");
        loop {
            let image = api.send("image", Method::GET, &path, None).await?;
            let status = image
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            match status.as_str() {
                "active" => return Ok(image),
                "killed" | "deleted" | "deactivated" => {
                    return Err(ModuleError::failed(format!(
                        "image `{}` ({id}) became {status} after the upload",
                        self.p.name
                    )));
                }
                _ if Instant::now() >= deadline => {
                    return Err(ModuleError::failed(format!(
                        "image `{}` ({id}) is still {status} after {} s (wait_timeout)",
                        self.p.name, self.p.wait_timeout
                    )));
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }
}

/// A control-node file named by `file:` (relative paths are searched like
/// `copy`'s `src`).
fn local_path(ctx: &ModuleCtx<'_>, f: &str) -> Result<PathBuf, ModuleError> {
    ctx.find_local(f, "files")
        .ok_or_else(|| ModuleError::failed(format!("file {f} not found on the control node")))
}

async fn open_local(path: &std::path::Path) -> Result<(Reader, Option<u64>), ModuleError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| ModuleError::failed(format!("could not open {}: {e}", path.display())))?;
    let size = file.metadata().await.ok().map(|m| m.len());
    Ok((Box::new(file), size))
}

/// A new, empty, private temporary file.
fn new_temp_file() -> Result<TempFile, ModuleError> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = format!("oplay-image-{:016x}.part", rand::random::<u64>());
    let path = std::env::temp_dir().join(name);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| ModuleError::failed(format!("could not create {}: {e}", path.display())))?;
    Ok(TempFile(path))
}
