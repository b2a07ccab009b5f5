//! The runner against a real OpenSSH sshd that the harness starts on
//! 127.0.0.1: the full fixture over three inventory aliases, an unreachable
//! host beside a reachable one, a wrong host key, and 50 aliases at once
//! with sshd's default `MaxStartups`.

mod support;

use std::net::TcpListener;

use support::Test;
use support::sshd::Sshd;

/// Connection variables for one alias of the harness's sshd.
fn conn(s: &Sshd) -> String {
    format!(
        "ansible_host=127.0.0.1 ansible_port={} ansible_user={} ansible_ssh_private_key_file={} ansible_ssh_known_hosts_file={}",
        s.port,
        s.user,
        s.client_key.display(),
        s.known_hosts.display()
    )
}

use support::fixture as full;

#[test]
fn full_fixture_over_ssh_converges() {
    let sshd = Sshd::start();
    let t = full::fixture(&conn(&sshd));
    let first = t.run();
    first.code(0);
    full::assert_recap(&first, true);
    let second = t.run_with(&["-vvv"]);
    second.code(0);
    full::assert_recap(&second, false);
    assert!(
        !second.stdout.contains("S3cret-Fixture-Pass"),
        "secret leaked at -vvv"
    );
    second.stdout_has("EXEC ");
}

#[test]
fn unreachable_host_does_not_stop_the_others() {
    let sshd = Sshd::start();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let out = Test::new()
        .inventory(&format!(
            "[web]\nup {}\ndown ansible_host=127.0.0.1 ansible_port={closed_port} ansible_user=root\n",
            conn(&sshd)
        ))
        .playbook("- hosts: web\n  tasks:\n    - command: echo one\n    - command: echo two\n")
        .run();
    out.code(4);
    assert_eq!(
        out.recap("up"),
        "ok=3 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        out.recap("down"),
        "ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0"
    );
    out.stdout_has("fatal: [down]: UNREACHABLE!");
}

#[test]
fn wrong_host_key_fails_that_host_and_says_why() {
    let mut sshd = Sshd::start();
    let good = Sshd::start();
    // The known_hosts file keeps the old key; the server gets a new one.
    sshd.restart_with_new_host_key();
    let out = Test::new()
        .inventory(&format!(
            "[web]\nbad {}\ngood {}\n",
            conn(&sshd),
            conn(&good)
        ))
        .playbook("- hosts: web\n  gather_facts: no\n  tasks:\n    - command: echo hi\n")
        .run();
    out.code(4);
    out.stdout_has("fatal: [bad]: UNREACHABLE!")
        .stdout_has("host key verification failed");
    assert!(
        out.recap("good").starts_with("ok=1 changed=1"),
        "{}",
        out.stdout
    );
}

#[test]
fn fifty_aliases_of_one_sshd_all_connect() {
    // A login with a plain /bin/sh shell, so no rc file runs per command.
    let sshd = Sshd::start_as("oplay-ssh-test");
    let mut inv = String::from("[many]\n");
    for i in 1..=50 {
        inv.push_str(&format!("alias{i:02} {}\n", conn(&sshd)));
    }
    let mut play = String::from("- hosts: many\n  gather_facts: no\n  tasks:\n");
    for i in 1..=10 {
        play.push_str(&format!(
            "    - command: echo task{i}\n      changed_when: false\n"
        ));
    }
    let out = Test::new().inventory(&inv).playbook(&play).run();
    out.code(0);
    for i in 1..=50 {
        assert_eq!(
            out.recap(&format!("alias{i:02}")),
            "ok=10 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
        );
    }
}
