//! The file attributes every file module shares, through the real binary:
//! `owner: 0` and `group: 0` (numbers, as YAML reads them) are accepted
//! alike by all of them. `ini_set` once rejected them ("invalid type:
//! integer `0`, expected a string") while `copy`, `file` and `template`
//! took them, because each module declared its own copy of the group.

mod support;

use support::Test;

const LOCAL: &str = "localhost ansible_connection=local\n";

/// One task of each file module, all with numeric owner and group (root,
/// so the test needs to run as root).
const PLAYBOOK: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - copy:
        content: "copied\n"
        dest: "{dir}/out/copied.txt"
        owner: 0
        group: 0
    - template:
        src: "{dir}/t.j2"
        dest: "{dir}/out/rendered.txt"
        owner: 0
        group: 0
    - file:
        path: "{dir}/out/made"
        state: directory
        owner: 0
        group: 0
    - lineinfile:
        path: "{dir}/out/lines.txt"
        line: "a line"
        create: true
        owner: 0
        group: 0
    - ini_set:
        path: "{dir}/out/glance.conf"
        section: DEFAULT
        option: debug
        value: "true"
        owner: 0
        group: 0
"#;

fn test() -> Test {
    let t = Test::new()
        .inventory(LOCAL)
        .file("t.j2", "rendered\n")
        .playbook(PLAYBOOK);
    std::fs::create_dir_all(t.path("out")).unwrap();
    t
}

#[test]
fn numeric_owner_and_group_are_accepted_by_every_file_module() {
    if !is_root() {
        eprintln!("skipped: owner 0 can only be set by root");
        return;
    }
    let t = test();
    t.run_with(&["--check"]).ok_changed(5);
    assert!(!t.path("out/glance.conf").exists());
    t.run().ok_changed(5);
    let ini = std::fs::read_to_string(t.path("out/glance.conf")).unwrap();
    assert_eq!(ini, "[DEFAULT]\ndebug = true\n");
    t.run().ok_changed(0);
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
