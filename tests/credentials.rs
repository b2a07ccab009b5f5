//! The bundled deployment's generated passwords never become inventory
//! hosts: they live in `credentials_dir`, beside the inventory folder; an
//! old `inventory/credentials/` is moved there with its passwords kept
//! (playbooks/credentials.yml); and the inventory loader skips files of
//! bare words in a folder and refuses a host named by a secret, without
//! showing the value.
//!
//! Each test copies the example inventory (`inventory/hosts.ini` and
//! `group_vars/all.yml`) with its hosts made local, so nothing is
//! contacted, and runs the password lookups through a small playbook.

mod support;

use std::path::{Path, PathBuf};

use support::{Output, Test};

const PASSWORDS: [&str; 9] = [
    "glance_db_password",
    "glance_service_password",
    "keystone_admin_password",
    "keystone_db_password",
    "nova_db_password",
    "nova_service_password",
    "placement_db_password",
    "placement_service_password",
    "rabbitmq_openstack_password",
];

/// The warning `inventory` of the example always gets (as in Ansible).
const CLASH: &str = "[WARNING]: found both a group and a host named `controller`\n";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn playbook(name: &str) -> String {
    repo().join("playbooks").join(name).display().to_string()
}

/// A copy of the example inventory as `inventory/`, hosts local, and
/// `lookups.yml`, which makes every host read (or generate) every password.
fn example() -> Test {
    example_with("ansible_connection=local")
}

/// The same with `connection` in place of each host's `ansible_host=...`.
fn example_with(connection: &str) -> Test {
    let hosts = std::fs::read_to_string(repo().join("inventory/hosts.ini")).unwrap();
    let local: String = hosts
        .lines()
        .map(|l| match l.split_once(" ansible_host=") {
            Some((name, _)) => format!("{name} {connection}\n"),
            None => format!("{l}\n"),
        })
        .collect();
    assert!(local.contains(&format!("controller {connection}\n")));
    let settings = std::fs::read_to_string(repo().join("inventory/group_vars/all.yml")).unwrap();
    let names = PASSWORDS.join(", ");
    Test::new()
        .file("inventory/hosts.ini", &local)
        .file("inventory/group_vars/all.yml", &settings)
        .file(
            "lookups.yml",
            &format!(
                "- hosts: all\n  gather_facts: false\n  tasks:\n    \
                 - name: Every password has 32 characters\n      \
                 assert:\n        that: lookup('vars', item) | length == 32\n        \
                 quiet: true\n      loop: [{names}]\n"
            ),
        )
}

/// Runs the lookups; every host `changed=0`.
fn run_lookups(t: &Test) {
    let out = t.run_with(&["run", "lookups.yml", "-i", "inventory"]);
    out.code(0);
    for host in ["controller", "compute1"] {
        assert!(out.recap(host).contains("changed=0 "), "{}", out.stdout);
    }
}

/// The passwords stored in `dir`, by file name.
fn passwords(dir: &Path) -> Vec<(String, String)> {
    PASSWORDS
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            (name.to_string(), text.trim_end().to_string())
        })
        .collect()
}

fn assert_no_password(out: &Output, stored: &[(String, String)]) {
    for (name, pw) in stored {
        assert_eq!(pw.len(), 32, "{name}");
        assert!(
            !out.stdout.contains(pw.as_str()) && !out.stderr.contains(pw.as_str()),
            "the value of {name} is in the output\n--- stdout\n{}\n--- stderr\n{}",
            out.stdout,
            out.stderr
        );
    }
}

/// The hosts `--list-hosts` prints for each play of pattern `pattern`.
fn listed_hosts(out: &Output, pattern: &str) -> Vec<Vec<String>> {
    let header = format!("    pattern: ['{pattern}']");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let mut plays = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if *line == header {
            let hosts = lines[i + 2..]
                .iter()
                .take_while(|l| l.starts_with("      "))
                .map(|l| l.trim().to_string())
                .collect();
            plays.push(hosts);
        }
    }
    plays
}

fn bare_words_warning(file: &str) -> String {
    format!(
        "[WARNING]: skipping {file}: it holds only bare words (no groups, no variables), as a \
         password file does; name it *.ini to read it as a list of hosts\n"
    )
}

#[test]
fn the_passwords_live_beside_the_inventory_and_are_no_hosts() {
    let t = example();
    run_lookups(&t);
    assert!(!t.path("inventory/credentials").exists());
    let stored = passwords(&t.path("inventory-credentials"));

    let out = t.run_with(&[
        "run",
        &playbook("verify.yml"),
        "-i",
        "inventory",
        "--list-hosts",
    ]);
    out.code(0).stderr_is(CLASH);
    let all = listed_hosts(&out, "all");
    assert_eq!(
        all.len(),
        2,
        "the credentials play and the facts play\n{}",
        out.stdout
    );
    for hosts in all {
        assert_eq!(hosts, ["controller", "compute1"]);
    }
    assert_no_password(&out, &stored);
    for view in ["--graph", "--list"] {
        let out = t.run_with(&["inventory", "-i", "inventory", view]);
        out.code(0).stderr_is(CLASH);
        assert_no_password(&out, &stored);
    }
    // The lookups read the same passwords again.
    run_lookups(&t);
    assert_eq!(passwords(&t.path("inventory-credentials")), stored);
}

#[test]
fn an_old_credentials_folder_is_skipped_then_moved_with_its_passwords() {
    let t = example();
    run_lookups(&t);
    // A deployment made by an earlier version: the passwords inside.
    std::fs::rename(
        t.path("inventory-credentials"),
        t.path("inventory/credentials"),
    )
    .unwrap();
    let stored = passwords(&t.path("inventory/credentials"));

    let out = t.run_with(&[
        "run",
        &playbook("verify.yml"),
        "-i",
        "inventory",
        "--list-hosts",
    ]);
    let skipped: String = PASSWORDS
        .iter()
        .map(|name| bare_words_warning(&format!("inventory/credentials/{name}")))
        .collect();
    out.code(0).stderr_is(&format!("{skipped}{CLASH}"));
    for hosts in listed_hosts(&out, "all") {
        assert_eq!(hosts, ["controller", "compute1"]);
    }
    assert_no_password(&out, &stored);

    let out = t.run_with(&["run", &playbook("credentials.yml"), "-i", "inventory"]);
    out.code(0).stdout_has(&format!(
        "\"msg\": \"moved the generated passwords from {dir}/inventory/credentials to \
         {dir}/inventory-credentials (unchanged: `-i` of the inventory folder no longer reads \
         them as hosts)\"",
        dir = t.dir().display()
    ));
    assert!(
        out.recap("controller").contains("changed=1 "),
        "{}",
        out.stdout
    );
    assert_no_password(&out, &stored);
    assert!(!t.path("inventory/credentials").exists());
    assert_eq!(passwords(&t.path("inventory-credentials")), stored);

    // The next run moves nothing, and the lookups keep every password.
    let again = t.run_with(&["run", &playbook("credentials.yml"), "-i", "inventory"]);
    again.code(0).stderr_is(CLASH);
    for host in ["controller", "compute1"] {
        assert!(again.recap(host).contains("changed=0 "), "{}", again.stdout);
    }
    run_lookups(&t);
    assert_eq!(passwords(&t.path("inventory-credentials")), stored);
}

#[test]
fn the_move_contacts_no_host() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = example_with(&format!("ansible_host=127.0.0.1 ansible_port={port}"));
    std::fs::create_dir_all(t.path("inventory/credentials")).unwrap();
    std::fs::write(
        t.path("inventory/credentials/keystone_admin_password"),
        "kept\n",
    )
    .unwrap();
    let out = t.run_with(&["run", &playbook("credentials.yml"), "-i", "inventory"]);
    out.code(0).stdout_has("changed: [controller -> localhost]");
    assert_eq!(
        std::fs::read_to_string(t.path("inventory-credentials/keystone_admin_password")).unwrap(),
        "kept\n"
    );
    assert!(listener.accept().is_err(), "a host was contacted");
}

#[test]
fn check_mode_moves_the_old_folder_too() {
    // Otherwise the password lookups of the check would make new ones.
    let t = example();
    run_lookups(&t);
    std::fs::rename(
        t.path("inventory-credentials"),
        t.path("inventory/credentials"),
    )
    .unwrap();
    let stored = passwords(&t.path("inventory/credentials"));
    let out = t.run_with(&[
        "run",
        &playbook("credentials.yml"),
        "-i",
        "inventory",
        "--check",
    ]);
    out.code(0);
    assert_eq!(passwords(&t.path("inventory-credentials")), stored);
    run_lookups(&t);
    assert_eq!(passwords(&t.path("inventory-credentials")), stored);
}

#[test]
fn two_credentials_folders_stop_before_any_host_is_touched() {
    let t = example();
    run_lookups(&t);
    std::fs::create_dir(t.path("inventory/credentials")).unwrap();
    let stored = passwords(&t.path("inventory-credentials"));
    let out = t.run_with(&["run", &playbook("site.yml"), "-i", "inventory"]);
    out.code(2);
    let dir = t.dir().display();
    for host in ["controller", "compute1"] {
        out.stdout_has(&format!(
            "fatal: [{host} -> localhost]: FAILED! => {{\"changed\":false,\"failed\":true,\"msg\":\"{dir}/inventory/credentials \
             (where earlier versions kept the generated passwords) and credentials_dir \
             {dir}/inventory-credentials both exist: keep the folder whose passwords the services \
             use as {dir}/inventory-credentials and remove the other\"}}"
        ));
    }
    // The first play of site.yml is the only one that ran.
    assert_eq!(out.stdout.matches("\nPLAY [").count(), 1, "{}", out.stdout);
    assert_no_password(&out, &stored);
}

#[test]
fn a_password_file_given_as_an_inventory_source_is_refused() {
    let t = example();
    run_lookups(&t);
    let stored = passwords(&t.path("inventory-credentials"));
    let expected = format!(
        "{CLASH}error: inventory inventory-credentials/keystone_admin_password: a host is named \
         by the value of the secret `keystone_admin_password`; refusing the inventory, so that \
         the value is neither shown nor used as an address (is a password file read as an \
         inventory source? keep credentials out of inventory folders)\n"
    );
    let source = "inventory-credentials/keystone_admin_password";
    let graph = t.run_with(&["inventory", "-i", "inventory", "-i", source, "--graph"]);
    graph.code(3).stderr_is(&expected);
    assert_eq!(graph.stdout, "");
    let list = t.run_with(&[
        "run",
        &playbook("verify.yml"),
        "-i",
        "inventory",
        "-i",
        source,
        "--list-hosts",
    ]);
    list.code(3).stderr_is(&expected);
    assert_eq!(list.stdout, "");
    assert_no_password(&graph, &stored);
    assert_no_password(&list, &stored);
}

#[test]
fn a_host_named_by_a_secret_variable_is_refused() {
    let t = Test::new()
        .file("inv/hosts", "[db]\ndb1\nTr0ub4dor-3\n")
        .file("inv/group_vars/all.yml", "db_password: Tr0ub4dor-3\n")
        .file(
            "site.yml",
            "- hosts: all\n  gather_facts: false\n  tasks: []\n",
        );
    let out = t.run_with(&["run", "site.yml", "-i", "inv", "--list-hosts"]);
    out.code(3).stderr_is(
        "error: inventory inv/hosts: a host is named by the value of the secret `db_password`; \
         refusing the inventory, so that the value is neither shown nor used as an address (is \
         a password file read as an inventory source? keep credentials out of inventory \
         folders)\n",
    );
    assert!(!out.stdout.contains("Tr0ub4dor-3"));
}

#[test]
fn a_folder_file_of_bare_words_is_skipped_with_a_warning() {
    let t = Test::new()
        .file("inv/hosts", "[web]\nweb1\n")
        .file("inv/token", "c2VjcmV0LXRva2Vu\n")
        .file("inv/more.ini", "listed\n");
    let out = t.run_with(&["inventory", "-i", "inv", "--graph"]);
    out.code(0)
        .stderr_is(&bare_words_warning("inv/token"))
        .stdout_lacks("c2VjcmV0LXRva2Vu");
    assert_eq!(
        out.stdout,
        "@all:\n  |--@ungrouped:\n  |  |--listed\n  |--@web:\n  |  |--web1\n"
    );
}
