//! Running the binary under a pseudo-terminal (`script` from util-linux),
//! to answer its questions as a person would.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Test;

/// Runs the test's playbook under a pseudo-terminal (`script`), answering
/// each prompt once it shows; what the terminal showed.
pub fn on_terminal(t: &Test, answers: &[(&str, &str)], args: &str) -> (i32, String) {
    let cmd = format!(
        "{} run site.yml -i hosts {args}",
        env!("CARGO_BIN_EXE_oplay")
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(t.dir())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) runs");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    let text = || String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    for (prompt, answer) in answers {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !text().contains(prompt) {
            assert!(
                Instant::now() < deadline,
                "no prompt {prompt:?}:\n{}",
                text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The prompt is written before echo is turned off.
        std::thread::sleep(Duration::from_millis(300));
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let code = child.wait().unwrap().code().unwrap_or(-1);
    drop(stdin);
    let _ = reader.join();
    (code, text())
}
