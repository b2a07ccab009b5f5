//! The live `[n/m hosts done]` line under a long task: absent without a
//! terminal (even with colours allowed) and with NO_COLOR, present on a
//! terminal, where `script` gives oplay a pseudo-terminal.

mod support;

use std::process::Command;

use support::Test;

const INVENTORY: &str = "h1 ansible_connection=local\nh2 ansible_connection=local\n";
const PLAYBOOK: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: nap\n      command: sleep 2\n    - name: quick\n      command: 'true'\n";

fn slow_run() -> Test {
    Test::new().inventory(INVENTORY).playbook(PLAYBOOK)
}

#[test]
fn without_a_terminal_there_is_no_spinner_nor_escape_code() {
    // An empty NO_COLOR counts as unset: only the missing TTY stops it.
    for args in [&[][..], &["--output", "json"][..]] {
        let out = slow_run()
            .env("NO_COLOR", "")
            .env("TERM", "xterm")
            .run_with(args);
        out.code(0);
        for text in [&out.stdout, &out.stderr] {
            assert!(!text.contains('\x1b'), "escape code in {text:?}");
            assert!(!text.contains("hosts done"), "spinner in {text:?}");
        }
    }
}

/// Runs the slow playbook under `script`, which gives oplay a terminal, and
/// returns what the terminal received.
fn on_a_terminal(t: &Test, no_color: &str) -> String {
    let cmd = format!("{} run site.yml -i hosts", env!("CARGO_BIN_EXE_oplay"));
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(t.dir())
        .env("NO_COLOR", no_color)
        .env("TERM", "xterm")
        .output()
        .expect("run script (bsdutils)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    text
}

/// Removes CSI escape sequences and keeps what follows the last carriage
/// return of each line, roughly what a terminal shows.
fn screen_lines(raw: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        plain.push(c);
    }
    plain
        .split('\n')
        .map(|l| {
            let l = l.strip_suffix('\r').unwrap_or(l);
            l.rsplit('\r').next().unwrap_or("").to_string()
        })
        .collect()
}

#[test]
fn on_a_terminal_a_long_task_shows_a_cleared_spinner() {
    let t = slow_run();
    let raw = on_a_terminal(&t, "");
    assert!(raw.contains("hosts done] nap ("), "no spinner in {raw:?}");
    assert!(!raw.contains("hosts done] quick"), "{raw:?}");
    // Every result line reaches the screen whole, at the start of a line.
    let lines = screen_lines(&raw);
    for host in ["h1", "h2"] {
        let line = format!("changed: [{host}]");
        assert!(lines.iter().any(|l| l.trim_end() == line), "{lines:#?}");
    }
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("hosts done") && l.contains("PLAY RECAP")),
        "{lines:#?}"
    );
    let quiet = on_a_terminal(&t, "1");
    assert!(!quiet.contains("hosts done"), "{quiet:?}");
}
