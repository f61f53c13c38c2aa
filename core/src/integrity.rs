//! The key that authenticates what snapkeep writes to storage itself (the manifests of physical
//! backups), so that storage changed by anyone but snapkeep is refused before a restore writes
//! anything. A tag is HMAC-SHA256 (RFC 2104) under a random 32-byte key kept sealed in the catalog
//! (`master_key::integrity_key`).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const KEY_BYTES: usize = 32;
/// What the key id is the tag of: it names a key without revealing it.
const KEY_ID_INPUT: &[u8] = b"snapkeep backup integrity key id";

/// The backup integrity key. Its `Debug` shows only its id.
#[derive(Clone, PartialEq, Eq)]
pub struct IntegrityKey([u8; KEY_BYTES]);

impl fmt::Debug for IntegrityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IntegrityKey({})", self.id())
    }
}

impl IntegrityKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut key = [0u8; KEY_BYTES];
        rand::thread_rng().fill_bytes(&mut key);
        Self(key)
    }

    /// From base64 of 32 bytes; `None` for anything else.
    pub fn from_base64(text: &str) -> Option<Self> {
        STANDARD.decode(text.trim()).ok()?.try_into().ok().map(Self)
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// 16 hex digits naming this key (the first 8 bytes of its tag over a fixed text).
    pub fn id(&self) -> String {
        hex::encode(&self.mac(KEY_ID_INPUT).finalize().into_bytes()[..8])
    }

    /// The tag of `message`: 64 hex digits.
    pub fn tag(&self, message: &[u8]) -> String {
        hex::encode(self.mac(message).finalize().into_bytes())
    }

    /// Whether `tag` (hex) is this key's tag of `message`, compared in constant time.
    pub fn verify(&self, message: &[u8], tag: &str) -> bool {
        hex::decode(tag).is_ok_and(|tag| self.mac(message).verify_slice(&tag).is_ok())
    }

    /// The HMAC of `message`, not yet finalised.
    fn mac(&self, message: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(message);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_verify_only_under_their_key_and_message() {
        let (a, b) = (IntegrityKey::generate(), IntegrityKey::generate());
        let tag = a.tag(b"manifest");
        assert_eq!(tag.len(), 64);
        assert!(a.verify(b"manifest", &tag));
        assert!(!a.verify(b"manifesT", &tag));
        assert!(!b.verify(b"manifest", &tag));
        assert!(!a.verify(b"manifest", &tag[..62]));
        assert!(!a.verify(b"manifest", "not hex"));
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id().len(), 16);
    }

    #[test]
    fn the_key_round_trips_and_is_never_shown() {
        let key = IntegrityKey::generate();
        assert_eq!(IntegrityKey::from_base64(&key.to_base64()), Some(key.clone()));
        assert!(!format!("{key:?}").contains(&key.to_base64()));
        assert_eq!(IntegrityKey::from_base64("c2hvcnQ="), None);
    }

    /// RFC 4231 test case 2.
    #[test]
    fn tags_are_hmac_sha256() {
        let mut key = [0u8; KEY_BYTES];
        key[..4].copy_from_slice(b"Jefe");
        let tag = IntegrityKey(key).tag(b"what do ya want for nothing?");
        assert_eq!(tag, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
