//! Tests of `service` against real LSB init scripts written for the test
//! (`/etc/init.d/oplay-test-*`, daemons run by start-stop-daemon), removed
//! afterwards. They need root and start-stop-daemon; they are skipped
//! without them or when `OPLAY_TEST_SKIP_SERVICE` is set. They never touch
//! the services other work on this machine uses.

use std::process::Command;

use serde_json::{Value, json};

use super::backend::{parse_systemd_show, parse_words};
use crate::modules::testing::TestHost;

#[test]
fn parses_status_words() {
    let st = parse_words("enabled\nrunning\n");
    assert!(st.exists && st.running && st.enabled);
    let st = parse_words("stopped\n");
    assert!(st.exists && !st.running && !st.enabled);
    assert!(!parse_words("missing\n").exists);
    let st = parse_systemd_show(" LoadState=loaded\n ActiveState=active\n UnitFileState=enabled\n");
    assert!(st.exists && st.running && st.enabled);
    let st = parse_systemd_show(" LoadState=not-found\n ActiveState=inactive\n UnitFileState=\n");
    assert!(!st.exists && !st.running);
    // A pattern's answer overrides ActiveState.
    assert!(
        !parse_systemd_show(
            " LoadState=loaded\n ActiveState=active\n UnitFileState=enabled\nstopped\n"
        )
        .running
    );
}

#[tokio::test]
async fn bad_parameters_are_refused() {
    let host = TestHost::new();
    for (args, needle) in [
        (json!({"name": "x"}), "give `state`"),
        (
            json!({"name": "../x", "state": "started"}),
            "invalid service name",
        ),
        (json!({"name": "x", "state": "running"}), "unknown variant"),
        (
            json!({"name": "x", "state": "started", "settle": -1}),
            "cannot be negative",
        ),
    ] {
        let err = host
            .run("service", args.clone())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{args}: {err}");
    }
}

fn can_run() -> bool {
    if std::env::var_os("OPLAY_TEST_SKIP_SERVICE").is_some() {
        eprintln!("skipped: OPLAY_TEST_SKIP_SERVICE is set");
        return false;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    let ssd = std::path::Path::new("/sbin/start-stop-daemon").exists()
        || std::path::Path::new("/usr/sbin/start-stop-daemon").exists();
    if !(root && ssd) {
        eprintln!("skipped: the service tests need root and start-stop-daemon");
    }
    root && ssd
}

/// An LSB init script whose daemon runs `body` under start-stop-daemon.
/// `with_status: false` leaves out the status action (like some scripts).
fn init_script(name: &str, body: &str, with_status: bool) -> String {
    let status = if with_status {
        "  status) start-stop-daemon --status --pidfile $PIDFILE; exit $? ;;\n"
    } else {
        ""
    };
    format!(
        "#!/bin/sh\n### BEGIN INIT INFO\n# Provides:          {name}\n# Required-Start:\n# Required-Stop:\n\
         # Default-Start:     2 3 4 5\n# Default-Stop:      0 1 6\n# Short-Description: oplay test service\n### END INIT INFO\n\
         PIDFILE=/run/{name}.pid\n\
         case \"$1\" in\n\
           start) start-stop-daemon --start --quiet --background --make-pidfile --pidfile $PIDFILE --startas /bin/sh -- -c '{body}' ;;\n\
           stop) start-stop-daemon --stop --quiet --pidfile $PIDFILE --remove-pidfile --retry 5; [ $? -le 1 ] ;;\n\
           restart|force-reload|reload) $0 stop; $0 start ;;\n\
         {status}  *) echo \"Usage: $0 {{start|stop|restart}}\" >&2; exit 3 ;;\n\
         esac\n"
    )
}

/// Installs an init script and removes it (stopped, unlinked) on drop.
struct TestService {
    name: String,
}

impl TestService {
    fn install(name: &str, body: &str, with_status: bool) -> Self {
        TestService::install_text(name, &init_script(name, body, with_status))
    }

    fn install_text(name: &str, text: &str) -> Self {
        let path = format!("/etc/init.d/{name}");
        std::fs::write(&path, text).unwrap();
        Command::new("chmod").args(["755", &path]).status().unwrap();
        TestService {
            name: name.to_string(),
        }
    }
}

impl Drop for TestService {
    fn drop(&mut self) {
        let n = &self.name;
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "/etc/init.d/{n} stop; pkill -KILL -f '^[^ ]*/?{n}( |$)'; update-rc.d -f {n} remove; rm -f /etc/init.d/{n} /run/{n}.pid; rm -rf /var/log/oplay-test /run/{n}.d"
            ))
            .output();
    }
}

fn running(name: &str) -> bool {
    Command::new("start-stop-daemon")
        .args(["--status", "--pidfile", &format!("/run/{name}.pid")])
        .status()
        .is_ok_and(|s| s.success())
}

fn args(extra: Value) -> Value {
    let mut a = json!({"name": "oplay-test-svc", "use": "sysvinit", "settle": 1});
    a.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    a
}

#[tokio::test]
async fn real_init_script_start_stop_restart_enable() {
    if !can_run() {
        return;
    }
    let _svc = TestService::install("oplay-test-svc", "exec sleep 4242421", true);
    let mut host = TestHost::new();
    assert!(!running("oplay-test-svc"));

    host.check = true;
    let out = host
        .run("service", args(json!({"state": "started"})))
        .await
        .unwrap();
    assert!(
        out.changed && !running("oplay-test-svc"),
        "check mode started it"
    );
    host.check = false;

    let out = host
        .run("service", args(json!({"state": "started"})))
        .await
        .unwrap();
    assert!(out.changed && running("oplay-test-svc"));
    assert_eq!(out.data["state"], json!("started"));
    let again = host
        .run("service", args(json!({"state": "started"})))
        .await
        .unwrap();
    assert!(!again.changed, "started on a running service changed");

    let pid = std::fs::read_to_string("/run/oplay-test-svc.pid").unwrap();
    let out = host
        .run("service", args(json!({"state": "restarted", "sleep": 1})))
        .await
        .unwrap();
    assert!(out.changed && running("oplay-test-svc"));
    assert_ne!(
        std::fs::read_to_string("/run/oplay-test-svc.pid").unwrap(),
        pid,
        "restart kept the old process"
    );

    // The pattern replaces the script's status.
    let by_pattern = host
        .run(
            "service",
            args(json!({"state": "started", "pattern": "sleep 4242421"})),
        )
        .await
        .unwrap();
    assert!(!by_pattern.changed);

    let out = host
        .run("service", args(json!({"state": "stopped"})))
        .await
        .unwrap();
    assert!(out.changed && !running("oplay-test-svc"));
    let again = host
        .run("service", args(json!({"state": "stopped"})))
        .await
        .unwrap();
    assert!(!again.changed);

    let out = host
        .run("service", args(json!({"enabled": true})))
        .await
        .unwrap();
    assert!(out.changed && out.data["enabled"] == json!(true));
    assert!(
        std::path::Path::new("/etc/rc2.d")
            .read_dir()
            .unwrap()
            .flatten()
            .any(|e| {
                let f = e.file_name().to_string_lossy().into_owned();
                f.starts_with('S') && f.ends_with("oplay-test-svc")
            })
    );
    let again = host
        .run("service", args(json!({"enabled": "yes"})))
        .await
        .unwrap();
    assert!(!again.changed);
    let out = host
        .run("service", args(json!({"enabled": false})))
        .await
        .unwrap();
    assert!(out.changed);
    let again = host
        .run("service", args(json!({"enabled": false})))
        .await
        .unwrap();
    assert!(!again.changed);
}

#[tokio::test]
async fn a_daemon_that_dies_at_once_fails_the_task_with_its_log() {
    if !can_run() {
        return;
    }
    // Like nova-compute: the script says OK, the daemon logs and exits.
    // The log goes where Debian's OpenStack packages put theirs:
    // /var/log/PROJECT/NAME.log.
    let body = "mkdir -p /var/log/oplay; echo \"CRITICAL nova [-] cannot connect to libvirt\" >> /var/log/oplay/oplay-test-die.log; sleep 0.3; exit 1";
    let _svc = TestService::install("oplay-test-die", body, true);
    let host = TestHost::new();
    let started = std::time::Instant::now();
    let err = host
        .run("service", json!({"name": "oplay-test-die", "state": "started", "use": "sysvinit", "settle": 1, "start_timeout": 5}))
        .await
        .unwrap_err()
        .to_string();
    let _ = std::fs::remove_file("/var/log/oplay/oplay-test-die.log");
    let _ = std::fs::remove_dir("/var/log/oplay");
    assert!(err.contains("oplay-test-die"), "{err}");
    assert!(
        err.contains("cannot connect to libvirt"),
        "no log tail in: {err}"
    );
    assert!(err.contains("/var/log/oplay/oplay-test-die.log"), "{err}");
    assert!(
        started.elapsed().as_secs() < 8,
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_script_without_status_falls_back_to_the_pid_file() {
    if !can_run() {
        return;
    }
    let _svc = TestService::install("oplay-test-nostatus", "exec sleep 4242422", false);
    let host = TestHost::new();
    let a =
        json!({"name": "oplay-test-nostatus", "state": "started", "use": "sysvinit", "settle": 0});
    let out = host.run("service", a.clone()).await.unwrap();
    assert!(out.changed && running("oplay-test-nostatus"));
    let again = host.run("service", a).await.unwrap();
    assert!(!again.changed, "the PID file was not used");
    let missing = host
        .run(
            "service",
            json!({"name": "oplay-test-absent", "state": "started", "use": "sysvinit"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("/etc/init.d/oplay-test-absent does not exist"),
        "{missing}"
    );
}

fn pid_of(name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/run/{name}.pid")).ok()?;
    text.trim().parse().ok()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        !s.lines()
            .any(|l| l.starts_with("State:") && l.contains('Z'))
    })
}

/// A fake init script, written for this test because the real scripts of
/// this machine answered honestly when it was written (the lab's
/// glance-api answered 3 while running): `status` always says `answer`.
fn lying_script(name: &str, answer: u8) -> String {
    init_script(name, "exec sleep 4242423", false).replace(
        "  *) echo",
        &format!("  status) exit {answer} ;;\n  *) echo"),
    )
}

#[tokio::test]
async fn a_status_that_lies_is_overruled_by_the_pid_file() {
    if !can_run() {
        return;
    }
    let name = "oplay-test-liar";
    // status says "running" (0) although nothing runs.
    let svc = TestService::install_text(name, &lying_script(name, 0));
    let host = TestHost::new();
    let a = json!({"name": name, "state": "started", "use": "sysvinit", "settle": 1});
    let out = host.run("service", a.clone()).await.unwrap();
    assert!(out.changed, "a lying status kept it from starting: {out:?}");
    assert!(running(name));
    assert_eq!(
        out.data["running_by"],
        json!(format!("pidfile /run/{name}.pid"))
    );
    assert_eq!(out.data["pids"], json!([pid_of(name).unwrap()]));

    // status says "not running" (3) although the daemon runs.
    std::fs::write(format!("/etc/init.d/{name}"), lying_script(name, 3)).unwrap();
    let again = host.run("service", a).await.unwrap();
    assert!(
        !again.changed,
        "a lying status made it start again: {again:?}"
    );

    // A dead PID in the PID file is a stopped service, whatever status says.
    std::fs::write(format!("/etc/init.d/{name}"), lying_script(name, 0)).unwrap();
    let pid = pid_of(name).unwrap();
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    while alive(pid) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = host
        .run(
            "service",
            json!({"name": name, "state": "stopped", "use": "sysvinit"}),
        )
        .await
        .unwrap();
    assert!(!out.changed, "a dead PID counted as running: {out:?}");
    drop(svc);
}

#[tokio::test]
async fn a_daemon_without_pid_file_is_found_by_its_name() {
    if !can_run() {
        return;
    }
    // The daemon is a program named like the service (as libvirtd,
    // memcached), started without a PID file; the script has no status.
    let name = "oplay-test-named";
    let dir = format!("/run/{name}.d");
    std::fs::create_dir_all(&dir).unwrap();
    let prog = format!("{dir}/{name}");
    std::fs::copy("/bin/sleep", &prog).unwrap();
    let text = format!(
        "#!/bin/sh\ncase \"$1\" in\n  start) start-stop-daemon --start --quiet --background --exec {prog} -- 4242424 ;;\n\
           stop) start-stop-daemon --stop --quiet --exec {prog} --retry 5; [ $? -le 1 ] ;;\n  *) exit 3 ;;\nesac\n"
    );
    let _svc = TestService::install_text(name, &text);
    let host = TestHost::new();
    let a = json!({"name": name, "state": "started", "use": "sysvinit", "settle": 0});
    let out = host.run("service", a.clone()).await.unwrap();
    assert!(out.changed);
    assert_eq!(out.data["running_by"], json!("process name"));
    let again = host.run("service", a).await.unwrap();
    assert!(!again.changed, "{again:?}");
    let out = host
        .run(
            "service",
            json!({"name": name, "state": "stopped", "use": "sysvinit"}),
        )
        .await
        .unwrap();
    assert!(
        out.changed && out.data["state"] == json!("stopped"),
        "{out:?}"
    );
}

#[tokio::test]
async fn restart_waits_for_the_old_daemon_to_go() {
    if !can_run() {
        return;
    }
    // Like libvirtd's script: `stop` sends TERM and returns at once, the
    // daemon takes 2 s to exit, and `start` while it still runs does
    // nothing (start-stop-daemon --oknodo). The script's own `restart` is
    // therefore a stop and a no-op.
    let name = "oplay-test-slowstop";
    let body = "trap \"sleep 2; exit 0\" TERM; while :; do sleep 0.1; done";
    let text = init_script(name, body, true)
        .replace("--start --quiet", "--start --quiet --oknodo")
        .replace("--remove-pidfile --retry 5", "--oknodo");
    let _svc = TestService::install_text(name, &text);
    let host = TestHost::new();
    let a = json!({"name": name, "use": "sysvinit", "settle": 1});
    let mut start = a.clone();
    start["state"] = json!("started");
    host.run("service", start).await.unwrap();
    let old = pid_of(name).unwrap();

    // The script's restart: the old daemon exits, and nothing runs then.
    Command::new(format!("/etc/init.d/{name}"))
        .arg("restart")
        .status()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2600));
    // (PID 1 here does not reap: the old daemon stays a zombie, which
    // start-stop-daemon --status takes for running.)
    assert!(
        !alive(old) && !pid_of(name).is_some_and(alive),
        "the fake does not race"
    );
    std::fs::remove_file(format!("/run/{name}.pid")).unwrap();
    Command::new(format!("/etc/init.d/{name}"))
        .arg("start")
        .status()
        .unwrap();
    let old = pid_of(name).unwrap();
    assert!(alive(old));

    let started = std::time::Instant::now();
    let mut restart = a;
    restart["state"] = json!("restarted");
    let out = host.run("service", restart).await.unwrap();
    eprintln!("restart took {:?}", started.elapsed());
    assert!(out.changed, "{out:?}");
    // 2 s for the old daemon to exit, 1 s to settle.
    assert!(
        started.elapsed().as_secs_f64() > 3.0,
        "did not wait for the old daemon"
    );
    let new = pid_of(name).unwrap();
    assert_ne!(new, old, "restart kept the old process");
    assert!(!alive(old) && alive(new));
    assert_eq!(out.data["pids"], json!([new]));
}

#[tokio::test]
async fn real_memcached_started_is_ok_and_restarted_runs_a_new_daemon() {
    if !can_run() || !std::path::Path::new("/etc/init.d/memcached").exists() {
        eprintln!("skipped: no /etc/init.d/memcached");
        return;
    }
    let host = TestHost::new();
    let a = json!({"name": "memcached", "use": "sysvinit", "settle": 1});
    let mut start = a.clone();
    start["state"] = json!("started");
    // Whatever its state, it runs after this (tests/services/setup.sh
    // starts it; leave it running).
    host.run("service", start.clone()).await.unwrap();
    let out = host.run("service", start.clone()).await.unwrap();
    assert!(
        !out.changed,
        "started on a running memcached changed: {out:?}"
    );
    let old = out.data["pids"][0].as_u64().unwrap() as u32;

    let mut restart = a;
    restart["state"] = json!("restarted");
    let started = std::time::Instant::now();
    let out = host.run("service", restart).await.unwrap();
    eprintln!("memcached restart took {:?}", started.elapsed());
    assert!(out.changed);
    let new = out.data["pids"][0].as_u64().unwrap() as u32;
    assert_ne!(new, old);
    assert!(!alive(old) && alive(new));
    let again = host.run("service", start).await.unwrap();
    assert!(!again.changed);
}
