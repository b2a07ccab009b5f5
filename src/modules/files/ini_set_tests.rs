//! Tests of `ini_set`: a table of (input, parameters, expected output,
//! changed), then the real Debian glance-api.conf and nova.conf.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::ini::IniDoc;
use crate::modules::Outcome;
use crate::modules::testing::TestHost;

/// One row of the table: name, input file, parameters, expected file, changed.
type Case<'a> = (&'a str, Option<&'a str>, Value, Option<&'a str>, bool);

/// Runs `ini_set` on a file holding `input` (`None`: no file).
async fn run(host: &TestHost, input: Option<&str>, mut params: Value) -> (Option<String>, Outcome) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/test.ini");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if let Some(text) = input {
        std::fs::write(&path, text).unwrap();
    }
    params["path"] = json!(path.to_str().unwrap());
    let out = host
        .run("ini_set", params)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (std::fs::read_to_string(&path).ok(), out)
}

const NOVA_LIKE: &str = "[DEFAULT]\n\n#\n# From nova.conf\n#\n\n# Help for debug.\n#debug = false\n\n\
                         # Help for x.\n# Example:\n#     x = 1\n#x = <None>\n\n[api]\n\n#debug = false\n";

#[tokio::test]
async fn table_of_cases() {
    let api_debug = NOVA_LIKE.replacen("[api]\n\n#debug = false", "[api]\n\ndebug = true", 1);
    let default_x = NOVA_LIKE.replace("#x = <None>", "x = y");
    let after_header = NOVA_LIKE.replacen("[DEFAULT]\n", "[DEFAULT]\ndebug = true\n", 1);
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("new option goes after the section's last option, before the next section's comments",
         Some("[a]\nx = 1\n\n# about b\n[b]\ny = 2\n"), json!({"section": "a", "option": "z", "value": 3}),
         Some("[a]\nx = 1\nz = 3\n\n# about b\n[b]\ny = 2\n"), true),
        ("same value with other spacing is unchanged",
         Some("[a]\nx=1\n"), json!({"section": "a", "option": "x", "value": "1"}), Some("[a]\nx=1\n"), false),
        ("value is trimmed before comparing",
         Some("[a]\nx = 1\n"), json!({"section": "a", "option": "x", "value": " 1 "}), Some("[a]\nx = 1\n"), false),
        ("changed value keeps the line's indentation",
         Some("[a]\n\tx=1\n\ty = 2\n"), json!({"section": "a", "option": "x", "value": 5}), Some("[a]\n\tx = 5\n\ty = 2\n"), true),
        ("no_extra_spaces",
         Some("[a]\nx = 1\n"), json!({"section": "a", "option": "x", "value": 2, "no_extra_spaces": true}), Some("[a]\nx=2\n"), true),
        ("sections are case-sensitive; a missing one is appended after a blank line",
         Some("[A]\nx = 1\n"), json!({"section": "a", "option": "x", "value": 2}), Some("[A]\nx = 1\n\n[a]\nx = 2\n"), true),
        ("DEFAULT's option is not another section's",
         Some("[DEFAULT]\ndebug = true\n[s]\n"), json!({"section": "s", "option": "debug", "value": false}),
         Some("[DEFAULT]\ndebug = true\n[s]\ndebug = false\n"), true),
        ("a commented default is replaced in place, in its own section only",
         Some(NOVA_LIKE), json!({"section": "api", "option": "debug", "value": true}),
         Some(&api_debug), true),
        ("OpenStack's #opt = default wins over the help text's example",
         Some(NOVA_LIKE), json!({"section": "DEFAULT", "option": "x", "value": "y"}),
         Some(&default_x), true),
        ("modify_inactive_option: false inserts after the header",
         Some(NOVA_LIKE), json!({"section": "DEFAULT", "option": "debug", "value": true, "modify_inactive_option": false}),
         Some(&after_header), true),
        ("a commented line of another section is left alone",
         Some("[a]\n#x = 1\n[b]\n"), json!({"section": "b", "option": "x", "value": 2}), Some("[a]\n#x = 1\n[b]\nx = 2\n"), true),
        ("CRLF endings are kept and used for new lines",
         Some("[a]\r\nx = 1\r\n\r\n[b]\r\n"), json!({"section": "a", "option": "y", "value": 2}),
         Some("[a]\r\nx = 1\r\ny = 2\r\n\r\n[b]\r\n"), true),
        ("a missing final newline stays missing after an append",
         Some("[a]\nx = 1"), json!({"section": "a", "option": "y", "value": 2}), Some("[a]\nx = 1\ny = 2"), true),
        ("a missing final newline stays missing after a change",
         Some("[a]\nx = 1"), json!({"section": "a", "option": "x", "value": 3}), Some("[a]\nx = 3"), true),
        ("exclusive collapses duplicates, keeping the line with the value",
         Some("[a]\nx = 1\ny = 0\nx = 2\n"), json!({"section": "a", "option": "x", "value": 2}), Some("[a]\ny = 0\nx = 2\n"), true),
        ("values add one line each after the option",
         Some("[a]\nx = 1\nz = 0\n"), json!({"section": "a", "option": "x", "values": [1, 2, 3]}),
         Some("[a]\nx = 1\nx = 2\nx = 3\nz = 0\n"), true),
        ("values, exclusive: a line with another value takes a missing one",
         Some("[a]\nx = 1\nx = 9\ny = 0\n"), json!({"section": "a", "option": "x", "values": [2, 1]}),
         Some("[a]\nx = 1\nx = 2\ny = 0\n"), true),
        ("values already there in another order are unchanged",
         Some("[a]\nx = 2\nx = 1\n"), json!({"section": "a", "option": "x", "values": ["1", "2"]}), Some("[a]\nx = 2\nx = 1\n"), false),
        ("exclusive: false adds a value and keeps the others",
         Some("[a]\nx = 1\nx = 9\n"), json!({"section": "a", "option": "x", "value": 2, "exclusive": false}),
         Some("[a]\nx = 1\nx = 9\nx = 2\n"), true),
        ("exclusive: false with a value already present is unchanged",
         Some("[a]\nx = 1\nx = 9\n"), json!({"section": "a", "option": "x", "value": 9, "exclusive": false}),
         Some("[a]\nx = 1\nx = 9\n"), false),
        ("absent removes every line of the option",
         Some("[a]\nx = 1\n# c\nx = 2\ny = 3\n[b]\nx = 4\n"), json!({"section": "a", "option": "x", "state": "absent"}),
         Some("[a]\n# c\ny = 3\n[b]\nx = 4\n"), true),
        ("absent of a missing option is unchanged",
         Some("[a]\n#x = 1\n"), json!({"section": "a", "option": "x", "state": "absent"}), Some("[a]\n#x = 1\n"), false),
        ("absent with exclusive: false removes only the given value",
         Some("[a]\nx = 1\nx = 2\n"), json!({"section": "a", "option": "x", "value": 2, "state": "absent", "exclusive": false}),
         Some("[a]\nx = 1\n"), true),
        ("absent without option removes the section",
         Some("[a]\nx=1\n\n[b]\ny=2\n"), json!({"section": "a", "state": "absent"}), Some("[b]\ny=2\n"), true),
        ("present without option makes sure the section exists",
         Some("# top\n"), json!({"section": "a"}), Some("# top\n\n[a]\n"), true),
        ("the section before the first header is section null",
         Some("g=0\n[a]\ng = 5\n"), json!({"section": null, "option": "g", "value": 1}), Some("g = 1\n[a]\ng = 5\n"), true),
        ("allow_no_value writes a bare option",
         Some("[mysqld]\nport = 3306\n"), json!({"section": "mysqld", "option": "skip-name-resolve", "allow_no_value": true}),
         Some("[mysqld]\nport = 3306\nskip-name-resolve\n"), true),
        ("a bare option already there is unchanged",
         Some("[mysqld]\nskip-name-resolve\n"), json!({"section": "mysqld", "option": "skip-name-resolve", "allow_no_value": true}),
         Some("[mysqld]\nskip-name-resolve\n"), false),
        ("a missing file is created",
         None, json!({"section": "a", "option": "x", "value": true}), Some("[a]\nx = true\n"), true),
        ("absent on a missing file creates nothing",
         None, json!({"section": "a", "option": "x", "state": "absent"}), None, false),
        ("an empty value",
         Some("[a]\nx = 1\n"), json!({"section": "a", "option": "x", "value": ""}), Some("[a]\nx =\n"), true),
        ("a continued value is replaced whole",
         Some("[a]\nx = 1\n    2\ny = 3\n"), json!({"section": "a", "option": "x", "value": 4}), Some("[a]\nx = 4\ny = 3\n"), true),
        ("a section in two blocks is one section",
         Some("[a]\nx = 1\n[b]\n[a]\ny = 2\n"), json!({"section": "a", "option": "x", "value": 5}),
         Some("[a]\nx = 5\n[b]\n[a]\ny = 2\n"), true),
        ("settings: many sections, a list, a null, a new section, an empty mapping",
         Some("[DEFAULT]\n#debug = false\nold = 1\n\n[db]\n#connection = <None>\n"),
         json!({"settings": {"DEFAULT": {"debug": true, "old": null, "hosts": ["a", "b"]},
                             "db": {"connection": "sqlite://"}, "new": {"k": "v"}, "empty": {}}}),
         Some("[DEFAULT]\ndebug = true\nhosts = a\nhosts = b\n\n[db]\nconnection = sqlite://\n\n[new]\nk = v\n\n[empty]\n"), true),
        ("settings: the key \"\" is the part before the first section",
         Some("g=0\n[a]\ng = 5\n"), json!({"settings": {"": {"g": 1}}}), Some("g = 1\n[a]\ng = 5\n"), true),
        ("settings already in place are unchanged",
         Some("[DEFAULT]\ndebug=true\n[db]\nconnection = sqlite://\n"),
         json!({"settings": {"DEFAULT": {"debug": "true", "gone": null}, "db": {"connection": "sqlite://"}}}),
         Some("[DEFAULT]\ndebug=true\n[db]\nconnection = sqlite://\n"), false),
    ];
    let host = TestHost::new();
    for (name, input, params, want, changed) in cases {
        let (got, out) = run(&host, input, params).await;
        assert_eq!(got.as_deref(), want, "{name}");
        assert_eq!(out.changed, changed, "{name}: changed");
        assert!(!out.failed, "{name}: failed");
    }
}

#[tokio::test]
async fn bad_input_is_refused_before_the_host() {
    let host = TestHost::new();
    for (params, needle) in [
        (json!({"section": "a", "option": "x"}), "needs a `value`"),
        (
            json!({"section": "a", "option": "x", "value": 1, "values": [1]}),
            "parameters `value` and `values` of `ini_set` are mutually exclusive",
        ),
        (
            json!({"section": "a", "option": "x=y", "value": 1}),
            "invalid option name",
        ),
        (
            json!({"section": "a", "option": "x", "value": {"k": 1}}),
            "must be a string",
        ),
        (
            json!({"settings": {"a": {"x": 1}}, "option": "x"}),
            "parameters `option` and `settings` of `ini_set` are mutually exclusive",
        ),
        (
            json!({"settings": {"a": {"x": 1}}, "state": "absent"}),
            "state=present only",
        ),
        (json!({"settings": {"a": ["x"]}}), "must be a mapping"),
        (json!({"settings": {"a": {"x": "1\n[b]"}}}), "line break"),
        (
            json!({"option": "x", "value": 1, "state": "gone"}),
            "unknown variant",
        ),
        (
            json!({"option": "x", "value": 1, "bogus": 1}),
            "unknown field",
        ),
    ] {
        let mut params = params;
        params["path"] = json!("/nonexistent/dir/x.ini");
        let err = host
            .run("ini_set", params.clone())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{params}: {err}");
    }
}

#[tokio::test]
async fn create_false_fails_on_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.ini");
    let host = TestHost::new();
    let args = json!({"path": path.to_str().unwrap(), "section": "a", "option": "x", "value": 1, "create": false});
    let err = host.run("ini_set", args).await.unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
    assert!(!path.exists());
}

#[tokio::test]
async fn check_mode_writes_nothing_and_diff_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nova.conf");
    let before = "[database]\n#connection = <None>\n[keystone_authtoken]\npassword = old-pw-1\nusername = nova\n";
    std::fs::write(&path, before).unwrap();
    let mut host = TestHost::new();
    host.check = true;
    host.services.redactor.add("rabbit-pw-7");
    let args = json!({"path": path.to_str().unwrap(), "settings": {
        "database": {"connection": "mysql+pymysql://nova:db-pw-2@ctl/nova"},
        "keystone_authtoken": {"password": "new-pw-3", "username": "nova2"},
        "DEFAULT": {"notify_on": "x rabbit-pw-7 y"}}});
    let out = host.run("ini_set", args).await.unwrap();
    assert!(out.changed);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before,
        "check mode wrote the file"
    );
    assert_eq!(out.diffs.len(), 1);
    let d = &out.diffs[0];
    let all = format!("{}\n{}\n{}", d.header, d.before, d.after);
    for secret in ["old-pw-1", "new-pw-3", "db-pw-2", "rabbit-pw-7"] {
        assert!(!all.contains(secret), "{secret} leaked:\n{all}");
    }
    assert!(
        d.header.contains("[keystone_authtoken] password")
            && d.header.contains("[database] connection"),
        "{}",
        d.header
    );
    assert!(
        d.after.contains("connection = ********\n") && d.after.contains("username = nova2\n"),
        "{}",
        d.after
    );
    // A secret written by the task is a run secret from now on.
    assert_eq!(host.services.redactor.scrub("x new-pw-3"), "x ********");
    assert_eq!(out.data["changed_options"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn backup_mode_and_a_link_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.ini");
    let link = dir.path().join("link.ini");
    std::fs::write(&real, "[a]\nx = 1\n").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let host = TestHost::new();
    let args = json!({"dest": link.to_str().unwrap(), "section": "a", "option": "x", "value": 2, "backup": true, "mode": "0600"});
    let out = host.run("ini_set", args.clone()).await.unwrap();
    assert!(out.changed);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "[a]\nx = 2\n");
    let backup = out.data["backup_file"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(backup).unwrap(), "[a]\nx = 1\n");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    // Same text, other mode: only the mode changes.
    let again = host.run("ini_set", json!({"dest": link.to_str().unwrap(), "section": "a", "option": "x", "value": 2, "mode": "0640"})).await.unwrap();
    assert!(again.changed);
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    let third = host.run("ini_set", json!({"dest": link.to_str().unwrap(), "section": "a", "option": "x", "value": 2, "mode": "0640"})).await.unwrap();
    assert!(!third.changed);
}

/// Lines as a multiset, to compare what a run added and removed.
fn line_counts(text: &str) -> HashMap<&str, i64> {
    let mut m = HashMap::new();
    for l in text.lines() {
        *m.entry(l).or_insert(0) += 1;
    }
    m
}

/// Sets 30 options in a real Debian file with `settings`, then checks the
/// values, that a second run changes nothing, and that the only lines
/// added are the options' and the only lines gone are their old lines.
async fn thirty_settings_on(fixture: &str, settings: Value) {
    let original = std::fs::read_to_string(format!(
        "{}/tests/fixtures/ini/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let host = TestHost::new();
    let (after, out) = run(
        &host,
        Some(&original),
        json!({"settings": settings.clone()}),
    )
    .await;
    let after = after.unwrap();
    assert!(out.changed);
    let doc = IniDoc::parse(&after);
    let before_doc = IniDoc::parse(&original);
    let mut count = 0;
    let mut owned: Vec<(&str, String)> = Vec::new();
    for (section, options) in settings.as_object().unwrap() {
        for (option, value) in options.as_object().unwrap() {
            count += 1;
            let want: Vec<String> = match value {
                Value::Array(vs) => vs
                    .iter()
                    .map(|v| crate::value::scalar_to_string(v).unwrap())
                    .collect(),
                v => vec![crate::value::scalar_to_string(v).unwrap()],
            };
            let got: Vec<&str> = doc
                .get_all(Some(section), option)
                .into_iter()
                .flatten()
                .collect();
            assert_eq!(got, want, "[{section}] {option} in {fixture}");
            owned.push((option.as_str(), format!("{option} = ")));
        }
    }
    assert_eq!(count, 30);
    // Re-run: unchanged.
    let (again, out2) = run(&host, Some(&after), json!({"settings": settings})).await;
    assert!(!out2.changed, "second run changed {fixture}");
    assert_eq!(again.unwrap(), after);
    // Only the intended lines changed.
    let (b, a) = (line_counts(&original), line_counts(&after));
    let is_owned = |line: &str| {
        owned.iter().any(|(opt, prefix)| {
            line.starts_with(prefix.as_str()) || line.starts_with(&format!("#{opt} ="))
        })
    };
    let mut removed = 0;
    for (line, n) in &b {
        let d = n - a.get(line).copied().unwrap_or(0);
        if d > 0 {
            assert!(is_owned(line), "{fixture}: unexpected removal of {line:?}");
            removed += d;
        }
    }
    let mut added = 0;
    let new_sections: Vec<String> = settings
        .as_object()
        .unwrap()
        .keys()
        .filter(|s| !before_doc.has_section(Some(s)))
        .map(|s| format!("[{s}]"))
        .collect();
    for (line, n) in &a {
        let d = n - b.get(line).copied().unwrap_or(0);
        if d > 0 {
            let header = line.is_empty() || new_sections.iter().any(|s| s == line);
            assert!(
                header || (is_owned(line) && !line.starts_with('#')),
                "{fixture}: unexpected addition of {line:?}"
            );
            added += d;
        }
    }
    assert!(
        added >= 25 && removed <= added,
        "{fixture}: added {added}, removed {removed}"
    );
    assert_eq!(
        after.lines().count() as i64,
        original.lines().count() as i64 + added - removed
    );
    // Sections the settings do not name are untouched, line for line.
    for section in before_doc.sections() {
        if settings.get(section).is_none() {
            assert_eq!(
                section_text(&before_doc, section),
                section_text(&doc, section),
                "{fixture}: [{section}] changed"
            );
        }
    }
}

/// A section's lines, without trailing blank lines (a new section appended
/// after the last one is preceded by one).
fn section_text(doc: &IniDoc, section: &str) -> Vec<String> {
    let mut lines: Vec<String> = doc
        .section_bodies(Some(section))
        .into_iter()
        .flat_map(|(a, b)| a..b)
        .map(|i| doc.lines[i].text.clone())
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

#[tokio::test]
async fn thirty_settings_in_debian_nova_conf() {
    let settings = json!({
        "DEFAULT": {"transport_url": "rabbit://openstack:pw@ctl:5672/", "my_ip": "10.0.0.11", "debug": true,
                    "state_path": "/var/lib/nova", "enabled_apis": "osapi_compute,metadata", "use_rootwrap_daemon": false,
                    "compute_driver": "libvirt.LibvirtDriver", "instance_usage_audit_period": "hour"},
        "api": {"auth_strategy": "keystone"},
        "api_database": {"connection": "mysql+pymysql://nova:pw@ctl/nova_api"},
        "database": {"connection": "mysql+pymysql://nova:pw@ctl/nova", "max_retries": -1},
        "keystone_authtoken": {"www_authenticate_uri": "http://ctl:5000/", "auth_url": "http://ctl:5000/",
                               "memcached_servers": "ctl:11211", "password": "nova-pw", "region_name": "RegionOne"},
        "vnc": {"enabled": true, "server_listen": "$my_ip", "server_proxyclient_address": "$my_ip"},
        "glance": {"api_servers": "http://ctl:9292"},
        "oslo_concurrency": {"lock_path": "/var/lib/nova/tmp"},
        "placement": {"region_name": "RegionOne", "auth_url": "http://ctl:5000/v3", "username": "placement",
                      "password": "placement-pw"},
        "scheduler": {"discover_hosts_in_cells_interval": 300},
        "filter_scheduler": {"enabled_filters": ["ComputeFilter", "ImagePropertiesFilter"]},
        "neutron": {"service_metadata_proxy": true, "metadata_proxy_shared_secret": "meta-secret"}
    });
    thirty_settings_on("nova.conf", settings).await;
}

#[tokio::test]
async fn thirty_settings_in_debian_glance_api_conf() {
    let settings = json!({
        "DEFAULT": {"bind_host": "0.0.0.0", "bind_port": 9292, "debug": false, "workers": 2, "enabled_backends": "fs:file",
                    "transport_url": "rabbit://openstack:pw@ctl:5672/", "show_image_direct_url": true},
        "database": {"connection": "mysql+pymysql://glance:pw@ctl/glance", "max_retries": -1},
        "keystone_authtoken": {"www_authenticate_uri": "http://ctl:5000", "auth_url": "http://ctl:5000",
                               "memcached_servers": "ctl:11211", "auth_type": "password", "project_domain_name": "Default",
                               "user_domain_name": "Default", "project_name": "service", "username": "glance",
                               "password": "glance-pw", "region_name": "RegionOne"},
        "paste_deploy": {"flavor": "keystone"},
        "glance_store": {"default_backend": "fs", "filesystem_store_datadir": "/srv/glance/images"},
        "fs": {"filesystem_store_datadir": "/var/lib/glance/images/"},
        "oslo_limit": {"auth_url": "http://ctl:5000", "auth_type": "password", "username": "glance",
                       "system_scope": "all", "endpoint_id": "abc", "region_name": "RegionOne"},
        "oslo_concurrency": {"lock_path": "/var/lock/glance"},
    });
    thirty_settings_on("glance-api.conf", settings).await;
}

#[test]
fn doc_lists_parameters_and_aliases() {
    let spec = crate::modules::Registry::builtin()
        .get("ini_set")
        .unwrap()
        .spec()
        .clone();
    let doc = spec.render_doc();
    for needle in [
        "path (str; required; aliases: dest)",
        "settings (dict)",
        "state (str; choices: present, absent)",
        "Differences from",
    ] {
        assert!(doc.contains(needle), "{needle} missing from:\n{doc}");
    }
}
