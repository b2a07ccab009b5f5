//! Host key verification against an OpenSSH known_hosts file.
//!
//! Matching (plain and hashed `|1|` entries, `[host]:port` for ports other
//! than 22) is russh's; this file adds what a user needs when the check
//! fails: which key the server offered, which file and line disagree, and
//! the command that fixes it. Not for learning new keys: oplay never writes
//! a known_hosts file.

use std::path::{Path, PathBuf};

use russh::keys::{Algorithm, HashAlg, PublicKey};

/// The outcome of checking a server's key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Known,
    /// Why the key is refused, ready to show the user.
    Refused(String),
}

/// The known_hosts entries of one `host:port`, read before connecting so the
/// key exchange can ask for a key type we can verify.
#[derive(Debug)]
pub(crate) struct KnownHosts {
    path: PathBuf,
    host: String,
    port: u16,
    /// `(line number in the file, key)`.
    entries: Vec<(usize, PublicKey)>,
}

impl KnownHosts {
    /// Reads the entries for `host:port`. A missing file has no entries.
    pub(crate) fn load(path: &Path, host: &str, port: u16) -> Result<KnownHosts, String> {
        let found = russh::keys::known_hosts::known_host_keys_path(host, port, path)
            .map_err(|e| format!("cannot read known_hosts file {}: {e}", path.display()))?;
        // russh numbers lines without counting comments; map back to the
        // line a user sees in an editor.
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let entries = found
            .into_iter()
            .map(|(logical, key)| (physical_line(&text, logical), key))
            .collect();
        Ok(KnownHosts {
            path: path.to_path_buf(),
            host: host.to_string(),
            port,
            entries,
        })
    }

    /// The host key algorithms to offer first: those we hold a key for, so a
    /// server with several host keys shows one we can check (as OpenSSH does).
    pub(crate) fn preferred_algorithms(&self, defaults: &[Algorithm]) -> Vec<Algorithm> {
        let known = |a: &Algorithm| {
            self.entries
                .iter()
                .any(|(_, k)| same_family(&k.algorithm(), a))
        };
        let mut algs: Vec<Algorithm> = defaults.iter().filter(|a| known(a)).cloned().collect();
        algs.extend(defaults.iter().filter(|a| !known(a)).cloned());
        algs
    }

    /// Checks the key the server offered.
    pub(crate) fn check(&self, offered: &PublicKey) -> Verdict {
        if self
            .entries
            .iter()
            .any(|(_, k)| k.key_data() == offered.key_data())
        {
            return Verdict::Known;
        }
        let pattern = host_pattern(&self.host, self.port);
        let file = self.path.display();
        let offered_desc = describe_key(offered);
        if let Some((line, _)) = self
            .entries
            .iter()
            .find(|(_, k)| same_family(&k.algorithm(), &offered.algorithm()))
        {
            return Verdict::Refused(format!(
                "the host key for {pattern} has changed: the server offered {offered_desc}, \
                 but {file}:{line} records a different {} key. This can mean someone is \
                 intercepting the connection, or that the host was reinstalled.\n\
                 hint: if the change is expected, remove the old entry with \
                 `ssh-keygen -R '{pattern}' -f {file}` and add the new one with \
                 `ssh-keyscan -p {} {} >> {file}`",
                offered.algorithm().as_str(),
                self.port,
                self.host
            ));
        }
        let others = if self.entries.is_empty() {
            String::new()
        } else {
            let types: Vec<String> = self
                .entries
                .iter()
                .map(|(l, k)| format!("{} at line {l}", k.algorithm().as_str()))
                .collect();
            format!(" (it holds keys of other types: {})", types.join(", "))
        };
        Verdict::Refused(format!(
            "{pattern} is not a known host: {file} has no {} key for it{others}; the server \
             offered {offered_desc}.\n\
             hint: after checking the fingerprint, add it with \
             `ssh-keyscan -p {} {} >> {file}`, or set host_key_checking = false \
             (ANSIBLE_HOST_KEY_CHECKING=False) to skip the check",
            offered.algorithm().as_str(),
            self.port,
            self.host
        ))
    }
}

/// How known_hosts names a host: `host` on port 22, else `[host]:port`.
pub(crate) fn host_pattern(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// `ssh-ed25519 SHA256:...`, as OpenSSH prints a key.
pub(crate) fn describe_key(key: &PublicKey) -> String {
    format!(
        "{} {}",
        key.algorithm().as_str(),
        key.fingerprint(HashAlg::Sha256)
    )
}

/// RSA keys serve every `rsa-sha2-*` signature algorithm.
fn same_family(a: &Algorithm, b: &Algorithm) -> bool {
    a == b || (matches!(a, Algorithm::Rsa { .. }) && matches!(b, Algorithm::Rsa { .. }))
}

/// The 1-based line of the `logical`-th non-comment line.
fn physical_line(text: &str, logical: usize) -> usize {
    let mut seen = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if !line.starts_with('#') {
            seen += 1;
        }
        if seen == logical {
            return i + 1;
        }
    }
    logical
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const KEY_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";

    fn key(b64: &str) -> PublicKey {
        russh::keys::parse_public_key_base64(b64).unwrap()
    }

    #[test]
    fn known_changed_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        std::fs::write(
            &path,
            format!(
                "# comment\nother ssh-ed25519 {KEY_B}\n# again\n[h]:2222 ssh-ed25519 {KEY_A}\n"
            ),
        )
        .unwrap();
        let kh = KnownHosts::load(&path, "h", 2222).unwrap();
        assert_eq!(kh.check(&key(KEY_A)), Verdict::Known);
        let Verdict::Refused(msg) = kh.check(&key(KEY_B)) else {
            panic!("changed key accepted")
        };
        assert!(msg.contains("has changed"), "{msg}");
        assert!(msg.contains(&format!("{}:4", path.display())), "{msg}");
        assert!(msg.contains("ssh-ed25519 SHA256:"), "{msg}");
        let unknown = KnownHosts::load(&path, "h", 22).unwrap();
        let Verdict::Refused(msg) = unknown.check(&key(KEY_A)) else {
            panic!("unknown host accepted")
        };
        assert!(msg.contains("ssh-keyscan -p 22 h >>"), "{msg}");
    }

    #[test]
    fn hashed_entries_match() {
        // `ssh-keygen -H` output for host "localhost" (from russh's tests).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        std::fs::write(
            &path,
            format!(
                "|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak= ssh-ed25519 {KEY_B}\n"
            ),
        )
        .unwrap();
        let kh = KnownHosts::load(&path, "example.com", 22).unwrap();
        assert_eq!(kh.check(&key(KEY_B)), Verdict::Known);
    }

    #[test]
    fn known_key_types_come_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        std::fs::write(&path, format!("h ssh-ed25519 {KEY_A}\n")).unwrap();
        let kh = KnownHosts::load(&path, "h", 22).unwrap();
        let algs = kh.preferred_algorithms(&[
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            Algorithm::Ed25519,
        ]);
        assert_eq!(algs[0], Algorithm::Ed25519);
    }
}
