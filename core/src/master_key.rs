//! The master key that seals every stored secret. The catalog keeps a known text sealed under it,
//! so a service started with the wrong key stops at once with a clear message instead of failing
//! on the first secret it needs; rotation re-seals every secret and that text in one transaction.
//! The backup integrity key is one of those secrets: created once per catalog, it outlives every
//! rotation, so backups taken under an earlier master key stay verifiable.

use crate::error::{CoreError, StoreError};
use crate::integrity::IntegrityKey;
use crate::secrets::Cipher;
use crate::store::AccessStore;

const CHECK_TEXT: &str = "snapkeep master key check";
/// The catalog setting holding [`CHECK_TEXT`] sealed under the master key.
pub(crate) const CHECK_SETTING: &str = "master_key_check";
const INTEGRITY_KEY_SETTING: &str = "backup_integrity_key";

/// Checks that `cipher` opens this catalog's secrets; on a new catalog, records it as the key.
pub async fn verify_master_key(store: &dyn AccessStore, cipher: &Cipher) -> Result<(), CoreError> {
    let check = store.init_catalog_setting(CHECK_SETTING, &cipher.seal(CHECK_TEXT)).await?;
    if opens_check(cipher, &check) { Ok(()) } else { Err(CoreError::WrongMasterKey) }
}

/// Whether `cipher` opens this catalog's check text (false on a catalog without one).
pub async fn master_key_opens(store: &dyn AccessStore, cipher: &Cipher) -> Result<bool, CoreError> {
    let check = store.catalog_setting(CHECK_SETTING).await?;
    Ok(check.is_some_and(|sealed| opens_check(cipher, &sealed)))
}

/// Whether `sealed` is the check text sealed under `cipher`.
pub(crate) fn opens_check(cipher: &Cipher, sealed: &[u8]) -> bool {
    cipher.open(sealed).is_ok_and(|text| text == CHECK_TEXT)
}

/// Re-seals every secret from `old` to `new` in one transaction; returns how many. Nothing changes
/// when `old` is not this catalog's key or any secret does not open.
///
/// `rotator` is the node id of the rotating process's data directory, which it holds locked:
/// any other replica still live refuses the rotation (`ReplicasLive`), since it would go on
/// sealing under the old key.
pub async fn rotate_master_key(
    store: &dyn AccessStore,
    (old, new): (&Cipher, &Cipher),
    rotator: &str,
) -> Result<u64, CoreError> {
    verify_master_key(store, old).await?;
    store.reseal_secrets((old, new), rotator).await.map_err(|e| match e {
        StoreError::Corrupt(_) => CoreError::WrongMasterKey,
        StoreError::InUse(who) => CoreError::ReplicasLive(who),
        other => other.into(),
    })
}

/// The catalog's backup integrity key, created (random, sealed under `cipher`) on first use;
/// every replica of one catalog gets the same key. Errors: `WrongMasterKey` when the stored key
/// does not open.
pub async fn integrity_key(store: &dyn AccessStore, cipher: &Cipher) -> Result<IntegrityKey, CoreError> {
    let fresh = cipher.seal(&IntegrityKey::generate().to_base64());
    let sealed = store.init_catalog_setting(INTEGRITY_KEY_SETTING, &fresh).await?;
    let text = cipher.open(&sealed).map_err(|_| CoreError::WrongMasterKey)?;
    IntegrityKey::from_base64(&text).ok_or(CoreError::WrongMasterKey)
}
