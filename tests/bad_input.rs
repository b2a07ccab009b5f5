//! Bad input is refused before any host is touched: each case asserts the
//! exit code, the exact message with its location, and that the host's
//! port never saw a connection.

mod support;

use std::net::TcpListener;

use support::Test;

/// A listening port that counts the connections it accepts.
struct Watch {
    listener: TcpListener,
}

impl Watch {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Watch { listener }
    }

    fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }

    fn inventory(&self) -> String {
        format!(
            "[web]\nweb1 ansible_host=127.0.0.1 ansible_port={} ansible_user=root\n",
            self.port()
        )
    }

    fn assert_untouched(&self) {
        assert!(self.listener.accept().is_err(), "a connection was opened");
    }
}

fn case(playbook: &str, expected_stderr: &str) {
    let watch = Watch::new();
    Test::new()
        .playbook(playbook)
        .inventory(&watch.inventory())
        .run()
        .code(3)
        .stderr_is(expected_stderr);
    watch.assert_untouched();
}

#[test]
fn malformed_yaml() {
    case(
        "- hosts: web\n  tasks:\n    - name: x\n      copy: [1, 2\n",
        "error: site.yml:4:18: invalid YAML: while parsing a flow sequence, expected ',' or ']'\n  |\n4 |       copy: [1, 2\n  |                  ^\n",
    );
}

#[test]
fn unknown_play_keyword() {
    case(
        "- hosts: web\n  taks:\n    - command: ls\n",
        "error: site.yml:2:3: unknown play keyword `taks`\n  |\n2 |   taks:\n  |   ^\nhint: did you mean `tasks`?\n",
    );
}

#[test]
fn unknown_module() {
    case(
        "- hosts: web\n  tasks:\n    - name: x\n      comand: ls\n",
        "error: site.yml:4:7: unknown module or keyword `comand`\n  |\n4 |       comand: ls\n  |       ^\nhint: did you mean `command`?\n",
    );
}

#[test]
fn unknown_task_keyword() {
    case(
        "- hosts: web\n  tasks:\n    - command: ls\n      registr: out\n",
        "error: site.yml:4:7: unknown module or keyword `registr`\n  |\n4 |       registr: out\n  |       ^\nhint: did you mean `register`?\n",
    );
}

#[test]
fn unknown_parameter() {
    case(
        "- hosts: web\n  tasks:\n    - command:\n        cmd: ls\n        chdri: /tmp\n",
        "error: site.yml:5:9: unknown parameter `chdri` for module `command`\n  |\n5 |         chdri: /tmp\n  |         ^\nhint: did you mean `chdir`?\n",
    );
}

#[test]
fn wrong_parameter_type() {
    case(
        "- hosts: web\n  tasks:\n    - command:\n        cmd: ls\n        stdin_add_newline: maybe\n",
        "error: site.yml:5:28: parameter `stdin_add_newline` of `command` must be a boolean (yes/no/true/false), found 'maybe'\n  |\n5 |         stdin_add_newline: maybe\n  |                            ^\n",
    );
}

#[test]
fn missing_required_parameter() {
    case(
        "- hosts: web\n  tasks:\n    - copy:\n        content: hi\n",
        "error: site.yml:3:7: missing required parameter `dest` for module `copy`\n  |\n3 |     - copy:\n  |       ^\n",
    );
}

#[test]
fn undefined_handler() {
    case(
        "- hosts: web\n  tasks:\n    - command: ls\n      notify: restart foo\n  handlers:\n    - name: restart food\n      command: ls\n",
        "error: site.yml:4:15: this task notifies `restart foo`, but no handler of the play has that name or listens to it\n  |\n4 |       notify: restart foo\n  |               ^\nhint: did you mean `restart food`?\n",
    );
}

#[test]
fn bad_inventory_line() {
    let watch = Watch::new();
    Test::new()
        .playbook("- hosts: web\n  tasks:\n    - command: ls\n")
        .inventory(&format!("[web\nweb1 ansible_port={}\n", watch.port()))
        .run()
        .code(3)
        .stderr_is("error: hosts:1:1: invalid section header `[web`\n  |\n1 | [web\n  | ^\nhint: a section is `[group]`, `[group:vars]` or `[group:children]`, without spaces; comments start with `#`\n");
    watch.assert_untouched();
}

#[test]
fn missing_playbook_file() {
    Test::new()
        .args(&["run", "nope.yml"])
        .run()
        .code(3)
        .stderr_is(
            "error: could not read playbook nope.yml: No such file or directory (os error 2)\n",
        );
}

#[test]
fn usage_error_exit_code() {
    let out = Test::new().args(&["run", "--forks", "many", "x.yml"]).run();
    out.code(5);
    assert!(
        out.stderr
            .contains("invalid value 'many' for '--forks <FORKS>'"),
        "{}",
        out.stderr
    );
}

#[test]
fn undefined_variable_names_the_variable_and_the_task() {
    let out = Test::new()
        .playbook("- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: use it\n      command: echo {{ nope }}\n")
        .run();
    out.code(2);
    out.stdout_has("'nope' is undefined (in task 'use it' at site.yml:4:7)");
}
