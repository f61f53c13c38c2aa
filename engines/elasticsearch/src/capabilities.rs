//! What an engine version supports, decided once per cluster from its flavor and version, so the
//! driver asks a flag instead of comparing versions. The boundaries are Elasticsearch's release
//! notes': several snapshots deleted in one request from 7.8, a snapshot's `metadata` from 7.3.

use snapkeep_core::{EngineFlavor, EngineVersion};

/// What an engine version supports, decided once from flavor and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `DELETE _snapshot/repo/a,b` deletes several snapshots in one request.
    pub multi_delete: bool,
    /// Create-snapshot takes a `metadata` object (ES 7.3+).
    pub snapshot_metadata: bool,
}

impl Capabilities {
    /// Elasticsearch by version; OpenSearch has had both since its fork from 7.10.
    pub fn of(flavor: EngineFlavor, version: EngineVersion) -> Self {
        let v = |major, minor| EngineVersion::new(major, minor, 0);
        match flavor {
            EngineFlavor::Elasticsearch => {
                Self { multi_delete: version >= v(7, 8), snapshot_metadata: version >= v(7, 3) }
            }
            EngineFlavor::Opensearch => Self { multi_delete: true, snapshot_metadata: true },
            EngineFlavor::Postgres => Self { multi_delete: false, snapshot_metadata: false },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_follow_the_version_boundaries() {
        let es = |s| Capabilities::of(EngineFlavor::Elasticsearch, EngineVersion::parse(s).unwrap());
        assert!(!es("6.8.23").multi_delete);
        assert!(!es("7.7.1").multi_delete);
        assert!(es("7.8.0").multi_delete);
        assert!(!es("6.8.23").snapshot_metadata && es("7.3.0").snapshot_metadata);
        let os = |s| Capabilities::of(EngineFlavor::Opensearch, EngineVersion::parse(s).unwrap());
        assert!(os("1.3.0").multi_delete && os("1.3.0").snapshot_metadata);
    }
}
