//! Hiding secret values of INI text before it is shown (diffs, messages).
//!
//! OpenStack keeps credentials in plain options: `password`,
//! `transport_url = rabbit://user:pass@host`, `connection =
//! mysql+pymysql://user:pass@host/db`. [`mask_secrets`] hides the value of
//! every active option whose name looks secret, and the password part of
//! any `scheme://user:password@` URL in any option. It does not know the
//! run's secret values; callers also pass the text through the run's
//! `Redactor`.

use crate::secret::{REDACTED, is_secret_name};

use super::{IniDoc, Kind};

/// Whether an option's value is a credential by its name alone.
pub fn is_secret_option(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    is_secret_name(&k)
        || k.contains("secret")
        || k.contains("passwd")
        || k.ends_with("_key")
        || k == "key"
        || k.ends_with("token")
        || k.ends_with("credential")
        || k == "transport_url"
        || k == "connection"
        || k.ends_with("_connection")
}

/// The text with secret option values replaced by `********`. Line
/// structure, spacing and endings stay the same, so a diff of two masked
/// texts still shows which lines changed (unless only a hidden value did).
pub fn mask_secrets(text: &str) -> String {
    let mut doc = IniDoc::parse(text);
    for line in &mut doc.lines {
        let Kind::Option {
            key,
            value: Some(value),
        } = &line.kind
        else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        let masked = if is_secret_option(key) {
            REDACTED.to_string()
        } else {
            match mask_url_password(value) {
                Some(m) => m,
                None => continue,
            }
        };
        // The value is the trimmed text after the first '='; keep the rest.
        let Some(eq) = line.text.find('=') else {
            continue;
        };
        let after = &line.text[eq + 1..];
        let lead = after.len() - after.trim_start().len();
        let trail = after.trim_end().len();
        line.text = format!(
            "{}{}{}",
            &line.text[..eq + 1 + lead],
            masked,
            &after[trail..]
        );
    }
    doc.render()
}

/// `rabbit://nova:pw@host:5672/,nova:pw2@host2/` with each password masked;
/// `None` when the value has no `user:password@` part.
fn mask_url_password(value: &str) -> Option<String> {
    let scheme_end = value.find("://")? + 3;
    let mut out = value[..scheme_end].to_string();
    let mut masked = false;
    // Transport URLs list several hosts separated by commas.
    for (n, part) in value[scheme_end..].split(',').enumerate() {
        if n > 0 {
            out.push(',');
        }
        let auth_end = part.find('/').unwrap_or(part.len());
        match part[..auth_end].rfind('@') {
            Some(at) => match part[..at].find(':') {
                Some(colon) => {
                    out.push_str(&part[..colon + 1]);
                    out.push_str(REDACTED);
                    out.push_str(&part[at..]);
                    masked = true;
                }
                None => out.push_str(part),
            },
            None => out.push_str(part),
        }
    }
    masked.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for k in [
            "password",
            "admin_password",
            "transport_url",
            "connection",
            "slave_connection",
            "memcache_secret_key",
            "fixed_key",
            "metadata_proxy_shared_secret",
        ] {
            assert!(is_secret_option(k), "{k}");
        }
        for k in [
            "auth_url",
            "username",
            "debug",
            "lock_path",
            "keyfile",
            "auth_type",
        ] {
            assert!(!is_secret_option(k), "{k}");
        }
    }

    #[test]
    fn masks_values_and_url_passwords_only() {
        let text = "[database]\r\nconnection = mysql+pymysql://nova:s3cret@db/nova\r\n#password = <None>\r\n\
                    password=hunter2  \r\nurl = http://u:p@h:80/x,v:q@h2/\r\nauth_url = http://k:5000\r\nempty_password =";
        let want = "[database]\r\nconnection = ********\r\n#password = <None>\r\n\
                    password=********  \r\nurl = http://u:********@h:80/x,v:********@h2/\r\nauth_url = http://k:5000\r\nempty_password =";
        assert_eq!(mask_secrets(text), want);
    }
}
