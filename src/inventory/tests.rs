//! Tests of the inventory as a whole, on real files: committed fixtures
//! whose expected output was printed by the real `ansible-inventory`, and
//! small inventories written into temp dirs by each test.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tempfile::TempDir;

use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/inventory");

/// A temp dir to write inventory files into.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            dir: TempDir::new().unwrap(),
        }
    }

    fn with(files: &[(&str, &str)]) -> Self {
        let fx = Fixture::new();
        for (path, text) in files {
            fx.write(path, text);
        }
        fx
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn load(&self, sources: &[&str]) -> Inventory {
        Inventory::load(&sources.iter().map(|s| self.path(s)).collect::<Vec<_>>()).unwrap()
    }

    /// The error of loading, with the temp dir left out of paths.
    fn error(&self, sources: &[&str]) -> String {
        let paths: Vec<PathBuf> = sources.iter().map(|s| self.path(s)).collect();
        let err = Inventory::load(&paths).unwrap_err().to_string();
        err.replace(&format!("{}/", self.dir.path().display()), "")
    }
}

fn vars(inv: &Inventory, host: &str) -> Value {
    let mut map = (*inv.host_vars(host)).clone();
    map.retain(|k, _| k != "inventory_file" && k != "inventory_dir");
    Value::Object(map)
}

fn select(inv: &Inventory, pattern: &str) -> Vec<String> {
    inv.select(pattern).unwrap()
}

fn expected(rel: &str) -> String {
    fs::read_to_string(Path::new(FIXTURES).join(rel))
        .unwrap()
        .trim_end()
        .to_string()
}

#[test]
fn ini_output_matches_ansible_inventory() {
    let inv = Inventory::load(&[Path::new(FIXTURES).join("ini_basic/hosts")]).unwrap();
    assert_eq!(inv.to_list_json(), expected("ini_basic/expected/list.json"));
    assert_eq!(inv.graph(), expected("ini_basic/expected/graph.txt"));
    assert_eq!(
        inv.host_json("web01").unwrap(),
        expected("ini_basic/expected/host_web01.json")
    );
}

#[test]
fn yaml_dir_output_matches_ansible_inventory() {
    let root = Path::new(FIXTURES).join("yaml_dir");
    let mut inv = Inventory::load(&[root.join("inv")]).unwrap();
    assert_eq!(inv.graph(), expected("yaml_dir/expected/graph.txt"));
    assert_eq!(
        inv.graph_from("openstack").unwrap(),
        expected("yaml_dir/expected/graph_openstack.txt")
    );
    assert_eq!(inv.graph_from("nope"), None);
    inv.add_vars_dir(&root.join("play")).unwrap();
    assert_eq!(inv.to_list_json(), expected("yaml_dir/expected/list.json"));
    assert_eq!(
        inv.host_json("ctl3.lan").unwrap(),
        expected("yaml_dir/expected/host_ctl3.json")
    );
}

#[test]
fn ini_hosts_groups_and_typed_values() {
    let fx = Fixture::with(&[(
        "hosts",
        "top1\n[web]\nweb[01:03] port=2222 name='a b' on=True off=false n=None\n\
         [db]\nweb02\ndb-[a:c]:2200\n[db:vars]\nq=\"quoted\"\nnum=42\n\
         [all:children]\nweb\n[stack:children]\ndb\n",
    )]);
    let inv = fx.load(&["hosts"]);
    assert_eq!(
        inv.host_names(),
        ["top1", "web01", "web02", "web03", "db-a", "db-b", "db-c"]
    );
    assert_eq!(
        vars(&inv, "web02"),
        json!({"port": 2222, "name": "a b", "on": true, "off": "false", "n": null, "q": "quoted", "num": 42})
    );
    assert_eq!(
        vars(&inv, "db-b"),
        json!({"ansible_port": 2200, "q": "quoted", "num": 42})
    );
    assert_eq!(inv.group_names("web02"), ["db", "stack", "web"]);
    assert_eq!(inv.group_names("top1"), ["ungrouped"]);
    let groups = inv.groups();
    assert_eq!(groups["stack"], json!(["web02", "db-a", "db-b", "db-c"]));
    assert_eq!(groups["ungrouped"], json!(["top1"]));
    assert_eq!(groups["all"].as_array().unwrap().len(), 7);
    let file = inv.host_vars("web01")["inventory_file"].clone();
    assert_eq!(file, json!(fx.path("hosts").display().to_string()));
    assert_eq!(
        inv.host_vars("web01")["inventory_dir"],
        json!(fx.dir.path().display().to_string())
    );
}

#[test]
fn ini_children_may_be_declared_later() {
    let fx = Fixture::with(&[(
        "h",
        "[p:children]\nc1\nc2\n[c2]\nx\n[c1]\ny\n[c1:vars]\nv=1\n",
    )]);
    let inv = fx.load(&["h"]);
    // Ansible attaches a pending child when its section appears: c2 first.
    assert_eq!(
        inv.graph(),
        "@all:\n  |--@ungrouped:\n  |--@p:\n  |  |--@c2:\n  |  |  |--x\n  |  |--@c1:\n  |  |  |--y"
    );
    assert_eq!(select(&inv, "p"), ["x", "y"]);
}

#[test]
fn yaml_inventory_structure() {
    let fx = Fixture::with(&[(
        "inv.yml",
        "all:\n  vars: {v: all}\n  hosts:\n    solo:\n  children:\n    web:\n      hosts:\n        w[1:2]:2222: {v: host}\n        w3:\n      vars: {v: web}\n    db:\n      hosts: d1\n      children:\n        web:\nother:\n  hosts: {o1: {x: [1, {y: 2}]}}\n",
    )]);
    let inv = fx.load(&["inv.yml"]);
    assert_eq!(select(&inv, "all"), ["solo", "w1", "w2", "w3", "d1", "o1"]);
    assert_eq!(vars(&inv, "w1"), json!({"v": "host", "ansible_port": 2222}));
    assert_eq!(vars(&inv, "w3"), json!({"v": "web"}));
    assert_eq!(vars(&inv, "o1"), json!({"v": "all", "x": [1, {"y": 2}]}));
    assert_eq!(inv.group_names("w3"), ["db", "web"]);
    assert_eq!(inv.group_names("solo"), ["ungrouped"]);
}

#[test]
fn json_inventory_and_host_lists() {
    let fx = Fixture::with(&[("inv.json", r#"{"web": {"hosts": {"j1": {"a": 1}}}}"#)]);
    let list = PathBuf::from("10.0.0.1,node2:2222, ,");
    let inv = Inventory::load(&[fx.path("inv.json"), list]).unwrap();
    assert_eq!(inv.host_names(), ["10.0.0.1", "node2", "j1"]);
    assert_eq!(vars(&inv, "j1"), json!({"a": 1}));
    assert_eq!(vars(&inv, "node2"), json!({"ansible_port": 2222}));
    assert_eq!(inv.host_vars("node2")["inventory_dir"], Value::Null);
}

#[test]
fn files_without_extension_are_yaml_or_ini() {
    let fx = Fixture::with(&[("a", "web:\n  hosts:\n    y1:\n"), ("b", "[web]\ni1\n")]);
    let inv = fx.load(&["a", "b"]);
    assert_eq!(select(&inv, "web"), ["y1", "i1"]);
}

#[test]
fn vars_dirs_as_files_and_directories() {
    let fx = Fixture::with(&[
        ("inv/hosts", "[web]\nw1\n[db]\nd1\n"),
        ("inv/group_vars/web.yml", "a: file\nshared: web\n"),
        (
            "inv/group_vars/web.json",
            r#"{"never": "read: web.yml came first"}"#,
        ),
        ("inv/group_vars/db/10-main.yml", "a: first\nb: 1\n"),
        ("inv/group_vars/db/20-more.yaml", "a: second\n"),
        ("inv/group_vars/db/sub/30-deeper", "c: deep\n"),
        ("inv/group_vars/db/notes.txt", "ignored: yes\n"),
        ("inv/group_vars/db/.hidden.yml", "hidden: yes\n"),
        ("inv/group_vars/db/backup.yml~", "backup: yes\n"),
        ("inv/group_vars/all", ""),
        ("inv/host_vars/w1", "h: 1\n"),
    ]);
    let inv = fx.load(&["inv"]);
    assert_eq!(
        vars(&inv, "w1"),
        json!({"a": "file", "shared": "web", "h": 1})
    );
    assert_eq!(
        vars(&inv, "d1"),
        json!({"a": "second", "b": 1, "c": "deep"})
    );
}

#[test]
fn precedence_follows_ansible() {
    let fx = Fixture::with(&[
        (
            "inv/hosts",
            "[parent:children]\nchild\n[child]\nh1 from_host=ini\nh2\n[all:vars]\nv=ini_all\nfile_all=ini\n\
             [parent:vars]\nv=ini_parent\nkeep=parent\n[child:vars]\nv=ini_child\n",
        ),
        (
            "inv/group_vars/all.yml",
            "v: inv_gv_all\nfile_all: inv_gv_all\n",
        ),
        (
            "inv/group_vars/parent.yml",
            "v: inv_gv_parent\nfrom_group_file: parent\n",
        ),
        ("inv/group_vars/child.yml", "from_group_file: child\n"),
        ("inv/host_vars/h1.yml", "from_host: inv_hv\n"),
        ("play/group_vars/all.yml", "file_all: play_gv_all\n"),
        ("play/group_vars/child.yml", "v: play_gv_child\n"),
        ("play/host_vars/h2.yml", "v: play_hv\n"),
    ]);
    let mut inv = fx.load(&["inv/hosts"]);
    assert_eq!(
        vars(&inv, "h1"),
        json!({"v": "inv_gv_parent", "file_all": "inv_gv_all", "keep": "parent", "from_group_file": "child", "from_host": "inv_hv"})
    );
    inv.add_vars_dir(&fx.path("play")).unwrap();
    // A playbook's group_vars/all beats the inventory's, but not the
    // inventory's group_vars/GROUP; a child group beats its parent.
    assert_eq!(vars(&inv, "h1")["file_all"], json!("play_gv_all"));
    assert_eq!(vars(&inv, "h1")["v"], json!("play_gv_child"));
    assert_eq!(vars(&inv, "h2")["v"], json!("play_hv"));
    // The map is computed once and shared.
    assert!(Arc::ptr_eq(&inv.host_vars("h1"), &inv.host_vars("h1")));
}

#[test]
fn group_priority_orders_groups_of_equal_depth() {
    let fx = Fixture::with(&[(
        "h",
        "[a]\nh1\n[b]\nh1\n[a:vars]\nv=a\nansible_group_priority=5\n[b:vars]\nv=b\n[c]\nh2\n[d]\nh2\n[c:vars]\nv=c\n[d:vars]\nv=d\n",
    )]);
    let inv = fx.load(&["h"]);
    assert_eq!(vars(&inv, "h1"), json!({"v": "a"}));
    assert_eq!(vars(&inv, "h2"), json!({"v": "d"}));
}

#[test]
fn several_sources_merge_in_order() {
    let fx = Fixture::with(&[
        ("one/hosts", "[web]\nw1 v=1\n[all:vars]\nsrc=one\n"),
        ("one/group_vars/web.yml", "gv: one\n"),
        (
            "two/hosts.yml",
            "web:\n  hosts:\n    w1: {v: 2}\n    w2:\nall:\n  vars: {src: two}\n",
        ),
        ("two/group_vars/web.yml", "gv: two\n"),
    ]);
    let inv = fx.load(&["one/hosts", "two/hosts.yml"]);
    assert_eq!(select(&inv, "web"), ["w1", "w2"]);
    assert_eq!(vars(&inv, "w1"), json!({"v": 2, "src": "two", "gv": "two"}));
    assert_eq!(
        inv.host_vars("w1")["inventory_file"],
        json!(fx.path("one/hosts").display().to_string())
    );
}

#[test]
fn directory_inventories_skip_what_ansible_skips() {
    let fx = Fixture::with(&[
        ("inv/01-hosts", "[web]\nw1\n"),
        ("inv/sub/02.yml", "db:\n  hosts: {d1: }\n"),
        ("inv/README.md", "not [an inventory\n"),
        ("inv/old.retry", "w1 [bad\n"),
        ("inv/hosts~", "[bad\n"),
        ("inv/.hidden", "[bad\n"),
        ("inv/ansible.cfg", "[defaults]\nx = 1\n"),
        ("inv/group_vars/web.yml", "gv: 1\n"),
        (
            "inv/known_hosts",
            "10.0.0.11,controller ssh-ed25519 AAAAC3Nza\n",
        ),
    ]);
    let script = fx.path("inv/dyn.sh");
    fs::write(&script, "#!/bin/sh\necho '{}'\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let inv = fx.load(&["inv"]);
    assert_eq!(inv.host_names(), ["w1", "d1"]);
    assert_eq!(vars(&inv, "w1"), json!({"gv": 1}));
    assert_eq!(inv.warnings().len(), 2, "{:?}", inv.warnings());
    assert!(inv.warnings()[0].ends_with("dyn.sh: executable inventory scripts are not supported"));
    assert!(
        inv.warnings()[1].contains("known_hosts: not an inventory"),
        "{:?}",
        inv.warnings()
    );
}

#[test]
fn directory_files_of_bare_words_are_skipped_without_their_content() {
    let fx = Fixture::with(&[
        ("inv/hosts", "[web]\nw1\n"),
        ("inv/credentials/db_password", "Xk3pQ9zLmW2vR8sT\n"),
        ("inv/two", "# a comment\nalpha\n\nbeta\n"),
        ("inv/listed.ini", "l1\n"),
    ]);
    let inv = fx.load(&["inv"]);
    assert_eq!(inv.host_names(), ["l1", "w1"]);
    let shown: Vec<String> = inv
        .warnings()
        .iter()
        .map(|w| w.replace(&format!("{}/", fx.dir.path().display()), ""))
        .collect();
    let why = "it holds only bare words (no groups, no variables), as a password file does; \
               name it *.ini to read it as a list of hosts";
    assert_eq!(
        shown,
        [
            format!("skipping inv/credentials/db_password: {why}"),
            format!("skipping inv/two: {why}"),
        ]
    );
    // Given as a file, not found in a folder, it is read as Ansible does.
    assert_eq!(fx.load(&["inv/two"]).host_names(), ["alpha", "beta"]);
}

#[test]
fn a_host_named_by_a_secret_is_refused_without_the_value() {
    let fx = Fixture::with(&[
        ("inv/hosts", "[db]\ndb1\nhunter2222\n"),
        ("inv/group_vars/all.yml", "db_password: hunter2222\n"),
    ]);
    let inv = fx.load(&["inv"]);
    let err = inv
        .refuse_secret_hosts(|_, _| None)
        .unwrap_err()
        .to_string();
    let file = fx.path("inv/hosts");
    assert_eq!(
        err,
        format!(
            "inventory {}: a host is named by the value of the secret `db_password`; refusing \
             the inventory, so that the value is neither shown nor used as an address (is a \
             password file read as an inventory source? keep credentials out of inventory \
             folders)",
            file.display()
        )
    );
    assert!(!err.contains("hunter2222"));

    // A templated secret is asked of the renderer; short values and
    // flags are no secrets.
    let fx = Fixture::with(&[
        ("hosts", "[db]\ndb1\nGenerated99\nyes\n"),
        (
            "group_vars/all.yml",
            "nova_password: \"{{ lookup('password', 'x') }}\"\nx_token: yes\n",
        ),
    ]);
    let inv = fx.load(&["hosts"]);
    let mut asked = Vec::new();
    let err = inv.refuse_secret_hosts(|host, var| {
        asked.push(format!("{host}:{var}"));
        Some(json!("Generated99"))
    });
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("the secret `nova_password`")
    );
    assert_eq!(
        asked,
        [
            "db1:nova_password",
            "Generated99:nova_password",
            "yes:nova_password"
        ]
    );
    assert!(inv.refuse_secret_hosts(|_, _| None).is_ok());

    // A host list is not named: its text holds the secret.
    let fx = Fixture::with(&[
        ("inv/hosts", "db1\n"),
        ("inv/group_vars/all.yml", "db_pw: hunter2222\n"),
    ]);
    let sources = [PathBuf::from("a1,hunter2222,"), fx.path("inv/hosts")];
    let err = Inventory::load(&sources)
        .unwrap()
        .refuse_secret_hosts(|_, _| None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("the -i host list: a host is named by the value of the secret `db_pw`;"),
        "{err}"
    );
}

#[test]
fn patterns_select_like_ansible() {
    let fx = Fixture::with(&[(
        "h",
        "loose\n[web]\nweb1\nweb2\nweb10\n[db]\ndb1\nweb2\n[stack:children]\nweb\ndb\n[stack:vars]\nx=1\n",
    )]);
    let inv = fx.load(&["h"]);
    let cases: &[(&str, &[&str])] = &[
        ("all", &["loose", "web1", "web2", "web10", "db1"]),
        ("*", &["loose", "web1", "web2", "web10", "db1"]),
        ("web", &["web1", "web2", "web10"]),
        ("web:db", &["web1", "web2", "web10", "db1"]),
        ("web,db", &["web1", "web2", "web10", "db1"]),
        ("web:&db", &["web2"]),
        ("web:!db", &["web1", "web10"]),
        ("!db", &["loose", "web1", "web10"]),
        ("&db", &["web2", "db1"]),
        ("web*", &["web1", "web2", "web10"]),
        ("web?", &["web1", "web2"]),
        ("~web\\d+", &["web1", "web2", "web10"]),
        ("~web1", &["web1", "web10"]),
        ("web1", &["web1"]),
        ("web[0]", &["web1"]),
        ("web[-1]", &["web10"]),
        ("web[1:]", &["web2", "web10"]),
        ("web[0:1]", &["web1", "web2"]),
        ("stack:!web[0]", &["web2", "web10", "db1"]),
        ("ungrouped", &["loose"]),
        ("localhost", &["localhost"]),
        ("nothing", &[]),
        ("web:nothing", &["web1", "web2", "web10"]),
    ];
    for (pattern, want) in cases {
        assert_eq!(select(&inv, pattern), *want, "pattern {pattern}");
    }
}

#[test]
fn bad_patterns_are_errors() {
    let inv = Fixture::with(&[("h", "[web]\nw1\n")]).load(&["h"]);
    let cases = [
        ("", "empty host pattern ``"),
        (
            "web:!",
            "host pattern `web:!`: `!` needs a group or host name after `!`",
        ),
        (
            "web[3]",
            "no hosts matched the subscripted pattern `web[3]`",
        ),
        ("~web(", "invalid host pattern `~web(`: unclosed group"),
        (
            "~[web",
            "invalid host pattern `~[web`: a `[` without its `]` (or a `]` without its `[`)",
        ),
        (
            "web]:db",
            "invalid host pattern `web]:db`: a `[` without its `]` (or a `]` without its `[`)",
        ),
        (
            "~",
            "invalid host pattern `~`: a `~` must be followed by a regular expression",
        ),
    ];
    for (pattern, want) in cases {
        assert_eq!(
            inv.select(pattern).unwrap_err().to_string(),
            want,
            "pattern {pattern}"
        );
    }
}

#[test]
fn implicit_localhost() {
    let inv = Inventory::localhost_only();
    assert!(select(&inv, "all").is_empty());
    assert_eq!(select(&inv, "localhost"), ["localhost"]);
    assert_eq!(
        vars(&inv, "localhost"),
        json!({"ansible_connection": "local"})
    );
    assert!(inv.group_names("localhost").is_empty());

    let fx = Fixture::with(&[
        ("inv/hosts", "[all:vars]\nntp=pool\n[web]\nw1\n"),
        ("inv/host_vars/localhost.yml", "lv: 1\n"),
    ]);
    let inv = fx.load(&["inv"]);
    assert_eq!(select(&inv, "localhost:web"), ["localhost", "w1"]);
    assert_eq!(
        vars(&inv, "localhost"),
        json!({"ntp": "pool", "ansible_connection": "local", "lv": 1})
    );

    // A declared local host answers to `localhost`, as in Ansible.
    let inv = Fixture::with(&[("h", "127.0.0.1 ansible_connection=local\n")]).load(&["h"]);
    assert_eq!(select(&inv, "localhost"), ["127.0.0.1"]);
}

#[test]
fn ini_errors_point_at_the_fault() {
    let cases = [
        (
            "[web\nh1\n",
            "h:1:1: invalid section header `[web`\n  |\n1 | [web\n  | ^\nhint: a section is `[group]`, `[group:vars]` or `[group:children]`, without spaces; comments start with `#`",
        ),
        (
            "[web]  ; note\n",
            "h:1:1: invalid section header `[web]  ; note`\n  |\n1 | [web]  ; note\n  | ^\nhint: a section is `[group]`, `[group:vars]` or `[group:children]`, without spaces; comments start with `#`",
        ),
        (
            "[g:foo]\n",
            "h:1:4: section [g:foo] has unknown type `foo`\n  |\n1 | [g:foo]\n  |    ^\nhint: use `[g]`, `[g:vars]` or `[g:children]`",
        ),
        (
            "[g]\n  h1 a=b=c garbage\n",
            "h:2:12: expected key=value host variable assignment, got `garbage`\n  |\n2 |   h1 a=b=c garbage\n  |            ^\nhint: quote values that hold spaces: key='a value'",
        ),
        (
            "[g]\nweb[3:1]\n",
            "h:2:1: invalid host range `web[3:1]`: host range must have begin <= end\n  |\n2 | web[3:1]\n  | ^",
        ),
        (
            "[g]\nweb[01:3]\n",
            "h:2:1: invalid host range `web[01:3]`: host range must specify equal-length begin and end formats\n  |\n2 | web[01:3]\n  | ^",
        ),
        (
            "[g]\nh1 x='open\n",
            "h:2:6: cannot parse host line: no closing quotation\n  |\n2 | h1 x='open\n  |      ^",
        ),
        (
            "[g]\nh1:\n",
            "h:2:1: invalid host `h1:`: a `:` after a host name must be followed by a port number\n  |\n2 | h1:\n  | ^",
        ),
        (
            "[g:vars]\nx\n[g]\n",
            "h:2:1: expected key=value, got `x`\n  |\n2 | x\n  | ^",
        ),
        (
            "[g:vars]\nx=1\n",
            "h:1:1: section [g:vars] is for a group that is never declared\n  |\n1 | [g:vars]\n  | ^\nhint: declare the group with a `[g]` section (it may be empty)",
        ),
        (
            "[g:children]\nnope\n",
            "h:2:1: section [g:children] includes undefined group `nope`\n  |\n2 | nope\n  | ^\nhint: declare the group with a `[nope]` section (it may be empty)",
        ),
        (
            "[g:children]\na b\n",
            "h:2:1: expected a group name, got `a b`\n  |\n2 | a b\n  | ^",
        ),
        (
            "[a:children]\nb\n[b:children]\na\n",
            "h:4:1: adding group `a` as a child of `b` creates a loop\n  |\n4 | a\n  | ^",
        ),
        (
            "[g:vars]\nansible_group_priority=high\n[g]\n",
            "h:2:1: ansible_group_priority must be an integer, found \"high\"\n  |\n2 | ansible_group_priority=high\n  | ^",
        ),
    ];
    for (text, want) in cases {
        let fx = Fixture::with(&[("h", text)]);
        assert_eq!(fx.error(&["h"]), want, "inventory:\n{text}");
    }
}

#[test]
fn yaml_errors_point_at_the_fault() {
    let cases = [
        (
            "- a\n- b\n",
            "h.yml:1:1: a YAML inventory must be a mapping of groups, found a list\n  |\n1 | - a\n  | ^",
        ),
        (
            "all:\n  hosts: [a, b]\n",
            "h.yml:2:10: `hosts` of group `all` must be a mapping, found a list\n  |\n2 |   hosts: [a, b]\n  |          ^\nhint: write each entry as a key: `hosts: {name1: , name2: }`",
        ),
        (
            "all:\n  host:\n    a:\n",
            "h.yml:2:3: unexpected key `host` in group `all`: only `hosts`, `children` and `vars` are valid\n  |\n2 |   host:\n  |   ^\nhint: did you mean `hosts`?",
        ),
        (
            "web: [a]\n",
            "h.yml:1:6: group `web` must be a mapping with `hosts`, `children` or `vars`, found a list\n  |\n1 | web: [a]\n  |      ^",
        ),
        (
            "web:\n  hosts:\n    1234:\n",
            "h.yml:3:5: host `1234` must be a string; quote numbers used as host names\n  |\n3 |     1234:\n  |     ^",
        ),
        (
            "web:\n  hosts:\n    a: 5\n",
            "h.yml:3:8: the variables of host `a` must be a mapping, found an integer\n  |\n3 |     a: 5\n  |        ^",
        ),
        (
            "web:\n  hosts:\n    w[2:1]:\n",
            "h.yml:3:5: invalid host range `w[2:1]`: host range must have begin <= end\n  |\n3 |     w[2:1]:\n  |     ^",
        ),
        (
            "plugin: aws_ec2\n",
            "h.yml:1:9: inventory plugin configuration files are not supported\n  |\n1 | plugin: aws_ec2\n  |         ^\nhint: list the hosts in a static YAML or INI inventory",
        ),
        (
            "web:\n  hosts: {a: }\n  hosts: {b: }\n",
            "h.yml:3:3: duplicate key `hosts` (first defined at h.yml:2:3)\n  |\n3 |   hosts: {b: }\n  |   ^",
        ),
    ];
    for (text, want) in cases {
        let fx = Fixture::with(&[("h.yml", text)]);
        assert_eq!(fx.error(&["h.yml"]), want, "inventory:\n{text}");
    }
}

#[test]
fn vars_file_and_io_errors() {
    let fx = Fixture::with(&[
        ("inv/hosts", "[web]\nw1\n"),
        ("inv/group_vars/web.yml", "- a\n- b\n"),
    ]);
    assert_eq!(
        fx.error(&["inv"]),
        "inv/group_vars/web.yml:1:1: a vars file must hold a mapping of variables, found a list\n  |\n1 | - a\n  | ^"
    );
    let fx = Fixture::with(&[
        ("inv/hosts", "[web]\nw1\n"),
        ("inv/host_vars/w1", "a: [1\n"),
    ]);
    assert!(
        fx.error(&["inv"]).starts_with("inv/host_vars/w1:"),
        "{}",
        fx.error(&["inv"])
    );
    let fx = Fixture::new();
    assert_eq!(
        fx.error(&["missing"]),
        "inventory missing: No such file or directory (os error 2)"
    );
}

#[test]
fn an_inventory_holds_at_most_max_hosts() {
    let graph = super::graph::Graph::default();
    let names: Vec<String> = (0..=super::MAX_HOSTS).map(|i| format!("h{i}")).collect();
    assert_eq!(
        graph.check_room(&names).unwrap_err().to_string(),
        "the inventory would hold more than 200000 hosts"
    );
    assert!(graph.check_room(&names[1..]).is_ok());
}

#[test]
fn a_big_group_loads_in_linear_time() {
    let started = std::time::Instant::now();
    let inv = Fixture::with(&[("h", "[web]\nweb[0:49999]\n[db]\nweb[0:49999]\n")]).load(&["h"]);
    assert_eq!(inv.host_names().len(), 50_000);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
