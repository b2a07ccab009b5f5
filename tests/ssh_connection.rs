//! The SSH connection and the connection manager against a real OpenSSH
//! server started for each test (see `support/sshd.rs`).

#[path = "support/sshd.rs"]
mod sshd;

use std::sync::Arc;
use std::time::{Duration, Instant};

use oplay::connection::manager::ConnectionManager;
use oplay::connection::settings::{ConnectionSettings, SshAuth};
use oplay::connection::ssh::SshConnection;
use oplay::connection::{
    Become, Connection, ConnectionError, ExecRequest, FileAttrs, FileKind, TunnelTarget,
};
use sshd::Sshd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn settings(s: &Sshd) -> ConnectionSettings {
    let mut c = ConnectionSettings::ssh("127.0.0.1", s.port);
    c.user = Some(s.user.clone());
    c.auth = SshAuth::KeyFile(s.client_key.clone());
    c.known_hosts = Some(s.known_hosts.clone());
    c
}

async fn connect(s: &Sshd) -> SshConnection {
    match SshConnection::connect(&settings(s)).await {
        Ok(c) => c,
        Err(e) => panic!("connect failed: {e}\nsshd log:\n{}", s.log()),
    }
}

#[tokio::test]
async fn exec_with_stdin_env_chdir_and_rc() {
    let sshd = Sshd::start();
    let c = connect(&sshd).await;
    let req = ExecRequest {
        cmd: "cat; echo \" $X $(pwd)\"; echo err >&2; exit 3".into(),
        stdin: Some(b"in".to_vec()),
        env: vec![("X".into(), "y z".into())],
        chdir: Some("/tmp".into()),
        become_: None,
    };
    let out = c.exec(&req).await.unwrap();
    assert_eq!(out.rc, 3);
    assert_eq!(out.stdout, "in y z /tmp\n");
    assert_eq!(out.stderr, "err\n");
    // No stdin: a command reading it sees EOF instead of hanging.
    let out = c.exec(&ExecRequest::shell("cat; echo done")).await.unwrap();
    assert_eq!((out.rc, out.stdout.as_str()), (0, "done\n"));
    // Input a command never reads does not hang it, nor later commands:
    // below the staging threshold (sent on the channel) and above it.
    for size in [900_000, 4 << 20] {
        let req = ExecRequest {
            stdin: Some(vec![b'x'; size]),
            ..ExecRequest::shell("exit 0")
        };
        assert_eq!(c.exec(&req).await.unwrap().rc, 0);
        assert_eq!(
            c.exec(&ExecRequest::shell("echo ok")).await.unwrap().stdout,
            "ok\n"
        );
    }
    // Large input and output at once.
    let req = ExecRequest {
        stdin: Some(vec![b'y'; 3 << 20]),
        ..ExecRequest::shell("cat")
    };
    assert_eq!(c.exec(&req).await.unwrap().stdout.len(), 3 << 20);
}

#[tokio::test]
async fn files_round_trip_with_mode_owner_and_links() {
    let sshd = Sshd::start();
    let c = connect(&sshd).await;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.txt");
    let p = p.to_str().unwrap();
    assert!(c.read_file(p, None).await.unwrap().is_none());
    assert!(c.stat(p, None).await.unwrap().is_none());
    let attrs = FileAttrs {
        mode: Some(0o640),
        owner: Some("nobody".into()),
        group: Some("nogroup".into()),
    };
    c.write_file(p, b"hello", &attrs, None).await.unwrap();
    assert_eq!(c.read_file(p, None).await.unwrap().unwrap(), b"hello");
    let st = c.stat(p, None).await.unwrap().unwrap();
    assert_eq!((st.kind, st.mode, st.size), (FileKind::File, 0o640, 5));
    assert_eq!((st.uid, st.gid), (65534, 65534));
    // Without attributes, an overwrite keeps mode and owner.
    c.write_file(p, b"again", &FileAttrs::default(), None)
        .await
        .unwrap();
    let st = c.stat(p, None).await.unwrap().unwrap();
    assert_eq!((st.mode, st.uid, st.size), (0o640, 65534, 5));
    // Set-id bits survive the change of owner.
    let attrs = FileAttrs {
        mode: Some(0o4755),
        owner: Some("root".into()),
        group: None,
    };
    c.write_file(p, b"x", &attrs, None).await.unwrap();
    let st = c.stat(p, None).await.unwrap().unwrap();
    assert_eq!((st.mode, st.uid, st.gid), (0o4755, 0, 65534));
    // Symbolic links are reported, not followed.
    let link = dir.path().join("l");
    std::os::unix::fs::symlink("f.txt", &link).unwrap();
    let st = c.stat(link.to_str().unwrap(), None).await.unwrap().unwrap();
    assert_eq!(st.kind, FileKind::Symlink);
    assert_eq!(st.link_target.as_deref(), Some("f.txt"));
    let st = c
        .stat(dir.path().to_str().unwrap(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(st.kind, FileKind::Directory);
    // Only the file and the link: no temporary file left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    let err = c
        .write_file(
            p,
            b"x",
            &FileAttrs {
                owner: Some("no-such-user-x".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no such user"), "{err}");
}

#[tokio::test]
async fn large_files_stream_both_ways() {
    let sshd = Sshd::start();
    let c = connect(&sshd).await;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big");
    let p = p.to_str().unwrap();
    let data: Vec<u8> = (0..(5 << 20) + 12345)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let mut reader = &data[..];
    let n = c
        .write_stream(p, &mut reader, &FileAttrs::default(), None)
        .await
        .unwrap();
    assert_eq!(n, data.len() as u64);
    assert_eq!(std::fs::read(p).unwrap(), data);
    assert_eq!(c.read_file(p, None).await.unwrap().unwrap(), data);
    let mut r = c.open_read(p, None).await.unwrap();
    let mut back = Vec::new();
    r.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, data);
    let missing = c.open_read("/nonexistent/x", None).await.err().unwrap();
    assert!(
        matches!(&missing, ConnectionError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{missing}"
    );
}

/// A reader that fails after some data, like a download whose checksum is
/// wrong at EOF.
struct FailingReader(usize);

impl tokio::io::AsyncRead for FailingReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.0 == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::other("checksum mismatch")));
        }
        let n = self.0.min(buf.remaining()).min(10_000);
        buf.put_slice(&vec![b'z'; n]);
        self.0 -= n;
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn failed_write_leaves_destination_and_no_temp_file() {
    let sshd = Sshd::start();
    let c = connect(&sshd).await;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("keep");
    std::fs::write(&p, "old").unwrap();
    let p = p.to_str().unwrap();
    let mut reader = FailingReader(300_000);
    let err = c
        .write_stream(p, &mut reader, &FileAttrs::default(), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
    assert_eq!(std::fs::read_to_string(p).unwrap(), "old");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn become_another_user_uses_sudo_for_files() {
    let sshd = Sshd::start();
    let c = connect(&sshd).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let p = dir.path().join("by-nobody");
    let p = p.to_str().unwrap();
    let b = Become {
        user: "nobody".into(),
        password: None,
    };
    c.write_file(p, b"data", &FileAttrs::default(), Some(&b))
        .await
        .unwrap();
    let st = c.stat(p, Some(&b)).await.unwrap().unwrap();
    assert_eq!((st.uid, st.size), (65534, 4));
    assert_eq!(c.read_file(p, Some(&b)).await.unwrap().unwrap(), b"data");
    let out = c
        .exec(&ExecRequest {
            become_: Some(b.clone()),
            ..ExecRequest::shell("id -un")
        })
        .await
        .unwrap();
    assert_eq!(out.stdout, "nobody\n");
}

#[tokio::test]
async fn tunnels_reach_tcp_ports_and_unix_sockets_on_the_host() {
    let sshd = Sshd::start();
    let c = connect(&sshd).await;
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = tcp.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    let mut t = c
        .tunnel(&TunnelTarget::Tcp {
            host: "127.0.0.1".into(),
            port,
        })
        .await
        .unwrap();
    t.write_all(b"ping over tcp").await.unwrap();
    let mut buf = [0u8; 13];
    t.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping over tcp");

    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("echo.sock");
    let unix = tokio::net::UnixListener::bind(&sock).unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = unix.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    let mut t = c.tunnel(&TunnelTarget::Unix(sock)).await.unwrap();
    t.write_all(b"ping unix").await.unwrap();
    let mut buf = [0u8; 9];
    t.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping unix");

    // A closed port fails the tunnel, not the host.
    let closed = TunnelTarget::Tcp {
        host: "127.0.0.1".into(),
        port: 1,
    };
    let err = c.tunnel(&closed).await.err().unwrap();
    assert!(!err.is_unreachable(), "{err}");
    assert_eq!(c.exec(&ExecRequest::shell("true")).await.unwrap().rc, 0);
}

#[tokio::test]
async fn a_changed_host_key_is_refused_with_a_clear_message() {
    let mut sshd = Sshd::start();
    sshd.restart_with_new_host_key();
    let err = SshConnection::connect(&settings(&sshd))
        .await
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(matches!(err, ConnectionError::HostKey { .. }), "{msg}");
    let port = sshd.port;
    assert!(
        msg.contains(&format!("[127.0.0.1]:{port} has changed")),
        "{msg}"
    );
    assert!(msg.contains("ssh-ed25519 SHA256:"), "{msg}");
    let file_line = format!("{}:1", sshd.known_hosts.display());
    assert!(msg.contains(&file_line), "{msg}");
}

#[tokio::test]
async fn an_unknown_host_is_refused_with_a_hint() {
    let sshd = Sshd::start();
    let mut s = settings(&sshd);
    let empty = sshd.dir.path().join("empty_known_hosts");
    s.known_hosts = Some(empty.clone());
    let t0 = Instant::now();
    let err = SshConnection::connect(&s).await.err().unwrap();
    let msg = err.to_string();
    assert!(matches!(err, ConnectionError::HostKey { .. }), "{msg}");
    let hint = format!(
        "ssh-keyscan -p {} 127.0.0.1 >> {}",
        sshd.port,
        empty.display()
    );
    assert!(msg.contains(&hint), "{msg}");
    assert!(msg.contains("host_key_checking = false"), "{msg}");
    println!("unknown host refused in {:?}: {msg}", t0.elapsed());
    // Checking off: the same settings connect.
    s.host_key_checking = false;
    let c = SshConnection::connect(&s).await.unwrap();
    assert_eq!(c.attempts(), 1);
}

#[tokio::test]
async fn hashed_known_hosts_entries_are_accepted() {
    let sshd = Sshd::start();
    let status = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&sshd.known_hosts)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&sshd.known_hosts).unwrap();
    assert!(text.starts_with("|1|"), "{text}");
    let c = connect(&sshd).await;
    assert_eq!(c.exec(&ExecRequest::shell("true")).await.unwrap().rc, 0);
}

#[tokio::test]
async fn a_refused_key_is_an_auth_error_and_not_retried() {
    let sshd = Sshd::start();
    let other = sshd.dir.path().join("other_key");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(st.success());
    let mut s = settings(&sshd);
    s.auth = SshAuth::KeyFile(other.clone());
    let m = ConnectionManager::new();
    let err = m.get("h", &s).await.err().unwrap();
    assert!(matches!(err, ConnectionError::Auth { .. }), "{err}");
    assert!(err.to_string().contains(other.to_str().unwrap()), "{err}");
    assert_eq!(m.attempts(), 1);
}

#[tokio::test]
async fn an_unreachable_port_fails_fast_and_stays_failed() {
    let m = ConnectionManager::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = ConnectionSettings::ssh("127.0.0.1", port);
    let t0 = Instant::now();
    let err = m.get("gone", &s).await.err().unwrap();
    let first = t0.elapsed();
    assert!(matches!(err, ConnectionError::Unreachable { .. }), "{err}");
    assert!(err.is_unreachable());
    assert_eq!(m.attempts(), 3, "two retries by default");
    let t1 = Instant::now();
    let again = m.get("gone", &s).await.err().unwrap();
    assert_eq!(again.to_string(), err.to_string());
    assert_eq!(m.attempts(), 3, "a failed host is not tried again");
    println!(
        "unreachable: {first:?} with retries, then {:?}: {err}",
        t1.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_aliases_of_one_sshd_all_connect() {
    let sshd = Sshd::start();
    let m = Arc::new(ConnectionManager::new());
    let s = settings(&sshd);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (m, s) = (Arc::clone(&m), s.clone());
        tasks.push(tokio::spawn(async move {
            let c = m.get(&format!("alias{i}"), &s).await?;
            let mut outs = Vec::new();
            for j in 0..10 {
                let out = c.exec(&ExecRequest::shell(format!("echo {i}-{j}"))).await?;
                outs.push(out.stdout);
            }
            Ok::<_, ConnectionError>(outs)
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let outs = t.await.unwrap().unwrap_or_else(|e| panic!("alias{i}: {e}"));
        let want: Vec<String> = (0..10).map(|j| format!("{i}-{j}\n")).collect();
        assert_eq!(outs, want);
    }
    assert_eq!(m.handshakes(), 50);
    println!(
        "50 aliases x 10 commands in {:?}; {} attempts for 50 handshakes",
        t0.elapsed(),
        m.attempts()
    );
    // The same alias again is the same connection: no new handshake.
    m.get("alias7", &s).await.unwrap();
    assert_eq!(m.handshakes(), 50);
    m.close_all().await;
}

#[tokio::test]
async fn concurrent_callers_share_one_handshake() {
    let sshd = Sshd::start();
    let m = Arc::new(ConnectionManager::new());
    let s = settings(&sshd);
    let calls = (0..8).map(|_| {
        let (m, s) = (Arc::clone(&m), s.clone());
        async move { m.get("one", &s).await.map(|_| ()) }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(m.handshakes(), 1);
}

/// Prints the costs the design is built on; run with `--nocapture`.
#[tokio::test]
async fn timings() {
    let sshd = Sshd::start();
    let t = Instant::now();
    let c = connect(&sshd).await;
    let handshake = t.elapsed();
    let avg = |d: Duration, n: u32| d / n;
    let n = 50;
    let t = Instant::now();
    for _ in 0..n {
        c.exec(&ExecRequest::shell("true")).await.unwrap();
    }
    let exec = avg(t.elapsed(), n);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t");
    let p = p.to_str().unwrap();
    // The first file operation opens the SFTP channel.
    let t = Instant::now();
    c.stat(p, None).await.unwrap();
    let sftp_open = t.elapsed();
    let t = Instant::now();
    for _ in 0..n {
        c.write_file(p, b"some content\n", &FileAttrs::default(), None)
            .await
            .unwrap();
    }
    let write = avg(t.elapsed(), n);
    let t = Instant::now();
    for _ in 0..n {
        c.write_file(
            p,
            b"some content\n",
            &FileAttrs {
                mode: Some(0o600),
                owner: Some("root".into()),
                group: Some("root".into()),
            },
            None,
        )
        .await
        .unwrap();
    }
    let write_attrs = avg(t.elapsed(), n);
    let t = Instant::now();
    for _ in 0..n {
        c.stat(p, None).await.unwrap();
    }
    let stat = avg(t.elapsed(), n);
    let t = Instant::now();
    for _ in 0..n {
        c.read_file(p, None).await.unwrap();
    }
    let read = avg(t.elapsed(), n);
    println!(
        "handshake {handshake:?}; exec {exec:?}; first SFTP op {sftp_open:?}; stat {stat:?}; \
         read {read:?}; write {write:?}; write with mode+owner {write_attrs:?}"
    );
}

#[tokio::test]
async fn the_ssh_agent_can_log_in() {
    let sshd = Sshd::start();
    let sock = sshd.dir.path().join("agent.sock");
    let mut agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let added = std::process::Command::new("ssh-add")
        .arg(&sshd.client_key)
        .env("SSH_AUTH_SOCK", &sock)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(added.success());
    let mut s = settings(&sshd);
    s.auth = SshAuth::Agent;
    s.agent_socket = Some(sock);
    let res = SshConnection::connect(&s).await;
    let _ = agent.kill();
    let _ = agent.wait();
    let c = res.unwrap();
    assert_eq!(
        c.exec(&ExecRequest::shell("echo hi")).await.unwrap().stdout,
        "hi\n"
    );
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_error() {
    let sshd = Sshd::start();
    let mut s = settings(&sshd);
    s.auth = SshAuth::Password(oplay::secret::Secret::new("not-the-password"));
    let err = SshConnection::connect(&s).await.err().unwrap();
    assert!(matches!(err, ConnectionError::Auth { .. }), "{err}");
    assert!(err.to_string().contains("refused the password"), "{err}");
}

/// Root is never asked for a sudo password: the password must not reach
/// the command's stdin, which gets only the request's own input.
#[tokio::test]
async fn a_sudo_that_does_not_ask_never_gets_the_password() {
    let sshd = Sshd::start();
    let c = connect(&sshd).await;
    let become_ = Some(Become {
        user: "root".into(),
        password: Some(oplay::secret::Secret::new("pw")),
    });
    let req = ExecRequest {
        stdin: Some(b"in".to_vec()),
        become_: become_.clone(),
        ..ExecRequest::shell("cat")
    };
    let out = c.exec(&req).await.unwrap();
    assert_eq!(
        (out.rc, out.stdout.as_str(), out.stderr.as_str()),
        (0, "in", "")
    );
    let req = ExecRequest {
        become_,
        ..ExecRequest::shell("cat")
    };
    assert_eq!(c.exec(&req).await.unwrap().stdout, "");
}

/// Commands without input run in one long-lived shell on the host, yet each
/// behaves as if it had its own `sh -c`.
#[tokio::test]
async fn commands_without_input_share_one_shell_and_stay_apart() {
    let sshd = Sshd::start_debug();
    let c = connect(&sshd).await;
    let c = &c;
    let run = |cmd: &'static str| async move { c.exec(&ExecRequest::shell(cmd)).await };
    let out = run("printf 'no newline'; printf 'warn' >&2; exit 4")
        .await
        .unwrap();
    assert_eq!((out.rc, out.stdout.as_str()), (4, "no newline"));
    assert_eq!(out.stderr, "warn");
    // A syntax error fails that command only.
    assert_eq!(run("if then").await.unwrap().rc, 2);
    // Directory, variables, umask and traps do not carry over.
    run("cd /; X=1; umask 077; trap 'echo bye' EXIT")
        .await
        .unwrap();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let out = run("pwd; echo ${X:-unset}; umask").await.unwrap();
    assert_eq!(out.stdout, format!("{home}\nunset\n0022\n"));
    // `$$` is the command's own shell: killing it ends the command alone.
    assert_eq!(run("kill -TERM $$").await.unwrap().rc, 143);
    // Output written after a command ended, by what it left behind, is not
    // the next command's.
    run("(sleep 0.3; echo late; echo late >&2) &")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let out = run("echo mine").await.unwrap();
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("mine\n", ""));
    // A command whose caller gave up leaves the next one a working shell.
    let slow = tokio::time::timeout(Duration::from_millis(300), run("sleep 5")).await;
    assert!(slow.is_err());
    assert_eq!(run("echo after").await.unwrap().stdout, "after\n");
    // Two at once: one takes the shell, the other an exec channel.
    let (a, b) = tokio::join!(run("sleep 0.3; echo a"), run("echo b"));
    assert_eq!(
        (a.unwrap().stdout, b.unwrap().stdout),
        ("a\n".into(), "b\n".into())
    );
    // Commands with input still get a channel of their own.
    let req = ExecRequest {
        stdin: Some(b"in".to_vec()),
        ..ExecRequest::shell("cat")
    };
    assert_eq!(c.exec(&req).await.unwrap().stdout, "in");
    // Sessions sshd started: the shell, the `kill` that stopped the
    // cancelled command's job, the shell's replacement, the concurrent
    // `echo b` and the `cat` with input.
    let log = sshd.log();
    assert_eq!(log.matches("Starting session: command").count(), 5, "{log}");
}
