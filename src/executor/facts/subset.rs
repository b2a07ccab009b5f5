//! `gather_subset`, `gather_timeout` and `fact_path`: which collectors
//! run, read the way ansible-core's `setup` reads them. Not for running
//! anything: `script.rs` asks [`GatherOptions::wants`] per section.

use std::collections::BTreeSet;

use serde_json::Value;

/// A collector, named as in ansible-core (`gather_subset` accepts each
/// name, and the groups `all`, `min`, `hardware`, `network`, `virtual`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Apparmor,
    Caps,
    Cmdline,
    DateTime,
    Distribution,
    Dns,
    Env,
    Fips,
    Local,
    Lsb,
    PkgMgr,
    Platform,
    Python,
    Selinux,
    ServiceMgr,
    SshPubKeys,
    User,
    Chroot,
    Loadavg,
    Iscsi,
    Nvme,
    FcWwn,
    Hardware,
    Network,
    Virtual,
}

/// ansible-core's `min` subset: gathered unless `!min` is given.
const MIN: &[Group] = &[
    Group::Apparmor,
    Group::Caps,
    Group::Cmdline,
    Group::DateTime,
    Group::Distribution,
    Group::Dns,
    Group::Env,
    Group::Fips,
    Group::Local,
    Group::Lsb,
    Group::PkgMgr,
    Group::Platform,
    Group::Python,
    Group::Selinux,
    Group::ServiceMgr,
    Group::SshPubKeys,
    Group::User,
];

/// The rest of `all`.
const REST: &[Group] = &[
    Group::Chroot,
    Group::Loadavg,
    Group::Iscsi,
    Group::Nvme,
    Group::FcWwn,
    Group::Hardware,
    Group::Network,
    Group::Virtual,
];

/// Names `gather_subset` accepts, with what each selects.
fn named(name: &str) -> Option<Vec<Group>> {
    let one = |g| Some(vec![g]);
    match name {
        "all" => Some(MIN.iter().chain(REST).copied().collect()),
        "min" => Some(MIN.to_vec()),
        // Gathered by ansible only when the `facter`/`ohai` tools exist;
        // oplay never runs them, so asking for them selects nothing.
        "facter" | "ohai" => Some(vec![]),
        "hardware" | "devices" | "dmi" => one(Group::Hardware),
        "network" | "interfaces" => one(Group::Network),
        "virtual" => one(Group::Virtual),
        "apparmor" => one(Group::Apparmor),
        "caps" => one(Group::Caps),
        "cmdline" => one(Group::Cmdline),
        "date_time" => one(Group::DateTime),
        "distribution" => one(Group::Distribution),
        "dns" => one(Group::Dns),
        "env" => one(Group::Env),
        "fips" => one(Group::Fips),
        "local" => one(Group::Local),
        "lsb" => one(Group::Lsb),
        "pkg_mgr" => one(Group::PkgMgr),
        "platform" => one(Group::Platform),
        "python" => one(Group::Python),
        "selinux" => one(Group::Selinux),
        "service_mgr" => one(Group::ServiceMgr),
        "ssh_pub_keys" => one(Group::SshPubKeys),
        "user" => one(Group::User),
        "chroot" => one(Group::Chroot),
        "loadavg" => one(Group::Loadavg),
        "iscsi" => one(Group::Iscsi),
        "nvme" => one(Group::Nvme),
        "fibre_channel_wwn" => one(Group::FcWwn),
        _ => None,
    }
}

/// What one gathering collects, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct GatherOptions {
    /// `gather_subset` as written (the `gather_subset` fact).
    pub requested: Vec<String>,
    groups: BTreeSet<Group>,
    /// `gather_timeout`: seconds for each slow probe (mounts, local facts).
    pub timeout: u64,
    /// `fact_path`: where the `*.fact` local facts live.
    pub fact_path: String,
}

impl Default for GatherOptions {
    fn default() -> Self {
        Self::new(&["all".to_string()], 10, "/etc/ansible/facts.d").unwrap_or_else(|_| Self {
            requested: vec!["all".into()],
            groups: MIN.iter().chain(REST).copied().collect(),
            timeout: 10,
            fact_path: "/etc/ansible/facts.d".into(),
        })
    }
}

impl GatherOptions {
    /// Resolves a `gather_subset` list as ansible-core's
    /// `get_collector_names` does: `min` is always added first, `all` adds
    /// everything, `!all` removes all but `min`, `!name` removes unless the
    /// name is also given plainly; an unknown plain name is an error.
    pub fn new(subset: &[String], timeout: u64, fact_path: &str) -> Result<Self, String> {
        let all: BTreeSet<Group> = MIN.iter().chain(REST).copied().collect();
        let mut add: BTreeSet<Group> = MIN.iter().copied().collect();
        let mut remove = BTreeSet::new();
        let mut explicit = BTreeSet::new();
        let requested: Vec<String> = if subset.is_empty() {
            vec!["all".into()]
        } else {
            subset.to_vec()
        };
        for item in requested.iter().map(|s| s.trim()) {
            match item {
                "min" => add.extend(MIN.iter().copied()),
                "all" => add.extend(all.iter().copied()),
                "!min" => remove.extend(MIN.iter().copied()),
                "!all" => remove.extend(REST.iter().copied()),
                _ => match item.strip_prefix('!') {
                    Some(name) => remove.extend(named(name).unwrap_or_default()),
                    None => {
                        let groups = named(item).ok_or_else(|| {
                            format!(
                                "bad subset '{item}' in gather_subset: allowed are all, min, hardware, \
                                 network, virtual, facter, ohai and the collector names \
                                 (env, date_time, distribution, dns, local, ...)"
                            )
                        })?;
                        explicit.extend(groups.iter().copied());
                        add.extend(groups);
                    }
                },
            }
        }
        let removed: BTreeSet<Group> = remove.difference(&explicit).copied().collect();
        let groups = add.difference(&removed).copied().collect();
        Ok(Self {
            requested,
            groups,
            timeout,
            fact_path: fact_path.to_string(),
        })
    }

    /// From the play keywords' values (each may be absent).
    pub fn from_keywords(
        subset: Option<&Value>,
        timeout: Option<&Value>,
        fact_path: Option<&Value>,
    ) -> Result<Self, String> {
        let subset: Vec<String> = match subset {
            None | Some(Value::Null) => vec!["all".into()],
            Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            Some(other) => return Err(format!("gather_subset must be a list, not {other}")),
        };
        let timeout = match timeout {
            None | Some(Value::Null) => 10,
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| format!("gather_timeout must be a number of seconds, not {v}"))?,
        };
        let fact_path = match fact_path {
            None | Some(Value::Null) => "/etc/ansible/facts.d".to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => return Err(format!("fact_path must be a path, not {v}")),
        };
        Self::new(&subset, timeout, &fact_path)
    }

    /// Whether this collector runs.
    pub fn wants(&self, g: Group) -> bool {
        self.groups.contains(&g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(s: &[&str]) -> GatherOptions {
        let v: Vec<String> = s.iter().map(|x| x.to_string()).collect();
        GatherOptions::new(&v, 10, "/x").unwrap()
    }

    #[test]
    fn subsets_resolve_like_ansible() {
        assert!(opts(&["all"]).wants(Group::Hardware));
        let min = opts(&["!all"]);
        assert!(min.wants(Group::Env) && !min.wants(Group::Network));
        let net = opts(&["!all", "network"]);
        assert!(net.wants(Group::Network) && net.wants(Group::Platform));
        assert!(!net.wants(Group::Hardware));
        let none = opts(&["!all", "!min"]);
        assert!(!none.wants(Group::Env));
        let nohw = opts(&["all", "!hardware", "!facter", "!ohai"]);
        assert!(!nohw.wants(Group::Hardware) && nohw.wants(Group::Network));
        assert!(opts(&["network"]).wants(Group::Env));
        assert!(!opts(&["network"]).wants(Group::Hardware));
        assert!(opts(&["!all", "!min", "env"]).wants(Group::Env));
        assert!(GatherOptions::new(&["bogus".into()], 10, "/x").is_err());
    }

    #[test]
    fn keywords_accept_strings_and_lists() {
        let o = GatherOptions::from_keywords(
            Some(&serde_json::json!("!all,network")),
            Some(&serde_json::json!("5")),
            None,
        )
        .unwrap();
        assert!(o.wants(Group::Network) && !o.wants(Group::Hardware));
        assert_eq!(o.timeout, 5);
        assert_eq!(o.fact_path, "/etc/ansible/facts.d");
    }
}
