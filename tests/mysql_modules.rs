//! mysql_db and mysql_user through the real `oplay` binary against the real
//! MariaDB: idempotent re-runs, check mode, and that no password reaches
//! the output even with `-v --diff`. Skips (and says why) when neither
//! `OPLAY_TEST_SERVICES` is set nor a MariaDB socket exists as root.

mod support;

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use support::Test;

fn socket() -> String {
    std::env::var("OPLAY_TEST_MYSQL_SOCKET").unwrap_or_else(|_| "/run/mysqld/mysqld.sock".into())
}

fn skip_reason() -> Option<String> {
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

/// One column of a query, run by the `mysql` client as root (a second
/// opinion, independent of oplay's own SQL code).
fn sql(q: &str) -> Vec<String> {
    let out = Command::new("mysql")
        .args([
            "-N",
            "-B",
            "-u",
            "root",
            &format!("--socket={}", socket()),
            "-e",
            q,
        ])
        .output()
        .expect("run the mysql client");
    assert!(
        out.status.success(),
        "{q}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    )
}

const PASSWORD: &str = "Playbook-Secret-5150";

fn playbook(db: &str, user: &str) -> String {
    format!(
        r#"- hosts: localhost
  gather_facts: false
  vars:
    db_password: "{PASSWORD}"
  tasks:
    - name: database
      mysql_db:
        name: {db}
        encoding: utf8mb4
    - name: user
      mysql_user:
        name: {user}
        host: '%'
        password: "{{{{ db_password }}}}"
        priv: '{db}.*:ALL'
"#
    )
}

#[test]
fn create_rerun_and_check_mode_without_leaking_the_password() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let (db, user) = (unique("oplay_it_db"), unique("oplay_it_u"));

    let check = Test::new()
        .playbook(&playbook(&db, &user))
        .args(&["--check", "--diff", "-v"])
        .run();
    check
        .code(0)
        .stdout_lacks(PASSWORD)
        .stdout_has("CREATE DATABASE");
    assert!(
        sql(&format!("SHOW DATABASES LIKE '{db}'")).is_empty(),
        "check mode created the database"
    );

    let first = Test::new()
        .playbook(&playbook(&db, &user))
        .args(&["--diff", "-v"])
        .run();
    first
        .code(0)
        .stdout_lacks(PASSWORD)
        .stdout_has("IDENTIFIED BY PASSWORD '********'");
    assert_eq!(
        first.recap("localhost"),
        "ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        sql(&format!("SHOW DATABASES LIKE '{db}'")),
        vec![db.clone()]
    );
    assert_eq!(
        sql(&format!("SHOW GRANTS FOR '{user}'@'%'"))[1],
        format!("GRANT ALL PRIVILEGES ON `{db}`.* TO `{user}`@`%`")
    );

    let again = Test::new()
        .playbook(&playbook(&db, &user))
        .args(&["--diff", "-v"])
        .run();
    again.code(0).stdout_lacks(PASSWORD);
    assert_eq!(
        again.recap("localhost"),
        "ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );

    sql(&format!("DROP USER '{user}'@'%'; DROP DATABASE `{db}`"));
}

#[test]
fn wrong_login_password_fails_the_task_with_mysql_s_message() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let out = Test::new()
        .playbook(&format!(
            r#"- hosts: localhost
  gather_facts: false
  tasks:
    - mysql_db:
        name: never_created
        login_host: 127.0.0.1
        login_user: oplay_test
        login_password: "{PASSWORD}"
"#
        ))
        .run();
    out.code(2).stdout_lacks(PASSWORD);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("Access denied for user 'oplay_test'"), "{all}");
    assert!(!all.contains(PASSWORD));
    assert_eq!(
        out.recap("localhost"),
        "ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
}
