//! The integration-test harness: a fluent builder that writes a playbook,
//! an inventory and files into a temporary directory, runs the real
//! `oplay` binary there, and hands back what it printed.

#![allow(dead_code)]

pub mod fixture;
pub mod sshd;
pub mod terminal;
pub mod watch;

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
    playbook: bool,
    inventory: bool,
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts the exit code, showing the output when it differs.
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn stdout_lacks(&self, text: &str) -> &Self {
        assert!(
            !self.stdout.contains(text),
            "stdout has {text:?}\n--- stdout\n{}",
            self.stdout
        );
        self
    }

    pub fn stderr_is(&self, expected: &str) -> &Self {
        assert_eq!(self.stderr, expected, "\n--- stdout\n{}", self.stdout);
        self
    }

    /// Asserts exit 0 and a localhost recap with `changed` changes and no
    /// failure.
    pub fn ok_changed(&self, changed: usize) -> &Self {
        self.code(0);
        let recap = self.recap("localhost");
        assert!(
            recap.contains(&format!("changed={changed} ")) && recap.contains("failed=0"),
            "recap: {recap}\n{}\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The recap line of a host, e.g. `ok=3    changed=1 ...`.
    pub fn recap(&self, host: &str) -> String {
        self.stdout
            .lines()
            .rev()
            .find(|l| l.split_whitespace().next() == Some(host) && l.contains(" : ok="))
            .map(|l| {
                l.split(" : ")
                    .nth(1)
                    .unwrap_or("")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }
}

/// [`Output::ok_changed`] as a function, for call sites that build the
/// output inline.
pub fn assert_ok(out: &Output, changed: usize) {
    out.ok_changed(changed);
}

impl Test {
    pub fn new() -> Self {
        Test {
            dir: tempfile::tempdir().expect("tempdir"),
            args: Vec::new(),
            env: Vec::new(),
            playbook: false,
            inventory: false,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `{dir}` in any text written is replaced by the test's directory.
    fn expand(&self, text: &str) -> String {
        text.replace("{dir}", &self.dir.path().display().to_string())
    }

    /// Writes a file relative to the test directory.
    pub fn file(self, rel: &str, content: &str) -> Self {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, self.expand(content)).expect("write");
        self
    }

    /// The playbook, written as `site.yml`.
    pub fn playbook(mut self, yaml: &str) -> Self {
        self.playbook = true;
        self.file("site.yml", yaml)
    }

    /// The inventory, written as `hosts` (INI or YAML).
    pub fn inventory(mut self, text: &str) -> Self {
        self.inventory = true;
        self.file("hosts", text)
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(self.expand(a));
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        for a in args {
            self.args.push(self.expand(a));
        }
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Runs `oplay run site.yml -i hosts ARGS...` (or just `oplay ARGS...`
    /// when no playbook was given).
    pub fn run(&self) -> Output {
        self.run_with(&[])
    }

    /// Runs with more arguments after the builder's own.
    pub fn run_with(&self, extra: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oplay"));
        cmd.current_dir(self.dir.path()).env("NO_COLOR", "1");
        if self.playbook {
            cmd.arg("run").arg("site.yml");
            if self.inventory {
                cmd.arg("-i").arg("hosts");
            }
        }
        cmd.args(&self.args);
        cmd.args(extra);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run oplay");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
