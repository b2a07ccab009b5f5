//! The fixture playbook in `tests/fixtures/full`, which uses every keyword
//! oplay supports, and helpers to run and check it.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Output, Test};

pub const SECRET: &str = "S3cret-Fixture-Pass";

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

pub fn assert_recap(out: &Output, expect_changed: bool) {
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
