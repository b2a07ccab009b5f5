//! What the file modules share: one-round-trip inspection of a path on the
//! host ([`probe`]), comparing and fixing mode/owner/group, backups,
//! checksums, and the diffs and result fields Ansible users expect.
//!
//! Not for deciding what a module does; each module does that itself.

use serde_json::Value;

use crate::connection::{FileAttrs, FileKind, shell_quote};
use crate::modules::{Diff, ModuleCtx, ModuleError, Outcome};

/// Files larger than this are not shown in diffs (Ansible's default
/// `max_file_size_for_diff`).
pub const DIFF_MAX: u64 = 104_448;

/// A hash algorithm, as `checksum: sha256:...` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    /// MD5.
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Algo {
    /// The algorithm `checksum:` names (case-insensitive), if known.
    pub fn parse(name: &str) -> Option<Algo> {
        Some(match name.to_ascii_lowercase().as_str() {
            "md5" => Algo::Md5,
            "sha1" => Algo::Sha1,
            "sha224" => Algo::Sha224,
            "sha256" => Algo::Sha256,
            "sha384" => Algo::Sha384,
            "sha512" => Algo::Sha512,
            _ => return None,
        })
    }

    /// The coreutils command that prints this hash of its input.
    fn command(self) -> &'static str {
        match self {
            Algo::Md5 => "md5sum",
            Algo::Sha1 => "sha1sum",
            Algo::Sha224 => "sha224sum",
            Algo::Sha256 => "sha256sum",
            Algo::Sha384 => "sha384sum",
            Algo::Sha512 => "sha512sum",
        }
    }

    /// A fresh hasher for this algorithm.
    pub fn hasher(self) -> Box<dyn sha2::digest::DynDigest + Send> {
        match self {
            Algo::Md5 => Box::new(md5::Md5::default()),
            Algo::Sha1 => Box::new(sha1::Sha1::default()),
            Algo::Sha224 => Box::new(sha2::Sha224::default()),
            Algo::Sha256 => Box::new(sha2::Sha256::default()),
            Algo::Sha384 => Box::new(sha2::Sha384::default()),
            Algo::Sha512 => Box::new(sha2::Sha512::default()),
        }
    }

    /// The hash of `data`, as lower-case hex.
    pub fn hex(self, data: &[u8]) -> String {
        let mut h = self.hasher();
        h.update(data);
        hex::encode(h.finalize())
    }
}

/// The SHA-1 of some bytes, the checksum Ansible reports for files.
pub fn sha1_hex(data: &[u8]) -> String {
    Algo::Sha1.hex(data)
}

/// A user or group as the host knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// The uid or gid.
    pub id: u32,
}

/// What `stat` says about a path (not following a final symbolic link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    /// What the path is.
    pub kind: FileKind,
    /// The permission bits.
    pub mode: u32,
    /// The owner's uid.
    pub uid: u32,
    /// The group's gid.
    pub gid: u32,
    /// The size in bytes.
    pub size: u64,
    /// The owner's name (or uid when the host has no name for it).
    pub user: String,
    /// The group's name (or gid when the host has no name for it).
    pub group: String,
    /// The modification time, in seconds since the epoch.
    pub mtime: i64,
    /// For a symbolic link: where it points, and the kind of what it
    /// points to (`None` when dangling).
    pub link_target: Option<String>,
    /// For a symbolic link: the kind of what it points to.
    pub target_kind: Option<FileKind>,
}

impl PathInfo {
    /// The kind of the path once a symbolic link is followed.
    pub fn followed_kind(&self) -> Option<FileKind> {
        match self.kind {
            FileKind::Symlink => self.target_kind,
            k => Some(k),
        }
    }
}

/// What to learn about a path in one round trip.
#[derive(Debug, Clone, Default)]
pub struct ProbeRequest {
    /// The path to look at.
    pub path: String,
    /// Hash the file's content on the host with this algorithm.
    pub checksum: Option<Algo>,
    /// The wanted owner (name or uid), to resolve on the host.
    pub owner: Option<String>,
    /// The wanted group (name or gid), to resolve on the host.
    pub group: Option<String>,
    /// Report on what a final symbolic link points to (`stat -L`) rather
    /// than on the link, unless it dangles.
    pub follow: bool,
    /// Shell text run last; each line it prints that starts with `X:` is
    /// returned in [`Probe::extra`]. It may use `$p` (the path).
    pub extra: Option<String>,
}

/// What a [`probe`] found.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// What `stat` says, or `None` when the path does not exist.
    pub info: Option<PathInfo>,
    /// The content's hash, when asked for and the path is a file.
    pub checksum: Option<String>,
    /// Whether the path's parent directory exists.
    pub parent_is_dir: bool,
    /// The wanted owner and group, resolved on the host (`None` when not
    /// asked for or unknown there).
    pub owner: Option<Ident>,
    /// The wanted group, resolved on the host.
    pub group: Option<Ident>,
    /// The user and group files are created as, and the umask.
    pub me_user: String,
    /// The group new files are created with.
    pub me_group: String,
    /// The umask new files are created with.
    pub umask: u32,
    /// The lines `extra` printed, without their `X:` prefix.
    pub extra: Vec<String>,
}

impl ProbeRequest {
    /// A request for `path` and nothing more.
    pub fn new(path: &str) -> Self {
        ProbeRequest {
            path: path.to_string(),
            ..Default::default()
        }
    }

    /// Also resolves the owner and group `attrs` ask for.
    pub fn with_attrs(mut self, attrs: &FileAttrs) -> Self {
        self.owner = attrs.owner.clone();
        self.group = attrs.group.clone();
        self
    }

    fn script(&self) -> String {
        let mut s = format!("p={}\n", shell_quote(&self.path));
        s.push_str("if [ -e \"$p\" ] || [ -L \"$p\" ]; then\n");
        let deref = if self.follow {
            "$(test -e \"$p\" && echo -L)"
        } else {
            ""
        };
        s.push_str(&format!(
            "  printf 'S:'; stat {deref} -c '%F|%a|%u|%g|%s|%U|%G|%Y' -- \"$p\" || exit 1\n"
        ));
        s.push_str("  if [ -L \"$p\" ]; then printf 'L:'; readlink -- \"$p\"; ");
        s.push_str("printf 'T:'; stat -L -c '%F' -- \"$p\" 2>/dev/null || echo absent; fi\n");
        if let Some(algo) = self.checksum {
            s.push_str(&format!(
                "  if [ -f \"$p\" ]; then printf 'C:'; {} < \"$p\" || exit 1; fi\n",
                algo.command()
            ));
        }
        s.push_str("fi\n[ -d \"$(dirname -- \"$p\")\" ] && echo P:1\n");
        if let Some(o) = &self.owner {
            s.push_str(&format!(
                "echo \"U:$(getent passwd {} | cut -d: -f1,3)\"\n",
                shell_quote(o)
            ));
        }
        if let Some(g) = &self.group {
            s.push_str(&format!(
                "echo \"G:$(getent group {} | cut -d: -f1,3)\"\n",
                shell_quote(g)
            ));
        }
        s.push_str("echo \"I:$(id -un)|$(id -gn)|$(umask)\"\n");
        if let Some(extra) = &self.extra {
            s.push_str(extra);
            s.push('\n');
        }
        // A failed test in the last line must not read as a failed probe.
        s.push_str("exit 0\n");
        s
    }
}

/// Files up to this size are hashed on the control node after a read over
/// the file channel; larger ones are hashed on the host.
const READ_TO_HASH_MAX: u64 = 1 << 20;

/// Inspects a path, resolves the wanted owner and group, and optionally
/// hashes the file. Without become, owner or group, and for a path that is
/// no symbolic link, that is a stat and a read over the connection's file
/// channel ([`quick_probe`]); otherwise a single command on the host.
pub async fn probe(ctx: &ModuleCtx<'_>, req: &ProbeRequest) -> Result<Probe, ModuleError> {
    if let Some(p) = quick_probe(ctx, req).await? {
        return Ok(p);
    }
    let out = ctx.exec(req.script()).await?;
    if out.rc != 0 {
        return Err(ModuleError::failed(format!(
            "could not inspect {}: {}",
            req.path,
            out.stderr.trim()
        )));
    }
    let mut probe = Probe::default();
    for line in out.stdout.lines() {
        let Some((tag, rest)) = line.split_once(':') else {
            continue;
        };
        match tag {
            "S" => probe.info = Some(parse_stat(rest, &req.path)?),
            "L" => set_info(&mut probe, |i| i.link_target = Some(rest.to_string())),
            "T" => set_info(&mut probe, |i| i.target_kind = parse_kind(rest)),
            "C" => probe.checksum = rest.split_whitespace().next().map(String::from),
            "P" => probe.parent_is_dir = true,
            "U" => probe.owner = parse_ident(rest, req.owner.as_deref()),
            "G" => probe.group = parse_ident(rest, req.group.as_deref()),
            "I" => {
                let f: Vec<&str> = rest.split('|').collect();
                probe.me_user = f.first().copied().unwrap_or_default().to_string();
                probe.me_group = f.get(1).copied().unwrap_or_default().to_string();
                probe.umask = f
                    .get(2)
                    .and_then(|m| u32::from_str_radix(m, 8).ok())
                    .unwrap_or(0o022);
            }
            "X" => probe.extra.push(rest.to_string()),
            _ => {}
        }
    }
    Ok(probe)
}

/// [`probe`] without a process on the host, or `None` when the case needs
/// the shell (become, a wanted owner or group, extra shell text, a
/// symbolic link, a big file, an owner the host's files do not name).
async fn quick_probe(
    ctx: &ModuleCtx<'_>,
    req: &ProbeRequest,
) -> Result<Option<Probe>, ModuleError> {
    if ctx.become_.is_some() || req.owner.is_some() || req.group.is_some() || req.extra.is_some() {
        return Ok(None);
    }
    let ids = &ctx.services.ids;
    let mut probe = Probe::default();
    // The parent matters only when the path is missing; asked at the same
    // time, it costs no round trip of its own.
    let parent = parent_of(&req.path);
    let (st, parent_st) =
        tokio::join!(ctx.conn.stat(&req.path, None), ctx.conn.stat(&parent, None));
    match st? {
        Some(st) if st.kind == FileKind::Symlink => return Ok(None),
        Some(st) => {
            let Some((user, group)) = ids.names(ctx, st.uid, st.gid).await? else {
                return Ok(None);
            };
            if let (Some(algo), FileKind::File) = (req.checksum, st.kind) {
                if st.size > READ_TO_HASH_MAX {
                    return Ok(None);
                }
                let Some(data) = ctx.conn.read_file(&req.path, None).await? else {
                    return Ok(None);
                };
                probe.checksum = Some(algo.hex(&data));
            }
            probe.info = Some(PathInfo {
                kind: st.kind,
                mode: st.mode,
                uid: st.uid,
                gid: st.gid,
                size: st.size,
                user,
                group,
                mtime: st.mtime,
                link_target: None,
                target_kind: None,
            });
            probe.parent_is_dir = true;
        }
        None => match parent_st? {
            Some(p) if p.kind == FileKind::Symlink => return Ok(None),
            p => probe.parent_is_dir = p.is_some_and(|p| p.kind == FileKind::Directory),
        },
    }
    // Who new files belong to matters only when there is no file yet
    // (see `predicted_file`): an unchanged file costs no command at all.
    if probe.info.as_ref().is_none_or(|i| i.kind != FileKind::File) {
        let me = ids.me(ctx).await?;
        probe.me_user = me.user;
        probe.me_group = me.group;
        probe.umask = me.umask;
    }
    Ok(Some(probe))
}

fn set_info(probe: &mut Probe, f: impl FnOnce(&mut PathInfo)) {
    if let Some(info) = probe.info.as_mut() {
        f(info);
    }
}

fn parse_kind(text: &str) -> Option<FileKind> {
    Some(match text.trim() {
        "regular file" | "regular empty file" => FileKind::File,
        "directory" => FileKind::Directory,
        "symbolic link" => FileKind::Symlink,
        "absent" => return None,
        _ => FileKind::Other,
    })
}

fn parse_stat(text: &str, path: &str) -> Result<PathInfo, ModuleError> {
    let f: Vec<&str> = text.split('|').collect();
    if f.len() != 8 {
        return Err(ModuleError::failed(format!(
            "could not inspect {path}: unexpected stat output '{text}'"
        )));
    }
    let kind = parse_kind(f[0]).unwrap_or(FileKind::Other);
    Ok(PathInfo {
        kind,
        mode: u32::from_str_radix(f[1], 8).unwrap_or(0),
        uid: f[2].parse().unwrap_or(0),
        gid: f[3].parse().unwrap_or(0),
        size: f[4].parse().unwrap_or(0),
        user: f[5].to_string(),
        group: f[6].to_string(),
        mtime: f[7].parse().unwrap_or(0),
        link_target: None,
        target_kind: if kind == FileKind::Symlink {
            None
        } else {
            Some(kind)
        },
    })
}

/// `name:id` from getent; a numeric owner unknown to the host still counts,
/// as `chown` takes it.
fn parse_ident(text: &str, wanted: Option<&str>) -> Option<Ident> {
    if let Some((name, id)) = text.split_once(':') {
        if let Ok(id) = id.trim().parse() {
            return Some(Ident {
                name: name.to_string(),
                id,
            });
        }
    }
    let wanted = wanted?;
    wanted.parse().ok().map(|id| Ident {
        name: wanted.to_string(),
        id,
    })
}

/// Mode, owner and group as wanted, with names resolved on the host.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// The permission bits, if given.
    pub mode: Option<u32>,
    /// The owner, if given.
    pub owner: Option<Ident>,
    /// The group, if given.
    pub group: Option<Ident>,
}

impl Wanted {
    /// Resolves `attrs` with what the probe learned; an unknown user or
    /// group fails as Ansible does.
    pub fn resolve(attrs: &FileAttrs, probe: &Probe) -> Result<Wanted, ModuleError> {
        let owner = match &attrs.owner {
            None => None,
            Some(o) => Some(probe.owner.clone().ok_or_else(|| {
                ModuleError::failed(format!("chown failed: failed to look up user {o}"))
            })?),
        };
        let group = match &attrs.group {
            None => None,
            Some(g) => Some(probe.group.clone().ok_or_else(|| {
                ModuleError::failed(format!("chgrp failed: failed to look up group {g}"))
            })?),
        };
        Ok(Wanted {
            mode: attrs.mode,
            owner,
            group,
        })
    }

    /// What differs from an existing path.
    pub fn changes(&self, info: &PathInfo) -> AttrChanges {
        AttrChanges {
            mode: self
                .mode
                .filter(|m| *m != info.mode)
                .map(|m| (info.mode, m)),
            owner: self
                .owner
                .clone()
                .filter(|o| o.id != info.uid)
                .map(|o| (info.user.clone(), o)),
            group: self
                .group
                .clone()
                .filter(|g| g.id != info.gid)
                .map(|g| (info.group.clone(), g)),
        }
    }

    /// The attributes to hand to `write_file`, with resolved names.
    pub fn attrs(&self) -> FileAttrs {
        FileAttrs {
            mode: self.mode,
            owner: self.owner.as_ref().map(|o| o.id.to_string()),
            group: self.group.as_ref().map(|g| g.id.to_string()),
        }
    }
}

/// The attribute changes a path needs: `(before, after)` for each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttrChanges {
    /// The permission bits, before and after.
    pub mode: Option<(u32, u32)>,
    /// The owner's name before, and the owner after.
    pub owner: Option<(String, Ident)>,
    /// The group's name before, and the group after.
    pub group: Option<(String, Ident)>,
}

impl AttrChanges {
    /// Whether nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.owner.is_none() && self.group.is_none()
    }

    /// An Ansible-style "(file attributes)" diff, or `None` when nothing changes.
    pub fn diff(&self, path: &str) -> Option<Diff> {
        if self.is_empty() {
            return None;
        }
        let (mut before, mut after) = (String::new(), String::new());
        if let Some((b, a)) = self.mode {
            before.push_str(&format!("mode: {}\n", mode_str(b)));
            after.push_str(&format!("mode: {}\n", mode_str(a)));
        }
        if let Some((b, a)) = &self.owner {
            before.push_str(&format!("owner: {b}\n"));
            after.push_str(&format!("owner: {}\n", a.name));
        }
        if let Some((b, a)) = &self.group {
            before.push_str(&format!("group: {b}\n"));
            after.push_str(&format!("group: {}\n", a.name));
        }
        Some(Diff {
            header: format!("{path} (file attributes)"),
            before,
            after,
        })
    }

    /// The `chown`/`chmod` command line that makes the changes.
    /// `recurse` applies them to a whole tree; a symbolic link itself is
    /// changed with `chown -h` and never chmod-ed.
    pub fn command(&self, path: &str, recurse: bool, is_link: bool) -> Option<String> {
        let q = shell_quote(path);
        let r = if recurse { "-R " } else { "" };
        let mut steps = Vec::new();
        let h = if is_link { "-h " } else { "" };
        match (&self.owner, &self.group) {
            (Some((_, o)), Some((_, g))) => {
                steps.push(format!("chown {h}{r}{}:{} -- {q}", o.id, g.id))
            }
            (Some((_, o)), None) => steps.push(format!("chown {h}{r}{} -- {q}", o.id)),
            (None, Some((_, g))) => steps.push(format!("chgrp {h}{r}{} -- {q}", g.id)),
            (None, None) => {}
        }
        if let Some((_, m)) = self.mode.filter(|_| !is_link) {
            steps.push(format!("chmod {r}{m:o} -- {q}"));
        }
        (!steps.is_empty()).then(|| steps.join(" && "))
    }
}

/// Runs a `chown`/`chmod` command line, failing with its error.
pub async fn run_fix(ctx: &ModuleCtx<'_>, cmd: &str, path: &str) -> Result<(), ModuleError> {
    let out = ctx.exec(cmd).await?;
    if out.rc != 0 {
        return Err(ModuleError::failed(format!(
            "failed to set attributes of {path}: {}",
            out.stderr.trim()
        )));
    }
    Ok(())
}

/// `0644`, as Ansible prints modes.
pub fn mode_str(mode: u32) -> String {
    format!("{mode:04o}")
}

/// Copies `path` to `path.PID.DATE~` as Ansible's `backup: yes` does and
/// returns the backup's name.
pub async fn backup(ctx: &ModuleCtx<'_>, path: &str) -> Result<String, ModuleError> {
    let q = shell_quote(path);
    let cmd = format!(
        "b={q}.$$.$(date '+%Y-%m-%d@%H:%M:%S~') && cp -p -- {q} \"$b\" && printf '%s' \"$b\""
    );
    let out = ctx.exec(cmd).await?;
    if out.rc != 0 {
        return Err(ModuleError::failed(format!(
            "backup of {path} failed: {}",
            out.stderr.trim()
        )));
    }
    Ok(out.stdout)
}

/// Whether bytes can be shown as text in a diff.
pub fn is_text(data: &[u8]) -> bool {
    !data.contains(&0) && std::str::from_utf8(data).is_ok()
}

/// A content diff; for binary or large content only a short note with
/// sizes and checksums.
pub fn content_diff(path: &str, before: Option<&[u8]>, after: &[u8]) -> Diff {
    let before_ok = before.is_none_or(|b| b.len() as u64 <= DIFF_MAX && is_text(b));
    if before_ok && after.len() as u64 <= DIFF_MAX && is_text(after) {
        return Diff {
            header: path.to_string(),
            before: before
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default(),
            after: String::from_utf8_lossy(after).into_owned(),
        };
    }
    let note = |d: &[u8]| format!("size: {}\nchecksum: {}\n", d.len(), sha1_hex(d));
    Diff {
        header: format!("{path} (binary or large file, content not shown)"),
        before: before.map(note).unwrap_or_default(),
        after: note(after),
    }
}

/// The diff note for content that is not shown (too big to read).
pub fn note_diff(path: &str, before: Option<(u64, &str)>, after: (u64, &str)) -> Diff {
    let note = |(size, sum): (u64, &str)| format!("size: {size}\nchecksum: {sum}\n");
    Diff {
        header: format!("{path} (binary or large file, content not shown)"),
        before: before.map(note).unwrap_or_default(),
        after: note(after),
    }
}

/// Adds Ansible's `mode`, `owner`, `group`, `uid`, `gid`, `size` and
/// `state` fields for a path as it is after the task.
pub fn add_file_fields(mut outcome: Outcome, info: &PathInfo, wanted: &Wanted) -> Outcome {
    let mode = wanted.mode.unwrap_or(info.mode);
    let (user, uid) = wanted
        .owner
        .as_ref()
        .map_or((info.user.clone(), info.uid), |o| (o.name.clone(), o.id));
    let (group, gid) = wanted
        .group
        .as_ref()
        .map_or((info.group.clone(), info.gid), |g| (g.name.clone(), g.id));
    let state = match info.kind {
        FileKind::Directory => "directory",
        FileKind::Symlink => "link",
        _ => "file",
    };
    outcome
        .data
        .insert("mode".into(), Value::from(mode_str(mode)));
    outcome.data.insert("owner".into(), Value::from(user));
    outcome.data.insert("group".into(), Value::from(group));
    outcome.data.insert("uid".into(), Value::from(uid));
    outcome.data.insert("gid".into(), Value::from(gid));
    outcome.data.insert("size".into(), Value::from(info.size));
    outcome.data.insert("state".into(), Value::from(state));
    outcome
}

/// The `PathInfo` a file written by this task will have, predicted from
/// the probe so that no second round trip is needed.
pub fn predicted_file(probe: &Probe, size: u64) -> PathInfo {
    match &probe.info {
        Some(info) if info.kind == FileKind::File => PathInfo {
            size,
            ..info.clone()
        },
        _ => PathInfo {
            kind: FileKind::File,
            mode: 0o666 & !probe.umask,
            uid: 0,
            gid: 0,
            size,
            user: probe.me_user.clone(),
            group: probe.me_group.clone(),
            mtime: 0,
            link_target: None,
            target_kind: Some(FileKind::File),
        },
    }
}

/// The directory part of a path (`.` for a bare name).
pub fn parent_of(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) => "/".to_string(),
        Some((dir, _)) => dir.to_string(),
        None => ".".to_string(),
    }
}

/// The last part of a path.
pub fn base_name(path: &str) -> &str {
    let t = path.trim_end_matches('/');
    t.rsplit_once('/').map_or(t, |(_, b)| b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::TestHost;

    #[test]
    fn hashes_like_coreutils() {
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(Algo::Md5.hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(Algo::parse("SHA256"), Some(Algo::Sha256));
        assert_eq!(Algo::parse("crc32"), None);
    }

    #[test]
    fn splits_paths() {
        assert_eq!(parent_of("/etc/x.conf"), "/etc");
        assert_eq!(parent_of("/x"), "/");
        assert_eq!(parent_of("x"), ".");
        assert_eq!(base_name("/a/b/"), "b");
        assert_eq!(base_name("c"), "c");
    }

    #[test]
    fn large_or_binary_content_gets_a_note() {
        let d = content_diff("/f", Some(b"a\0b"), b"abc");
        assert_eq!(d.header, "/f (binary or large file, content not shown)");
        assert_eq!(
            d.after,
            format!("size: 3\nchecksum: {}\n", sha1_hex(b"abc"))
        );
        let t = content_diff("/f", None, b"x\n");
        assert_eq!(
            (t.header.as_str(), t.before.as_str(), t.after.as_str()),
            ("/f", "", "x\n")
        );
    }

    #[tokio::test]
    async fn probe_reports_stat_checksum_and_ids() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "abc").unwrap();
        std::os::unix::fs::symlink(&f, dir.path().join("l")).unwrap();
        let host = TestHost::new();
        let ctx = host.ctx();
        let mut req = ProbeRequest::new(f.to_str().unwrap());
        req.checksum = Some(Algo::Sha1);
        req.owner = Some("root".into());
        req.group = Some("no-such-group-x".into());
        let p = probe(&ctx, &req).await.unwrap();
        let info = p.info.unwrap();
        assert_eq!((info.kind, info.size), (FileKind::File, 3));
        assert_eq!(
            p.checksum.as_deref(),
            Some("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            p.owner,
            Some(Ident {
                name: "root".into(),
                id: 0
            })
        );
        assert_eq!(p.group, None);
        assert!(p.parent_is_dir);
        let link = probe(
            &ctx,
            &ProbeRequest::new(dir.path().join("l").to_str().unwrap()),
        )
        .await
        .unwrap();
        let li = link.info.unwrap();
        assert_eq!(li.kind, FileKind::Symlink);
        assert_eq!(li.link_target.as_deref(), f.to_str());
        assert_eq!(li.followed_kind(), Some(FileKind::File));
        let missing = probe(&ctx, &ProbeRequest::new("/nonexistent-dir/x"))
            .await
            .unwrap();
        assert!(missing.info.is_none() && !missing.parent_is_dir);
    }
}
