//! `copy`: put a file (from the control node, from `content`, or from
//! elsewhere on the host) at a path on the host.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::common::base_name;
use super::params::file_params;
use super::write::{ContentWrite, Source};
use crate::modules::{Action, Module, ModuleCtx, ModuleError, ModuleSpec, Query, parse_params};

file_params! {
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
    pub struct CopyParams with backup, force {
        /// The file to copy: on the control node, or on the host with `remote_src`.
        #[serde(default)]
        pub src: Option<String>,
        /// The text to write instead of `src`. A list or mapping is written as JSON.
        #[serde(default)]
        pub content: Option<Value>,
        /// Where to put the file on the host.
        pub dest: String,
        /// `src` is a path on the host rather than on the control node.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub remote_src: bool,
        /// A command that checks the new file before it replaces `dest`; `%s`
        /// is the file's temporary path (`visudo -cf %s`).
        #[serde(default)]
        pub validate: Option<String>,
    }
}

/// The `copy` module.
pub struct CopyModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
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
        Ok(Box::new(CopyAction { p }))
    }
}

struct CopyAction {
    p: CopyParams,
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
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let (source, src) = self.source(ctx).await?;
        let name = src.as_deref().map(|s| base_name(s).to_string());
        let mut write = ContentWrite::new(&self.p.dest, source, self.p.file_attrs());
        write.dir_name = name;
        write.backup = self.p.backup;
        write.force = self.p.force;
        write.validate = self.p.validate.clone();
        write.src = src;
        write.query(ctx).await
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
            json!(crate::modules::files::common::sha1_hex(b"x=1\n"))
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
    async fn attributes_of_a_linked_dest_settle() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        let link = dir.path().join("link");
        std::fs::write(&real, "same").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let host = TestHost::new();
        let args = json!({"content": "same", "dest": link, "mode": "0600"});
        assert!(host.run("copy", args.clone()).await.unwrap().changed);
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        assert!(!host.run("copy", args).await.unwrap().changed);
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
