//! `mysql_user`: accounts of a MariaDB/MySQL server, their password and
//! their privileges.
//!
//! The query reads the account (`mysql.global_priv` on MariaDB,
//! `mysql.user` on MySQL) and its `SHOW GRANTS`, and computes the exact
//! statements needed; apply runs them. Passwords are compared by their
//! `mysql_native_password` hash and sent only as that hash.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use super::conn::{self, Db, Login};
use super::grants::{self, PrivMap};
use super::params::mysql_params;
use super::{Stmt, account, check_name};
use crate::modules::{
    Action, ApplyPlan, Change, Diff, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Planned,
    Query, parse_params,
};
use crate::secret::{REDACTED, Secret};

mysql_params! {
    /// Adds or removes a MariaDB/MySQL user, sets its password and privileges.
    ///
    /// Works like community.mysql.mysql_user, with SQL spoken from the control
    /// node through the host's connection; the login parameters and their
    /// defaults are those of `mysql_db` (root through Debian's socket when
    /// none is given).
    ///
    /// `priv` is `db.table:PRIV1,PRIV2`, several joined by `/`
    /// (`glance.*:ALL/*.*:PROCESS`), or a mapping `{'glance.*': 'ALL'}`. `GRANT`
    /// in the list means `WITH GRANT OPTION`; names may be quoted with
    /// backticks. The current privileges are read from `SHOW GRANTS` and only
    /// the difference is revoked and granted, so a re-run is unchanged. Without
    /// `append_privs`, privileges on objects not named in `priv` are revoked
    /// (as in Ansible); without `priv`, privileges are not touched. Roles,
    /// `PROXY` and routine grants are never touched.
    ///
    /// Passwords: the password is hashed on the control node
    /// (`mysql_native_password`: `*` + hex of SHA1(SHA1(password))) and sent
    /// only as that hash (`IDENTIFIED BY PASSWORD` on MariaDB, `IDENTIFIED
    /// WITH mysql_native_password AS` on MySQL); shown statements read
    /// `'********'`. With `update_password: always` (the default, as in
    /// Ansible), a user whose stored hash differs is changed. A user that
    /// authenticates through another plugin (`unix_socket`, `ed25519`,
    /// `caching_sha2_password`) cannot be compared: with `always` it is
    /// reported changed and switched to this password; with `on_create` an
    /// existing user's password is never looked at.
    ///
    /// Differences from Ansible: no `config_file`, `check_implicit_admin`,
    /// `plugin*`, `tls_requires`, `resource_limits`, `subtract_privs`,
    /// `session_vars`; `update_password: on_new_username` is not supported.
    /// Results: `user`, `host`, `password_changed` and `executed_commands`.
    pub struct MysqlUserParams {
        /// The user name.
        #[schemars(extend("x-aliases" = ["user"]))]
        pub name: String,
        /// The host part of the account (default `localhost`; `%` is any host).
        #[serde(default = "localhost")]
        pub host: String,
        /// Apply to every existing host of this user instead of `host`; cannot create users.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub host_all: bool,
        /// The user's password.
        #[serde(default)]
        pub password: Option<Secret>,
        /// `password` is already a `mysql_native_password` hash (`*` + 40 hex digits).
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub encrypted: bool,
        /// Privileges: `db.*:SELECT,INSERT/db2.*:ALL` or a mapping `{'db.*': 'ALL'}`.
        #[serde(default, rename = "priv")]
        #[schemars(with = "Option<serde_json::Value>")]
        pub privs: Option<Value>,
        /// Add `priv` to the current privileges instead of replacing them.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub append_privs: bool,
        /// `always` (default) sets the password when it differs; `on_create` only for new users.
        #[serde(default)]
        pub update_password: UpdatePassword,
        /// `present` (default) or `absent`.
        #[serde(default)]
        pub state: UserState,
    }
}

fn localhost() -> String {
    "localhost".into()
}

/// `update_password:` of mysql_user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpdatePassword {
    /// Set the password whenever it differs.
    #[default]
    Always,
    /// Set the password only when the user is created.
    OnCreate,
}

/// `state:` of mysql_user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserState {
    /// The user exists.
    #[default]
    Present,
    /// The user does not exist (on any of the hosts).
    Absent,
}

struct MysqlUserModule {
    spec: ModuleSpec,
}

/// The `mysql_user` module, for the registry.
pub fn module() -> Arc<dyn Module> {
    Arc::new(MysqlUserModule {
        spec: ModuleSpec::native::<MysqlUserParams>("mysql_user").with_examples(
            "- mysql_user:\n    name: glance\n    host: '%'\n    password: \"{{ glance_db_password }}\"\n    priv: 'glance.*:ALL'",
        ),
    })
}

impl Module for MysqlUserModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: MysqlUserParams = parse_params(args)?;
        check_name("user name", &p.name).map_err(ModuleError::Params)?;
        check_name("host", &p.host).map_err(ModuleError::Params)?;
        let wanted = match &p.privs {
            None => None,
            Some(v) => Some(grants::parse_priv_param(v).map_err(ModuleError::Params)?),
        };
        let hash = match &p.password {
            None => None,
            Some(pw) if p.encrypted => Some(check_hash(pw.expose())?),
            Some(pw) => Some(native_hash(pw.expose())),
        };
        let login = p.login_args().validate()?;
        Ok(Box::new(MysqlUserAction {
            p,
            wanted,
            hash,
            login,
            plan: Plan::default(),
        }))
    }
}

/// The `mysql_native_password` hash: `*` and the upper-case hex of SHA1(SHA1(pw)).
pub fn native_hash(password: &str) -> String {
    if password.is_empty() {
        return String::new();
    }
    let inner = Sha1::digest(password.as_bytes());
    format!("*{}", hex::encode_upper(Sha1::digest(inner)))
}

fn check_hash(h: &str) -> Result<String, ModuleError> {
    let ok = h.len() == 41 && h.starts_with('*') && h[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        // Never echo the value: it is a secret even when malformed.
        return Err(ModuleError::Params(
            "with encrypted: yes, password must be a mysql_native_password hash: `*` and 40 hex digits".into(),
        ));
    }
    Ok(h.to_ascii_uppercase())
}

struct MysqlUserAction {
    p: MysqlUserParams,
    wanted: Option<PrivMap>,
    hash: Option<String>,
    login: Login,
    /// Built up by the query, host by host; run by the apply.
    plan: Plan,
}

/// What the query found to do.
#[derive(Default)]
struct Plan {
    stmts: Vec<Stmt>,
    hosts: Vec<String>,
    password_changed: bool,
    diffs: Vec<Diff>,
    notes: Vec<String>,
}

/// How an existing account logs in: each (plugin, authentication string)
/// of its chain (MariaDB allows `... OR unix_socket`).
struct Account {
    auth: Vec<(String, String)>,
}

#[async_trait]
impl Action for MysqlUserAction {
    async fn query(mut self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let mut db = conn::connect(ctx, &self.login).await?;
        let hosts = self.hosts(&mut db).await?;
        for host in &hosts {
            let found = read_account(&mut db, &self.p.name, host).await?;
            self.plan_host(&mut db, host, found).await?;
        }
        self.plan.hosts = hosts;
        if self.plan.stmts.is_empty() {
            return Ok(Query::Unchanged(self.outcome(false)));
        }
        let mut change = Change::new();
        change.diffs = std::mem::take(&mut self.plan.diffs);
        change.data = self.outcome(true).data;
        change.msg = self.msg();
        // The apply runs the plan on the connection the query looked through.
        Ok(Query::Change(change, Planned::boxed(*self, db)))
    }
}

#[async_trait]
impl ApplyPlan for MysqlUserAction {
    type Plan = Db;

    async fn apply_plan(self, mut db: Db, _ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        db.execute_all(&self.plan.stmts).await?;
        Ok(self.outcome(true))
    }
}

impl MysqlUserAction {
    /// The hosts to work on: `host`, or with `host_all` every existing one.
    async fn hosts(&self, db: &mut Db) -> Result<Vec<String>, ModuleError> {
        if !self.p.host_all {
            // MariaDB and MySQL store host names in lower case.
            return Ok(vec![self.p.host.to_lowercase()]);
        }
        let rows = db
            .rows(
                "SELECT Host FROM mysql.user WHERE User = ? ORDER BY Host",
                &[&self.p.name],
            )
            .await?;
        let hosts: Vec<String> = rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect();
        if hosts.is_empty() && self.p.state == UserState::Present {
            return Err(ModuleError::failed(format!(
                "host_all: user `{}` does not exist, and host_all cannot create users; give `host` instead",
                self.p.name
            )));
        }
        Ok(hosts)
    }

    async fn plan_host(
        &mut self,
        db: &mut Db,
        host: &str,
        found: Option<Account>,
    ) -> Result<(), ModuleError> {
        let acct = account(&self.p.name, host);
        let header = format!("mysql user {acct}");
        match (self.p.state, found) {
            (UserState::Absent, None) => {}
            (UserState::Absent, Some(_)) => {
                let current = show_grants(db, &acct).await?;
                self.plan
                    .stmts
                    .push(Stmt::plain(format!("DROP USER {acct}")));
                self.plan.diffs.push(Diff {
                    header,
                    before: render(Some(&current)),
                    after: "absent\n".into(),
                });
            }
            (UserState::Present, None) => {
                let mut create = Stmt::plain(format!("CREATE USER {acct}"));
                if let Some(hash) = &self.hash {
                    create = with_hash(db.mariadb, &format!("CREATE USER {acct}"), hash);
                    self.plan.password_changed = true;
                }
                self.plan.stmts.push(create);
                let wanted = self.wanted.clone().unwrap_or_default();
                self.plan.stmts.extend(grants::plan_new(&acct, &wanted));
                self.plan.diffs.push(Diff {
                    header,
                    before: "absent\n".into(),
                    after: render(Some(&wanted)),
                });
            }
            (UserState::Present, Some(existing)) => {
                self.plan_existing(db, &acct, header, &existing).await?
            }
        }
        Ok(())
    }

    async fn plan_existing(
        &mut self,
        db: &mut Db,
        acct: &str,
        header: String,
        existing: &Account,
    ) -> Result<(), ModuleError> {
        let mut before = String::new();
        let mut after = String::new();
        if let (Some(hash), UpdatePassword::Always) = (&self.hash, self.p.update_password) {
            let same = existing
                .auth
                .iter()
                .any(|(plugin, stored)| is_native(plugin) && stored.eq_ignore_ascii_case(hash));
            if !same {
                if let Some((plugin, _)) = existing.auth.iter().find(|(p, _)| !is_native(p)) {
                    self.plan.notes.push(format!(
                        "{acct} authenticates with {plugin}, which cannot be compared; update_password: always sets the password"
                    ));
                }
                self.plan
                    .stmts
                    .push(with_hash(db.mariadb, &format!("ALTER USER {acct}"), hash));
                self.plan.password_changed = true;
                before.push_str(&format!("password: {REDACTED}\n"));
                after.push_str(&format!("password: {REDACTED} (new)\n"));
            }
        }
        if let Some(wanted) = &self.wanted {
            let current = show_grants(db, acct).await?;
            let stmts = grants::plan(acct, &current, wanted, self.p.append_privs);
            if !stmts.is_empty() {
                before.push_str(&render(Some(&current)));
                let mut result = current.clone();
                if self.p.append_privs {
                    for (o, p) in wanted {
                        let e = result.entry(o.clone()).or_default();
                        e.set.extend(p.set.iter().cloned());
                        e.grant_option |= p.grant_option;
                    }
                } else {
                    result = wanted.clone();
                }
                after.push_str(&render(Some(&result)));
                self.plan.stmts.extend(stmts);
            }
        }
        if before != after {
            self.plan.diffs.push(Diff {
                header,
                before,
                after,
            });
        }
        Ok(())
    }

    fn msg(&self) -> Option<String> {
        (!self.plan.notes.is_empty()).then(|| self.plan.notes.join("; "))
    }

    fn outcome(&self, changed: bool) -> Outcome {
        let mut o = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        };
        let host: Value = if self.p.host_all {
            self.plan.hosts.clone().into()
        } else {
            self.p.host.clone().into()
        };
        o = o
            .with("user", self.p.name.clone())
            .with("host", host)
            .with("password_changed", self.plan.password_changed)
            .with(
                "executed_commands",
                self.plan
                    .stmts
                    .iter()
                    .map(|s| s.shown.clone())
                    .collect::<Vec<_>>(),
            );
        o.msg = self.msg();
        o
    }
}

/// `CREATE USER ...`/`ALTER USER ...` with the password hash, and the same shown masked.
fn with_hash(mariadb: bool, head: &str, hash: &str) -> Stmt {
    let clause = |h: &str| {
        if mariadb {
            format!("{head} IDENTIFIED BY PASSWORD '{h}'")
        } else {
            format!("{head} IDENTIFIED WITH mysql_native_password AS '{h}'")
        }
    };
    Stmt {
        sql: clause(hash),
        shown: clause(REDACTED),
    }
}

fn is_native(plugin: &str) -> bool {
    plugin.is_empty() || plugin == "mysql_native_password"
}

/// Reads an account, or `None` if it does not exist.
async fn read_account(db: &mut Db, user: &str, host: &str) -> Result<Option<Account>, ModuleError> {
    if db.mariadb {
        let rows = db
            .rows(
                "SELECT Priv FROM mysql.global_priv WHERE User = ? AND Host = ?",
                &[user, host],
            )
            .await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let json = row.into_iter().next().flatten().unwrap_or_default();
        return Ok(Some(Account {
            auth: auth_chain(&json),
        }));
    }
    let rows = db
        .rows(
            "SELECT plugin, authentication_string FROM mysql.user WHERE User = ? AND Host = ?",
            &[user, host],
        )
        .await?;
    Ok(rows.into_iter().next().map(|r| {
        let mut it = r.into_iter().map(Option::unwrap_or_default);
        let plugin = it.next().unwrap_or_default();
        Account {
            auth: vec![(plugin, it.next().unwrap_or_default())],
        }
    }))
}

/// The authentication chain in MariaDB's `global_priv.Priv` JSON: the
/// top-level plugin, then every alternative of `auth_or` (whose empty
/// first element stands for the top-level one).
fn auth_chain(json: &str) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(json).unwrap_or(Value::Null);
    let pair = |o: &Value| -> Option<(String, String)> {
        let plugin = o.get("plugin")?.as_str()?.to_string();
        let auth = o
            .get("authentication_string")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        Some((plugin, auth))
    };
    let mut out: Vec<(String, String)> = pair(&v).into_iter().collect();
    if let Some(alts) = v.get("auth_or").and_then(Value::as_array) {
        out.extend(alts.iter().filter_map(pair));
    }
    out
}

async fn show_grants(db: &mut Db, acct: &str) -> Result<PrivMap, ModuleError> {
    let rows = db.rows(&format!("SHOW GRANTS FOR {acct}"), &[]).await?;
    let lines: Vec<String> = rows
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect();
    Ok(grants::parse_show_grants(&lines))
}

/// Privileges as diff text, one object a line.
fn render(map: Option<&PrivMap>) -> String {
    let mut s = String::from("present\n");
    for (o, p) in map.into_iter().flatten() {
        if p.set.is_empty() && !p.grant_option {
            continue;
        }
        let mut items: Vec<&str> = p.set.iter().map(String::as_str).collect();
        if p.grant_option {
            items.push("GRANT OPTION");
        }
        s.push_str(&format!("{}: {}\n", o.sql(), items.join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_mysql() {
        // SELECT PASSWORD('secret') on MariaDB 10.11.
        assert_eq!(
            native_hash("secret"),
            "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7"
        );
        assert_eq!(native_hash(""), "");
    }

    #[test]
    fn reads_the_auth_chain() {
        let root = r#"{"access":1,"plugin":"mysql_native_password","authentication_string":"invalid","auth_or":[{},{"plugin":"unix_socket"}]}"#;
        assert_eq!(
            auth_chain(root),
            vec![
                ("mysql_native_password".to_string(), "invalid".to_string()),
                ("unix_socket".to_string(), String::new())
            ]
        );
    }

    #[test]
    fn encrypted_password_must_be_a_hash() {
        assert!(check_hash("*14E65567ABDB5135D0CFD9A70B3032C179A49EE7").is_ok());
        let e = check_hash("plaintext").unwrap_err().to_string();
        assert!(!e.contains("plaintext"));
    }
}
