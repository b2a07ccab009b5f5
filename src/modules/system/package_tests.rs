//! Tests of `package`: the parsers on real output samples, then the real
//! apt of this machine installing and removing the tiny `hello` package.
//!
//! The apt tests need root and apt-get; they are skipped (with a note)
//! without them, or when `OPLAY_TEST_SKIP_APT` is set. CI runs them as root.

use serde_json::json;

use super::backend::{
    cache_is_fresh, parse_apt_policy, parse_apt_simulation, parse_check_update, parse_dpkg_query,
    parse_rpm_query,
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

#[test]
fn missing_lists_are_never_fresh() {
    assert!(cache_is_fresh("12\n", 3600));
    assert!(!cache_is_fresh("3600\n", 3600));
    assert!(!cache_is_fresh("none\n", 3600));
    assert!(!cache_is_fresh("", 3600));
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

/// An apt of its own (`APT_CONFIG`): lists, stamp and cache in a temporary
/// directory, one small source (bookworm-updates), the machine's dpkg
/// status. The machine's own lists are never touched.
struct OwnApt {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl OwnApt {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        for sub in ["state/lists", "cache", "parts"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(
            dir.path().join("sources.list"),
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("apt.conf"),
            format!(
                "Dir::State \"{d}/state/\";\nDir::State::status \"/var/lib/dpkg/status\";\nDir::Cache \"{d}/cache/\";\n\
                 Dir::Etc::sourcelist \"{d}/sources.list\";\nDir::Etc::sourceparts \"{d}/parts\";\n"
            ),
        )
        .unwrap();
        let env = vec![("APT_CONFIG".to_string(), format!("{d}/apt.conf"))];
        OwnApt { dir, env }
    }

    fn lists(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path().join("state/lists"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("_Packages"))
            .collect()
    }

    /// Runs `package` with this apt's environment.
    async fn run(&self, host: &TestHost, args: serde_json::Value) -> crate::modules::Outcome {
        let mut ctx = host.ctx();
        ctx.env = &self.env;
        let m = host.services.registry.get("package").unwrap().clone();
        let serde_json::Value::Object(args) = args else {
            panic!("args must be an object")
        };
        crate::modules::invoke(m.as_ref(), &args, &ctx)
            .await
            .unwrap()
    }
}

fn set_mtime(path: &std::path::Path, ago: &str) {
    let st = std::process::Command::new("touch")
        .args(["-d", ago])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success());
}

#[tokio::test]
async fn real_apt_cache_valid_time_trusts_no_empty_lists() {
    if !apt_available() {
        return;
    }
    let apt = OwnApt::new();
    let host = TestHost::new();
    let args = json!({"name": "bash", "cache_valid_time": 3600});

    // A fresh image: the lists directory was just made and holds no list.
    // `cache_valid_time` alone asks for the refresh, as in Ansible.
    assert!(apt.lists().is_empty());
    let out = apt.run(&host, args.clone()).await;
    assert_eq!(out.data["cache_updated"], json!(true), "{:?}", out.msg);
    assert!(!out.changed);
    assert!(!apt.lists().is_empty(), "apt-get update fetched no list");

    // Lists just fetched are fresh.
    let out = apt.run(&host, args.clone()).await;
    assert_eq!(out.data["cache_updated"], json!(false));

    // Old lists (by the directory's time) are refreshed.
    let lists = apt.dir.path().join("state/lists");
    set_mtime(&lists, "2 hours ago");
    let out = apt.run(&host, args.clone()).await;
    assert_eq!(out.data["cache_updated"], json!(true));

    // The stamp, when it exists, decides (Ansible's rule) even though the
    // directory is new, and is touched by the refresh.
    let stamp = apt.dir.path().join("state/periodic/update-success-stamp");
    std::fs::create_dir_all(stamp.parent().unwrap()).unwrap();
    std::fs::write(&stamp, "").unwrap();
    set_mtime(&stamp, "2 hours ago");
    let out = apt.run(&host, args.clone()).await;
    assert_eq!(out.data["cache_updated"], json!(true));
    let age = std::fs::metadata(&stamp)
        .unwrap()
        .modified()
        .unwrap()
        .elapsed()
        .unwrap();
    assert!(age.as_secs() < 60, "stamp not touched: {age:?} old");
    let out = apt.run(&host, args).await;
    assert_eq!(out.data["cache_updated"], json!(false));
}
