//! A real OpenSSH server for tests: `/usr/sbin/sshd -D -e` on 127.0.0.1 with
//! its own config, host key, client key and known_hosts file in a temporary
//! directory. It is killed when dropped.
//!
//! Self-contained so any test file can use it with
//! `#[path = "support/sshd.rs"] mod sshd;` or through `tests/support/mod.rs`.
//! If `/usr/sbin/sshd` is missing, `apt-get install -y openssh-server`.
#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd. Every path lives in `dir`, which is removed on drop.
pub struct Sshd {
    pub port: u16,
    /// The passphrase-less ed25519 key that the server accepts.
    pub client_key: PathBuf,
    /// A known_hosts file with `[127.0.0.1]:PORT <host key>`.
    pub known_hosts: PathBuf,
    /// The login user: the user running the tests.
    pub user: String,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Sshd {
    /// Starts a server on a free port and waits until it answers.
    pub fn start() -> Sshd {
        Sshd::start_as(&current_user())
    }

    /// Like [`Sshd::start`], for a login as `user` instead of the current
    /// user. As root, a missing user is created with `/bin/sh` as its shell:
    /// a login shell that runs no rc files keeps commands fast.
    pub fn start_as(user: &str) -> Sshd {
        Sshd::start_opts(user, "ERROR")
    }

    /// An sshd that logs at DEBUG1, so its log shows each forwarded
    /// channel (`server_request_direct_tcpip ... target 127.0.0.1 port 3306`).
    pub fn start_debug() -> Sshd {
        Sshd::start_opts(&current_user(), "DEBUG1")
    }

    fn start_opts(user: &str, log_level: &str) -> Sshd {
        if user != current_user() {
            ensure_user(user);
        }
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: apt-get install -y openssh-server"
        );
        let mut dir = tempfile::tempdir().expect("temp dir");
        let client_key = dir.path().join("client_ed25519");
        keygen(&client_key);
        let pubkey = std::fs::read_to_string(client_key.with_extension("pub")).expect("pub key");
        std::fs::write(dir.path().join("authorized_keys"), pubkey).expect("authorized_keys");
        keygen(&dir.path().join("host_ed25519"));
        // sshd refuses to start without its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let known_hosts = dir.path().join("known_hosts");
        let user = user.to_string();
        // sshd reads authorized_keys as the login user.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755));
        let _ = std::fs::set_permissions(
            dir.path().join("authorized_keys"),
            std::fs::Permissions::from_mode(0o644),
        );
        // A free port can be taken between probing and binding: retry.
        for _ in 0..5 {
            let port = free_port();
            let mut sshd = Sshd {
                port,
                client_key: client_key.clone(),
                known_hosts: known_hosts.clone(),
                user: user.clone(),
                child: spawn_sshd(dir.path(), port, log_level),
                dir,
            };
            if sshd.wait_ready() {
                sshd.write_known_hosts(&sshd.known_hosts);
                return sshd;
            }
            let _ = sshd.child.kill();
            let _ = sshd.child.wait();
            dir = std::mem::replace(&mut sshd.dir, tempfile::tempdir().expect("temp dir"));
        }
        panic!("sshd did not start; see its log in the test's temp dir");
    }

    /// Restarts the server on the same port with a newly generated host key,
    /// leaving `known_hosts` naming the old one: a host key mismatch.
    pub fn restart_with_new_host_key(&mut self) {
        self.stop();
        let key = self.dir.path().join("host_ed25519");
        let _ = std::fs::remove_file(&key);
        let _ = std::fs::remove_file(key.with_extension("pub"));
        keygen(&key);
        self.child = spawn_sshd(self.dir.path(), self.port, "ERROR");
        assert!(
            self.wait_ready(),
            "sshd did not restart on port {}",
            self.port
        );
    }

    /// The `[127.0.0.1]:PORT type base64` line for the current host key.
    pub fn known_hosts_line(&self) -> String {
        let pubkey = std::fs::read_to_string(self.dir.path().join("host_ed25519.pub"))
            .expect("host pub key");
        let mut words = pubkey.split_whitespace();
        let kind = words.next().unwrap_or_default();
        let b64 = words.next().unwrap_or_default();
        format!("[127.0.0.1]:{} {kind} {b64}", self.port)
    }

    /// Writes a known_hosts file holding the current host key.
    pub fn write_known_hosts(&self, path: &Path) {
        std::fs::write(path, format!("{}\n", self.known_hosts_line())).expect("known_hosts");
    }

    /// An INI inventory line for a host `name` that logs in to this server.
    pub fn inventory_line(&self, name: &str) -> String {
        format!(
            "{name} ansible_host=127.0.0.1 ansible_port={} ansible_user={} ansible_ssh_private_key_file={} ansible_ssh_known_hosts_file={}\n",
            self.port,
            self.user,
            self.client_key.display(),
            self.known_hosts.display()
        )
    }

    /// The listening server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What sshd printed so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits until the server sends its SSH banner.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 8];
                if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"SSH-2.0") {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn_sshd(dir: &Path, port: u16, log_level: &str) -> Child {
    let d = dir.display();
    let sftp = if Path::new("/usr/lib/openssh/sftp-server").exists() {
        "/usr/lib/openssh/sftp-server"
    } else {
        "internal-sftp"
    };
    // MaxStartups is left at its default (10:30:100) on purpose: the
    // connection manager must cope with it.
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\n\
         PidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\n\
         StrictModes no\nPermitRootLogin yes\nUsePAM no\nPasswordAuthentication yes\n\
         KbdInteractiveAuthentication no\nAllowTcpForwarding yes\nAllowStreamLocalForwarding yes\n\
         Subsystem sftp {sftp}\nLogLevel {log_level}\n"
    );
    let conf_path = dir.join("sshd_config");
    std::fs::write(&conf_path, config).expect("sshd_config");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("sshd.log"))
        .expect("sshd.log");
    Command::new(SSHD)
        .arg("-D")
        .arg("-e")
        .arg("-f")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn sshd")
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "oplay-test", "-f"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .expect("ssh-keygen");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Creates a system user with `/bin/sh` as its shell, if missing.
fn ensure_user(user: &str) {
    let exists = Command::new("id")
        .arg(user)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        let _ = Command::new("useradd")
            .args([
                "--system",
                "--shell",
                "/bin/sh",
                "--home-dir",
                "/nonexistent",
                "--no-create-home",
                user,
            ])
            .status();
    }
    // A locked account ("!" password) may not log in at all without PAM;
    // "*" has no password but is not locked, so keys work. A password that
    // a test set (for sudo) is left alone: tests run in parallel.
    let shadow = std::fs::read_to_string("/etc/shadow").unwrap_or_default();
    let locked = shadow
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{user}:")))
        .is_none_or(|rest| rest.starts_with('!') || rest.starts_with(':'));
    if locked {
        let _ = Command::new("usermod").args(["-p", "*", user]).status();
    }
}

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
