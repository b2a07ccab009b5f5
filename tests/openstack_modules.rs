//! The OpenStack modules against the real Keystone and Glance that
//! `tests/services/setup.sh` runs on this machine (no mock stands in for
//! them). Each test runs the real binary, checks the cloud through its own
//! REST calls (curl, with its own token), uses unique names and cleans up.
//! Every output is searched for the admin password and for tokens.
//! Without `/run/oplay-test-services.env` the tests skip, saying why.

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;
use support::{Output, Test};

const ENV_FILE: &str = "/run/oplay-test-services.env";

/// The facts `setup.sh` wrote, or `None` (and a note) when absent.
fn services() -> Option<&'static HashMap<String, String>> {
    static ENV: OnceLock<Option<HashMap<String, String>>> = OnceLock::new();
    let env = ENV.get_or_init(|| {
        let text = std::fs::read_to_string(ENV_FILE).ok()?;
        Some(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    });
    if env.is_none() {
        eprintln!("skipping: {ENV_FILE} is absent (run tests/services/setup.sh as root first)");
    }
    env.as_ref()
}

fn var(key: &str) -> String {
    services()
        .and_then(|e| e.get(key).cloned())
        .unwrap_or_default()
}

/// A name no other test (or earlier run) uses.
fn unique(kind: &str) -> String {
    format!(
        "oplay-test-{kind}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Runs a playbook of `tasks` (YAML list items, indented 4) on the
/// implicit localhost with the test cloud in the environment.
fn play(tasks: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut t = Test::new()
        .playbook(&format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n{tasks}"
        ))
        .env("OS_CLIENT_CONFIG_FILE", &var("OPLAY_TEST_CLOUDS_YAML"))
        .env("OS_CLOUD", &var("OPLAY_TEST_OS_CLOUD"))
        .args(args);
    for (k, v) in env {
        t = t.env(k, v);
    }
    let out = t.run();
    no_secrets(&out);
    out
}

/// One task, written as a flow mapping after `- `.
fn task(line: &str, args: &[&str]) -> Output {
    play(&format!("    - {line}\n"), args, &[])
}

/// No password and no (Fernet) token in anything oplay printed.
fn no_secrets(out: &Output) {
    for secret in [
        var("OPLAY_TEST_OS_PASSWORD"),
        var("OPLAY_TEST_GLANCE_PASSWORD"),
    ] {
        assert!(!secret.is_empty());
        assert!(
            !out.stdout.contains(&secret) && !out.stderr.contains(&secret),
            "a password was printed:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains("gAAAAA"), "a token was printed:\n{text}");
    }
}

/// The test's own view of the cloud: curl with its own admin token.
struct Cloud {
    token: String,
}

fn cloud() -> &'static Cloud {
    static CLOUD: OnceLock<Cloud> = OnceLock::new();
    CLOUD.get_or_init(|| {
        let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": var("OPLAY_TEST_OS_USERNAME"), "domain": {"name": "Default"},
            "password": var("OPLAY_TEST_OS_PASSWORD")}}},
            "scope": {"project": {"name": var("OPLAY_TEST_OS_PROJECT_NAME"), "domain": {"name": "Default"}}}}});
        let url = format!("{}/auth/tokens", var("OPLAY_TEST_OS_AUTH_URL"));
        let out = curl(&["-s", "-D", "-", "-o", "/dev/null", "-H", "Content-Type: application/json", "-d", "@-", &url], Some(&body.to_string()));
        let token = out
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("x-subject-token").then(|| v.trim().to_string())
            })
            .expect("a token for the test itself");
        Cloud { token }
    })
}

fn curl(args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new("curl")
        .args(["--max-time", "60"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl");
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Cloud {
    /// `GET` a Keystone (`/v3/...`) or Glance (`/v2/...`) path.
    fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path)
    }

    fn call(&self, method: &str, path: &str) -> (u16, Value) {
        let base = if path.starts_with("/v2") {
            var("OPLAY_TEST_GLANCE_URL")
        } else {
            var("OPLAY_TEST_OS_AUTH_URL")
                .trim_end_matches("/v3")
                .to_string()
        };
        let auth = format!("X-Auth-Token: {}", self.token);
        let url = format!("{base}{path}");
        let out = curl(
            &[
                "-s",
                "-X",
                method,
                "-w",
                "\n%{http_code}",
                "-H",
                &auth,
                &url,
            ],
            None,
        );
        let (body, code) = out.rsplit_once('\n').unwrap_or(("", "0"));
        (
            code.trim().parse().unwrap_or(0),
            serde_json::from_str(body).unwrap_or(Value::Null),
        )
    }

    /// The objects of a Keystone list with `name`.
    fn named(&self, collection: &str, name: &str) -> Vec<Value> {
        let (code, json) = self.get(&format!("/v3/{collection}?name={name}"));
        assert_eq!(code, 200, "{json}");
        json[collection].as_array().cloned().unwrap_or_default()
    }
}

fn recap(out: &Output) -> String {
    out.recap("localhost")
}

fn assert_changed(out: &Output, changed: u32) {
    let r = recap(out);
    assert!(
        r.contains(&format!("changed={changed} ")) && r.contains("failed=0"),
        "expected changed={changed}, got `{r}`\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout,
        out.stderr
    );
}

/// The usual life of a Keystone object: check mode creates nothing,
/// create, re-run changes nothing, update, remove, remove again.
fn lifecycle(
    module: &str,
    create: &str,
    update: &str,
    absent: &str,
    found: &dyn Fn() -> Option<Value>,
) -> Value {
    let line = |args: &str| format!("{module}: {{{args}}}");
    assert_changed(task(&line(create), &["--check"]).code(0), 1);
    assert!(found().is_none(), "check mode created it");
    assert_changed(task(&line(create), &[]).code(0), 1);
    assert!(found().is_some(), "not created");
    assert_changed(task(&line(create), &[]).code(0), 0);
    assert_changed(task(&line(update), &["--diff"]).code(0), 1);
    let updated = found().expect("still there");
    assert_changed(task(&line(update), &[]).code(0), 0);
    assert_changed(task(&line(absent), &[]).code(0), 1);
    assert!(found().is_none(), "not removed");
    assert_changed(task(&line(absent), &[]).code(0), 0);
    updated
}

#[test]
fn domain_lifecycle() {
    if services().is_none() {
        return;
    }
    let n = unique("dom");
    let found = || cloud().named("domains", &n).into_iter().next();
    let d = lifecycle(
        "keystone_domain",
        &format!("name: {n}, description: first"),
        &format!("name: {n}, description: second, enabled: no"),
        &format!("name: {n}, state: absent"),
        &found,
    );
    assert_eq!(d["description"], "second");
    assert_eq!(d["enabled"], false);
}

#[test]
fn project_lifecycle() {
    if services().is_none() {
        return;
    }
    let n = unique("proj");
    let found = || cloud().named("projects", &n).into_iter().next();
    let p = lifecycle(
        "keystone_project",
        &format!("name: {n}, domain: Default, description: first"),
        &format!("name: {n}, domain: default, description: second"),
        &format!("name: {n}, state: absent"),
        &found,
    );
    assert_eq!(p["description"], "second");
    assert_eq!(p["domain_id"], "default");
}

#[test]
fn role_and_region_lifecycle() {
    if services().is_none() {
        return;
    }
    let n = unique("role");
    let r = lifecycle(
        "keystone_role",
        &format!("name: {n}"),
        &format!("name: {n}, description: a role"),
        &format!("name: {n}, state: absent"),
        &|| cloud().named("roles", &n).into_iter().next(),
    );
    assert_eq!(r["description"], "a role");
    let id = unique("region");
    let region = || {
        let (code, json) = cloud().get(&format!("/v3/regions/{id}"));
        (code == 200).then(|| json["region"].clone())
    };
    let r = lifecycle(
        "keystone_region",
        &format!("id: {id}"),
        &format!("id: {id}, description: second site"),
        &format!("id: {id}, state: absent"),
        &region,
    );
    assert_eq!(r["description"], "second site");
}

#[test]
fn user_lifecycle_and_password() {
    if services().is_none() {
        return;
    }
    let n = unique("user");
    let proj = unique("userproj");
    let pw1 = format!("pw-{:016x}", rand::random::<u64>());
    let pw2 = format!("pw-{:016x}", rand::random::<u64>());
    assert_changed(
        task(&format!("keystone_project: {{name: {proj}}}"), &[]).code(0),
        1,
    );
    let found = || cloud().named("users", &n).into_iter().next();
    let u = lifecycle(
        "keystone_user",
        &format!("name: {n}, password: {pw1}, email: a@example.org, default_project: {proj}"),
        &format!("name: {n}, email: b@example.org, update_password: always, password: {pw1}"),
        &format!("name: {n}, state: absent"),
        &found,
    );
    assert_eq!(u["email"], "b@example.org");
    // update_password: always changes only what does not already work.
    let create = format!("keystone_user: {{name: {n}, password: {pw1}}}");
    assert_changed(&task(&create, &[]), 1);
    let always =
        |pw: &str| format!("keystone_user: {{name: {n}, password: {pw}, update_password: always}}");
    let out = play(
        &format!(
            "    - {}\n    - {}\n    - {}\n",
            always(&pw1),
            always(&pw2),
            always(&pw2)
        ),
        &["-vvv"],
        &[],
    );
    assert_changed(&out, 1);
    for pw in [&pw1, &pw2] {
        assert!(
            !out.stdout.contains(pw.as_str()) && !out.stderr.contains(pw.as_str()),
            "{}",
            out.stdout
        );
    }
    let absent = format!("keystone_user: {{name: {n}, state: absent}}");
    assert_changed(&task(&absent, &[]), 1);
    assert_changed(
        &task(
            &format!("keystone_project: {{name: {proj}, state: absent}}"),
            &[],
        ),
        1,
    );
}

#[test]
fn role_assignment_lifecycle() {
    if services().is_none() {
        return;
    }
    let (u, p, r) = (unique("rauser"), unique("raproj"), unique("rarole"));
    let setup = format!(
        "    - keystone_user: {{name: {u}, password: x{u}}}\n    - keystone_project: {{name: {p}}}\n    - keystone_role: {{name: {r}}}\n"
    );
    assert_changed(&play(&setup, &[], &[]), 3);
    let user_id = cloud().named("users", &u)[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let proj_id = cloud().named("projects", &p)[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let role_id = cloud().named("roles", &r)[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let assigned = || {
        let path = format!("/v3/projects/{proj_id}/users/{user_id}/roles/{role_id}");
        (cloud().call("HEAD", &path).0 == 204).then_some(Value::Null)
    };
    let line = |extra: &str| {
        format!("keystone_role_assignment: {{user: {u}, project: {p}, role: {r}{extra}}}")
    };
    assert_changed(&task(&line(""), &["--check"]), 1);
    assert!(assigned().is_none(), "check mode assigned the role");
    assert_changed(&task(&line(", user_domain: Default"), &[]), 1);
    assert!(assigned().is_some());
    assert_changed(&task(&line(", project_domain: default"), &[]), 0);
    assert_changed(&task(&line(", state: absent"), &["--check"]), 1);
    assert!(assigned().is_some(), "check mode revoked the role");
    assert_changed(&task(&line(", state: absent"), &[]), 1);
    assert!(assigned().is_none());
    assert_changed(&task(&line(", state: absent"), &[]), 0);
    // A domain-scoped one too, then clean up.
    let dom = format!("keystone_role_assignment: {{user: {u}, domain: Default, role: {r}}}");
    assert_changed(&task(&dom, &[]), 1);
    assert_changed(&task(&dom, &[]), 0);
    let cleanup = format!(
        "    - keystone_user: {{name: {u}, state: absent}}\n    - keystone_project: {{name: {p}, state: absent}}\n    - keystone_role: {{name: {r}, state: absent}}\n"
    );
    assert_changed(&play(&cleanup, &[], &[]), 3);
}

#[test]
fn service_and_endpoints() {
    if services().is_none() {
        return;
    }
    let (s, ty) = (unique("svc"), unique("type"));
    let found = || cloud().named("services", &s).into_iter().next();
    let svc_line = |extra: &str| format!("keystone_service: {{name: {s}, type: {ty}{extra}}}");
    assert_changed(&task(&svc_line(""), &["--check"]), 1);
    assert!(found().is_none());
    assert_changed(&task(&svc_line(", description: one"), &[]), 1);
    assert_changed(&task(&svc_line(""), &[]), 0);
    assert_eq!(
        cloud().named("services", &s).len(),
        1,
        "a duplicate service was made"
    );
    assert_changed(
        &task(&svc_line(", description: two, enabled: no"), &["--diff"]),
        1,
    );
    let updated = found().unwrap();
    assert_eq!(
        (updated["description"].clone(), updated["enabled"].clone()),
        (Value::from("two"), Value::from(false))
    );
    assert_changed(&task(&svc_line(", enabled: yes"), &[]), 1);
    let sid = found().unwrap()["id"].as_str().unwrap().to_string();
    let endpoints = || {
        let (_, json) = cloud().get(&format!("/v3/endpoints?service_id={sid}"));
        json["endpoints"].as_array().cloned().unwrap_or_default()
    };
    let compact = |url: &str, extra: &str| {
        format!(
            "keystone_endpoint: {{service: {s}, region: RegionOne{extra}, interfaces: {{public: '{url}', internal: '{url}', admin: '{url}'}}}}"
        )
    };
    assert_changed(&task(&compact("http://127.0.0.1:9/a", ""), &["--check"]), 1);
    assert!(endpoints().is_empty());
    assert_changed(&task(&compact("http://127.0.0.1:9/a", ""), &[]), 1);
    assert_eq!(endpoints().len(), 3);
    assert_changed(&task(&compact("http://127.0.0.1:9/a", ""), &[]), 0);
    assert_changed(&task(&compact("http://127.0.0.1:9/b", ""), &[]), 1);
    let eps = endpoints();
    assert!(
        eps.len() == 3 && eps.iter().all(|e| e["url"] == "http://127.0.0.1:9/b"),
        "{eps:?}"
    );
    // A duplicate left by `openstack endpoint create` run twice.
    let dup = serde_json::json!({"endpoint": {"service_id": sid, "interface": "public", "url": "http://127.0.0.1:9/b", "region_id": "RegionOne"}});
    let auth = format!("X-Auth-Token: {}", cloud().token);
    let url = format!("{}/endpoints", var("OPLAY_TEST_OS_AUTH_URL"));
    curl(
        &[
            "-s",
            "-o",
            "/dev/null",
            "-H",
            &auth,
            "-H",
            "Content-Type: application/json",
            "-d",
            "@-",
            &url,
        ],
        Some(&dup.to_string()),
    );
    assert_eq!(endpoints().len(), 4);
    let out = task(&compact("http://127.0.0.1:9/b", ""), &[]);
    assert_changed(&out, 0);
    assert!(
        out.stdout.contains("1 duplicate") && out.stdout.contains("remove_duplicates"),
        "{}",
        out.stdout
    );
    assert_changed(
        &task(
            &compact("http://127.0.0.1:9/b", ", remove_duplicates: yes"),
            &[],
        ),
        1,
    );
    assert_eq!(endpoints().len(), 3);
    // The single form, then removal.
    let single = format!(
        "keystone_endpoint: {{service: {sid}, interface: admin, url: 'http://127.0.0.1:9/c', region: RegionOne}}"
    );
    assert_changed(&task(&single, &[]), 1);
    assert_changed(
        &task(&compact("http://127.0.0.1:9/b", ", state: absent"), &[]),
        1,
    );
    assert!(endpoints().is_empty());
    assert_changed(&task(&svc_line(", state: absent"), &[]), 1);
    assert!(found().is_none());
}

#[test]
fn bad_input_is_refused_with_its_message() {
    if services().is_none() {
        return;
    }
    let out = task("keystone_user: {domain: default}", &[]);
    out.code(3);
    assert!(
        out.stderr
            .contains("missing required parameter `name` for module `keystone_user`"),
        "{}",
        out.stderr
    );
    let out = task("keystone_domain: {name: x, enabled: maybe}", &[]);
    out.code(3);
    assert!(out.stderr.contains("parameter `enabled` of `keystone_domain` must be a boolean (yes/no/true/false), found 'maybe'"), "{}", out.stderr);
    let out = task("keystone_role: {name: x, descripton: y}", &[]);
    out.code(3);
    assert!(
        out.stderr
            .contains("unknown parameter `descripton` for module `keystone_role`")
            && out.stderr.contains("did you mean `description`?"),
        "{}",
        out.stderr
    );
    let out = task(
        "keystone_endpoint: {service: x, interface: public, url: u, interfaces: {}}",
        &[],
    );
    out.code(3);
    assert!(
        out.stderr.contains("are mutually exclusive"),
        "{}",
        out.stderr
    );
}

/// A task of `module` with `name: whatever` and an `auth:` mapping with
/// the admin's credentials except `auth_url` and `password`.
fn auth_task(auth_url: &str, password: &str, module: &str) -> String {
    format!(
        "    - {module}:\n        name: whatever\n        auth:\n          auth_url: {auth_url}\n          username: admin\n          password: '{password}'\n          project_name: admin\n"
    )
}

#[test]
fn unreachable_keystone_and_wrong_credentials() {
    if services().is_none() {
        return;
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = format!("http://127.0.0.1:{port}/v3");
    let started = std::time::Instant::now();
    let out = play(
        &auth_task(&dead, &var("OPLAY_TEST_OS_PASSWORD"), "keystone_role"),
        &["-vvv"],
        &[("OPLAY_OPENSTACK_RETRY_SECONDS", "2")],
    );
    out.code(2);
    out.stdout_has(&format!(
        "could not reach Keystone at {dead}/auth/tokens: Connection refused"
    ));
    assert!(started.elapsed().as_secs() < 30);
    let out = play(
        &auth_task(
            &var("OPLAY_TEST_OS_AUTH_URL"),
            "wrong-password-123",
            "keystone_role",
        ),
        &["--output", "json", "-vvv"],
        &[],
    );
    out.code(2);
    out.stdout_has(&format!(
        "authentication failed for user admin at {}/auth/tokens: 401 The request you have made requires authentication.",
        var("OPLAY_TEST_OS_AUTH_URL")
    ));
    out.stdout_lacks("wrong-password-123");
    let missing = unique("nosuch");
    let out = task(
        &format!("keystone_endpoint: {{service: {missing}, interface: public, url: 'http://x'}}"),
        &[],
    );
    out.code(2);
    out.stdout_has(&format!(
        "service `{missing}` not found: no service has that id, name or type"
    ));
}

/// Token requests that `ua` made, from Keystone's request log.
fn tokens_issued(ua: &str) -> usize {
    let log = std::fs::read_to_string(var("OPLAY_TEST_KEYSTONE_REQUEST_LOG")).unwrap_or_default();
    log.lines()
        .filter(|l| {
            l.contains(" POST /v3/auth/tokens 201 ") && l.ends_with(&format!("ua=\"{ua}\""))
        })
        .count()
}

#[test]
fn twenty_tasks_one_token() {
    if services().is_none() {
        return;
    }
    let ua = unique("ua");
    let (p, r, s) = (unique("tokproj"), unique("tokrole"), unique("toksvc"));
    let mut tasks = format!(
        "    - keystone_project: {{name: {p}}}\n    - keystone_role: {{name: {r}}}\n    - keystone_service: {{name: {s}, type: {s}}}\n"
    );
    for i in 0..15 {
        let line = match i % 3 {
            0 => format!("keystone_project: {{name: {p}, description: d}}"),
            1 => format!("keystone_role: {{name: {r}}}"),
            _ => format!("keystone_service: {{name: {s}, type: {s}}}"),
        };
        tasks.push_str(&format!("    - {line}\n"));
    }
    tasks.push_str(&format!(
        "    - keystone_project: {{name: {p}, state: absent}}\n    - keystone_role: {{name: {r}, state: absent}}\n"
    ));
    assert_eq!(tasks.lines().count(), 20);
    let before = tokens_issued(&ua);
    let out = play(&tasks, &["-vvv"], &[("OPLAY_USER_AGENT", &ua)]);
    out.code(0);
    let issued = tokens_issued(&ua) - before;
    eprintln!("measured: 20 keystone tasks -> {issued} POST /v3/auth/tokens");
    assert_eq!(issued, 1, "{}", out.stdout);
    let out = play(&tasks, &["--output", "json"], &[("OPLAY_USER_AGENT", &ua)]);
    out.code(0);
    assert_eq!(tokens_issued(&ua) - before, 2);
    assert_changed(
        &task(
            &format!("keystone_service: {{name: {s}, type: {s}, state: absent}}"),
            &[],
        ),
        1,
    );
}

/// The sha512 of a file, as sha512sum says.
fn sha512(path: &std::path::Path) -> String {
    let out = Command::new("sha512sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn image(name: &str) -> Option<Value> {
    let (code, json) = cloud().get(&format!("/v2/images?name={name}"));
    assert_eq!(code, 200);
    json["images"].as_array().and_then(|a| a.first().cloned())
}

#[test]
fn qcow2_image_uploads_once() {
    if services().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("small.qcow2");
    let st = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&file)
        .arg("64M")
        .status()
        .unwrap();
    assert!(st.success());
    let n = unique("img");
    let line = format!(
        "image_upload: {{name: {n}, file: '{}', visibility: private, properties: {{hw_disk_bus: scsi}}}}",
        file.display()
    );
    assert_changed(&task(&line, &["--check"]), 1);
    assert!(image(&n).is_none(), "check mode created an image");
    let out = task(&line, &["-v"]);
    assert_changed(&out, 1);
    let img = image(&n).unwrap();
    assert_eq!(img["status"], "active");
    assert_eq!(img["os_hash_value"], sha512(&file));
    assert_eq!(img["hw_disk_bus"], "scsi");
    assert_eq!(img["virtual_size"], 64 * 1024 * 1024);
    let out = task(&line, &["-v"]);
    assert_changed(&out, 0);
    assert_eq!(
        image(&n).unwrap()["updated_at"],
        img["updated_at"],
        "re-uploaded"
    );
    // Metadata only: patched, no upload.
    let tagged = line.replace(
        "visibility: private",
        "visibility: private, tags: [x], min_ram: 64",
    );
    assert_changed(&task(&tagged, &[]), 1);
    let img2 = image(&n).unwrap();
    assert_eq!(
        (img2["tags"].clone(), img2["min_ram"].clone()),
        (serde_json::json!(["x"]), serde_json::json!(64))
    );
    assert_eq!(img2["os_hash_value"], img["os_hash_value"]);
    // Other data: refused, then replaced on request.
    std::fs::write(dir.path().join("other.raw"), b"other data").unwrap();
    let other = format!(
        "image_upload: {{name: {n}, file: '{}', disk_format: raw}}",
        dir.path().join("other.raw").display()
    );
    let out = task(&other, &[]);
    out.code(2);
    out.stdout_has(&format!(
        "image `{n}` ({}) already exists with different data",
        img["id"].as_str().unwrap()
    ));
    assert_changed(
        &task(
            &other.replace("disk_format: raw", "disk_format: raw, replace: yes"),
            &[],
        ),
        1,
    );
    assert_eq!(
        image(&n).unwrap()["os_hash_value"],
        sha512(&dir.path().join("other.raw"))
    );
    assert_changed(
        &task(&format!("image_upload: {{name: {n}, state: absent}}"), &[]),
        1,
    );
    assert!(image(&n).is_none());
}

#[test]
fn big_raw_image_streams_in_little_memory() {
    if services().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.raw");
    let st = Command::new("head")
        .args(["-c", "256M", "/dev/urandom"])
        .stdout(std::fs::File::create(&file).unwrap())
        .status()
        .unwrap();
    assert!(st.success());
    let n = unique("bigimg");
    std::fs::write(
        dir.path().join("site.yml"),
        format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - image_upload: {{name: {n}, file: '{}', disk_format: raw}}\n", file.display()),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_oplay"))
        .args(["run", "site.yml", "-v"])
        .current_dir(dir.path())
        .env("OS_CLIENT_CONFIG_FILE", var("OPLAY_TEST_CLOUDS_YAML"))
        .env("OS_CLOUD", var("OPLAY_TEST_OS_CLOUD"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let rss_kb: u64 = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .expect("time -v output");
    let upload = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"upload_seconds\": "))
        .unwrap_or("?")
        .trim_end_matches(',')
        .to_string();
    eprintln!(
        "measured: 256 MiB raw image: run {elapsed:.1} s, upload {upload} s, peak RSS {} KiB",
        rss_kb
    );
    assert!(rss_kb < 64 * 1024, "peak RSS {rss_kb} KiB");
    let img = image(&n).unwrap();
    assert_eq!(img["status"], "active");
    assert_eq!(img["size"], 256 * 1024 * 1024);
    assert_eq!(img["os_hash_value"], sha512(&file));
    assert_changed(
        &task(&format!("image_upload: {{name: {n}, state: absent}}"), &[]),
        1,
    );
}

/// A throwaway HTTP server for a directory, on a free port.
struct Server(std::process::Child, u16);

impl Server {
    fn start(dir: &std::path::Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/bin/python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Server(child, port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn url_and_remote_file_sources_with_checksums() {
    if services().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.img");
    std::fs::write(&file, vec![7u8; 3 * 1024 * 1024 + 17]).unwrap();
    let sha256 = {
        let out = Command::new("sha256sum").arg(&file).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let server = Server::start(dir.path());
    let url = format!("http://127.0.0.1:{}/data.img", server.1);
    let n = unique("urlimg");
    let bad = format!(
        "image_upload: {{name: {n}, url: '{url}', disk_format: raw, checksum: 'sha256:{}'}}",
        "0".repeat(64)
    );
    let out = task(&bad, &[]);
    out.code(2);
    out.stdout_has(&format!(
        "checksum mismatch: expected sha256:{}",
        "0".repeat(64)
    ));
    assert!(
        image(&n).is_none(),
        "an image was created despite the bad checksum"
    );
    let good = format!(
        "image_upload: {{name: {n}, url: '{url}', disk_format: raw, checksum: 'sha256:{sha256}'}}"
    );
    assert_changed(&task(&good, &[]), 1);
    assert_eq!(image(&n).unwrap()["os_hash_value"], sha512(&file));
    assert_changed(&task(&good, &[]), 0);
    assert_changed(
        &task(&format!("image_upload: {{name: {n}, state: absent}}"), &[]),
        1,
    );
    // The same data from a file on the host (the local connection here).
    let r = unique("remoteimg");
    let remote = format!(
        "image_upload: {{name: {r}, remote_file: '{}', disk_format: raw, checksum: 'sha256:{sha256}'}}",
        file.display()
    );
    assert_changed(&task(&remote, &[]), 1);
    assert_eq!(image(&r).unwrap()["os_hash_value"], sha512(&file));
    assert_changed(&task(&remote, &[]), 0);
    assert_changed(
        &task(&format!("image_upload: {{name: {r}, state: absent}}"), &[]),
        1,
    );
}

/// The library's session: concurrent first uses share one token request,
/// a revoked token (401) is replaced and the request retried once, and the
/// generic `Sessions::request` reaches Glance through the catalog.
#[test]
fn session_shares_and_renews_its_token() {
    if services().is_none() {
        return;
    }
    use oplay::openstack::{CloudRequest, Credentials, Sessions};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = |k: &str| match k {
        "OS_CLIENT_CONFIG_FILE" => Some(var("OPLAY_TEST_CLOUDS_YAML")),
        "OS_CLOUD" => Some(var("OPLAY_TEST_OS_CLOUD")),
        _ => None,
    };
    let creds = Credentials::resolve(&CloudRequest::default(), &env).unwrap();
    let sessions = Sessions::default();
    let http = reqwest::Client::new();
    let redactor = oplay::secret::Redactor::new();
    rt.block_on(async {
        let calls = (0..10).map(|_| {
            sessions.request(
                &http,
                &redactor,
                &creds,
                "identity",
                None,
                None,
                reqwest::Method::GET,
                "/v3/roles?name=admin",
                None,
            )
        });
        for r in futures::future::join_all(calls).await {
            let (status, json) = r.unwrap();
            assert_eq!(status, 200);
            assert_eq!(json["roles"][0]["name"], "admin");
        }
        assert_eq!(
            sessions.token_requests(),
            1,
            "ten concurrent first uses, one token"
        );
        // Revoke the token behind the session's back.
        let token = sessions
            .session(&http, &redactor, &creds)
            .token()
            .await
            .unwrap();
        let subject = format!("X-Subject-Token: {}", token.value.expose());
        let auth = format!("X-Auth-Token: {}", cloud().token);
        let url = format!("{}/auth/tokens", var("OPLAY_TEST_OS_AUTH_URL"));
        curl(
            &["-s", "-X", "DELETE", "-H", &auth, "-H", &subject, &url],
            None,
        );
        let (status, json) = sessions
            .request(
                &http,
                &redactor,
                &creds,
                "image",
                None,
                None,
                reqwest::Method::GET,
                "/v2/images?limit=1",
                None,
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "{json}");
        assert!(json["images"].is_array());
        assert_eq!(
            sessions.token_requests(),
            2,
            "the revoked token was replaced once"
        );
        assert!(
            redactor.scrub(token.value.expose()).contains("********"),
            "tokens are redacted"
        );
    });
}
