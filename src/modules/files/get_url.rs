//! `get_url`: download a file over HTTP(S) on the control node and stream
//! it to the host, checking its checksum on the way.
//!
//! The body is never held whole in memory: it flows from reqwest through
//! a hashing reader into the connection's atomic `write_stream`. A
//! checksum mismatch makes that reader fail at EOF, so the temporary file
//! is removed and `dest` is left as it was.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, ReadBuf};

use super::common::{
    self, Algo, AttrChanges, Probe, ProbeRequest, Wanted, add_file_fields, base_name, parent_of,
    predicted_file, probe,
};
use super::params::file_params;
use crate::connection::{FileKind, shell_quote};
use crate::modules::{
    Action, ApplyPlan, Change, Diff, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Planned,
    Query, parse_params,
};
use crate::secret::Secret;

file_params! {
    /// Downloads a file from HTTP, HTTPS or FTP-less URLs to the host.
    ///
    /// The download runs on the control node and is streamed to the host. With
    /// `checksum` (`sha256:HEX`, also `md5`, `sha1`, `sha224`, `sha384`,
    /// `sha512`, or `sha256:URL` of a checksum file), an existing `dest` with
    /// that checksum is not downloaded again and a download with another
    /// checksum fails, leaving `dest` untouched. Without `checksum`, an
    /// existing `dest` is only downloaded again with `force: yes`, and then
    /// replaced only if the content differs (in check mode that counts as a
    /// change). When `dest` is a directory the file name is the last part of
    /// the URL's path (no `Content-Disposition`). Credentials are sent as HTTP
    /// basic auth on the first request.
    pub struct GetUrlParams with backup {
        /// The URL to download.
        pub url: String,
        /// Where to put the file on the host (a file, or a directory).
        pub dest: String,
        /// `ALGORITHM:HEX` (or `ALGORITHM:URL` of a checksum file) the download must match.
        #[serde(default)]
        pub checksum: Option<String>,
        /// Download even when `dest` exists (it is replaced only if different).
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub force: bool,
        /// Seconds to wait for the server to answer, and between two reads (default 10).
        #[serde(default = "ten", deserialize_with = "crate::value::de_int")]
        pub timeout: i64,
        /// Extra HTTP request headers.
        #[serde(default)]
        pub headers: Option<Map<String, Value>>,
        /// User name for HTTP basic auth.
        #[serde(default)]
        pub url_username: Option<String>,
        /// Password for HTTP basic auth.
        #[serde(default)]
        pub url_password: Option<Secret>,
        /// Check the server's TLS certificate (default yes).
        #[serde(default = "yes", deserialize_with = "crate::value::de_bool")]
        pub validate_certs: bool,
        /// Accepted for compatibility: credentials are always sent up front.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub force_basic_auth: bool,
        /// The User-Agent header.
        #[serde(default)]
        pub http_agent: Option<String>,
    }
}

fn ten() -> i64 {
    10
}

fn yes() -> bool {
    true
}

/// The `get_url` module.
pub struct GetUrlModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![Arc::new(GetUrlModule {
        spec: ModuleSpec::native::<GetUrlParams>("get_url").with_examples(
            "- get_url:\n    url: http://download.cirros-cloud.net/0.6.2/cirros-0.6.2-x86_64-disk.img\n    dest: /var/cache/cirros.img\n    checksum: sha256:http://download.cirros-cloud.net/0.6.2/SHA256SUMS\n    mode: '0644'",
        ),
    })]
}

impl Module for GetUrlModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: GetUrlParams = parse_params(args)?;
        let url = reqwest::Url::parse(&p.url).map_err(|e| {
            ModuleError::Params(format!("invalid url '{}': {e}", redact_url(&p.url)))
        })?;
        let checksum = match p.checksum.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(parse_checksum(c)?),
        };
        if p.timeout <= 0 {
            return Err(ModuleError::Params(
                "timeout must be a positive number of seconds".into(),
            ));
        }
        Ok(Box::new(GetUrlAction {
            p,
            url,
            checksum,
            dest: String::new(),
        }))
    }
}

/// The wanted checksum: the hex value, or where to find it.
#[derive(Debug, Clone)]
enum Expected {
    Hex(String),
    Url(String),
}

fn parse_checksum(text: &str) -> Result<(Algo, Expected), ModuleError> {
    let (algo, value) = text.split_once(':').ok_or_else(|| {
        ModuleError::Params(
            "The checksum parameter has to be in format <algorithm>:<checksum>".into(),
        )
    })?;
    let algo = Algo::parse(algo)
        .ok_or_else(|| ModuleError::Params(format!("unsupported hash algorithm: {algo}")))?;
    let value = value.trim();
    if value.contains("://") {
        return Ok((algo, Expected::Url(value.to_string())));
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ModuleError::Params(format!(
            "invalid checksum value '{value}': expected hex digits"
        )));
    }
    Ok((algo, Expected::Hex(value.to_ascii_lowercase())))
}

/// A URL without its user name and password, for messages.
fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => url.split('@').next_back().unwrap_or(url).to_string(),
    }
}

struct GetUrlAction {
    p: GetUrlParams,
    url: reqwest::Url,
    checksum: Option<(Algo, Expected)>,
    /// `dest`, with the file name added when it is a directory.
    dest: String,
}

/// What the query found and decided; the apply carries it out.
struct Plan {
    probe: Probe,
    wanted: Wanted,
    /// The hex checksum the download must have.
    expected: Option<(Algo, String)>,
    /// Attribute fixes only: nothing to download.
    attrs_only: Option<AttrChanges>,
}

impl GetUrlAction {
    fn shown_url(&self) -> String {
        redact_url(self.url.as_str())
    }

    fn client(&self, ctx: &ModuleCtx<'_>) -> Result<reqwest::Client, ModuleError> {
        if self.p.validate_certs {
            return Ok(ctx.services.http.clone());
        }
        reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .map_err(|e| ModuleError::failed(format!("could not build the HTTP client: {e}")))
    }

    /// Sends a GET and returns the response once its status is a success.
    async fn get(
        &self,
        client: &reqwest::Client,
        url: &str,
    ) -> Result<reqwest::Response, ModuleError> {
        let shown = redact_url(url);
        // Explicit credentials win over any in the URL, as in Ansible.
        let target = if self.p.url_username.is_some() {
            shown.as_str()
        } else {
            url
        };
        let mut req = client.get(target).header(
            "User-Agent",
            self.p.http_agent.as_deref().unwrap_or("oplay-httpget"),
        );
        for (k, v) in self.p.headers.iter().flatten() {
            let v = crate::value::scalar_to_string(v).unwrap_or_else(|| v.to_string());
            req = req.header(k.as_str(), v);
        }
        if let Some(user) = &self.p.url_username {
            req = req.basic_auth(user, self.p.url_password.as_ref().map(Secret::expose));
        }
        let wait = Duration::from_secs(self.p.timeout as u64);
        let resp = tokio::time::timeout(wait, req.send())
            .await
            .map_err(|_| {
                ModuleError::failed(format!(
                    "Request failed: timed out after {}s: {shown}",
                    self.p.timeout
                ))
            })?
            .map_err(|e| {
                ModuleError::failed(format!("Request failed: {}: {shown}", e.without_url()))
            })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ModuleError::Http {
                method: "GET".into(),
                url: shown,
                status: status.as_u16(),
                message: status.canonical_reason().unwrap_or("error").to_string(),
            });
        }
        Ok(resp)
    }

    /// The hex checksum wanted, fetching the checksum file when given by URL.
    async fn expected(&self, ctx: &ModuleCtx<'_>) -> Result<Option<(Algo, String)>, ModuleError> {
        let Some((algo, exp)) = &self.checksum else {
            return Ok(None);
        };
        let url = match exp {
            Expected::Hex(h) => return Ok(Some((*algo, h.clone()))),
            Expected::Url(u) => u,
        };
        let resp = self.get(&self.client(ctx)?, url).await?;
        let text = resp.text().await.map_err(|e| {
            ModuleError::failed(format!(
                "Request failed: {}: {}",
                e.without_url(),
                redact_url(url)
            ))
        })?;
        let name = base_name(self.url.path()).to_string();
        find_sum(&text, &name)
            .map(|h| Some((*algo, h)))
            .ok_or_else(|| {
                ModuleError::failed(format!(
                    "Unable to find a checksum for file '{name}' in '{}'",
                    redact_url(url)
                ))
            })
    }
}

/// The hash for `name` in a `sha256sum`-style file, or the only hash in it.
fn find_sum(text: &str, name: &str) -> Option<String> {
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .filter(|r: &Vec<&str>| !r.is_empty())
        .collect();
    if let [only] = rows.as_slice() {
        if only.len() == 1 {
            return Some(only[0].to_ascii_lowercase());
        }
    }
    rows.iter()
        .find(|r| r.len() >= 2 && r[1].trim_start_matches('*').trim_start_matches("./") == name)
        .map(|r| r[0].to_ascii_lowercase())
}

#[async_trait]
impl Action for GetUrlAction {
    async fn query(mut self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let attrs = self.p.file_attrs();
        let expected = self.expected(ctx).await?;
        let pr = self
            .probe_dest(ctx, &attrs, expected.as_ref().map(|(a, _)| *a))
            .await?;
        let wanted = Wanted::resolve(&attrs, &pr)?;
        let matches = match (&expected, &pr.checksum) {
            (Some((_, want)), Some(have)) => want == have,
            _ => false,
        };
        let keep = pr.info.is_some()
            && if expected.is_some() {
                matches
            } else {
                !self.p.force
            };
        let mut plan = Plan {
            probe: pr,
            wanted,
            expected,
            attrs_only: None,
        };
        if let (true, Some(info)) = (keep, plan.probe.info.clone()) {
            let changes = plan.wanted.changes(&info);
            let out = self
                .result(Outcome::ok(), &info, &plan.wanted)
                .with_msg("file already exists");
            if changes.is_empty() {
                return Ok(Query::Unchanged(out));
            }
            let mut change =
                Change::new().with_msg("file already exists but file attributes changed");
            if let Some(d) = changes.diff(&self.dest) {
                change = change.with_diff(d);
            }
            plan.attrs_only = Some(changes);
            return Ok(Query::Change(change, Planned::boxed(*self, plan)));
        }
        let change = self.download_change(&plan);
        Ok(Query::Change(change, Planned::boxed(*self, plan)))
    }
}

#[async_trait]
impl ApplyPlan for GetUrlAction {
    type Plan = Plan;

    async fn apply_plan(self, plan: Plan, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        if let Some(changes) = &plan.attrs_only {
            if let Some(cmd) = changes.command(&self.dest, false, false) {
                common::run_fix(ctx, &cmd, &self.dest).await?;
            }
            let info = plan
                .probe
                .info
                .clone()
                .unwrap_or_else(|| predicted_file(&plan.probe, 0));
            let out = self.result(Outcome::changed(), &info, &plan.wanted);
            return Ok(out.with_msg("file already exists but file attributes changed"));
        }
        self.download(ctx, &plan).await
    }
}

impl GetUrlAction {
    /// Probes `dest`, or the file named after the URL inside it when it
    /// is a directory.
    async fn probe_dest(
        &mut self,
        ctx: &ModuleCtx<'_>,
        attrs: &crate::connection::FileAttrs,
        algo: Option<Algo>,
    ) -> Result<Probe, ModuleError> {
        self.dest = self.p.dest.clone();
        let mut req = ProbeRequest::new(&self.dest).with_attrs(attrs);
        req.checksum = algo;
        let mut pr = probe(ctx, &req).await?;
        let is_dir = pr.info.as_ref().and_then(|i| i.followed_kind()) == Some(FileKind::Directory);
        if is_dir || self.dest.ends_with('/') {
            let name = base_name(self.url.path());
            if name.is_empty() {
                return Err(ModuleError::failed(format!(
                    "cannot name a file in {} after {}",
                    self.dest,
                    self.shown_url()
                )));
            }
            self.dest = format!("{}/{name}", self.dest.trim_end_matches('/'));
            req.path = self.dest.clone();
            pr = probe(ctx, &req).await?;
        }
        if pr.info.is_none() && !pr.parent_is_dir {
            return Err(ModuleError::failed(format!(
                "Destination {} does not exist",
                parent_of(&self.dest)
            )));
        }
        Ok(pr)
    }

    /// What check mode reports for a download.
    fn download_change(&self, plan: &Plan) -> Change {
        let before = plan
            .probe
            .info
            .as_ref()
            .map(|i| format!("size: {}\n", i.size))
            .unwrap_or_default();
        let mut after = format!("url: {}\n", self.shown_url());
        if let Some((algo, hex)) = &plan.expected {
            after.push_str(&format!("checksum: {algo:?}:{hex}\n").to_lowercase());
        }
        Change::new()
            .with_msg(format!("would download {}", self.shown_url()))
            .with("dest", self.dest.clone())
            .with("url", self.shown_url())
            .with_diff(Diff {
                header: format!("{} (download, content not shown)", self.dest),
                before,
                after,
            })
    }

    fn result(&self, out: Outcome, info: &common::PathInfo, wanted: &Wanted) -> Outcome {
        let out = out
            .with("dest", self.dest.clone())
            .with("url", self.shown_url());
        add_file_fields(out, info, wanted)
    }

    async fn download(&self, ctx: &ModuleCtx<'_>, plan: &Plan) -> Result<Outcome, ModuleError> {
        let started = Instant::now();
        let resp = self.get(&self.client(ctx)?, self.url.as_str()).await?;
        let status = resp.status().as_u16();
        let state = Arc::new(Mutex::new(StreamState::default()));
        let mut reader = HashingReader::new(
            body_reader(resp, self.p.timeout),
            plan.expected.clone(),
            state.clone(),
        );
        let exists = plan.probe.info.is_some();
        // An existing file is replaced only if the download differs, so the
        // download first goes beside it.
        let target = if exists {
            format!("{}.oplay-download", self.dest)
        } else {
            self.dest.clone()
        };
        let mut attrs = plan.wanted.attrs();
        if let Some(info) = plan.probe.info.as_ref() {
            attrs.mode = attrs.mode.or(Some(info.mode));
            attrs.owner = attrs.owner.or(Some(info.uid.to_string()));
            attrs.group = attrs.group.or(Some(info.gid.to_string()));
        }
        let written = ctx
            .conn
            .write_stream(&target, &mut reader, &attrs, ctx.become_.as_ref())
            .await;
        let st = state.lock().map(|s| s.clone()).unwrap_or_default();
        let size = match (written, st.failure) {
            (Ok(n), _) => n,
            (Err(_), Some(msg)) => return Err(ModuleError::failed(msg)),
            (Err(e), None) => return Err(e.into()),
        };
        let mut out = Outcome::changed();
        if exists {
            let (changed, backup) = self.replace_if_different(ctx, &target, plan).await?;
            out.changed = changed;
            if let Some(b) = backup {
                out = out.with("backup_file", b);
            }
        }
        let info = predicted_file(&plan.probe, size);
        let sha1 = st.sha1.unwrap_or_default();
        Ok(self
            .result(out, &info, &plan.wanted)
            .with_msg(format!("OK ({size} bytes)"))
            .with("status_code", status)
            .with("checksum_src", sha1.clone())
            .with("checksum_dest", sha1)
            .with("elapsed", started.elapsed().as_secs()))
    }

    /// Moves the download over `dest` unless they are equal; returns
    /// whether anything changed and the backup's name.
    async fn replace_if_different(
        &self,
        ctx: &ModuleCtx<'_>,
        tmp: &str,
        plan: &Plan,
    ) -> Result<(bool, Option<String>), ModuleError> {
        let (qt, qd) = (shell_quote(tmp), shell_quote(&self.dest));
        let same = ctx
            .exec(format!(
                "if cmp -s -- {qt} {qd}; then rm -f -- {qt}; echo same; fi"
            ))
            .await?;
        if same.stdout.trim() == "same" {
            let changes = plan
                .probe
                .info
                .as_ref()
                .map(|i| plan.wanted.changes(i))
                .unwrap_or_default();
            if let Some(cmd) = changes.command(&self.dest, false, false) {
                common::run_fix(ctx, &cmd, &self.dest).await?;
            }
            return Ok((!changes.is_empty(), None));
        }
        let backup = match self.p.backup {
            true => Some(common::backup(ctx, &self.dest).await?),
            false => None,
        };
        let mv = ctx.exec(format!("mv -f -- {qt} {qd}")).await?;
        if mv.rc != 0 {
            let _ = ctx.exec(format!("rm -f -- {qt}")).await;
            return Err(ModuleError::failed(format!(
                "could not replace {}: {}",
                self.dest,
                mv.stderr.trim()
            )));
        }
        Ok((true, backup))
    }
}

/// The response body as a reader; each read waits at most `timeout` seconds.
fn body_reader(resp: reqwest::Response, timeout: i64) -> impl AsyncRead + Send + Unpin {
    let wait = Duration::from_secs(timeout as u64);
    let chunks = futures::stream::unfold(Some(resp), move |resp| async move {
        let mut resp = resp?;
        match tokio::time::timeout(wait, resp.chunk()).await {
            Ok(Ok(Some(bytes))) => Some((Ok(bytes), Some(resp))),
            Ok(Ok(None)) => None,
            Ok(Err(e)) => Some((
                Err(io::Error::other(format!(
                    "download failed: {}",
                    e.without_url()
                ))),
                None,
            )),
            Err(_) => Some((
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("download failed: no data for {timeout}s"),
                )),
                None,
            )),
        }
    });
    tokio_util::io::StreamReader::new(Box::pin(chunks))
}

/// What the hashing reader learned, read back after the stream ends.
#[derive(Debug, Clone, Default)]
struct StreamState {
    sha1: Option<String>,
    /// Why the stream failed, in the words the task should fail with.
    failure: Option<String>,
}

/// Hashes what passes through it; at EOF it fails if the wanted checksum
/// does not match, which makes `write_stream` drop the temporary file.
struct HashingReader<R> {
    inner: R,
    sha1: Box<dyn sha2::digest::DynDigest + Send>,
    check: Option<(Box<dyn sha2::digest::DynDigest + Send>, String)>,
    state: Arc<Mutex<StreamState>>,
    done: bool,
}

impl<R> HashingReader<R> {
    fn new(inner: R, expected: Option<(Algo, String)>, state: Arc<Mutex<StreamState>>) -> Self {
        HashingReader {
            inner,
            sha1: Algo::Sha1.hasher(),
            check: expected.map(|(algo, hex)| (algo.hasher(), hex)),
            state,
            done: false,
        }
    }

    fn record(&self, f: impl FnOnce(&mut StreamState)) {
        if let Ok(mut s) = self.state.lock() {
            f(&mut s);
        }
    }

    /// Called once at EOF: stores the SHA-1 and checks the wanted checksum.
    fn finish(&mut self) -> io::Result<()> {
        if std::mem::replace(&mut self.done, true) {
            return Ok(());
        }
        let sha1 = hex::encode(self.sha1.finalize_reset());
        self.record(|s| s.sha1 = Some(sha1));
        if let Some((mut h, want)) = self.check.take() {
            let got = hex::encode(h.finalize_reset());
            if got != want {
                let msg = format!("checksum mismatch: expected {want}, got {got}");
                self.record(|s| s.failure = Some(msg.clone()));
                return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
            }
        }
        Ok(())
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for HashingReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let start = buf.filled().len();
        let had_room = buf.remaining() > 0;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let new = &buf.filled()[start..];
                if new.is_empty() && had_room {
                    return Poll::Ready(this.finish());
                }
                this.sha1.update(new);
                if let Some((h, _)) = this.check.as_mut() {
                    h.update(new);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => {
                let msg = e.to_string();
                this.record(|s| s.failure = Some(msg));
                Poll::Ready(Err(e))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
#[path = "get_url_tests.rs"]
mod tests;
