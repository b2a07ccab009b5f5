//! Vault passwords: where they come from (`--vault-id [label@]source`,
//! `--vault-password-file`, `--ask-vault-pass`, the environment) and which
//! one opens a given vault, as ansible-core finds them.
//!
//! A source is a file whose content, stripped of surrounding white space,
//! is the password; an executable file, run with no arguments, whose
//! standard output less its line breaks is the password (a name ending in
//! `-client` is also given `--vault-id LABEL`); or `prompt`, asked on the
//! terminal without echo.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{VaultError, decrypt, parse_envelope};

/// The label of a password given without one.
pub const DEFAULT_ID: &str = "default";

/// Why no password could be had from a source.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file does not exist, is a folder or cannot be read.
    #[error("the vault password file {0} {1}")]
    File(PathBuf, String),
    /// The password script failed or could not be run.
    #[error("the vault password script {0} {1}")]
    Script(PathBuf, String),
    /// The question could not be asked or answered.
    #[error("could not ask for the vault password: {0}")]
    Prompt(String),
    /// The source gave an empty password.
    #[error("the vault password from {0} is empty")]
    Empty(String),
}

/// One password and the vault id it is for.
pub struct VaultSecret {
    /// The vault id (`default` when none was given).
    pub label: String,
    password: Vec<u8>,
}

impl std::fmt::Debug for VaultSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultSecret({}, ********)", self.label)
    }
}

impl VaultSecret {
    /// A password given directly.
    pub fn new(label: &str, password: impl Into<Vec<u8>>) -> VaultSecret {
        VaultSecret {
            label: label.to_string(),
            password: password.into(),
        }
    }

    /// The password's bytes.
    pub fn password(&self) -> &[u8] {
        &self.password
    }
}

/// All the passwords of a run, in the order they were given.
#[derive(Debug, Default)]
pub struct VaultSecrets {
    secrets: Vec<VaultSecret>,
}

/// Asks a question on the terminal without echo.
pub type Ask<'a> = &'a dyn Fn(&str) -> Result<String, String>;

impl VaultSecrets {
    /// No passwords.
    pub fn none() -> VaultSecrets {
        VaultSecrets::default()
    }

    /// Whether no password was given.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The labels of the passwords, in order.
    pub fn labels(&self) -> Vec<&str> {
        self.secrets.iter().map(|s| s.label.as_str()).collect()
    }

    /// Adds one password.
    pub fn push(&mut self, secret: VaultSecret) {
        self.secrets.push(secret);
    }

    /// Reads every `--vault-id` (`label@source` or `source`), then every
    /// password file, then asks once when `ask` is set and nothing was
    /// given or asked yet.
    pub fn load(
        ids: &[String],
        files: &[PathBuf],
        ask_pass: bool,
        ask: Ask<'_>,
    ) -> Result<VaultSecrets, SecretError> {
        let mut all = VaultSecrets::none();
        for id in ids {
            let (label, source) = match id.split_once('@') {
                Some((label, source)) => (label, source),
                None => (DEFAULT_ID, id.as_str()),
            };
            all.push(read_source(label, source, ask)?);
        }
        for file in files {
            all.push(read_file(DEFAULT_ID, file)?);
        }
        let asked = ids.iter().any(|i| i.ends_with("prompt"));
        if ask_pass && !asked {
            all.push(read_source(DEFAULT_ID, "prompt", ask)?);
        }
        Ok(all)
    }

    /// Decrypts vaulted data: the passwords whose label is the vault's id
    /// are tried first, then the others, as ansible-core does by default.
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, VaultError> {
        self.decrypt_with(data).map(|(plain, _)| plain)
    }

    /// [`VaultSecrets::decrypt`], also saying which password opened it.
    pub fn decrypt_with(&self, data: &[u8]) -> Result<(Vec<u8>, &VaultSecret), VaultError> {
        let envelope = parse_envelope(data)?;
        let label = envelope.label.as_deref().unwrap_or(DEFAULT_ID);
        let (first, rest): (Vec<_>, Vec<_>) = self.secrets.iter().partition(|s| s.label == label);
        let mut last = VaultError::Mismatch;
        for secret in first.into_iter().chain(rest) {
            match decrypt(data, &secret.password) {
                Ok(plain) => return Ok((plain, secret)),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The password to encrypt with: the one labelled `label`, else the
    /// first.
    pub fn for_encrypt(&self, label: Option<&str>) -> Option<&VaultSecret> {
        match label {
            Some(l) => self.secrets.iter().find(|s| s.label == l),
            None => self.secrets.first(),
        }
    }
}

fn read_source(label: &str, source: &str, ask: Ask<'_>) -> Result<VaultSecret, SecretError> {
    if source != "prompt" {
        return read_file(label, Path::new(source));
    }
    let question = if label == DEFAULT_ID {
        "Vault password: ".to_string()
    } else {
        format!("Vault password ({label}): ")
    };
    let answer = ask(&question).map_err(SecretError::Prompt)?;
    if answer.is_empty() {
        return Err(SecretError::Empty("the prompt".into()));
    }
    Ok(VaultSecret::new(label, answer.into_bytes()))
}

fn read_file(label: &str, path: &Path) -> Result<VaultSecret, SecretError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| SecretError::File(path.to_path_buf(), format!("cannot be read: {e}")))?;
    if meta.is_dir() {
        return Err(SecretError::File(path.to_path_buf(), "is a folder".into()));
    }
    use std::os::unix::fs::PermissionsExt;
    let password = if meta.permissions().mode() & 0o111 != 0 {
        run_script(label, path)?
    } else {
        let text = std::fs::read(path)
            .map_err(|e| SecretError::File(path.to_path_buf(), format!("cannot be read: {e}")))?;
        text.trim_ascii().to_vec()
    };
    if password.is_empty() {
        return Err(SecretError::Empty(path.display().to_string()));
    }
    Ok(VaultSecret::new(label, password))
}

fn run_script(label: &str, path: &Path) -> Result<Vec<u8>, SecretError> {
    let mut cmd = Command::new(path);
    let client = path
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s.ends_with("-client"));
    if client {
        cmd.args(["--vault-id", label]);
    }
    let out = cmd
        .stdin(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| SecretError::Script(path.to_path_buf(), format!("could not be run: {e}")))?;
    if !out.status.success() {
        return Err(SecretError::Script(
            path.to_path_buf(),
            format!(
                "failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    let stdout = out.stdout;
    let start = stdout
        .iter()
        .position(|b| !b"\r\n".contains(b))
        .unwrap_or(stdout.len());
    let end = stdout
        .iter()
        .rposition(|b| !b"\r\n".contains(b))
        .map_or(start, |e| e + 1);
    Ok(stdout[start..end].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn no_prompt(_: &str) -> Result<String, String> {
        Err("no terminal".into())
    }

    #[test]
    fn files_scripts_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "  secret-pw \n").unwrap();
        let script = dir.path().join("pw.sh");
        std::fs::write(&script, "#!/bin/sh\nprintf 'other-pw\\r\\n'\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        let client = dir.path().join("pw-client.sh");
        std::fs::write(&client, "#!/bin/sh\necho \"pw-$2\"\n").unwrap();
        std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o700)).unwrap();
        let ids = vec![
            format!("dev@{}", script.display()),
            format!("prod@{}", client.display()),
        ];
        let all = VaultSecrets::load(&ids, &[file], false, &no_prompt).unwrap();
        let got: Vec<(&str, &[u8])> = all
            .secrets
            .iter()
            .map(|s| (s.label.as_str(), s.password()))
            .collect();
        assert_eq!(
            got,
            [
                ("dev", &b"other-pw"[..]),
                ("prod", b"pw-prod"),
                ("default", b"secret-pw")
            ]
        );
        assert_eq!(
            all.for_encrypt(Some("prod")).unwrap().password(),
            b"pw-prod"
        );
        assert_eq!(all.for_encrypt(None).unwrap().label, "dev");
        let vaulted = super::super::encrypt(b"x", b"secret-pw", Some("prod"));
        assert_eq!(all.decrypt(vaulted.as_bytes()).unwrap(), b"x");
    }

    #[test]
    fn bad_sources_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = VaultSecrets::load(&[], &[missing], false, &no_prompt).unwrap_err();
        assert!(e.to_string().contains("cannot be read"), "{e}");
        let e = VaultSecrets::load(&["prompt".into()], &[], false, &no_prompt).unwrap_err();
        assert_eq!(
            e.to_string(),
            "could not ask for the vault password: no terminal"
        );
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let e = VaultSecrets::load(&[], &[empty], false, &no_prompt).unwrap_err();
        assert!(e.to_string().ends_with("is empty"), "{e}");
    }
}
