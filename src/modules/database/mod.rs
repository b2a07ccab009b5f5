//! Database modules: `mysql_db` and `mysql_user` for MariaDB/MySQL.
//!
//! Both talk SQL from the control node through the host's own connection
//! (see [`conn`]); neither needs a client library or Python on the target.
//! This file holds what both share: quoting names for SQL and the shape of
//! a statement that is run but shown without its secrets. Not for the
//! connection itself (`conn.rs`) or privilege handling (`grants.rs`).

pub mod conn;
pub mod grants;
#[cfg(test)]
mod live_tests;
pub mod mysql_db;
pub mod mysql_user;
pub mod params;

use std::sync::Arc;

use super::Module;

/// Every database module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![mysql_db::module(), mysql_user::module()]
}

/// One SQL statement: the text that runs and the text that is shown.
///
/// They differ only when the statement carries a password hash; `shown`
/// then has `'********'` in its place, so results, diffs and errors never
/// hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    /// The statement to run.
    pub sql: String,
    /// The statement as results, diffs and errors show it.
    pub shown: String,
}

impl Stmt {
    /// A statement with nothing to hide.
    pub fn plain(sql: String) -> Self {
        Stmt {
            shown: sql.clone(),
            sql,
        }
    }
}

/// Quotes an identifier (database, table, user or host name) with
/// backticks, doubling any backtick inside. Backtick quoting means the same
/// whatever the session's `sql_mode` (unlike `'...'` with backslashes), so
/// a name such as ``we`ird`` or `o'neil` can never break out of it.
/// NUL bytes cannot be quoted at all; callers reject them first.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A MySQL account, `` `user`@`host` ``.
pub fn account(user: &str, host: &str) -> String {
    format!("{}@{}", quote_ident(user), quote_ident(host))
}

/// Rejects names that no quoting makes safe or that MySQL refuses anyway.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if name.contains('\0') {
        return Err(format!(
            "{what} `{}` contains a NUL byte",
            name.escape_debug()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers_safely() {
        assert_eq!(quote_ident("glance"), "`glance`");
        assert_eq!(quote_ident("we`ird"), "`we``ird`");
        assert_eq!(quote_ident("o'neil"), "`o'neil`");
        assert_eq!(account("glance", "%"), "`glance`@`%`");
    }

    #[test]
    fn rejects_unquotable_names() {
        assert!(check_name("database name", "").is_err());
        assert!(check_name("database name", "a\0b").is_err());
        assert!(check_name("database name", "we`ird").is_ok());
    }
}
