//! mysql_db and mysql_user through the real `oplay` binary against the real
//! MariaDB: idempotent re-runs, check mode, and that no password reaches
//! the output even with `-v --diff`. Skips (and says why) when neither
//! `OPLAY_TEST_SERVICES` is set nor a MariaDB socket exists as root.

mod support;

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use support::Test;
use support::sshd::Sshd;

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

/// A value `tests/services/setup.sh` wrote to its env file.
fn service_var(key: &str) -> Option<String> {
    let text = std::fs::read_to_string("/run/oplay-test-services.env").ok()?;
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
}

/// The seed's grants (`db.* TO 'u'@'%'` and `'u'@'localhost'`) over SSH:
/// oplay reaches MariaDB, which listens on the target's 127.0.0.1 only,
/// through a `direct-tcpip` channel of the host's one SSH connection, and
/// a re-run changes nothing.
#[test]
fn grants_over_ssh_to_a_loopback_only_server_converge() {
    let (Some(user), Some(pass)) = (
        service_var("OPLAY_TEST_MYSQL_USER"),
        service_var("OPLAY_TEST_MYSQL_PASSWORD"),
    ) else {
        eprintln!("skipped: /run/oplay-test-services.env is absent (run tests/services/setup.sh)");
        return;
    };
    let sshd = Sshd::start_debug();
    let (db, dbuser) = (unique("oplay_ssh_db"), unique("oplay_ssh_u"));
    let t = Test::new()
        .inventory(&format!(
            "[controller]\ndb1 ansible_host=127.0.0.1 ansible_port={} ansible_user={} \
             ansible_ssh_private_key_file={} ansible_ssh_known_hosts_file={}\n",
            sshd.port,
            sshd.user,
            sshd.client_key.display(),
            sshd.known_hosts.display()
        ))
        .playbook(&format!(
            r#"- hosts: controller
  gather_facts: false
  vars:
    login: &login
      login_host: 127.0.0.1
      login_port: 3306
      login_user: {user}
      login_password: "{pass}"
  tasks:
    - mysql_db:
        name: {db}
        <<: *login
    - mysql_user:
        name: {dbuser}
        host: "{{{{ item }}}}"
        password: "{PASSWORD}"
        priv: "{db}.*:ALL"
        <<: *login
      loop: ['%', localhost]
"#
        ));
    let first = t.run_with(&["-vvv", "--output", "json"]);
    first.code(0).stdout_lacks(PASSWORD).stdout_lacks(&pass);
    let log = sshd.log();
    assert!(
        log.contains("target 127.0.0.1 port 3306"),
        "no direct-tcpip channel to 127.0.0.1:3306 in sshd's log:\n{log}"
    );
    for host in ["%", "localhost"] {
        assert_eq!(
            sql(&format!("SHOW GRANTS FOR '{dbuser}'@'{host}'"))[1],
            format!("GRANT ALL PRIVILEGES ON `{db}`.* TO `{dbuser}`@`{host}`")
        );
    }
    let again = t.run();
    again.code(0).stdout_lacks(PASSWORD);
    assert_eq!(
        again.recap("db1"),
        "ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    sql(&format!(
        "DROP USER '{dbuser}'@'%'; DROP USER '{dbuser}'@'localhost'; DROP DATABASE `{db}`"
    ));
}
