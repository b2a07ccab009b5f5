//! Tests of the `file` module on the local connection, in temporary directories.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use serde_json::json;

use super::components;
use crate::modules::testing::TestHost;

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[tokio::test]
async fn directory_with_parents_then_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let leaf = dir.path().join("a/b/c");
    let args = json!({"path": leaf, "state": "directory", "mode": "0750"});
    let mut host = TestHost::new();
    host.check = true;
    let out = host.run("file", args.clone()).await.unwrap();
    assert!(out.changed && !dir.path().join("a").exists());
    assert_eq!(
        out.diffs[0].after,
        format!("path: {}\nstate: directory\n", leaf.display())
    );
    host.check = false;
    let out = host.run("file", args.clone()).await.unwrap();
    assert!(out.changed);
    assert_eq!(out.data["state"], json!("directory"));
    assert_eq!(out.data["mode"], json!("0750"));
    assert_eq!((mode(&dir.path().join("a")), mode(&leaf)), (0o750, 0o750));
    let again = host.run("file", args).await.unwrap();
    assert!(!again.changed);
    let err = host
        .run(
            "file",
            json!({"path": dir.path().join("a"), "state": "file"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "file ({}/a) is directory, cannot continue",
            dir.path().display()
        )
    );
}

#[tokio::test]
async fn recurse_fixes_the_tree_once() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("top");
    std::fs::create_dir_all(top.join("sub")).unwrap();
    std::fs::write(top.join("sub/f"), "x").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", top.join("sub/l")).unwrap();
    std::fs::set_permissions(&top, std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::set_permissions(top.join("sub"), std::fs::Permissions::from_mode(0o750)).unwrap();
    let args = json!({"path": top, "state": "directory", "recurse": true, "mode": "0750", "owner": "nobody"});
    let mut host = TestHost::new();
    host.check = true;
    let out = host.run("file", args.clone()).await.unwrap();
    assert!(out.changed);
    assert_eq!(mode(&top.join("sub/f")), 0o644);
    host.check = false;
    assert!(host.run("file", args.clone()).await.unwrap().changed);
    let f = std::fs::metadata(top.join("sub/f")).unwrap();
    assert_eq!((f.permissions().mode() & 0o7777, f.uid()), (0o750, 65534));
    assert_eq!(std::fs::metadata("/etc/hostname").unwrap().uid(), 0);
    assert!(!host.run("file", args).await.unwrap().changed);
}

#[tokio::test]
async fn file_state_changes_only_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    let host = TestHost::new();
    let err = host
        .run("file", json!({"path": f, "state": "file"}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("file ({}) is absent, cannot continue", f.display())
    );
    std::fs::write(&f, "x").unwrap();
    let out = host
        .run("file", json!({"path": f, "mode": "0600", "group": 65534}))
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(out.diffs[0].before, "mode: 0644\ngroup: root\n");
    assert_eq!(out.diffs[0].after, "mode: 0600\ngroup: nogroup\n");
    assert_eq!(mode(&f), 0o600);
    assert_eq!(out.data["group"], json!("nogroup"));
    let again = host
        .run(
            "file",
            json!({"dest": f, "mode": "0600", "group": "nogroup"}),
        )
        .await
        .unwrap();
    assert!(!again.changed);
    assert_eq!(again.data["state"], json!("file"));
}

#[tokio::test]
async fn absent_removes_trees() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t");
    std::fs::create_dir_all(t.join("x/y")).unwrap();
    let mut host = TestHost::new();
    host.check = true;
    assert!(
        host.run("file", json!({"path": t, "state": "absent"}))
            .await
            .unwrap()
            .changed
    );
    assert!(t.join("x/y").exists());
    host.check = false;
    let out = host
        .run("file", json!({"path": t, "state": "absent"}))
        .await
        .unwrap();
    assert!(out.changed && !t.exists());
    assert_eq!(
        out.diffs[0].before,
        format!("path: {}\nstate: directory\n", t.display())
    );
    let again = host
        .run("file", json!({"path": t, "state": "absent"}))
        .await
        .unwrap();
    assert!(!again.changed);
    assert_eq!(again.data["state"], json!("absent"));
}

#[tokio::test]
async fn touch_always_changes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    let host = TestHost::new();
    let args = json!({"path": f, "state": "touch", "mode": "0604"});
    assert!(host.run("file", args.clone()).await.unwrap().changed);
    assert_eq!(mode(&f), 0o604);
    let m1 = std::fs::metadata(&f).unwrap().mtime_nsec();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(host.run("file", args).await.unwrap().changed);
    assert_ne!(std::fs::metadata(&f).unwrap().mtime_nsec(), m1);
}

#[tokio::test]
async fn symlinks_are_created_retargeted_and_guarded() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, l) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("l"),
    );
    std::fs::write(&a, "a").unwrap();
    std::fs::write(&b, "b").unwrap();
    let host = TestHost::new();
    let out = host
        .run("file", json!({"src": "a", "dest": l, "state": "link"}))
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(std::fs::read_link(&l).unwrap(), Path::new("a"));
    assert!(
        !host
            .run("file", json!({"src": "a", "dest": l, "state": "link"}))
            .await
            .unwrap()
            .changed
    );
    let out = host
        .run("file", json!({"src": b, "path": l, "state": "link"}))
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(
        out.diffs[0].before,
        format!("path: {}\nstate: link\nsrc: a\n", l.display())
    );
    assert_eq!(std::fs::read_link(&l).unwrap(), b);
    let err = host
        .run("file", json!({"src": b, "path": a, "state": "link"}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "refusing to convert from file to symlink for {}",
            a.display()
        )
    );
    let err = host
        .run(
            "file",
            json!({"src": "nope", "path": dir.path().join("m"), "state": "link"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "src file does not exist, use \"force=yes\" if you really want to create the link: {}/nope",
            dir.path().display()
        )
    );
    let out = host
        .run(
            "file",
            json!({"src": b, "path": a, "state": "link", "force": true}),
        )
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(std::fs::read_link(&a).unwrap(), b);
}

#[tokio::test]
async fn hard_links() {
    let dir = tempfile::tempdir().unwrap();
    let (a, h) = (dir.path().join("a"), dir.path().join("h"));
    std::fs::write(&a, "a").unwrap();
    let host = TestHost::new();
    let args = json!({"src": a, "path": h, "state": "hard"});
    assert!(host.run("file", args.clone()).await.unwrap().changed);
    assert_eq!(
        std::fs::metadata(&a).unwrap().ino(),
        std::fs::metadata(&h).unwrap().ino()
    );
    assert!(!host.run("file", args).await.unwrap().changed);
}

#[tokio::test]
async fn bad_parameters() {
    let host = TestHost::new();
    let err = host
        .run(
            "file",
            json!({"path": "/tmp/x", "state": "file", "recurse": true}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid parameters: recurse option requires state to be 'directory'"
    );
    let err = host
        .run("file", json!({"path": "/tmp/x", "src": "/y"}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid parameters: src option requires state to be 'link' or 'hard'"
    );
    let err = host
        .run("file", json!({"path": "/tmp/x", "state": "gone"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown variant `gone`"), "{err}");
}

#[test]
fn components_of_absolute_relative_and_trailing_slash_paths() {
    assert_eq!(components("/tmp/a/b"), ["/tmp", "/tmp/a", "/tmp/a/b"]);
    assert_eq!(components("/tmp/a/"), ["/tmp", "/tmp/a"]);
    assert_eq!(components("//tmp//a"), ["/tmp", "/tmp/a"]);
    assert_eq!(components("a/b/"), ["a", "a/b"]);
    assert_eq!(components("a"), ["a"]);
    assert!(components("/").is_empty());
}
