//! The master key file, the data-directory lock, master-key rotation, and the admin token the
//! processes of a shared catalog agree on
//! (`snapkeep rotate-master-key`).
//!
//! Rotation writes a new key beside the current one (`<file>.next`), re-seals every stored secret
//! in one transaction, then renames the new file over the old one. A crash between the commit and
//! the rename is finished at the next start: the catalog's check value tells which file is its
//! key. Rotation and the service exclude each other through a lock on the data directory, and
//! rotation is refused while another replica of a shared catalog is live (core's replicas module).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use snapkeep_core::{
    AccessStore, Cipher, CoreError, IntegrityKey, master_key_opens, rotate_master_key, verify_master_key,
};
use snapkeep_store::SqlStore;

use crate::config::Config;
use crate::secret_files::secret;

/// Held while a process uses the data directory; released when dropped (or the process dies).
pub struct DataDirLock(#[allow(dead_code, reason = "held for its lock")] File);

/// Locks `dir` for this process; fails when another snapkeep holds it.
pub fn lock_data_dir(dir: &Path) -> anyhow::Result<DataDirLock> {
    let path = dir.join("snapkeep.lock");
    let file = File::options().create(true).truncate(false).write(true).open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock(file)),
        Err(std::fs::TryLockError::WouldBlock) => {
            bail!("another snapkeep process is using {} (it holds {})", dir.display(), path.display())
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

fn key_file(config: &Config) -> PathBuf {
    config.master_key_file.clone().unwrap_or_else(|| config.data_dir.join("master.key"))
}

fn next_file(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_owned();
    name.push(".next");
    PathBuf::from(name)
}

/// The master key of this catalog, created on first start; refuses a key that does not open it.
pub async fn open_cipher(config: &Config, store: &SqlStore) -> anyhow::Result<Cipher> {
    if config.master_key.is_none() {
        finish_rotation(&key_file(config), store).await?;
    }
    let key = secret(
        config.master_key.as_deref(),
        config.master_key_file.as_deref(),
        &config.data_dir.join("master.key"),
        Cipher::generate_key,
    )?;
    let cipher = Cipher::from_base64(&key).context("master key")?;
    match verify_master_key(store, &cipher).await {
        Err(CoreError::WrongMasterKey) => {
            bail!(
                "the master key does not open this catalog's secrets; start with the key it was sealed with \
                 (after a rotation: the master.key that snapkeep rotate-master-key wrote)"
            )
        }
        other => other.context("checking the master key")?,
    }
    Ok(cipher)
}

/// The catalog setting that holds a tag of the admin token.
const ADMIN_TOKEN_SETTING: &str = "admin_token_tag";

/// Checks that `token` is the admin token every other process of this catalog serves with: the
/// first to start records a tag of it (HMAC-SHA256 under the catalog's integrity key, sealed like
/// every setting, so the catalog tells nothing of the token), and a process with another token
/// refuses to start. With `replace-admin-token`, this token's tag is recorded instead: the way to
/// change the token, every replica then restarted with the new one.
pub async fn agree_admin_token(
    config: &Config,
    store: &SqlStore,
    (cipher, key): (&Cipher, &IntegrityKey),
    token: &str,
) -> anyhow::Result<()> {
    let message = format!("admin token {token}");
    let sealed = cipher.seal(&key.tag(message.as_bytes()));
    let stored = if config.replace_admin_token {
        store.put_catalog_setting(ADMIN_TOKEN_SETTING, &sealed).await?;
        sealed
    } else {
        store.init_catalog_setting(ADMIN_TOKEN_SETTING, &sealed).await?
    };
    let recorded = cipher.open(&stored).context("opening the admin token's tag")?;
    if !key.verify(message.as_bytes(), &recorded) {
        bail!(
            "the admin token differs from the one this catalog's other processes serve with; give every \
             replica the same admin-token, or start one with replace-admin-token = true to change it"
        );
    }
    Ok(())
}

/// The catalog setting that holds the storage root every replica uses.
const STORAGE_ROOT_SETTING: &str = "storage_root";

/// Checks that `root` (canonical) is the storage root every other process of this catalog uses:
/// the `fs` repositories of every cluster live under it, so replicas with different roots would
/// each place a cluster's snapshots elsewhere. The first to start records it (sealed like every
/// setting); a process with another root refuses to start, naming both.
pub async fn agree_storage_root(store: &SqlStore, cipher: &Cipher, root: &str) -> anyhow::Result<()> {
    let stored = store.init_catalog_setting(STORAGE_ROOT_SETTING, &cipher.seal(root)).await?;
    let recorded = cipher.open(&stored).context("opening the recorded storage root")?;
    if recorded != root {
        bail!(
            "storage-root {root} differs from {recorded}, which this catalog's other replicas use: every replica \
             needs the same storage-root (one shared filesystem path, as its clusters' path.repo sees it)"
        );
    }
    Ok(())
}

/// Completes or discards a rotation a crash interrupted.
async fn finish_rotation(key_file: &Path, store: &SqlStore) -> anyhow::Result<()> {
    let next = next_file(key_file);
    let Ok(text) = std::fs::read_to_string(&next) else { return Ok(()) };
    let committed = match Cipher::from_base64(&text) {
        Ok(cipher) => master_key_opens(store, &cipher).await?,
        Err(_) => false,
    };
    if committed {
        std::fs::rename(&next, key_file).with_context(|| format!("renaming {}", next.display()))?;
        tracing::warn!(path = %key_file.display(), "finished a master-key rotation interrupted after its commit");
    } else {
        std::fs::remove_file(&next).with_context(|| format!("removing {}", next.display()))?;
        tracing::warn!(path = %next.display(), "removed the key of a master-key rotation that did not commit");
    }
    Ok(())
}

/// This data directory's node id (the owner of its leases, its replica's id), made on first use.
pub fn node_id(config: &Config) -> anyhow::Result<String> {
    secret(None, None, &config.data_dir.join("node-id"), || uuid::Uuid::new_v4().to_string())
}

/// `snapkeep rotate-master-key`: re-seals every secret under a new key; the service, and every
/// other replica of a shared catalog, must be stopped.
pub async fn rotate(config: &Config) -> anyhow::Result<()> {
    if config.master_key.is_some() {
        bail!("the master key is set in the configuration, not in a file; rotate it by moving it to a file first");
    }
    let _lock = lock_data_dir(&config.data_dir)?;
    let store = crate::serve::open_catalog(config).await?;
    let old = open_cipher(config, &store).await?;
    let path = key_file(config);
    let next = next_file(&path);
    let new_key = Cipher::generate_key();
    let mut out = File::options().write(true).create_new(true).mode(0o600).open(&next)?;
    writeln!(out, "{new_key}")?;
    out.sync_all()?;
    let new = Cipher::from_base64(&new_key)?;
    let rotator = node_id(config)?;
    let resealed = match rotate_master_key(&store, (&old, &new), &rotator).await {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&next);
            if matches!(e, CoreError::ReplicasLive(_)) {
                bail!(
                    "{e}; nothing was changed: stop every replica before rotating the master key (a replica \
                     killed without stopping counts until its lease-secs lapse)"
                );
            }
            return Err(e).context("re-sealing the secrets; nothing was changed");
        }
    };
    store.close().await;
    std::fs::rename(&next, &path).with_context(|| format!("renaming {} to {}", next.display(), path.display()))?;
    println!("re-sealed {resealed} secrets under a new master key, written to {}", path.display());
    Ok(())
}
