//! Live tests of the MySQL modules against the real MariaDB, and their
//! helpers: whether the server is there, unique names, and SQL as root to
//! check what the modules did (independently of the modules' own code).

mod mysql_db;
mod mysql_user;

use std::os::unix::fs::MetadataExt;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{Connection as _, Executor as _, Row as _};

/// The server's socket: `OPLAY_TEST_MYSQL_SOCKET` or Debian's.
pub fn socket() -> String {
    std::env::var("OPLAY_TEST_MYSQL_SOCKET").unwrap_or_else(|_| "/run/mysqld/mysqld.sock".into())
}

/// Why the live tests cannot run here, if they cannot. With
/// `OPLAY_TEST_SERVICES` set (CI) they always run, and fail loudly when
/// the server is missing.
pub fn skip_reason() -> Option<String> {
    if std::env::var_os("OPLAY_TEST_SERVICES").is_some() {
        return None;
    }
    if !std::path::Path::new(&socket()).exists() {
        return Some(format!(
            "OPLAY_TEST_SERVICES is not set and no MariaDB socket at {}",
            socket()
        ));
    }
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX);
    (uid != 0).then(|| "root over the unix socket needs uid 0".to_string())
}

/// Skips the calling test (returns from it) when MariaDB is not available.
macro_rules! require_mariadb {
    () => {
        if let Some(why) = $crate::modules::database::live_tests::skip_reason() {
            eprintln!("skipped: {why}");
            return;
        }
    };
}
pub(crate) use require_mariadb;

/// A fresh name, unique across parallel tests and runs.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{:08x}", rand::random::<u32>())
}

async fn root() -> MySqlConnection {
    let opts = MySqlConnectOptions::new().socket(socket()).username("root");
    MySqlConnection::connect_with(&opts)
        .await
        .expect("root login through the socket")
}

/// Runs SQL as root and returns the first column of each row.
pub async fn sql(q: &str) -> Vec<String> {
    let mut c = root().await;
    let rows = c
        .fetch_all(sqlx::raw_sql(q))
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    let _ = c.close().await;
    rows.iter()
        .map(|r| {
            let b: Option<Vec<u8>> = r.try_get_unchecked(0).unwrap();
            String::from_utf8_lossy(&b.unwrap_or_default()).into_owned()
        })
        .collect()
}

/// Runs statements as root, ignoring errors (for clean-up).
pub async fn sql_quiet(q: &str) {
    let mut c = root().await;
    let _ = c.execute(sqlx::raw_sql(q)).await;
    let _ = c.close().await;
}
