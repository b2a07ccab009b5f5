//! The fixture playbook in `tests/fixtures/full` uses every keyword oplay
//! supports. It runs against three local hosts (and, in `ssh_runner.rs`,
//! three aliases of a real sshd): the first run changes things, the second
//! changes nothing, `--check` on a fresh target changes nothing, and the
//! secret in its group_vars appears in no output.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::Test;

const SECRET: &str = "S3cret-Fixture-Pass";

/// Copies the fixture into a test directory, with connection variables.
pub fn fixture(conn: &str) -> Test {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/full");
    let mut t = Test::new();
    for entry in walk(&root) {
        let rel = entry
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&entry)
            .unwrap()
            .replace("{conn}", conn);
        t = t.file(&rel, &text);
    }
    t.args(&[
        "run",
        "site.yml",
        "-i",
        "inventory",
        "-e",
        "precedence_extra=extra",
    ])
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Every file under a directory with its content and mode.
pub fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    for p in walk(dir) {
        let meta = std::fs::metadata(&p).unwrap();
        out.insert(
            p.display().to_string(),
            (std::fs::read(&p).unwrap(), meta.permissions().mode()),
        );
    }
    out
}

pub fn assert_recap(out: &support::Output, expect_changed: bool) {
    for host in ["web1", "web2", "web3"] {
        let recap = out.recap(host);
        assert!(
            recap.contains("failed=0") && recap.contains("unreachable=0"),
            "{host}: {recap}\n{}",
            out.stdout
        );
        let changed_zero = recap.contains("changed=0 ");
        assert_eq!(
            !changed_zero, expect_changed,
            "{host}: {recap}\n{}",
            out.stdout
        );
    }
}

#[test]
fn runs_twice_and_converges_locally() {
    let t = fixture("ansible_connection=local");
    let first = t.run();
    first.code(0);
    assert_recap(&first, true);
    assert!(
        t.path("work/web1/reloaded").exists(),
        "the listen handler ran"
    );
    assert!(
        t.path("work/web1/web-restarted").exists(),
        "the role handler ran"
    );
    assert_eq!(
        std::fs::read_to_string(t.path("work/web2/motd")).unwrap(),
        "Hello from web2\n"
    );
    let second = t.run();
    second.code(0);
    assert_recap(&second, false);
    for out in [&first, &second] {
        assert!(!out.stdout.contains(SECRET) && !out.stderr.contains(SECRET));
    }
}

#[test]
fn check_mode_changes_nothing_and_diff_shows_changes() {
    let t = fixture("ansible_connection=local");
    let before = snapshot(&t.path("work"));
    let out = t.run_with(&["--check", "--diff"]);
    out.code(0);
    assert_eq!(
        before,
        snapshot(&t.path("work")),
        "check mode changed the target"
    );
    out.stdout_has("+++ after: ").stdout_has("+Hello from web1");
}

#[test]
fn secrets_stay_hidden_at_vvv_and_in_json() {
    let t = fixture("ansible_connection=local");
    for extra in [&["-vvv"][..], &["--output", "json", "-vvv"][..]] {
        let out = t.run_with(extra);
        out.code(0);
        assert!(!out.stdout.contains(SECRET), "secret leaked with {extra:?}");
        assert!(!out.stderr.contains(SECRET), "secret leaked with {extra:?}");
    }
}
