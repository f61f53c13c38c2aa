//! Access keys of a project: create, list, disable, enable, rotate and delete.
//!
//! A project has at most two active keys, so a rotation can run without downtime: the new key is
//! made while the old one still signs, and the old one expires after a grace period the operator
//! chooses (or is disabled or deleted sooner). The secret is shown once, at creation, and stored
//! only sealed under the master key.

use chrono::Duration;
use rand::Rng;
use rand::distributions::Alphanumeric;

use crate::error::{CoreError, NotFound, StoreError};
use crate::model::{AccessKey, KeyState};
use crate::snapkeep::Snapkeep;

/// Keys a project may have active at once: the current one and the one replacing it.
const MAX_ACTIVE_KEYS: usize = 2;

/// The longest grace a rotated key keeps signing.
const MAX_ROTATION_GRACE: Duration = Duration::days(30);

impl Snapkeep {
    /// Makes a new AK/SK pair; the plaintext secret is returned this once only.
    pub async fn create_access_key(&self, project_id: &str) -> Result<(AccessKey, String), CoreError> {
        self.project(project_id).await?;
        self.insert_new_key(project_id, None).await
    }

    /// Makes a new key and retires `access_key` after `grace` (at once when zero). The key must
    /// be active; the project may have no other active key.
    pub async fn rotate_access_key(&self, access_key: &str, grace: Duration) -> Result<(AccessKey, String), CoreError> {
        if grace < Duration::zero() || grace > MAX_ROTATION_GRACE {
            let max = MAX_ROTATION_GRACE.num_seconds();
            return Err(CoreError::invalid("grace_seconds", format!("must be 0 to {max} (30 days)")));
        }
        let old = self.access_key(access_key).await?;
        if old.state(self.clock.now()) != KeyState::Active {
            return Err(CoreError::KeyNotActive(old.access_key));
        }
        let retire_at = self.clock.now() + grace;
        self.insert_new_key(&old.project_id, Some((&old.access_key, retire_at))).await
    }

    async fn insert_new_key(
        &self,
        project_id: &str,
        retiring: Option<(&str, chrono::DateTime<chrono::Utc>)>,
    ) -> Result<(AccessKey, String), CoreError> {
        let secret = random_token(40);
        let key = AccessKey {
            access_key: random_token(20).to_uppercase(),
            project_id: project_id.to_owned(),
            secret_encrypted: self.seal(&secret)?,
            enabled: true,
            created_at: self.clock.now(),
            expires_at: None,
        };
        self.store.insert_access_key(&key, retiring, MAX_ACTIVE_KEYS).await.map_err(|e| too_many(e, project_id))?;
        Ok((key, secret))
    }

    pub async fn list_access_keys(&self, project_id: &str) -> Result<Vec<AccessKey>, CoreError> {
        self.project(project_id).await?;
        Ok(self.store.list_access_keys(project_id).await?)
    }

    pub async fn access_key(&self, access_key: &str) -> Result<AccessKey, CoreError> {
        self.store.get_access_key(access_key).await?.ok_or(CoreError::NotFound(NotFound::AccessKey))
    }

    /// Disables or enables a key; it stops (or resumes) signing at once.
    pub async fn set_access_key_enabled(&self, access_key: &str, enabled: bool) -> Result<AccessKey, CoreError> {
        let key = self.access_key(access_key).await?;
        self.store
            .set_access_key_enabled(access_key, enabled, MAX_ACTIVE_KEYS, self.clock.now())
            .await
            .map_err(|e| too_many(e, &key.project_id))?;
        self.access_key(access_key).await
    }

    pub async fn delete_access_key(&self, access_key: &str) -> Result<(), CoreError> {
        self.access_key(access_key).await?;
        Ok(self.store.delete_access_key(access_key).await?)
    }
}

fn too_many(e: StoreError, project_id: &str) -> CoreError {
    match e {
        StoreError::Conflict(_) => CoreError::TooManyActiveKeys(project_id.to_owned()),
        other => other.into(),
    }
}

fn random_token(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn key(enabled: bool, expires_at: Option<chrono::DateTime<Utc>>) -> AccessKey {
        AccessKey {
            access_key: "AK".into(),
            project_id: "p".into(),
            secret_encrypted: Vec::new(),
            enabled,
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            expires_at,
        }
    }

    #[test]
    fn a_key_signs_while_enabled_and_before_its_expiry() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        assert_eq!(key(true, None).state(now), KeyState::Active);
        assert_eq!(key(false, None).state(now), KeyState::Disabled);
        assert_eq!(key(true, Some(now + Duration::seconds(1))).state(now), KeyState::Active);
        assert_eq!(key(true, Some(now)).state(now), KeyState::Expired);
        assert_eq!(key(false, Some(now - Duration::days(1))).state(now), KeyState::Disabled);
    }
}
