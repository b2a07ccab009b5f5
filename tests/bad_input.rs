//! Bad input is refused before any host is touched: each case asserts the
//! exit code, the exact message with its location, and that the host's
//! port never saw a connection.

mod support;

use support::Test;
use support::watch::Watch;

fn case(playbook: &str, expected_stderr: &str) {
    case_with(&[], playbook, expected_stderr);
}

/// [`case`] with more files beside the playbook.
fn case_with(files: &[(&str, &str)], playbook: &str, expected_stderr: &str) {
    let watch = Watch::new();
    let mut t = Test::new();
    for (name, text) in files {
        t = t.file(name, text);
    }
    t.playbook(playbook)
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

// Keyword values oplay cannot honour.

#[test]
fn refuses_become_methods_other_than_sudo() {
    case(
        "- hosts: web\n  become_method: su\n  tasks: []\n",
        "error: site.yml:2:18: `become_method: su` is not supported; oplay becomes with sudo only\n  |\n2 |   become_method: su\n  |                  ^\n",
    );
    case(
        "- hosts: web\n  tasks:\n    - command: id\n      become_method: doas\n",
        "error: site.yml:4:22: `become_method: doas` is not supported; oplay becomes with sudo only\n  |\n4 |       become_method: doas\n  |                      ^\n",
    );
}

#[test]
fn refuses_unknown_connections() {
    case(
        "- hosts: web\n  connection: docker\n  tasks: []\n",
        "error: site.yml:2:15: `connection: docker` is not supported; oplay connects with `ssh` (also used for `paramiko` and `smart`) or `local`\n  |\n2 |   connection: docker\n  |               ^\n",
    );
}

#[test]
fn refuses_debuggers_collections_and_orders() {
    case(
        "- hosts: web\n  tasks:\n    - command: id\n      debugger: on_failed\n",
        "error: site.yml:4:17: `debugger: on_failed` is not supported; oplay has no task debugger (only `debugger: never` is accepted)\n  |\n4 |       debugger: on_failed\n  |                 ^\n",
    );
    case(
        "- hosts: web\n  collections:\n    - ansible.builtin\n    - community.general\n  tasks: []\n",
        "error: site.yml:4:7: collection `community.general` is not supported; oplay resolves module names from ansible.builtin and ansible.legacy only\n  |\n4 |     - community.general\n  |       ^\n",
    );
    case(
        "- hosts: web\n  order: random\n  tasks: []\n",
        "error: site.yml:2:10: unknown order `random`: expected inventory, reverse_inventory, sorted, reverse_sorted or shuffle\n  |\n2 |   order: random\n  |          ^\n",
    );
}

#[test]
fn refuses_module_defaults_oplay_cannot_apply() {
    case(
        "- hosts: web\n  module_defaults:\n    group/aws: {region: x}\n  tasks: []\n",
        "error: site.yml:3:5: `module_defaults` groups (`group/aws`) are not supported; list the modules by name\n  |\n3 |     group/aws: {region: x}\n  |     ^\n",
    );
    case(
        "- hosts: web\n  module_defaults:\n    comand: {chdir: /}\n  tasks: []\n",
        "error: site.yml:3:5: unknown module `comand` in `module_defaults`\n  |\n3 |     comand: {chdir: /}\n  |     ^\nhint: did you mean `command`?\n",
    );
    case(
        "- hosts: web\n  module_defaults:\n    command: {chdri: /}\n  tasks:\n    - command: pwd\n",
        "error: site.yml:3:15: unknown parameter `chdri` for module `command`\n  |\n3 |     command: {chdri: /}\n  |               ^\nhint: did you mean `chdir`?\n",
    );
}

#[test]
fn refuses_vars_prompt_oplay_cannot_answer() {
    case(
        "- hosts: web\n  vars_prompt:\n    - name: pw\n      encrypt: sha512_crypt\n  tasks: []\n",
        "error: site.yml:4:7: `encrypt` in `vars_prompt` is not supported; oplay does not hash prompted values\n  |\n4 |       encrypt: sha512_crypt\n  |       ^\n",
    );
    // Standard input is not a terminal here, and there is no default.
    case(
        "- hosts: web\n  vars_prompt:\n    - name: pw\n      prompt: Password\n  tasks: []\n",
        "error: site.yml:3:7: vars_prompt `pw` needs an answer, but standard input is not a terminal\n  |\n3 |     - name: pw\n  |       ^\nhint: pass it with `-e pw=...` or give it a `default`\n",
    );
}

#[test]
fn refuses_keywords_that_blocks_and_includes_would_drop() {
    case(
        "- hosts: web\n  tasks:\n    - block:\n        - command: id\n      loop: [1, 2]\n",
        "error: site.yml:5:7: `loop` is not valid on a block; put it on the block's tasks\n  |\n5 |       loop: [1, 2]\n  |       ^\n",
    );
    case_with(
        &[("inc.yml", "- command: id\n")],
        "- hosts: web\n  tasks:\n    - include_tasks: inc.yml\n      become: true\n",
        "error: site.yml:4:7: `become` is not valid on `include_tasks`: it would not apply to the included tasks (use `import_tasks`, or put it on a block around the include)\n  |\n4 |       become: true\n  |       ^\n",
    );
    case_with(
        &[("inc.yml", "- command: id\n")],
        "- hosts: web\n  tasks:\n    - include_tasks: inc.yml\n      loop: [1, 2]\n",
        "error: site.yml:4:7: `loop` on `include_tasks` is not supported by oplay\n  |\n4 |       loop: [1, 2]\n  |       ^\n",
    );
}

/// Standard output that cannot be written (a full disk, a reader gone
/// away) drops the text; it is no panic.
#[test]
fn unwritable_standard_output_is_no_crash() {
    for args in [
        &["doc", "copy"][..],
        &["doc", "--list"],
        &["inventory", "-i", "h1,", "--list"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_oplay"))
            .args(args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
