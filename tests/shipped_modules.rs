//! The script modules shipped in `modules/`, through the real binary:
//! `oplay doc` finds them from the repository root, `rabbitmq_user` runs
//! against the real RabbitMQ of tests/services (skipped without it), and
//! `nova_cell` reads the tables of a stand-in `nova-manage` that prints
//! what Zed's prints (nova is not installed on the test machine).

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};

use support::{Output, Test, assert_ok};

const LOCAL: &str = "localhost ansible_connection=local\n";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn doc_shows_script_modules_from_the_repository() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oplay"))
        .current_dir(repo())
        .args(["doc", "rabbitmq_user"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.starts_with(
            "rabbitmq_user (script module, modules/rabbitmq_user.rhai)\n\nManage a RabbitMQ user"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("PARAMETERS\n  user (str; required; aliases: name, username)\n      The user's name.\n  password (str; secret)\n"), "{stdout}");
    assert!(
        stdout.contains("  vhost (str; default: \"/\")\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  state (str; default: \"present\"; choices: present, absent)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("EXAMPLES\n"), "{stdout}");
}

/// Skips a test that needs the services of tests/services/setup.sh.
fn services() -> bool {
    let up = std::env::var_os("OPLAY_TEST_SERVICES").is_some();
    if !up {
        eprintln!("skipped: OPLAY_TEST_SERVICES is not set (run tests/services/setup.sh)");
    }
    up
}

fn rabbit(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut cmd = std::process::Command::new("rabbitmqctl");
    cmd.arg("-q")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn rabbitmq_user_against_the_real_server() {
    if !services() {
        return;
    }
    let user = format!("oplay-test-rhai-{}", std::process::id());
    let playbook = |password: &str, tags: &str, state: &str| {
        format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - rabbitmq_user:\n        user: {user}\n        password: {password}\n        update_password: always\n        tags: {tags}\n        read_priv: '^amq\\.'\n        state: {state}\n"
        )
    };
    let run = |pb: String, extra: &[&str]| {
        let mut t = Test::new().inventory(LOCAL).playbook(&pb);
        t = t.args(&["-M", &repo().join("modules").display().to_string()]);
        t.run_with(extra)
    };
    let out = run(
        playbook("First-Pass-1", "[monitoring]", "present"),
        &["--check"],
    );
    assert_ok(&out, 1);
    assert!(
        !rabbit(&["list_users"], None).1.contains(&user),
        "check mode created the user"
    );
    let out = run(
        playbook("First-Pass-1", "[monitoring]", "present"),
        &["-vvv", "--diff"],
    );
    assert_ok(&out, 1);
    assert!(!out.stdout.contains("First-Pass-1"), "{}", out.stdout);
    assert!(rabbit(&["authenticate_user", &user], Some("First-Pass-1")).0);
    let users = rabbit(&["list_users", "--formatter", "json"], None).1;
    assert!(
        users.contains(&format!(
            "{{\"user\":\"{user}\",\"tags\":[\"monitoring\"]}}"
        )),
        "{users}"
    );
    let perms = rabbit(
        &["list_user_permissions", &user, "--formatter", "json"],
        None,
    )
    .1;
    assert!(perms.contains("\"read\":\"^amq\\\\.\""), "{perms}");
    // Again: nothing to do.
    assert_ok(
        &run(playbook("First-Pass-1", "[monitoring]", "present"), &[]),
        0,
    );
    // A new password and tags.
    let out = run(
        playbook("Second-Pass-2", "[administrator, management]", "present"),
        &["--diff"],
    );
    assert_ok(&out, 1);
    out.stdout_has("+tags: administrator,management")
        .stdout_has("+password: changed");
    assert!(rabbit(&["authenticate_user", &user], Some("Second-Pass-2")).0);
    assert_ok(
        &run(
            playbook("Second-Pass-2", "[administrator, management]", "present"),
            &[],
        ),
        0,
    );
    // Gone.
    assert_ok(&run(playbook("x", "[]", "absent"), &[]), 1);
    assert!(!rabbit(&["list_users"], None).1.contains(&user));
    assert_ok(&run(playbook("x", "[]", "absent"), &[]), 0);
}

fn nova(t: &Test, state: &Path, action: &str, extra: &str) -> Output {
    let pb = format!(
        "- hosts: localhost\n  gather_facts: false\n  environment:\n    FAKE_NOVA_STATE: {}\n  tasks:\n    - nova_cell:\n        action: {action}\n        run_as: ''\n        nova_manage: {}\n{extra}      register: r\n    - debug: var=r\n",
        state.display(),
        repo()
            .join("tests/fixtures/scripting/nova/nova-manage")
            .display()
    );
    std::fs::write(t.path("site.yml"), pb).unwrap();
    t.run()
}

#[test]
fn nova_cell_reads_nova_manage_tables() {
    let t = Test::new()
        .inventory(LOCAL)
        .playbook("")
        .args(&["-M", &repo().join("modules").display().to_string()]);
    let state = t.path("nova");
    std::fs::create_dir_all(&state).unwrap();
    let calls = || std::fs::read_to_string(state.join("calls")).unwrap_or_default();
    assert_ok(&nova(&t, &state, "map_cell0", ""), 1);
    assert_ok(&nova(&t, &state, "map_cell0", ""), 0);
    let url = "        transport_url: rabbit://openstack:Rabbit-Pw-5@127.0.0.1:5672/\n";
    let out = nova(
        &t,
        &state,
        "create_cell",
        &format!("        name: cell1\n{url}"),
    );
    assert_ok(&out, 1);
    out.stdout_has("\"msg\": \"cell cell1 created\"")
        .stdout_has("\"uuid\": \"13370984-")
        .stdout_lacks("Rabbit-Pw-5");
    assert_ok(
        &nova(
            &t,
            &state,
            "create_cell",
            &format!("        name: cell1\n{url}"),
        ),
        0,
    );
    // Another password: the masked URLs still match, so nothing changes;
    // another host does.
    let moved = "        transport_url: rabbit://openstack:Rabbit-Pw-5@10.0.0.9:5672/\n";
    assert_ok(
        &nova(
            &t,
            &state,
            "create_cell",
            &format!("        name: cell1\n{moved}"),
        ),
        1,
    );
    assert!(
        calls().contains("cell_v2 update_cell --cell_uuid 13370984-"),
        "{}",
        calls()
    );
    assert_ok(
        &nova(
            &t,
            &state,
            "create_cell",
            &format!("        name: cell1\n{moved}"),
        ),
        0,
    );
    // No computes yet: discovering changes nothing.
    assert_ok(&nova(&t, &state, "discover_hosts", ""), 0);
    std::fs::write(state.join("computes"), "vm\n").unwrap();
    let out = nova(&t, &state, "discover_hosts", "");
    assert_ok(&out, 1);
    out.stdout_has("\"new_hosts\": [\n      \"vm\"\n    ]");
    assert_ok(&nova(&t, &state, "discover_hosts", ""), 0);
    assert_eq!(calls().matches("create_cell").count(), 1, "{}", calls());
    assert_eq!(calls().matches("map_cell0").count(), 1, "{}", calls());
}
