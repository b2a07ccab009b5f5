//! Who files belong to, learned once per connection and kept for the run:
//! the user and group names of `/etc/passwd` and `/etc/group` (read over
//! the connection's file channel, with no process started on the host),
//! and the login's own user, group and umask (one command, the first time
//! a file module needs them).
//!
//! With this, [`super::common::probe`] inspects a path with a stat and a
//! read instead of a shell script, which is what makes an unchanged `copy`
//! cheap on the target.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::modules::{ModuleCtx, ModuleError};

/// The run-wide cache, one entry per connection.
#[derive(Default)]
pub struct IdCache {
    hosts: Mutex<HashMap<usize, Arc<HostIds>>>,
}

#[derive(Default)]
struct HostIds {
    names: OnceCell<Names>,
    me: OnceCell<Me>,
}

#[derive(Debug, Default, PartialEq)]
struct Names {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

/// The user and group that new files get, and the umask.
#[derive(Debug, Clone, PartialEq)]
pub struct Me {
    /// The user's name.
    pub user: String,
    /// The group's name.
    pub group: String,
    /// The umask, e.g. `0o022`.
    pub umask: u32,
}

impl IdCache {
    /// Connections live for the whole run in the connection manager, so
    /// one identifies its target (a delegated task uses the delegate's
    /// connection, and so its cache entry).
    fn entry(&self, ctx: &ModuleCtx<'_>) -> Arc<HostIds> {
        let key = ctx.conn.identity();
        let Ok(mut hosts) = self.hosts.lock() else {
            return Arc::default();
        };
        hosts.entry(key).or_default().clone()
    }

    /// The names of a uid and a gid, or `None` when the host's files do not
    /// list them (users from LDAP, say): the caller then asks the host.
    pub async fn names(
        &self,
        ctx: &ModuleCtx<'_>,
        uid: u32,
        gid: u32,
    ) -> Result<Option<(String, String)>, ModuleError> {
        let entry = self.entry(ctx);
        let names = entry
            .names
            .get_or_try_init(|| async {
                let read = |p: &'static str| async move {
                    ctx.conn
                        .read_file(p, None)
                        .await
                        .map(|d| String::from_utf8_lossy(&d.unwrap_or_default()).into_owned())
                };
                Ok::<_, ModuleError>(Names {
                    users: id_names(&read("/etc/passwd").await?),
                    groups: id_names(&read("/etc/group").await?),
                })
            })
            .await?;
        Ok(names
            .users
            .get(&uid)
            .zip(names.groups.get(&gid))
            .map(|(u, g)| (u.clone(), g.clone())))
    }

    /// The login's user, group and umask.
    pub async fn me(&self, ctx: &ModuleCtx<'_>) -> Result<Me, ModuleError> {
        let entry = self.entry(ctx);
        let me = entry
            .me
            .get_or_try_init(|| async {
                let out = ctx
                    .exec("printf '%s|%s|%s\\n' \"$(id -un)\" \"$(id -gn)\" \"$(umask)\"")
                    .await?;
                parse_me(&out.stdout).ok_or_else(|| {
                    ModuleError::failed(format!(
                        "could not learn the login's user and umask: {}",
                        out.stderr.trim()
                    ))
                })
            })
            .await?;
        Ok(me.clone())
    }
}

/// `name:x:id:...` lines (passwd or group) as id -> name; the first name
/// of an id wins, as with getpwuid.
fn id_names(text: &str) -> HashMap<u32, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let mut f = line.split(':');
        let (Some(name), Some(_), Some(id)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if let Ok(id) = id.parse::<u32>() {
            out.entry(id).or_insert_with(|| name.to_string());
        }
    }
    out
}

fn parse_me(text: &str) -> Option<Me> {
    let mut f = text.trim().split('|');
    let (user, group, umask) = (f.next()?, f.next()?, f.next()?);
    if user.is_empty() {
        return None;
    }
    Some(Me {
        user: user.to_string(),
        group: group.to_string(),
        umask: u32::from_str_radix(umask, 8).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passwd_and_id_lines() {
        let m = id_names(
            "root:x:0:0:root:/root:/bin/bash\n+ldap\nalias:x:0:0::/:/bin/sh\nnova:x:64060:64060::/var/lib/nova:/bin/sh\n",
        );
        assert_eq!(m.get(&0).map(String::as_str), Some("root"));
        assert_eq!(m.get(&64060).map(String::as_str), Some("nova"));
        assert_eq!(m.len(), 2);
        assert_eq!(
            parse_me("oplay|staff|0022\n"),
            Some(Me {
                user: "oplay".into(),
                group: "staff".into(),
                umask: 0o022
            })
        );
        assert_eq!(parse_me("|x|0022"), None);
    }

    #[tokio::test]
    async fn learns_names_and_me_once_per_connection() {
        let host = crate::modules::testing::TestHost::new();
        let ctx = host.ctx();
        let cache = IdCache::default();
        let (user, group) = cache.names(&ctx, 0, 0).await.unwrap().unwrap();
        assert_eq!((user.as_str(), group.as_str()), ("root", "root"));
        assert_eq!(cache.names(&ctx, 4_000_000, 0).await.unwrap(), None);
        let me = cache.me(&ctx).await.unwrap();
        let uid = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m));
        if uid.ok() == Some(0) {
            assert_eq!(me.user, "root");
        }
        assert_eq!(cache.me(&ctx).await.unwrap(), me);
    }
}
