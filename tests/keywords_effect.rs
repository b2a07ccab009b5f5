//! Every keyword a play or a task accepts has an effect: one small
//! playbook per keyword (or per family of keywords), run by the real
//! binary, shows it. The lists come from the crate's own constants, so a
//! keyword added later without a test here fails
//! `every_accepted_keyword_is_proven`.
//!
//! Local hosts use `ansible_connection=local`; `connection` and
//! `remote_user` are shown over SSH against a test sshd. The refusals
//! (values oplay cannot honour) are in `bad_input.rs`.

mod support;

use std::time::{Duration, Instant};

use oplay::playbook::keywords::{PLAY_KEYWORDS, TASK_KEYWORDS};
use support::Test;
use support::sshd::Sshd;

/// Which test proves each keyword.
const PROVEN: &[(&str, fn())] = &[
    ("name", names_show_in_the_output),
    ("hosts", names_show_in_the_output),
    ("tasks", play_sections_run_in_order),
    ("pre_tasks", play_sections_run_in_order),
    ("post_tasks", play_sections_run_in_order),
    ("roles", play_sections_run_in_order),
    ("handlers", play_sections_run_in_order),
    ("notify", play_sections_run_in_order),
    ("listen", play_sections_run_in_order),
    ("vars", vars_at_play_and_task_level),
    ("vars_files", vars_files_fixed_and_templated),
    ("gather_facts", gather_facts_on_and_off),
    ("gather_subset", gather_subset_timeout_and_fact_path),
    ("gather_timeout", gather_subset_timeout_and_fact_path),
    ("fact_path", gather_subset_timeout_and_fact_path),
    ("become", become_with_sudo),
    ("become_user", become_with_sudo),
    ("become_method", become_with_sudo),
    ("serial", serial_makes_batches),
    ("any_errors_fatal", any_errors_fatal_stops_every_host),
    ("max_fail_percentage", max_fail_percentage_stops_the_play),
    ("strategy", free_strategy_lets_hosts_run_ahead),
    ("check_mode", check_mode_and_diff),
    ("diff", check_mode_and_diff),
    ("environment", environment_at_play_and_task_level),
    ("tags", tags_select_tasks),
    ("ignore_errors", ignore_errors_and_unreachable),
    ("ignore_unreachable", ignore_errors_and_unreachable),
    ("remote_user", remote_user_picks_the_login),
    ("connection", connection_picks_local_or_ssh),
    ("collections", collections_resolve_builtin_names),
    ("order", order_sorts_the_hosts),
    ("force_handlers", force_handlers_run_on_failed_hosts),
    ("no_log", no_log_hides_results),
    ("vars_prompt", vars_prompt_asks_on_the_terminal),
    ("module_defaults", module_defaults_fill_arguments),
    ("run_once", run_once_runs_on_one_host),
    ("throttle", throttle_limits_concurrent_hosts),
    ("when", conditions_and_results),
    ("register", conditions_and_results),
    ("changed_when", conditions_and_results),
    ("failed_when", conditions_and_results),
    ("loop", loops_and_their_controls),
    ("with_items", loops_and_their_controls),
    ("with_list", loops_and_their_controls),
    ("with_dict", loops_and_their_controls),
    ("loop_control", loops_and_their_controls),
    ("delegate_to", delegation_and_its_facts),
    ("delegate_facts", delegation_and_its_facts),
    ("until", until_retries_delay),
    ("retries", until_retries_delay),
    ("delay", until_retries_delay),
    ("args", args_extend_module_arguments),
    ("timeout", timeout_stops_a_slow_task),
    ("debugger", debugger_never_fails_as_usual),
];

#[test]
fn every_accepted_keyword_is_proven() {
    let proven: Vec<&str> = PROVEN.iter().map(|(k, _)| *k).collect();
    for k in PLAY_KEYWORDS.iter().chain(TASK_KEYWORDS) {
        assert!(
            proven.contains(k),
            "keyword `{k}` is accepted but no test here proves its effect"
        );
    }
    for k in &proven {
        assert!(
            PLAY_KEYWORDS.contains(k) || TASK_KEYWORDS.contains(k),
            "`{k}` is listed here but no longer accepted"
        );
    }
}

/// An inventory of local hosts `h1`..`hN`.
fn local_hosts(n: usize) -> String {
    (1..=n)
        .map(|i| format!("h{i} ansible_connection=local\n"))
        .collect()
}

fn run(playbook: &str, inventory: &str, args: &[&str]) -> support::Output {
    Test::new()
        .playbook(playbook)
        .inventory(inventory)
        .args(args)
        .run()
}

#[test]
fn names_show_in_the_output() {
    let out = run(
        "- name: The play\n  hosts: h2\n  gather_facts: no\n  tasks:\n    - name: The task\n      debug: msg=hi\n",
        &local_hosts(2),
        &[],
    );
    out.code(0)
        .stdout_has("PLAY [The play]")
        .stdout_has("TASK [The task]")
        .stdout_has("ok: [h2]")
        .stdout_lacks("[h1]");
}

#[test]
fn play_sections_run_in_order() {
    let out = Test::new()
        .file(
            "roles/r/tasks/main.yml",
            "- shell: echo role >> {dir}/order\n",
        )
        .playbook(
            r#"- hosts: h1
  gather_facts: no
  pre_tasks:
    - shell: echo pre >> {dir}/order
      notify: by name
  roles: [r]
  tasks:
    - shell: echo tasks >> {dir}/order
      notify: a topic
  post_tasks:
    - shell: echo post >> {dir}/order
  handlers:
    - name: by name
      shell: echo handler-name >> {dir}/order
    - name: listener
      shell: echo handler-topic >> {dir}/order
      listen: a topic
"#,
        )
        .inventory(&local_hosts(1));
    out.run().code(0);
    assert_eq!(
        std::fs::read_to_string(out.path("order")).unwrap(),
        "pre\nhandler-name\nrole\ntasks\nhandler-topic\npost\n"
    );
}

#[test]
fn vars_at_play_and_task_level() {
    run(
        "- hosts: h1\n  gather_facts: no\n  vars: {a: play, b: play}\n  tasks:\n    - debug: msg=\"{{ a }}-{{ b }}\"\n      vars: {b: task}\n",
        &local_hosts(1),
        &[],
    )
    .code(0)
    .stdout_has("\"msg\": \"play-task\"");
}

#[test]
fn vars_files_fixed_and_templated() {
    let t = Test::new()
        .file("fixed.yml", "a: fixed\nb: fixed\n")
        .file("h1.yml", "b: from_h1\n")
        .file("h2.yml", "b: from_h2\n")
        .file("Linux.yml", "c: linux\n")
        .playbook(
            r#"- hosts: all
  gather_facts: yes
  vars_files:
    - fixed.yml
    - "{{ inventory_hostname }}.yml"
    - ["{{ ansible_facts.system }}.yml", fixed.yml]
  tasks:
    - debug: msg="{{ a }} {{ b }} {{ c }}"
"#,
        )
        .inventory(&local_hosts(2));
    t.run()
        .code(0)
        .stdout_has("\"msg\": \"fixed from_h1 linux\"")
        .stdout_has("\"msg\": \"fixed from_h2 linux\"");
    // A rendered name that matches no file fails the host at its first task.
    let out = run(
        "- hosts: h1\n  gather_facts: no\n  vars: {fname: missing.yml}\n  vars_files:\n    - \"{{ fname }}\"\n  tasks:\n    - debug: msg=never\n",
        &local_hosts(1),
        &[],
    );
    out.code(2)
        .stdout_has("vars file `{{ fname }}` not found (looked for ")
        .stdout_has("/missing.yml; vars_files entry at site.yml:5:7)")
        .stdout_lacks("never");
    // Without facts, a name that needs one is skipped with a warning.
    run(
        "- hosts: h1\n  gather_facts: no\n  vars: {a: play}\n  vars_files:\n    - \"{{ nope }}.yml\"\n  tasks:\n    - debug: msg={{ a }}\n",
        &local_hosts(1),
        &[],
    )
    .code(0)
    .stdout_has("site.yml:5:7: skipping vars_files entry `{{ nope }}.yml` due to an undefined variable: 'nope' is undefined")
    .stdout_has("\"msg\": \"play\"");
}

#[test]
fn gather_facts_on_and_off() {
    let pb = |on: &str| {
        format!(
            "- hosts: h1\n  gather_facts: {on}\n  tasks:\n    - debug: msg=\"{{{{ ansible_facts.system | default('none') }}}}\"\n"
        )
    };
    run(&pb("yes"), &local_hosts(1), &[])
        .code(0)
        .stdout_has("TASK [Gathering Facts]")
        .stdout_has("\"msg\": \"Linux\"");
    run(&pb("no"), &local_hosts(1), &[])
        .code(0)
        .stdout_lacks("Gathering Facts")
        .stdout_has("\"msg\": \"none\"");
}

#[test]
fn gather_subset_timeout_and_fact_path() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new()
        .playbook(
            "- hosts: h1\n  gather_subset: '!all,network'\n  gather_timeout: 1\n  fact_path: '{dir}/facts.d'\n  tasks:\n    - debug: msg=\"{{ ansible_facts.memtotal_mb | default('nohw') }} {{ 'lo' in ansible_interfaces }} {{ ansible_local.mine.x }} {{ ansible_local.slow }}\"\n",
        )
        .inventory(&local_hosts(1))
        .file("facts.d/mine.fact", "{\"x\": \"local\"}\n")
        .file("facts.d/slow.fact", "#!/bin/sh\nsleep 5\n");
    let slow = t.path("facts.d/slow.fact");
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let started = Instant::now();
    t.run()
        .code(0)
        .stdout_has("nohw True local Failure executing fact script")
        .stdout_has("rc: 124");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn become_with_sudo() {
    run(
        r#"- hosts: h1
  gather_facts: no
  become: true
  become_user: nobody
  become_method: sudo
  tasks:
    - command: id -un
      register: play_level
    - command: id -un
      register: task_level
      become_user: daemon
    - command: id -un
      register: plain
      become: false
    - debug: msg="{{ play_level.stdout }} {{ task_level.stdout }} {{ plain.stdout }}"
"#,
        &local_hosts(1),
        &[],
    )
    .code(0)
    .stdout_has("\"msg\": \"nobody daemon root\"");
}

#[test]
fn serial_makes_batches() {
    run(
        "- hosts: all\n  gather_facts: no\n  serial: 1\n  tasks:\n    - debug: msg=\"{{ inventory_hostname }} sees {{ ansible_play_batch | length }}\"\n",
        &local_hosts(2),
        &[],
    )
    .code(0)
    .stdout_has("\"msg\": \"h1 sees 1\"")
    .stdout_has("\"msg\": \"h2 sees 1\"");
}

#[test]
fn any_errors_fatal_stops_every_host() {
    let pb = |play: &str, task: &str| {
        format!(
            "- hosts: all\n  gather_facts: no\n{play}  tasks:\n    - fail: msg=boom\n      when: inventory_hostname == 'h1'\n{task}    - debug: msg=after\n"
        )
    };
    let after = |out: &support::Output| out.stdout.contains("\"msg\": \"after\"");
    assert!(after(&run(&pb("", ""), &local_hosts(2), &[])));
    for (play, task) in [
        ("  any_errors_fatal: true\n", ""),
        ("", "      any_errors_fatal: true\n"),
    ] {
        let out = run(&pb(play, task), &local_hosts(2), &[]);
        out.code(2);
        assert!(!after(&out), "{}", out.stdout);
    }
}

#[test]
fn max_fail_percentage_stops_the_play() {
    let pb = |pct: &str| {
        format!(
            "- hosts: all\n  gather_facts: no\n  max_fail_percentage: {pct}\n  tasks:\n    - fail: msg=boom\n      when: inventory_hostname == 'h1'\n    - debug: msg=after\n"
        )
    };
    run(&pb("50"), &local_hosts(4), &[])
        .code(2)
        .stdout_has("\"msg\": \"after\"");
    run(&pb("20"), &local_hosts(4), &[])
        .code(2)
        .stdout_lacks("\"msg\": \"after\"");
}

#[test]
fn free_strategy_lets_hosts_run_ahead() {
    let pb = |strategy: &str| {
        format!(
            r#"- hosts: all
  gather_facts: no
  strategy: {strategy}
  tasks:
    - name: h1 waits for h2 to finish its second task
      shell: "if [ {{{{ inventory_hostname }}}} = h1 ]; then sleep 1; test -f {{dir}}/h2-done; fi"
    - shell: touch {{dir}}/{{{{ inventory_hostname }}}}-done
"#
        )
    };
    run(&pb("free"), &local_hosts(2), &[]).code(0);
    run(&pb("linear"), &local_hosts(2), &[]).code(2);
}

#[test]
fn check_mode_and_diff() {
    let t = Test::new()
        .playbook(
            r#"- hosts: h1
  gather_facts: no
  check_mode: true
  diff: true
  tasks:
    - copy: {content: "one\n", dest: "{dir}/play"}
    - copy: {content: "two\n", dest: "{dir}/task"}
      check_mode: false
      diff: false
"#,
        )
        .inventory(&local_hosts(1));
    let out = t.run();
    out.code(0).stdout_has("+one").stdout_lacks("+two");
    assert!(!t.path("play").exists(), "check mode wrote the file");
    assert_eq!(std::fs::read_to_string(t.path("task")).unwrap(), "two\n");
}

#[test]
fn environment_at_play_and_task_level() {
    run(
        "- hosts: h1\n  gather_facts: no\n  environment: {A: play, B: play}\n  tasks:\n    - shell: echo $A-$B\n      environment: {B: task}\n      register: r\n    - debug: var=r.stdout\n",
        &local_hosts(1),
        &[],
    )
    .code(0)
    .stdout_has("\"r.stdout\": \"play-task\"");
}

#[test]
fn tags_select_tasks() {
    let pb = "- hosts: h1\n  gather_facts: no\n  tags: [play]\n  tasks:\n    - debug: msg=untagged-task\n    - debug: msg=tagged-task\n      tags: [mine]\n";
    run(pb, &local_hosts(1), &["--tags", "mine"])
        .code(0)
        .stdout_has("tagged-task")
        .stdout_lacks("untagged-task");
    run(pb, &local_hosts(1), &["--tags", "play"])
        .code(0)
        .stdout_has("untagged-task");
    run(pb, &local_hosts(1), &["--skip-tags", "play"])
        .code(0)
        .stdout_lacks("tagged-task");
}

#[test]
fn ignore_errors_and_unreachable() {
    let inventory = "h1 ansible_connection=local\ngone ansible_host=127.0.0.1 ansible_port=1\n";
    let out = run(
        r#"- hosts: all
  gather_facts: no
  ignore_errors: true
  ignore_unreachable: true
  tasks:
    - fail: msg=boom
    - command: "true"
    - debug: msg="went on"
      delegate_to: localhost
"#,
        inventory,
        &[],
    );
    out.code(4).stdout_has("...ignoring");
    assert_eq!(
        out.stdout.matches("\"msg\": \"went on\"").count(),
        2,
        "{}",
        out.stdout
    );
    // At task level, and only for that task.
    let out = run(
        "- hosts: h1\n  gather_facts: no\n  tasks:\n    - fail: msg=first\n      ignore_errors: true\n    - fail: msg=second\n    - debug: msg=never\n",
        &local_hosts(1),
        &[],
    );
    out.code(2).stdout_lacks("never");
    assert_eq!(
        out.recap("h1"),
        "ok=1 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=1"
    );
}

/// An sshd that lets `root` and `oplay-kw` in with one key, and an
/// inventory line for it (without a user).
fn ssh_host(name: &str, sshd: &Sshd, extra: &str) -> String {
    format!(
        "{name} ansible_host=127.0.0.1 ansible_port={} ansible_ssh_private_key_file={} ansible_ssh_known_hosts_file={} {extra}\n",
        sshd.port,
        sshd.client_key.display(),
        sshd.known_hosts.display()
    )
}

#[test]
fn remote_user_picks_the_login() {
    let sshd = Sshd::start_as("oplay-kw");
    let pb = r#"- hosts: all
  gather_facts: yes
  remote_user: oplay-kw
  tasks:
    - command: id -un
      register: play_level
    - command: id -un
      register: task_level
      remote_user: root
    - debug: msg="{{ ansible_facts.user_id }} {{ play_level.stdout }} {{ task_level.stdout }}"
"#;
    let inventory = format!(
        "{}{}",
        ssh_host("s", &sshd, ""),
        ssh_host("pinned", &sshd, "ansible_user=root")
    );
    let out = run(pb, &inventory, &["-u", "nobody"]);
    out.code(0);
    // The keyword wins over -u; the host's ansible_user wins over the keyword.
    out.stdout_has("ok: [s] => {\n  \"msg\": \"oplay-kw oplay-kw root\"")
        .stdout_has("ok: [pinned] => {\n  \"msg\": \"root root root\"");
}

#[test]
fn connection_picks_local_or_ssh() {
    let sshd = Sshd::start();
    let refused = "ansible_host=127.0.0.1 ansible_port=1";
    let inventory = format!(
        "here {refused}\nforced {refused} ansible_connection=ssh\n{}",
        ssh_host("127.0.0.1", &sshd, "")
    );
    let out = run(
        r#"- hosts: all
  gather_facts: no
  connection: local
  tasks:
    - shell: echo "${SSH_CONNECTION:-none}"
      register: play_level
    - shell: echo "${SSH_CONNECTION:-none}"
      register: task_level
      connection: ssh
      when: inventory_hostname == '127.0.0.1'
    - debug: msg="{{ play_level.stdout }} {{ task_level.stdout | default('-') }}"
"#,
        &inventory,
        &[],
    );
    out.code(4);
    // The keyword runs `here` locally; the host var `ansible_connection`
    // wins over it for `forced`, whose SSH port refuses.
    out.stdout_has("ok: [here] => {\n  \"msg\": \"none -\"")
        .stdout_has("fatal: [forced]: UNREACHABLE!");
    let line = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("ok: [127.0.0.1] => {"))
        .nth(1)
        .unwrap_or_default();
    assert!(
        line.starts_with("  \"msg\": \"none 127.0.0.1 "),
        "task-level ssh did not use SSH: {line}\n{}",
        out.stdout
    );
}

#[test]
fn collections_resolve_builtin_names() {
    run(
        "- hosts: h1\n  gather_facts: no\n  collections: [ansible.builtin, ansible.legacy]\n  tasks:\n    - debug: msg=short\n      collections: [ansible.builtin]\n    - ansible.legacy.debug: msg=long\n",
        &local_hosts(1),
        &[],
    )
    .code(0)
    .stdout_has("\"msg\": \"short\"")
    .stdout_has("\"msg\": \"long\"");
}

#[test]
fn order_sorts_the_hosts() {
    // With one fork, results come in the order the hosts run; the magic
    // variables keep inventory order, as in ansible-core.
    let ran = |out: &support::Output| -> Vec<String> {
        out.code(0);
        out.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("ok: ["))
            .filter_map(|l| l.split(']').next())
            .map(String::from)
            .collect()
    };
    let pb = |order: &str| {
        format!(
            "- hosts: all\n  gather_facts: no\n  order: {order}\n  tasks:\n    - debug: msg=\"{{{{ ansible_play_hosts | join(',') }}}}\"\n"
        )
    };
    let inventory =
        "b ansible_connection=local\nc ansible_connection=local\na ansible_connection=local\n";
    for (order, expected) in [
        ("inventory", ["b", "c", "a"]),
        ("reverse_inventory", ["a", "c", "b"]),
        ("sorted", ["a", "b", "c"]),
        ("reverse_sorted", ["c", "b", "a"]),
    ] {
        let out = run(&pb(order), inventory, &["-f", "1"]);
        assert_eq!(ran(&out), expected, "order: {order}\n{}", out.stdout);
        out.stdout_has("\"msg\": \"b,c,a\"");
    }
    let many = local_hosts(8);
    let inventory_order: Vec<String> = (1..=8).map(|i| format!("h{i}")).collect();
    let shuffled = (0..5).any(|_| {
        let mut got = ran(&run(&pb("shuffle"), &many, &["-f", "1"]));
        let moved = got != inventory_order;
        got.sort();
        assert_eq!(got, inventory_order);
        moved
    });
    assert!(
        shuffled,
        "five shuffles of eight hosts kept the inventory order"
    );
}

#[test]
fn force_handlers_run_on_failed_hosts() {
    let pb = |keyword: &str| {
        format!(
            "- hosts: h1\n  gather_facts: no\n{keyword}  tasks:\n    - command: \"true\"\n      changed_when: true\n      notify: h\n    - fail: msg=boom\n    - debug: msg=never\n  handlers:\n    - name: h\n      debug: msg=handler-ran\n"
        )
    };
    let ran = |out: &support::Output| {
        out.code(2).stdout_lacks("\"msg\": \"never\"");
        out.stdout.contains("handler-ran")
    };
    assert!(!ran(&run(&pb(""), &local_hosts(1), &[])));
    assert!(ran(&run(
        &pb("  force_handlers: true\n"),
        &local_hosts(1),
        &[]
    )));
    assert!(ran(&run(&pb(""), &local_hosts(1), &["--force-handlers"])));
    assert!(!ran(&run(
        &pb("  force_handlers: false\n"),
        &local_hosts(1),
        &["--force-handlers"]
    )));
}

#[test]
fn no_log_hides_results() {
    let out = run(
        "- hosts: h1\n  gather_facts: no\n  no_log: true\n  tasks:\n    - debug: msg=hidden-at-play\n    - debug: msg=shown-at-task\n      no_log: false\n",
        &local_hosts(1),
        &[],
    );
    out.code(0)
        .stdout_lacks("hidden-at-play")
        .stdout_has("the output has been hidden")
        .stdout_has("shown-at-task");
}

#[test]
fn module_defaults_fill_arguments() {
    run(
        r#"- hosts: h1
  gather_facts: no
  module_defaults:
    command: {chdir: /tmp}
    ansible.builtin.shell: {chdir: /usr}
  tasks:
    - command: pwd
      register: play_level
    - shell: pwd
      register: fqcn_key
    - command: pwd
      register: own_arg_wins
      args: {chdir: /}
    - block:
        - command: pwd
          register: block_level
      module_defaults:
        command: {chdir: /etc}
    - debug: msg="{{ play_level.stdout }} {{ fqcn_key.stdout }} {{ own_arg_wins.stdout }} {{ block_level.stdout }}"
"#,
        &local_hosts(1),
        &[],
    )
    .code(0)
    .stdout_has("\"msg\": \"/tmp /usr / /etc\"");
}

#[test]
fn run_once_runs_on_one_host() {
    let out = run(
        "- hosts: all\n  gather_facts: no\n  run_once: true\n  tasks:\n    - debug: msg=once\n    - debug: msg=each\n      run_once: false\n",
        &local_hosts(3),
        &[],
    );
    out.code(0);
    assert_eq!(
        out.stdout.matches("\"msg\": \"once\"").count(),
        1,
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.matches("\"msg\": \"each\"").count(),
        3,
        "{}",
        out.stdout
    );
}

#[test]
fn throttle_limits_concurrent_hosts() {
    // Two hosts inside the critical section at once fail its `mkdir`.
    let task = "shell: mkdir {dir}/lock && sleep 0.3 && rmdir {dir}/lock";
    let pb = |play: &str, task_kw: &str| {
        format!("- hosts: all\n  gather_facts: no\n{play}  tasks:\n    - {task}\n{task_kw}")
    };
    run(&pb("", ""), &local_hosts(4), &[]).code(2);
    run(&pb("", "      throttle: 1\n"), &local_hosts(4), &[]).code(0);
    run(&pb("  throttle: 1\n", ""), &local_hosts(4), &[]).code(0);
    run(
        &pb("  strategy: free\n", "      throttle: \"{{ 0 + 1 }}\"\n"),
        &local_hosts(4),
        &[],
    )
    .code(0);
}

#[test]
fn conditions_and_results() {
    run(
        r#"- hosts: h1
  gather_facts: no
  tasks:
    - command: echo 42
      register: r
      changed_when: false
      failed_when: r.stdout != '42'
    - debug: msg="skipped"
      when: r.stdout == '41'
    - debug: msg="ran {{ r.stdout }} {{ r.changed }}"
      when: r.stdout == '42'
"#,
        &local_hosts(1),
        &[],
    )
    .code(0)
    .stdout_has("\"msg\": \"ran 42 False\"")
    .stdout_lacks("\"msg\": \"skipped\"");
}

#[test]
fn loops_and_their_controls() {
    run(
        r#"- hosts: h1
  gather_facts: no
  tasks:
    - set_fact: {seen: []}
    - set_fact: {seen: "{{ seen + [item] }}"}
      loop: [a, b]
    - set_fact: {seen: "{{ seen + [item] }}"}
      with_items: [[c], d]
    - set_fact: {seen: "{{ seen + [item | first] }}"}
      with_list: [[e]]
    - set_fact: {seen: "{{ seen + [item.key ~ '=' ~ item.value] }}"}
      with_dict: {f: 1}
    - set_fact: {seen: "{{ seen + [i ~ ':' ~ x] }}"}
      loop: [g]
      loop_control: {loop_var: x, index_var: i, label: "{{ x }}!"}
    - debug: msg="{{ seen | join(',') }}"
"#,
        &local_hosts(1),
        &[],
    )
    .code(0)
    .stdout_has("\"msg\": \"a,b,c,d,e,f=1,0:g\"")
    .stdout_has("(item=g!)");
}

#[test]
fn delegation_and_its_facts() {
    let inventory = "h1 ansible_connection=local\nh2 ansible_connection=local\ngone ansible_host=127.0.0.1 ansible_port=1\n";
    let out = run(
        r#"- hosts: h1
  gather_facts: no
  tasks:
    - command: "true"
      delegate_to: gone
      ignore_unreachable: true
    - set_fact: {kept: here}
      delegate_to: h2
    - set_fact: {moved: there}
      delegate_to: h2
      delegate_facts: true
    - debug: msg="{{ kept }} {{ moved | default('-') }} {{ hostvars['h2'].moved }} {{ hostvars['h2'].kept | default('-') }}"
"#,
        inventory,
        &[],
    );
    out.code(4)
        .stdout_has("fatal: [h1 -> gone]: UNREACHABLE!")
        .stdout_has("127.0.0.1:1")
        .stdout_has("\"msg\": \"here - there -\"");
}

#[test]
fn until_retries_delay() {
    let started = Instant::now();
    let out = run(
        "- hosts: h1\n  gather_facts: no\n  tasks:\n    - shell: echo x >> {dir}/tries; wc -l < {dir}/tries\n      register: r\n      until: r.stdout | int == 3\n      retries: 5\n      delay: 0.2\n    - debug: msg=\"{{ r.attempts }}\"\n",
        &local_hosts(1),
        &[],
    );
    out.code(0).stdout_has("\"msg\": 3");
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[test]
fn args_extend_module_arguments() {
    run(
        "- hosts: h1\n  gather_facts: no\n  tasks:\n    - command: pwd\n      args: {chdir: /usr}\n      register: r\n    - debug: var=r.stdout\n",
        &local_hosts(1),
        &[],
    )
    .code(0)
    .stdout_has("\"r.stdout\": \"/usr\"");
}

#[test]
fn timeout_stops_a_slow_task() {
    let started = Instant::now();
    run(
        "- hosts: h1\n  gather_facts: no\n  tasks:\n    - command: sleep 10\n      timeout: 1\n",
        &local_hosts(1),
        &[],
    )
    .code(2)
    .stdout_has("Timed out after 1 second(s).");
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[test]
fn debugger_never_fails_as_usual() {
    run(
        "- hosts: h1\n  gather_facts: no\n  tasks:\n    - fail: msg=plain-failure\n      debugger: never\n",
        &local_hosts(1),
        &[],
    )
    .code(2)
    .stdout_has("plain-failure");
}

#[test]
fn vars_prompt_asks_on_the_terminal() {
    let t = Test::new()
        .playbook(
            r#"- hosts: h1
  gather_facts: no
  vars_prompt:
    - name: word
      prompt: Your word
    - name: color
      prompt: Color
      default: blue
      private: no
    - name: pin
      prompt: PIN
      confirm: yes
    - name: given
  tasks:
    - debug: msg="{{ word }}/{{ color }}/{{ pin }}/{{ given }}"
"#,
        )
        .inventory(&local_hosts(1));
    let (code, screen) = support::terminal::on_terminal(
        &t,
        &[
            ("Your word: ", "hunter2"),
            ("Color [blue]: ", ""),
            ("PIN: ", "1234"),
            ("confirm PIN: ", "1234"),
        ],
        "-e given=from-e",
    );
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("\"msg\": \"hunter2/blue/1234/from-e\""),
        "{screen}"
    );
    assert_eq!(
        screen.matches("hunter2").count(),
        1,
        "the private answer was echoed:\n{screen}"
    );
    assert!(
        !screen.contains("given: "),
        "an -e variable was asked:\n{screen}"
    );
    // Without a terminal: the default is used, with Ansible's warning.
    let out = t.run_with(&["-e", "word=w", "-e", "pin=p", "-e", "given=g"]);
    out.code(0)
        .stdout_has("[WARNING]: Not prompting as we are not in interactive mode")
        .stdout_has("\"msg\": \"w/blue/p/g\"");
}
