//! Materialises a backup as a data directory: parts are downloaded several at once, each checked
//! against the manifest (size and CRC32C stored, then again decompressed) before its bytes reach
//! the disk, and every file's CRC32C is compared as it is written. Any mismatch stops the restore.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use snapkeep_core::{ObjectPath, TransferProgress};
use tokio::sync::mpsc;

use crate::error::PgError;
use crate::manifest::{self, FileEntry, Manifest, Part, check_object};
use crate::tar::{EntryHeader, EntryKind, TarVisitor, TarWalker};

/// Parts downloaded at once.
const DOWNLOADS: usize = 4;

/// Reads a backup's manifest.
pub async fn read_manifest(objects: &dyn ObjectPath) -> Result<Manifest, PgError> {
    Manifest::parse(&objects.get(manifest::MANIFEST_OBJECT).await?)
}

/// Writes the backup into `data_dir` (which must not exist yet) and the server's manifest
/// beside its files.
pub async fn materialise(
    objects: Arc<dyn ObjectPath>,
    manifest: &Manifest,
    data_dir: &Path,
    progress: &TransferProgress,
) -> Result<(), PgError> {
    progress.set_total(manifest.database_bytes);
    fs::create_dir_all(data_dir).map_err(|e| PgError::local(data_dir.display(), e))?;
    fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| PgError::local(data_dir.display(), e))?;
    let (sender, mut receiver) = mpsc::channel::<Bytes>(2);
    let mut extractor = Extractor::new(data_dir, &manifest.files);
    let writer = tokio::task::spawn_blocking(move || {
        let mut walker = TarWalker::default();
        while let Some(raw) = receiver.blocking_recv() {
            walker.feed(&raw, &mut extractor)?;
        }
        extractor.finish(&walker)
    });
    let downloads = futures::stream::iter(manifest.parts.clone())
        .map(|part| fetch_part(objects.clone(), part))
        .buffered(DOWNLOADS)
        .try_for_each(|raw| {
            progress.add_done(raw.len() as u64);
            let sender = sender.clone();
            async move { sender.send(raw).await.map_err(|_| PgError::Local("the file writer stopped".into())) }
        })
        .await;
    drop(sender);
    let written = writer.await.map_err(|e| PgError::Local(format!("the file writer stopped: {e}")))?;
    // A download error explains a stopped writer better than the writer does.
    downloads?;
    written?;
    let server_manifest = objects.get(&manifest.server_manifest.name).await?;
    let expected = &manifest.server_manifest;
    check_object(&expected.name, &server_manifest, expected.bytes, expected.crc32c)?;
    let path = data_dir.join(manifest::SERVER_MANIFEST_OBJECT);
    fs::write(&path, &server_manifest).map_err(|e| PgError::local(path.display(), e))
}

/// Downloads a part and checks it before and after decompression.
async fn fetch_part(objects: Arc<dyn ObjectPath>, part: Part) -> Result<Bytes, PgError> {
    let stored = objects.get(&part.name).await?;
    check_object(&part.name, &stored, part.stored_bytes, part.stored_crc32c)?;
    tokio::task::spawn_blocking(move || {
        let raw = zstd::bulk::decompress(&stored, part.raw_bytes as usize)
            .map_err(|e| PgError::Integrity(format!("{} does not decompress: {e}", part.name)))?;
        check_object(&format!("{} (decompressed)", part.name), &raw, part.raw_bytes, part.raw_crc32c)?;
        Ok(Bytes::from(raw))
    })
    .await
    .map_err(|e| PgError::Local(format!("a decompression task stopped: {e}")))?
}

/// Writes archive entries under a root and checks each file against the manifest.
struct Extractor {
    root: PathBuf,
    expected: HashMap<String, (u64, u32)>,
    open: Option<BufWriter<File>>,
}

impl Extractor {
    fn new(root: &Path, files: &[FileEntry]) -> Self {
        let expected = files.iter().map(|f| (f.path.clone(), (f.bytes, f.crc32c))).collect();
        Self { root: root.to_owned(), expected, open: None }
    }

    fn finish(self, walker: &TarWalker) -> Result<(), PgError> {
        if !walker.finished() {
            return Err(PgError::Integrity("the archive ends before its end marker".into()));
        }
        match self.expected.keys().next() {
            Some(missing) => Err(PgError::Integrity(format!("{missing} is in the manifest but not in the archive"))),
            None => Ok(()),
        }
    }
}

impl TarVisitor for Extractor {
    fn entry(&mut self, header: &EntryHeader) -> Result<(), PgError> {
        let path = self.root.join(&header.path);
        let mode = fs::Permissions::from_mode(header.mode & 0o7777);
        match header.kind {
            EntryKind::Directory => {
                fs::create_dir_all(&path).map_err(|e| PgError::local(path.display(), e))?;
                fs::set_permissions(&path, mode).map_err(|e| PgError::local(path.display(), e))
            }
            EntryKind::Symlink => {
                std::os::unix::fs::symlink(&header.link, &path).map_err(|e| PgError::local(path.display(), e))
            }
            EntryKind::File => {
                let file = File::create(&path).map_err(|e| PgError::local(path.display(), e))?;
                file.set_permissions(mode).map_err(|e| PgError::local(path.display(), e))?;
                self.open = Some(BufWriter::with_capacity(1 << 20, file));
                Ok(())
            }
        }
    }

    fn data(&mut self, bytes: &[u8]) -> Result<(), PgError> {
        let file = self.open.as_mut().ok_or_else(|| PgError::Integrity("data outside a file entry".into()))?;
        file.write_all(bytes).map_err(|e| PgError::local("writing the data directory", e))
    }

    fn end_entry(&mut self, header: &EntryHeader, crc32c: u32) -> Result<(), PgError> {
        if header.kind != EntryKind::File {
            return Ok(());
        }
        if let Some(mut file) = self.open.take() {
            file.flush().map_err(|e| PgError::local(&header.path, e))?;
        }
        match self.expected.remove(&header.path) {
            Some((bytes, crc)) if bytes == header.size && crc == crc32c => Ok(()),
            Some(_) => Err(PgError::Integrity(format!("{} differs from the manifest's size or CRC32C", header.path))),
            None => Err(PgError::Integrity(format!("{} is in the archive but not in the manifest", header.path))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tar::header_block;

    fn archive(content: &[u8]) -> Vec<u8> {
        let mut tar = header_block("global", EntryKind::Directory, 0);
        tar.extend(header_block("global/pg_control", EntryKind::File, content.len() as u64));
        tar.extend(content);
        tar.extend(vec![0u8; 512 - content.len() % 512]);
        tar.extend(vec![0u8; 1024]);
        tar
    }

    fn feed(root: &Path, files: &[FileEntry], tar: &[u8]) -> Result<(), PgError> {
        let mut extractor = Extractor::new(root, files);
        let mut walker = TarWalker::default();
        walker.feed(tar, &mut extractor)?;
        extractor.finish(&walker)
    }

    #[test]
    fn files_matching_the_manifest_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let files = [FileEntry { path: "global/pg_control".into(), bytes: 5, crc32c: crc32c::crc32c(b"hello") }];
        feed(dir.path(), &files, &archive(b"hello")).unwrap();
        assert_eq!(fs::read(dir.path().join("global/pg_control")).unwrap(), b"hello");
    }

    #[test]
    fn a_file_differing_from_the_manifest_or_missing_stops_the_restore() {
        let dir = tempfile::tempdir().unwrap();
        let files = [FileEntry { path: "global/pg_control".into(), bytes: 5, crc32c: crc32c::crc32c(b"hello") }];
        assert!(matches!(feed(dir.path(), &files, &archive(b"jello")), Err(PgError::Integrity(_))));
        let more = [files[0].clone(), FileEntry { path: "PG_VERSION".into(), bytes: 3, crc32c: 0 }];
        let dir = tempfile::tempdir().unwrap();
        assert!(
            matches!(feed(dir.path(), &more, &archive(b"hello")), Err(PgError::Integrity(m)) if m.contains("PG_VERSION"))
        );
    }
}
