//! Faults during a run, through the real binary: a task that outlives its
//! `timeout:`, Ctrl-C in the middle of a command, a command that prints
//! without end, and an SSH session that dies under a running task. Each
//! checks what the operator sees and what is left on the host.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Test;
use support::sshd::Sshd;

/// Whether a process whose command line contains `pattern` runs.
fn running(pattern: &str) -> bool {
    Command::new("pgrep")
        .args(["-f", pattern])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Waits up to `secs` for `cond`.
fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A playbook whose first task sleeps `secs` (a number no other test
/// uses, so that the process can be found) under `timeout: 2`.
fn timeout_playbook(secs: u32) -> String {
    format!(
        r#"- hosts: all
  gather_facts: false
  tasks:
    - command: sleep {secs}
      timeout: 2
      register: r
      ignore_errors: true
    - assert:
        that:
          - r is failed
          - r.timedout.period == 2
          - 'r.msg == "Task failed: Timed out after 2 second(s)."' 
    - command: sleep {last}
      timeout: 1
"#,
        last = secs + 100
    )
}

fn check_timeout(t: &Test, secs: u32) {
    let started = Instant::now();
    let out = t.run();
    out.code(2)
        .stdout_has("Task failed: Timed out after 1 second(s).");
    assert!(out.recap("target").contains("ignored=1"), "{}", out.stdout);
    assert!(started.elapsed() < Duration::from_secs(30));
    let pattern = format!("sleep ({secs}|{})", secs + 100);
    assert!(
        wait_for(5, || !running(&pattern)),
        "`{pattern}` still runs after its task timed out:\n{}\n{}",
        out.stdout,
        String::from_utf8_lossy(
            &Command::new("ps")
                .args(["-ef", "--forest"])
                .output()
                .unwrap()
                .stdout
        )
    );
}

#[test]
fn a_task_timeout_fails_the_task_and_stops_its_command_locally() {
    let t = Test::new()
        .playbook(&timeout_playbook(9731))
        .inventory("target ansible_connection=local\n");
    check_timeout(&t, 9731);
}

#[test]
fn a_task_timeout_fails_the_task_and_stops_its_command_over_ssh() {
    let sshd = Sshd::start();
    let t = Test::new()
        .playbook(&timeout_playbook(9732))
        .inventory(&sshd.inventory_line("target"));
    check_timeout(&t, 9732);
}

/// Starts `oplay run site.yml -i hosts` in `t`'s directory.
fn start(t: &Test) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_oplay"))
        .current_dir(t.dir())
        .env("NO_COLOR", "1")
        .args(["run", "site.yml", "-i", "hosts"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run oplay")
}

/// Starts `oplay run` on `t`'s playbook, waits until `marker` runs on the
/// host, interrupts it `signals` times and returns its exit code, output and
/// how long it took after the first signal.
fn interrupt(t: &Test, marker: &str, signals: usize) -> (i32, String, String, Duration) {
    let child = start(t);
    assert!(wait_for(30, || running(marker)), "{marker} never started");
    let sent = Instant::now();
    for _ in 0..signals {
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        sent.elapsed(),
    )
}

const INTERRUPTED: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - command: "true"
    - shell: "sleep MARK; touch {dir}/slept"
    - command: "touch {dir}/second"
"#;

fn check_interrupted(t: &Test, mark: &str) {
    let (code, stdout, stderr, took) = interrupt(t, &format!("sleep {mark}"), 1);
    assert_eq!(code, 130, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("interrupted: stopping the running tasks and cleaning up; press Ctrl-C again to quit at once"),
        "{stderr}"
    );
    assert!(stdout.contains("PLAY RECAP"), "{stdout}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        wait_for(5, || !running(&format!("sleep {mark}"))),
        "the interrupted command still runs"
    );
    assert!(!t.path("slept").exists() && !t.path("second").exists());
}

#[test]
fn ctrl_c_stops_the_command_prints_the_recap_and_exits_130_locally() {
    let t = Test::new()
        .playbook(&INTERRUPTED.replace("MARK", "9741"))
        .inventory("target ansible_connection=local\n");
    check_interrupted(&t, "9741");
}

#[test]
fn ctrl_c_stops_the_command_prints_the_recap_and_exits_130_over_ssh() {
    let sshd = Sshd::start();
    let t = Test::new()
        .playbook(&INTERRUPTED.replace("MARK", "9742"))
        .inventory(&sshd.inventory_line("target"));
    check_interrupted(&t, "9742");
}

#[test]
fn a_second_ctrl_c_quits_at_once() {
    let t = Test::new()
        .playbook(&INTERRUPTED.replace("MARK", "9743"))
        .inventory("target ansible_connection=local\n");
    let (code, _, stderr, took) = interrupt(&t, "sleep 9743", 2);
    assert_eq!(code, 130, "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(wait_for(5, || !running("sleep 9743")));
}

#[test]
fn endless_output_is_capped_to_its_tail_with_a_warning() {
    // 20 MiB of `a` then a last line: the start is dropped, the end kept.
    let t = Test::new()
        .playbook(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - shell: "head -c 20971520 /dev/zero | tr '\\0' a; echo; echo the-end"
      register: r
    - assert:
        that:
          # The last 16 MiB, less the newline that ends the output.
          - r.stdout | length == 16777215
          - r.stdout.endswith("a\nthe-end")
"#,
        )
        .inventory("target ansible_connection=local\n");
    t.run().code(0).stdout_has(
        "the command printed more than 16 MiB on a stream: only its last 16 MiB are kept",
    );
}

#[test]
fn a_session_that_dies_under_a_task_makes_the_host_unreachable() {
    let sshd = Sshd::start();
    let t = Test::new()
        .playbook(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 9751\n    - command: \"true\"\n",
        )
        .inventory(&sshd.inventory_line("target"));
    let child = start(&t);
    assert!(wait_for(30, || running("sleep 9751")));
    // Every process of the connection (the session's sshd and what it
    // runs) dies at once, as when the host goes down.
    kill_sessions(&sshd, "sleep 9751");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("UNREACHABLE"), "{stdout}");
    assert!(stdout.contains("unreachable=1"), "{stdout}");
}

#[test]
fn a_host_that_stops_answering_is_unreachable_within_45_seconds() {
    let sshd = Sshd::start();
    let t = Test::new()
        .playbook("- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 9752\n")
        .inventory(&sshd.inventory_line("target"));
    let child = start(&t);
    assert!(wait_for(30, || running("sleep 9752")));
    // A partition: the connection stays open and nothing answers.
    let chain = session_chain(&sshd, "sleep 9752");
    let _ = Command::new("kill").arg("-STOP").args(&chain).status();
    let stopped = Instant::now();
    let out = child.wait_with_output().unwrap();
    let took = stopped.elapsed();
    let _ = Command::new("kill").arg("-KILL").args(&chain).status();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("unreachable=1"), "{stdout}");
    // Three keepalives 15 s apart go unanswered; the first is sent 15 s
    // after the last thing the host said.
    assert!(
        took > Duration::from_secs(40) && took < Duration::from_secs(50),
        "took {took:?}"
    );
}

/// Kills the processes between `sshd`'s listener and the command matching
/// `pattern`: the connection's sshd processes, its shell and the command.
fn kill_sessions(sshd: &Sshd, pattern: &str) {
    let chain = session_chain(sshd, pattern);
    // All in one call: the connection drops before the command's end could
    // be reported.
    let _ = Command::new("kill").arg("-KILL").args(&chain).status();
    assert!(wait_for(5, || !running(pattern)));
}

/// The processes between `sshd`'s listener and the command matching
/// `pattern`, the listener's children first.
fn session_chain(sshd: &Sshd, pattern: &str) -> Vec<String> {
    let listener = sshd.pid().to_string();
    let pids = Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .unwrap();
    let mut chain = Vec::new();
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let mut p = pid.to_string();
        while p != listener && p != "1" && !chain.contains(&p) {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                break;
            };
            chain.push(p);
            // The parent is the second field after the `(comm)`.
            match stat
                .rsplit_once(") ")
                .and_then(|(_, r)| r.split(' ').nth(1))
            {
                Some(ppid) => p = ppid.to_string(),
                None => break,
            }
        }
    }
    chain.reverse();
    chain
}
