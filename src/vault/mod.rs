//! Ansible Vault: the `$ANSIBLE_VAULT;1.1;AES256` and
//! `$ANSIBLE_VAULT;1.2;AES256;LABEL` envelopes, read and written byte for
//! byte as ansible-core does.
//!
//! The cipher is ansible-core's `VaultAES256`: PBKDF2-HMAC-SHA256 (10,000
//! rounds, a 32-byte random salt) derives 80 bytes, split into the AES-256
//! key, the HMAC-SHA256 key and the 16-byte initial counter; the plaintext is
//! PKCS#7-padded to 16 bytes and encrypted with AES-256-CTR; the HMAC covers
//! the ciphertext. The payload is `hex(salt) \n hex(hmac) \n hex(ciphertext)`,
//! hexlified once more and cut into lines of 80 columns under the header.
//! Every primitive comes from RustCrypto; nothing here is cryptography of
//! its own.
//!
//! Not for: where vaulted data is accepted or how passwords are found; this
//! file only turns bytes and a password into bytes.

pub mod secrets;

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What every vaulted file or value starts with.
pub const HEADER: &str = "$ANSIBLE_VAULT";

/// The one cipher ansible-core writes and reads.
const CIPHER: &str = "AES256";

/// PBKDF2 rounds, as ansible-core.
const ROUNDS: u32 = 10_000;

/// Salt length that ansible-core draws.
const SALT_LEN: usize = 32;

/// The width of the hexlified lines under the header.
const COLUMNS: usize = 80;

/// Why vaulted data could not be read. The caller names the file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    /// The data does not start with `$ANSIBLE_VAULT`.
    #[error("not vault-encrypted (no `$ANSIBLE_VAULT` header)")]
    NotVault,
    /// The header is not `$ANSIBLE_VAULT;VERSION;CIPHER[;LABEL]`.
    #[error("malformed vault header `{0}`")]
    Header(String),
    /// A format version other than 1.1 and 1.2.
    #[error("unknown vault format version `{0}` (oplay reads 1.1 and 1.2)")]
    Version(String),
    /// A cipher other than AES256.
    #[error("unknown vault cipher `{0}` (oplay reads AES256)")]
    Cipher(String),
    /// The body is not the hexlified salt, HMAC and ciphertext: the file is
    /// truncated or was edited.
    #[error("the vault data is damaged: {0}")]
    Damaged(&'static str),
    /// The body ends before the salt, HMAC and ciphertext are whole.
    #[error("the vault data is cut short (a truncated file?)")]
    Truncated,
    /// The HMAC does not match: the password is not this vault's, or the
    /// ciphertext or its HMAC was changed after encryption.
    #[error(
        "the password does not open this vault (HMAC mismatch: a wrong password, or data changed after encryption)"
    )]
    Mismatch,
}

/// Why `oplay vault` failed; each names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// No password could be had.
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
    /// A file could not be decrypted.
    #[error("{path}: {source}")]
    Vault {
        /// The file, or `standard input`.
        path: String,
        /// Why.
        source: VaultError,
    },
    /// A file could not be read or written.
    #[error("{path}: {msg}")]
    Io {
        /// The file, or `standard input`.
        path: String,
        /// What the system said.
        msg: String,
    },
    /// Options that do not go together, or a password missing.
    #[error("{0}")]
    Usage(String),
}

/// The parts of a vault envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `1.1` or `1.2`.
    pub version: String,
    /// The vault id of a 1.2 envelope.
    pub label: Option<String>,
    /// The hexlified payload, line breaks removed.
    body: Vec<u8>,
}

/// Whether `data` is vault-encrypted (after leading white space, as
/// ansible-core's `is_encrypted` does for inline values).
pub fn is_vaulted(data: &[u8]) -> bool {
    data.trim_ascii_start().starts_with(HEADER.as_bytes())
}

/// Splits vaulted text into its header fields and body.
pub fn parse_envelope(data: &[u8]) -> Result<Envelope, VaultError> {
    let data = data.trim_ascii_start();
    if !data.starts_with(HEADER.as_bytes()) {
        return Err(VaultError::NotVault);
    }
    let mut lines = data.split(|&b| b == b'\n');
    let header = lines.next().unwrap_or_default().trim_ascii();
    let header = std::str::from_utf8(header)
        .map_err(|_| VaultError::Header(String::from_utf8_lossy(header).into_owned()))?;
    let fields: Vec<&str> = header.split(';').map(str::trim).collect();
    if fields.len() < 3 || fields.len() > 4 || fields[0] != HEADER {
        return Err(VaultError::Header(header.to_string()));
    }
    let version = fields[1].to_string();
    if version != "1.1" && version != "1.2" {
        return Err(VaultError::Version(version));
    }
    if fields[2] != CIPHER {
        return Err(VaultError::Cipher(fields[2].to_string()));
    }
    let label = fields.get(3).map(|l| l.to_string());
    let body = lines.flat_map(|l| l.trim_ascii().iter().copied()).collect();
    Ok(Envelope {
        version,
        label,
        body,
    })
}

/// Decrypts vaulted text with `password`.
pub fn decrypt(data: &[u8], password: &[u8]) -> Result<Vec<u8>, VaultError> {
    let envelope = parse_envelope(data)?;
    decrypt_body(&envelope.body, password)
}

fn decrypt_body(body: &[u8], password: &[u8]) -> Result<Vec<u8>, VaultError> {
    if body.len() % 2 != 0 {
        return Err(VaultError::Truncated);
    }
    let inner =
        hex::decode(body).map_err(|_| VaultError::Damaged("the body is not hexadecimal"))?;
    let mut parts = inner.splitn(3, |&b| b == b'\n');
    let (Some(salt), Some(mac), Some(ciphertext)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(VaultError::Truncated);
    };
    let salt = hex::decode(salt).map_err(|_| VaultError::Damaged("the salt is not hexadecimal"))?;
    let mac = hex::decode(mac).map_err(|_| VaultError::Damaged("the HMAC is not hexadecimal"))?;
    // Whole AES blocks of 16 bytes, each two hex digits.
    if salt.is_empty() || ciphertext.is_empty() || ciphertext.len() % 32 != 0 {
        return Err(VaultError::Truncated);
    }
    let mut text = hex::decode(ciphertext)
        .map_err(|_| VaultError::Damaged("the ciphertext is not hexadecimal"))?;
    let keys = Keys::derive(password, &salt);
    keys.mac(&text)
        .verify_slice(&mac)
        .map_err(|_| VaultError::Mismatch)?;
    keys.cipher().apply_keystream(&mut text);
    let pad = usize::from(*text.last().unwrap_or(&0));
    let padded = (1..=16).contains(&pad)
        && text[text.len() - pad..]
            .iter()
            .all(|&b| usize::from(b) == pad);
    if !padded {
        // The HMAC matched, so this is how the data was encrypted.
        return Err(VaultError::Damaged("the padding is invalid"));
    }
    text.truncate(text.len() - pad);
    Ok(text)
}

/// Encrypts `plaintext` as `ansible-vault encrypt` does: a 1.1 envelope, or
/// a 1.2 one when `label` is given and is not `default`.
pub fn encrypt(plaintext: &[u8], password: &[u8], label: Option<&str>) -> String {
    let salt: [u8; SALT_LEN] = rand::random();
    encrypt_with_salt(plaintext, password, label, &salt)
}

/// [`encrypt`] with a given salt, for reproducible output.
pub fn encrypt_with_salt(
    plaintext: &[u8],
    password: &[u8],
    label: Option<&str>,
    salt: &[u8],
) -> String {
    let keys = Keys::derive(password, salt);
    let pad = 16 - plaintext.len() % 16;
    let mut text = Vec::with_capacity(plaintext.len() + pad);
    text.extend_from_slice(plaintext);
    text.resize(plaintext.len() + pad, pad as u8);
    keys.cipher().apply_keystream(&mut text);
    let mac = keys.mac(&text).finalize().into_bytes();
    let inner = [hex::encode(salt), hex::encode(mac), hex::encode(&text)].join("\n");
    let body = hex::encode(inner);
    let header = match label.filter(|l| *l != "default") {
        Some(l) => format!("{HEADER};1.2;{CIPHER};{l}"),
        None => format!("{HEADER};1.1;{CIPHER}"),
    };
    let mut out = String::with_capacity(header.len() + body.len() * 81 / 80 + 2);
    out.push_str(&header);
    for chunk in body.as_bytes().chunks(COLUMNS) {
        out.push('\n');
        // The body is hexadecimal, so every chunk is ASCII.
        out.push_str(&String::from_utf8_lossy(chunk));
    }
    out.push('\n');
    out
}

/// The three secrets PBKDF2 derives from a password and a salt.
struct Keys {
    cipher: [u8; 32],
    mac: [u8; 32],
    iv: [u8; 16],
}

impl Keys {
    fn derive(password: &[u8], salt: &[u8]) -> Keys {
        let mut out = [0u8; 80];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ROUNDS, &mut out);
        let mut keys = Keys {
            cipher: [0; 32],
            mac: [0; 32],
            iv: [0; 16],
        };
        keys.cipher.copy_from_slice(&out[..32]);
        keys.mac.copy_from_slice(&out[32..64]);
        keys.iv.copy_from_slice(&out[64..]);
        keys
    }

    fn cipher(&self) -> ctr::Ctr128BE<Aes256> {
        ctr::Ctr128BE::<Aes256>::new(&self.cipher.into(), &self.iv.into())
    }

    fn mac(&self, ciphertext: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(ciphertext);
        mac
    }
}

#[cfg(test)]
mod tests;
