//! Becoming another user with a sudo password, the way Ansible does it.
//!
//! sudo gets a prompt unique to the command (`sudo -S -p '[sudo via oplay,
//! key=…] password:'`) and the shell it starts first prints a unique
//! success marker on stderr. The password is written to stdin only once
//! that prompt shows up on stderr; the command's own input only once the
//! marker does. So a sudo that does not ask (NOPASSWD, a cached timestamp,
//! root) never receives the password, and the password never reaches the
//! command. Both markers, and whatever sudo printed before the command
//! started, are kept from the output the task sees. A second prompt means
//! the password was refused: stdin is closed so sudo gives up at once.
//!
//! The transports (local, SSH) only move bytes: [`Exchange`] decides what
//! to write and when. Without a password (`sudo -n`) or without become the
//! input is written straight away, as before.

use super::{ConnectionError, ExecRequest};

/// The key that makes one command's prompt and marker unique.
#[derive(Debug, Clone)]
pub(crate) struct Markers {
    key: String,
}

impl Markers {
    /// Fresh random markers, so that no output can fake them.
    pub fn new() -> Self {
        Markers {
            key: format!("{:016x}", rand::random::<u64>()),
        }
    }

    /// Fixed markers, for showing a command line in logs.
    pub fn placeholder() -> Self {
        Markers { key: "KEY".into() }
    }

    pub fn prompt(&self) -> String {
        format!("[sudo via oplay, key={}] password:", self.key)
    }

    pub fn success(&self) -> String {
        format!("BECOME-SUCCESS-{}", self.key)
    }
}

/// What a transport writes to the command's stdin, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Feed {
    Data(Vec<u8>),
    /// Close stdin.
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Neither the prompt nor the marker has shown up yet.
    Waiting,
    /// The password was sent once.
    Asked,
    /// sudo asked a second time: the password was wrong.
    Refused,
    /// The command runs; stderr is its own from here on.
    Running,
}

/// Watches one command's stderr and says what to write to its stdin.
pub(crate) struct Exchange {
    input: Option<Vec<u8>>,
    /// With a sudo password: the markers, the password and the become user.
    sudo: Option<(Markers, crate::secret::Secret, String)>,
    phase: Phase,
    /// stderr held back while sudo may still print a prompt or a marker.
    held: Vec<u8>,
}

impl Exchange {
    /// The command line to run and the exchange that goes with it.
    pub fn prepare(req: &ExecRequest) -> (String, Exchange) {
        let sudo = req.become_.as_ref().and_then(|b| {
            b.password
                .clone()
                .map(|pw| (Markers::new(), pw, b.user.clone()))
        });
        let line = req.render_with(sudo.as_ref().map(|(m, _, _)| m));
        let phase = if sudo.is_some() {
            Phase::Waiting
        } else {
            Phase::Running
        };
        let exchange = Exchange {
            input: req.stdin.clone().filter(|i| !i.is_empty()),
            sudo,
            phase,
            held: Vec::new(),
        };
        (line, exchange)
    }

    /// Whether the command gets a stdin at all.
    pub fn wants_stdin(&self) -> bool {
        self.sudo.is_some() || self.input.is_some()
    }

    /// Takes the input away, for transports that deliver it another way.
    pub fn take_input(&mut self) -> Option<Vec<u8>> {
        self.input.take()
    }

    /// What to write as soon as the command starts.
    pub fn start(&mut self) -> Vec<Feed> {
        if self.phase == Phase::Running {
            release(&mut self.input)
        } else {
            Vec::new()
        }
    }

    /// Takes a chunk of the command's stderr: appends to `stderr` what the
    /// task should see and returns what to write to stdin now.
    pub fn stderr(&mut self, chunk: &[u8], stderr: &mut Vec<u8>) -> Vec<Feed> {
        if self.phase == Phase::Running {
            stderr.extend_from_slice(chunk);
            return Vec::new();
        }
        self.held.extend_from_slice(chunk);
        let Some((markers, password, _)) = &self.sudo else {
            return Vec::new();
        };
        let (prompt, success) = (markers.prompt(), markers.success());
        let mut feeds = Vec::new();
        while self.phase != Phase::Running {
            if let Some(at) = find(&self.held, success.as_bytes()) {
                // What sudo printed before the command started is its own.
                let mut rest = self.held.split_off(at + success.len());
                if rest.first() == Some(&b'\n') {
                    rest.remove(0);
                }
                self.held.clear();
                stderr.extend_from_slice(&rest);
                self.phase = Phase::Running;
                feeds.extend(release(&mut self.input));
                break;
            }
            let Some(at) = find(&self.held, prompt.as_bytes()) else {
                break;
            };
            self.held.drain(at..at + prompt.len());
            match self.phase {
                Phase::Waiting => {
                    self.phase = Phase::Asked;
                    let mut line = password.expose().as_bytes().to_vec();
                    line.push(b'\n');
                    feeds.push(Feed::Data(line));
                }
                Phase::Asked => {
                    self.phase = Phase::Refused;
                    feeds.push(Feed::Eof);
                }
                Phase::Refused | Phase::Running => {}
            }
        }
        feeds
    }

    /// Once the command is over: an error if sudo never started it.
    pub fn finish(self) -> Result<(), ConnectionError> {
        let Some((_, _, user)) = &self.sudo else {
            return Ok(());
        };
        let said = String::from_utf8_lossy(&self.held);
        let said: Vec<&str> = said
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let said = if said.is_empty() {
            "sudo printed nothing".to_string()
        } else {
            said.join("; ")
        };
        match self.phase {
            Phase::Running => Ok(()),
            Phase::Refused => Err(ConnectionError::Become(format!(
                "incorrect sudo password to become {user} ({said})"
            ))),
            Phase::Waiting | Phase::Asked => Err(ConnectionError::Become(format!(
                "sudo did not run the command as {user}: {said}"
            ))),
        }
    }
}

/// The command's own input, then end of input.
fn release(input: &mut Option<Vec<u8>>) -> Vec<Feed> {
    let mut feeds = Vec::new();
    if let Some(input) = input.take() {
        feeds.push(Feed::Data(input));
    }
    feeds.push(Feed::Eof);
    feeds
}

/// Where `needle` first occurs in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Become;
    use crate::secret::Secret;

    fn exchange(password: Option<&str>, stdin: Option<&[u8]>) -> (String, Exchange) {
        let req = ExecRequest {
            stdin: stdin.map(<[u8]>::to_vec),
            become_: Some(Become {
                user: "root".into(),
                password: password.map(Secret::new),
            }),
            ..ExecRequest::shell("cat")
        };
        Exchange::prepare(&req)
    }

    fn markers(x: &Exchange) -> (String, String) {
        let (m, _, _) = x.sudo.as_ref().unwrap();
        (m.prompt(), m.success())
    }

    #[test]
    fn without_a_password_the_input_goes_at_once() {
        let (line, mut x) = exchange(None, Some(b"in"));
        assert!(line.starts_with("sudo -n "), "{line}");
        assert_eq!(x.start(), vec![Feed::Data(b"in".to_vec()), Feed::Eof]);
        let mut err = Vec::new();
        assert!(x.stderr(b"oops\n", &mut err).is_empty());
        assert_eq!(err, b"oops\n");
        assert!(x.finish().is_ok());
    }

    #[test]
    fn the_password_goes_only_after_the_prompt() {
        let (line, mut x) = exchange(Some("pw"), Some(b"in"));
        let (prompt, success) = markers(&x);
        assert!(
            line.contains(&crate::connection::shell_quote(&prompt)),
            "{line}"
        );
        assert!(!line.contains("pw"));
        assert!(x.start().is_empty());
        let mut err = Vec::new();
        // The prompt split across two chunks is still found.
        let (a, b) = prompt.as_bytes().split_at(5);
        assert!(x.stderr(a, &mut err).is_empty());
        assert_eq!(x.stderr(b, &mut err), vec![Feed::Data(b"pw\n".to_vec())]);
        let tail = format!("\n{success}\nreal error\n");
        assert_eq!(
            x.stderr(tail.as_bytes(), &mut err),
            vec![Feed::Data(b"in".to_vec()), Feed::Eof]
        );
        assert_eq!(x.stderr(b"more\n", &mut err), vec![]);
        assert_eq!(String::from_utf8_lossy(&err), "real error\nmore\n");
        assert!(x.finish().is_ok());
    }

    #[test]
    fn a_sudo_that_does_not_ask_never_gets_the_password() {
        let (_, mut x) = exchange(Some("pw"), None);
        let (_, success) = markers(&x);
        let mut err = Vec::new();
        let feeds = x.stderr(format!("{success}\n").as_bytes(), &mut err);
        assert_eq!(feeds, vec![Feed::Eof]);
        assert!(err.is_empty());
    }

    #[test]
    fn a_second_prompt_closes_stdin_and_fails_without_the_password() {
        let (_, mut x) = exchange(Some("hunter2"), None);
        let (prompt, _) = markers(&x);
        let mut err = Vec::new();
        x.stderr(prompt.as_bytes(), &mut err);
        let again = format!("Sorry, try again.\n{prompt}");
        assert_eq!(x.stderr(again.as_bytes(), &mut err), vec![Feed::Eof]);
        x.stderr(b"sudo: 1 incorrect password attempt\n", &mut err);
        let msg = x.finish().unwrap_err().to_string();
        assert!(
            msg.contains("incorrect sudo password to become root"),
            "{msg}"
        );
        assert!(msg.contains("1 incorrect password attempt"), "{msg}");
        assert!(!msg.contains("hunter2") && !msg.contains("key="), "{msg}");
        assert!(err.is_empty());
    }

    #[test]
    fn sudo_refusing_outright_is_a_become_error() {
        let (_, mut x) = exchange(Some("pw"), None);
        let mut err = Vec::new();
        x.stderr(b"sudo: bob is not in the sudoers file.\n", &mut err);
        let msg = x.finish().unwrap_err().to_string();
        assert!(msg.contains("not in the sudoers file"), "{msg}");
    }
}
