//! `file`: make a path be a file, a directory, a link, or nothing, with the
//! wanted mode, owner and group.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::{
    AttrChanges, PathInfo, Probe, ProbeRequest, Wanted, add_file_fields, mode_str, parent_of, probe,
};
use super::params::file_params;
use crate::connection::{FileAttrs, FileKind, shell_quote};
use crate::modules::{
    Action, Apply, Change, Diff, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Query,
    parse_params,
};

file_params! {
    /// Manages a path: file, directory, symbolic or hard link, or absent.
    ///
    /// `state: file` only changes attributes and fails when the file is
    /// missing; `directory` creates missing parents (giving each the wanted
    /// attributes, as Ansible does) and with `recurse` applies owner, group
    /// and mode to the whole tree; `absent` removes files and whole
    /// directories; `touch` creates the file or updates its times and always
    /// reports a change. Without `state`, the current kind of the path is kept.
    /// Only octal modes are supported, not symbolic ones (`u+rwX`). A symbolic
    /// link at `path` is followed for `file`, `directory` and `touch`.
    pub struct FileParams {
        /// The path to manage.
        #[schemars(extend("x-aliases" = ["dest", "name"]))]
        pub path: String,
        /// What the path should be.
        #[serde(default)]
        pub state: Option<FileState>,
        /// The target of the link, for `state: link` or `hard`.
        #[serde(default)]
        pub src: Option<String>,
        /// With `state: directory`, apply owner, group and mode to everything inside.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub recurse: bool,
        /// For links: replace an existing file or empty directory, and link
        /// to a `src` that does not exist.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub force: bool,
    }
}

/// `state:` of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileState {
    /// A regular file (which must exist).
    File,
    /// A directory, created with its parents.
    Directory,
    /// Nothing: removed, recursively for a directory.
    Absent,
    /// A file, created empty if missing; its times are updated.
    Touch,
    /// A symbolic link to `src`.
    Link,
    /// A hard link to `src`.
    Hard,
}

/// The `file` module.
pub struct FileModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![Arc::new(FileModule {
        spec: ModuleSpec::native::<FileParams>("file").with_examples(
            "- file:\n    path: /var/lib/nova/instances\n    state: directory\n    owner: nova\n    group: nova\n    mode: '0750'\n\n\
             - file:\n    path: /etc/nginx/sites-enabled/default\n    state: absent\n\n\
             - file:\n    src: /etc/nginx/sites-available/keystone\n    dest: /etc/nginx/sites-enabled/keystone\n    state: link",
        ),
    })]
}

impl Module for FileModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: FileParams = parse_params(args)?;
        let state = p.state.or(p.recurse.then_some(FileState::Directory));
        if p.recurse && state != Some(FileState::Directory) {
            return Err(ModuleError::Params(
                "recurse option requires state to be 'directory'".into(),
            ));
        }
        let linking = matches!(state, Some(FileState::Link | FileState::Hard));
        if p.src.is_some() && !linking {
            return Err(ModuleError::Params(
                "src option requires state to be 'link' or 'hard'".into(),
            ));
        }
        if linking && p.src.is_none() {
            return Err(ModuleError::Params(
                "src is required for creating new links".into(),
            ));
        }
        Ok(Box::new(FileAction { p, state }))
    }
}

struct FileAction {
    p: FileParams,
    state: Option<FileState>,
}

/// What the apply will run, decided by the query.
struct Plan {
    /// One shell script doing the whole change.
    script: String,
    outcome: Outcome,
}

/// Ansible's name for what a path currently is.
fn state_name(info: Option<&PathInfo>) -> &'static str {
    match info.map(|i| i.kind) {
        None => "absent",
        Some(FileKind::File) => "file",
        Some(FileKind::Directory) => "directory",
        Some(FileKind::Symlink) => "link",
        Some(FileKind::Other) => "special",
    }
}

fn state_diff(path: &str, before: &str, after: &str) -> Diff {
    Diff {
        header: path.to_string(),
        before: format!("path: {path}\nstate: {before}\n"),
        after: format!("path: {path}\nstate: {after}\n"),
    }
}

impl FileAction {
    fn path(&self) -> &str {
        &self.p.path
    }

    /// The absolute path a link's `src` names (relative to the link's folder).
    fn src_abs(&self) -> String {
        let src = self.p.src.clone().unwrap_or_default();
        if src.starts_with('/') {
            src
        } else {
            format!("{}/{src}", parent_of(self.path()))
        }
    }

    fn probe_request(&self, state: Option<FileState>) -> ProbeRequest {
        let mut req = ProbeRequest::new(self.path()).with_attrs(&self.p.file_attrs());
        req.follow = matches!(
            state,
            Some(FileState::File | FileState::Directory | FileState::Touch)
        );
        let recurse_check = self.p.recurse
            && (self.p.mode.is_some() || self.p.owner.is_some() || self.p.group.is_some());
        if recurse_check {
            req.extra = Some(self.recurse_check());
        } else if state == Some(FileState::Link) {
            req.extra = Some(format!(
                "[ -e {} ] && echo X:src; [ -d \"$p\" ] && [ -z \"$(ls -A \"$p\")\" ] && echo X:empty",
                shell_quote(&self.src_abs())
            ));
        } else if state == Some(FileState::Hard) {
            let src = shell_quote(&self.src_abs());
            req.extra = Some(format!(
                "[ -e {src} ] && echo X:src; [ \"$p\" -ef {src} ] && echo X:same"
            ));
        }
        req
    }

    /// A `find` that prints `X:dirty` when any entry under the directory
    /// has another owner, group or mode than wanted.
    fn recurse_check(&self) -> String {
        let mut tests = Vec::new();
        if let Some(o) = &self.p.owner {
            tests.push(format!("! -user {}", shell_quote(o)));
        }
        if let Some(g) = &self.p.group {
            tests.push(format!("! -group {}", shell_quote(g)));
        }
        if let Some(m) = self.p.mode {
            // chmod -R leaves symbolic links alone, so they never count.
            tests.push(format!("\\( ! -type l ! -perm {m:o} \\)"));
        }
        format!(
            "[ -d \"$p\" ] && [ -n \"$(find \"$p\" -mindepth 1 \\( {} \\) -print -quit 2>/dev/null)\" ] && echo X:dirty",
            tests.join(" -o ")
        )
    }

    fn done(&self, info: Option<&PathInfo>, wanted: &Wanted) -> Outcome {
        let out = Outcome::ok().with("path", self.path().to_string());
        match info {
            Some(i) => add_file_fields(out, i, wanted),
            None => out.with("state", "absent"),
        }
    }
}

#[async_trait]
impl Action for FileAction {
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let pr = probe(ctx, &self.probe_request(self.state)).await?;
        let state = self
            .state
            .unwrap_or(match pr.info.as_ref().map(|i| i.kind) {
                Some(FileKind::Directory) => FileState::Directory,
                Some(FileKind::Symlink) => FileState::Link,
                _ => FileState::File,
            });
        let planned = match state {
            FileState::Absent => self.absent(&pr),
            FileState::File => self.file(&pr),
            FileState::Directory => self.directory(&pr),
            FileState::Touch => self.touch(&pr),
            FileState::Link if self.p.src.is_none() => self.existing_link(&pr),
            FileState::Link => self.link(&pr),
            FileState::Hard => self.hard(&pr),
        }?;
        match planned {
            Planned::Unchanged(out) => Ok(Query::Unchanged(out)),
            Planned::Change(change, plan) => Ok(Query::Change(
                change,
                Box::new(PlannedFile {
                    path: self.path().to_string(),
                    plan,
                }),
            )),
        }
    }
}

/// The path and the script its query planned.
struct PlannedFile {
    path: String,
    plan: Plan,
}

#[async_trait]
impl Apply for PlannedFile {
    async fn apply(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let out = ctx.exec(self.plan.script).await?;
        if out.rc != 0 {
            return Err(ModuleError::failed(format!(
                "{}: {}",
                self.path,
                out.stderr.trim()
            )));
        }
        Ok(self.plan.outcome)
    }
}

enum Planned {
    Unchanged(Outcome),
    Change(Change, Plan),
}

impl FileAction {
    /// Builds the change for attribute fixes (plus an optional first step).
    fn with_attrs(
        &self,
        first: Option<(String, Diff)>,
        info: &PathInfo,
        wanted: &Wanted,
        changes: &AttrChanges,
        extra: Option<(String, Diff)>,
    ) -> Planned {
        let mut steps = Vec::new();
        let mut change = Change::new().with("path", self.path().to_string());
        for (script, diff) in first.into_iter() {
            steps.push(script);
            change = change.with_diff(diff);
        }
        if let Some(cmd) = changes.command(self.path(), false, info.kind == FileKind::Symlink) {
            steps.push(cmd);
        }
        if let Some(d) = changes.diff(self.path()) {
            change = change.with_diff(d);
        }
        for (script, diff) in extra.into_iter() {
            steps.push(script);
            change = change.with_diff(diff);
        }
        let mut outcome = self.done(Some(info), wanted);
        outcome.changed = true;
        Planned::Change(
            change,
            Plan {
                script: steps.join(" && "),
                outcome,
            },
        )
    }

    fn absent(&self, pr: &Probe) -> Result<Planned, ModuleError> {
        let Some(info) = &pr.info else {
            return Ok(Planned::Unchanged(self.done(None, &Wanted::default())));
        };
        let change = Change::new()
            .with("path", self.path().to_string())
            .with_diff(state_diff(self.path(), state_name(Some(info)), "absent"));
        let outcome = Outcome::changed()
            .with("path", self.path().to_string())
            .with("state", "absent");
        let script = format!("rm -rf -- {}", shell_quote(self.path()));
        Ok(Planned::Change(change, Plan { script, outcome }))
    }

    fn file(&self, pr: &Probe) -> Result<Planned, ModuleError> {
        let info = match &pr.info {
            Some(i) if i.kind == FileKind::File => i,
            other => {
                return Err(ModuleError::failed(format!(
                    "file ({}) is {}, cannot continue",
                    self.path(),
                    state_name(other.as_ref())
                )));
            }
        };
        let wanted = Wanted::resolve(&self.p.file_attrs(), pr)?;
        let changes = wanted.changes(info);
        if changes.is_empty() {
            return Ok(Planned::Unchanged(self.done(Some(info), &wanted)));
        }
        Ok(self.with_attrs(None, info, &wanted, &changes, None))
    }

    fn directory(&self, pr: &Probe) -> Result<Planned, ModuleError> {
        let wanted = Wanted::resolve(&self.p.file_attrs(), pr)?;
        let Some(info) = &pr.info else {
            return Ok(self.create_directory(pr, &wanted));
        };
        if info.kind != FileKind::Directory {
            return Err(ModuleError::failed(format!(
                "{} already exists as a {}",
                self.path(),
                state_name(Some(info))
            )));
        }
        let changes = wanted.changes(info);
        let dirty = pr.extra.iter().any(|x| x == "dirty");
        if changes.is_empty() && !dirty {
            return Ok(Planned::Unchanged(self.done(Some(info), &wanted)));
        }
        let recursive = dirty.then(|| {
            let all = AttrChanges {
                mode: wanted.mode.map(|m| (0, m)),
                owner: wanted.owner.clone().map(|o| (String::new(), o)),
                group: wanted.group.clone().map(|g| (String::new(), g)),
            };
            let mut after = String::new();
            if let Some(m) = wanted.mode {
                after.push_str(&format!("mode: {}\n", mode_str(m)));
            }
            for (k, v) in [("owner", &wanted.owner), ("group", &wanted.group)] {
                if let Some(v) = v {
                    after.push_str(&format!("{k}: {}\n", v.name));
                }
            }
            let diff = Diff {
                header: format!("{}/* (file attributes, recursive)", self.path()),
                before: "some entries differ\n".into(),
                after,
            };
            (
                all.command(self.path(), true, false).unwrap_or_default(),
                diff,
            )
        });
        Ok(self.with_attrs(None, info, &wanted, &changes, recursive))
    }

    /// `mkdir` for each missing component, each given the wanted attributes.
    ///
    /// Another host (or process) may create a shared parent between the
    /// test and the `mkdir`: a component that exists as a directory by then
    /// is fine, as in Ansible's `file`, and keeps the attributes its
    /// creator gave it; only the components this task made get the wanted
    /// ones.
    fn create_directory(&self, pr: &Probe, wanted: &Wanted) -> Planned {
        let new = AttrChanges {
            mode: wanted.mode.map(|m| (0, m)),
            owner: wanted.owner.clone().map(|o| (String::new(), o)),
            group: wanted.group.clone().map(|g| (String::new(), g)),
        };
        let mut script = String::from("set -e\n");
        for c in components(self.path()) {
            let q = shell_quote(&c);
            let fix = new.command(&c, false, false).unwrap_or_else(|| ":".into());
            // A failed `mkdir` that left no directory is run again, for its
            // message and exit status.
            script.push_str(&format!(
                "if [ ! -e {q} ]; then if mkdir -- {q} 2>/dev/null; then {fix}; \
                 elif [ ! -d {q} ]; then mkdir -- {q}; fi; fi\n"
            ));
        }
        let info = PathInfo {
            kind: FileKind::Directory,
            mode: 0o777 & !pr.umask,
            uid: 0,
            gid: 0,
            size: 4096,
            user: pr.me_user.clone(),
            group: pr.me_group.clone(),
            mtime: 0,
            link_target: None,
            target_kind: Some(FileKind::Directory),
        };
        let change = Change::new()
            .with("path", self.path().to_string())
            .with_diff(state_diff(self.path(), "absent", "directory"));
        let mut outcome = self.done(Some(&info), wanted);
        outcome.changed = true;
        Planned::Change(change, Plan { script, outcome })
    }

    fn touch(&self, pr: &Probe) -> Result<Planned, ModuleError> {
        let wanted = Wanted::resolve(&self.p.file_attrs(), pr)?;
        let q = shell_quote(self.path());
        let before = state_name(pr.info.as_ref());
        let touch = (
            format!("touch -- {q}"),
            state_diff(self.path(), before, "touch"),
        );
        let info = pr
            .info
            .clone()
            .unwrap_or_else(|| super::common::predicted_file(pr, 0));
        // A new file gets every wanted attribute that touch does not give it.
        let changes = match &pr.info {
            Some(i) => wanted.changes(i),
            None => AttrChanges {
                mode: wanted
                    .mode
                    .filter(|m| *m != info.mode)
                    .map(|m| (info.mode, m)),
                owner: wanted
                    .owner
                    .clone()
                    .filter(|o| o.name != pr.me_user)
                    .map(|o| (pr.me_user.clone(), o)),
                group: wanted
                    .group
                    .clone()
                    .filter(|g| g.name != pr.me_group)
                    .map(|g| (pr.me_group.clone(), g)),
            },
        };
        Ok(self.with_attrs(Some(touch), &info, &wanted, &changes, None))
    }

    /// What a link is wanted as: owner and group only, never a mode.
    fn link_wanted(&self, pr: &Probe) -> Result<Wanted, ModuleError> {
        let mut wanted = Wanted::resolve(
            &FileAttrs {
                mode: None,
                ..self.p.file_attrs()
            },
            pr,
        )?;
        wanted.mode = None;
        Ok(wanted)
    }

    /// `state: link` without `src`: only owner and group of the link itself.
    fn existing_link(&self, pr: &Probe) -> Result<Planned, ModuleError> {
        match &pr.info {
            Some(i) if i.kind == FileKind::Symlink => {
                let wanted = self.link_wanted(pr)?;
                let changes = wanted.changes(i);
                if changes.is_empty() {
                    return Ok(Planned::Unchanged(self.done(Some(i), &wanted)));
                }
                Ok(self.with_attrs(None, i, &wanted, &changes, None))
            }
            _ => Err(ModuleError::Params(
                "src is required for creating new links".into(),
            )),
        }
    }

    fn link(&self, pr: &Probe) -> Result<Planned, ModuleError> {
        let src = self.p.src.clone().unwrap_or_default();
        let path = self.path();
        let wanted = self.link_wanted(pr)?;
        let q = format!("{} {}", shell_quote(&src), shell_quote(path));
        let ln = match &pr.info {
            Some(i)
                if i.kind == FileKind::Symlink
                    && i.link_target.as_deref() == Some(src.as_str()) =>
            {
                return self.existing_link(pr);
            }
            Some(i) if i.kind == FileKind::Symlink => format!("ln -sfn -- {q}"),
            Some(i) if !self.p.force => {
                return Err(ModuleError::failed(format!(
                    "refusing to convert from {} to symlink for {path}",
                    state_name(Some(i))
                )));
            }
            Some(i) if i.kind == FileKind::Directory => {
                if !pr.extra.iter().any(|x| x == "empty") {
                    return Err(ModuleError::failed(format!(
                        "the directory {path} is not empty, refusing to convert it"
                    )));
                }
                format!("rmdir -- {} && ln -s -- {q}", shell_quote(path))
            }
            Some(_) => format!("ln -sf -- {q}"),
            None if !self.p.force && !pr.extra.iter().any(|x| x == "src") => {
                return Err(ModuleError::failed(format!(
                    "src file does not exist, use \"force=yes\" if you really want to create the link: {}",
                    self.src_abs()
                )));
            }
            None => format!("ln -s -- {q}"),
        };
        let before = match &pr.info {
            Some(i) if i.kind == FileKind::Symlink => format!(
                "path: {path}\nstate: link\nsrc: {}\n",
                i.link_target.clone().unwrap_or_default()
            ),
            other => format!("path: {path}\nstate: {}\n", state_name(other.as_ref())),
        };
        let diff = Diff {
            header: path.to_string(),
            before,
            after: format!("path: {path}\nstate: link\nsrc: {src}\n"),
        };
        let all = AttrChanges {
            mode: None,
            owner: wanted.owner.clone().map(|o| (String::new(), o)),
            group: wanted.group.clone().map(|g| (String::new(), g)),
        };
        let mut script = ln;
        if let Some(fix) = all.command(path, false, true) {
            script = format!("{script} && {fix}");
        }
        let change = Change::new().with("path", path.to_string()).with_diff(diff);
        let outcome = Outcome::changed()
            .with("path", path.to_string())
            .with("src", src)
            .with("state", "link");
        Ok(Planned::Change(change, Plan { script, outcome }))
    }

    fn hard(&self, pr: &Probe) -> Result<Planned, ModuleError> {
        let path = self.path();
        let src = self.p.src.clone().unwrap_or_default();
        if !pr.extra.iter().any(|x| x == "src") {
            return Err(ModuleError::failed(format!("src does not exist: {src}")));
        }
        let wanted = Wanted::resolve(&self.p.file_attrs(), pr)?;
        let q = format!("{} {}", shell_quote(&self.src_abs()), shell_quote(path));
        let ln = match &pr.info {
            Some(i) if pr.extra.iter().any(|x| x == "same") => {
                let changes = wanted.changes(i);
                if changes.is_empty() {
                    return Ok(Planned::Unchanged(
                        self.done(Some(i), &wanted).with("src", src),
                    ));
                }
                return Ok(self.with_attrs(None, i, &wanted, &changes, None));
            }
            Some(i) if !self.p.force || i.kind == FileKind::Directory => {
                return Err(ModuleError::failed(format!(
                    "refusing to convert from {} to hard for {path}",
                    state_name(Some(i))
                )));
            }
            _ => format!("ln -f -- {q}"),
        };
        let all = AttrChanges {
            mode: wanted.mode.map(|m| (0, m)),
            owner: wanted.owner.clone().map(|o| (String::new(), o)),
            group: wanted.group.clone().map(|g| (String::new(), g)),
        };
        let mut script = ln;
        if let Some(fix) = all.command(path, false, false) {
            script = format!("{script} && {fix}");
        }
        let change = Change::new()
            .with("path", path.to_string())
            .with_diff(state_diff(path, state_name(pr.info.as_ref()), "hard"));
        let outcome = Outcome::changed()
            .with("path", path.to_string())
            .with("src", src)
            .with("state", "hard");
        Ok(Planned::Change(change, Plan { script, outcome }))
    }
}

/// The path of each component of `path`, from the top: `/a/b/` gives `/a`
/// and `/a/b`, `a//b` gives `a` and `a/b`.
fn components(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let root = if path.starts_with('/') { "/" } else { "" };
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let next = match out.last() {
            Some(prev) => format!("{prev}/{part}"),
            None => format!("{root}{part}"),
        };
        out.push(next);
    }
    out
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
