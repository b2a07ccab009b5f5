//! `mysql_db` against the real MariaDB: create, alter, check mode, odd names, dump/import, bad input.

use super::{require_mariadb, sql, sql_quiet, unique};
use crate::modules::testing::TestHost;
use serde_json::{Value, json};

async fn charset(name: &str) -> Vec<String> {
    let q = format!(
        "SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, '/', DEFAULT_COLLATION_NAME) FROM information_schema.SCHEMATA \
         WHERE SCHEMA_NAME = '{name}'"
    );
    sql(&q).await
}

#[tokio::test]
async fn create_rerun_alter_remove() {
    require_mariadb!();
    let name = unique("oplay_db");
    let host = TestHost::new();
    let args = json!({"name": name, "encoding": "utf8mb4", "collation": "utf8mb4_general_ci"});
    let out = host.run("mysql_db", args.clone()).await.unwrap();
    assert!(out.changed && !out.failed, "{out:?}");
    assert_eq!(
        out.data["executed_commands"],
        json!([format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
        )])
    );
    assert_eq!(out.data["db"], json!(name));
    assert_eq!(charset(&name).await, vec!["utf8mb4/utf8mb4_general_ci"]);

    let again = host.run("mysql_db", args).await.unwrap();
    assert!(!again.changed, "{again:?}");
    assert_eq!(again.data["executed_commands"], json!([]));

    let latin = json!({"name": name, "encoding": "latin1"});
    let out = host.run("mysql_db", latin.clone()).await.unwrap();
    assert!(out.changed);
    assert_eq!(
        out.data["executed_commands"],
        json!([format!("ALTER DATABASE `{name}` CHARACTER SET latin1")])
    );
    assert_eq!(charset(&name).await, vec!["latin1/latin1_swedish_ci"]);
    assert!(!host.run("mysql_db", latin).await.unwrap().changed);

    let absent = json!({"db": name, "state": "absent"});
    assert!(host.run("mysql_db", absent.clone()).await.unwrap().changed);
    assert!(charset(&name).await.is_empty());
    assert!(!host.run("mysql_db", absent).await.unwrap().changed);
}

#[tokio::test]
async fn check_mode_creates_nothing() {
    require_mariadb!();
    let name = unique("oplay_db");
    let mut host = TestHost::new();
    host.check = true;
    let out = host.run("mysql_db", json!({"name": name})).await.unwrap();
    assert!(out.changed, "{out:?}");
    assert_eq!(
        out.data["executed_commands"],
        json!([format!("CREATE DATABASE `{name}`")])
    );
    assert_eq!(out.diffs.len(), 1);
    assert!(
        charset(&name).await.is_empty(),
        "check mode created the database"
    );
}

#[tokio::test]
async fn odd_names_are_quoted() {
    require_mariadb!();
    let tag = unique("x");
    let names = vec![format!("we`ird_{tag}"), format!("o'neil_{tag}")];
    let host = TestHost::new();
    let out = host.run("mysql_db", json!({"name": names})).await.unwrap();
    assert!(out.changed && !out.failed, "{out:?}");
    assert_eq!(out.data["db_list"], json!(names));
    let found = sql(&format!("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%{tag}' ORDER BY 1")).await;
    assert_eq!(found, vec![names[1].clone(), names[0].clone()]);
    assert!(
        !host
            .run("mysql_db", json!({"name": names}))
            .await
            .unwrap()
            .changed
    );
    assert!(
        host.run("mysql_db", json!({"name": names, "state": "absent"}))
            .await
            .unwrap()
            .changed
    );
    assert!(
        sql(&format!(
            "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%{tag}'"
        ))
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn dump_and_import_compressed() {
    require_mariadb!();
    let name = unique("oplay_dump");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("d.sql.gz").display().to_string();
    let host = TestHost::new();
    host.run("mysql_db", json!({"name": name})).await.unwrap();
    sql_quiet(&format!(
        "CREATE TABLE `{name}`.t (v INT); INSERT INTO `{name}`.t VALUES (42)"
    ))
    .await;
    let out = host
        .run(
            "mysql_db",
            json!({"name": name, "state": "dump", "target": target}),
        )
        .await
        .unwrap();
    assert!(out.changed && !out.failed, "{out:?}");
    assert!(std::fs::metadata(&target).unwrap().len() > 0);
    sql_quiet(&format!("DROP DATABASE `{name}`")).await;
    let out = host
        .run(
            "mysql_db",
            json!({"name": name, "state": "import", "target": target}),
        )
        .await
        .unwrap();
    assert!(out.changed && !out.failed, "{out:?}");
    assert_eq!(
        sql(&format!("SELECT CAST(v AS CHAR) FROM `{name}`.t")).await,
        vec!["42"]
    );
    sql_quiet(&format!("DROP DATABASE `{name}`")).await;
}

#[tokio::test]
async fn dump_of_a_missing_database_fails() {
    require_mariadb!();
    let name = unique("oplay_none");
    let err = TestHost::new()
        .run(
            "mysql_db",
            json!({"name": name, "state": "dump", "target": "/tmp/none.sql"}),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn bad_parameters() {
    let host = TestHost::new();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"state": "present"}), "missing field `name`"),
        (json!({"name": {"a": 1}}), "expected a list of strings"),
        (
            json!({"name": "x", "colation": "utf8mb4_bin"}),
            "unknown field `colation`",
        ),
        (
            json!({"name": "x", "state": "gone"}),
            "unknown variant `gone`",
        ),
        (json!({"name": "x", "state": "dump"}), "need `target`"),
        (
            json!({"name": "x", "encoding": "utf8; DROP"}),
            "not a character set",
        ),
        (json!({"name": "all"}), "only for state dump or import"),
        (
            json!({"name": "x", "login_port": 0}),
            "login_port must be between 1 and 65535",
        ),
    ];
    for (args, expected) in cases {
        let err = host
            .run("mysql_db", args.clone())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{args}: {err}");
    }
}

#[tokio::test]
async fn unreachable_port_names_it() {
    let host = TestHost::new();
    let err = host
        .run(
            "mysql_db",
            json!({"name": "x", "login_host": "127.0.0.1", "login_port": 1}),
        )
        .await
        .unwrap_err();
    assert!(
        !err.is_unreachable(),
        "the host is reachable, the server is not"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("cannot reach MySQL at 127.0.0.1:1") && msg.contains("refused"),
        "{msg}"
    );
}

#[tokio::test]
async fn wrong_password_is_access_denied() {
    require_mariadb!();
    let pw = "Wrong-Pass-4711";
    let err = TestHost::new()
        .run(
            "mysql_db",
            json!({"name": "x", "login_host": "127.0.0.1", "login_user": "oplay_test", "login_password": pw}),
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("ERROR 1045 (28000): Access denied for user 'oplay_test'"),
        "{msg}"
    );
    assert!(msg.contains("127.0.0.1:3306") && !msg.contains(pw), "{msg}");
}
