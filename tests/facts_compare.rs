//! oplay's gathered facts against ansible-core's `setup` on the same host
//! (this machine, over the local connection and over SSH), key by key: every key ansible has
//! must be in oplay's `ansible_facts` with the same JSON type and the same
//! value, and oplay must have no key ansible lacks, except for the entries
//! of [`RULES`] (values that change between two runs, lists whose order
//! ansible takes from a Python set or a directory listing, and the
//! deliberate differences docs/facts.md explains).
//!
//! ansible-core comes from the venv `tests/services/setup.sh` makes
//! (`OPLAY_TEST_ANSIBLE`, from the environment or the services' env file);
//! without it the test skips and says why.

mod support;

use std::process::Command;

use serde_json::{Map, Value};
use support::Test;
use support::sshd::Sshd;

/// How a fact (a path: `mounts[].size_available`, `date_time.epoch`) is
/// compared when plain equality is not the rule.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Rule {
    /// Changes between two runs a second apart: same type, any value.
    Volatile,
    /// A list whose order ansible does not fix: compared sorted.
    Unordered,
    /// Not compared: left out by oplay on purpose, or a value that names
    /// the tool itself (see docs/facts.md).
    Omitted,
    /// oplay's own fact, which ansible does not have.
    Extra,
}

/// The one list of differences; docs/facts.md explains each. The
/// entries of [`SSH_RULES`] apply over SSH only.
const RULES: &[(&str, Rule)] = &[
    ("date_time.epoch", Rule::Volatile),
    ("date_time.epoch_int", Rule::Volatile),
    ("date_time.iso8601", Rule::Volatile),
    ("date_time.iso8601_basic", Rule::Volatile),
    ("date_time.iso8601_basic_short", Rule::Volatile),
    ("date_time.iso8601_micro", Rule::Volatile),
    ("date_time.time", Rule::Volatile),
    ("date_time.second", Rule::Volatile),
    ("date_time.minute", Rule::Volatile),
    ("date_time.hour", Rule::Volatile),
    ("date_time.date", Rule::Volatile),
    ("date_time.day", Rule::Volatile),
    ("date_time.weekday", Rule::Volatile),
    ("date_time.weekday_number", Rule::Volatile),
    ("date_time.weeknumber", Rule::Volatile),
    ("date_time.month", Rule::Volatile),
    ("date_time.year", Rule::Volatile),
    ("uptime_seconds", Rule::Volatile),
    ("loadavg.1m", Rule::Volatile),
    ("loadavg.5m", Rule::Volatile),
    ("loadavg.15m", Rule::Volatile),
    ("memfree_mb", Rule::Volatile),
    ("swapfree_mb", Rule::Volatile),
    ("memory_mb.real.free", Rule::Volatile),
    ("memory_mb.real.used", Rule::Volatile),
    ("memory_mb.nocache.free", Rule::Volatile),
    ("memory_mb.nocache.used", Rule::Volatile),
    ("memory_mb.swap.free", Rule::Volatile),
    ("memory_mb.swap.used", Rule::Volatile),
    ("memory_mb.swap.cached", Rule::Volatile),
    ("mounts[].size_available", Rule::Volatile),
    ("mounts[].block_available", Rule::Volatile),
    ("mounts[].block_used", Rule::Volatile),
    ("mounts[].inode_available", Rule::Volatile),
    ("mounts[].inode_used", Rule::Volatile),
    ("interfaces", Rule::Unordered),
    // in the order of ansible's listing of /sys/class/net (os.listdir)
    ("all_ipv4_addresses", Rule::Unordered),
    ("all_ipv6_addresses", Rule::Unordered),
    ("mounts", Rule::Unordered),
    ("virtualization_tech_guest", Rule::Unordered),
    ("virtualization_tech_host", Rule::Unordered),
    ("python", Rule::Omitted),
    ("python_version", Rule::Omitted),
    // the program that started the shell: ansible's or oplay's path, or
    // none (over SSH oplay's login shell exports no `_`)
    ("env._", Rule::Omitted),
    ("virt_flags_count", Rule::Extra),
];

/// Over SSH: ansible asks for a terminal (`-tt`) and OpenSSH's client
/// forwards `LANG`/`LC_*` (`SendEnv`); oplay's SSH connection does
/// neither. The client's port changes per connection.
const SSH_RULES: &[(&str, Rule)] = &[
    ("env.SSH_CLIENT", Rule::Volatile),
    ("env.SSH_CONNECTION", Rule::Volatile),
    ("env.SSH_TTY", Rule::Omitted),
    ("env.TERM", Rule::Omitted),
    ("env.LANG", Rule::Omitted),
    ("env.LC_ALL", Rule::Omitted),
    ("env.LC_CTYPE", Rule::Omitted),
    ("env.LC_MESSAGES", Rule::Omitted),
];

/// The rule for a path, or `None` when plain equality applies.
fn rule(rules: &Rules, path: &str) -> Option<Rule> {
    rules
        .iter()
        .flat_map(|list| list.iter())
        .find(|(p, _)| *p == path)
        .map(|(_, r)| *r)
}

/// The lists that apply to one comparison.
type Rules<'a> = [&'a [(&'a str, Rule)]];

/// Where ansible-core is, or why the test cannot run.
fn ansible() -> Result<String, String> {
    let from_file = || {
        let text = std::fs::read_to_string("/run/oplay-test-services.env").ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("OPLAY_TEST_ANSIBLE="))
            .map(str::to_string)
    };
    let path = std::env::var("OPLAY_TEST_ANSIBLE")
        .ok()
        .or_else(from_file)
        .ok_or("OPLAY_TEST_ANSIBLE is not set (run tests/services/setup.sh)")?;
    if std::path::Path::new(&path).exists() {
        Ok(path)
    } else {
        Err(format!(
            "{path} does not exist (run tests/services/setup.sh)"
        ))
    }
}

/// Settings both programs get, so that `ansible_env` can be equal.
const ENV: &[(&str, &str)] = &[
    ("NO_COLOR", "1"),
    ("ANSIBLE_NOCOLOR", "1"),
    ("ANSIBLE_LOCALHOST_WARNING", "False"),
    ("ANSIBLE_DEPRECATION_WARNINGS", "False"),
    ("ANSIBLE_PYTHON_INTERPRETER", "auto_silent"),
];

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn sorted(a: &[Value]) -> Vec<Value> {
    let mut v = a.to_vec();
    v.sort_by_key(|x| x.to_string());
    v
}

/// Compares one value; differences are pushed as readable lines.
fn compare(rules: &Rules, path: &str, a: &Value, o: &Value, out: &mut Vec<String>) {
    let r = rule(rules, path);
    if type_name(a) != type_name(o) {
        out.push(format!("{path}: type {} vs {}", type_name(a), type_name(o)));
        return;
    }
    match (a, o) {
        (Value::Object(am), Value::Object(om)) => compare_maps(rules, path, am, om, out),
        (Value::Array(aa), Value::Array(oa)) => {
            let (aa, oa) = if r == Some(Rule::Unordered) {
                (sorted(aa), sorted(oa))
            } else {
                (aa.clone(), oa.clone())
            };
            if aa.len() != oa.len() {
                out.push(format!("{path}: {} items vs {}", aa.len(), oa.len()));
                return;
            }
            for (x, y) in aa.iter().zip(&oa) {
                compare(rules, &format!("{path}[]"), x, y, out);
            }
        }
        _ if r == Some(Rule::Volatile) => {}
        _ if a != o => out.push(format!("{path}: ansible {a} vs oplay {o}")),
        _ => {}
    }
}

fn compare_maps(
    rules: &Rules,
    path: &str,
    a: &Map<String, Value>,
    o: &Map<String, Value>,
    out: &mut Vec<String>,
) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    for (k, av) in a {
        let p = join(k);
        match o.get(k) {
            _ if rule(rules, &p) == Some(Rule::Omitted) => {}
            None => out.push(format!("{p}: missing in oplay (ansible: {av})")),
            Some(ov) => compare(rules, &p, av, ov, out),
        }
    }
    for k in o.keys().filter(|k| !a.contains_key(*k)) {
        if rule(rules, &join(k)) != Some(Rule::Extra) {
            out.push(format!("{}: only in oplay", join(k)));
        }
    }
}

/// ansible-core's `setup` facts, keys without the `ansible_` prefix.
fn ansible_facts(bin: &str, dir: &std::path::Path, target: &[&str]) -> Map<String, Value> {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir)
        .args(target)
        .args(["-m", "setup", "-o"]);
    for (k, v) in ENV {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run ansible");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = stdout.split_once("=> ").map(|(_, j)| j).unwrap_or_else(|| {
        let err = String::from_utf8_lossy(&out.stderr);
        panic!("ansible printed no result: {stdout}\n{err}")
    });
    let v: Value = serde_json::from_str(json.trim()).expect("ansible's JSON");
    let facts = v["ansible_facts"]
        .as_object()
        .expect("ansible_facts")
        .clone();
    facts
        .into_iter()
        .map(|(k, v)| (k.strip_prefix("ansible_").unwrap_or(&k).to_string(), v))
        .collect()
}

/// oplay's facts: a play that prints `ansible_facts`, in JSON output.
fn oplay_facts(t: &Test) -> Map<String, Value> {
    let out = t.run_with(&["--output", "json"]);
    out.code(0);
    out.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "host_result" && e["task"] == "debug")
        .and_then(|e| e["result"]["ansible_facts"].as_object().cloned())
        .unwrap_or_else(|| panic!("no facts in oplay's output:\n{}", out.stdout))
}

#[test]
fn facts_match_ansible_setup_key_by_key() {
    let bin = match ansible() {
        Ok(b) => b,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let mut t = Test::new()
        .playbook("- hosts: all\n  tasks:\n    - debug: var=ansible_facts\n")
        .inventory("localhost ansible_connection=local\n");
    for (k, v) in ENV {
        t = t.env(k, v);
    }
    let theirs = ansible_facts(&bin, t.dir(), &["localhost", "-c", "local"]);
    let ours = oplay_facts(&t);
    check(&[RULES], &theirs, &ours, "local");
}

/// Compares and fails with every difference.
fn check(rules: &Rules, theirs: &Map<String, Value>, ours: &Map<String, Value>, how: &str) {
    let mut diffs = Vec::new();
    compare_maps(rules, "", theirs, ours, &mut diffs);
    eprintln!(
        "{how}: ansible {} keys, oplay {} keys, differences outside the rules: {}",
        theirs.len(),
        ours.len(),
        diffs.len()
    );
    assert!(diffs.is_empty(), "facts differ:\n{}", diffs.join("\n"));
}

/// The same over SSH, to a test sshd of our own as the current user.
#[test]
fn facts_over_ssh_match_ansible_setup() {
    let bin = match ansible() {
        Ok(b) => b,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let sshd = Sshd::start();
    let mut t = Test::new()
        .playbook("- hosts: all\n  tasks:\n    - debug: var=ansible_facts\n")
        .inventory(&sshd.inventory_line("target"));
    for (k, v) in ENV {
        t = t.env(k, v);
    }
    let (port, key) = (sshd.port.to_string(), sshd.client_key.display().to_string());
    let ssh_args = format!(
        "--ssh-common-args=-o UserKnownHostsFile={}",
        sshd.known_hosts.display()
    );
    let user = sshd.user.clone();
    let theirs = ansible_facts(
        &bin,
        t.dir(),
        &[
            "all",
            "-i",
            "127.0.0.1,",
            "-u",
            &user,
            "--private-key",
            &key,
            &ssh_args,
            "-e",
            &format!("ansible_port={port} ansible_python_interpreter=/usr/bin/python3"),
        ],
    );
    let ours = oplay_facts(&t);
    check(&[RULES, SSH_RULES], &theirs, &ours, "ssh");
}

#[test]
fn the_rules_name_no_key_twice() {
    let all: Vec<&str> = RULES.iter().chain(SSH_RULES).map(|(p, _)| *p).collect();
    for (i, p) in all.iter().enumerate() {
        assert!(all[i + 1..].iter().all(|q| q != p), "{p} is listed twice");
    }
}
