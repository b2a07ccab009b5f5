//! The vault format against files and strings made by ansible-vault 2.19
//! (`tests/fixtures/vault/`, password `secret-pw`).

use super::*;

const PW: &[u8] = b"secret-pw";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/vault/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(path).unwrap()
}

#[test]
fn reads_what_ansible_vault_wrote() {
    assert_eq!(
        decrypt(&fixture("v11.yml"), PW).unwrap(),
        b"db_password: s3cret\n"
    );
    assert_eq!(
        decrypt(&fixture("v12.yml"), PW).unwrap(),
        b"db_password: s3cret\n"
    );
    assert_eq!(decrypt(&fixture("empty.vault"), PW).unwrap(), b"");
    assert_eq!(
        decrypt(&fixture("bin.vault"), PW).unwrap(),
        b"\xff\xfe\x00bin\x80"
    );
    assert_eq!(
        decrypt(&fixture("crlf.vault"), PW).unwrap(),
        b"a: 1\r\nb: 2\r\n"
    );
}

#[test]
fn reads_the_label_of_a_1_2_envelope() {
    let e = parse_envelope(&fixture("v12.yml")).unwrap();
    assert_eq!(
        (e.version.as_str(), e.label.as_deref()),
        ("1.2", Some("prod"))
    );
    let e = parse_envelope(&fixture("v11.yml")).unwrap();
    assert_eq!((e.version.as_str(), e.label), ("1.1", None));
}

/// ansible-vault with `ANSIBLE_VAULT_ENCRYPT_SALT` set writes exactly these
/// bytes; so does oplay with the same salt.
#[test]
fn writes_what_ansible_vault_writes() {
    let text = String::from_utf8(fixture("salted.txt")).unwrap();
    let expected: String = text
        .lines()
        .skip(1)
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    let ours = encrypt_with_salt(
        b"hello world",
        PW,
        None,
        b"0123456789abcdef0123456789abcdef",
    );
    assert_eq!(ours, expected);
}

#[test]
fn round_trips_with_and_without_a_label() {
    for (plain, label) in [
        (&b""[..], None),
        (b"x", Some("dev")),
        (&[7u8; 4096][..], Some("default")),
    ] {
        let text = encrypt(plain, PW, label);
        assert!(text.lines().skip(1).all(|l| l.len() <= 80));
        assert_eq!(
            text.starts_with("$ANSIBLE_VAULT;1.2;AES256;dev\n"),
            label == Some("dev")
        );
        assert_eq!(decrypt(text.as_bytes(), PW).unwrap(), plain);
    }
}

#[test]
fn each_fault_has_its_own_error() {
    let good = fixture("v11.yml");
    assert_eq!(decrypt(&good, b"wrong"), Err(VaultError::Mismatch));
    assert_eq!(decrypt(b"db: 1\n", PW), Err(VaultError::NotVault));
    let version = String::from_utf8(good.clone())
        .unwrap()
        .replace(";1.1;", ";1.0;");
    assert_eq!(
        decrypt(version.as_bytes(), PW),
        Err(VaultError::Version("1.0".into()))
    );
    let cipher = String::from_utf8(good.clone())
        .unwrap()
        .replace("AES256", "AES");
    assert_eq!(
        decrypt(cipher.as_bytes(), PW),
        Err(VaultError::Cipher("AES".into()))
    );
    // Truncated in the middle of the ciphertext: no longer whole blocks.
    let cut = &good[..good.len() - 40];
    assert!(
        matches!(decrypt(cut, PW), Err(VaultError::Truncated)),
        "{:?}",
        decrypt(cut, PW)
    );
    // A flipped hex digit in the ciphertext (the last line), in the salt
    // (byte 100) and in the HMAC (byte 188: the inner payload's bytes 65 to
    // 128 are the HMAC's hex digits, hexlified again from the body's 130th
    // character on).
    for at in [good.len() - 3, 100, 188] {
        let mut flipped = good.clone();
        flipped[at] = if flipped[at] == b'3' { b'6' } else { b'3' };
        assert!(
            matches!(
                decrypt(&flipped, PW),
                Err(VaultError::Mismatch | VaultError::Damaged(_))
            ),
            "byte {at}: {:?}",
            decrypt(&flipped, PW)
        );
    }
}
