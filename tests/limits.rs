//! Input that used to crash oplay, run forever or eat all memory is
//! refused with a clear message before any host is touched: NUL bytes,
//! nesting and alias bombs in YAML, huge host ranges, invalid `--limit`
//! patterns, import and include loops. Each case asserts the exit code,
//! the exact message and that the host's port never saw a connection.

mod support;

use std::time::{Duration, Instant};

use support::watch::Watch;
use support::{Output, Test};

/// Runs the test against a watched host, with a time limit, and returns
/// what it printed after checking the host was never contacted.
fn refused(test: Test, args: &[&str]) -> Output {
    let watch = Watch::new();
    let started = Instant::now();
    let out = test.inventory(&watch.inventory()).run_with(args);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    watch.assert_untouched();
    out
}

const TASK: &str = "- hosts: web\n  gather_facts: false\n  tasks:\n    - debug: msg=one\n";

#[test]
fn nul_byte_in_a_playbook() {
    let playbook = format!("{TASK}\0    - debug: msg=two\n");
    refused(Test::new().playbook(&playbook), &[]).code(3).stderr_is(
        "error: site.yml:5:1: invalid YAML: unacceptable character #x0000: special characters are not allowed\n  |\n5 | \u{fffd}    - debug: msg=two\n  | ^\n",
    );
}

#[test]
fn deeply_nested_yaml_even_under_syntax_check() {
    let playbook = format!(
        "{TASK}      vars:\n        v:\n          {}x\n",
        "- ".repeat(20_000)
    );
    let out = refused(Test::new().playbook(&playbook), &["--syntax-check"]);
    out.code(3);
    let first = out.stderr.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "error: site.yml:7:513: invalid YAML: nested more than 256 levels deep"
    );
}

#[test]
fn yaml_alias_bomb() {
    let mut playbook = String::from(
        "- hosts: web\n  gather_facts: false\n  vars:\n    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..=9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        playbook += &format!("    a{i}: &a{i} [{refs}]\n");
    }
    playbook += "  tasks:\n    - debug: msg=x\n";
    let out = refused(Test::new().playbook(&playbook), &[]);
    out.code(3).stderr_is(
        "error: site.yml:9:49: invalid YAML: aliases expand to more than 1000000 nodes (aliases of aliases?)\n  |\n9 |     a5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]\n  |                                                 ^\n",
    );
}

/// An inventory of its own (the watched host is not in it).
fn inventory_case(name: &str, inventory: &str, expected_stderr: &str) {
    let started = Instant::now();
    Test::new()
        .playbook(TASK)
        .file(name, inventory)
        .args(&["-i", name])
        .run()
        .code(3)
        .stderr_is(expected_stderr);
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn huge_host_ranges() {
    inventory_case(
        "hosts.ini",
        "[web]\nweb[0:99999999]\n",
        "error: hosts.ini:2:1: invalid host range `web[0:99999999]`: host range expands to more than 100000 hosts\n  |\n2 | web[0:99999999]\n  | ^\n",
    );
    inventory_case(
        "hosts.ini",
        "[web]\nweb[0:18446744073709551615]\n",
        "error: hosts.ini:2:1: invalid host range `web[0:18446744073709551615]`: host range expands to more than 100000 hosts\n  |\n2 | web[0:18446744073709551615]\n  | ^\n",
    );
    inventory_case(
        "hosts.yml",
        "web:\n  hosts:\n    web[0:999][0:999]:\n",
        "error: hosts.yml:3:5: invalid host range `web[0:999][0:999]`: host range expands to more than 100000 hosts\n  |\n3 |     web[0:999][0:999]:\n  |     ^\n",
    );
}

#[test]
fn invalid_limit_patterns() {
    let cases = [
        (
            "~[web",
            "error: --limit: invalid host pattern `~[web`: a `[` without its `]` (or a `]` without its `[`)\n",
        ),
        (
            "~web(",
            "error: --limit: invalid host pattern `~web(`: unclosed group\n",
        ),
        (
            "~",
            "error: --limit: invalid host pattern `~`: a `~` must be followed by a regular expression\n",
        ),
    ];
    for (limit, expected) in cases {
        refused(Test::new().playbook(TASK), &["--limit", limit])
            .code(3)
            .stderr_is(expected);
    }
}

#[test]
fn invalid_play_pattern_is_refused_before_the_first_play() {
    let playbook = format!("{TASK}- hosts: \"~web(\"\n  tasks:\n    - debug: msg=two\n");
    refused(Test::new().playbook(&playbook), &[]).code(3).stderr_is(
        "error: site.yml:5:3: invalid host pattern `~web(`: unclosed group\n  |\n5 | - hosts: \"~web(\"\n  |   ^\n",
    );
}

#[test]
fn import_loops_are_refused_at_load_time() {
    refused(
        Test::new().playbook("- import_playbook: site.yml\n"),
        &["--syntax-check"],
    )
    .code(3)
    .stderr_is(
        "error: site.yml:1:20: `import_playbook` loop: site.yml:1:20 imports site.yml again, which would never end\n  |\n1 | - import_playbook: site.yml\n  |                    ^\n",
    );
    let test = Test::new()
        .playbook("- hosts: web\n  gather_facts: false\n  tasks:\n    - import_tasks: a.yml\n")
        .file("a.yml", "- debug: msg=a\n- import_tasks: a.yml\n");
    refused(test, &["--syntax-check"]).code(3).stderr_is(
        "error: a.yml:2:17: `import_tasks` loop: site.yml:4:21 → a.yml:2:17 imports a.yml again, which would never end\n  |\n2 | - import_tasks: a.yml\n  |                 ^\n",
    );
    let test = Test::new()
        .playbook("- hosts: web\n  gather_facts: false\n  roles:\n    - r1\n")
        .file("roles/r1/meta/main.yml", "dependencies:\n  - r1\n")
        .file("roles/r1/tasks/main.yml", "- debug: msg=r1\n");
    refused(test, &["--syntax-check"]).code(3).stderr_is(
        "error: roles/r1/meta/main.yml:2:5: `role` loop: site.yml:4:7 → roles/r1/meta/main.yml:2:5 imports roles/r1 again, which would never end\n  |\n2 |   - r1\n  |     ^\n",
    );
}

/// An include of its own file fails the host at the 64th level, after
/// `ok` rounds of its first task.
fn endless_include(include_line: &str, ok: usize) {
    let started = Instant::now();
    let out = Test::new()
        .inventory("localhost ansible_connection=local\n")
        .playbook(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - include_tasks: a.yml\n",
        )
        .file("a.yml", &format!("- debug: msg=a\n{include_line}\n"))
        .run();
    assert!(started.elapsed() < Duration::from_secs(20));
    out.code(2).stdout_has(
        "\"msg\":\"a.yml:2:3: `include_tasks` nested more than 64 levels deep: site.yml:4:7 → a.yml:2:3 → a.yml:2:3 → a.yml:2:3 → … (58 more) → a.yml:2:3 → a.yml:2:3 → a.yml:2:3 (a file that includes itself without end?)",
    );
    let recap = out.recap("localhost");
    assert!(recap.starts_with(&format!("ok={ok} ")), "{recap}");
}

#[test]
fn an_include_of_its_own_file_stops_at_the_depth_limit() {
    endless_include("- include_tasks: a.yml", 63);
    endless_include("- include_tasks: \"{{ 'a.yml' }}\"", 64);
}

#[test]
fn an_include_of_its_own_file_may_end_itself() {
    let out = Test::new()
        .inventory("localhost ansible_connection=local\n")
        .playbook("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - include_tasks: a.yml\n")
        .file(
            "a.yml",
            "- set_fact:\n    n: \"{{ (n | default(0) | int) + 1 }}\"\n- include_tasks: a.yml\n  when: n | int < 3\n- debug: msg=\"n={{ n }}\"\n",
        )
        .run();
    out.code(0);
    assert_eq!(
        out.stdout.matches("\"msg\": \"n=3\"").count(),
        3,
        "{}",
        out.stdout
    );
}

const LOCAL: &str = "localhost ansible_connection=local\n";

#[test]
fn a_script_pushes_200000_items_quickly() {
    let script = "const MODULE = #{ doc: \"x\", params: #{} };\n\nfn run(params) {\n    let a = [];\n    for i in 0..200000 { a.push(i); }\n    #{ changed: false, len: a.len() }\n}\n";
    let started = Instant::now();
    let out = Test::new()
        .inventory(LOCAL)
        .file("modules/pushes.rhai", script)
        .playbook("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - pushes: {}\n      register: r\n    - debug: var=r.len\n")
        .run();
    out.code(0).stdout_has("\"r.len\": 200000");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

/// A script looping on host calls is stopped when its task times out: it
/// no longer writes once the next task has started.
#[test]
fn a_script_stops_when_its_task_times_out() {
    let script = "const MODULE = #{ doc: \"x\", params: #{ dir: #{ type: \"path\", required: true } } };\n\nfn run(params) {\n    loop { host.exec(\"echo x >> \" + params.dir + \"/ticks; sleep 0.05\"); }\n}\n";
    let playbook = "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - spin: {dir: \"{dir}\"}\n      timeout: 1\n      ignore_errors: true\n    - shell: sleep 0.5; cp ticks at1; sleep 1; cp ticks at2\n      args: {chdir: \"{dir}\"}\n";
    let test = Test::new()
        .inventory(LOCAL)
        .file("modules/spin.rhai", script)
        .playbook(playbook);
    let started = Instant::now();
    let out = test.run();
    out.code(0).stdout_has("Timed out after 1 second(s).");
    assert!(started.elapsed() < Duration::from_secs(15));
    let at1 = std::fs::read_to_string(test.path("at1")).unwrap();
    let at2 = std::fs::read_to_string(test.path("at2")).unwrap();
    assert!(!at1.is_empty());
    assert_eq!(at1, at2, "the script went on after its task timed out");
}

#[test]
fn a_closing_brace_pair_in_a_condition_fails_the_task_instead_of_panicking() {
    let out = Test::new()
        .inventory(LOCAL)
        .playbook("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=x\n      when: \"1 }} 2\"\n")
        .run();
    out.code(2).stdout_has(
        "\"msg\":\"the conditional check failed: template error in `1 }} 2`: syntax error: unexpected `}}` before the end of the expression (in task 'debug' at site.yml:4:7)\"",
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}
