//! Rhai script modules through the real binary: the host API, parameter
//! validation at load time, check and diff modes, redaction of secret
//! parameters, calling and overriding native modules, limits and error
//! locations, concurrency of slow scripts, and the example of
//! `docs/writing-a-module.md`. The shipped modules are in
//! `shipped_modules.rs`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::{Output, Test, assert_ok};

const LOCAL: &str = "localhost ansible_connection=local\n";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(rel: &str) -> String {
    std::fs::read_to_string(repo().join("tests/fixtures/scripting").join(rel)).unwrap()
}

/// A test with one local host, a playbook and one script module.
fn with_script(name: &str, script: &str, playbook: &str) -> Test {
    Test::new()
        .inventory(LOCAL)
        .file(&format!("modules/{name}.rhai"), script)
        .playbook(playbook)
}

const PROBE: &str = r#"
const MODULE = #{ doc: "Exercises the host API.", params: #{ dir: #{ type: "path", required: true } } };

fn run(params) {
    let dir = params.dir;
    let shell = host.exec("echo hi; echo oops >&2; exit 3");
    let argv = host.exec(["sh", "-c", "pwd; echo \"$GREETING\"; cat"],
                         #{ chdir: dir, env: #{ GREETING: "hello there" }, stdin: "from stdin" });
    let quoted = host.exec(["printf", "%s|", "a b", "it's", "$HOME"]);
    host.write_file(dir + "/f.txt", "one\ntwo\n", #{ mode: "0640" });
    let st = host.stat(dir + "/f.txt");
    #{
        changed: false,
        shell: shell,
        argv: argv.stdout,
        quoted: quoted.stdout,
        content: host.read_file(dir + "/f.txt"),
        missing: host.read_file(dir + "/nope") == (),
        mode: st.mode, kind: st.kind, size: st.size,
        exists: host.exists(dir + "/f.txt"), exists_not: host.exists(dir + "/nope"),
        dir_kind: host.stat(dir).kind,
        stat_missing: host.stat(dir + "/nope") == (),
        host_name: host.name,
        v: vars["greeting"], var_dot: vars.greeting, var_expr: vars.get("numbers[1]"),
        has_var: vars.contains("greeting"), lacks_var: vars.contains("nothing_here"),
        templated: template("{{ greeting | upper }} {{ numbers | sum }}"),
        fact: facts.os_family, fact_count: facts.len(),
        check: check_mode(), diff_on: diff_mode(),
        json: parse_json("{\"a\": [1, 2]}").a[1],
    }
}
"#;

#[test]
fn host_api_exec_files_vars_template_facts() {
    let t = with_script(
        "probe",
        PROBE,
        r#"
- hosts: localhost
  gather_facts: true
  vars:
    greeting: hello
    numbers: [1, 2, 3]
  tasks:
    - probe:
        dir: "{dir}"
      register: r
    - assert:
        that:
          - 'r.shell == {"rc": 3, "stdout": "hi\n", "stderr": "oops\n"}'
          - r.argv == "{dir}\nhello there\nfrom stdin"
          - r.quoted == "a b|it's|$HOME|"
          - r.content == "one\ntwo\n"
          - r.missing and r.stat_missing and r.exists and not r.exists_not
          - r.mode == "0640" and r.kind == "file" and r.size == 8
          - r.dir_kind == "directory"
          - r.host_name == "localhost"
          - r.v == "hello" and r.var_dot == "hello" and r.var_expr == 2
          - r.has_var and not r.lacks_var
          - r.templated == "HELLO 6"
          - r.check == false and r.diff_on == false
          - r.json == 2
          - r.fact == ansible_facts.os_family and r.fact == "Debian"
          - r.fact_count == ansible_facts | length
          - r.changed == false
"#,
    );
    assert_ok(&t.run(), 0);
}

/// A one-shot HTTP server that answers every request with what it got.
fn echo_server(requests: usize) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        for _ in 0..requests {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut length = 0;
            let mut header = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let l = line.trim_end().to_ascii_lowercase();
                if l.is_empty() {
                    break;
                }
                if let Some(v) = l.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if let Some(v) = l.strip_prefix("x-test:") {
                    header = v.trim().to_string();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut words = request_line.split_whitespace();
            let reply = serde_json::json!({
                "method": words.next().unwrap(),
                "path": words.next().unwrap(),
                "body": String::from_utf8_lossy(&body),
                "header": header,
            })
            .to_string();
            let mut stream = reader.into_inner();
            let status = if request_line.contains("/missing") {
                "404 Not Found"
            } else {
                "200 OK"
            };
            write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            )
            .unwrap();
        }
    });
    (port, handle)
}

#[test]
fn http_methods_over_the_shared_client() {
    let (port, server) = echo_server(6);
    let script = r#"
const MODULE = #{ doc: "HTTP.", params: #{ base: #{ type: "str" } } };
fn run(params) {
    let b = params.base;
    #{
        get: http.get(b + "/a"),
        post: http.post(b + "/b", #{ json: #{ n: 1 }, headers: #{ "X-Test": "yes" } }),
        put: http.put(b + "/c", #{ json: [1], timeout: 5 }).json,
        patch: http.patch(b + "/d", #{ body: "raw text" }).json,
        delete: http.delete(b + "/e").json.method,
        missing: http.get(b + "/missing").status,
    }
}
"#;
    let out = with_script(
        "web",
        script,
        &format!(
            r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - web: {{ base: "http://127.0.0.1:{port}" }}
      register: r
    - assert:
        that:
          - r.get.status == 200 and r.get.json.method == "GET" and r.get.json.path == "/a"
          - r.get.headers["content-type"] == "application/json"
          - 'r.post.json == {{"method": "POST", "path": "/b", "body": "{{\"n\":1}}", "header": "yes"}}'
          - r.put.method == "PUT" and r.put.body == "[1]"
          - r.patch.method == "PATCH" and r.patch.body == "raw text"
          - r.delete == "DELETE"
          - r.missing == 404
"#
        ),
    )
    .run();
    assert_ok(&out, 0);
    server.join().unwrap();
}

/// Skips a test that needs the services of tests/services/setup.sh.
fn services() -> bool {
    let up = std::env::var_os("OPLAY_TEST_SERVICES").is_some();
    if !up {
        eprintln!("skipped: OPLAY_TEST_SERVICES is not set (run tests/services/setup.sh)");
    }
    up
}

const OS_SCRIPT: &str = r#"
const MODULE = #{ doc: "x", params: #{} };
fn run(params) {
    let regions = openstack.request("identity", "GET", "/v3/regions", ());
    let missing = openstack.request("identity", "GET", "/v3/users/no-such-user", ());
    let scoped = openstack.request("identity", "GET", "/regions", (), #{ region_name: vars.region });
    #{ changed: false, status: regions.status, regions: regions.json.regions.map(|r| r.id),
       missing: missing.status, scoped: scoped.status }
}
"#;

#[test]
fn openstack_requests_need_credentials() {
    let out = with_script(
        "os",
        OS_SCRIPT,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - os: {}\n      environment: { OS_CLOUD: no-such-cloud, OS_CLIENT_CONFIG_FILE: /nonexistent/clouds.yaml }\n",
    )
    .run();
    out.code(2).stdout_has(
        "\"msg\":\"script error in run(): modules/os.rhai:4:29: cloud `no-such-cloud`: no clouds.yaml found (looked at /nonexistent/clouds.yaml,",
    );
}

#[test]
fn openstack_requests_through_the_shared_session() {
    if !services() {
        return;
    }
    let var = |k: &str| std::env::var(format!("OPLAY_TEST_{k}")).unwrap();
    let env = format!(
        "{{ OS_AUTH_URL: '{}', OS_USERNAME: '{}', OS_PASSWORD: '{}', OS_PROJECT_NAME: '{}', OS_USER_DOMAIN_NAME: Default, OS_PROJECT_DOMAIN_NAME: Default }}",
        var("OS_AUTH_URL"),
        var("OS_USERNAME"),
        var("OS_PASSWORD"),
        var("OS_PROJECT_NAME")
    );
    let out = with_script(
        "os",
        OS_SCRIPT,
        &format!(
            "- hosts: localhost\n  gather_facts: false\n  vars: {{ region: {} }}\n  tasks:\n    - os: {{}}\n      environment: {env}\n      register: r\n    - assert: {{ that: ['r.status == 200', 'vars.region in r.regions', 'r.missing == 404', 'r.scoped == 200'] }}\n",
            var("OS_REGION_NAME")
        ),
    )
    .run_with(&["-vvv"]);
    assert_ok(&out, 0);
    assert!(!out.stdout.contains(&var("OS_PASSWORD")));
}

#[test]
fn ini_functions_use_the_ini_set_editor() {
    let script = r#"
const MODULE = #{ doc: "INI.", params: #{ path: #{ type: "path" } } };
fn run(params) {
    let text = host.read_file(params.path);
    let edited = ini.set(text, "database", "connection", "mysql+pymysql://nova@db/nova");
    edited = ini.set(edited, (), "top", 1);
    edited = ini.remove(edited, "DEFAULT", "debug");
    if !check_mode() { host.write_file(params.path, edited); }
    #{
        changed: edited != text,
        parsed: ini.parse(text),
        state_path: ini.get(text, "DEFAULT", "state_path"),
        missing: ini.get(text, "nope", "x") == (),
        diff: #{ before: text, after: edited },
    }
}
"#;
    let conf = "# nova.conf\n[DEFAULT]\nstate_path = /var/lib/nova\ndebug = true\n\n[database]\n#connection = <None>\n";
    let t = with_script(
        "conf",
        script,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - conf: { path: \"{dir}/nova.conf\" }\n      register: r\n    - assert:\n        that:\n          - 'r.parsed == {\"DEFAULT\": {\"state_path\": \"/var/lib/nova\", \"debug\": \"true\"}}'\n          - r.state_path == \"/var/lib/nova\"\n          - r.missing\n",
    )
    .file("nova.conf", conf);
    let out = t.run_with(&["--check", "--diff"]);
    assert_ok(&out, 1);
    out.stdout_has("-#connection = <None>\n+connection = mysql+pymysql://nova@db/nova");
    assert_ok(&t.run(), 1);
    assert_eq!(
        std::fs::read_to_string(t.path("nova.conf")).unwrap(),
        "top = 1\n# nova.conf\n[DEFAULT]\nstate_path = /var/lib/nova\n\n[database]\nconnection = mysql+pymysql://nova@db/nova\n"
    );
}

#[test]
fn module_calls_pass_check_and_diff_modes_through() {
    let script = r#"
const MODULE = #{ doc: "Writes through another module.", params: #{ dest: #{ type: "path", required: true } } };
fn run(params) {
    let r = call_module("marked", #{ path: params.dest, text: "from a script" });
    let listed = native("command", #{ argv: ["ls", params.dest] });
    #{ changed: r.changed, inner: r, listed: listed.rc }
}
"#;
    let t = with_script(
        "writer",
        script,
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - writer: { dest: "{dir}/out.txt" }
      register: r
    - debug: var=r
"#,
    )
    .file("modules/marked.rhai", MARKED);
    let out = t.run_with(&["--check", "--diff"]);
    assert_ok(&out, 1);
    // The inner call ran in check mode: its diff is there, the file is not,
    // and `command` was skipped (it cannot predict its result).
    out.stdout_has("\"after\": \"from a script\\n\"")
        .stdout_has("\"listed\": null");
    assert!(!t.path("out.txt").exists(), "check mode wrote the file");
    assert!(!t.path("out.txt.applied").exists());
    let out = t.run();
    assert_ok(&out, 1);
    out.stdout_has("\"listed\": 0");
    assert_eq!(
        std::fs::read_to_string(t.path("out.txt")).unwrap(),
        "from a script\n"
    );
    assert_ok(&t.run(), 0);
}

#[test]
fn log_and_warn_go_through_the_reporter() {
    let script = r#"
const MODULE = #{ doc: "x", params: #{ token: #{ type: "str", secret: true } } };
fn run(params) {
    log("logging " + params.token);
    warn("careful with " + params.token);
    #{ changed: false }
}
"#;
    let t = with_script(
        "talk",
        script,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - talk: { token: Tok-Value-77 }\n",
    );
    let out = t.run();
    assert_ok(&out, 0);
    out.stdout_has("[WARNING]: careful with ********")
        .stdout_lacks("logging")
        .stdout_lacks("Tok-Value-77");
    let out = t.run_with(&["-v"]);
    out.stdout_has("<localhost> logging ********")
        .stdout_lacks("Tok-Value-77");
}

const DECLARED: &str = r#"
const MODULE = #{
    doc: "Declared parameters.",
    params: #{
        name: #{ type: "str", required: true },
        count: #{ type: "int", "default": 2 },
        state: #{ type: "str", choices: ["present", "absent"] },
    },
};
fn run(params) { #{ changed: false, got: params } }
"#;

fn load_error(task: &str) -> Output {
    let out = with_script(
        "decl",
        DECLARED,
        &format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - decl: {task}\n"),
    )
    .run();
    out.code(3);
    out
}

#[test]
fn parameters_are_validated_at_load_time() {
    load_error("{ name: a, cuont: 3 }").stderr_is(
        "error: site.yml:4:24: unknown parameter `cuont` for module `decl`\n  |\n4 |     - decl: { name: a, cuont: 3 }\n  |                        ^\nhint: did you mean `count`?\n",
    );
    load_error("{ name: a, count: many }").stderr_is(
        "error: site.yml:4:31: parameter `count` of `decl` must be an integer, found 'many'\n  |\n4 |     - decl: { name: a, count: many }\n  |                               ^\n",
    );
    load_error("{ count: 1 }").stderr_is(
        "error: site.yml:4:7: missing required parameter `name` for module `decl`\n  |\n4 |     - decl: { count: 1 }\n  |       ^\n",
    );
    load_error("{ name: a, state: gone }").stderr_is(
        "error: site.yml:4:31: parameter `state` of `decl` must be one of present, absent, found 'gone'\n  |\n4 |     - decl: { name: a, state: gone }\n  |                               ^\n",
    );
    // Defaults and types reach the script.
    let out = with_script(
        "decl",
        DECLARED,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - decl: { name: x, count: '5' }\n      register: r\n    - assert: { that: ['r.got == {\"name\": \"x\", \"count\": 5, \"state\": None}'] }\n",
    )
    .run();
    assert_ok(&out, 0);
}

#[test]
fn declaration_errors_point_into_the_script() {
    let out = with_script(
        "bad",
        "const MODULE = #{\n    doc: \"x\",\n    params: #{ n: #{ type: \"int\", default: 1 } },\n};\nfn run(p) { #{} }\n",
        "- hosts: localhost\n  tasks:\n    - bad: {}\n",
    )
    .run();
    out.code(3).stderr_is(
        "error: modules/bad.rhai:3:35: script module `bad` does not compile: 'default' is a reserved keyword\n  |\n3 |     params: #{ n: #{ type: \"int\", default: 1 } },\n  |                                   ^\nhint: `default` is a Rhai keyword: write the key quoted, `\"default\": value`\n",
    );
    let out = with_script(
        "bad",
        "const MODULE = #{\n    doc: \"x\",\n    params: #{ n: #{ type: \"int\", requierd: true } },\n};\nfn run(p) { #{} }\n",
        "- hosts: localhost\n  tasks:\n    - bad: {}\n",
    )
    .run();
    out.code(3).stderr_is(
        "error: modules/bad.rhai:3:35: unknown key `requierd` in the declaration of `n` (known: type, required, default, choices, aliases, secret, doc)\n  |\n3 |     params: #{ n: #{ type: \"int\", requierd: true } },\n  |                                   ^\nhint: did you mean `required`?\n",
    );
    let out = with_script(
        "bad",
        "fn run(p) { #{} }\n",
        "- hosts: localhost\n  tasks:\n    - bad: {}\n",
    )
    .run();
    out.code(3).stderr_is(
        "error: modules/bad.rhai:1:1: script module `bad` must declare `const MODULE = #{ doc: \"...\", params: #{ ... } };`\n  |\n1 | fn run(p) { #{} }\n  | ^\n",
    );
}

const MARKED: &str = r#"
const MODULE = #{ doc: "Writes a file; apply leaves a marker.", params: #{
    path: #{ type: "path", required: true },
    text: #{ type: "str", "default": "hello" },
} };
fn check(params) {
    let now = host.read_file(params.path) ?? "";
    let want = params.text + "\n";
    #{ changed: now != want, diff: #{ header: params.path, before: now, after: want }, seen: now }
}
fn apply(params) {
    host.write_file(params.path, params.text + "\n");
    host.write_file(params.path + ".applied", "yes");
    #{ msg: "written" }
}
"#;

#[test]
fn check_mode_never_calls_apply_and_diff_shows_the_change() {
    let t = with_script(
        "marked",
        MARKED,
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - marked: { path: "{dir}/f.txt", text: new }
      register: r
    - debug: var=r
"#,
    )
    .file("f.txt", "old\n");
    let out = t.run_with(&["--check", "--diff"]);
    assert_ok(&out, 1);
    out.stdout_has("-old\n+new")
        .stdout_has("\"seen\": \"old\\n\"");
    assert_eq!(std::fs::read_to_string(t.path("f.txt")).unwrap(), "old\n");
    assert!(!t.path("f.txt.applied").exists(), "apply ran in check mode");
    let out = t.run_with(&["--diff"]);
    assert_ok(&out, 1);
    // apply's result keeps what check found, and reports changed.
    out.stdout_has("-old\n+new")
        .stdout_has("\"msg\": \"written\"")
        .stdout_has("\"seen\": \"old\\n\"");
    assert_eq!(std::fs::read_to_string(t.path("f.txt")).unwrap(), "new\n");
    assert!(t.path("f.txt.applied").exists());
    std::fs::remove_file(t.path("f.txt.applied")).unwrap();
    assert_ok(&t.run(), 0);
    assert!(
        !t.path("f.txt.applied").exists(),
        "apply ran with nothing to do"
    );
}

#[test]
fn secret_parameters_are_redacted_everywhere() {
    let script = r#"
const MODULE = #{ doc: "x", params: #{ key: #{ type: "str", secret: true, aliases: ["api_key"] } } };
fn run(params) {
    let r = host.exec("echo " + params.key);
    log("key " + params.key);
    #{ changed: true, echoed: r.stdout, msg: "used " + params.key,
       diff: #{ before: "", after: params.key + "\n" } }
}
"#;
    let t = with_script(
        "sec",
        script,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - sec: { api_key: \"{{ k }}\" }\n      register: r\n    - debug: var=r\n",
    );
    for args in [
        &["-e", "k=Very-Secret-991", "-vvv", "--diff"][..],
        &[
            "-e",
            "k=Very-Secret-991",
            "-vvv",
            "--diff",
            "--output",
            "json",
        ][..],
    ] {
        let out = t.run_with(args);
        out.code(0);
        assert!(out.stdout.contains("used ********"), "{}", out.stdout);
        assert!(
            !out.stdout.contains("Very-Secret-991") && !out.stderr.contains("Very-Secret-991"),
            "secret leaked with {args:?}:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn a_script_overrides_a_native_module_and_calls_it() {
    let script = r#"
const MODULE = #{
    doc: "command, with a note.",
    params: #{ cmd: #{ type: "str", required: true } },
};
fn run(params) {
    let r = native("command", params);
    r.note = "wrapped";
    r
}
"#;
    let t = with_script(
        "command",
        script,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: { cmd: \"touch {dir}/c.txt\" }\n      register: r\n    - assert: { that: ['r.note == \"wrapped\"', 'r.changed', 'r.rc == 0'] }\n",
    );
    let out = t.run_with(&["-v"]);
    assert_ok(&out, 1);
    out.stdout_has(
        "<localhost> using script module modules/command.rhai (overrides the native module command)",
    );
    assert!(t.path("c.txt").exists());
    let doc = Test::new()
        .file("modules/command.rhai", script)
        .args(&["doc", "command"])
        .run();
    doc.code(0)
        .stdout_has("command (script module, modules/command.rhai)")
        .stdout_has("overrides the native module `command`");
    let list = Test::new()
        .file("modules/command.rhai", script)
        .args(&["doc", "--list"])
        .run();
    list.code(0)
        .stdout_has("command, with a note. (script, overrides the native module)");
}

#[test]
fn endless_loops_are_stopped_by_the_limits() {
    let script = "const MODULE = #{ doc: \"x\", params: #{} };\n\nfn run(params) {\n    let x = 0;\n    loop { x += 1; }\n}\n";
    let out = with_script(
        "spin",
        script,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - spin: {}\n",
    )
    .run();
    out.code(2).stdout_has(
        "\"msg\":\"script error in run(): modules/spin.rhai:3:1: the script ran too long and was stopped after 20000000 operations (an endless loop?)\"",
    );
    let deep = "const MODULE = #{ doc: \"x\", params: #{} };\nfn down(n) { down(n + 1) }\nfn run(params) { down(0) }\n";
    let out = with_script(
        "deep",
        deep,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - deep: {}\n",
    )
    .run();
    out.code(2)
        .stdout_has("too many nested calls (more than 64; endless recursion?)");
    let big = "const MODULE = #{ doc: \"x\", params: #{} };\nfn run(params) { let s = \"x\"; loop { s += s; } }\n";
    let out = with_script(
        "big",
        big,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - big: {}\n",
    )
    .run();
    out.code(2).stdout_has("grew beyond the script limits");
}

#[test]
fn script_errors_name_file_line_column_and_the_call_stack() {
    let script = "const MODULE = #{ doc: \"x\", params: #{} };\n\nfn helper(x) {\n    let y = x + 1;\n    y.no_such_method()\n}\n\nfn run(params) {\n    helper(1)\n}\n";
    let out = with_script("oops", script, "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: Break it\n      oops: {}\n").run();
    out.code(2)
        .stdout_has("TASK [Break it]")
        .stdout_has("fatal: [localhost]: FAILED!")
        .stdout_has("\"msg\":\"script error in run(): modules/oops.rhai:5:7: Function not found: no_such_method (i64)\\n  in helper() called at modules/oops.rhai:9:5\"");
    let failing = "const MODULE = #{ doc: \"x\", params: #{} };\nfn run(params) { fail(\"the widget is missing\"); }\n";
    let out = with_script(
        "f",
        failing,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - f: {}\n",
    )
    .run();
    out.code(2).stdout_has("\"msg\":\"the widget is missing\"");
    let not_a_map = "const MODULE = #{ doc: \"x\", params: #{} };\nfn run(params) { 42 }\n";
    let out = with_script(
        "n",
        not_a_map,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - n: {}\n",
    )
    .run();
    out.code(2).stdout_has("modules/n.rhai:2:1: run() must return a map like #{ changed: true, msg: \\\"...\\\" }, found i64");
}

#[test]
fn a_slow_script_does_not_stall_other_hosts() {
    let script = "const MODULE = #{ doc: \"x\", params: #{} };\nfn run(params) { host.exec(\"sleep 1\"); #{ changed: true } }\n";
    let t = Test::new()
        .inventory("[all]\nh1 ansible_connection=local\nh2 ansible_connection=local\nh3 ansible_connection=local\n")
        .file("modules/slow.rhai", script)
        .playbook("- hosts: all\n  gather_facts: false\n  tasks:\n    - slow: {}\n");
    let started = Instant::now();
    let out = t.run();
    let took = started.elapsed();
    out.code(0);
    assert!(
        took < Duration::from_millis(1900),
        "3 hosts sleeping 1 s took {took:?}: the scripts ran one after the other"
    );
}

#[test]
fn script_modules_are_found_in_every_module_folder() {
    let module = |msg: &str| {
        format!(
            "const MODULE = #{{ doc: \"x\", params: #{{}} }};\nfn run(p) {{ #{{ changed: false, msg: \"{msg}\" }} }}\n"
        )
    };
    let t = Test::new()
        .inventory(LOCAL)
        .file("playbooks/site.yml", "- hosts: localhost\n  gather_facts: false\n  roles: [r]\n  tasks:\n    - {project: {}}\n    - {beside: {}}\n    - {cli: {}}\n    - {env: {}}\n    - {conf: {}}\n")
        .file("playbooks/roles/r/tasks/main.yml", "- {from_role: {}}\n")
        .file("playbooks/roles/r/modules/from_role.rhai", &module("role"))
        .file("modules/project.rhai", &module("project"))
        .file("playbooks/modules/beside.rhai", &module("beside"))
        .file("cli/cli.rhai", &module("cli"))
        .file("envdir/env.rhai", &module("env"))
        .file("confdir/conf.rhai", &module("conf"))
        .file("playbooks/oplay.toml", "module_path = [\"../confdir\"]\n")
        .env("OPLAY_MODULE_PATH", "envdir")
        .args(&["run", "playbooks/site.yml", "-i", "hosts", "-M", "cli", "-v"]);
    let out = t.run();
    out.code(0);
    for msg in ["role", "project", "beside", "cli", "env", "conf"] {
        out.stdout_has(&format!("\"msg\": \"{msg}\""));
    }
}

#[test]
fn the_guide_example_runs_and_converges() {
    let t = Test::new()
        .inventory(LOCAL)
        .file(
            "modules/line_in_file.rhai",
            &fixture("guide/modules/line_in_file.rhai"),
        )
        .playbook(&fixture("guide/site.yml"))
        .file("motd", "Welcome\n");
    let motd = t.path("motd").display().to_string();
    let out = t.run_with(&["-e", &format!("motd={motd}"), "--check", "--diff"]);
    assert_ok(&out, 1);
    out.stdout_has("+Managed by oplay");
    assert_eq!(std::fs::read_to_string(&motd).unwrap(), "Welcome\n");
    assert_ok(&t.run_with(&["-e", &format!("motd={motd}")]), 1);
    assert_eq!(
        std::fs::read_to_string(&motd).unwrap(),
        "Welcome\nManaged by oplay\n"
    );
    assert_ok(&t.run_with(&["-e", &format!("motd={motd}")]), 0);
}
