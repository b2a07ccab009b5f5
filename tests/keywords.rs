//! Task keywords and their edge cases, each in a small playbook run by the
//! real binary on the local connection.

mod support;

use support::Test;

#[test]
fn meta_flush_handlers_runs_notified_handlers_at_that_point() {
    let out = Test::new()
        .playbook(
            r#"- hosts: localhost
  gather_facts: no
  tasks:
    - name: configure
      command: "true"
      changed_when: true
      notify: restart
    - meta: flush_handlers
    - name: after the flush
      command: test -f {dir}/restarted
  handlers:
    - name: restart
      command: touch {dir}/restarted
"#,
        )
        .run();
    out.code(0);
    assert_eq!(
        out.recap("localhost"),
        "ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let handler = out
        .stdout
        .find("RUNNING HANDLER [restart]")
        .expect("handler ran");
    let after = out.stdout.find("TASK [after the flush]").expect("task ran");
    assert!(
        handler < after,
        "the handler ran after the next task\n{}",
        out.stdout
    );
}

#[test]
fn every_handler_listening_to_a_topic_runs() {
    let out = Test::new()
        .playbook(
            r#"- hosts: localhost
  gather_facts: no
  tasks:
    - name: configure
      command: "true"
      changed_when: true
      notify: restart web stack
  handlers:
    - name: restart api
      command: touch {dir}/api
      listen: restart web stack
    - name: restart worker
      command: touch {dir}/worker
      listen: restart web stack
    - name: not notified
      command: touch {dir}/other
"#,
        )
        .run();
    out.code(0);
    assert!(
        out.stdout.contains("RUNNING HANDLER [restart api]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("RUNNING HANDLER [restart worker]"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("not notified"), "{}", out.stdout);
}

#[test]
fn free_form_shell_keeps_its_lines() {
    let t = Test::new().playbook(
        r#"- hosts: localhost
  gather_facts: no
  tasks:
    - name: two lines
      shell: |
        echo one > {dir}/out
        echo two >> {dir}/out
      args:
        creates: {dir}/never
"#,
    );
    t.run().code(0);
    let written = std::fs::read_to_string(t.path("out")).expect("out written");
    assert_eq!(written, "one\ntwo\n");
}

#[test]
fn nested_answers_under_a_token_key_stay_readable() {
    let out = Test::new()
        .playbook(
            r#"- hosts: localhost
  gather_facts: no
  vars:
    answer:
      token:
        catalog: [{type: image, name: glance}]
        auth_token: gAAAAB-not-for-your-eyes
  tasks:
    - debug: var=answer
    - name: a flag under a token-named option
      debug:
        msg: "{{ {'send_service_user_token': 'true'} }}"
"#,
        )
        .run_with(&["-v"]);
    out.code(0)
        .stdout_has("\"name\": \"glance\"")
        .stdout_has("\"send_service_user_token\": \"true\"")
        .stdout_lacks("gAAAAB-not-for-your-eyes");
}

#[test]
fn exclusive_parameters_are_judged_after_omit() {
    let out = Test::new()
        .playbook(
            r#"- hosts: localhost
  gather_facts: no
  tasks:
    - debug:
        msg: "{{ nothing | default(omit) }}"
        var: inventory_hostname
    - debug:
        msg: "{{ 'both' }}"
        var: inventory_hostname
"#,
        )
        .run();
    out.code(2)
        .stdout_has("\"inventory_hostname\": \"localhost\"")
        .stdout_has(
            "invalid parameters: parameters `msg` and `var` of `debug` are mutually exclusive",
        );
}

#[test]
fn file_modules_ask_the_login_s_identity_once_per_host_even_at_vvv() {
    let out = Test::new()
        .playbook(
            r#"- hosts: localhost
  gather_facts: no
  tasks:
    - copy: {content: "a\n", dest: "{dir}/a"}
    - copy: {content: "b\n", dest: "{dir}/b"}
    - copy: {content: "c\n", dest: "{dir}/c"}
"#,
        )
        .run_with(&["-vvv"]);
    out.code(0);
    let asked = out.stdout.matches("id -un").count();
    assert_eq!(asked, 1, "{}", out.stdout);
}

#[test]
fn meta_clear_facts_forgets_gathered_facts() {
    // As in ansible-core: run once, on the first host (its `when` decides),
    // for every host of the play; set_fact variables stay.
    let run = |who: &str| {
        Test::new()
            .playbook(&format!("- hosts: all\n  gather_facts: yes\n  tasks:\n    - set_fact: {{mine: kept}}\n    - meta: clear_facts\n      when: inventory_hostname == '{who}'\n    - debug: msg=\"{{{{ ansible_facts.system | default('cleared') }}}} {{{{ mine }}}}\"\n"))
            .inventory("h1 ansible_connection=local\nh2 ansible_connection=local\n")
            .run()
    };
    let out = run("h1");
    out.code(0);
    assert_eq!(
        out.stdout.matches("\"msg\": \"cleared kept\"").count(),
        2,
        "{}",
        out.stdout
    );
    let out = run("h2");
    out.code(0);
    assert_eq!(
        out.stdout.matches("\"msg\": \"Linux kept\"").count(),
        2,
        "{}",
        out.stdout
    );
}

#[test]
fn included_tasks_inherit_the_play_but_not_the_include() {
    Test::new()
        .file("inc.yml", "- command: id -un\n  register: r\n- debug: msg=\"{{ r.stdout }} {{ v }}\"\n")
        .playbook("- hosts: h1\n  gather_facts: no\n  become: true\n  become_user: nobody\n  tasks:\n    - include_tasks: inc.yml\n      vars: {v: include-vars}\n    - include_tasks: \"{{ 'inc.yml' }}\"\n      vars: {v: dynamic}\n")
        .inventory("h1 ansible_connection=local\n")
        .run()
        .code(0)
        .stdout_has("\"msg\": \"nobody include-vars\"")
        .stdout_has("\"msg\": \"nobody dynamic\"");
}
