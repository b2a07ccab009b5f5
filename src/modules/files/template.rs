//! `template`: render a Jinja2 template from the control node and put the
//! result on the host, through the same compare-then-write path as `copy`.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::common::base_name;
use super::copy::find_local;
use super::params::file_params;
use super::write::{ContentWrite, Source};
use crate::modules::{Action, Module, ModuleCtx, ModuleError, ModuleSpec, Query, parse_params};

file_params! {
    /// Renders a Jinja2 template to a file on the host.
    ///
    /// `src` is looked up on the control node in the `templates/` folders of
    /// the role and playbook. The template sees the task's variables plus
    /// `template_path`, `template_fullpath`, `template_host`, `template_uid`,
    /// `template_run_date` and `ansible_managed` (`Ansible managed` unless set).
    /// An unchanged result is not rewritten; when only `mode`, `owner` or
    /// `group` differ they are changed in place. Options of Ansible's template
    /// engine (`trim_blocks`, `newline_sequence`, ...) are not supported.
    pub struct TemplateParams with backup, force {
        /// The template on the control node.
        pub src: String,
        /// Where to put the rendered file on the host.
        pub dest: String,
        /// A command that checks the new file before it replaces `dest`; `%s`
        /// is the file's temporary path.
        #[serde(default)]
        pub validate: Option<String>,
    }
}

/// The `template` module.
pub struct TemplateModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![Arc::new(TemplateModule {
        spec: ModuleSpec::native::<TemplateParams>("template").with_examples(
            "- template:\n    src: keystone.conf.j2\n    dest: /etc/keystone/keystone.conf\n    owner: root\n    group: keystone\n    mode: '0640'\n  notify: restart keystone",
        ),
    })]
}

impl Module for TemplateModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: TemplateParams = parse_params(args)?;
        Ok(Box::new(TemplateAction { p }))
    }
}

struct TemplateAction {
    p: TemplateParams,
}

impl TemplateAction {
    fn render(&self, ctx: &ModuleCtx<'_>) -> Result<(String, String), ModuleError> {
        let path = find_local(ctx, &self.p.src, "templates")?;
        let full = path.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ModuleError::failed(format!("could not read template {full}: {e}")))?;
        let uid = std::fs::metadata(&path)
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap_or(0);
        let extras = minijinja::context! {
            ansible_managed => "Ansible managed",
            template_path => self.p.src.clone(),
            template_fullpath => full.clone(),
            template_host => ctx.host,
            template_uid => uid.to_string(),
            template_run_date => run_date(),
        };
        // The task's variables win over these defaults (`ansible_managed`).
        let vars = minijinja::value::merge_maps([ctx.vars.clone(), extras]);
        let rendered = ctx
            .templar
            .render_str(&text, &vars)
            .map_err(|e| ModuleError::failed(format!("error rendering template {full}: {e}")))?;
        Ok((rendered, full))
    }
}

/// The local time, as Ansible's `template_run_date` prints it.
fn run_date() -> String {
    std::process::Command::new("date")
        .arg("+%Y-%m-%d %H:%M:%S")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[async_trait]
impl Action for TemplateAction {
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let (text, full) = self.render(ctx)?;
        let attrs = self.p.file_attrs();
        let mut write = ContentWrite::new(&self.p.dest, Source::Bytes(text.into_bytes()), attrs);
        write.dir_name = Some(base_name(&self.p.src).to_string());
        write.backup = self.p.backup;
        write.force = self.p.force;
        write.validate = self.p.validate.clone();
        write.src = Some(full);
        write.query(ctx).await
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use serde_json::json;

    use crate::modules::testing::TestHost;

    fn setup(template: &str) -> (tempfile::TempDir, TestHost) {
        let play = tempfile::tempdir().unwrap();
        std::fs::create_dir(play.path().join("templates")).unwrap();
        std::fs::write(play.path().join("templates/app.conf.j2"), template).unwrap();
        let mut host = TestHost::with_vars(json!({"port": 5000, "names": ["a", "b"]}));
        host.search_paths = vec![play.path().to_path_buf()];
        (play, host)
    }

    #[tokio::test]
    async fn renders_then_stays_unchanged() {
        let (_play, host) = setup(
            "# {{ ansible_managed }}\nport={{ port }}\n{% for n in names %}{{ n }}\n{% endfor %}",
        );
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("app.conf");
        let args = json!({"src": "app.conf.j2", "dest": dest, "mode": "0600"});
        let out = host.run("template", args.clone()).await.unwrap();
        assert!(out.changed);
        let want = "# Ansible managed\nport=5000\na\nb\n";
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), want);
        assert_eq!(out.diffs[0].after, want);
        assert_eq!(out.data["mode"], json!("0600"));
        let m = std::fs::metadata(&dest).unwrap();
        let again = host.run("template", args).await.unwrap();
        assert!(!again.changed);
        let m2 = std::fs::metadata(&dest).unwrap();
        assert_eq!((m.mtime_nsec(), m.ino()), (m2.mtime_nsec(), m2.ino()));
    }

    #[tokio::test]
    async fn check_mode_shows_the_change_only() {
        let (_play, mut host) = setup("port={{ port }}\n");
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("app.conf");
        std::fs::write(&dest, "port=4000\n").unwrap();
        let before = std::fs::metadata(&dest).unwrap().mtime_nsec();
        host.check = true;
        let out = host
            .run("template", json!({"src": "app.conf.j2", "dest": dest}))
            .await
            .unwrap();
        assert!(out.changed);
        assert_eq!(
            (out.diffs[0].before.as_str(), out.diffs[0].after.as_str()),
            ("port=4000\n", "port=5000\n")
        );
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "port=4000\n");
        assert_eq!(std::fs::metadata(&dest).unwrap().mtime_nsec(), before);
    }

    #[tokio::test]
    async fn template_variables_and_dir_dest() {
        let (_play, host) = setup("{{ template_path }} {{ template_host }}\n");
        let dir = tempfile::tempdir().unwrap();
        let out = host
            .run(
                "template",
                json!({"src": "app.conf.j2", "dest": dir.path()}),
            )
            .await
            .unwrap();
        assert!(out.changed);
        let text = std::fs::read_to_string(dir.path().join("app.conf.j2")).unwrap();
        assert_eq!(text, "app.conf.j2 testhost\n");
    }

    #[tokio::test]
    async fn undefined_variable_and_missing_template_fail() {
        let (play, host) = setup("{{ nope }}\n");
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x");
        let err = host
            .run("template", json!({"src": "app.conf.j2", "dest": dest}))
            .await
            .unwrap_err();
        let full = play.path().join("templates/app.conf.j2");
        assert!(
            err.to_string()
                .starts_with(&format!("error rendering template {}: ", full.display())),
            "{err}"
        );
        assert!(err.to_string().contains("nope"), "{err}");
        assert!(!dest.exists());
        let err = host
            .run("template", json!({"src": "other.j2", "dest": dest}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "could not find or access 'other.j2' on the control node (searched: {0}/templates/other.j2, {0}/other.j2)",
                play.path().display()
            )
        );
    }
}
