//! Logging in to MariaDB/MySQL from the control node, through the host's
//! connection.
//!
//! sqlx always dials its own socket, so we give it one to dial: a unix
//! socket in a fresh 0700 directory on the control node. The one
//! connection accepted there is pumped into a stream that
//! [`Connection::tunnel`](crate::connection::Connection::tunnel) opened to
//! the database on the host's side (a TCP port or the server's unix
//! socket). Locally that is a plain socket; over SSH it is a
//! `direct-tcpip` or `direct-streamlocal` channel. sqlx stays unmodified.
//! A private unix socket rather than a listener on `127.0.0.1:0`: any local
//! user could race us to a TCP port and ride our tunnel, which for
//! `unix_socket` authentication means MariaDB's root.
//!
//! About `unix_socket` authentication (Debian's root): MariaDB checks the
//! uid of the process at the other end of its socket. Locally that is
//! oplay's own uid; over SSH it is sshd serving the login user. So root
//! without a password works when oplay runs as root locally or logs in over
//! SSH as root, through the socket only: through a TCP tunnel MariaDB sees
//! a TCP client and refuses it.
//!
//! Not for deciding what to change: the modules do that.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlSslMode};
use sqlx::{Connection as _, Executor as _, Row as _};
use tokio::net::UnixListener;
use tokio::task::JoinHandle;

use super::Stmt;
use crate::connection::{ConnectionError, TunnelTarget};
use crate::modules::{ModuleCtx, ModuleError};
use crate::secret::Secret;

/// Where MariaDB listens on Debian, tried in order when no login target is given.
const DEFAULT_SOCKETS: &[&str] = &["/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock"];

/// Errors from logging in or running SQL. Never hold a password.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The host's connection could not open a tunnel to the server.
    #[error("cannot reach MySQL at {target}: {source}")]
    Tunnel {
        /// The server's socket or address.
        target: String,
        /// Why the tunnel failed.
        #[source]
        source: ConnectionError,
    },
    /// The server refused the login.
    #[error("cannot connect to MySQL at {target} as `{user}`: {message}")]
    Connect {
        /// The server's socket or address.
        target: String,
        /// The account logged in as.
        user: String,
        /// The server's message.
        message: String,
    },
    /// The server did not answer within `connect_timeout`.
    #[error("cannot connect to MySQL at {target}: no answer within {secs} s (connect_timeout)")]
    Timeout {
        /// The server's socket or address.
        target: String,
        /// How long oplay waited.
        secs: u64,
    },
    /// The local end of the tunnel could not be made.
    #[error("local socket for the MySQL tunnel: {0}")]
    LocalSocket(#[source] std::io::Error),
    /// The session was used after it was closed.
    #[error("the MySQL connection is already closed")]
    Closed,
    /// A statement failed.
    #[error("query `{sql}` failed: {message}")]
    Query {
        /// The statement, as shown (without secrets).
        sql: String,
        /// The server's message.
        message: String,
    },
}

impl From<DbError> for ModuleError {
    fn from(e: DbError) -> Self {
        match e {
            // The host itself went away: that is the host's failure, not the task's.
            DbError::Tunnel {
                source: source @ ConnectionError::Lost { .. },
                ..
            } => ModuleError::Connection(source),
            other => ModuleError::Failed(other.to_string()),
        }
    }
}

/// The login parameters shared by the MySQL modules, as given.
#[derive(Debug, Clone, Default)]
pub struct LoginArgs {
    /// `login_host`.
    pub host: Option<String>,
    /// `login_port`.
    pub port: Option<i64>,
    /// `login_user`.
    pub user: Option<String>,
    /// `login_password`.
    pub password: Option<Secret>,
    /// `login_unix_socket`.
    pub unix_socket: Option<String>,
    /// `connect_timeout`, in seconds.
    pub connect_timeout: Option<i64>,
}

/// Where the server is, seen from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket on the host.
    Socket(String),
    /// A TCP address, as seen from the host.
    Tcp {
        /// The host name or address.
        host: String,
        /// The port.
        port: u16,
    },
}

impl Endpoint {
    fn tunnel_target(&self) -> TunnelTarget {
        match self {
            Endpoint::Socket(p) => TunnelTarget::Unix(PathBuf::from(p)),
            Endpoint::Tcp { host, port } => TunnelTarget::Tcp {
                host: host.clone(),
                port: *port,
            },
        }
    }

    /// The client options (`mysql`, `mysqldump`) that reach the same server.
    pub fn client_args(&self) -> Vec<String> {
        match self {
            Endpoint::Socket(p) => vec![format!("--socket={p}")],
            Endpoint::Tcp { host, port } => vec![
                "--protocol=TCP".into(),
                format!("--host={host}"),
                format!("--port={port}"),
            ],
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Socket(p) => write!(f, "unix socket {p}"),
            Endpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// Validated login parameters, ready to connect.
#[derive(Debug, Clone)]
pub struct Login {
    /// `None` means "the default": Debian's socket if it exists, else TCP.
    pub endpoint: Option<Endpoint>,
    /// The account to log in as.
    pub user: String,
    /// Its password, if any.
    pub password: Option<Secret>,
    /// How long to wait for the login.
    pub timeout: Duration,
}

impl LoginArgs {
    /// Checks the values; fails on a port or timeout out of range.
    pub fn validate(self) -> Result<Login, ModuleError> {
        let port = match self.port {
            None => None,
            Some(p) => Some(u16::try_from(p).ok().filter(|p| *p > 0).ok_or_else(|| {
                ModuleError::Params(format!("login_port must be between 1 and 65535, found {p}"))
            })?),
        };
        let endpoint = match (self.unix_socket, self.host, port) {
            (Some(_), Some(_), _) => {
                return Err(ModuleError::Params(
                    "give `login_unix_socket` or `login_host`, not both".into(),
                ));
            }
            (Some(s), None, _) => Some(Endpoint::Socket(s)),
            (None, Some(host), port) => Some(Endpoint::Tcp {
                host,
                port: port.unwrap_or(3306),
            }),
            (None, None, Some(port)) => Some(Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port,
            }),
            (None, None, None) => None,
        };
        let secs = self.connect_timeout.unwrap_or(30);
        if !(1..=3600).contains(&secs) {
            return Err(ModuleError::Params(format!(
                "connect_timeout must be between 1 and 3600 seconds, found {secs}"
            )));
        }
        Ok(Login {
            endpoint,
            user: self.user.unwrap_or_else(|| "root".into()),
            password: self.password,
            timeout: Duration::from_secs(secs as u64),
        })
    }
}

impl Login {
    /// The endpoint to use on this host: the given one, else the first
    /// Debian socket that exists there, else `127.0.0.1:3306`.
    pub async fn resolve(&self, ctx: &ModuleCtx<'_>) -> Result<Endpoint, ModuleError> {
        if let Some(e) = &self.endpoint {
            return Ok(e.clone());
        }
        for path in DEFAULT_SOCKETS {
            if ctx.conn.stat(path, None).await?.is_some() {
                return Ok(Endpoint::Socket((*path).to_string()));
            }
        }
        Ok(Endpoint::Tcp {
            host: "127.0.0.1".into(),
            port: 3306,
        })
    }
}

/// Result rows, every column as text (`None` for NULL).
pub type Rows = Vec<Vec<Option<String>>>;

/// One open database session, tunnelled through the host's connection.
pub struct Db {
    /// Always `Some` until dropped.
    session: Option<Session>,
    /// Whether the server is MariaDB (account syntax differs from MySQL's).
    pub mariadb: bool,
    /// Where the server was reached.
    pub endpoint: Endpoint,
}

struct Session {
    conn: MySqlConnection,
    pump: Pump,
}

impl Drop for Db {
    fn drop(&mut self) {
        // Say goodbye (COM_QUIT) instead of cutting the line, so the server
        // does not count and log an aborted client for every task.
        if let (Some(s), Ok(rt)) = (self.session.take(), tokio::runtime::Handle::try_current()) {
            rt.spawn(async move {
                let Session { conn, mut pump } = s;
                let _ = conn.close().await;
                // Let the pump forward the goodbye before it is stopped.
                let _ = tokio::time::timeout(Duration::from_secs(5), &mut pump.0).await;
            });
        }
    }
}

/// The task copying bytes between sqlx and the tunnel. Stopped when
/// dropped, so a timed-out or failed login leaves nothing running.
struct Pump(JoinHandle<()>);

impl Drop for Pump {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Logs in. The whole attempt (tunnel and handshake) is bounded by the
/// login's timeout.
pub async fn connect(ctx: &ModuleCtx<'_>, login: &Login) -> Result<Db, ModuleError> {
    let endpoint = login.resolve(ctx).await?;
    let target = endpoint.to_string();
    let attempt = open(ctx, login, endpoint);
    match tokio::time::timeout(login.timeout, attempt).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(DbError::Timeout {
            target,
            secs: login.timeout.as_secs(),
        }
        .into()),
    }
}

async fn open(ctx: &ModuleCtx<'_>, login: &Login, endpoint: Endpoint) -> Result<Db, DbError> {
    let target = endpoint.to_string();
    let tunnel = ctx
        .conn
        .tunnel(&endpoint.tunnel_target())
        .await
        .map_err(|source| DbError::Tunnel {
            target: target.clone(),
            source,
        })?;
    let dir = PrivateDir::create().map_err(DbError::LocalSocket)?;
    let path = dir.0.join("mysql.sock");
    let listener = UnixListener::bind(&path).map_err(DbError::LocalSocket)?;
    let pump = Pump(tokio::spawn(async move {
        // Exactly one connection: the one sqlx makes below.
        if let Ok((mut local, _)) = listener.accept().await {
            drop(listener);
            let mut tunnel = tunnel;
            let _ = tokio::io::copy_bidirectional(&mut local, &mut tunnel).await;
        }
    }));
    let mut opts = MySqlConnectOptions::new()
        .socket(&path)
        .username(&login.user)
        // A local socket needs no TLS; over TCP use it when the server offers it.
        .ssl_mode(match endpoint {
            Endpoint::Socket(_) => MySqlSslMode::Disabled,
            Endpoint::Tcp { .. } => MySqlSslMode::Preferred,
        })
        .pipes_as_concat(false)
        .timezone(None)
        .statement_cache_capacity(0);
    if let Some(pw) = &login.password {
        opts = opts.password(pw.expose());
    }
    // sqlx logs statements at info level; ours never carry a password,
    // but nothing here should depend on that.
    opts = sqlx::ConnectOptions::disable_statement_logging(opts);
    let conn = MySqlConnection::connect_with(&opts).await;
    drop(dir);
    let conn = conn.map_err(|e| DbError::Connect {
        target: target.clone(),
        user: login.user.clone(),
        message: describe(&e),
    })?;
    let mut db = Db {
        session: Some(Session { conn, pump }),
        mariadb: false,
        endpoint,
    };
    let version = db.rows("SELECT VERSION()", &[]).await?;
    db.mariadb = first_text(&version).is_some_and(|v| v.contains("MariaDB"));
    Ok(db)
}

impl Db {
    fn conn(&mut self) -> Result<&mut MySqlConnection, DbError> {
        match &mut self.session {
            Some(s) => Ok(&mut s.conn),
            None => Err(DbError::Closed),
        }
    }

    /// Runs a query and returns every column of every row as text (NULL
    /// as `None`). With `binds`, it is a prepared statement with `?`
    /// placeholders; without, it goes as plain text (which `SHOW` needs).
    /// Select only string columns when binding (cast numbers to CHAR).
    pub fn rows<'a>(
        &'a mut self,
        sql: &'a str,
        binds: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Rows, DbError>> {
        Box::pin(async move {
            let fail = |e: sqlx::Error| DbError::Query {
                sql: sql.to_string(),
                message: describe(&e),
            };
            let conn = self.conn()?;
            let rows = if binds.is_empty() {
                conn.fetch_all(sqlx::raw_sql(sql)).await.map_err(fail)?
            } else {
                let mut q = sqlx::query(sql);
                for b in binds {
                    q = q.bind(*b);
                }
                conn.fetch_all(q).await.map_err(fail)?
            };
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let mut cols = Vec::with_capacity(row.len());
                for i in 0..row.len() {
                    let v: Option<Vec<u8>> = row.try_get_unchecked(i).map_err(fail)?;
                    cols.push(v.map(|b| String::from_utf8_lossy(&b).into_owned()));
                }
                out.push(cols);
            }
            Ok(out)
        })
    }

    /// Runs one statement. A failure names the statement as shown, never
    /// as run, so a password hash cannot leak through an error.
    pub fn execute<'a>(&'a mut self, stmt: &'a Stmt) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move {
            let conn = self.conn()?;
            conn.execute(sqlx::raw_sql(&stmt.sql))
                .await
                .map_err(|e| DbError::Query {
                    sql: stmt.shown.clone(),
                    message: describe(&e),
                })?;
            Ok(())
        })
    }

    /// Runs statements in order, stopping at the first failure.
    pub async fn execute_all(&mut self, stmts: &[Stmt]) -> Result<(), DbError> {
        for s in stmts {
            self.execute(s).await?;
        }
        Ok(())
    }
}

/// The first column of the first row, if any.
pub fn first_text(rows: &Rows) -> Option<&str> {
    rows.first()?.first()?.as_deref()
}

/// An sqlx error in the words of the `mysql` client: `ERROR 1045 (28000): Access denied ...`.
fn describe(e: &sqlx::Error) -> String {
    match e.as_database_error() {
        Some(db) => match db.try_downcast_ref::<MySqlDatabaseError>() {
            Some(my) => format!(
                "ERROR {} ({}): {}",
                my.number(),
                my.code().unwrap_or("HY000"),
                my.message()
            ),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

/// A directory only our uid can enter, removed on drop.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn create() -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        let tag: u64 = rand::random();
        let path = std::env::temp_dir().join(format!("oplay-mysql-{tag:016x}"));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(PrivateDir(path))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(Path::new(&self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_defaults_and_choices() {
        let l = LoginArgs::default().validate().unwrap();
        assert_eq!(l.endpoint, None);
        assert_eq!(l.user, "root");
        let l = LoginArgs {
            port: Some(3307),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(
            l.endpoint,
            Some(Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 3307
            })
        );
        let bad = LoginArgs {
            port: Some(70000),
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("login_port")
        );
        let both = LoginArgs {
            host: Some("db".into()),
            unix_socket: Some("/s".into()),
            ..Default::default()
        };
        assert!(both.validate().is_err());
    }
}
