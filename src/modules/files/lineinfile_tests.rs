//! Tests of `lineinfile`: the line editing against Ansible's cases, and the
//! module on the local connection in temporary directories.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use regex::bytes::Regex;
use serde_json::json;

use super::*;
use crate::modules::testing::TestHost;

fn spec(regexp: Option<&str>, line: &str, anchor: Anchor) -> LineSpec {
    LineSpec {
        regexp: regexp.map(|r| Regex::new(r).unwrap()),
        search: None,
        line: line.as_bytes().to_vec(),
        anchor,
        backrefs: false,
        firstmatch: false,
    }
}

fn edit(text: &str, s: &LineSpec) -> (String, Option<&'static str>) {
    let mut lines = split_lines(text.as_bytes());
    let msg = present(&mut lines, s);
    (String::from_utf8(lines.concat()).unwrap(), msg)
}

#[test]
fn regexp_replaces_the_last_match_or_the_first() {
    let mut s = spec(Some("^a="), "a=9", Anchor::End);
    assert_eq!(
        edit("a=1\nb=2\na=3\n", &s),
        ("a=1\nb=2\na=9\n".into(), Some("line replaced"))
    );
    s.firstmatch = true;
    assert_eq!(edit("a=1\nb=2\na=3\n", &s).0, "a=9\nb=2\na=3\n");
    assert_eq!(edit("a=9\n", &s), ("a=9\n".into(), None));
}

#[test]
fn without_match_the_line_is_added_unless_present() {
    let s = spec(Some("^c="), "c=3", Anchor::End);
    assert_eq!(edit("a=1\n", &s), ("a=1\nc=3\n".into(), Some("line added")));
    let exact = spec(None, "b=2", Anchor::End);
    assert_eq!(edit("b=2\na=1\n", &exact), ("b=2\na=1\n".into(), None));
    assert_eq!(edit("", &exact), ("b=2\n".into(), Some("line added")));
}

#[test]
fn insertafter_and_insertbefore() {
    let after = spec(
        None,
        "y=2",
        Anchor::After(Regex::new(r"^\[main\]").unwrap()),
    );
    let text = "[main]\nx=1\n[other]\n";
    let (once, msg) = edit(text, &after);
    assert_eq!(
        (once.as_str(), msg),
        ("[main]\ny=2\nx=1\n[other]\n", Some("line added"))
    );
    // The exact line is found anywhere, so a second run changes nothing.
    assert_eq!(edit(&once, &after).1, None);
    let at_end = spec(None, "z", Anchor::After(Regex::new("^last").unwrap()));
    assert_eq!(edit("a\nlast\n", &at_end).0, "a\nlast\nz\n");
    let before = spec(
        None,
        "y=2",
        Anchor::Before(Regex::new(r"^\[other\]").unwrap()),
    );
    assert_eq!(edit(text, &before).0, "[main]\nx=1\ny=2\n[other]\n");
    assert_eq!(
        edit("a\n", &spec(None, "first", Anchor::Start)).0,
        "first\na\n"
    );
    let nowhere = spec(None, "q", Anchor::Before(Regex::new("^nomatch").unwrap()));
    assert_eq!(edit("a\n", &nowhere).0, "a\nq\n");
}

#[test]
fn backrefs_expand_python_groups_or_do_nothing() {
    let mut s = spec(
        Some(r"^(host=)(?P<old>.*)$"),
        r"\1new # was \g<old> $5",
        Anchor::End,
    );
    s.backrefs = true;
    assert_eq!(edit("host=old\n", &s).0, "host=new # was old $5\n");
    assert_eq!(edit("other\n", &s), ("other\n".into(), None));
}

#[test]
fn line_endings_and_final_newline_are_kept() {
    let s = spec(Some("^a="), "a=9", Anchor::End);
    assert_eq!(edit("a=1\r\nb=2\r\n", &s).0, "a=9\r\nb=2\r\n");
    assert_eq!(edit("b=1\r\n", &s).0, "b=1\r\na=9\r\n");
    assert_eq!(edit("x\na=1", &s).0, "x\na=9");
    assert_eq!(edit("x", &s).0, "x\na=9");
}

#[test]
fn absent_removes_every_match() {
    let mut lines = split_lines(b"a=1\nb=2\na=3\n");
    assert_eq!(absent(&mut lines, &spec(Some("^a="), "", Anchor::End)), 2);
    assert_eq!(lines.concat(), b"b=2\n");
    let mut s = spec(None, "", Anchor::End);
    s.search = Some(b"=2".to_vec());
    assert_eq!(absent(&mut lines, &s), 1);
    assert!(lines.is_empty());
}

#[tokio::test]
async fn module_edits_once_and_respects_check_mode() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("memcached.conf");
    std::fs::write(&f, "-m 64\n-l 127.0.0.1\n").unwrap();
    let args = json!({"path": f, "regexp": "^-l ", "line": "-l 0.0.0.0"});
    let mut host = TestHost::new();
    host.check = true;
    let before = std::fs::metadata(&f).unwrap();
    let out = host.run("lineinfile", args.clone()).await.unwrap();
    assert!(out.changed);
    assert_eq!(out.msg.as_deref(), Some("line replaced"));
    assert_eq!(out.diffs[0].header, f.to_str().unwrap());
    assert_eq!(out.diffs[0].after, "-m 64\n-l 0.0.0.0\n");
    let m = std::fs::metadata(&f).unwrap();
    assert_eq!(
        (m.mtime_nsec(), m.ino()),
        (before.mtime_nsec(), before.ino())
    );
    host.check = false;
    assert!(host.run("lineinfile", args.clone()).await.unwrap().changed);
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "-m 64\n-l 0.0.0.0\n");
    let m = std::fs::metadata(&f).unwrap();
    let again = host.run("lineinfile", args).await.unwrap();
    assert!(!again.changed);
    let m2 = std::fs::metadata(&f).unwrap();
    assert_eq!((m.mtime_nsec(), m.ino()), (m2.mtime_nsec(), m2.ino()));
}

#[tokio::test]
async fn create_backup_attributes_and_absent() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("sub/hosts");
    let host = TestHost::new();
    let args = json!({"dest": f, "line": "10.0.0.11 controller", "create": true, "mode": "0600"});
    let out = host.run("lineinfile", args).await.unwrap();
    assert!(out.changed);
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "10.0.0.11 controller\n"
    );
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    let out = host
        .run(
            "lineinfile",
            json!({"path": f, "line": "10.0.0.11 controller", "mode": "0644"}),
        )
        .await
        .unwrap();
    assert_eq!(
        out.msg.as_deref(),
        Some("ownership, perms or SE linux context changed")
    );
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o7777,
        0o644
    );
    let out = host
        .run(
            "lineinfile",
            json!({"path": f, "regexp": "controller$", "state": "absent", "backup": true}),
        )
        .await
        .unwrap();
    assert_eq!(out.msg.as_deref(), Some("1 line(s) removed"));
    assert_eq!(out.data["found"], json!(1));
    let backup = out.data["backup_file"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(backup).unwrap(),
        "10.0.0.11 controller\n"
    );
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "");
}

#[tokio::test]
async fn failures_match_ansible() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("none");
    let host = TestHost::new();
    let err = host
        .run("lineinfile", json!({"path": f, "line": "x"}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Destination {} does not exist !", f.display())
    );
    let out = host
        .run(
            "lineinfile",
            json!({"path": f, "line": "x", "state": "absent"}),
        )
        .await
        .unwrap();
    assert_eq!(
        (out.changed, out.msg.as_deref()),
        (false, Some("file not present"))
    );
    let err = host
        .run("lineinfile", json!({"path": dir.path(), "line": "x"}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Path {} is a directory !", dir.path().display())
    );
    let err = host
        .run("lineinfile", json!({"path": f, "regexp": "x"}))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "line is required with state=present");
    let err = host
        .run(
            "lineinfile",
            json!({"path": f, "line": "x", "backrefs": true}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "regexp is required with backrefs=true");
    let err = host
        .run(
            "lineinfile",
            json!({"path": f, "line": "x", "insertafter": "a", "insertbefore": "b"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid parameters: parameters are mutually exclusive: insertbefore|insertafter"
    );
    let err = host
        .run(
            "lineinfile",
            json!({"path": f, "line": "x", "regexp": "(?=a)"}),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid parameters: invalid regexp '(?=a)': "),
        "{err}"
    );
    let err = host
        .run("lineinfile", json!({"path": f, "state": "absent"}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "one of line, search_string, or regexp is required with state=absent"
    );
}

#[tokio::test]
async fn symlinked_file_is_edited_through_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.conf");
    let link = dir.path().join("link.conf");
    std::fs::write(&real, "a=1\n").unwrap();
    std::os::unix::fs::symlink("real.conf", &link).unwrap();
    let host = TestHost::new();
    let args = json!({"path": link, "regexp": "^a=", "line": "a=2", "mode": "0600"});
    assert!(host.run("lineinfile", args.clone()).await.unwrap().changed);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "a=2\n");
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    assert!(!host.run("lineinfile", args).await.unwrap().changed);
}
