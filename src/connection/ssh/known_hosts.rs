//! Host key verification against an OpenSSH known_hosts file.
//!
//! The file is read as OpenSSH's sshd(8) manual describes it: fields split
//! by blanks, host patterns separated by commas with `*` and `?` wildcards
//! and `!` negation, hashed `|1|salt|hash` names, `[host]:port` for ports
//! other than 22, and the `@revoked` marker, whose key is refused for the
//! hosts it names even when another line accepts it. `@cert-authority`
//! lines are skipped: oplay does not take certificate host keys. A line
//! that cannot be read is skipped, as OpenSSH does. When the check fails,
//! the message says which key the server offered, which file and line
//! disagree, and the command that fixes it. Not for learning new keys:
//! oplay never writes a known_hosts file.

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
    /// Keys marked `@revoked` for this host, with their lines.
    revoked: Vec<(usize, PublicKey)>,
}

/// A known_hosts file that exists but could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read known_hosts file {}: {source}", path.display())]
pub(crate) struct KnownHostsError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

impl KnownHosts {
    /// Reads the entries for `host:port`. A missing file has no entries.
    pub(crate) fn load(path: &Path, host: &str, port: u16) -> Result<KnownHosts, KnownHostsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(KnownHostsError {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let name = host_pattern(host, port);
        let (mut entries, mut revoked) = (Vec::new(), Vec::new());
        for (i, line) in text.lines().enumerate() {
            let Some(entry) = parse_line(line) else {
                continue;
            };
            if !hosts_match(entry.hosts, &name) {
                continue;
            }
            match entry.marker {
                Marker::None => entries.push((i + 1, entry.key)),
                Marker::Revoked => revoked.push((i + 1, entry.key)),
                Marker::CertAuthority => {}
            }
        }
        Ok(KnownHosts {
            path: path.to_path_buf(),
            host: host.to_string(),
            port,
            entries,
            revoked,
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
        if let Some((line, _)) = self
            .revoked
            .iter()
            .find(|(_, k)| k.key_data() == offered.key_data())
        {
            return Verdict::Refused(format!(
                "the host key of {} is revoked: the server offered {}, which {}:{line} \
                 marks @revoked. oplay refuses it, as OpenSSH does.\n\
                 hint: if the host has a new key, remove the old entries for it and add \
                 the new key once its fingerprint is checked",
                host_pattern(&self.host, self.port),
                describe_key(offered),
                self.path.display()
            ));
        }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

/// One readable line of a known_hosts file.
struct Line<'a> {
    marker: Marker,
    hosts: &'a str,
    key: PublicKey,
}

/// Reads `[@marker] hosts keytype base64 [comment]`; `None` for comments,
/// blank lines and lines that cannot be read.
fn parse_line(line: &str) -> Option<Line<'_>> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_ascii_whitespace();
    let mut first = fields.next()?;
    let marker = match first {
        "@revoked" => Marker::Revoked,
        "@cert-authority" => Marker::CertAuthority,
        m if m.starts_with('@') => return None,
        _ => Marker::None,
    };
    if marker != Marker::None {
        first = fields.next()?;
    }
    let _key_type = fields.next()?;
    let key = russh::keys::parse_public_key_base64(fields.next()?).ok()?;
    Some(Line {
        marker,
        hosts: first,
        key,
    })
}

/// Whether `name` (`host` or `[host]:port`) matches a comma-separated list
/// of patterns: one positive match and no negated (`!`) match.
fn hosts_match(patterns: &str, name: &str) -> bool {
    let mut matched = false;
    for pattern in patterns.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if wildcard_match(negated, name) {
                return false;
            }
        } else if pattern.starts_with("|1|") {
            matched |= hashed_match(pattern, name);
        } else {
            matched |= wildcard_match(pattern, name);
        }
    }
    matched
}

/// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as `ssh-keygen -H` writes.
fn hashed_match(pattern: &str, name: &str) -> bool {
    use base64::Engine;
    use hmac::Mac;
    let mut parts = pattern.split('|').skip(2);
    let b64 = &base64::engine::general_purpose::STANDARD;
    let (Some(Ok(salt)), Some(Ok(hash))) = (
        parts.next().map(|p| b64.decode(p)),
        parts.next().map(|p| b64.decode(p)),
    ) else {
        return false;
    };
    let Ok(mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.chain_update(name.as_bytes())
        .verify_slice(&hash)
        .is_ok()
}

/// OpenSSH's `match_pattern`: `*` any run, `?` any one character; host
/// names compare without regard to case.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let n: Vec<char> = name.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
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
    fn a_revoked_key_is_refused_even_when_listed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        std::fs::write(
            &path,
            format!(
                "h ssh-ed25519 {KEY_A}\n@revoked * ssh-ed25519 {KEY_A}\nh\tssh-ed25519 {KEY_B} c\n"
            ),
        )
        .unwrap();
        let kh = KnownHosts::load(&path, "h", 22).unwrap();
        let Verdict::Refused(msg) = kh.check(&key(KEY_A)) else {
            panic!("revoked key accepted")
        };
        assert!(msg.starts_with("the host key of h is revoked"), "{msg}");
        assert!(
            msg.contains(&format!("{}:2 marks @revoked", path.display())),
            "{msg}"
        );
        assert_eq!(kh.check(&key(KEY_B)), Verdict::Known);
    }

    #[test]
    fn patterns_wildcards_and_negation() {
        assert!(hosts_match("web*,db1", "web3.example"));
        assert!(hosts_match("db?", "DB1"));
        assert!(!hosts_match("*,!db1", "db1"));
        assert!(hosts_match("*,!db1", "db2"));
        assert!(hosts_match("[h]:2222", "[h]:2222"));
        assert!(!hosts_match("h", "[h]:2222"));
        assert!(parse_line("@unknown h ssh-ed25519 AAAA").is_none());
        assert!(parse_line("h ssh-ed25519 not-base64").is_none());
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
