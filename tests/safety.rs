//! Hostile input and races that must not leak or run anything: temporary
//! files readable by others, shell injection through globs and
//! environment names, secrets in their transformed forms, and revoked host
//! keys. Each test reproduces what an attacker or a careless playbook
//! would do, through the real binary.

mod support;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use support::Test;
use support::sshd::Sshd;

/// Reads every temporary file beside `secret.conf` in `dir`, as `nobody`,
/// until killed: what an unprivileged user on the host could see.
fn spy(dir: &Path) -> Child {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    Command::new("runuser")
        .args(["-u", "nobody", "--", "sh", "-c"])
        .arg(format!(
            "while :; do cat {}/.secret.conf.* 2>/dev/null; done",
            dir.display()
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("runuser")
}

fn caught(mut child: Child) -> String {
    use std::io::Read;
    // The whole group: the reading loop runs in a child of runuser.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let mut out = String::new();
    let _ = child.stdout.take().unwrap().read_to_string(&mut out);
    let _ = child.wait();
    out
}

const SECRET_WRITES: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - copy:
        content: "db_password=TOPSECRET-{{ item }}\n"
        dest: "{dir}/secret.conf"
        mode: "0600"
      loop: "{{ range(40) | list }}"
"#;

#[test]
fn a_private_file_is_never_readable_by_others_while_it_is_written_locally() {
    let t = Test::new()
        .playbook(SECRET_WRITES)
        .inventory("localhost ansible_connection=local\n");
    let child = spy(t.dir());
    for _ in 0..3 {
        t.run().code(0);
    }
    let seen = caught(child);
    assert!(!seen.contains("TOPSECRET"), "nobody read: {seen:.200}");
    let mode = std::fs::metadata(t.path("secret.conf")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
}

/// A login with passwordless sudo, for writes through `become` over SSH.
const BECOMER: &str = "oplay-safety";

fn sudo_rule() {
    let path = "/etc/sudoers.d/oplay-test-safety";
    let rule = format!("{BECOMER} ALL=(ALL:ALL) NOPASSWD: ALL\n");
    if std::fs::read_to_string(path).ok().as_deref() != Some(rule.as_str()) {
        std::fs::write(path, &rule).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o440)).unwrap();
    }
}

#[test]
fn a_private_file_is_never_readable_by_others_while_it_is_written_through_become() {
    if !Path::new("/usr/bin/sudo").exists() {
        eprintln!("SKIPPED: sudo is not installed");
        return;
    }
    let sshd = Sshd::start_as(BECOMER);
    sudo_rule();
    let t = Test::new()
        .playbook(
            &SECRET_WRITES.replace("gather_facts: false", "gather_facts: false\n  become: true"),
        )
        .inventory(&sshd.inventory_line("target"));
    let child = spy(t.dir());
    for _ in 0..2 {
        t.run().code(0);
    }
    let seen = caught(child);
    assert!(!seen.contains("TOPSECRET"), "nobody read: {seen:.200}");
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(t.path("secret.conf")).unwrap();
    assert_eq!((meta.mode() & 0o777, meta.uid()), (0o600, 0));
    let left: Vec<_> = std::fs::read_dir(t.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".oplay-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn a_glob_in_creates_or_removes_runs_nothing_even_in_check_mode() {
    let t = Test::new().playbook(
        r#"- hosts: localhost
  gather_facts: false
  tasks:
    - command:
        cmd: "true"
        creates: "{dir}/*.conf$(touch {dir}/PWN1)"
    - command:
        cmd: "true"
        removes: "{dir}/[a-z]*`touch {dir}/PWN2`"
"#,
    );
    t.run_with(&["--check"]).code(0);
    t.run().code(0);
    assert!(!t.path("PWN1").exists() && !t.path("PWN2").exists());
}

#[test]
fn a_glob_in_creates_still_matches_files() {
    let t = Test::new().file("conf.d/a.conf", "").playbook(
        r#"- hosts: localhost
  gather_facts: false
  tasks:
    - command:
        cmd: "touch {dir}/ran"
        creates: "{dir}/conf.d/*.conf"
"#,
    );
    t.run().ok_changed(0);
    assert!(!t.path("ran").exists());
}

#[test]
fn an_environment_name_that_is_no_name_fails_the_task_and_runs_nothing() {
    let t = Test::new().playbook(
        r#"- hosts: localhost
  gather_facts: false
  tasks:
    - command: "true"
      environment:
        "LANG=C; touch {dir}/PWN; X": "1"
"#,
    );
    let out = t.run();
    out.code(2).stdout_has(
        "environment: `LANG=C; touch ",
    ).stdout_has(
        "/PWN; X` is not a valid variable name (letters, digits and `_`, not starting with a digit)",
    );
    assert!(!t.path("PWN").exists());
}

#[test]
fn secrets_never_print_quoted_encoded_or_under_other_common_names() {
    let t = Test::new().playbook(
        r#"- hosts: localhost
  gather_facts: false
  vars:
    db_password: "it's-pw-1"
    vault_db: "vault-db-value"
    api_key: "api-key-value"
    ssh_private_key: "private-key-value"
    rabbit_pw: "rabbit-pw-value"
    pw_copy: "{{ db_password }}"
  tasks:
    - command:
        argv: [echo, "{{ db_password }}", "{{ vault_db }}", "{{ api_key }}", "{{ ssh_private_key }}", "{{ rabbit_pw }}"]
    - command:
        argv: [echo, "{{ db_password | b64encode }}", "{{ pw_copy | upper }}"]
    - debug:
        msg: "{{ rabbit_pw | to_json }} {{ (api_key ~ '@host') }}"
"#,
    );
    let secrets = [
        "it's-pw-1",
        r"it'\''s-pw-1",
        "vault-db-value",
        "api-key-value",
        "private-key-value",
        "rabbit-pw-value",
        "aXQncy1wdy0x",
        "IT'S-PW-1",
        "api-key-value@host",
    ];
    for args in [&["-vvv"][..], &["--output", "json", "-vvv"][..]] {
        let out = t.run_with(args);
        out.code(0);
        for s in secrets {
            assert!(
                !out.stdout.contains(s) && !out.stderr.contains(s),
                "{s} printed with {args:?}:\n{}\n{}",
                out.stdout,
                out.stderr
            );
        }
        assert!(out.stdout.contains("********"));
    }
}

#[test]
fn a_revoked_host_key_is_refused_even_when_another_line_accepts_it() {
    let sshd = Sshd::start();
    let line = sshd.known_hosts_line();
    let key = line.split_once(' ').unwrap().1;
    std::fs::write(&sshd.known_hosts, format!("{line}\n@revoked * {key}\n")).unwrap();
    let out = Test::new()
        .playbook("- hosts: all\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n")
        .inventory(&sshd.inventory_line("target"))
        .run();
    out.code(4).stdout_has(&format!(
        "the host key of [127.0.0.1]:{} is revoked: the server offered ssh-ed25519 SHA256:",
        sshd.port
    ));
    out.stdout_has(&format!("{}:2 marks @revoked", sshd.known_hosts.display()));
}
