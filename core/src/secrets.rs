//! Encryption at rest for secrets (access-key secrets, cluster passwords) under the master key,
//! and the random tokens and HMAC tags the core hands out (webhook secrets and signatures, console
//! sessions and their CSRF tokens).
//!
//! Format of a sealed secret: `0x01 || nonce (12 bytes) || AES-256-GCM ciphertext+tag`. The
//! leading version byte leaves room for another scheme or key id later.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the master key must be 32 bytes, base64-encoded")]
    BadMasterKey,
    #[error("a stored secret cannot be decrypted with this master key")]
    Undecryptable,
}

/// Seals and opens secrets with the master key.
#[derive(Clone)]
pub struct Cipher {
    aead: Aes256Gcm,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(<master key>)")
    }
}

impl Cipher {
    /// From a base64-encoded 32-byte key.
    pub fn from_base64(master_key: &str) -> Result<Self, SecretError> {
        let bytes = STANDARD.decode(master_key.trim()).map_err(|_| SecretError::BadMasterKey)?;
        if bytes.len() != 32 {
            return Err(SecretError::BadMasterKey);
        }
        Ok(Self { aead: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)) })
    }

    /// A new random master key, base64-encoded.
    pub fn generate_key() -> String {
        STANDARD.encode(Aes256Gcm::generate_key(OsRng))
    }

    pub fn seal(&self, plaintext: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .aead
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<String, SecretError> {
        let (&version, rest) = sealed.split_first().ok_or(SecretError::Undecryptable)?;
        if version != FORMAT_V1 || rest.len() < NONCE_LEN {
            return Err(SecretError::Undecryptable);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let plaintext =
            self.aead.decrypt(Nonce::from_slice(nonce), ciphertext).map_err(|_| SecretError::Undecryptable)?;
        String::from_utf8(plaintext).map_err(|_| SecretError::Undecryptable)
    }
}

/// 32 random bytes from the OS's generator, as 64 hex characters.
pub(crate) fn random_hex_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Hex HMAC-SHA256 of `message` under `key`.
pub(crate) fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_without_keeping_plaintext() {
        let cipher = Cipher::from_base64(&Cipher::generate_key()).unwrap();
        let sealed = cipher.seal("s3cr3t-value");
        assert!(!sealed.windows(6).any(|w| w == b"s3cr3t"));
        assert_ne!(sealed, cipher.seal("s3cr3t-value"), "nonces differ");
        assert_eq!(cipher.open(&sealed).unwrap(), "s3cr3t-value");
    }

    #[test]
    fn refuses_another_key_tampering_and_bad_keys() {
        let a = Cipher::from_base64(&Cipher::generate_key()).unwrap();
        let b = Cipher::from_base64(&Cipher::generate_key()).unwrap();
        let mut sealed = a.seal("x");
        assert!(b.open(&sealed).is_err());
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(a.open(&sealed).is_err());
        assert!(a.open(&[]).is_err());
        assert!(Cipher::from_base64("c2hvcnQ=").is_err());
        assert!(Cipher::from_base64("not base64!").is_err());
    }
}
