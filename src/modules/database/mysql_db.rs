//! `mysql_db`: databases of a MariaDB/MySQL server: create, drop, change
//! the default character set, dump and import.
//!
//! Creation, removal and `ALTER DATABASE` go as SQL through the tunnel of
//! `conn.rs`; dump and import run the server's own client tools on the
//! host, since a dump is what `mysqldump` writes.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::conn::{self, Db, Endpoint, Login};
use super::params::mysql_params;
use super::{Stmt, check_name, quote_ident};
use crate::connection::{ExecRequest, shell_quote};
use crate::modules::{
    Action, ApplyPlan, Change, Diff, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Planned,
    Query, parse_params,
};
use crate::secret::Secret;

mysql_params! {
    /// Creates, removes, dumps or imports MariaDB/MySQL databases.
    ///
    /// Works like community.mysql.mysql_db, but oplay speaks SQL itself from
    /// the control node, through the host's connection (a tunnel to the
    /// server's socket or port): the host needs no Python and no PyMySQL.
    /// Without any `login_*` parameter it logs in as `root` through
    /// `/run/mysqld/mysqld.sock` (then `/var/run/mysqld/mysqld.sock`), which
    /// is how Debian's root (unix_socket authentication) gets in; that works
    /// when the connection's user is root (locally, or SSH as root). If no
    /// socket exists, it tries `127.0.0.1:3306`.
    ///
    /// `state: present` creates missing databases and, unlike older Ansible
    /// releases, also changes `encoding`/`collation` of an existing one with
    /// `ALTER DATABASE` (reported as changed). `dump` and `import` run
    /// `mysqldump`/`mysql` on the host (the client package must be installed
    /// there); the login password reaches them on a pipe, never on a command
    /// line or in a file. A `target` ending in `.gz`, `.bz2`, `.xz` or `.zst`
    /// is compressed or decompressed on the host. `name: all` dumps or
    /// imports every database. Check mode runs nothing; dump and import are
    /// then reported as changed.
    ///
    /// Differences from Ansible: no `~/.my.cnf` (`config_file`),
    /// `check_implicit_admin`, SSL client certificates or the finer
    /// `mysqldump` options (`single_transaction`, `hex_blob` ...). Results:
    /// `db` (names separated by spaces), `db_list` and `executed_commands`.
    pub struct MysqlDbParams {
        /// Name of the database, or a list of names (`all` with dump/import).
        #[serde(deserialize_with = "crate::value::de_string_list")]
        #[schemars(extend("x-aliases" = ["db"]))]
        pub name: Vec<String>,
        /// `present` (default), `absent`, `dump` (to `target`) or `import` (from `target`).
        #[serde(default)]
        pub state: DbState,
        /// Default character set, e.g. `utf8mb4`.
        #[serde(default)]
        pub encoding: Option<String>,
        /// Default collation, e.g. `utf8mb4_general_ci`.
        #[serde(default)]
        pub collation: Option<String>,
        /// The dump file on the host, for `dump` and `import`.
        #[serde(default)]
        pub target: Option<String>,
        /// Continue a dump or import after an SQL error (`--force`).
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        pub force: bool,
    }
}

/// `state:` of mysql_db.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DbState {
    /// The databases exist, with the wanted encoding and collation.
    #[default]
    Present,
    /// The databases do not exist.
    Absent,
    /// Dump the databases to `target`.
    Dump,
    /// Load `target` into the databases.
    Import,
}

struct MysqlDbModule {
    spec: ModuleSpec,
}

/// The `mysql_db` module, for the registry.
pub fn module() -> Arc<dyn Module> {
    Arc::new(MysqlDbModule {
        spec: ModuleSpec::native::<MysqlDbParams>("mysql_db").with_examples(
            "- mysql_db:\n    name: glance\n    encoding: utf8mb4\n    collation: utf8mb4_general_ci\n\n\
             - mysql_db:\n    name: glance\n    state: dump\n    target: /var/backups/glance.sql.gz",
        ),
    })
}

impl Module for MysqlDbModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: MysqlDbParams = parse_params(args)?;
        let bad = ModuleError::Params;
        if p.name.is_empty() {
            return Err(bad("name must name at least one database".into()));
        }
        for n in &p.name {
            check_name("database name", n).map_err(bad)?;
        }
        let all = p.name.iter().any(|n| n == "all");
        if all && p.name.len() > 1 {
            return Err(bad(
                "`all` cannot be combined with other database names".into()
            ));
        }
        let transfer = matches!(p.state, DbState::Dump | DbState::Import);
        if all && !transfer {
            return Err(bad("name `all` is only for state dump or import".into()));
        }
        if transfer && p.target.as_deref().is_none_or(str::is_empty) {
            return Err(bad(
                "state dump and import need `target`, the dump file on the host".into(),
            ));
        }
        for (what, v) in [("encoding", &p.encoding), ("collation", &p.collation)] {
            if let Some(v) = v {
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(bad(format!(
                        "{what} `{v}` is not a character set or collation name"
                    )));
                }
            }
        }
        let login = p.login_args().validate()?;
        Ok(Box::new(MysqlDbAction {
            p,
            login,
            stmts: Vec::new(),
            shell: None,
        }))
    }
}

struct MysqlDbAction {
    p: MysqlDbParams,
    login: Login,
    /// SQL that the apply runs (create, drop, alter).
    stmts: Vec<Stmt>,
    /// The client command for dump/import, run after `stmts`.
    shell: Option<String>,
}

/// A database as `information_schema` knows it.
struct Schema {
    charset: String,
    collation: String,
}

impl Schema {
    fn text(&self) -> String {
        schema_text(Some(&self.charset), Some(&self.collation))
    }

    /// Whether the wanted encoding or collation (when given) differs.
    fn differs(&self, encoding: Option<&str>, collation: Option<&str>) -> bool {
        encoding.is_some_and(|e| !e.eq_ignore_ascii_case(&self.charset))
            || collation.is_some_and(|c| !c.eq_ignore_ascii_case(&self.collation))
    }
}

/// A database's state as diff text.
fn schema_text(charset: Option<&str>, collation: Option<&str>) -> String {
    let mut s = String::from("present\n");
    if let Some(c) = charset {
        s.push_str(&format!("character set: {c}\n"));
    }
    if let Some(c) = collation {
        s.push_str(&format!("collation: {c}\n"));
    }
    s
}

#[async_trait]
impl Action for MysqlDbAction {
    async fn query(mut self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let mut db = conn::connect(ctx, &self.login).await?;
        let mut diffs = Vec::new();
        for name in self.p.name.clone() {
            let found = if name == "all" {
                None
            } else {
                schema(&mut db, &name).await?
            };
            self.plan_one(&name, found.as_ref(), &mut diffs)?;
        }
        if let DbState::Dump | DbState::Import = self.p.state {
            self.shell = Some(self.client_command(ctx, &db.endpoint).await?);
        }
        let commands = self.commands();
        if commands.is_empty() {
            return Ok(Query::Unchanged(self.outcome(false)));
        }
        let mut change = Change::new().with("executed_commands", commands);
        change.diffs = diffs;
        for (k, v) in self.outcome(true).data {
            change.data.entry(k).or_insert(v);
        }
        // The plan is in `stmts` and `shell`; the apply runs it on the
        // connection the query looked through.
        Ok(Query::Change(change, Planned::boxed(*self, db)))
    }
}

#[async_trait]
impl ApplyPlan for MysqlDbAction {
    type Plan = Db;

    async fn apply_plan(self, mut db: Db, ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        db.execute_all(&self.stmts).await?;
        if let Some(cmd) = &self.shell {
            let mut req = ExecRequest::shell(cmd.clone());
            if let Some(pw) = &self.login.password {
                req.stdin = Some(option_file(pw).into_bytes());
            }
            let out = ctx.exec_req(req).await?;
            if out.rc != 0 {
                let what = if self.p.state == DbState::Dump {
                    "dump"
                } else {
                    "import"
                };
                let mut o = self
                    .outcome(true)
                    .with("rc", out.rc)
                    .with("stderr", out.stderr.trim_end().to_string());
                o.failed = true;
                o.msg = Some(format!(
                    "{what} failed with exit code {}: {}",
                    out.rc,
                    out.stderr.trim_end()
                ));
                return Ok(o);
            }
        }
        Ok(self.outcome(true))
    }
}

impl MysqlDbAction {
    /// Adds what one database needs to `stmts` (and a diff).
    fn plan_one(
        &mut self,
        name: &str,
        found: Option<&Schema>,
        diffs: &mut Vec<Diff>,
    ) -> Result<(), ModuleError> {
        let q = quote_ident(name);
        let (enc, col) = (self.p.encoding.as_deref(), self.p.collation.as_deref());
        let (sql, before, after) = match (self.p.state, found) {
            (DbState::Absent, Some(s)) => (
                format!("DROP DATABASE {q}"),
                s.text(),
                "absent\n".to_string(),
            ),
            (DbState::Present | DbState::Import, None) if name != "all" => (
                format!("CREATE DATABASE {q}{}", self.charset_clause()),
                "absent\n".to_string(),
                schema_text(enc, col),
            ),
            (DbState::Present, Some(s)) if s.differs(enc, col) => {
                let default_col = enc.map(|e| format!("(the default of {e})"));
                let after_col = col.map(String::from).or(default_col);
                (
                    format!("ALTER DATABASE {q}{}", self.charset_clause()),
                    s.text(),
                    schema_text(Some(enc.unwrap_or(&s.charset)), after_col.as_deref()),
                )
            }
            (DbState::Dump, None) if name != "all" => {
                return Err(ModuleError::failed(format!(
                    "cannot dump database `{name}`: it does not exist"
                )));
            }
            _ => return Ok(()),
        };
        self.stmts.push(Stmt::plain(sql));
        diffs.push(Diff {
            header: format!("mysql database {name}"),
            before,
            after,
        });
        Ok(())
    }

    fn charset_clause(&self) -> String {
        let mut s = String::new();
        if let Some(e) = &self.p.encoding {
            s.push_str(&format!(" CHARACTER SET {e}"));
        }
        if let Some(c) = &self.p.collation {
            s.push_str(&format!(" COLLATE {c}"));
        }
        s
    }

    /// Everything that runs, as shown: SQL first, then the client command.
    fn commands(&self) -> Vec<String> {
        self.stmts
            .iter()
            .map(|s| s.shown.clone())
            .chain(self.shell.clone())
            .collect()
    }

    fn outcome(&self, changed: bool) -> Outcome {
        let mut o = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        };
        o = o
            .with("db", self.p.name.join(" "))
            .with("db_list", self.p.name.clone())
            .with("executed_commands", self.commands());
        o
    }

    /// The `mysqldump`/`mysql` command line for dump or import.
    async fn client_command(
        &self,
        ctx: &ModuleCtx<'_>,
        endpoint: &Endpoint,
    ) -> Result<String, ModuleError> {
        let target = self.p.target.clone().unwrap_or_default();
        let dump = self.p.state == DbState::Dump;
        if !dump
            && ctx
                .conn
                .stat(&target, ctx.become_.as_ref())
                .await?
                .is_none()
        {
            return Err(ModuleError::failed(format!(
                "cannot import: {target} does not exist on the host"
            )));
        }
        let mut words: Vec<String> = vec![if dump { "mysqldump" } else { "mysql" }.into()];
        if self.login.password.is_some() {
            // Must come first; fd 3 is the pipe that carries the password.
            words.push("--defaults-extra-file=/dev/fd/3".into());
        }
        words.push(format!("--user={}", self.login.user));
        words.extend(endpoint.client_args());
        if self.p.force {
            words.push("--force".into());
        }
        let all = self.p.name.iter().any(|n| n == "all");
        match (dump, all, self.p.name.len()) {
            (true, true, _) => words.push("--all-databases".into()),
            (true, false, 1) => {
                words.push("--quick".into());
                words.push(self.p.name[0].clone());
            }
            (true, false, _) => {
                words.push("--quick".into());
                words.push("--databases".into());
                words.extend(self.p.name.iter().cloned());
            }
            (false, false, _) => words.push(self.p.name[0].clone()),
            (false, true, _) => {}
        }
        let mut client: String = words
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ");
        if self.login.password.is_some() {
            client.push_str(" 3<&0");
        }
        Ok(transfer_script(&client, &target, dump))
    }
}

/// The shell text around the client: compression by the file's suffix,
/// through a temporary file so that a failing client or compressor gives
/// the exit code (POSIX sh has no `pipefail`).
fn transfer_script(client: &str, target: &str, dump: bool) -> String {
    let t = shell_quote(target);
    let tool = [
        (".gz", "gzip"),
        (".bz2", "bzip2"),
        (".xz", "xz"),
        (".zst", "zstd"),
    ]
    .iter()
    .find(|(ext, _)| target.ends_with(ext))
    .map(|(_, tool)| *tool);
    match (tool, dump) {
        (None, true) => format!("{client} > {t}"),
        (None, false) => format!("{client} < {t}"),
        (Some(tool), true) => format!(
            "tmp=$(mktemp) || exit 1; {client} > \"$tmp\" && {tool} -c < \"$tmp\" > {t}; rc=$?; rm -f \"$tmp\"; exit $rc"
        ),
        (Some(tool), false) => format!(
            "tmp=$(mktemp) || exit 1; {tool} -dc < {t} > \"$tmp\" && {client} < \"$tmp\"; rc=$?; rm -f \"$tmp\"; exit $rc"
        ),
    }
}

/// A client option file holding the password, sent on the client's fd 3.
fn option_file(pw: &Secret) -> String {
    let escaped = pw.expose().replace('\\', "\\\\").replace('"', "\\\"");
    format!("[client]\npassword=\"{escaped}\"\n")
}

async fn schema(db: &mut Db, name: &str) -> Result<Option<Schema>, ModuleError> {
    // BINARY: database names are case-sensitive on Linux, information_schema's collation is not.
    let rows = db
        .rows(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA \
             WHERE BINARY SCHEMA_NAME = ?",
            &[name],
        )
        .await?;
    Ok(rows.into_iter().next().map(|r| {
        let mut it = r.into_iter().map(Option::unwrap_or_default);
        Schema {
            charset: it.next().unwrap_or_default(),
            collation: it.next().unwrap_or_default(),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_scripts() {
        assert_eq!(
            transfer_script("mysqldump x", "/b/x.sql", true),
            "mysqldump x > /b/x.sql"
        );
        let s = transfer_script("mysql x", "/b/x.sql.gz", false);
        assert!(
            s.contains("gzip -dc < /b/x.sql.gz > \"$tmp\" && mysql x < \"$tmp\""),
            "{s}"
        );
    }

    #[test]
    fn option_file_escapes_quotes() {
        assert_eq!(
            option_file(&Secret::new(r#"a"b\c"#)),
            "[client]\npassword=\"a\\\"b\\\\c\"\n"
        );
    }
}
