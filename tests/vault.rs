//! `oplay vault` through the real binary, side by side with ansible-vault
//! (ansible-core 2.19 from the test services' virtualenv,
//! `OPLAY_TEST_ANSIBLE` in /run/oplay-test-services.env): each decrypts what
//! the other encrypted, and every fault gives its own message and writes
//! nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::Test;

/// ansible-vault of the test services, when they were set up.
fn ansible_vault() -> Option<PathBuf> {
    let from_env = std::env::var("OPLAY_TEST_ANSIBLE").ok();
    let from_file = std::fs::read_to_string("/run/oplay-test-services.env")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("OPLAY_TEST_ANSIBLE=").map(String::from))
        });
    let ansible = PathBuf::from(from_env.or(from_file)?);
    let vault = ansible.with_file_name("ansible-vault");
    vault.exists().then_some(vault)
}

fn run_ansible_vault(vault: &Path, dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(vault)
        .current_dir(dir)
        .args(args)
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("run ansible-vault");
    assert!(
        out.status.success(),
        "ansible-vault {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const INPUTS: [(&str, &[u8]); 4] = [
    ("empty", b""),
    ("text", b"db_password: s3cret\n"),
    ("binary", b"\xff\xfe\x00bin\x80\n\x01"),
    ("crlf", b"a: 1\r\nb: 2\r\n"),
];

fn vault_test() -> Test {
    Test::new()
        .file("pw", "secret-pw\n")
        .file("pw2", "other-pw\n")
}

#[test]
fn oplay_and_ansible_vault_read_each_other() {
    let Some(av) = ansible_vault() else {
        eprintln!("skipped: no ansible-vault (run tests/services/setup.sh)");
        return;
    };
    let t = vault_test();
    for (name, plain) in INPUTS {
        for (ids, label) in [
            (&["--vault-password-file", "pw"][..], None),
            (
                &[
                    "--vault-id",
                    "prod@pw2",
                    "--vault-id",
                    "dev@pw",
                    "--encrypt-vault-id",
                    "prod",
                ][..],
                Some("prod"),
            ),
        ] {
            // oplay writes, ansible-vault reads.
            let ours = format!("{name}-oplay-{}", label.unwrap_or("default"));
            std::fs::write(t.path(&ours), plain).unwrap();
            let mut args = vec!["vault", "encrypt"];
            args.extend(ids);
            args.push(&ours);
            t.run_with(&args).code(0);
            let header = std::fs::read_to_string(t.path(&ours)).unwrap();
            let first = header.lines().next().unwrap_or_default().to_string();
            match label {
                Some(l) => assert_eq!(first, format!("$ANSIBLE_VAULT;1.2;AES256;{l}")),
                None => assert_eq!(first, "$ANSIBLE_VAULT;1.1;AES256"),
            }
            let mut view = vec!["decrypt", "--output", "-"];
            view.extend(ids.iter().take(4));
            view.push(&ours);
            assert_eq!(
                run_ansible_vault(&av, t.dir(), &view).stdout,
                plain,
                "{ours}"
            );

            // ansible-vault writes, oplay reads.
            let theirs = format!("{name}-ansible-{}", label.unwrap_or("default"));
            std::fs::write(t.path(&theirs), plain).unwrap();
            let mut enc = vec!["encrypt"];
            enc.extend(ids);
            enc.push(&theirs);
            run_ansible_vault(&av, t.dir(), &enc);
            let mut args = vec!["vault", "view"];
            args.extend(ids);
            args.push(&theirs);
            let out = Command::new(env!("CARGO_BIN_EXE_oplay"))
                .current_dir(t.dir())
                .args(&args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, plain, "{theirs}");
        }
    }
}

#[test]
fn encrypt_string_is_read_by_ansible() {
    let Some(av) = ansible_vault() else {
        eprintln!("skipped: no ansible-vault (run tests/services/setup.sh)");
        return;
    };
    let t = vault_test();
    let out = t.run_with(&[
        "vault",
        "encrypt_string",
        "--vault-password-file",
        "pw",
        "--name",
        "db_pw",
        "it's a secret",
    ]);
    out.code(0);
    assert!(
        out.stdout
            .starts_with("db_pw: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n")
    );
    std::fs::write(t.path("vars.yml"), &out.stdout).unwrap();
    let ansible = av.with_file_name("ansible");
    let shown = Command::new(ansible)
        .current_dir(t.dir())
        .args([
            "localhost",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-m",
            "debug",
            "-a",
            "var=db_pw",
        ])
        .args(["-e", "@vars.yml", "--vault-password-file", "pw"])
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("\"db_pw\": \"it's a secret\""), "{text}");
}

/// Each fault: its own message, exit 1, and the file left as it was.
#[test]
fn faults_are_named_and_nothing_is_written() {
    let t = vault_test().file("f.yml", "a: 1\n");
    t.run_with(&["vault", "encrypt", "--vault-password-file", "pw", "f.yml"])
        .code(0);
    let good = std::fs::read(t.path("f.yml")).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    let mut truncated = good[..good.len() - 40].to_vec();
    truncated.push(b'\n');
    // One hex digit of the ciphertext changed into another ('3d' in the
    // body is the digit d; the last line's pairs start at its first byte).
    let mut flipped = good.clone();
    let last = good[..good.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let at = (last..good.len() - 2)
        .step_by(2)
        .find(|&i| good[i] == b'3' && (b'0'..=b'8').contains(&good[i + 1]))
        .unwrap();
    flipped[at + 1] += 1;
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "pw2",
            good.clone(),
            "error: bad.yml: the password does not open this vault (HMAC mismatch: a wrong password, or data changed after encryption)\n",
        ),
        (
            "pw",
            truncated,
            "error: bad.yml: the vault data is cut short (a truncated file?)\n",
        ),
        (
            "pw",
            flipped,
            "error: bad.yml: the password does not open this vault (HMAC mismatch: a wrong password, or data changed after encryption)\n",
        ),
        (
            "pw",
            text.replace(";1.1;", ";1.3;").into_bytes(),
            "error: bad.yml: unknown vault format version `1.3` (oplay reads 1.1 and 1.2)\n",
        ),
        (
            "pw",
            b"a: 1\n".to_vec(),
            "error: bad.yml: not vault-encrypted (no `$ANSIBLE_VAULT` header)\n",
        ),
    ];
    for (pw, data, message) in cases {
        std::fs::write(t.path("bad.yml"), &data).unwrap();
        let out = t.run_with(&["vault", "decrypt", "--vault-password-file", pw, "bad.yml"]);
        out.code(1).stderr_is(message);
        assert_eq!(std::fs::read(t.path("bad.yml")).unwrap(), data);
    }
}

#[test]
fn edit_leaves_no_plaintext_behind() {
    let t = vault_test().file("f.yml", "token: abc123\n");
    t.run_with(&["vault", "encrypt", "--vault-password-file", "pw", "f.yml"])
        .code(0);
    let before = std::fs::read(t.path("f.yml")).unwrap();
    let tmp = t.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let tmp = tmp.display().to_string();
    // An editor that fails: nothing changes, no copy of the plaintext stays.
    let out = Command::new(env!("CARGO_BIN_EXE_oplay"))
        .current_dir(t.dir())
        .args(["vault", "edit", "--vault-password-file", "pw", "f.yml"])
        .env("EDITOR", "sed -i s/abc/xyz/ \"$1\" && false")
        .env("TMPDIR", &tmp)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(t.path("f.yml")).unwrap(), before);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    // An editor that works: the file is encrypted again with the change.
    let out = Command::new(env!("CARGO_BIN_EXE_oplay"))
        .current_dir(t.dir())
        .args(["vault", "edit", "--vault-password-file", "pw", "f.yml"])
        .env("EDITOR", "sed -i s/abc/xyz/")
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    let after = std::fs::read_to_string(t.path("f.yml")).unwrap();
    assert!(after.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
    t.run_with(&["vault", "view", "--vault-password-file", "pw", "f.yml"])
        .code(0)
        .stdout_has("token: xyz123\n");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(t.path("f.yml")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn two_passwords_need_encrypt_vault_id() {
    vault_test()
        .file("f.yml", "a: 1\n")
        .run_with(&[
            "vault",
            "encrypt",
            "--vault-id",
            "a@pw",
            "--vault-id",
            "b@pw2",
            "f.yml",
        ])
        .code(5)
        .stderr_is("error: the vault ids a, b can encrypt: choose one with --encrypt-vault-id\n");
}

#[test]
fn no_password_is_a_usage_error() {
    vault_test()
        .file("f.yml", "a: 1\n")
        .run_with(&["vault", "encrypt", "f.yml"])
        .code(5)
        .stderr_is("error: no vault password was given: use --vault-password-file FILE, --vault-id [LABEL@]SOURCE, --ask-vault-password, or set OPLAY_VAULT_PASSWORD_FILE\n");
}
