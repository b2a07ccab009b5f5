//! Tests of `package`: the parsers on real output samples, then the real
//! apt of this machine installing and removing the tiny `hello` package.
//!
//! The apt tests need root and apt-get; they are skipped (with a note)
//! without them, or when `OPLAY_TEST_SKIP_APT` is set. CI runs them as root.

use serde_json::json;

use super::backend::{
    parse_apt_policy, parse_apt_simulation, parse_check_update, parse_dpkg_query, parse_rpm_query,
};
use crate::modules::testing::TestHost;

#[test]
fn parses_dpkg_query() {
    let out = "bash\tinstall ok installed\t5.2.15-2+b8\nsl\tdeinstall ok config-files\t5.02-1\nvim\thold ok installed\t2:9.0\n";
    assert_eq!(
        parse_dpkg_query(out),
        vec![
            ("bash".to_string(), "5.2.15-2+b8".to_string()),
            ("vim".to_string(), "2:9.0".to_string())
        ]
    );
}

#[test]
fn parses_rpm_query() {
    let out = "bash\t5.1.8-9.el9\npackage nope is not installed\n";
    assert_eq!(
        parse_rpm_query(out),
        vec![("bash".to_string(), "5.1.8-9.el9".to_string())]
    );
}

#[test]
fn parses_apt_policy() {
    let out = "hello:\n  Installed: 2.10-2\n  Candidate: 2.10-3\n  Version table:\n     2.10-3 500\n\
               bash:\n  Installed: 5.2\n  Candidate: 5.2\n\
               sl:\n  Installed: (none)\n  Candidate: 5.02-1\n";
    assert_eq!(parse_apt_policy(out), vec!["hello"]);
}

#[test]
fn parses_check_update_and_simulation() {
    let cu = "\nbash.x86_64     5.1.8-10.el9    baseos\nObsoleting Packages\n";
    assert_eq!(parse_check_update(cu), vec!["bash"]);
    let sim = "NOTE: This is only a simulation!\nInst libfoo (1 Debian:12 [amd64])\nInst hello (2.10-3 Debian:12 [amd64])\n\
               Conf hello (2.10-3)\nRemv oldpkg [1.0]\n";
    assert_eq!(
        parse_apt_simulation(sim),
        (
            vec!["libfoo".to_string(), "hello".to_string()],
            vec!["oldpkg".to_string()]
        )
    );
}

#[tokio::test]
async fn bad_parameters_are_refused() {
    let host = TestHost::new();
    for (args, needle) in [
        (json!({"name": []}), "lists no package"),
        (json!({"name": "-oops"}), "invalid package name"),
        (json!({"name": "x", "state": "gone"}), "unknown variant"),
        (json!({"name": "x", "use": "pacman"}), "unknown variant"),
        (
            json!({"name": "x", "dpkg_options": "--force-all"}),
            "invalid dpkg_options",
        ),
    ] {
        let err = host
            .run("package", args.clone())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{args}: {err}");
    }
}

/// Whether the real apt tests can run here.
fn apt_available() -> bool {
    if std::env::var_os("OPLAY_TEST_SKIP_APT").is_some() {
        eprintln!("skipped: OPLAY_TEST_SKIP_APT is set");
        return false;
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    let apt = std::path::Path::new("/usr/bin/apt-get").exists();
    if !(root && apt) {
        eprintln!("skipped: the apt tests need root and apt-get");
    }
    root && apt
}

fn dpkg_installed(pkg: &str) -> bool {
    std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).ends_with(" installed"))
}

/// One sequence, so that no two tests fight over the same package.
#[tokio::test]
async fn real_apt_installs_and_removes_hello() {
    if !apt_available() {
        return;
    }
    let mut host = TestHost::new();
    let pkg = "hello";
    if dpkg_installed(pkg) {
        let out = host
            .run("package", json!({"name": pkg, "state": "absent"}))
            .await
            .unwrap();
        assert!(!out.failed, "{:?}", out.msg);
    }

    // Check mode reports what would be installed and installs nothing.
    host.check = true;
    let out = host
        .run("package", json!({"name": [pkg, "bash"]}))
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(out.data["would_install"], json!([pkg]));
    assert!(!dpkg_installed(pkg), "check mode installed {pkg}");
    host.check = false;

    let started = std::time::Instant::now();
    let out = host
        .run(
            "package",
            json!({"name": [pkg, "bash"], "install_recommends": false}),
        )
        .await
        .unwrap();
    assert!(
        out.changed && !out.failed,
        "{:?} {:?}",
        out.msg,
        out.data.get("stderr")
    );
    assert_eq!(out.data["installed"], json!([pkg]));
    assert!(dpkg_installed(pkg));
    eprintln!("install took {:?}", started.elapsed());

    let started = std::time::Instant::now();
    let again = host
        .run(
            "package",
            json!({"pkg": [pkg, "bash"], "state": "installed"}),
        )
        .await
        .unwrap();
    assert!(!again.changed, "{:?}", again.msg);
    eprintln!("idempotent check took {:?}", started.elapsed());
    let latest = host
        .run(
            "package",
            json!({"name": pkg, "state": "latest", "use": "apt"}),
        )
        .await
        .unwrap();
    assert!(!latest.changed, "{:?}", latest.msg);

    // Fresh lists are not refreshed again.
    let cached = host
        .run(
            "package",
            json!({"name": pkg, "update_cache": true, "cache_valid_time": 100_000_000}),
        )
        .await
        .unwrap();
    assert_eq!(cached.data["cache_updated"], json!(false));
    assert!(!cached.changed);

    host.check = true;
    let out = host
        .run("package", json!({"name": pkg, "state": "removed"}))
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(out.data["would_remove"], json!([pkg]));
    assert!(dpkg_installed(pkg), "check mode removed {pkg}");
    host.check = false;

    let out = host
        .run("package", json!({"name": pkg, "state": "absent"}))
        .await
        .unwrap();
    assert!(out.changed && !out.failed, "{:?}", out.msg);
    assert!(!dpkg_installed(pkg));
    let again = host
        .run("package", json!({"name": pkg, "state": "absent"}))
        .await
        .unwrap();
    assert!(!again.changed);
}

#[tokio::test]
async fn real_apt_names_a_missing_package_with_apts_message() {
    if !apt_available() {
        return;
    }
    let mut host = TestHost::new();
    for check in [true, false] {
        host.check = check;
        let err = host
            .run(
                "package",
                json!({"name": ["bash", "oplay-no-such-package"]}),
            )
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("oplay-no-such-package"), "{msg}");
        assert!(msg.contains("Unable to locate package"), "{msg}");
    }
}
