//! `mysql_user` against the real MariaDB: hosts, privileges, passwords, unix_socket users, odd names.

use super::{require_mariadb, sql, sql_quiet, unique};
use crate::modules::database::mysql_user::native_hash;
use crate::modules::testing::TestHost;
use serde_json::{Value, json};

async fn grants(user: &str, host: &str) -> Vec<String> {
    let lines = sql(&format!(
        "SHOW GRANTS FOR `{}`@`{host}`",
        user.replace('`', "``")
    ))
    .await;
    // Drop the password part: only the privileges matter here.
    lines
        .iter()
        .map(|l| l.split(" IDENTIFIED").next().unwrap_or(l).to_string())
        .collect()
}

async fn stored_hash(user: &str, host: &str) -> String {
    let q = format!(
        "SELECT JSON_VALUE(Priv, '$.authentication_string') FROM mysql.global_priv WHERE User = '{user}' AND Host = '{host}'"
    );
    sql(&q).await.into_iter().next().unwrap_or_default()
}

/// Asserts that no output of a run holds the password or its hash.
fn assert_no_secret(out: &crate::modules::Outcome, pw: &str) {
    let text = format!("{} {:?}", out.to_value(), out.diffs);
    assert!(!text.contains(pw), "password leaked: {text}");
    assert!(!text.contains(&native_hash(pw)[1..]), "hash leaked: {text}");
}

#[tokio::test]
async fn user_lifecycle_on_two_hosts() {
    require_mariadb!();
    let user = unique("oplay_u");
    let db = unique("oplay_db");
    let pw = "First-Secret-123";
    let host = TestHost::new();
    for h in ["%", "localhost"] {
        let args = json!({"name": user, "host": h, "password": pw, "priv": format!("{db}.*:ALL")});
        let out = host.run("mysql_user", args.clone()).await.unwrap();
        assert!(out.changed && !out.failed, "{out:?}");
        assert_eq!(out.data["password_changed"], json!(true));
        assert_eq!(
            out.data["executed_commands"],
            json!([
                format!("CREATE USER `{user}`@`{h}` IDENTIFIED BY PASSWORD '********'"),
                format!("GRANT ALL PRIVILEGES ON `{db}`.* TO `{user}`@`{h}`"),
            ])
        );
        assert_no_secret(&out, pw);
        assert_eq!(stored_hash(&user, h).await, native_hash(pw));
        assert_eq!(
            grants(&user, h).await,
            vec![
                format!("GRANT USAGE ON *.* TO `{user}`@`{h}`"),
                format!("GRANT ALL PRIVILEGES ON `{db}`.* TO `{user}`@`{h}`"),
            ]
        );
        let again = host.run("mysql_user", args).await.unwrap();
        assert!(!again.changed, "re-run changed: {again:?}");
    }

    // Replace the privileges, then append some.
    let narrow =
        json!({"name": user, "host": "%", "priv": {format!("`{db}`.*"): "SELECT,INSERT,GRANT"}});
    let out = host.run("mysql_user", narrow.clone()).await.unwrap();
    assert!(out.changed, "{out:?}");
    assert_eq!(
        grants(&user, "%").await[1],
        format!("GRANT SELECT, INSERT ON `{db}`.* TO `{user}`@`%` WITH GRANT OPTION")
    );
    assert!(!host.run("mysql_user", narrow).await.unwrap().changed);
    let more = json!({"name": user, "host": "%", "priv": "*.*:PROCESS", "append_privs": true});
    assert!(host.run("mysql_user", more.clone()).await.unwrap().changed);
    let g = grants(&user, "%").await;
    assert_eq!(g[0], format!("GRANT PROCESS ON *.* TO `{user}`@`%`"));
    assert!(g[1].starts_with("GRANT SELECT, INSERT ON"), "{g:?}");
    assert!(!host.run("mysql_user", more).await.unwrap().changed);

    // Passwords: on_create leaves it, always changes it once.
    let pw2 = "Second-Secret-456";
    let keep = json!({"name": user, "host": "%", "password": pw2, "update_password": "on_create"});
    assert!(!host.run("mysql_user", keep).await.unwrap().changed);
    assert_eq!(stored_hash(&user, "%").await, native_hash(pw));
    let change = json!({"name": user, "host": "%", "password": pw2});
    let out = host.run("mysql_user", change.clone()).await.unwrap();
    assert!(
        out.changed && out.data["password_changed"] == json!(true),
        "{out:?}"
    );
    assert_eq!(
        out.data["executed_commands"],
        json!([format!(
            "ALTER USER `{user}`@`%` IDENTIFIED BY PASSWORD '********'"
        )])
    );
    assert_no_secret(&out, pw2);
    assert_eq!(stored_hash(&user, "%").await, native_hash(pw2));
    assert!(!host.run("mysql_user", change).await.unwrap().changed);

    // Remove both, with host_all.
    let gone = json!({"name": user, "host_all": true, "state": "absent"});
    let out = host.run("mysql_user", gone.clone()).await.unwrap();
    assert!(out.changed);
    assert_eq!(out.data["host"], json!(["%", "localhost"]));
    assert!(
        sql(&format!(
            "SELECT User FROM mysql.user WHERE User = '{user}'"
        ))
        .await
        .is_empty()
    );
    assert!(!host.run("mysql_user", gone).await.unwrap().changed);
}

#[tokio::test]
async fn new_password_logs_in_over_tcp() {
    require_mariadb!();
    let user = unique("oplay_login");
    let pw = "Login-Secret-789";
    let host = TestHost::new();
    let args = json!({"name": user, "host": "localhost", "password": pw, "priv": "*.*:ALL"});
    host.run("mysql_user", args).await.unwrap();
    // 127.0.0.1 resolves to localhost in MariaDB's account matching.
    let name = unique("oplay_tcp");
    let login = json!({"login_host": "127.0.0.1", "login_user": user, "login_password": pw});
    let mut args = login.as_object().unwrap().clone();
    args.insert("name".into(), json!(name));
    let out = host
        .run("mysql_db", Value::Object(args.clone()))
        .await
        .unwrap();
    assert!(out.changed, "{out:?}");
    // Dump with the password on fd 3, through TCP.
    let dir = tempfile::tempdir().unwrap();
    args.insert("state".into(), json!("dump"));
    args.insert(
        "target".into(),
        json!(dir.path().join("d.sql").display().to_string()),
    );
    let out = host.run("mysql_db", Value::Object(args)).await.unwrap();
    assert!(!out.failed, "{out:?}");
    assert_no_secret(&out, pw);
    sql_quiet(&format!(
        "DROP DATABASE `{name}`; DROP USER `{user}`@`localhost`"
    ))
    .await;
}

#[tokio::test]
async fn odd_user_names_are_quoted() {
    require_mariadb!();
    let tag = unique("t");
    let host = TestHost::new();
    for user in [format!("o'neil_{tag}"), format!("we`ird_{tag}")] {
        let args = json!({"name": user, "host": "%", "priv": format!("`we``ird_{tag}`.*:SELECT")});
        let out = host.run("mysql_user", args.clone()).await.unwrap();
        assert!(out.changed && !out.failed, "{out:?}");
        assert!(!host.run("mysql_user", args).await.unwrap().changed);
        let g = grants(&user, "%").await;
        assert_eq!(
            g[1],
            format!(
                "GRANT SELECT ON `we``ird_{tag}`.* TO `{}`@`%`",
                user.replace('`', "``")
            )
        );
        assert!(
            host.run(
                "mysql_user",
                json!({"name": user, "host": "%", "state": "absent"})
            )
            .await
            .unwrap()
            .changed
        );
    }
}

#[tokio::test]
async fn unix_socket_users_change_only_with_always() {
    require_mariadb!();
    let user = unique("oplay_sock");
    sql_quiet(&format!(
        "CREATE USER `{user}`@`localhost` IDENTIFIED VIA unix_socket"
    ))
    .await;
    let host = TestHost::new();
    let on_create =
        json!({"name": user, "password": "Sock-Secret-1", "update_password": "on_create"});
    assert!(!host.run("mysql_user", on_create).await.unwrap().changed);
    let mut check = TestHost::new();
    check.check = true;
    let always = json!({"name": user, "password": "Sock-Secret-1"});
    let out = check.run("mysql_user", always).await.unwrap();
    assert!(out.changed, "{out:?}");
    assert!(out.msg.unwrap_or_default().contains("unix_socket"));
    sql_quiet(&format!("DROP USER `{user}`@`localhost`")).await;
}

#[tokio::test]
async fn check_mode_creates_no_user() {
    require_mariadb!();
    let user = unique("oplay_chk");
    let mut host = TestHost::new();
    host.check = true;
    let out = host
        .run(
            "mysql_user",
            json!({"name": user, "password": "Check-Secret-1", "priv": "x.*:ALL"}),
        )
        .await
        .unwrap();
    assert!(out.changed);
    assert_no_secret(&out, "Check-Secret-1");
    assert!(
        sql(&format!(
            "SELECT User FROM mysql.user WHERE User = '{user}'"
        ))
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn seeded_glance_grants_read_as_unchanged() {
    require_mariadb!();
    if sql("SELECT User FROM mysql.user WHERE User = 'glance' AND Host = 'localhost'")
        .await
        .is_empty()
    {
        eprintln!("skipped: no seeded glance@localhost");
        return;
    }
    // Check mode: never touch OpenStack's own account.
    let mut host = TestHost::new();
    host.check = true;
    let args = json!({"name": "glance", "host": "localhost", "priv": "glance.*:ALL", "update_password": "on_create", "password": "x"});
    let out = host.run("mysql_user", args).await.unwrap();
    assert!(!out.changed, "{out:?}");
}

#[tokio::test]
async fn bad_user_parameters() {
    let host = TestHost::new();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"host": "%"}), "missing field `name`"),
        (json!({"name": ["a"]}), "invalid type"),
        (
            json!({"name": "a", "privs": "x.*:ALL"}),
            "unknown field `privs`",
        ),
        (
            json!({"name": "a", "priv": "x.*:SELCT"}),
            "unknown privilege `SELCT`",
        ),
        (
            json!({"name": "a", "update_password": "sometimes"}),
            "unknown variant",
        ),
        (
            json!({"name": "a", "password": "plain", "encrypted": true}),
            "mysql_native_password hash",
        ),
    ];
    for (args, expected) in cases {
        let err = host
            .run("mysql_user", args.clone())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{args}: {err}");
        assert!(!err.contains("plain"), "{err}");
    }
}
