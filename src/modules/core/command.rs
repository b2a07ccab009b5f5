//! `command` and `shell`: run a command on the host.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::connection::{ExecRequest, shell_glob, shell_quote};
use crate::modules::{
    Action, Apply, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Query, parse_params,
};

/// Runs a command on the host, without a shell.
///
/// The command is given as `cmd` (split into words the way a shell would,
/// but with no pipes, redirections or variables) or as `argv`. With
/// `creates` or `removes` the command is skipped when that path already
/// exists (or is already absent), which makes it idempotent. A non-zero
/// exit code fails the task. In check mode the command does not run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandParams {
    /// The command line. The free form `command: ls -l` sets it.
    #[serde(default)]
    #[schemars(extend("x-aliases" = ["_raw_params"]))]
    pub cmd: Option<String>,
    /// The command as a list of words, each passed as one argument.
    #[serde(default)]
    pub argv: Option<Vec<String>>,
    /// Change into this directory first.
    #[serde(default)]
    pub chdir: Option<String>,
    /// Skip the command when this path exists.
    #[serde(default)]
    pub creates: Option<String>,
    /// Skip the command when this path does not exist.
    #[serde(default)]
    pub removes: Option<String>,
    /// Text passed to the command's standard input.
    #[serde(default)]
    pub stdin: Option<String>,
    /// Add a newline after `stdin` (default yes).
    #[serde(default = "yes", deserialize_with = "crate::value::de_bool")]
    pub stdin_add_newline: bool,
    /// Strip trailing newlines from stdout and stderr (default yes).
    #[serde(default = "yes", deserialize_with = "crate::value::de_bool")]
    pub strip_empty_ends: bool,
    /// shell only: the shell to run the command with.
    #[serde(default)]
    pub executable: Option<String>,
}

fn yes() -> bool {
    true
}

/// Whether the command line is run through a shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Command,
    Shell,
}

/// The `command` and `shell` modules.
pub struct CommandModule {
    spec: ModuleSpec,
    flavor: Flavor,
}

/// Both modules, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    let shell_doc = "Runs a command line through `/bin/sh`, with pipes, redirections and variables.\n\n\
        Takes the same parameters as `command`; `executable` picks another shell.";
    let mut shell = ModuleSpec::native::<CommandParams>("shell").with_free_form("cmd");
    shell.summary = shell_doc.lines().next().unwrap_or_default().to_string();
    shell.doc = shell_doc.to_string();
    vec![
        Arc::new(CommandModule {
            spec: ModuleSpec::native::<CommandParams>("command")
                .with_free_form("cmd")
                .with_examples("- command: nova-manage cell_v2 list_cells\n  register: cells\n  changed_when: false\n\n- command:\n    cmd: keystone-manage fernet_setup\n    creates: /etc/keystone/fernet-keys/0"),
            flavor: Flavor::Command,
        }),
        Arc::new(CommandModule {
            spec: shell,
            flavor: Flavor::Shell,
        }),
    ]
}

impl Module for CommandModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: CommandParams = parse_params(args)?;
        let line = match (&p.cmd, &p.argv) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::Params("give `cmd` or `argv`, not both".into()));
            }
            (None, None) => {
                return Err(ModuleError::Params(
                    "no command given: set `cmd` or `argv`".into(),
                ));
            }
            (Some(cmd), None) => match self.flavor {
                Flavor::Shell => cmd.clone(),
                Flavor::Command => split_words(cmd)
                    .ok_or_else(|| {
                        ModuleError::Params(format!("unbalanced quotes in command: {cmd}"))
                    })?
                    .iter()
                    .map(|w| shell_quote(w))
                    .collect::<Vec<_>>()
                    .join(" "),
            },
            (None, Some(argv)) => argv
                .iter()
                .map(|w| shell_quote(w))
                .collect::<Vec<_>>()
                .join(" "),
        };
        let line = match (&p.executable, self.flavor) {
            (Some(exe), Flavor::Shell) => format!("{} -c {}", shell_quote(exe), shell_quote(&line)),
            _ => line,
        };
        Ok(Box::new(CommandAction { p, line }))
    }
}

struct CommandAction {
    p: CommandParams,
    line: String,
}

#[async_trait]
impl Action for CommandAction {
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        if let Some(path) = &self.p.creates {
            if exists(ctx, path, self.p.chdir.as_deref()).await? {
                return Ok(Query::Unchanged(
                    Outcome::ok()
                        .with_msg(format!("skipped, since {path} exists"))
                        .with("rc", 0),
                ));
            }
            return Ok(Query::Change(crate::modules::Change::new(), self));
        }
        if let Some(path) = &self.p.removes {
            if !exists(ctx, path, self.p.chdir.as_deref()).await? {
                return Ok(Query::Unchanged(
                    Outcome::ok()
                        .with_msg(format!("skipped, since {path} does not exist"))
                        .with("rc", 0),
                ));
            }
            return Ok(Query::Change(crate::modules::Change::new(), self));
        }
        Ok(Query::Unknowable(self))
    }
}

#[async_trait]
impl Apply for CommandAction {
    async fn apply(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let stdin = self.p.stdin.as_ref().map(|s| {
            let mut s = s.clone();
            if self.p.stdin_add_newline {
                s.push('\n');
            }
            s.into_bytes()
        });
        let req = ExecRequest {
            cmd: self.line.clone(),
            stdin,
            chdir: self.p.chdir.clone(),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let out = ctx.exec_req(req).await?;
        let trim = |s: String| {
            if self.p.strip_empty_ends {
                s.trim_end_matches(['\n', '\r']).to_string()
            } else {
                s
            }
        };
        let (stdout, stderr) = (trim(out.stdout), trim(out.stderr));
        let mut outcome = Outcome::changed()
            .with("cmd", self.line.clone())
            .with("rc", out.rc)
            .with("stdout_lines", stdout.lines().collect::<Vec<_>>())
            .with("stderr_lines", stderr.lines().collect::<Vec<_>>())
            .with("stdout", stdout)
            .with("stderr", stderr)
            .with("delta", format!("{:.6}", started.elapsed().as_secs_f64()));
        if out.truncated {
            outcome.warnings.push(format!(
                "the command printed more than {} MiB on a stream: only its last {} MiB are kept",
                crate::connection::OUTPUT_MAX >> 20,
                crate::connection::OUTPUT_MAX >> 20
            ));
        }
        if out.rc != 0 {
            outcome.failed = true;
            outcome.msg = Some("non-zero return code".into());
        }
        Ok(outcome)
    }
}

async fn exists(ctx: &ModuleCtx<'_>, path: &str, chdir: Option<&str>) -> Result<bool, ModuleError> {
    let full = match chdir {
        Some(dir) if !path.starts_with('/') => format!("{}/{path}", dir.trim_end_matches('/')),
        _ => path.to_string(),
    };
    if full.contains(['*', '?', '[']) {
        let out = ctx
            .exec(format!(
                "for f in {}; do [ -e \"$f\" ] && exit 0; done; exit 1",
                shell_glob(&full)
            ))
            .await?;
        return Ok(out.rc == 0);
    }
    Ok(ctx.conn.stat(&full, ctx.become_.as_ref()).await?.is_some())
}

/// Splits a command line into words as a shell would (quotes and
/// backslashes), without expanding anything. `None` on unbalanced quotes.
pub fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        ch => cur.push(ch),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => cur.push(chars.next()?),
                        ch => cur.push(ch),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next()?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_words(r#"echo 'a b' "c \"d\"" e\ f"#).unwrap(),
            vec!["echo", "a b", "c \"d\"", "e f"]
        );
        assert!(split_words("echo 'open").is_none());
    }
}

#[cfg(test)]
mod run_tests {
    use crate::modules::testing::TestHost;
    use serde_json::json;

    #[tokio::test]
    async fn creates_makes_it_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("done");
        let m = marker.to_str().unwrap();
        let host = TestHost::new();
        let args = json!({"cmd": format!("touch {m}"), "creates": m});
        let first = host.run("command", args.clone()).await.unwrap();
        assert!(first.changed && !first.failed);
        let second = host.run("command", args).await.unwrap();
        assert!(!second.changed);
    }

    #[tokio::test]
    async fn check_mode_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("x");
        let mut host = TestHost::new();
        host.check = true;
        let out = host
            .run(
                "shell",
                json!({"cmd": format!("touch {}", marker.display())}),
            )
            .await
            .unwrap();
        assert!(out.skipped);
        assert!(!marker.exists());
    }

    #[tokio::test]
    async fn failing_command_fails_with_output() {
        let host = TestHost::new();
        let out = host
            .run("shell", json!({"cmd": "echo oops >&2; exit 3"}))
            .await
            .unwrap();
        assert!(out.failed);
        assert_eq!(out.data["rc"], json!(3));
        assert_eq!(out.data["stderr"], json!("oops"));
    }
}
