//! `copy`: put a file (from the control node, from `content`, or from
//! elsewhere on the host) at a path on the host. Also holds
//! [`ContentWrite`], the compare-then-write path that `template` shares.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::{
    self, AttrChanges, DIFF_MAX, Probe, ProbeRequest, Wanted, add_file_fields, base_name,
    content_diff, note_diff, parent_of, predicted_file, probe,
};
use crate::connection::{FileAttrs, FileKind, shell_quote};
use crate::modules::{
    Action, Change, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Query, parse_params,
};

/// Copies a file to the host.
///
/// The file comes from `src` (a file on the control node, searched in the
/// `files/` folders of the role and playbook, or on the host with
/// `remote_src`) or from `content`. When `dest` ends with `/` or is an
/// existing directory, the file is put inside it under the name of `src`.
/// An unchanged file is not rewritten; when only `mode`, `owner` or `group`
/// differ they are changed in place. The parent directory of `dest` must
/// exist unless `dest` ends with `/`. Copying a directory `src` is not
/// supported.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyParams {
    /// The file to copy: on the control node, or on the host with `remote_src`.
    #[serde(default)]
    pub src: Option<String>,
    /// The text to write instead of `src`. A list or mapping is written as JSON.
    #[serde(default)]
    pub content: Option<Value>,
    /// Where to put the file on the host.
    pub dest: String,
    /// Permissions, as octal (`'0644'`).
    #[serde(default, deserialize_with = "crate::value::de_opt_mode")]
    #[schemars(with = "Option<String>")]
    pub mode: Option<u32>,
    /// Owner (name or uid).
    #[serde(default)]
    pub owner: Option<String>,
    /// Group (name or gid).
    #[serde(default)]
    pub group: Option<String>,
    /// Keep a timestamped copy of the old file before replacing it.
    #[serde(default, deserialize_with = "crate::value::de_bool")]
    #[schemars(with = "bool")]
    pub backup: bool,
    /// Replace a file whose content differs (default yes); `no` only
    /// creates a missing file.
    #[serde(default = "yes", deserialize_with = "crate::value::de_bool")]
    #[schemars(with = "bool")]
    pub force: bool,
    /// `src` is a path on the host rather than on the control node.
    #[serde(default, deserialize_with = "crate::value::de_bool")]
    #[schemars(with = "bool")]
    pub remote_src: bool,
    /// A command that checks the new file before it replaces `dest`; `%s`
    /// is the file's temporary path (`visudo -cf %s`).
    #[serde(default)]
    pub validate: Option<String>,
}

fn yes() -> bool {
    true
}

pub struct CopyModule {
    spec: ModuleSpec,
}

pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![Arc::new(CopyModule {
        spec: ModuleSpec::native::<CopyParams>("copy").with_examples(
            "- copy:\n    src: nova.conf\n    dest: /etc/nova/nova.conf\n    owner: root\n    group: nova\n    mode: '0640'\n\n\
             - copy:\n    content: \"{{ keystone_fernet_key }}\\n\"\n    dest: /etc/keystone/fernet-keys/0\n    mode: '0600'",
        ),
    })]
}

impl Module for CopyModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: CopyParams = parse_params(args)?;
        match (&p.src, &p.content) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::Params(
                    "src and content are mutually exclusive".into(),
                ));
            }
            (None, None) => return Err(ModuleError::Params("src (or content) is required".into())),
            _ => {}
        }
        if p.remote_src && p.content.is_some() {
            return Err(ModuleError::Params(
                "remote_src needs src, not content".into(),
            ));
        }
        Ok(Box::new(CopyAction { p, write: None }))
    }
}

struct CopyAction {
    p: CopyParams,
    write: Option<ContentWrite>,
}

impl CopyAction {
    /// Loads what is to be written: content, a local file, or a file on the host.
    async fn source(&self, ctx: &ModuleCtx<'_>) -> Result<(Source, Option<String>), ModuleError> {
        if let Some(content) = &self.p.content {
            let text = match content {
                Value::String(s) => s.clone(),
                other => {
                    serde_json::to_string(other).map_err(|e| ModuleError::failed(e.to_string()))?
                }
            };
            return Ok((Source::Bytes(text.into_bytes()), None));
        }
        let src = self.p.src.clone().unwrap_or_default();
        if self.p.remote_src {
            let data = ctx
                .conn
                .read_file(&src, ctx.become_.as_ref())
                .await?
                .ok_or_else(|| ModuleError::failed(format!("Source {src} not found")))?;
            return Ok((Source::Bytes(data), Some(src)));
        }
        let path = find_local(ctx, &src, "files")?;
        if path.is_dir() {
            return Err(ModuleError::failed(format!(
                "src {} is a directory: copying directories is not supported",
                path.display()
            )));
        }
        Ok((
            Source::local(path.clone())?,
            Some(path.to_string_lossy().into_owned()),
        ))
    }
}

#[async_trait]
impl Action for CopyAction {
    async fn query(&mut self, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let (source, src) = self.source(ctx).await?;
        let name = src.as_deref().map(|s| base_name(s).to_string());
        let mut write = ContentWrite::new(
            &self.p.dest,
            source,
            attrs_of(&self.p.mode, &self.p.owner, &self.p.group),
        );
        write.dir_name = name;
        write.backup = self.p.backup;
        write.force = self.p.force;
        write.validate = self.p.validate.clone();
        write.src = src;
        let q = write.query(ctx).await?;
        self.write = Some(write);
        Ok(q)
    }

    async fn apply(&mut self, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        match self.write.as_mut() {
            Some(w) => w.apply(ctx).await,
            None => Err(ModuleError::failed("copy: apply called before query")),
        }
    }
}

/// `FileAttrs` from the common `mode`/`owner`/`group` parameters.
pub fn attrs_of(mode: &Option<u32>, owner: &Option<String>, group: &Option<String>) -> FileAttrs {
    FileAttrs {
        mode: *mode,
        owner: owner.clone(),
        group: group.clone(),
    }
}

/// Finds a file named by `src:` on the control node, with Ansible's message
/// when it is not there.
pub fn find_local(ctx: &ModuleCtx<'_>, name: &str, subdir: &str) -> Result<PathBuf, ModuleError> {
    ctx.find_local(name, subdir).ok_or_else(|| {
        let searched: Vec<String> = if name.starts_with('/') {
            vec![name.to_string()]
        } else {
            ctx.search_paths
                .iter()
                .flat_map(|d| [d.join(subdir).join(name), d.join(name)])
                .map(|p| p.display().to_string())
                .collect()
        };
        ModuleError::failed(format!(
            "could not find or access '{name}' on the control node (searched: {})",
            if searched.is_empty() {
                "no search paths".to_string()
            } else {
                searched.join(", ")
            }
        ))
    })
}

/// What a [`ContentWrite`] writes.
pub enum Source {
    Bytes(Vec<u8>),
    /// A file on the control node, streamed rather than loaded when large.
    Local {
        path: PathBuf,
        size: u64,
        sha1: String,
    },
}

impl Source {
    /// A control-node file, hashed in chunks so a large one is never held whole.
    pub fn local(path: PathBuf) -> Result<Source, ModuleError> {
        use std::io::Read;
        let err = |e: std::io::Error| {
            ModuleError::failed(format!("could not read {}: {e}", path.display()))
        };
        let mut f = std::fs::File::open(&path).map_err(err)?;
        let mut h = common::Algo::Sha1.hasher();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(err)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            h.update(&buf[..n]);
        }
        Ok(Source::Local {
            path,
            size,
            sha1: hex::encode(h.finalize()),
        })
    }

    fn size(&self) -> u64 {
        match self {
            Source::Bytes(b) => b.len() as u64,
            Source::Local { size, .. } => *size,
        }
    }

    fn sha1(&self) -> String {
        match self {
            Source::Bytes(b) => common::sha1_hex(b),
            Source::Local { sha1, .. } => sha1.clone(),
        }
    }

    /// The bytes, when small enough to show in a diff.
    fn small_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Source::Bytes(b) => Some(b.clone()),
            Source::Local { path, size, .. } if *size <= DIFF_MAX => std::fs::read(path).ok(),
            Source::Local { .. } => None,
        }
    }

    async fn write_to(
        &self,
        ctx: &ModuleCtx<'_>,
        path: &str,
        attrs: &FileAttrs,
    ) -> Result<(), ModuleError> {
        match self {
            Source::Bytes(b) => {
                ctx.conn
                    .write_file(path, b, attrs, ctx.become_.as_ref())
                    .await?
            }
            Source::Local { path: local, .. } => {
                let mut f = tokio::fs::File::open(local).await.map_err(|e| {
                    ModuleError::failed(format!("could not read {}: {e}", local.display()))
                })?;
                ctx.conn
                    .write_stream(path, &mut f, attrs, ctx.become_.as_ref())
                    .await?;
            }
        }
        Ok(())
    }
}

/// Compares wanted content and attributes with a file on the host and
/// writes only what differs. Shared by `copy` and `template`.
pub struct ContentWrite {
    pub dest: String,
    pub source: Source,
    pub attrs: FileAttrs,
    pub backup: bool,
    pub force: bool,
    pub validate: Option<String>,
    /// The name to use inside `dest` when it is a directory; `None` makes
    /// a directory `dest` an error (as for `content`).
    pub dir_name: Option<String>,
    /// Reported as `src`.
    pub src: Option<String>,
    plan: Option<Plan>,
}

struct Plan {
    probe: Probe,
    wanted: Wanted,
    write: bool,
    make_parent: bool,
    changes: AttrChanges,
}

impl ContentWrite {
    pub fn new(dest: &str, source: Source, attrs: FileAttrs) -> Self {
        ContentWrite {
            dest: dest.to_string(),
            source,
            attrs,
            backup: false,
            force: true,
            validate: None,
            dir_name: None,
            src: None,
            plan: None,
        }
    }

    fn dir_dest_error(&self) -> ModuleError {
        ModuleError::failed("can not use content with a dir as dest")
    }

    async fn probe_dest(&self, ctx: &ModuleCtx<'_>) -> Result<Probe, ModuleError> {
        let mut req = ProbeRequest::new(&self.dest).with_attrs(&self.attrs);
        req.checksum = Some(common::Algo::Sha1);
        probe(ctx, &req).await
    }

    pub async fn query(&mut self, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let make_parent = self.dest.ends_with('/');
        if make_parent {
            let name = self.dir_name.clone().ok_or_else(|| self.dir_dest_error())?;
            self.dest = format!("{}{name}", self.dest);
        }
        let mut pr = self.probe_dest(ctx).await?;
        if pr.info.as_ref().and_then(|i| i.followed_kind()) == Some(FileKind::Directory) {
            let name = self.dir_name.clone().ok_or_else(|| self.dir_dest_error())?;
            self.dest = format!("{}/{name}", self.dest.trim_end_matches('/'));
            pr = self.probe_dest(ctx).await?;
            if pr.info.as_ref().and_then(|i| i.followed_kind()) == Some(FileKind::Directory) {
                return Err(ModuleError::failed(format!("{} is a directory", self.dest)));
            }
        }
        if pr.info.is_none() && !pr.parent_is_dir && !make_parent {
            return Err(ModuleError::failed(format!(
                "Destination directory {} does not exist",
                parent_of(&self.dest)
            )));
        }
        if pr.info.is_some() && !self.force {
            // Ansible's force=no: an existing file is left entirely alone.
            let info = pr.info.clone().unwrap_or_else(|| predicted_file(&pr, 0));
            let out = Outcome::ok().with("dest", self.dest.clone());
            return Ok(Query::Unchanged(add_file_fields(
                out,
                &info,
                &Wanted::default(),
            )));
        }
        let wanted = Wanted::resolve(&self.attrs, &pr)?;
        let sha1 = self.source.sha1();
        let write = pr.info.is_none() || pr.checksum.as_deref() != Some(sha1.as_str());
        let changes = pr
            .info
            .as_ref()
            .map(|i| wanted.changes(i))
            .unwrap_or_default();
        if !write && changes.is_empty() {
            let info = pr.info.clone().unwrap_or_else(|| predicted_file(&pr, 0));
            return Ok(Query::Unchanged(add_file_fields(
                self.base_outcome(Outcome::ok()),
                &info,
                &wanted,
            )));
        }
        let mut change = Change::new()
            .with("dest", self.dest.clone())
            .with("checksum", sha1);
        if write && ctx.diff {
            change = change.with_diff(self.content_diff(ctx, &pr).await?);
        }
        if let Some(d) = changes.diff(&self.dest) {
            change = change.with_diff(d);
        }
        self.plan = Some(Plan {
            probe: pr,
            wanted,
            write,
            make_parent,
            changes,
        });
        Ok(Query::Change(change))
    }

    async fn content_diff(
        &self,
        ctx: &ModuleCtx<'_>,
        pr: &Probe,
    ) -> Result<crate::modules::Diff, ModuleError> {
        let before_size = pr.info.as_ref().map(|i| i.size);
        let before = match before_size {
            Some(size) if size <= DIFF_MAX => {
                ctx.conn.read_file(&self.dest, ctx.become_.as_ref()).await?
            }
            _ => None,
        };
        match (self.source.small_bytes(), before_size, &before) {
            (Some(after), None, _) => Ok(content_diff(&self.dest, None, &after)),
            (Some(after), Some(_), Some(b)) => Ok(content_diff(&self.dest, Some(b), &after)),
            _ => {
                let sum = pr.checksum.clone().unwrap_or_default();
                Ok(note_diff(
                    &self.dest,
                    before_size.map(|s| (s, sum.as_str())),
                    (self.source.size(), &self.source.sha1()),
                ))
            }
        }
    }

    fn base_outcome(&self, mut out: Outcome) -> Outcome {
        out = out
            .with("dest", self.dest.clone())
            .with("checksum", self.source.sha1());
        if let Some(src) = &self.src {
            out = out.with("src", src.clone());
        }
        out
    }

    pub async fn apply(&mut self, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let plan = self
            .plan
            .take()
            .ok_or_else(|| ModuleError::failed("apply called before query"))?;
        let mut out = self.base_outcome(Outcome::changed());
        if !plan.write {
            if let Some(cmd) = plan.changes.command(&self.dest, false, false) {
                common::run_fix(ctx, &cmd, &self.dest).await?;
            }
            let info = predicted_file(&plan.probe, self.source.size());
            return Ok(add_file_fields(out, &info, &plan.wanted));
        }
        if plan.make_parent && !plan.probe.parent_is_dir {
            let dir = parent_of(&self.dest);
            let res = ctx
                .exec(format!("mkdir -p -- {}", shell_quote(&dir)))
                .await?;
            if res.rc != 0 {
                return Err(ModuleError::failed(format!(
                    "could not create {dir}: {}",
                    res.stderr.trim()
                )));
            }
        }
        if self.backup && plan.probe.info.is_some() {
            out = out.with("backup_file", common::backup(ctx, &self.dest).await?);
        }
        let attrs = plan.wanted.attrs();
        match &self.validate {
            Some(v) => self.validated_write(ctx, v, &plan).await?,
            None => self.source.write_to(ctx, &self.dest, &attrs).await?,
        }
        let info = predicted_file(&plan.probe, self.source.size());
        Ok(add_file_fields(out, &info, &plan.wanted))
    }

    /// Writes to a temporary file beside `dest`, runs the `validate`
    /// command on it and moves it into place only if that succeeds.
    async fn validated_write(
        &self,
        ctx: &ModuleCtx<'_>,
        validate: &str,
        plan: &Plan,
    ) -> Result<(), ModuleError> {
        if !validate.contains("%s") {
            return Err(ModuleError::Params(format!(
                "validate must contain %s: {validate}"
            )));
        }
        let tag: u64 = rand::random();
        let tmp = format!(
            "{}/.{}.oplay-validate-{tag:016x}",
            parent_of(&self.dest),
            base_name(&self.dest)
        );
        // The temporary file is new, so it must be given the existing file's
        // attributes explicitly to keep them.
        let mut attrs = plan.wanted.attrs();
        if let Some(info) = plan
            .probe
            .info
            .as_ref()
            .filter(|i| i.kind == FileKind::File)
        {
            attrs.mode = attrs.mode.or(Some(info.mode));
            attrs.owner = attrs.owner.or(Some(info.uid.to_string()));
            attrs.group = attrs.group.or(Some(info.gid.to_string()));
        }
        self.source.write_to(ctx, &tmp, &attrs).await?;
        let (qt, qd) = (shell_quote(&tmp), shell_quote(&self.dest));
        let cmd = format!(
            "if {}; then mv -f -- {qt} {qd}; else rc=$?; rm -f -- {qt}; exit $rc; fi",
            validate.replace("%s", &qt)
        );
        let out = ctx.exec(cmd).await?;
        if out.rc != 0 {
            return Err(ModuleError::failed(format!(
                "failed to validate: rc:{} error:{}",
                out.rc,
                out.stderr.trim()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use serde_json::json;

    use crate::modules::testing::TestHost;

    fn stamp(p: &std::path::Path) -> (Vec<u8>, i64, i64, u64) {
        let m = std::fs::metadata(p).unwrap();
        (
            std::fs::read(p).unwrap(),
            m.mtime(),
            m.mtime_nsec(),
            m.ino(),
        )
    }

    #[tokio::test]
    async fn creates_then_leaves_unchanged_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.conf");
        let host = TestHost::new();
        let args = json!({"content": "x=1\n", "dest": dest, "mode": "0640"});
        let out = host.run("copy", args.clone()).await.unwrap();
        assert!(out.changed && !out.failed);
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "x=1\n");
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
            0o640
        );
        assert_eq!(
            out.data["checksum"],
            json!(super::common::sha1_hex(b"x=1\n"))
        );
        assert_eq!(out.data["mode"], json!("0640"));
        assert_eq!(out.data["size"], json!(4));
        assert_eq!(out.data["owner"], json!("root"));
        assert_eq!(out.diffs[0].before, "");
        assert_eq!(out.diffs[0].after, "x=1\n");
        let before = stamp(&dest);
        let again = host.run("copy", args).await.unwrap();
        assert!(!again.changed);
        assert_eq!(again.data["state"], json!("file"));
        assert_eq!(stamp(&dest), before);
    }

    #[tokio::test]
    async fn check_mode_reports_diff_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.conf");
        std::fs::write(&dest, "old\n").unwrap();
        let before = stamp(&dest);
        let mut host = TestHost::new();
        host.check = true;
        let out = host
            .run(
                "copy",
                json!({"content": "new\n", "dest": dest, "mode": "0600"}),
            )
            .await
            .unwrap();
        assert!(out.changed);
        assert_eq!(out.diffs[0].header, dest.to_str().unwrap());
        assert_eq!(
            (out.diffs[0].before.as_str(), out.diffs[0].after.as_str()),
            ("old\n", "new\n")
        );
        assert_eq!(out.diffs[1].after, "mode: 0600\n");
        assert_eq!(stamp(&dest), before);
        let missing = dir.path().join("new");
        host.run("copy", json!({"content": "x", "dest": missing}))
            .await
            .unwrap();
        assert!(!missing.exists());
    }

    #[tokio::test]
    async fn attributes_alone_are_changed_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a");
        std::fs::write(&dest, "same").unwrap();
        let ino = std::fs::metadata(&dest).unwrap().ino();
        let host = TestHost::new();
        let out = host
            .run("copy", json!({"content": "same", "dest": dest, "mode": "0600", "owner": "nobody", "group": "nogroup"}))
            .await
            .unwrap();
        assert!(out.changed);
        let m = std::fs::metadata(&dest).unwrap();
        assert_eq!((m.ino(), m.permissions().mode() & 0o7777), (ino, 0o600));
        assert_eq!(m.uid(), 65534);
        assert_eq!(out.data["owner"], json!("nobody"));
        assert_eq!(out.diffs.len(), 1);
        assert_eq!(
            out.diffs[0].header,
            format!("{} (file attributes)", dest.display())
        );
        assert_eq!(
            out.diffs[0].before,
            "mode: 0644\nowner: root\ngroup: root\n"
        );
    }

    #[tokio::test]
    async fn src_from_files_dir_into_directory_dest_with_backup() {
        let play = tempfile::tempdir().unwrap();
        std::fs::create_dir(play.path().join("files")).unwrap();
        std::fs::write(play.path().join("files/app.conf"), "v2\n").unwrap();
        let target = tempfile::tempdir().unwrap();
        let dest = target.path().join("app.conf");
        std::fs::write(&dest, "v1\n").unwrap();
        let mut host = TestHost::new();
        host.search_paths = vec![play.path().to_path_buf()];
        let out = host
            .run(
                "copy",
                json!({"src": "app.conf", "dest": target.path(), "backup": true}),
            )
            .await
            .unwrap();
        assert!(out.changed);
        assert_eq!(out.data["dest"], json!(dest));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "v2\n");
        let backup = out.data["backup_file"].as_str().unwrap();
        assert!(
            backup.starts_with(dest.to_str().unwrap()) && backup.ends_with('~'),
            "{backup}"
        );
        assert_eq!(std::fs::read_to_string(backup).unwrap(), "v1\n");
        let sub = target.path().join("sub/");
        let out = host
            .run(
                "copy",
                json!({"src": "app.conf", "dest": format!("{}/", sub.display())}),
            )
            .await
            .unwrap();
        assert!(out.changed);
        assert_eq!(
            std::fs::read_to_string(sub.join("app.conf")).unwrap(),
            "v2\n"
        );
    }

    #[tokio::test]
    async fn force_no_keeps_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a");
        std::fs::write(&dest, "mine").unwrap();
        let host = TestHost::new();
        let out = host
            .run(
                "copy",
                json!({"content": "theirs", "dest": dest, "force": "no"}),
            )
            .await
            .unwrap();
        assert!(!out.changed);
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "mine");
    }

    #[tokio::test]
    async fn failures_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let host = TestHost::new();
        let missing_dir = dir.path().join("nope/a");
        let err = host
            .run("copy", json!({"content": "x", "dest": missing_dir}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "Destination directory {}/nope does not exist",
                dir.path().display()
            )
        );
        let err = host
            .run(
                "copy",
                json!({"content": "x", "dest": dir.path().join("a"), "owner": "no-such-user-x"}),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "chown failed: failed to look up user no-such-user-x"
        );
        let err = host
            .run(
                "copy",
                json!({"content": "x", "src": "y", "dest": "/tmp/z"}),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid parameters: src and content are mutually exclusive"
        );
        let err = host
            .run("copy", json!({"src": "nothere.conf", "dest": "/tmp/z"}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "could not find or access 'nothere.conf' on the control node (searched: no search paths)"
        );
        let err = host
            .run("copy", json!({"content": "x", "dest": dir.path()}))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "can not use content with a dir as dest");
        let err = host
            .run(
                "copy",
                json!({"content": "x", "dest": "/tmp/z", "mdoe": "0644"}),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `mdoe`"), "{err}");
    }

    #[tokio::test]
    async fn validate_guards_the_destination() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sudoers");
        std::fs::write(&dest, "good\n").unwrap();
        let host = TestHost::new();
        let bad = json!({"content": "bad\n", "dest": dest, "validate": "grep -q good %s"});
        let err = host.run("copy", bad).await.unwrap_err();
        assert_eq!(err.to_string(), "failed to validate: rc:1 error:");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "good\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let ok = json!({"content": "good too\n", "dest": dest, "validate": "grep -q good %s"});
        assert!(host.run("copy", ok).await.unwrap().changed);
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "good too\n");
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
            0o644
        );
    }

    #[tokio::test]
    async fn binary_content_diff_is_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("bin");
        std::fs::write(&dest, [0u8, 1, 2]).unwrap();
        let mut host = TestHost::new();
        host.check = true;
        let out = host
            .run("copy", json!({"content": "text", "dest": dest}))
            .await
            .unwrap();
        assert_eq!(
            out.diffs[0].header,
            format!(
                "{} (binary or large file, content not shown)",
                dest.display()
            )
        );
        assert!(out.diffs[0].before.starts_with("size: 3\n"));
    }
}
