//! A physical backup streamed from `BASE_BACKUP` into object storage, never staged on disk:
//! the archive is cut into parts as it arrives, each part is compressed (zstd) and checksummed
//! by a pool of workers and uploaded as its own object, several at once, while the archive's
//! files are indexed with their CRC32C. Memory is bounded by the part size times the workers,
//! whatever the database's size. The manifest is written last and read back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use snapkeep_core::{BackupRequest, BackupSummary, ObjectPath, TransferProgress};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::error::PgError;
use crate::manifest::{self, Compression, FileEntry, Manifest, Part, StoredObject};
use crate::protocol::{ConnectionConfig, CopyChunk, ReplicationConnection, Row};
use crate::tar::{EntryHeader, EntryKind, TarVisitor, TarWalker};

/// How backups are cut, compressed and uploaded.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Parts are at least this big (and grow with the database, up to `max_part_bytes`).
    pub min_part_bytes: usize,
    pub max_part_bytes: usize,
    /// zstd level.
    pub level: i32,
    /// Parts compressed and uploaded at once.
    pub workers: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self { min_part_bytes: 8 << 20, max_part_bytes: 32 << 20, level: 1, workers: cores + 2 }
    }
}

impl Tuning {
    /// Part size for an expected archive size: about 4096 parts, within the bounds.
    fn part_bytes(&self, expected: u64) -> usize {
        ((expected / 4096) as usize).clamp(self.min_part_bytes, self.max_part_bytes)
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

/// Takes a backup of the server at `config` into `objects`.
pub async fn back_up(
    config: &ConnectionConfig,
    objects: Arc<dyn ObjectPath>,
    request: &BackupRequest,
    progress: &TransferProgress,
    tuning: Tuning,
) -> Result<BackupSummary, PgError> {
    let started_at_ms = now_ms();
    let mut connection = ReplicationConnection::connect(config).await?;
    let start = begin(&mut connection, &request.label).await?;
    progress.set_total(start.expected_bytes);
    let mut uploads = Uploads::start(objects.clone(), tuning, tuning.part_bytes(start.expected_bytes));
    let mut index = FileIndex::default();
    let mut walker = TarWalker::default();
    let mut server_manifest = BytesMut::new();
    let mut in_manifest = false;
    while let Some(chunk) = connection.copy_chunk().await? {
        match chunk {
            CopyChunk::Archive { name, location } if name != "base.tar" => {
                return Err(PgError::Unsupported(format!(
                    "tablespace {location} ({name}): only pg_default is backed up"
                )));
            }
            CopyChunk::Archive { .. } | CopyChunk::Progress => {}
            CopyChunk::Manifest => in_manifest = true,
            CopyChunk::Data(data) if in_manifest => server_manifest.extend_from_slice(&data),
            CopyChunk::Data(data) => {
                walker.feed(&data, &mut index)?;
                progress.add_done(data.len() as u64);
                uploads.push(data).await?;
            }
        }
    }
    if !walker.finished() {
        return Err(PgError::Protocol("the archive ended without its end marker".into()));
    }
    let end = connection.finish().await?;
    connection.close().await;
    let end_lsn = first_value(&end, "the end position")?;
    let (parts, database_bytes) = uploads.finish().await?;
    let server_manifest = server_manifest.freeze();
    let server_manifest_object = StoredObject {
        name: manifest::SERVER_MANIFEST_OBJECT.into(),
        bytes: server_manifest.len() as u64,
        crc32c: crc32c::crc32c(&server_manifest),
    };
    objects.put(manifest::SERVER_MANIFEST_OBJECT, server_manifest).await?;
    let stored_bytes = parts.iter().map(|p| p.stored_bytes).sum::<u64>() + server_manifest_object.bytes;
    let manifest = Manifest {
        format: Manifest::format(),
        label: request.label.clone(),
        server_version: start.server_version,
        server_version_num: start.server_version_num,
        system_identifier: start.system_identifier,
        timeline: start.timeline,
        start_lsn: start.start_lsn,
        end_lsn,
        compression: Compression { algorithm: "zstd".into(), level: tuning.level },
        database_bytes,
        stored_bytes,
        parts,
        files: index.files,
        server_manifest: server_manifest_object,
        started_at_ms,
        finished_at_ms: now_ms(),
    };
    write_and_verify(objects.as_ref(), &manifest).await?;
    Ok(BackupSummary {
        server_version: manifest.server_version,
        database_bytes,
        stored_bytes,
        start_lsn: manifest.start_lsn,
        end_lsn: manifest.end_lsn,
    })
}

/// Identifies the server, holds its WAL with a temporary slot for the session, and starts
/// `BASE_BACKUP` with the WAL needed for consistency and the server's manifest.
async fn begin(connection: &mut ReplicationConnection, label: &str) -> Result<Start, PgError> {
    let server_version = connection.parameter("server_version").unwrap_or_default().to_owned();
    let version_num = first_value(&connection.query("SHOW server_version_num").await?, "server_version_num")?;
    let system = connection.query("IDENTIFY_SYSTEM").await?;
    let system_identifier = first_value(&system, "the system identifier")?;
    let timeline = system.first().and_then(|r| r.get(1).cloned().flatten()).unwrap_or_default();
    let slot = format!("snapkeep_{}_{}", std::process::id(), now_ms());
    connection.query(&format!("CREATE_REPLICATION_SLOT {slot} TEMPORARY PHYSICAL RESERVE_WAL")).await?;
    let label = label.replace('\'', "''");
    connection
        .send_query(&format!(
            "BASE_BACKUP ( LABEL '{label}', PROGRESS, CHECKPOINT 'fast', WAL, MANIFEST 'yes', MANIFEST_CHECKSUMS 'CRC32C' )"
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
            Some(bytes) if *bytes == part.stored_bytes => {}
            found => {
                return Err(PgError::Integrity(format!(
                    "{} holds {found:?} bytes after upload, {} were written",
                    part.name, part.stored_bytes
                )));
            }
        }
    }
    if objects.get(manifest::MANIFEST_OBJECT).await?[..] != text[..] {
        return Err(PgError::Integrity("the manifest read back differs from the one written".into()));
    }
    Ok(())
}

/// The archive's regular files with their CRC32C, in archive order.
#[derive(Default)]
struct FileIndex {
    files: Vec<FileEntry>,
}

impl TarVisitor for FileIndex {
    fn entry(&mut self, _: &EntryHeader) -> Result<(), PgError> {
        Ok(())
    }

    fn data(&mut self, _: &[u8]) -> Result<(), PgError> {
        Ok(())
    }

    fn end_entry(&mut self, header: &EntryHeader, crc32c: u32) -> Result<(), PgError> {
        if header.kind == EntryKind::File {
            self.files.push(FileEntry { path: header.path.clone(), bytes: header.size, crc32c });
        }
        Ok(())
    }
}

/// A raw slice of the archive waiting for a worker.
struct RawPart {
    seq: u64,
    data: Bytes,
}

/// The workers compressing and uploading parts, and the part being filled.
struct Uploads {
    sender: Option<mpsc::Sender<RawPart>>,
    workers: JoinSet<Result<Vec<Part>, PgError>>,
    filling: BytesMut,
    part_bytes: usize,
    next_seq: u64,
    total: u64,
}

impl Uploads {
    fn start(objects: Arc<dyn ObjectPath>, tuning: Tuning, part_bytes: usize) -> Self {
        let (sender, receiver) = mpsc::channel::<RawPart>(tuning.workers);
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let mut workers = JoinSet::new();
        for _ in 0..tuning.workers {
            let (receiver, objects) = (receiver.clone(), objects.clone());
            workers.spawn(async move {
                let mut done = Vec::new();
                loop {
                    let next = receiver.lock().await.recv().await;
                    let Some(raw) = next else { return Ok(done) };
                    done.push(compress_and_upload(objects.as_ref(), raw, tuning.level).await?);
                }
            });
        }
        Self {
            sender: Some(sender),
            workers,
            filling: BytesMut::with_capacity(part_bytes),
            part_bytes,
            next_seq: 1,
            total: 0,
        }
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
        self.total += data.len() as u64;
        let raw = RawPart { seq: self.next_seq, data };
        self.next_seq += 1;
        let sender = self.sender.as_ref().expect("sending before finish");
        if sender.send(raw).await.is_err() {
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

    /// Sends the last part, waits for every upload; returns the parts in order and the bytes.
    async fn finish(mut self) -> Result<(Vec<Part>, u64), PgError> {
        if !self.filling.is_empty() {
            self.send_filling().await?;
        }
        self.sender = None;
        let mut parts = Vec::new();
        while let Some(joined) = self.workers.join_next().await {
            parts.extend(joined.map_err(|e| PgError::Local(format!("an upload worker stopped: {e}")))??);
        }
        parts.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((parts, self.total))
    }
}

async fn compress_and_upload(objects: &dyn ObjectPath, raw: RawPart, level: i32) -> Result<Part, PgError> {
    let RawPart { seq, data } = raw;
    let (compressed, raw_len, raw_crc32c) = tokio::task::spawn_blocking(move || -> Result<_, PgError> {
        let compressed = zstd::bulk::compress(&data, level).map_err(|e| PgError::Local(format!("zstd: {e}")))?;
        Ok((compressed, data.len(), crc32c::crc32c(&data)))
    })
    .await
    .map_err(|e| PgError::Local(format!("a compression task stopped: {e}")))??;
    let part = Part {
        name: Manifest::part_name(seq),
        raw_bytes: raw_len as u64,
        raw_crc32c,
        stored_bytes: compressed.len() as u64,
        stored_crc32c: crc32c::crc32c(&compressed),
    };
    objects.put(&part.name, Bytes::from(compressed)).await?;
    Ok(part)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
