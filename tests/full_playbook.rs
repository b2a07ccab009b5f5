//! The fixture playbook in `tests/fixtures/full` uses every keyword oplay
//! supports. It runs against three local hosts (and, in `ssh_runner.rs`,
//! three aliases of a real sshd): the first run changes things, the second
//! changes nothing, `--check` on a fresh target changes nothing, and the
//! secret in its group_vars appears in no output.

mod support;

use support::fixture::{SECRET, assert_recap, fixture, snapshot};

#[test]
fn runs_twice_and_converges_locally() {
    let t = fixture("ansible_connection=local");
    let first = t.run();
    first.code(0);
    assert_recap(&first, true);
    assert!(
        t.path("targets/web1/reloaded").exists(),
        "the listen handler ran"
    );
    assert!(
        t.path("targets/web1/web-restarted").exists(),
        "the role handler ran"
    );
    assert_eq!(
        std::fs::read_to_string(t.path("targets/web2/motd")).unwrap(),
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
    // A fresh target: the hosts' (empty) work directories exist.
    for h in ["web1", "web2", "web3"] {
        std::fs::create_dir_all(t.path(&format!("targets/{h}"))).unwrap();
    }
    let before = snapshot(&t.path("targets"));
    let out = t.run_with(&["--check", "--diff"]);
    out.code(0);
    assert_eq!(
        before,
        snapshot(&t.path("targets")),
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
