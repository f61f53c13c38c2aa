//! snapkeep's manifest of a physical backup (`manifest.json`, written last): the server it came
//! from, the WAL range that makes it consistent, the archive's size and CRC32C, every part of its
//! compressed stream with its size and checksum, and every file of the data directory with its
//! size and CRC32C.

use serde::{Deserialize, Serialize};

use crate::error::PgError;

/// The manifest's object name; a backup without it is incomplete.
pub const MANIFEST_OBJECT: &str = "manifest.json";
/// The server's own `backup_manifest`, kept beside the parts (and restored into the data
/// directory, where `pg_verifybackup` reads it).
pub const SERVER_MANIFEST_OBJECT: &str = "backup_manifest";
const FORMAT: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub label: String,
    pub server_version: String,
    pub server_version_num: u32,
    pub system_identifier: String,
    pub timeline: u32,
    pub start_lsn: String,
    pub end_lsn: String,
    pub compression: Compression,
    /// Bytes of the archive (the tar, decompressed).
    pub database_bytes: u64,
    /// CRC32C of the decompressed archive.
    pub archive_crc32c: u32,
    /// Bytes of the parts in storage.
    pub stored_bytes: u64,
    /// The compressed archive cut into consecutive objects: concatenated in order they are one
    /// zstd stream (`cat base.tar.zst.* | zstd -d | tar -x` restores by hand).
    pub parts: Vec<StoredObject>,
    pub files: Vec<FileEntry>,
    pub server_manifest: StoredObject,
    pub started_at_ms: u64,
    pub finished_at_ms: u64,
}

/// How the archive was compressed: by the server, with `workers` threads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compression {
    pub algorithm: String,
    pub level: i32,
    pub workers: u32,
}

/// A regular file of the data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub crc32c: u32,
}

/// An object stored as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredObject {
    pub name: String,
    pub bytes: u64,
    pub crc32c: u32,
}

impl Manifest {
    pub fn format() -> u32 {
        FORMAT
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, PgError> {
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let unparsable = |e: serde_json::Error| PgError::Integrity(format!("the manifest does not parse: {e}"));
        let Format { format } = serde_json::from_slice(bytes).map_err(unparsable)?;
        if format != FORMAT {
            return Err(PgError::Unsupported(format!(
                "manifest format {format} (this snapkeep reads format {FORMAT})"
            )));
        }
        serde_json::from_slice(bytes).map_err(unparsable)
    }

    /// The name of part `seq` (1-based).
    pub fn part_name(seq: u64) -> String {
        format!("base.tar.zst.{seq:06}")
    }
}

/// Checks an object's bytes against what the manifest recorded.
pub fn check_object(name: &str, bytes: &[u8], expected_len: u64, expected_crc: u32) -> Result<(), PgError> {
    if bytes.len() as u64 != expected_len {
        return Err(PgError::Integrity(format!(
            "{name} holds {} bytes, the manifest says {expected_len}",
            bytes.len()
        )));
    }
    let crc = crc32c::crc32c(bytes);
    if crc != expected_crc {
        return Err(PgError::Integrity(format!("{name} has CRC32C {crc:08x}, the manifest says {expected_crc:08x}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_checked_by_length_and_checksum() {
        let crc = crc32c::crc32c(b"abc");
        assert!(check_object("p", b"abc", 3, crc).is_ok());
        assert!(matches!(check_object("p", b"abd", 3, crc), Err(PgError::Integrity(m)) if m.contains("CRC32C")));
        assert!(matches!(check_object("p", b"ab", 3, crc), Err(PgError::Integrity(m)) if m.contains("2 bytes")));
        assert_eq!(Manifest::part_name(12), "base.tar.zst.000012");
    }

    #[test]
    fn other_formats_are_refused() {
        assert!(matches!(Manifest::parse(b"{\"format\": 1}"), Err(PgError::Unsupported(m)) if m.contains("format 1")));
        assert!(matches!(Manifest::parse(b"{\"format\": 2}"), Err(PgError::Integrity(_))));
        assert!(matches!(Manifest::parse(b"not json"), Err(PgError::Integrity(_))));
    }
}
