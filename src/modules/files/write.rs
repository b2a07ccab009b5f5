//! The compare-then-write path shared by `copy` and `template`: probe the
//! destination once, write only when the checksum differs, fix only the
//! attributes that differ, keep a backup and validate when asked.

use std::path::PathBuf;

use super::common::{
    self, AttrChanges, DIFF_MAX, PathInfo, Probe, ProbeRequest, Wanted, add_file_fields, base_name,
    content_diff, note_diff, parent_of, predicted_file, probe,
};
use crate::connection::{FileAttrs, FileKind, shell_quote};
use async_trait::async_trait;

use crate::modules::{Apply, Change, ModuleCtx, ModuleError, Outcome, Query};

/// What a [`ContentWrite`] writes.
pub enum Source {
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// A file on the control node, streamed rather than loaded when large.
    Local {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// Its SHA-1, hex.
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

    /// Writes the bytes to `path` on the host with `attrs`.
    pub async fn write_to(
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
    /// The file on the host.
    pub dest: String,
    /// What to write.
    pub source: Source,
    /// The wanted mode, owner and group.
    pub attrs: FileAttrs,
    /// Keep a backup of a file that is replaced.
    pub backup: bool,
    /// Replace a file whose content differs (`false`: only create).
    pub force: bool,
    /// A command that checks the new file first (`%s` is its path).
    pub validate: Option<String>,
    /// The name to use inside `dest` when it is a directory; `None` makes
    /// a directory `dest` an error (as for `content`).
    pub dir_name: Option<String>,
    /// Reported as `src`.
    pub src: Option<String>,
}

/// What the query found and decided; the apply carries it out.
struct Plan {
    probe: Probe,
    wanted: Wanted,
    write: bool,
    make_parent: bool,
    changes: AttrChanges,
}

impl ContentWrite {
    /// A write of `source` to `dest`, forced, without backup or validation.
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
        }
    }

    fn dir_dest_error(&self) -> ModuleError {
        ModuleError::failed("can not use content with a dir as dest")
    }

    async fn probe_dest(&self, ctx: &ModuleCtx<'_>) -> Result<Probe, ModuleError> {
        let mut req = ProbeRequest::new(&self.dest).with_attrs(&self.attrs);
        req.checksum = Some(common::Algo::Sha1);
        // Attributes are compared and changed on what a link points to.
        req.follow = true;
        probe(ctx, &req).await
    }

    /// Compares the file on the host with what is wanted; the plan in a
    /// [`Query::Change`] writes only what differs.
    pub async fn query(mut self, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
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
        let plan = Plan {
            probe: pr,
            wanted,
            write,
            make_parent,
            changes,
        };
        Ok(Query::Change(
            change,
            Box::new(PlannedWrite { write: self, plan }),
        ))
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
}

/// A [`ContentWrite`] with the plan its query made.
struct PlannedWrite {
    write: ContentWrite,
    plan: Plan,
}

#[async_trait]
impl Apply for PlannedWrite {
    async fn apply(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let PlannedWrite { write, plan } = *self;
        write.apply(ctx, plan).await
    }
}

impl ContentWrite {
    async fn apply(&self, ctx: &ModuleCtx<'_>, plan: Plan) -> Result<Outcome, ModuleError> {
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
            Some(v) => {
                validated_write(
                    ctx,
                    &self.dest,
                    &self.source,
                    v,
                    &plan.wanted,
                    plan.probe.info.as_ref(),
                )
                .await?
            }
            None => self.source.write_to(ctx, &self.dest, &attrs).await?,
        }
        let info = predicted_file(&plan.probe, self.source.size());
        Ok(add_file_fields(out, &info, &plan.wanted))
    }
}

/// Writes to a temporary file beside `dest`, runs the `validate` command
/// on it and moves it into place only if that succeeds.
pub async fn validated_write(
    ctx: &ModuleCtx<'_>,
    dest: &str,
    source: &Source,
    validate: &str,
    wanted: &Wanted,
    existing: Option<&PathInfo>,
) -> Result<(), ModuleError> {
    if !validate.contains("%s") {
        return Err(ModuleError::Params(format!(
            "validate must contain %s: {validate}"
        )));
    }
    let tag: u64 = rand::random();
    let tmp = format!(
        "{}/.{}.oplay-validate-{tag:016x}",
        parent_of(dest),
        base_name(dest)
    );
    // The temporary file is new, so it must be given the existing file's
    // attributes explicitly to keep them.
    let mut attrs = wanted.attrs();
    if let Some(info) = existing.filter(|i| i.kind == FileKind::File) {
        attrs.mode = attrs.mode.or(Some(info.mode));
        attrs.owner = attrs.owner.or(Some(info.uid.to_string()));
        attrs.group = attrs.group.or(Some(info.gid.to_string()));
    }
    source.write_to(ctx, &tmp, &attrs).await?;
    let (qt, qd) = (shell_quote(&tmp), shell_quote(dest));
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
