//! `ini_set`: set, add or remove options in an INI file (OpenStack's
//! configuration files above all) without touching any other byte.
//!
//! The editing itself is [`crate::ini`]; this module reads the file over
//! the host's connection, applies the task's edits, and writes the file
//! back atomically only when its text (or mode/owner/group) differs.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::params::file_params;
use crate::connection::{FileAttrs, FileKind, shell_quote};
use crate::ini::{IniDoc, IniError, SetOptions, is_secret_option, mask_secrets};
use crate::modules::{
    Action, ApplyPlan, Change, Diff, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Planned,
    Query, parse_params,
};

file_params! {
    /// Sets options in an INI file, keeping every other byte as it was.
    ///
    /// Like community.general.ini_file, written for OpenStack's configuration
    /// files. Lines the task does not own stay exactly as they were: comments,
    /// blank lines, order, indentation, CRLF endings, a missing final newline.
    /// A value already in place is not a change, whatever its spacing
    /// (`opt=1` satisfies `opt = 1`). Sections match exactly (case-sensitive);
    /// `debug` in `[DEFAULT]` and `debug` in `[api]` are different options.
    ///
    /// Where a new option goes: over the commented `#option = default` line of
    /// its section when there is one (`modify_inactive_option`; OpenStack's
    /// shipped files have one for every option), else after the last option
    /// line of the section (before the comments that lead to the next
    /// section), else right after the section header. A missing section is
    /// appended at the end of the file, after a blank line.
    ///
    /// `settings` sets many options with one read and at most one write of the
    /// file: `settings: {SECTION: {OPTION: VALUE}}`. A list value is a
    /// multi-valued option (like `values`), `null` removes the option, and an
    /// empty mapping only makes sure the section exists. The key `""` stands
    /// for the lines before the first section.
    ///
    /// With --diff, values of secret-looking options (`password`,
    /// `*_password`, `transport_url`, `connection`, `*secret*`, `*_key`, …)
    /// and the password in any `scheme://user:password@host` URL are shown as
    /// `********`, and the run's known secrets are scrubbed; the diff header
    /// names the secret options that changed.
    ///
    /// Differences from community.general.ini_file: booleans are written
    /// `true`/`false` (not Python's `True`/`False`); values are trimmed;
    /// `modify_inactive_option` prefers OpenStack's `#opt = default` line (no
    /// space after `#`) over example lines in help text (`#    opt = x`), and
    /// never uncomments or deletes other commented lines; a new section is
    /// preceded by a blank line; `settings` is new; `follow` and `attributes`
    /// are not supported (a symbolic link is always followed).
    pub struct IniSetParams with backup {
        /// The INI file to edit.
        #[schemars(extend("x-aliases" = ["dest"]))]
        pub path: String,
        /// The section. Omit it (or give null) for the lines before the first
        /// section.
        #[serde(default)]
        pub section: Option<String>,
        /// The option. Without it, `state=present` makes sure the section
        /// exists and `state=absent` removes the whole section.
        #[serde(default)]
        pub option: Option<String>,
        /// The option's value (strings, numbers and booleans are accepted).
        #[serde(default)]
        #[schemars(with = "Option<String>")]
        pub value: Option<Value>,
        /// Several values: the option gets one `option = value` line each
        /// (oslo.config's MultiStrOpt).
        #[serde(default)]
        #[schemars(with = "Option<Vec<String>>")]
        pub values: Option<Vec<Value>>,
        /// Many options at once: `{SECTION: {OPTION: VALUE}}`. A list is
        /// several values, null removes the option. Not combined with
        /// `section`, `option`, `value` or `values`.
        #[serde(default)]
        pub settings: Option<Map<String, Value>>,
        /// Whether the option (or the section) should be there.
        #[serde(default)]
        pub state: IniState,
        /// present: other lines of the option are replaced or removed, so it
        /// ends with exactly the given values. absent: all lines of the option
        /// go, whatever their value (only the given values when false).
        #[serde(default = "yes", deserialize_with = "crate::value::de_bool")]
        pub exclusive: bool,
        /// Write `option=value` instead of `option = value`.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub no_extra_spaces: bool,
        /// Create the file (and its directory) when it does not exist;
        /// when false a missing file fails the task.
        #[serde(default = "yes", deserialize_with = "crate::value::de_bool")]
        pub create: bool,
        /// Options without a value (a bare `option` line, as in my.cnf's
        /// `skip-name-resolve`) may be written when no value is given.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub allow_no_value: bool,
        /// Replace a commented `#option = default` line of the section in
        /// place instead of adding a new line.
        #[serde(default = "yes", deserialize_with = "crate::value::de_bool")]
        pub modify_inactive_option: bool,
    }
}

fn yes() -> bool {
    true
}

/// `state:` of ini_set.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IniState {
    /// The option (or section) is there.
    #[default]
    Present,
    /// The option (or section) is not there.
    Absent,
}

/// One edit of the file, checked before the host is touched.
#[derive(Debug, Clone, PartialEq)]
enum Edit {
    Set {
        section: Option<String>,
        option: String,
        values: Vec<Option<String>>,
    },
    /// All lines of the option, or only those with the given values.
    Remove {
        section: Option<String>,
        option: String,
        values: Option<Vec<String>>,
    },
    EnsureSection(String),
    RemoveSection(String),
}

impl Edit {
    fn label(&self) -> String {
        let (section, what) = match self {
            Edit::Set {
                section, option, ..
            }
            | Edit::Remove {
                section, option, ..
            } => (section.as_deref(), option.as_str()),
            Edit::EnsureSection(s) | Edit::RemoveSection(s) => (Some(s.as_str()), ""),
        };
        match (section, what) {
            (Some(s), "") => format!("[{s}]"),
            (Some(s), o) => format!("[{s}] {o}"),
            (None, o) => o.to_string(),
        }
    }

    fn is_secret(&self) -> bool {
        matches!(self, Edit::Set { option, .. } | Edit::Remove { option, .. } if is_secret_option(option))
    }
}

/// The `ini_set` module.
pub struct IniSetModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    let mut spec = ModuleSpec::native::<IniSetParams>("ini_set").with_examples(EXAMPLES);
    spec.exclusive = vec![
        vec!["value".into(), "values".into(), "settings".into()],
        vec!["option".into(), "settings".into()],
        vec!["section".into(), "settings".into()],
    ];
    vec![Arc::new(IniSetModule { spec })]
}

const EXAMPLES: &str = "\
- ini_set:
    path: /etc/nova/nova.conf
    settings:
      DEFAULT:
        transport_url: \"rabbit://openstack:{{ rabbit_password }}@ctl:5672/\"
        my_ip: \"{{ ansible_default_ipv4.address }}\"
      api_database:
        connection: \"mysql+pymysql://nova:{{ nova_db_password }}@ctl/nova_api\"
      filter_scheduler:
        enabled_filters: [ComputeFilter, ImagePropertiesFilter]   # one line each
      wsgi:
        api_paste_config: null                                    # removed

- ini_set:
    dest: /etc/glance/glance-api.conf
    section: glance_store
    option: stores
    value: file,http";

impl Module for IniSetModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: IniSetParams = parse_params(args)?;
        let edits = match &p.settings {
            Some(settings) => settings_edits(&p, settings)?,
            None => vec![single_edit(&p)?],
        };
        // Catch bad names now rather than on the host.
        apply_all(&mut IniDoc::default(), &edits, &set_options(&p))
            .map_err(|e| ModuleError::Params(e.to_string()))?;
        Ok(Box::new(IniSetAction { p, edits }))
    }
}

fn set_options(p: &IniSetParams) -> SetOptions {
    SetOptions {
        exclusive: p.exclusive,
        no_extra_spaces: p.no_extra_spaces,
        modify_inactive: p.modify_inactive_option,
    }
}

/// A scalar as the text written to the file.
fn value_text(v: &Value, what: &str) -> Result<String, ModuleError> {
    crate::value::scalar_to_string(v).ok_or_else(|| {
        ModuleError::Params(format!(
            "{what} must be a string, number or boolean, found {}",
            crate::value::describe(v)
        ))
    })
}

fn single_edit(p: &IniSetParams) -> Result<Edit, ModuleError> {
    if p.value.is_some() && p.values.is_some() {
        return Err(ModuleError::Params(
            "give `value` or `values`, not both".into(),
        ));
    }
    let listed: Option<Vec<String>> = match (&p.value, &p.values) {
        (Some(v), _) if !v.is_null() => Some(vec![value_text(v, "`value`")?]),
        (_, Some(vs)) => Some(
            vs.iter()
                .map(|v| value_text(v, "each of `values`"))
                .collect::<Result<_, _>>()?,
        ),
        _ => None,
    };
    let section = p.section.clone();
    let Some(option) = p.option.clone() else {
        if listed.is_some() {
            return Err(ModuleError::Params(
                "`value` and `values` need an `option`".into(),
            ));
        }
        let name = section.ok_or_else(|| {
            ModuleError::Params("give an `option`, a `section`, or `settings`".into())
        })?;
        return Ok(match p.state {
            IniState::Present => Edit::EnsureSection(name),
            IniState::Absent => Edit::RemoveSection(name),
        });
    };
    Ok(match p.state {
        IniState::Present => {
            let values = match listed {
                Some(vs) => vs.into_iter().map(Some).collect(),
                None if p.allow_no_value => vec![None],
                None => {
                    return Err(ModuleError::Params(format!(
                        "option `{option}` needs a `value` (or `values`) when state=present\n\
                         hint: set allow_no_value: true to write a bare `{option}` line"
                    )));
                }
            };
            Edit::Set {
                section,
                option,
                values,
            }
        }
        IniState::Absent => Edit::Remove {
            section,
            option,
            values: if p.exclusive { None } else { listed },
        },
    })
}

fn settings_edits(
    p: &IniSetParams,
    settings: &Map<String, Value>,
) -> Result<Vec<Edit>, ModuleError> {
    if p.option.is_some() || p.section.is_some() || p.value.is_some() || p.values.is_some() {
        return Err(ModuleError::Params(
            "`settings` cannot be combined with `section`, `option`, `value` or `values`".into(),
        ));
    }
    if p.state == IniState::Absent {
        return Err(ModuleError::Params(
            "`settings` takes state=present only\nhint: give an option the value null to remove it"
                .into(),
        ));
    }
    let mut edits = Vec::new();
    for (name, options) in settings {
        let section = (!name.is_empty()).then(|| name.clone());
        let Value::Object(options) = options else {
            return Err(ModuleError::Params(format!(
                "settings: section `{name}` must be a mapping of options, found {}",
                crate::value::describe(options)
            )));
        };
        if options.is_empty() {
            if let Some(s) = &section {
                edits.push(Edit::EnsureSection(s.clone()));
            }
            continue;
        }
        for (option, value) in options {
            let what = format!("settings: [{name}] {option}");
            edits.push(match value {
                Value::Null => Edit::Remove {
                    section: section.clone(),
                    option: option.clone(),
                    values: None,
                },
                Value::Array(items) => Edit::Set {
                    section: section.clone(),
                    option: option.clone(),
                    values: items
                        .iter()
                        .map(|v| value_text(v, &what).map(Some))
                        .collect::<Result<_, _>>()?,
                },
                v => Edit::Set {
                    section: section.clone(),
                    option: option.clone(),
                    values: vec![Some(value_text(v, &what)?)],
                },
            });
        }
    }
    Ok(edits)
}

/// Applies the edits in order; returns the indices of those that changed
/// the text.
fn apply_all(doc: &mut IniDoc, edits: &[Edit], opts: &SetOptions) -> Result<Vec<usize>, IniError> {
    let mut changed = Vec::new();
    for (n, edit) in edits.iter().enumerate() {
        let did = match edit {
            Edit::Set {
                section,
                option,
                values,
            } => {
                let vals: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
                doc.set_values(section.as_deref(), option, &vals, opts)?
            }
            Edit::Remove {
                section,
                option,
                values: None,
            } => doc.remove(section.as_deref(), option),
            Edit::Remove {
                section,
                option,
                values: Some(vs),
            } => {
                let vals: Vec<&str> = vs.iter().map(String::as_str).collect();
                doc.remove_values(section.as_deref(), option, &vals)
            }
            Edit::EnsureSection(s) => doc.ensure_section(s)?,
            Edit::RemoveSection(s) => doc.remove_section(s),
        };
        if did {
            changed.push(n);
        }
    }
    Ok(changed)
}

/// What the query found, for the apply to write.
struct Plan {
    /// The real file (a symbolic link resolved).
    path: String,
    existed: bool,
    /// The new content, or `None` when only the attributes differ.
    text: Option<String>,
    changed: Vec<String>,
    /// The existing file's mode and owner, which it keeps unless the task
    /// sets them: handing them over spares the write a stat.
    current: Option<FileAttrs>,
}

struct IniSetAction {
    p: IniSetParams,
    edits: Vec<Edit>,
}

#[async_trait]
impl Action for IniSetAction {
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        self.remember_secrets(ctx);
        let (path, current) = self.real_path(ctx).await?;
        let become_ = ctx.become_.as_ref();
        let old = ctx.conn.read_file(&path, become_).await?;
        let existed = old.is_some();
        let old = match old {
            Some(bytes) => String::from_utf8(bytes).map_err(|_| {
                ModuleError::failed(format!("{path} is not UTF-8 text; refusing to edit it"))
            })?,
            None => String::new(),
        };
        let mut doc = IniDoc::parse(&old);
        let changed_edits = apply_all(&mut doc, &self.edits, &set_options(&self.p))
            .map_err(|e| ModuleError::Params(e.to_string()))?;
        let new = doc.render();
        // An absent option of a missing file is already absent.
        let text_changes = new != old && (existed || !new.is_empty());
        if !existed && text_changes && !self.p.create {
            return Err(ModuleError::failed(format!(
                "{path} does not exist\nhint: set create: true to create it"
            )));
        }
        let attrs_change = existed && self.attrs_differ(ctx, &path).await?;
        if !text_changes && !attrs_change {
            return Ok(Query::Unchanged(
                Outcome::ok()
                    .with_msg("OK")
                    .with("path", path)
                    .with("changed_options", Vec::<String>::new()),
            ));
        }
        let changed: Vec<String> = changed_edits
            .iter()
            .map(|n| self.edits[*n].label())
            .collect();
        let mut change = Change::new()
            .with_msg(summary(&changed, !text_changes))
            .with("path", path.clone())
            .with("changed_options", changed.clone());
        if text_changes {
            change = change.with_diff(self.diff(ctx, &path, &old, &new, &changed_edits));
        }
        let plan = Plan {
            path,
            existed,
            text: text_changes.then_some(new),
            changed,
            current,
        };
        Ok(Query::Change(change, Planned::boxed(*self, plan)))
    }
}

#[async_trait]
impl ApplyPlan for IniSetAction {
    type Plan = Plan;

    async fn apply_plan(self, plan: Plan, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let become_ = ctx.become_.as_ref();
        let mut outcome = Outcome::changed()
            .with_msg(summary(&plan.changed, plan.text.is_none()))
            .with("path", plan.path.clone())
            .with("changed_options", plan.changed.clone());
        if self.p.backup && plan.existed {
            outcome = outcome.with("backup_file", backup(ctx, &plan.path).await?);
        }
        if !plan.existed {
            let dir = std::path::Path::new(&plan.path)
                .parent()
                .map(|d| d.to_string_lossy().into_owned());
            if let Some(dir) = dir.filter(|d| !d.is_empty()) {
                let out = ctx.exec(format!("mkdir -p {}", shell_quote(&dir))).await?;
                if out.rc != 0 {
                    return Err(ModuleError::failed(format!(
                        "cannot create {dir}: {}",
                        out.stderr.trim()
                    )));
                }
            }
        }
        let attrs = self.write_attrs(&plan);
        let data = match plan.text {
            Some(text) => text.into_bytes(),
            // Only mode/owner/group differ: rewrite the same bytes with them.
            None => ctx
                .conn
                .read_file(&plan.path, become_)
                .await?
                .unwrap_or_default(),
        };
        ctx.conn
            .write_file(&plan.path, &data, &attrs, become_)
            .await?;
        Ok(outcome)
    }
}

impl IniSetAction {
    /// The task's attributes, completed with the file's current ones.
    fn write_attrs(&self, plan: &Plan) -> FileAttrs {
        let mut attrs = self.p.file_attrs();
        if let Some(cur) = &plan.current {
            attrs.mode = attrs.mode.or(cur.mode);
            attrs.owner = attrs.owner.or_else(|| cur.owner.clone());
            attrs.group = attrs.group.or_else(|| cur.group.clone());
        }
        attrs
    }

    /// Values written to secret-named options join the run's secrets, so
    /// no output (a failed command's stderr, say) shows them later.
    fn remember_secrets(&self, ctx: &ModuleCtx<'_>) {
        for edit in &self.edits {
            if let Edit::Set { option, values, .. } = edit {
                if is_secret_option(option) {
                    values
                        .iter()
                        .flatten()
                        .for_each(|v| ctx.services.redactor.add(v));
                }
            }
        }
    }

    /// The path to read and write: a symbolic link is followed, so the
    /// atomic write replaces the target and not the link.
    /// The file to edit (a symbolic link resolved) and, when the path is
    /// the file itself, its numeric mode and owner.
    async fn real_path(
        &self,
        ctx: &ModuleCtx<'_>,
    ) -> Result<(String, Option<FileAttrs>), ModuleError> {
        let st = ctx.conn.stat(&self.p.path, ctx.become_.as_ref()).await?;
        match st {
            Some(st) if st.kind == FileKind::Symlink => {
                let out = ctx
                    .exec(format!("readlink -f {}", shell_quote(&self.p.path)))
                    .await?;
                let target = out.stdout.trim();
                if out.rc != 0 || target.is_empty() {
                    return Err(ModuleError::failed(format!(
                        "cannot resolve the link {}",
                        self.p.path
                    )));
                }
                Ok((target.to_string(), None))
            }
            Some(st) if st.kind != FileKind::File => Err(ModuleError::failed(format!(
                "{} exists and is not a regular file",
                self.p.path
            ))),
            Some(st) => {
                let current = FileAttrs {
                    mode: Some(st.mode),
                    owner: Some(st.uid.to_string()),
                    group: Some(st.gid.to_string()),
                };
                Ok((self.p.path.clone(), Some(current)))
            }
            None => Ok((self.p.path.clone(), None)),
        }
    }

    /// Whether the requested mode, owner or group differ from the file's.
    async fn attrs_differ(&self, ctx: &ModuleCtx<'_>, path: &str) -> Result<bool, ModuleError> {
        if self.p.mode.is_none() && self.p.owner.is_none() && self.p.group.is_none() {
            return Ok(false);
        }
        let out = ctx
            .exec(format!("stat -c '%a %u %g %U %G' {}", shell_quote(path)))
            .await?;
        let f: Vec<&str> = out.stdout.split_whitespace().collect();
        if out.rc != 0 || f.len() != 5 {
            return Err(ModuleError::failed(format!(
                "cannot stat {path}: {}",
                out.stderr.trim()
            )));
        }
        let mode_differs = self
            .p
            .mode
            .is_some_and(|m| u32::from_str_radix(f[0], 8).ok() != Some(m));
        let owner_differs = self
            .p
            .owner
            .as_deref()
            .is_some_and(|o| o != f[1] && o != f[3]);
        let group_differs = self
            .p
            .group
            .as_deref()
            .is_some_and(|g| g != f[2] && g != f[4]);
        Ok(mode_differs || owner_differs || group_differs)
    }

    fn diff(
        &self,
        ctx: &ModuleCtx<'_>,
        path: &str,
        old: &str,
        new: &str,
        changed: &[usize],
    ) -> Diff {
        let redactor = &ctx.services.redactor;
        let secret: Vec<String> = changed
            .iter()
            .map(|n| &self.edits[*n])
            .filter(|e| e.is_secret())
            .map(Edit::label)
            .collect();
        let header = if secret.is_empty() {
            path.to_string()
        } else {
            format!(
                "{path} (changed secret values are hidden: {})",
                secret.join(", ")
            )
        };
        Diff {
            header,
            before: redactor.scrub(&mask_secrets(old)),
            after: redactor.scrub(&mask_secrets(new)),
        }
    }
}

fn summary(changed: &[String], attrs_only: bool) -> String {
    match changed.len() {
        _ if attrs_only => "file attributes changed".to_string(),
        0 => "file created".to_string(),
        1 => format!("{} changed", changed[0]),
        n => format!("{n} options changed"),
    }
}

/// Copies the file beside itself, as Ansible's `backup` names it.
async fn backup(ctx: &ModuleCtx<'_>, path: &str) -> Result<String, ModuleError> {
    let q = shell_quote(path);
    let cmd =
        format!("b={q}.$$.$(date +%Y-%m-%d@%H:%M:%S)~ && cp -p {q} \"$b\" && printf %s \"$b\"");
    let out = ctx.exec(cmd).await?;
    if out.rc != 0 {
        return Err(ModuleError::failed(format!(
            "backup of {path} failed: {}",
            out.stderr.trim()
        )));
    }
    Ok(out.stdout)
}

#[cfg(test)]
#[path = "ini_set_tests.rs"]
mod tests;
