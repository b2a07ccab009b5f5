//! `oplay vault`: `create`, `encrypt`, `decrypt`, `view`, `edit`, `rekey`
//! and `encrypt_string`, as `ansible-vault` has them, on the same files.
//!
//! Every file is written whole or not at all: the new content goes to a
//! temporary file of mode 0600 beside the target, which is then renamed over
//! it. `edit` and `create` hand the plaintext to `$EDITOR` in a private
//! folder (mode 0700) that is removed whatever the editor does.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use crate::cli::{
    VaultAction, VaultArgs, VaultFile, VaultFiles, VaultRekey, VaultSecretArgs, VaultString,
};
use crate::error::Error;
use crate::executor::{Answer, Prompter, Question};
use crate::vault::secrets::VaultSecrets;
use crate::vault::{self, ToolError};

use super::prompt::TerminalPrompter;

fn io(path: &Path, e: impl std::fmt::Display) -> ToolError {
    ToolError::Io {
        path: shown(path),
        msg: e.to_string(),
    }
}

fn shown(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".into()
    } else {
        path.display().to_string()
    }
}

/// Runs one `oplay vault` verb.
pub fn run(args: VaultArgs) -> Result<(), Error> {
    Ok(act(args)?)
}

fn act(args: VaultArgs) -> Result<(), ToolError> {
    let encrypting = matches!(
        args.action,
        VaultAction::Create(_) | VaultAction::Encrypt(_) | VaultAction::EncryptString(_)
    );
    let secrets = load_secrets(&args.secrets, encrypting)?;
    match args.action {
        VaultAction::Create(f) => create(&f, &secrets),
        VaultAction::Encrypt(f) => each(&f, |data, path| {
            if vault::is_vaulted(&data) {
                return Err(ToolError::Usage(format!(
                    "{}: the input is already encrypted",
                    shown(path)
                )));
            }
            let secret = pick(&secrets, f.encrypt_vault_id.as_deref())?;
            Ok(vault::encrypt(&data, secret.password(), Some(&secret.label)).into_bytes())
        }),
        VaultAction::Decrypt(f) => each(&f, |data, path| open(&secrets, &data, path)),
        VaultAction::View(f) => view(&f, &secrets),
        VaultAction::Edit(f) => edit(&f, &secrets),
        VaultAction::Rekey(r) => rekey(&r, &secrets),
        VaultAction::EncryptString(s) => encrypt_string(&s, &secrets),
    }
}

/// The passwords of the command line, or of the environment when the
/// command line names none; asked on the terminal as a last resort.
fn load_secrets(args: &VaultSecretArgs, confirm: bool) -> Result<VaultSecrets, ToolError> {
    let mut ids = args.vault_id.clone();
    if let Ok(list) = std::env::var("ANSIBLE_VAULT_IDENTITY_LIST") {
        ids.extend(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
    }
    let mut files = args.vault_password_file.clone();
    if ids.is_empty() && files.is_empty() && !args.ask_vault_pass {
        let env = ["OPLAY_VAULT_PASSWORD_FILE", "ANSIBLE_VAULT_PASSWORD_FILE"]
            .iter()
            .find_map(|k| std::env::var_os(k).filter(|v| !v.is_empty()));
        files.extend(env.map(PathBuf::from));
    }
    let ask = |text: &str| -> Result<String, String> {
        let q = Question {
            name: "vault password".into(),
            text: text.to_string(),
            private: true,
            confirm,
        };
        match TerminalPrompter.ask(&q).map_err(|e| e.to_string())? {
            Answer::Typed(t) => Ok(t),
            Answer::NotInteractive => Err("standard input is not a terminal".into()),
        }
    };
    let none_given = ids.is_empty() && files.is_empty();
    let ask_pass = args.ask_vault_pass || (none_given && std::io::stdin().is_terminal());
    let secrets = VaultSecrets::load(&ids, &files, ask_pass, &ask)?;
    if secrets.is_empty() {
        return Err(ToolError::Usage(
            "no vault password was given: use --vault-password-file FILE, --vault-id [LABEL@]SOURCE, \
             --ask-vault-password, or set OPLAY_VAULT_PASSWORD_FILE"
                .into(),
        ));
    }
    Ok(secrets)
}

/// The password to encrypt with: the one labelled `label`; without a
/// label, the only one (ansible-vault asks to choose among several).
fn pick<'a>(
    secrets: &'a VaultSecrets,
    label: Option<&str>,
) -> Result<&'a vault::secrets::VaultSecret, ToolError> {
    if label.is_none() && secrets.labels().len() > 1 {
        return Err(ToolError::Usage(format!(
            "the vault ids {} can encrypt: choose one with --encrypt-vault-id",
            secrets.labels().join(", ")
        )));
    }
    secrets.for_encrypt(label).ok_or_else(|| {
        ToolError::Usage(format!(
            "no vault password has the vault id `{}`",
            label.unwrap_or_default()
        ))
    })
}

fn open(secrets: &VaultSecrets, data: &[u8], path: &Path) -> Result<Vec<u8>, ToolError> {
    secrets.decrypt(data).map_err(|source| ToolError::Vault {
        path: shown(path),
        source,
    })
}

/// Reads a file, or standard input for `-`.
fn read(path: &Path) -> Result<Vec<u8>, ToolError> {
    if path == Path::new("-") {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| io(path, e))?;
        return Ok(data);
    }
    std::fs::read(path).map_err(|e| io(path, e))
}

/// Writes `data` to `path` whole, mode 0600, through a temporary file in
/// the same folder; `-` is standard output.
fn write(path: &Path, data: &[u8]) -> Result<(), ToolError> {
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(data)
            .and_then(|()| out.flush())
            .map_err(|e| io(path, e));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".oplay-vault-")
        .tempfile_in(dir)
        .map_err(|e| io(path, e))?;
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io(path, e))?;
    tmp.persist(path).map_err(|e| io(path, e.error))?;
    Ok(())
}

/// Applies `f` to each file (standard input when none) and writes the
/// result in place or to `--output`.
fn each(
    files: &VaultFiles,
    f: impl Fn(Vec<u8>, &Path) -> Result<Vec<u8>, ToolError>,
) -> Result<(), ToolError> {
    let stdin = [PathBuf::from("-")];
    let inputs = if files.files.is_empty() {
        &stdin[..]
    } else {
        &files.files[..]
    };
    if files.output.is_some() && inputs.len() > 1 {
        return Err(ToolError::Usage("--output takes one input file".into()));
    }
    for path in inputs {
        let result = f(read(path)?, path)?;
        let target = files.output.as_deref().unwrap_or(path);
        write(target, &result)?;
    }
    Ok(())
}

fn view(files: &VaultFiles, secrets: &VaultSecrets) -> Result<(), ToolError> {
    let stdin = [PathBuf::from("-")];
    let inputs = if files.files.is_empty() {
        &stdin[..]
    } else {
        &files.files[..]
    };
    for path in inputs {
        let plain = open(secrets, &read(path)?, path)?;
        write(Path::new("-"), &plain)?;
    }
    Ok(())
}

fn create(f: &VaultFile, secrets: &VaultSecrets) -> Result<(), ToolError> {
    if f.file.exists() {
        return Err(ToolError::Usage(format!(
            "{} exists; use `oplay vault edit` to change it",
            f.file.display()
        )));
    }
    let secret = pick(secrets, f.encrypt_vault_id.as_deref())?;
    let plain = with_editor(&f.file, b"")?;
    write(
        &f.file,
        vault::encrypt(&plain, secret.password(), Some(&secret.label)).as_bytes(),
    )
}

fn edit(f: &VaultFile, secrets: &VaultSecrets) -> Result<(), ToolError> {
    let old = read(&f.file)?;
    let (plain, opener) = secrets
        .decrypt_with(&old)
        .map_err(|source| ToolError::Vault {
            path: shown(&f.file),
            source,
        })?;
    let edited = with_editor(&f.file, &plain)?;
    if edited == plain {
        return Ok(());
    }
    // Encrypted again with the password that opened it, as ansible-vault.
    let secret = match f.encrypt_vault_id.as_deref() {
        Some(label) => pick(secrets, Some(label))?,
        None => opener,
    };
    write(
        &f.file,
        vault::encrypt(&edited, secret.password(), Some(&secret.label)).as_bytes(),
    )
}

/// Lets `$EDITOR` (default `vi`) change `plain` in a private folder; the
/// folder and the plaintext are gone when this returns, on every path.
fn with_editor(target: &Path, plain: &[u8]) -> Result<Vec<u8>, ToolError> {
    let dir = tempfile::Builder::new()
        .prefix("oplay-vault-")
        .tempdir()
        .map_err(|e| io(target, e))?;
    let name = target
        .file_name()
        .map_or_else(|| "vault".into(), |n| n.to_os_string());
    let file = dir.path().join(name);
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)
            .map_err(|e| io(target, e))?;
        out.write_all(plain).map_err(|e| io(target, e))?;
    }
    let editor = std::env::var("EDITOR")
        .ok()
        .filter(|e| !e.trim().is_empty());
    let editor = editor.unwrap_or_else(|| "vi".into());
    // $EDITOR may hold arguments (`code -w`): the shell splits it, and the
    // file is passed as a positional parameter, never pasted into the text.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&file)
        .status()
        .map_err(|e| io(target, format!("could not run the editor `{editor}`: {e}")))?;
    if !status.success() {
        return Err(io(
            target,
            format!("the editor `{editor}` failed ({status}); nothing was changed"),
        ));
    }
    std::fs::read(&file).map_err(|e| io(target, e))
}

fn rekey(r: &VaultRekey, secrets: &VaultSecrets) -> Result<(), ToolError> {
    let ids: Vec<String> = r.new_vault_id.iter().cloned().collect();
    let files: Vec<PathBuf> = r.new_vault_password_file.iter().cloned().collect();
    if ids.is_empty() && files.is_empty() {
        return Err(ToolError::Usage(
            "rekey needs the new password: --new-vault-password-file FILE or --new-vault-id [LABEL@]SOURCE".into(),
        ));
    }
    let fresh = VaultSecrets::load(&ids, &files, false, &|_| {
        Err("no terminal question for the new password".into())
    })?;
    let secret = pick(&fresh, r.encrypt_vault_id.as_deref())?;
    // Every file is opened before any is written.
    let mut plains = Vec::new();
    for path in &r.files {
        plains.push(open(secrets, &read(path)?, path)?);
    }
    for (path, plain) in r.files.iter().zip(plains) {
        write(
            path,
            vault::encrypt(&plain, secret.password(), Some(&secret.label)).as_bytes(),
        )?;
    }
    Ok(())
}

fn encrypt_string(s: &VaultString, secrets: &VaultSecrets) -> Result<(), ToolError> {
    let secret = pick(secrets, s.encrypt_vault_id.as_deref())?;
    let mut items: Vec<(Option<&str>, Vec<u8>)> = Vec::new();
    if s.strings.is_empty() {
        let data = read(Path::new("-"))?;
        items.push((
            s.stdin_name
                .as_deref()
                .or(s.name.first().map(String::as_str)),
            data,
        ));
    } else {
        for (i, text) in s.strings.iter().enumerate() {
            items.push((s.name.get(i).map(String::as_str), text.clone().into_bytes()));
        }
    }
    let mut out = String::new();
    for (name, plain) in items {
        let text = vault::encrypt(&plain, secret.password(), Some(&secret.label));
        out.push_str(&inline(name, &text));
    }
    write(Path::new("-"), out.as_bytes())
}

/// An inline `!vault` value, indented as ansible-vault prints it.
fn inline(name: Option<&str>, vaulted: &str) -> String {
    let mut out = match name {
        Some(n) => format!("{n}: !vault |\n"),
        None => "!vault |\n".to_string(),
    };
    for line in vaulted.lines() {
        out.push_str("          ");
        out.push_str(line);
        out.push('\n');
    }
    out
}
