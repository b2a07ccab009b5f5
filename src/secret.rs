//! Secrets and their redaction.
//!
//! A [`Secret`] never prints its value. The [`Redactor`] knows every secret
//! value seen in the run (secret-named variables, secret module
//! parameters, `no_log` results) and every secret-looking key name, and the
//! reporters pass all output through it, so no call site has to remember.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, RwLock};

use serde_json::Value;

/// What replaces a secret in any output.
pub const REDACTED: &str = "********";

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Only wraps the value: Debug, Display and Serialize then print
    /// [`REDACTED`]. Text that holds the value elsewhere is scrubbed only
    /// once a [`Redactor`] has been told it.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The clear value, for the one place that needs it (a login, a header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Numbers are accepted too: a password of digits is still a password.
        let v = Value::deserialize(d)?;
        match v {
            Value::String(s) => Ok(Secret(s)),
            Value::Number(n) => Ok(Secret(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a string, found {}",
                crate::value::type_name(&other)
            ))),
        }
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// Whether a variable or parameter name marks its value as a secret.
///
/// The words, matched case-insensitively against the whole name or its
/// `_`/`-`-separated parts: `password`, `passwd`, `pass`, `pw`,
/// `passphrase`, `token`, `secret`, `credential(s)`; names ending in
/// `api_key`, `apikey`, `private_key`, `access_key`, `secret_key`,
/// `auth_key`; and every name starting with `vault_` (Ansible's habit of
/// naming what a vault holds). A name whose last part is `dir`, `path` or
/// `file` (`credentials_dir`, `vault_password_file`) names where secrets
/// are kept, which is no secret.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if n.rsplit(['_', '-'])
        .next()
        .is_some_and(|last| ["dir", "path", "file"].contains(&last))
        && n.contains(['_', '-'])
    {
        return false;
    }
    if n.contains("password") || n.contains("passphrase") || n.starts_with("vault_") {
        return true;
    }
    const WORDS: [&str; 8] = [
        "pass",
        "passwd",
        "pw",
        "token",
        "secret",
        "credential",
        "credentials",
        "apikey",
    ];
    if n.split(['_', '-']).any(|part| WORDS.contains(&part)) {
        return true;
    }
    [
        "api_key",
        "private_key",
        "access_key",
        "secret_key",
        "auth_key",
    ]
    .iter()
    .any(|suffix| n.ends_with(suffix))
}

/// The forms a secret takes once a command line or a document carries it:
/// inside single quotes for the shell (`'` as `'\''`), JSON- and
/// URL-escaped, and base64-encoded (`b64encode`).
fn derived_forms(value: &str) -> Vec<String> {
    use base64::Engine;
    let mut forms = vec![
        value.replace('\'', r"'\''"),
        base64::engine::general_purpose::STANDARD.encode(value),
    ];
    if let Ok(json) = serde_json::to_string(value) {
        forms.push(json[1..json.len() - 1].to_string());
    }
    let url: String = value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    forms.push(url);
    forms.retain(|f| f != value);
    forms
}

/// Values shorter than this are not scrubbed from free text: replacing
/// every "a" or "1" in the output would hide more than it protects.
const MIN_SCRUB_LEN: usize = 4;

/// Whether a secret value is worth scrubbing from free text.
fn is_scrubbed(value: &str) -> bool {
    value.len() >= MIN_SCRUB_LEN && !is_flag(value)
}

/// The values under secret-named keys of `value`, at any depth, as
/// [`Redactor::add_secrets_in`] would remember them (short values and
/// flags left out).
pub fn secret_values(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_secret_values(value, false, &mut |s| {
        if is_scrubbed(s) {
            out.push(s.to_string());
        }
    });
    out
}

/// The run-wide set of secret values, shared by every reporter.
#[derive(Clone, Default)]
pub struct Redactor {
    values: Arc<RwLock<BTreeSet<String>>>,
}

impl Redactor {
    /// An empty set; clones share it, so a value added through one clone
    /// is scrubbed by all.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers a secret value so that it is scrubbed from all output.
    /// Short values and flags (`true`, `no`, ...) are not remembered: an
    /// option like `send_service_user_token = true` is no secret, and
    /// scrubbing every "true" would make the output unreadable.
    pub fn add(&self, value: &str) {
        if !is_scrubbed(value) {
            return;
        }
        if let Ok(mut set) = self.values.write() {
            if set.insert(value.to_string()) {
                set.extend(derived_forms(value));
            }
        }
    }

    /// Remembers every value under a secret-named key, at any depth.
    pub fn add_secrets_in(&self, value: &Value) {
        walk_secret_values(value, false, &mut |s| self.add(s));
    }

    /// Replaces every known secret value in `text`.
    pub fn scrub(&self, text: &str) -> String {
        let Ok(set) = self.values.read() else {
            return text.to_string();
        };
        let mut out = text.to_string();
        // Longest first, so a secret containing another is replaced whole.
        let mut values: Vec<&String> = set.iter().collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for v in values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), REDACTED);
            }
        }
        out
    }

    /// A copy of `value` with secret-named keys masked and known secret
    /// values scrubbed from every string.
    pub fn redact_value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.scrub(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_value(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = if is_secret_name(k) && holds_secret(v) {
                            Value::String(REDACTED.into())
                        } else {
                            self.redact_value(v)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// Whether the value under a secret-named key is itself the secret: a
/// string, a number, or a flat list or mapping of them (`passwords:
/// {glance: .., nova: ..}`). A nested structure under such a key (a
/// Keystone `token` answer with its catalog) is walked key by key instead,
/// so that service names and URLs stay readable.
fn holds_secret(v: &Value) -> bool {
    match v {
        Value::String(s) => !is_flag(s),
        Value::Number(_) => true,
        Value::Array(items) => !items.is_empty() && items.iter().all(is_scalar),
        Value::Object(map) => !map.is_empty() && map.values().all(is_scalar),
        _ => false,
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_))
}

/// Booleans written as text, which are never secrets.
fn is_flag(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "none" | "null"
    )
}

fn walk_secret_values(value: &Value, under_secret: bool, f: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) if under_secret => f(s),
        Value::Number(n) if under_secret => f(&n.to_string()),
        Value::Array(items) => items
            .iter()
            .for_each(|v| walk_secret_values(v, under_secret, f)),
        Value::Object(map) => {
            for (k, v) in map {
                let secret =
                    (under_secret && is_scalar(v)) || (is_secret_name(k) && holds_secret(v));
                walk_secret_values(v, secret, f);
            }
        }
        _ => {}
    }
}

impl schemars::JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "x-secret": true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter22");
        assert_eq!(format!("{s} {s:?}"), "******** ********");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"********\"");
    }

    #[test]
    fn names_mark_secrets() {
        for n in [
            "password",
            "glance_password",
            "db_pass",
            "auth_token",
            "login_password",
            "RABBIT_PASSWORD",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "vault_db",
            "api_key",
            "ssh_private_key",
            "rabbit_pw",
            "OS_PASSWORD",
            "aws_secret_access_key",
            "db_credentials",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "name",
            "passenger",
            "path",
            "bypass_cache",
            "key",
            "ssh_public_key",
            "PWD",
            "ansible_ssh_private_key_file",
            "compass",
            "keystone_url",
            "credentials_dir",
            "old_credentials_dir",
            "vault_password_file",
            "db-password-path",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn scrubs_known_values_and_keys() {
        let r = Redactor::new();
        r.add_secrets_in(&json!({"db": {"nova_password": "s3cr3t!"}, "user": "nova"}));
        assert_eq!(
            r.scrub("mysql://nova:s3cr3t!@db"),
            "mysql://nova:********@db"
        );
        let v = r.redact_value(&json!({"password": "other", "url": "x s3cr3t! y"}));
        assert_eq!(v, json!({"password": "********", "url": "x ******** y"}));
    }

    #[test]
    fn a_mapping_under_a_secret_name_is_walked_not_masked() {
        let r = Redactor::new();
        let answer = json!({"token": {"catalog": [{"type": "image", "name": "glance"}],
                                      "auth_token": "gAAAAB-secret"}});
        r.add_secrets_in(&answer);
        assert_eq!(
            r.scrub("image glance gAAAAB-secret"),
            "image glance ********"
        );
        let v = r.redact_value(&answer);
        assert_eq!(v["token"]["catalog"][0]["name"], "glance");
        assert_eq!(v["token"]["auth_token"], REDACTED);
        r.add_secrets_in(&json!({"passwords": {"glance": "flat-pw-1"}}));
        assert_eq!(r.scrub("flat-pw-1"), REDACTED);
    }

    #[test]
    fn scrubs_a_secret_in_the_forms_a_command_gives_it() {
        let r = Redactor::new();
        r.add("it's-pw");
        // As `connection::shell_quote` quotes it.
        let quoted = r"'it'\''s-pw'";
        assert_eq!(r.scrub(&format!("mysql -p{quoted}")), "mysql -p'********'");
        assert_eq!(r.scrub("echo aXQncy1wdw=="), "echo ********");
        assert_eq!(r.scrub("u=it%27s-pw"), "u=********");
        r.add(r#"a"b\c"#);
        assert_eq!(r.scrub(r#"{"p":"a\"b\\c"}"#), r#"{"p":"********"}"#);
    }

    #[test]
    fn secret_values_are_what_the_redactor_remembers() {
        let v = json!({"db_password": "s3cr3t!", "x_token": "no", "pw": "abc",
                       "creds": {"api_key": "key-12345"}, "user": "nova"});
        assert_eq!(secret_values(&v), ["s3cr3t!", "key-12345"]);
    }

    #[test]
    fn flags_are_never_secrets() {
        let r = Redactor::new();
        r.add_secrets_in(&json!({"send_service_user_token": "true", "x_token": "False"}));
        assert_eq!(r.scrub("true False"), "true False");
        let v = r.redact_value(&json!({"send_service_user_token": "true"}));
        assert_eq!(v["send_service_user_token"], "true");
    }
}
