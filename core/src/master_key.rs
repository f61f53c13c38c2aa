//! The master key that seals every stored secret. The catalog keeps a known text sealed under it,
//! so a service started with the wrong key stops at once with a clear message instead of failing
//! on the first secret it needs; rotation re-seals every secret and that text in one transaction.

use crate::error::CoreError;
use crate::secrets::Cipher;
use crate::store::{AccessStore, StoreError};

const CHECK_TEXT: &str = "snapkeep master key check";

/// Checks that `cipher` opens this catalog's secrets; on a new catalog, records it as the key.
pub async fn verify_master_key(store: &dyn AccessStore, cipher: &Cipher) -> Result<(), CoreError> {
    match store.master_key_check().await? {
        None => Ok(store.set_master_key_check(&cipher.seal(CHECK_TEXT)).await?),
        Some(sealed) if cipher.open(&sealed).is_ok_and(|text| text == CHECK_TEXT) => Ok(()),
        Some(_) => Err(CoreError::WrongMasterKey),
    }
}

/// Re-seals every secret from `old` to `new` in one transaction; returns how many. Nothing changes
/// when `old` is not this catalog's key or any secret does not open.
pub async fn rotate_master_key(store: &dyn AccessStore, old: &Cipher, new: &Cipher) -> Result<u64, CoreError> {
    verify_master_key(store, old).await?;
    store.reseal_secrets(old, new).await.map_err(|e| match e {
        StoreError::Corrupt(_) => CoreError::WrongMasterKey,
        other => other.into(),
    })
}
