//! End to end: deploys OpenStack on the two-node Docker lab with the
//! bundled playbooks, then checks what a re-run, a one-setting change and
//! an unreachable compute host do.
//!
//! Runs only with `OPLAY_E2E=1` (as `.ci/run` sets it): it needs root on
//! Debian 12, installs Docker if missing, brings up `lab/lab.sh` and takes
//! about ten minutes. Without it the test passes at once, so a plain
//! `cargo test` on a dev machine deploys nothing.
//!
//! The steps, in order (each needs the one before):
//! 1. `lab/deploy.sh`: lab up, packages, `site.yml` (ending with verify.yml);
//! 2. `site.yml` again, with the inventory folder (`-i inventory/lab/deploy`):
//!    every host `changed=0`, and only the lab's two hosts in the recap (the
//!    generated passwords live outside the folder, in `lab/.state/`);
//! 3. `glance_api_workers` changed in a copy of the inventory: exactly the
//!    `ini_set` of glance-api.conf and the glance-api restart change;
//! 4. compute1 stopped (`docker stop`): compute1 unreachable, the
//!    controller's tasks all run, exit code 4 (this run also sets Glance
//!    back);
//! 5. compute1 started again: `site.yml` brings its services back, exit 0.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

const COMPUTE_CONTAINER: &str = "oplay-lab-compute1";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn oplay() -> &'static str {
    env!("CARGO_BIN_EXE_oplay")
}

/// One `oplay run --output json`: its exit code, events and duration.
struct Run {
    code: i32,
    events: Vec<Value>,
    stdout: String,
    stderr: String,
    secs: f64,
}

impl Run {
    fn of(inventory: &Path, playbook: &str, extra: &[&str]) -> Run {
        let started = Instant::now();
        let out = Command::new(oplay())
            .current_dir(repo())
            .args(["run", "--output", "json", "-i"])
            .arg(inventory)
            .arg(repo().join("playbooks").join(playbook))
            .args(extra)
            .output()
            .expect("run oplay");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        Run {
            code: out.status.code().unwrap_or(-1),
            events: stdout
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect(),
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            secs: started.elapsed().as_secs_f64(),
        }
    }

    /// The recap's counter `what` of `host`.
    fn count(&self, host: &str, what: &str) -> u64 {
        self.events
            .iter()
            .rev()
            .find(|e| e["event"] == "recap")
            .and_then(|e| e["hosts"][host][what].as_u64())
            .unwrap_or_else(|| panic!("no recap for {host} in the output\n{}", self.dump()))
    }

    /// The hosts of the recap, sorted.
    fn recap_hosts(&self) -> Vec<String> {
        self.events
            .iter()
            .rev()
            .find(|e| e["event"] == "recap")
            .and_then(|e| e["hosts"].as_object())
            .map(|m| {
                let mut hosts: Vec<String> = m.keys().cloned().collect();
                hosts.sort();
                hosts
            })
            .unwrap_or_default()
    }

    /// `(task, host)` of every result with the given status.
    fn with_status(&self, status: &str) -> BTreeSet<(String, String)> {
        self.events
            .iter()
            .filter(|e| e["event"] == "host_result" && e["status"] == status)
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                (s("task"), s("host"))
            })
            .collect()
    }

    /// Whether `host` got a result for the task named `task`.
    fn ran(&self, task: &str, host: &str) -> bool {
        self.events
            .iter()
            .any(|e| e["event"] == "host_result" && e["task"] == task && e["host"] == host)
    }

    /// The failures and the stderr, for assertion messages.
    fn dump(&self) -> String {
        let failed: Vec<String> = self
            .events
            .iter()
            .filter(|e| {
                e["event"] == "host_result"
                    && (e["status"] == "failed" || e["status"] == "unreachable")
            })
            .map(Value::to_string)
            .collect();
        format!(
            "exit code {}\n--- failed results\n{}\n--- stderr\n{}",
            self.code,
            failed.join("\n"),
            self.stderr
        )
    }
}

/// Starts compute1 again however the test ends, so the lab is left whole.
struct ComputeBack;

impl Drop for ComputeBack {
    fn drop(&mut self) {
        let _ = Command::new("/usr/bin/docker")
            .args(["start", COMPUTE_CONTAINER])
            .status();
        let _ = Command::new(repo().join("lab/lab.sh")).arg("up").status();
    }
}

/// The lab's generated passwords (`credentials_dir` in lab/.state/).
fn lab_passwords() -> Vec<String> {
    let state = std::env::var_os("OPLAY_LAB_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("lab/.state"));
    let dir = state.join("credentials");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no credentials in {}: {e}", dir.display()));
    entries
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("read"))
        .map(|text| text.trim().to_string())
        .collect()
}

fn sh(cmd: &mut Command) {
    let status = cmd.status().expect("spawn");
    assert!(status.success(), "{cmd:?} failed: {status}");
}

/// Step 3's inventory: a copy of the lab's folder (links followed) with
/// another number of glance-api workers. The copy shares the generated
/// passwords: the lab's `credentials_dir` is an absolute path.
fn inventory_with_more_glance_workers(lab_inventory: &Path, dir: &Path) -> PathBuf {
    let copy = dir.join("inventory");
    sh(Command::new("cp").arg("-rL").arg(lab_inventory).arg(&copy));
    let settings = copy.join("group_vars/all/00-settings.yml");
    let text = std::fs::read_to_string(&settings).expect("read the settings");
    assert!(
        text.contains("\nglance_api_workers: 2\n"),
        "glance_api_workers: 2 is not in {}",
        settings.display()
    );
    std::fs::write(
        &settings,
        text.replace("\nglance_api_workers: 2\n", "\nglance_api_workers: 3\n"),
    )
    .expect("write the settings");
    copy
}

#[test]
fn deploys_openstack_on_the_lab() {
    if std::env::var("OPLAY_E2E").as_deref() != Ok("1") {
        eprintln!("skipped: set OPLAY_E2E=1 to deploy OpenStack on the Docker lab");
        return;
    }
    let lab_inventory = repo().join("inventory/lab/deploy");

    // 1. The first deploy, ending with verify.yml.
    let started = Instant::now();
    sh(Command::new(repo().join("lab/deploy.sh")).env("OPLAY_BIN", oplay()));
    eprintln!(
        "step 1: lab/deploy.sh took {:.0}s",
        started.elapsed().as_secs_f64()
    );

    // 2. Nothing changes on a second run.
    let again = Run::of(&lab_inventory, "site.yml", &[]);
    assert_eq!(again.code, 0, "the second run failed\n{}", again.dump());
    for host in ["controller", "compute1"] {
        assert_eq!(
            again.count(host, "changed"),
            0,
            "{host} changed on the second run: {:?}",
            again.with_status("changed")
        );
    }
    assert_eq!(
        again.recap_hosts(),
        ["compute1", "controller"],
        "the recap's hosts"
    );
    let passwords = lab_passwords();
    assert!(passwords.len() >= 9, "{} passwords", passwords.len());
    for pw in &passwords {
        assert!(
            !again.stdout.contains(pw.as_str()) && !again.stderr.contains(pw.as_str()),
            "a password appears in the output"
        );
    }
    eprintln!("step 2: the idempotent re-run took {:.1}s", again.secs);

    // 3. One Glance setting: its ini_set and the restart handler, nothing else.
    let tmp = tempfile::tempdir().expect("temp dir");
    let changed_inventory = inventory_with_more_glance_workers(&lab_inventory, tmp.path());
    let glance = Run::of(&changed_inventory, "site.yml", &[]);
    assert_eq!(
        glance.code,
        0,
        "the run with the changed setting failed\n{}",
        glance.dump()
    );
    let expected: BTreeSet<(String, String)> = [
        ("Configure glance-api.conf", "controller"),
        ("restart glance-api", "controller"),
    ]
    .iter()
    .map(|(t, h)| (t.to_string(), h.to_string()))
    .collect();
    assert_eq!(glance.with_status("changed"), expected);
    eprintln!(
        "step 3: the run with one Glance setting changed took {:.1}s",
        glance.secs
    );

    // 4. compute1 down: unreachable, the controller carries on, exit code 4.
    let compute_back = ComputeBack;
    sh(Command::new("/usr/bin/docker").args(["stop", COMPUTE_CONTAINER]));
    let down = Run::of(&lab_inventory, "site.yml", &[]);
    assert_eq!(
        down.code,
        4,
        "exit code with compute1 down\n{}",
        down.dump()
    );
    assert!(
        down.count("compute1", "unreachable") >= 1,
        "compute1 is not reported unreachable"
    );
    assert_eq!(
        down.count("controller", "failed"),
        0,
        "the controller failed\n{}",
        down.dump()
    );
    assert_eq!(down.count("controller", "unreachable"), 0);
    assert!(
        down.ran("nova-status upgrade check passes", "controller"),
        "the controller's last check did not run\n{}",
        down.dump()
    );
    eprintln!(
        "step 4: the run with compute1 stopped took {:.1}s",
        down.secs
    );

    // 5. compute1 back: its services start again and verify.yml passes.
    drop(compute_back);
    let back = Run::of(&lab_inventory, "site.yml", &[]);
    assert_eq!(
        back.code,
        0,
        "the run after compute1 came back failed\n{}",
        back.dump()
    );
    eprintln!(
        "step 5: the run after compute1 came back took {:.1}s",
        back.secs
    );
}
