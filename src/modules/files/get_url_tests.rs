//! Tests of `get_url` against a real HTTP server started on 127.0.0.1.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::modules::testing::TestHost;

/// The requests a test server got: path and Authorization header.
type RequestLog = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A tiny HTTP/1.1 server: fixed responses per path, with a log of the
/// requests it got (path and Authorization header).
struct Server {
    base: String,
    log: RequestLog,
}

impl Server {
    async fn start(routes: Vec<(&str, u16, Vec<u8>)>) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: HashMap<String, (u16, Vec<u8>)> = routes
            .into_iter()
            .map(|(p, c, b)| (p.to_string(), (c, b)))
            .collect();
        let routes = Arc::new(routes);
        let log: RequestLog = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let routes = routes.clone();
                let log = log2.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if sock.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let auth = head
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("authorization: ")
                                .or_else(|| l.strip_prefix("Authorization: "))
                        })
                        .map(String::from);
                    log.lock().unwrap().push((path.clone(), auth));
                    let (code, body) = routes.get(&path).cloned().unwrap_or((404, b"no".to_vec()));
                    let reason = if code == 200 {
                        "OK"
                    } else if code == 401 {
                        "Unauthorized"
                    } else {
                        "Not Found"
                    };
                    let head = format!(
                        "HTTP/1.1 {code} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(&body).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Server { base, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self, path: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }
}

fn sha256(data: &[u8]) -> String {
    Algo::Sha256.hex(data)
}

#[tokio::test]
async fn downloads_with_checksum_then_skips() {
    let body = b"image bytes\n".to_vec();
    let srv = Server::start(vec![("/img", 200, body.clone())]).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("img");
    let args = json!({"url": srv.url("/img"), "dest": dest, "checksum": format!("sha256:{}", sha256(&body)), "mode": "0600"});
    let host = TestHost::new();
    let out = host.run("get_url", args.clone()).await.unwrap();
    assert!(out.changed, "{out:?}");
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(
        std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    assert_eq!(out.data["checksum_src"], json!(common::sha1_hex(&body)));
    assert_eq!(out.data["status_code"], json!(200));
    assert_eq!(out.data["size"], json!(body.len()));
    assert_eq!(out.msg.as_deref(), Some("OK (12 bytes)"));
    let again = host.run("get_url", args).await.unwrap();
    assert!(!again.changed);
    assert_eq!(again.msg.as_deref(), Some("file already exists"));
    assert_eq!(srv.hits("/img"), 1);
}

#[tokio::test]
async fn checksum_mismatch_leaves_nothing_behind() {
    let srv = Server::start(vec![("/img", 200, b"evil".to_vec())]).await;
    let dir = tempfile::tempdir().unwrap();
    let want = sha256(b"good");
    let host = TestHost::new();
    for existing in [false, true] {
        let dest = dir.path().join("img");
        if existing {
            std::fs::write(&dest, "old").unwrap();
        }
        let args =
            json!({"url": srv.url("/img"), "dest": dest, "checksum": format!("sha256:{want}")});
        let err = host.run("get_url", args).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "checksum mismatch: expected {want}, got {}",
                sha256(b"evil")
            )
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), usize::from(existing), "{names:?}");
        if existing {
            assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old");
        }
    }
}

#[tokio::test]
async fn existing_dest_without_checksum_is_kept_unless_forced() {
    let srv = Server::start(vec![
        ("/f", 200, b"same".to_vec()),
        ("/g", 200, b"new".to_vec()),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    std::fs::write(&dest, "same").unwrap();
    let ino = std::fs::metadata(&dest).unwrap().ino();
    let host = TestHost::new();
    let out = host
        .run("get_url", json!({"url": srv.url("/f"), "dest": dest}))
        .await
        .unwrap();
    assert!(!out.changed);
    assert_eq!(srv.hits("/f"), 0);
    let out = host
        .run(
            "get_url",
            json!({"url": srv.url("/f"), "dest": dest, "force": true}),
        )
        .await
        .unwrap();
    assert!(!out.changed);
    assert_eq!(
        (srv.hits("/f"), std::fs::metadata(&dest).unwrap().ino()),
        (1, ino)
    );
    let out = host
        .run(
            "get_url",
            json!({"url": srv.url("/g"), "dest": dest, "force": true, "backup": true}),
        )
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new");
    assert_eq!(
        std::fs::read_to_string(out.data["backup_file"].as_str().unwrap()).unwrap(),
        "same"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[tokio::test]
async fn check_mode_downloads_nothing() {
    let srv = Server::start(vec![("/f", 200, b"x".to_vec())]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut host = TestHost::new();
    host.check = true;
    let out = host
        .run("get_url", json!({"url": srv.url("/f"), "dest": dir.path()}))
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(
        out.diffs[0].header,
        format!("{}/f (download, content not shown)", dir.path().display())
    );
    assert_eq!(
        (
            srv.hits("/f"),
            std::fs::read_dir(dir.path()).unwrap().count()
        ),
        (0, 0)
    );
}

#[tokio::test]
async fn http_errors_name_status_and_url_but_no_credentials() {
    let srv = Server::start(vec![("/secret", 401, b"denied".to_vec())]).await;
    let dir = tempfile::tempdir().unwrap();
    let host = TestHost::new();
    let dest = dir.path().join("x");
    let err = host
        .run("get_url", json!({"url": srv.url("/missing"), "dest": dest}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("GET {} returned 404: Not Found", srv.url("/missing"))
    );
    let url = srv.url("/secret").replace("http://", "http://bob:hunter2@");
    let args = json!({"url": url, "dest": dest, "url_username": "alice", "url_password": "s3cret"});
    let err = host.run("get_url", args).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("GET {} returned 401: Unauthorized", srv.url("/secret"))
    );
    let auth = srv.log.lock().unwrap().last().unwrap().1.clone().unwrap();
    assert_eq!(auth, "Basic YWxpY2U6czNjcmV0");
    assert!(!dest.exists());
}

#[tokio::test]
async fn checksum_from_a_sums_file_and_streamed_large_body() {
    let body: Vec<u8> = (0..6_000_000u32).map(|i| (i % 251) as u8).collect();
    let sums = format!("{}  other.img\n{} *disk.img\n", sha256(b"x"), sha256(&body));
    let srv = Server::start(vec![
        ("/d/disk.img", 200, body.clone()),
        ("/d/SHA256SUMS", 200, sums.into_bytes()),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let host = TestHost::new();
    let args = json!({"url": srv.url("/d/disk.img"), "dest": format!("{}/", dir.path().display()),
                      "checksum": format!("sha256:{}", srv.url("/d/SHA256SUMS"))});
    let out = host.run("get_url", args.clone()).await.unwrap();
    assert!(out.changed);
    assert_eq!(std::fs::read(dir.path().join("disk.img")).unwrap(), body);
    assert!(!host.run("get_url", args).await.unwrap().changed);
    assert_eq!(srv.hits("/d/disk.img"), 1);
}

#[tokio::test]
async fn bad_parameters() {
    let host = TestHost::new();
    let err = host
        .run(
            "get_url",
            json!({"url": "http://x/y", "dest": "/tmp/y", "checksum": "abc"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid parameters: The checksum parameter has to be in format <algorithm>:<checksum>"
    );
    let err = host
        .run(
            "get_url",
            json!({"url": "http://x/y", "dest": "/tmp/y", "checksum": "crc:00"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid parameters: unsupported hash algorithm: crc"
    );
    let err = host
        .run("get_url", json!({"url": "not a url", "dest": "/tmp/y"}))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid parameters: invalid url 'not a url'"),
        "{err}"
    );
    assert_eq!(redact_url("https://u:p@h/x"), "https://h/x");
}
