//! A physical backup streamed from `BASE_BACKUP` into object storage, never staged on disk: the
//! server compresses its archive (zstd, with worker threads on the database host), and snapkeep
//! cuts the compressed stream into parts uploaded several at once while a decoding thread walks
//! the archive to index its files with their CRC32C. Memory is bounded by the part size times the
//! uploads, whatever the database's size. The manifest, sealed under the integrity key, is written
//! last and read back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use snapkeep_core::{BackupRequest, BackupSummary, IntegrityKey, ObjectPath, TransferProgress};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::archive::{ArchiveDecoder, FileIndex};
use crate::error::PgError;
use crate::manifest::{self, Compression, Manifest, StoredObject};
use crate::protocol::{ConnectionConfig, CopyChunk, ReplicationConnection, Row};

/// The name the server gives the main tablespace's archive when it compresses it with zstd.
const ARCHIVE_NAME: &str = "base.tar.zst";

/// Archive messages from the server waiting for the decoding thread (each at most a few tens of
/// KiB).
const QUEUED_MESSAGES: usize = 64;

/// How backups are compressed, cut and uploaded.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Parts are at least this big (and grow with the database, up to `max_part_bytes`).
    pub min_part_bytes: usize,
    pub max_part_bytes: usize,
    /// zstd level the server compresses at.
    pub level: i32,
    /// Threads the server compresses with (on the database host).
    pub compression_workers: u32,
    /// Parts uploaded at once.
    pub uploads: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Self { min_part_bytes: 8 << 20, max_part_bytes: 32 << 20, level: 1, compression_workers: 2, uploads: 4 }
    }
}

impl Tuning {
    /// Part size for an expected archive size: at most about 4096 parts even if nothing
    /// compresses (bigger parts for bigger databases keep listings short), within the bounds.
    fn part_bytes(&self, expected: u64) -> usize {
        ((expected / 4096) as usize).clamp(self.min_part_bytes, self.max_part_bytes)
    }

    fn compression(&self) -> Compression {
        Compression { algorithm: "zstd".into(), level: self.level, workers: self.compression_workers }
    }
}

/// Where the backup started, as the server answered before streaming.
struct Start {
    server_version: String,
    server_version_num: u32,
    system_identifier: String,
    timeline: u32,
    start_lsn: String,
    expected_bytes: u64,
}

/// Takes a backup of the server at `config` into `objects`, its manifest sealed under `key`.
pub async fn back_up(
    config: &ConnectionConfig,
    objects: Arc<dyn ObjectPath>,
    request: &BackupRequest,
    progress: &TransferProgress,
    (tuning, key): (Tuning, &IntegrityKey),
) -> Result<BackupSummary, PgError> {
    let started_at_ms = now_ms();
    let mut connection = ReplicationConnection::connect(config).await?;
    let start = begin(&mut connection, &request.label, &tuning).await?;
    progress.set_total(start.expected_bytes);
    let mut uploads = Uploads::start(objects.clone(), tuning.uploads, tuning.part_bytes(start.expected_bytes));
    let mut decoder = ArchiveDecoder::start(FileIndex::default(), QUEUED_MESSAGES);
    let mut server_manifest = BytesMut::new();
    let mut in_manifest = false;
    while let Some(chunk) = connection.copy_chunk().await? {
        match chunk {
            CopyChunk::Archive { name, location } if name != ARCHIVE_NAME => {
                return Err(PgError::Unsupported(format!(
                    "archive {name} (tablespace {location:?}): only pg_default, compressed with zstd, is backed up"
                )));
            }
            CopyChunk::Archive { .. } => {}
            CopyChunk::Progress(done) => progress.raise_done(done),
            CopyChunk::Manifest => in_manifest = true,
            CopyChunk::Data(data) if in_manifest => server_manifest.extend_from_slice(&data),
            CopyChunk::Data(data) => {
                decoder.push(data.clone()).await?;
                uploads.push(data).await?;
            }
        }
    }
    let (index, archive) = decoder.finish().await?;
    let streamed_ms = now_ms() - started_at_ms;
    let end = connection.finish().await?;
    connection.close().await;
    let end_lsn = first_value(&end, "the end position")?;
    let parts = uploads.finish().await?;
    let server_manifest = server_manifest.freeze();
    let server_manifest_object = StoredObject::of(manifest::SERVER_MANIFEST_OBJECT.into(), &server_manifest);
    objects.put(manifest::SERVER_MANIFEST_OBJECT, server_manifest).await?;
    let stored_bytes = parts.iter().map(|p| p.bytes).sum::<u64>() + server_manifest_object.bytes;
    let mut manifest = Manifest {
        format: Manifest::format(),
        label: request.label.clone(),
        server_version: start.server_version,
        server_version_num: start.server_version_num,
        system_identifier: start.system_identifier,
        timeline: start.timeline,
        start_lsn: start.start_lsn,
        end_lsn,
        compression: tuning.compression(),
        database_bytes: archive.bytes,
        archive_crc32c: archive.crc32c,
        stored_bytes,
        parts,
        files: index.files,
        server_manifest: server_manifest_object,
        started_at_ms,
        finished_at_ms: now_ms(),
        integrity_key_id: String::new(),
        mac: String::new(),
    };
    manifest.seal(key);
    write_and_verify(objects.as_ref(), &manifest).await?;
    progress.raise_done(archive.bytes);
    tracing::info!(
        label = %request.label,
        database_bytes = archive.bytes,
        stored_bytes,
        parts = manifest.parts.len(),
        streamed_ms,
        total_ms = now_ms() - started_at_ms,
        "backup stored and verified"
    );
    Ok(BackupSummary {
        server_version: manifest.server_version,
        database_bytes: archive.bytes,
        stored_bytes,
        start_lsn: manifest.start_lsn,
        end_lsn: manifest.end_lsn,
    })
}

/// Identifies the server, holds its WAL with a temporary slot for the session, and starts
/// `BASE_BACKUP` with the WAL needed for consistency and the server's manifest, compressed by
/// the server. The archive carries its own WAL, so the server need not wait for its WAL archive
/// (`WAIT false`, as `pg_basebackup` asks too).
async fn begin(connection: &mut ReplicationConnection, label: &str, tuning: &Tuning) -> Result<Start, PgError> {
    let server_version = connection.parameter("server_version").unwrap_or_default().to_owned();
    let version_num = first_value(&connection.query("SHOW server_version_num").await?, "server_version_num")?;
    let system = connection.query("IDENTIFY_SYSTEM").await?;
    let system_identifier = first_value(&system, "the system identifier")?;
    let timeline = system.first().and_then(|r| r.get(1).cloned().flatten()).unwrap_or_default();
    let slot = slot_name();
    connection.query(&format!("CREATE_REPLICATION_SLOT {slot} TEMPORARY PHYSICAL RESERVE_WAL")).await?;
    let label = label.replace('\'', "''");
    let Tuning { level, compression_workers, .. } = tuning;
    connection
        .send_query(&format!(
            "BASE_BACKUP ( LABEL '{label}', PROGRESS, CHECKPOINT 'fast', WAL, WAIT false, MANIFEST 'yes', \
             MANIFEST_CHECKSUMS 'CRC32C', \
             COMPRESSION 'zstd', COMPRESSION_DETAIL 'level={level},workers={compression_workers}' )"
        ))
        .await?;
    let start = connection.result_set().await?.ok_or_else(|| PgError::Protocol("no start position".into()))?;
    let start_lsn = first_value(&start, "the start position")?;
    let tablespaces = connection.result_set().await?.ok_or_else(|| PgError::Protocol("no tablespace list".into()))?;
    if tablespaces.iter().any(|row| row.first().cloned().flatten().is_some()) {
        return Err(PgError::Unsupported("tablespaces besides pg_default".into()));
    }
    let expected_kb: u64 =
        tablespaces.iter().filter_map(|row| row.get(2).cloned().flatten()?.parse::<u64>().ok()).sum();
    if connection.result_set().await?.is_some() {
        return Err(PgError::Protocol("BASE_BACKUP sent a third result set before its data".into()));
    }
    Ok(Start {
        server_version,
        server_version_num: version_num
            .parse()
            .map_err(|_| PgError::Protocol(format!("server_version_num {version_num}")))?,
        system_identifier,
        timeline: timeline.parse().unwrap_or(0),
        start_lsn,
        expected_bytes: expected_kb * 1024,
    })
}

/// A temporary replication slot's name, unique among this process's backups however many start
/// in the same millisecond: `snapkeep_<pid>_<ms>_<sequence>` (lower case, digits and `_`, as
/// PostgreSQL requires, well under its 63 characters).
fn slot_name() -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("snapkeep_{}_{}_{sequence}", std::process::id(), now_ms())
}

fn first_value(rows: &[Row], what: &str) -> Result<String, PgError> {
    rows.first()
        .and_then(|row| row.first().cloned().flatten())
        .ok_or_else(|| PgError::Protocol(format!("the server did not send {what}")))
}

/// Writes the manifest and checks storage holds exactly what it lists.
async fn write_and_verify(objects: &dyn ObjectPath, manifest: &Manifest) -> Result<(), PgError> {
    let text = serde_json::to_vec_pretty(manifest).map_err(|e| PgError::Local(e.to_string()))?;
    objects.put(manifest::MANIFEST_OBJECT, Bytes::from(text.clone())).await?;
    let stored: BTreeMap<String, u64> = objects.list().await?.into_iter().collect();
    for part in &manifest.parts {
        match stored.get(&part.name) {
            Some(bytes) if *bytes == part.bytes => {}
            found => {
                return Err(PgError::Integrity(format!(
                    "{} holds {found:?} bytes after upload, {} were written",
                    part.name, part.bytes
                )));
            }
        }
    }
    if objects.get(manifest::MANIFEST_OBJECT, text.len() as u64).await?[..] != text[..] {
        return Err(PgError::Integrity("the manifest read back differs from the one written".into()));
    }
    Ok(())
}

/// A slice of the compressed archive waiting for an upload.
struct PendingPart {
    seq: u64,
    data: Bytes,
}

/// The workers uploading parts, and the part being filled.
struct Uploads {
    sender: Option<mpsc::Sender<PendingPart>>,
    workers: JoinSet<Result<Vec<StoredObject>, PgError>>,
    filling: BytesMut,
    part_bytes: usize,
    next_seq: u64,
}

impl Uploads {
    fn start(objects: Arc<dyn ObjectPath>, uploads: usize, part_bytes: usize) -> Self {
        let (sender, receiver) = mpsc::channel::<PendingPart>(uploads);
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let mut workers = JoinSet::new();
        for _ in 0..uploads {
            let (receiver, objects) = (receiver.clone(), objects.clone());
            workers.spawn(async move {
                let mut done = Vec::new();
                loop {
                    let next = receiver.lock().await.recv().await;
                    let Some(part) = next else { return Ok(done) };
                    done.push(upload(objects.as_ref(), part).await?);
                }
            });
        }
        Self { sender: Some(sender), workers, filling: BytesMut::with_capacity(part_bytes), part_bytes, next_seq: 1 }
    }

    async fn push(&mut self, mut data: Bytes) -> Result<(), PgError> {
        while !data.is_empty() {
            let take = (self.part_bytes - self.filling.len()).min(data.len());
            self.filling.extend_from_slice(&data.split_to(take));
            if self.filling.len() == self.part_bytes {
                self.send_filling().await?;
            }
        }
        Ok(())
    }

    async fn send_filling(&mut self) -> Result<(), PgError> {
        let data = std::mem::replace(&mut self.filling, BytesMut::with_capacity(self.part_bytes)).freeze();
        let part = PendingPart { seq: self.next_seq, data };
        self.next_seq += 1;
        let sender = self.sender.as_ref().expect("sending before finish");
        if sender.send(part).await.is_err() {
            // Every worker stopped: one failed, and says why.
            return Err(self.first_failure().await);
        }
        Ok(())
    }

    async fn first_failure(&mut self) -> PgError {
        while let Some(joined) = self.workers.join_next().await {
            match joined {
                Ok(Err(e)) => return e,
                Err(e) => return PgError::Local(format!("an upload worker stopped: {e}")),
                Ok(Ok(_)) => {}
            }
        }
        PgError::Local("the upload workers stopped".into())
    }

    /// Sends the last part, waits for every upload; returns the parts in order.
    async fn finish(mut self) -> Result<Vec<StoredObject>, PgError> {
        if !self.filling.is_empty() {
            self.send_filling().await?;
        }
        self.sender = None;
        let mut parts = Vec::new();
        while let Some(joined) = self.workers.join_next().await {
            parts.extend(joined.map_err(|e| PgError::Local(format!("an upload worker stopped: {e}")))??);
        }
        parts.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(parts)
    }
}

async fn upload(objects: &dyn ObjectPath, part: PendingPart) -> Result<StoredObject, PgError> {
    let stored = StoredObject::of(Manifest::part_name(part.seq), &part.data);
    objects.put(&stored.name, part.data).await?;
    Ok(stored)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two backups starting in the same millisecond once got the same slot name, and the second
    /// failed with "replication slot already exists".
    #[test]
    fn slot_names_differ_within_a_millisecond() {
        let names: std::collections::HashSet<String> = (0..1000).map(|_| slot_name()).collect();
        assert_eq!(names.len(), 1000);
        assert!(
            names
                .iter()
                .all(|n| n.len() < 64 && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
        );
    }
}
