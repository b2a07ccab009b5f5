//! Become with a sudo password against the real sudo: a login user whose
//! sudo rule asks for a password, one whose rule does not (NOPASSWD), over
//! SSH (commands and file operations) and on the local connection (oplay
//! run as that user with `runuser`).
//!
//! The test users and `/etc/sudoers.d/oplay-test-sudo` are set up by
//! [`setup`], which is idempotent and leaves them in place (tests of this
//! file run in parallel, so none may remove what another uses). Needs root;
//! installs `sudo` with apt-get if it is missing, and skips with a printed
//! reason only if that fails.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use oplay::connection::settings::{ConnectionSettings, SshAuth};
use oplay::connection::ssh::SshConnection;
use oplay::connection::{Become, Connection, ConnectionError, ExecRequest, FileAttrs};
use oplay::secret::Secret;
use support::Test;
use support::sshd::Sshd;

/// Asked for its password by sudo.
const ASKED: &str = "oplay-sudo-pw";
/// NOPASSWD.
const TRUSTED: &str = "oplay-sudo-nopw";
const PASSWORD: &str = "Sudo-Test-Pass-42";

const SUDOERS: &str = "/etc/sudoers.d/oplay-test-sudo";

/// Installs sudo if needed, writes the sudoers rule and sets the asked
/// user's password. False (with the reason printed) when sudo is missing.
fn setup(sshd: &Sshd) -> bool {
    if !Path::new("/usr/bin/sudo").exists() {
        let ok = Command::new("apt-get")
            .args(["install", "-y", "-q", "sudo"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success());
        if !ok || !Path::new("/usr/bin/sudo").exists() {
            eprintln!("SKIPPED: sudo is missing and `apt-get install -y sudo` failed");
            return false;
        }
    }
    // No cached timestamp: every command is asked again, so a test cannot
    // pass on another test's password.
    let rule = format!(
        "Defaults:{ASKED} timestamp_timeout=0, !lecture\n{ASKED} ALL=(ALL:ALL) ALL\n\
         {TRUSTED} ALL=(ALL:ALL) NOPASSWD: ALL\n"
    );
    if std::fs::read_to_string(SUDOERS).ok().as_deref() != Some(rule.as_str()) {
        let tmp = format!("{SUDOERS}.tmp{}", std::process::id());
        std::fs::write(&tmp, &rule).unwrap();
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o440))
            .unwrap();
        let check = Command::new("visudo")
            .args(["-cqf", &tmp])
            .status()
            .unwrap();
        assert!(check.success(), "visudo refused {rule}");
        std::fs::rename(&tmp, SUDOERS).unwrap();
    }
    // Sshd::start_as creates the user without a password; sudo checks one.
    if sshd.user == ASKED {
        set_password(ASKED);
    }
    true
}

fn set_password(user: &str) {
    use std::io::Write;
    let mut child = Command::new("chpasswd")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{user}:{PASSWORD}").unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success(), "chpasswd failed");
}

async fn connect(s: &Sshd) -> SshConnection {
    let mut c = ConnectionSettings::ssh("127.0.0.1", s.port);
    c.user = Some(s.user.clone());
    c.auth = SshAuth::KeyFile(s.client_key.clone());
    c.known_hosts = Some(s.known_hosts.clone());
    match SshConnection::connect(&c).await {
        Ok(c) => c,
        Err(e) => panic!("connect failed: {e}\nsshd log:\n{}", s.log()),
    }
}

fn root_with(password: &str) -> Become {
    Become {
        user: "root".into(),
        password: Some(Secret::new(password)),
    }
}

fn as_root(cmd: &str, password: &str, stdin: Option<&[u8]>) -> ExecRequest {
    ExecRequest {
        stdin: stdin.map(<[u8]>::to_vec),
        become_: Some(root_with(password)),
        ..ExecRequest::shell(cmd)
    }
}

#[tokio::test]
async fn the_right_password_runs_commands_and_file_operations_as_root() {
    let sshd = Sshd::start_as(ASKED);
    if !setup(&sshd) {
        return;
    }
    let c = connect(&sshd).await;
    let out = c.exec(&as_root("id -un", PASSWORD, None)).await.unwrap();
    assert_eq!(
        (out.rc, out.stdout.as_str(), out.stderr.as_str()),
        (0, "root\n", "")
    );
    // The command gets its own input, and no password or prompt.
    let out = c
        .exec(&as_root("cat; echo oops >&2", PASSWORD, Some(b"in")))
        .await
        .unwrap();
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("in", "oops\n"));
    // File operations go through sudo too (shellops): a root-only dir.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f");
    let p = p.to_str().unwrap();
    let b = root_with(PASSWORD);
    c.write_file(p, b"data", &FileAttrs::default(), Some(&b))
        .await
        .unwrap();
    let st = c.stat(p, Some(&b)).await.unwrap().unwrap();
    assert_eq!((st.uid, st.size), (0, 4));
    assert_eq!(c.read_file(p, Some(&b)).await.unwrap().unwrap(), b"data");
}

#[tokio::test]
async fn with_nopasswd_the_command_never_sees_the_password() {
    let sshd = Sshd::start_as(TRUSTED);
    if !setup(&sshd) {
        return;
    }
    let c = connect(&sshd).await;
    let out = c.exec(&as_root("cat", "not-needed", None)).await.unwrap();
    assert_eq!(
        (out.rc, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    let out = c
        .exec(&as_root("id -un; cat", "not-needed", Some(b"in")))
        .await
        .unwrap();
    assert_eq!(out.stdout, "root\nin");
    // Large input (staged through a file over SFTP) still arrives whole.
    let big = vec![b'x'; 3 << 20];
    let out = c
        .exec(&as_root("wc -c", "not-needed", Some(&big)))
        .await
        .unwrap();
    assert_eq!(out.stdout.trim(), (3 << 20).to_string());
}

#[tokio::test]
async fn a_wrong_password_fails_fast_without_showing_it() {
    let sshd = Sshd::start_as(ASKED);
    if !setup(&sshd) {
        return;
    }
    let c = connect(&sshd).await;
    let started = Instant::now();
    let err = c
        .exec(&as_root("id -un", "Wrong-Pass-17", None))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectionError::Become(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("incorrect sudo password to become root"),
        "{msg}"
    );
    assert!(
        !msg.contains("Wrong-Pass-17") && !msg.contains("key="),
        "{msg}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "{msg}");
    // The session is still usable afterwards.
    let out = c.exec(&as_root("id -un", PASSWORD, None)).await.unwrap();
    assert_eq!(out.stdout, "root\n");
}

/// The inventory line for the harness's sshd, with a become password.
fn host_line(s: &Sshd, password: &str) -> String {
    format!(
        "target ansible_host=127.0.0.1 ansible_port={} ansible_user={} ansible_ssh_private_key_file={} ansible_ssh_known_hosts_file={} ansible_become_password={password}\n",
        s.port,
        s.user,
        s.client_key.display(),
        s.known_hosts.display()
    )
}

const WHOAMI: &str = "- hosts: all\n  gather_facts: false\n  become: true\n  tasks:\n    - command: id -un\n      register: who\n    - debug:\n        msg: \"I am {{ who.stdout }}\"\n";

#[test]
fn a_playbook_becomes_root_and_a_wrong_password_fails_the_task() {
    let sshd = Sshd::start_as(ASKED);
    if !setup(&sshd) {
        return;
    }
    let ok = Test::new()
        .inventory(&host_line(&sshd, PASSWORD))
        .playbook(WHOAMI)
        .run_with(&["-vvv"]);
    ok.code(0).stdout_has("I am root").stdout_lacks(PASSWORD);
    let bad = Test::new()
        .inventory(&host_line(&sshd, "Wrong-Pass-17"))
        .playbook(WHOAMI)
        .run_with(&["-vvv"]);
    bad.code(2)
        .stdout_has("incorrect sudo password to become root")
        .stdout_lacks("Wrong-Pass-17");
    assert!(!bad.stderr.contains("Wrong-Pass-17"), "{}", bad.stderr);
}

/// oplay itself runs as the asked user, on the local connection: the
/// command and a file written into a root-only directory run as root.
#[test]
fn the_local_connection_answers_sudo_too() {
    let sshd = Sshd::start_as(ASKED);
    if !setup(&sshd) {
        return;
    }
    let t = Test::new()
        .inventory("localhost ansible_connection=local\n")
        .playbook(&format!(
            "- hosts: localhost\n  gather_facts: false\n  become: true\n  vars:\n    ansible_become_password: {PASSWORD}\n  tasks:\n    - command: id -un\n      register: who\n    - debug:\n        msg: \"I am {{{{ who.stdout }}}}\"\n    - copy:\n        content: hi\n        dest: \"{{dir}}/rootonly/f\"\n"
        ));
    let world = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(t.dir(), world).unwrap();
    std::fs::create_dir(t.path("rootonly")).unwrap();
    let home = t.dir().display().to_string();
    let out = Command::new("runuser")
        .args(["-u", ASKED, "--", env!("CARGO_BIN_EXE_oplay")])
        .args(["run", "site.yml", "-i", "hosts"])
        .current_dir(t.dir())
        .env("NO_COLOR", "1")
        .env("HOME", &home)
        .env("USER", ASKED)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("I am root"), "{stdout}");
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
    let meta = std::fs::metadata(t.path("rootonly/f")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 0);
    assert_eq!(std::fs::read_to_string(t.path("rootonly/f")).unwrap(), "hi");
}
