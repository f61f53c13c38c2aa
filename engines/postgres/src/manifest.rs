//! snapkeep's manifest of a physical backup (`manifest.json`, written last): the server it came
//! from, the WAL range that makes it consistent, the archive's size and CRC32C, every object of
//! the backup with its size and SHA-256, and every file of the data directory with its size and
//! CRC32C. The manifest carries an HMAC-SHA256 under the catalog's integrity key over all of the
//! above (its fields written out again: a field the format does not have is refused, so the MAC
//! covers everything the stored text holds), so storage changed by anyone but snapkeep (a part,
//! the manifest, or a whole backup put in another's place) is refused before it is used.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use snapkeep_core::IntegrityKey;

use crate::error::PgError;

/// The manifest's object name; a backup without it is incomplete.
pub const MANIFEST_OBJECT: &str = "manifest.json";
/// The largest manifest read, in bytes: about two million files of the data directory.
pub const MAX_MANIFEST_BYTES: u64 = 256 << 20;
/// The server's own `backup_manifest`, kept beside the parts (and restored into the data
/// directory, where `pg_verifybackup` reads it).
pub const SERVER_MANIFEST_OBJECT: &str = "backup_manifest";
const FORMAT: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// The id of the integrity key `mac` is under (`IntegrityKey::id`).
    pub integrity_key_id: String,
    /// HMAC-SHA256 (hex) of the manifest's compact JSON with this field empty.
    pub mac: String,
}

/// How the archive was compressed: by the server, with `workers` threads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compression {
    pub algorithm: String,
    pub level: i32,
    pub workers: u32,
}

/// A regular file of the data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub crc32c: u32,
}

/// An object stored as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredObject {
    pub name: String,
    pub bytes: u64,
    /// SHA-256 of the object (hex).
    pub sha256: String,
}

impl StoredObject {
    /// The record of `bytes` stored as `name`.
    pub fn of(name: String, bytes: &[u8]) -> Self {
        Self { name, bytes: bytes.len() as u64, sha256: hex::encode(Sha256::digest(bytes)) }
    }

    /// Checks stored bytes against this record. Errors: `Integrity` naming what differs.
    pub fn check(&self, bytes: &[u8]) -> Result<(), PgError> {
        if bytes.len() as u64 != self.bytes {
            return Err(PgError::Integrity(format!(
                "{} holds {} bytes, the manifest says {}",
                self.name,
                bytes.len(),
                self.bytes
            )));
        }
        let sha256 = hex::encode(Sha256::digest(bytes));
        if sha256 != self.sha256 {
            return Err(PgError::Integrity(format!(
                "{} has SHA-256 {sha256}, the manifest says {}: it was changed after the backup",
                self.name, self.sha256
            )));
        }
        Ok(())
    }
}

impl Manifest {
    pub fn format() -> u32 {
        FORMAT
    }

    /// Reads a stored manifest and authenticates it: its MAC must verify under `key` and its
    /// label must be `label` (the backup's own, so one backup's objects cannot stand in for
    /// another's). Errors: `Unsupported` for another format, `Integrity` for anything else.
    pub fn open(bytes: &[u8], key: &IntegrityKey, label: &str) -> Result<Self, PgError> {
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let unparsable = |e: serde_json::Error| PgError::Integrity(format!("the manifest does not parse: {e}"));
        let Format { format } = serde_json::from_slice(bytes).map_err(unparsable)?;
        if format != FORMAT {
            return Err(PgError::Unsupported(format!(
                "manifest format {format} (this snapkeep reads format {FORMAT}, whose manifests are authenticated)"
            )));
        }
        // Every field is known (`deny_unknown_fields`): what the MAC covers is all the text holds.
        let manifest: Self = serde_json::from_slice(bytes).map_err(unparsable)?;
        if manifest.integrity_key_id != key.id() {
            return Err(PgError::Integrity(format!(
                "the manifest was sealed under integrity key {}, this catalog's is {}: the backup was not written by this snapkeep",
                manifest.integrity_key_id,
                key.id()
            )));
        }
        if !key.verify(&manifest.signed_bytes(), &manifest.mac) {
            return Err(PgError::Integrity(
                "the manifest's MAC does not verify: it was changed after the backup".into(),
            ));
        }
        if manifest.label != label {
            return Err(PgError::Integrity(format!(
                "the manifest is of backup {:?}, not {label:?}: another backup's objects are in its place",
                manifest.label
            )));
        }
        Ok(manifest)
    }

    /// Seals the manifest under `key` (sets its key id and MAC).
    pub fn seal(&mut self, key: &IntegrityKey) {
        self.integrity_key_id = key.id();
        self.mac = key.tag(&self.signed_bytes());
    }

    /// What the MAC covers: the compact JSON of the manifest with `mac` empty.
    fn signed_bytes(&self) -> Vec<u8> {
        let unsigned = Self { mac: String::new(), ..self.clone() };
        serde_json::to_vec(&unsigned).expect("a manifest serialises")
    }

    /// The name of part `seq` (1-based).
    pub fn part_name(seq: u64) -> String {
        format!("base.tar.zst.{seq:06}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT,
            label: "snapkeep s1".into(),
            server_version: "17.5".into(),
            server_version_num: 170_005,
            system_identifier: "7".into(),
            timeline: 1,
            start_lsn: "0/2000028".into(),
            end_lsn: "0/2000100".into(),
            compression: Compression { algorithm: "zstd".into(), level: 1, workers: 2 },
            database_bytes: 10,
            archive_crc32c: 1,
            stored_bytes: 3,
            parts: vec![StoredObject::of(Manifest::part_name(1), b"abc")],
            files: vec![FileEntry { path: "PG_VERSION".into(), bytes: 3, crc32c: 2 }],
            server_manifest: StoredObject::of(SERVER_MANIFEST_OBJECT.into(), b"{}"),
            started_at_ms: 1,
            finished_at_ms: 2,
            integrity_key_id: String::new(),
            mac: String::new(),
        }
    }

    fn sealed(key: &IntegrityKey) -> Vec<u8> {
        let mut manifest = manifest();
        manifest.seal(key);
        serde_json::to_vec_pretty(&manifest).unwrap()
    }

    #[test]
    fn objects_are_checked_by_length_and_digest() {
        let part = StoredObject::of("p".into(), b"abc");
        assert!(part.check(b"abc").is_ok());
        assert!(matches!(part.check(b"abd"), Err(PgError::Integrity(m)) if m.contains("SHA-256")));
        assert!(matches!(part.check(b"ab"), Err(PgError::Integrity(m)) if m.contains("2 bytes")));
        assert_eq!(Manifest::part_name(12), "base.tar.zst.000012");
    }

    #[test]
    fn a_sealed_manifest_opens_under_its_key_and_label_only() {
        let key = IntegrityKey::generate();
        let bytes = sealed(&key);
        assert_eq!(Manifest::open(&bytes, &key, "snapkeep s1").unwrap().parts, manifest().parts);
        let other = IntegrityKey::generate();
        let refused = Manifest::open(&bytes, &other, "snapkeep s1").unwrap_err();
        assert!(matches!(&refused, PgError::Integrity(m) if m.contains("not written by this snapkeep")), "{refused}");
        let refused = Manifest::open(&bytes, &key, "snapkeep s2").unwrap_err();
        assert!(matches!(&refused, PgError::Integrity(m) if m.contains("another backup's objects")), "{refused}");
    }

    /// Every field is covered: a change to any one of them (here each digest, size and name
    /// stored) is refused.
    #[test]
    fn a_changed_manifest_is_refused() {
        let key = IntegrityKey::generate();
        let text = String::from_utf8(sealed(&key)).unwrap();
        let part_digest = StoredObject::of(String::new(), b"abc").sha256;
        let changes = [
            (part_digest.as_str(), "0".repeat(64)),
            ("\"database_bytes\": 10", "\"database_bytes\": 11".into()),
            ("\"crc32c\": 2", "\"crc32c\": 3".into()),
            ("base.tar.zst.000001", "base.tar.zst.000002".into()),
            ("\"server_version_num\": 170005", "\"server_version_num\": 160005".into()),
        ];
        for (from, to) in changes {
            assert!(text.contains(from), "{from}");
            let refused = Manifest::open(text.replace(from, &to).as_bytes(), &key, "snapkeep s1").unwrap_err();
            assert!(matches!(&refused, PgError::Integrity(m) if m.contains("MAC")), "{from}: {refused}");
        }
        // Fields added anywhere are refused, not ignored outside the MAC.
        let added =
            [("{", "{\"restore_command\": \"rm -rf /\", "), ("\"name\": \"base", "\"note\": 1, \"name\": \"base")];
        for (from, to) in added {
            let refused = Manifest::open(text.replacen(from, to, 1).as_bytes(), &key, "snapkeep s1").unwrap_err();
            assert!(matches!(&refused, PgError::Integrity(m) if m.contains("unknown field")), "{to}: {refused}");
        }
    }

    #[test]
    fn other_formats_are_refused() {
        let key = IntegrityKey::generate();
        let open = |bytes: &[u8]| Manifest::open(bytes, &key, "snapkeep s1");
        assert!(matches!(open(b"{\"format\": 2}"), Err(PgError::Unsupported(m)) if m.contains("format 2")));
        assert!(matches!(open(b"{\"format\": 3}"), Err(PgError::Integrity(_))));
        assert!(matches!(open(b"not json"), Err(PgError::Integrity(_))));
    }
}
