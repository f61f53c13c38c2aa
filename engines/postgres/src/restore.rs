//! Materialises a backup as a data directory: the manifest is authenticated first, parts are
//! downloaded several at once, each checked against the manifest (size and SHA-256) before it is
//! decoded, every file's CRC32C is compared as it is written, and the whole archive's size and
//! CRC32C at its end. Any mismatch stops the restore.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use snapkeep_core::{IntegrityKey, ObjectPath, TransferProgress};

use crate::archive::ArchiveDecoder;
use crate::error::PgError;
use crate::manifest::{self, FileEntry, Manifest, StoredObject};
use crate::tar::{EntryHeader, EntryKind, TarVisitor};

/// Parts downloaded at once.
const DOWNLOADS: usize = 4;
/// Downloaded parts waiting for the decoding thread.
const QUEUED_PARTS: usize = 2;

/// Reads and authenticates a backup's manifest (`Manifest::open`).
pub async fn read_manifest(objects: &dyn ObjectPath, key: &IntegrityKey, label: &str) -> Result<Manifest, PgError> {
    Manifest::open(&objects.get(manifest::MANIFEST_OBJECT, manifest::MAX_MANIFEST_BYTES).await?, key, label)
}

/// Writes the backup into `data_dir` (which must not exist yet) and the server's manifest
/// beside its files. The server's manifest is read and checked first; each part is checked
/// before it is decoded, so nothing that differs from what the backup wrote is ever written.
pub async fn materialise(
    objects: Arc<dyn ObjectPath>,
    manifest: &Manifest,
    data_dir: &Path,
    progress: &TransferProgress,
) -> Result<(), PgError> {
    let expected = &manifest.server_manifest;
    let server_manifest = objects.get(&expected.name, expected.bytes).await?;
    expected.check(&server_manifest)?;
    progress.set_total(manifest.stored_bytes - manifest.server_manifest.bytes);
    fs::create_dir_all(data_dir).map_err(|e| PgError::local(data_dir.display(), e))?;
    fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| PgError::local(data_dir.display(), e))?;
    let mut decoder = ArchiveDecoder::start(Extractor::new(data_dir, &manifest.files), QUEUED_PARTS);
    let downloaded = download_parts(objects.clone(), &manifest.parts, &mut decoder, progress).await;
    // The decoding thread writes the data directory: it has stopped before anything returns.
    let decoded = decoder.finish().await;
    downloaded?;
    let (extractor, archive) = decoded?;
    extractor.finish()?;
    if (archive.bytes, archive.crc32c) != (manifest.database_bytes, manifest.archive_crc32c) {
        return Err(PgError::Integrity(format!(
            "the archive decoded to {} bytes with CRC32C {:08x}; the manifest says {} bytes, {:08x}",
            archive.bytes, archive.crc32c, manifest.database_bytes, manifest.archive_crc32c
        )));
    }
    let path = data_dir.join(manifest::SERVER_MANIFEST_OBJECT);
    fs::write(&path, &server_manifest).map_err(|e| PgError::local(path.display(), e))
}

/// Configuration files a server needs in its data directory, with what a restore writes when the
/// source kept them elsewhere (as Debian's packages do, in `/etc/postgresql`): no settings beyond
/// the defaults (the port and address are given at start), local connections by operating-system
/// user, TCP connections with passwords.
const CONFIGURATION_FILES: [(&str, &str); 3] = [
    ("postgresql.conf", "# Written by snapkeep's restore: the source kept its settings outside its data directory.\n"),
    (
        "pg_hba.conf",
        "# Written by snapkeep's restore: the source kept its client authentication outside its data directory.\n\
         local all all peer\nhost all all all scram-sha-256\nhost replication all all scram-sha-256\n",
    ),
    (
        "pg_ident.conf",
        "# Written by snapkeep's restore: the source kept its user name maps outside its data directory.\n",
    ),
];

/// Readies a restored data directory to start as a copy of its own: it never archives into its
/// source's WAL archive, and configuration files the backup lacks are written.
pub fn configure_copy(data_dir: &Path) -> Result<(), PgError> {
    let auto_conf = data_dir.join("postgresql.auto.conf");
    let mut settings = fs::read_to_string(&auto_conf).unwrap_or_default();
    settings.push_str(
        "\n# Set by snapkeep's restore: this copy does not archive into its source's archive.\narchive_mode = 'off'\n",
    );
    fs::write(&auto_conf, settings).map_err(|e| PgError::local(auto_conf.display(), e))?;
    for (name, content) in CONFIGURATION_FILES {
        let path = data_dir.join(name);
        if !path.exists() {
            tracing::warn!(file = %path.display(), "the backup has no {name}; a default one was written");
            fs::write(&path, content).map_err(|e| PgError::local(path.display(), e))?;
        }
    }
    Ok(())
}

/// Downloads the parts, several at once, and hands them to the decoder in order.
async fn download_parts(
    objects: Arc<dyn ObjectPath>,
    parts: &[StoredObject],
    decoder: &mut ArchiveDecoder<Extractor>,
    progress: &TransferProgress,
) -> Result<(), PgError> {
    let mut downloads =
        futures::stream::iter(parts.to_vec()).map(|part| fetch_part(objects.clone(), part)).buffered(DOWNLOADS);
    while let Some(stored) = downloads.try_next().await? {
        progress.add_done(stored.len() as u64);
        decoder.push(stored).await?;
    }
    Ok(())
}

/// Downloads a part and checks it against the manifest.
async fn fetch_part(objects: Arc<dyn ObjectPath>, part: StoredObject) -> Result<Bytes, PgError> {
    let stored = objects.get(&part.name, part.bytes).await?;
    part.check(&stored)?;
    Ok(stored)
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

    /// Every file of the manifest was written.
    fn finish(self) -> Result<(), PgError> {
        match self.expected.keys().next() {
            Some(missing) => Err(PgError::Integrity(format!("{missing} is in the manifest but not in the archive"))),
            None => Ok(()),
        }
    }
}

impl Extractor {
    /// Refuses an entry that would be written through a link: no directory on its way from the
    /// root may be a symbolic link (the archive's own, or anything else found there).
    fn check_no_link_on_the_way(&self, relative: &str) -> Result<(), PgError> {
        let mut prefix = self.root.clone();
        let parts: Vec<&str> = relative.split('/').filter(|p| !p.is_empty()).collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            prefix.push(part);
            if fs::symlink_metadata(&prefix).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(PgError::Integrity(format!("{relative} would be written through the link {part}")));
            }
        }
        Ok(())
    }
}

/// Where PostgreSQL keeps links in a data directory: `pg_tblspc/<tablespace oid>`.
fn is_tablespace_link(path: &str) -> bool {
    path.strip_prefix("pg_tblspc/").is_some_and(|oid| !oid.is_empty() && oid.bytes().all(|b| b.is_ascii_digit()))
}

impl TarVisitor for Extractor {
    fn entry(&mut self, header: &EntryHeader) -> Result<(), PgError> {
        self.check_no_link_on_the_way(&header.path)?;
        let path = self.root.join(&header.path);
        let mode = fs::Permissions::from_mode(header.mode & 0o7777);
        match header.kind {
            EntryKind::Directory => {
                if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(PgError::Integrity(format!("{} is a directory where a link is", header.path)));
                }
                fs::create_dir_all(&path).map_err(|e| PgError::local(path.display(), e))?;
                fs::set_permissions(&path, mode).map_err(|e| PgError::local(path.display(), e))
            }
            EntryKind::Symlink if is_tablespace_link(&header.path) => {
                std::os::unix::fs::symlink(&header.link, &path).map_err(|e| PgError::local(path.display(), e))
            }
            EntryKind::Symlink => {
                Err(PgError::Integrity(format!("{} is a link; only pg_tblspc/<oid> may be one", header.path)))
            }
            EntryKind::File => {
                if !self.expected.contains_key(&header.path) {
                    return Err(PgError::Integrity(format!(
                        "{} is in the archive but not in the manifest",
                        header.path
                    )));
                }
                // A new file only: never one already there, never through a link in its place.
                let file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&path)
                    .map_err(|e| PgError::local(path.display(), e))?;
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
    use crate::tar::{TarWalker, header_block};

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
        assert!(walker.finished());
        extractor.finish()
    }

    #[test]
    fn a_copy_never_archives_and_gets_the_configuration_its_source_kept_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("postgresql.conf"), "port = 5433\n").unwrap();
        configure_copy(dir.path()).unwrap();
        let read = |name: &str| fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(read("postgresql.auto.conf").ends_with("archive_mode = 'off'\n"));
        assert_eq!(read("postgresql.conf"), "port = 5433\n", "files the backup had are kept");
        assert!(read("pg_hba.conf").contains("host all all all scram-sha-256"));
        assert!(dir.path().join("pg_ident.conf").exists());
    }

    #[test]
    fn files_matching_the_manifest_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let files = [FileEntry { path: "global/pg_control".into(), bytes: 5, crc32c: crc32c::crc32c(b"hello") }];
        feed(dir.path(), &files, &archive(b"hello")).unwrap();
        assert_eq!(fs::read(dir.path().join("global/pg_control")).unwrap(), b"hello");
    }

    /// A link other than a tablespace's is refused, and nothing is written through any link:
    /// an archive (and manifest) crafted to write outside the data directory fails, and the
    /// outside stays untouched.
    #[test]
    fn nothing_is_written_through_a_link() {
        let outside = tempfile::tempdir().unwrap();
        let mode_outside = || fs::metadata(outside.path()).unwrap().permissions().mode() & 0o7777;
        let before = mode_outside();
        // The parent directory, then a link `link_name` to the outside directory.
        let link_to_outside = |link_name: &str| {
            let mut link = header_block(link_name, EntryKind::Symlink, 0);
            link[157..157 + outside.path().as_os_str().len()]
                .copy_from_slice(outside.path().as_os_str().as_encoded_bytes());
            let sum: u64 =
                link.iter().enumerate().map(|(i, b)| if (148..156).contains(&i) { 32 } else { u64::from(*b) }).sum();
            link[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
            let mut tar = header_block("pg_tblspc", EntryKind::Directory, 0);
            tar.extend(link);
            tar
        };
        let ended = |mut tar: Vec<u8>| {
            tar.extend(vec![0u8; 1024]);
            tar
        };
        for link_name in ["evil", "pg_tblspc/16384"] {
            let mut tar = link_to_outside(link_name);
            tar.extend(header_block(&format!("{link_name}/PG_VERSION"), EntryKind::File, 3));
            tar.extend(b"16\n");
            tar.extend(vec![0u8; 512 - 3]);
            let dir = tempfile::tempdir().unwrap();
            let files =
                [FileEntry { path: format!("{link_name}/PG_VERSION"), bytes: 3, crc32c: crc32c::crc32c(b"16\n") }];
            let refused = feed(dir.path(), &files, &ended(tar));
            assert!(matches!(&refused, Err(PgError::Integrity(_))), "{link_name}: {refused:?}");
            assert!(!outside.path().join("PG_VERSION").exists(), "{link_name}: written outside");
        }
        // A directory entry in the link's place would have its permissions set through it.
        let mut tar = link_to_outside("pg_tblspc/16384");
        tar.extend(header_block("pg_tblspc/16384", EntryKind::Directory, 0));
        let dir = tempfile::tempdir().unwrap();
        let refused = feed(dir.path(), &[], &ended(tar));
        assert!(matches!(&refused, Err(PgError::Integrity(m)) if m.contains("where a link is")), "{refused:?}");
        assert_eq!(mode_outside(), before, "the outside directory's permissions are untouched");
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
