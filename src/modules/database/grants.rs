//! Privileges: the `priv` parameter of `mysql_user`, the lines of
//! `SHOW GRANTS`, and the REVOKE/GRANT statements that turn one into the
//! other.
//!
//! Both sides are read into the same [`PrivMap`] (object → privileges),
//! normalised so that what the user writes and what the server prints
//! compare equal: `ALL` is `ALL PRIVILEGES`, names lose their backticks,
//! `USAGE` means "nothing", `GRANT` stands for `WITH GRANT OPTION`.
//! Grants that `priv` cannot express (roles, `PROXY`, routines) are left
//! alone. Not for talking to the server: `mysql_user.rs` does that.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Stmt, quote_ident};

/// What a grant applies to: `*.*`, `db.*` or `db.table` (`None` is `*`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Object {
    /// The database (`None`: every database).
    pub db: Option<String>,
    /// The table (`None`: every table).
    pub table: Option<String>,
}

impl Object {
    /// The object as SQL, e.g. `` `glance`.* ``.
    pub fn sql(&self) -> String {
        let part = |p: &Option<String>| p.as_deref().map_or("*".to_string(), quote_ident);
        format!("{}.{}", part(&self.db), part(&self.table))
    }
}

/// The privileges held on one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Privs {
    /// Normalised names, e.g. `SELECT`, `ALL PRIVILEGES`, ``SELECT (`a`)``.
    pub set: BTreeSet<String>,
    /// Whether `WITH GRANT OPTION` is held.
    pub grant_option: bool,
}

/// The privileges held, by object.
pub type PrivMap = BTreeMap<Object, Privs>;

const ALL: &str = "ALL PRIVILEGES";

/// Static privilege names of MariaDB 10.11 and MySQL 8. MySQL's dynamic
/// privileges (`BACKUP_ADMIN` ...) are accepted by their shape instead.
const KNOWN: &[&str] = &[
    ALL,
    "ALTER",
    "ALTER ROUTINE",
    "BINLOG ADMIN",
    "BINLOG MONITOR",
    "BINLOG REPLAY",
    "CONNECTION ADMIN",
    "CREATE",
    "CREATE ROLE",
    "CREATE ROUTINE",
    "CREATE TABLESPACE",
    "CREATE TEMPORARY TABLES",
    "CREATE USER",
    "CREATE VIEW",
    "DELETE",
    "DELETE HISTORY",
    "DROP",
    "DROP ROLE",
    "EVENT",
    "EXECUTE",
    "FEDERATED ADMIN",
    "FILE",
    "INDEX",
    "INSERT",
    "LOCK TABLES",
    "PROCESS",
    "PROXY",
    "READ_ONLY ADMIN",
    "REFERENCES",
    "RELOAD",
    "REPLICA MONITOR",
    "REPLICATION CLIENT",
    "REPLICATION MASTER ADMIN",
    "REPLICATION REPLICA",
    "REPLICATION SLAVE",
    "REPLICATION SLAVE ADMIN",
    "SELECT",
    "SET USER",
    "SHOW CREATE ROUTINE",
    "SHOW DATABASES",
    "SHOW VIEW",
    "SHUTDOWN",
    "SLAVE MONITOR",
    "SUPER",
    "TRIGGER",
    "UPDATE",
    "USAGE",
];

/// Reads the `priv` parameter: `db.*:SELECT,INSERT/db2.*:ALL`, or a mapping
/// `{ 'db.*': 'SELECT,INSERT' }` (values may also be lists).
pub fn parse_priv_param(v: &Value) -> Result<PrivMap, String> {
    let mut out = PrivMap::new();
    match v {
        Value::String(s) => {
            for item in split_top(s.trim(), '/')
                .into_iter()
                .filter(|i| !i.trim().is_empty())
            {
                let at = find_top(item, ":").ok_or_else(|| {
                    format!(
                        "priv `{item}` lacks `:` between object and privileges (like `db.*:ALL`)"
                    )
                })?;
                add_entry(&mut out, &item[..at], &item[at + 1..])?;
            }
        }
        Value::Object(map) => {
            for (obj, privs) in map {
                let text = match privs {
                    Value::String(s) => s.clone(),
                    Value::Array(a) => {
                        let words: Option<Vec<&str>> = a.iter().map(Value::as_str).collect();
                        words
                            .ok_or_else(|| format!("privileges of `{obj}` must be strings"))?
                            .join(",")
                    }
                    other => {
                        return Err(format!(
                            "privileges of `{obj}` must be a string like `SELECT,INSERT`, found {}",
                            crate::value::describe(other)
                        ));
                    }
                };
                add_entry(&mut out, obj, &text)?;
            }
        }
        other => {
            return Err(format!(
                "priv must be a string like `db.*:ALL` or a mapping, found {}",
                crate::value::describe(other)
            ));
        }
    }
    Ok(out)
}

fn add_entry(out: &mut PrivMap, obj: &str, privs: &str) -> Result<(), String> {
    let object = parse_object(obj.trim())?;
    let mut p = Privs::default();
    for raw in split_top(privs, ',') {
        let name = normalize_priv(raw)?;
        if name == "GRANT" {
            p.grant_option = true;
        } else {
            check_priv(&name)?;
            if name != "USAGE" {
                p.set.insert(name);
            }
        }
    }
    let entry = out.entry(object).or_default();
    entry.set.extend(p.set);
    entry.grant_option |= p.grant_option;
    Ok(())
}

fn check_priv(name: &str) -> Result<(), String> {
    let base = name.split(" (").next().unwrap_or(name);
    let dynamic = base.contains('_')
        && base
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit());
    if KNOWN.contains(&base) || dynamic {
        return Ok(());
    }
    let hint = crate::source::did_you_mean(base, KNOWN.iter().copied())
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    Err(format!("unknown privilege `{base}`{hint}"))
}

/// Parses `*.*`, `db.*`, `db.table`, with MySQL-style backticks allowed.
pub fn parse_object(s: &str) -> Result<Object, String> {
    let at =
        find_top(s, ".").ok_or_else(|| format!("`{s}` is not an object like `db.*` or `*.*`"))?;
    let part = |p: &str| -> Result<Option<String>, String> {
        let p = p.trim();
        match p {
            "" => Err(format!("`{s}` has an empty database or table name")),
            "*" => Ok(None),
            _ => Ok(Some(unquote(p))),
        }
    };
    let (db, table) = (part(&s[..at])?, part(&s[at + 1..])?);
    if db.is_none() && table.is_some() {
        return Err(format!("`{s}`: a table needs a database (`db.table`)"));
    }
    Ok(Object { db, table })
}

fn unquote(p: &str) -> String {
    match p.strip_prefix('`').and_then(|x| x.strip_suffix('`')) {
        Some(inner) => inner.replace("``", "`"),
        None => p.to_string(),
    }
}

/// Normalises one privilege: upper case, single spaces, `ALL` →
/// `ALL PRIVILEGES`, and a column list as ``SELECT (`a`, `b`)`` (sorted).
fn normalize_priv(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let (name, cols) = match find_top(raw, "(") {
        Some(at) => (&raw[..at], Some(&raw[at..])),
        None => (raw, None),
    };
    let mut name = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase();
    if name == "ALL" {
        name = ALL.into();
    }
    if name.is_empty() {
        return Err(format!("empty privilege in `{raw}`"));
    }
    let Some(cols) = cols else { return Ok(name) };
    let inner = cols
        .trim()
        .strip_prefix('(')
        .and_then(|c| c.strip_suffix(')'))
        .ok_or_else(|| format!("bad column list in privilege `{raw}`"))?;
    let mut names: Vec<String> = split_top(inner, ',')
        .iter()
        .map(|c| unquote(c.trim()))
        .collect();
    if names.iter().any(String::is_empty) {
        return Err(format!("empty column name in privilege `{raw}`"));
    }
    names.sort();
    let cols: Vec<String> = names.iter().map(|c| quote_ident(c)).collect();
    Ok(format!("{name} ({})", cols.join(", ")))
}

/// Reads the lines of `SHOW GRANTS FOR ...` into a [`PrivMap`].
pub fn parse_show_grants(lines: &[String]) -> PrivMap {
    let mut out = PrivMap::new();
    for line in lines {
        if let Some((object, privs)) = parse_grant_line(line) {
            let entry: &mut Privs = out.entry(object).or_default();
            entry.set.extend(privs.set);
            entry.grant_option |= privs.grant_option;
        }
    }
    out
}

/// One `GRANT ... ON ... TO ...` line; `None` for what `priv` does not manage.
fn parse_grant_line(line: &str) -> Option<(Object, Privs)> {
    let body = line.trim().strip_prefix("GRANT ")?;
    let on = find_top(body, " ON ")?;
    let after_on = body[on + 4..].trim_start();
    let to = find_top(after_on, " TO ")?;
    let object_text = after_on[..to].trim();
    let upper = object_text.to_ascii_uppercase();
    if ["FUNCTION ", "PROCEDURE ", "PACKAGE "]
        .iter()
        .any(|k| upper.starts_with(k))
    {
        return None;
    }
    let object = parse_object(object_text).ok()?;
    let mut privs = Privs::default();
    for raw in split_top(&body[..on], ',') {
        let name = normalize_priv(raw).ok()?;
        if name == "PROXY" {
            return None;
        }
        if name != "USAGE" {
            privs.set.insert(name);
        }
    }
    let rest = &after_on[to..];
    privs.grant_option =
        find_top(rest, " WITH ").is_some_and(|w| find_top(&rest[w..], "GRANT OPTION").is_some());
    Some((object, privs))
}

/// The statements that take `current` to `wanted` for `account`: revokes
/// first, then grants. With `append`, nothing is revoked.
pub fn plan(account: &str, current: &PrivMap, wanted: &PrivMap, append: bool) -> Vec<Stmt> {
    let empty = Privs::default();
    let objects: BTreeSet<&Object> = current.keys().chain(wanted.keys()).collect();
    let mut stmts = Vec::new();
    for obj in objects {
        let cur = current.get(obj).unwrap_or(&empty);
        // An object missing from `priv` is to hold nothing, unless appending.
        let want = match wanted.get(obj) {
            Some(w) => w,
            None if append => continue,
            None => &empty,
        };
        stmts.extend(plan_object(account, &obj.sql(), cur, want, append));
    }
    stmts
}

/// The REVOKE and GRANT (at most one of each) for one object.
fn plan_object(account: &str, on: &str, cur: &Privs, want: &Privs, append: bool) -> Vec<Stmt> {
    let mut revoke: Vec<String> = if append {
        Vec::new()
    } else {
        cur.set.difference(&want.set).cloned().collect()
    };
    if cur.grant_option && !want.grant_option && !append {
        revoke.push("GRANT OPTION".into());
    }
    // ALL PRIVILEGES that stays covers every other privilege: granting
    // one more changes nothing and SHOW GRANTS would never show it.
    let all_stays = cur.set.contains(ALL) && !revoke.iter().any(|r| r == ALL);
    let grant: Vec<String> = if all_stays {
        Vec::new()
    } else {
        want.set.difference(&cur.set).cloned().collect()
    };
    let add_option = want.grant_option && !cur.grant_option;
    let mut stmts = Vec::new();
    if !revoke.is_empty() {
        let what = revoke.join(", ");
        stmts.push(Stmt::plain(format!("REVOKE {what} ON {on} FROM {account}")));
    }
    if !grant.is_empty() || add_option {
        let what = if grant.is_empty() {
            "USAGE".to_string()
        } else {
            grant.join(", ")
        };
        let option = if add_option { " WITH GRANT OPTION" } else { "" };
        stmts.push(Stmt::plain(format!(
            "GRANT {what} ON {on} TO {account}{option}"
        )));
    }
    stmts
}

/// Statements granting `wanted` to a new account (which holds nothing yet).
pub fn plan_new(account: &str, wanted: &PrivMap) -> Vec<Stmt> {
    plan(account, &PrivMap::new(), wanted, true)
}

/// Splits at `sep` outside backticks, quotes and parentheses.
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c, top) in scan(s) {
        if top && c == sep {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

/// The byte offset of the first `pat` (ASCII, any case) outside backticks,
/// quotes and parentheses. `(` itself is found at the top level.
fn find_top(s: &str, pat: &str) -> Option<usize> {
    let pat = pat.as_bytes();
    scan(s).find_map(|(i, _, top)| {
        let hit = s
            .as_bytes()
            .get(i..i + pat.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(pat));
        (top && hit).then_some(i)
    })
}

/// Walks `s` and says, for each char, whether it is at the top level:
/// not inside `` `...` ``, `'...'`, `"..."` or `(...)` (an opening
/// quote or parenthesis is itself top level).
fn scan(s: &str) -> impl Iterator<Item = (usize, char, bool)> + '_ {
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut escaped = false;
    s.char_indices().map(move |(i, c)| {
        let top = quote.is_none() && depth == 0;
        match quote {
            Some(_) if escaped => escaped = false,
            Some('\'') | Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '`' | '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        (i, c, top)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(db: Option<&str>, table: Option<&str>) -> Object {
        Object {
            db: db.map(String::from),
            table: table.map(String::from),
        }
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_the_priv_string() {
        let m = parse_priv_param(&json!(
            "glance.*:ALL/`my/db`.t:select, insert ,GRANT/*.*:USAGE"
        ))
        .unwrap();
        assert_eq!(m[&obj(Some("glance"), None)].set, set(&["ALL PRIVILEGES"]));
        let t = &m[&obj(Some("my/db"), Some("t"))];
        assert_eq!(t.set, set(&["INSERT", "SELECT"]));
        assert!(t.grant_option);
        assert_eq!(m[&obj(None, None)], Privs::default());
    }

    #[test]
    fn parses_the_dict_form_and_columns() {
        let m =
            parse_priv_param(&json!({"glance.*": "ALL", "db.t": ["SELECT (b, `a`)", "UPDATE"]}))
                .unwrap();
        assert_eq!(
            m[&obj(Some("db"), Some("t"))].set,
            set(&["SELECT (`a`, `b`)", "UPDATE"])
        );
    }

    #[test]
    fn rejects_bad_privileges() {
        let e = parse_priv_param(&json!("db.*:SELCT")).unwrap_err();
        assert!(
            e.contains("unknown privilege `SELCT`") && e.contains("SELECT"),
            "{e}"
        );
        assert!(parse_priv_param(&json!("db.*")).is_err());
        assert!(parse_priv_param(&json!("db:ALL")).is_err());
        assert!(parse_priv_param(&json!(["db.*:ALL"])).is_err());
        assert!(parse_priv_param(&json!("db.*:SELECT; DROP")).is_err());
        assert!(parse_priv_param(&json!("db.*:BACKUP_ADMIN")).is_ok());
    }

    #[test]
    fn reads_show_grants() {
        let lines: Vec<String> = [
            "GRANT USAGE ON *.* TO `glance`@`%` IDENTIFIED BY PASSWORD '*ABC'",
            "GRANT ALL PRIVILEGES ON `glance`.* TO `glance`@`%` WITH GRANT OPTION",
            "GRANT SELECT (`b`, `a`), INSERT ON `we``ird`.`t` TO `glance`@`%`",
            "GRANT `role1` TO `glance`@`%`",
            "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
            "GRANT EXECUTE ON PROCEDURE `db`.`p` TO `glance`@`%`",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let m = parse_show_grants(&lines);
        assert_eq!(m.len(), 3);
        assert_eq!(m[&obj(None, None)], Privs::default());
        let g = &m[&obj(Some("glance"), None)];
        assert!(g.grant_option && g.set == set(&["ALL PRIVILEGES"]));
        assert_eq!(
            m[&obj(Some("we`ird"), Some("t"))].set,
            set(&["INSERT", "SELECT (`a`, `b`)"])
        );
    }

    #[test]
    fn root_line_with_auth_chain() {
        let line = "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` IDENTIFIED VIA mysql_native_password USING 'invalid' OR unix_socket WITH GRANT OPTION".to_string();
        let m = parse_show_grants(&[line]);
        assert!(m[&obj(None, None)].grant_option);
    }

    #[test]
    fn same_privileges_plan_nothing() {
        let current = parse_show_grants(&[
            "GRANT USAGE ON *.* TO `glance`@`%`".to_string(),
            "GRANT ALL PRIVILEGES ON `glance`.* TO `glance`@`%`".to_string(),
        ]);
        let wanted = parse_priv_param(&json!("glance.*:ALL")).unwrap();
        assert!(plan("`glance`@`%`", &current, &wanted, false).is_empty());
    }

    #[test]
    fn plans_revokes_then_grants() {
        let current = parse_show_grants(&[
            "GRANT RELOAD ON *.* TO `u`@`h`".to_string(),
            "GRANT SELECT, INSERT ON `a`.* TO `u`@`h` WITH GRANT OPTION".to_string(),
            "GRANT ALL PRIVILEGES ON `old`.* TO `u`@`h`".to_string(),
        ]);
        let wanted = parse_priv_param(&json!("a.*:SELECT,UPDATE/b.*:ALL,GRANT")).unwrap();
        let shown: Vec<String> = plan("`u`@`h`", &current, &wanted, false)
            .into_iter()
            .map(|s| s.sql)
            .collect();
        assert_eq!(
            shown,
            vec![
                "REVOKE RELOAD ON *.* FROM `u`@`h`",
                "REVOKE INSERT, GRANT OPTION ON `a`.* FROM `u`@`h`",
                "GRANT UPDATE ON `a`.* TO `u`@`h`",
                "GRANT ALL PRIVILEGES ON `b`.* TO `u`@`h` WITH GRANT OPTION",
                "REVOKE ALL PRIVILEGES ON `old`.* FROM `u`@`h`",
            ]
        );
        let appended: Vec<String> = plan("`u`@`h`", &current, &wanted, true)
            .into_iter()
            .map(|s| s.sql)
            .collect();
        assert_eq!(
            appended,
            vec![
                "GRANT UPDATE ON `a`.* TO `u`@`h`",
                "GRANT ALL PRIVILEGES ON `b`.* TO `u`@`h` WITH GRANT OPTION"
            ]
        );
    }

    #[test]
    fn all_covers_appended_privileges() {
        let current = parse_show_grants(&["GRANT ALL PRIVILEGES ON `a`.* TO `u`@`h`".to_string()]);
        let wanted = parse_priv_param(&json!("a.*:SELECT")).unwrap();
        assert!(plan("`u`@`h`", &current, &wanted, true).is_empty());
        let replaced: Vec<String> = plan("`u`@`h`", &current, &wanted, false)
            .into_iter()
            .map(|s| s.sql)
            .collect();
        assert_eq!(
            replaced,
            vec![
                "REVOKE ALL PRIVILEGES ON `a`.* FROM `u`@`h`",
                "GRANT SELECT ON `a`.* TO `u`@`h`"
            ]
        );
    }
}
