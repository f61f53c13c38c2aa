//! What differs between the simulated engine versions: the identity `GET /` reports and the
//! behaviour that changed across releases.

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    Elasticsearch,
    Opensearch,
}

/// The simulated engine's flavor and version, and what follows from them.
#[derive(Debug, Clone)]
pub struct Profile {
    pub flavor: Flavor,
    pub version: String,
    parsed: (u32, u32, u32),
}

impl Profile {
    pub fn new(flavor: Flavor, version: &str) -> anyhow::Result<Self> {
        let mut parts = version.split('.').map(str::parse::<u32>);
        let mut next = || parts.next().unwrap_or(Ok(0));
        let parsed = (next()?, next()?, next()?);
        Ok(Self { flavor, version: version.to_owned(), parsed })
    }

    fn es_at_least(&self, major: u32, minor: u32) -> bool {
        self.flavor == Flavor::Elasticsearch && (self.parsed.0, self.parsed.1) >= (major, minor)
    }

    fn is_opensearch(&self) -> bool {
        self.flavor == Flavor::Opensearch
    }

    /// `DELETE _snapshot/r/a,b` and wildcards (ES 7.8+, OpenSearch).
    pub fn multi_delete(&self) -> bool {
        self.is_opensearch() || self.es_at_least(7, 8)
    }

    /// Any change to a repository a snapshot is using is refused, even one that changes nothing
    /// (`RepositoriesService.ensureRepositoryNotInUse`: OpenSearch 1.3–2.19, Elasticsearch before
    /// 7.14, seen on 7.10.2 and 7.13.4); Elasticsearch 7.14+ takes new settings in place and
    /// refuses only a new location (seen on 7.14.2, 7.16.3, 7.17.29).
    pub fn repository_locked_while_in_use(&self) -> bool {
        self.is_opensearch() || !self.es_at_least(7, 14)
    }

    /// A read-only `fs` repository's location must exist: verification and listings fail
    /// without it (OpenSearch 1.3–2.19, Elasticsearch up to 7.11); Elasticsearch 7.12+ verifies
    /// nothing of a read-only repository and lists a missing one as empty (seen on 7.11.2, 7.12.1).
    pub fn readonly_location_checked(&self) -> bool {
        self.is_opensearch() || !self.es_at_least(7, 12)
    }

    /// A repository whose verification failed stays registered (OpenSearch 1.3–2.19, Elasticsearch
    /// 7.12+ registers first); Elasticsearch 7.10 registers nothing then.
    pub fn keeps_unverified_registration(&self) -> bool {
        self.is_opensearch() || self.es_at_least(7, 12)
    }

    /// More than one snapshot operation at a time (ES 7.9+, OpenSearch).
    pub fn concurrent_snapshots(&self) -> bool {
        self.is_opensearch() || self.es_at_least(7, 9)
    }

    /// `GET _snapshot` answers with `total`/`remaining` and names the repository (ES 7.14+).
    pub fn paginated_get(&self) -> bool {
        self.es_at_least(7, 14)
    }

    /// Repositories carry a uuid (ES 7.12+, OpenSearch 2+ keeps none).
    pub fn repository_uuid(&self) -> bool {
        self.es_at_least(7, 12)
    }

    /// `_status` stats in the incremental/processed/total layout (ES 7.4+, OpenSearch).
    pub fn structured_status_stats(&self) -> bool {
        self.is_opensearch() || self.es_at_least(7, 4)
    }

    /// Create-snapshot accepts `metadata` (ES 7.3+, OpenSearch).
    pub fn snapshot_metadata(&self) -> bool {
        self.is_opensearch() || self.es_at_least(7, 3)
    }

    pub fn cleanup(&self) -> bool {
        self.is_opensearch() || self.es_at_least(7, 4)
    }

    pub fn clone_api(&self) -> bool {
        self.is_opensearch() || self.es_at_least(7, 10)
    }

    /// The error type for a snapshot name already taken.
    pub fn name_in_use_error(&self) -> &'static str {
        if self.es_at_least(8, 0) {
            "snapshot_name_already_in_use_exception"
        } else {
            "invalid_snapshot_name_exception"
        }
    }

    /// The error type for a request line over `http.max_initial_line_length` (4 KB): Netty's
    /// `TooLongHttpLineException` since Netty 4.1.94 (seen on Elasticsearch 7.17.29, OpenSearch
    /// 1.3.20–3.3), its parent `TooLongFrameException` before (seen on Elasticsearch 7.10.2).
    pub fn long_line_error(&self) -> &'static str {
        if self.is_opensearch() || self.es_at_least(7, 17) {
            "too_long_http_line_exception"
        } else {
            "too_long_frame_exception"
        }
    }

    pub fn default_shards(&self) -> u32 {
        if self.flavor == Flavor::Elasticsearch && self.parsed.0 < 7 { 5 } else { 1 }
    }

    /// Internal version id as SnapshotInfo's `version_id` carries it.
    pub fn version_id(&self) -> u64 {
        let (a, b, c) = self.parsed;
        u64::from(a) * 1_000_000 + u64::from(b) * 10_000 + u64::from(c) * 100 + 99
    }

    pub fn root(&self, cluster_name: &str, node_name: &str, cluster_uuid: &str) -> Value {
        let mut version = json!({
            "number": self.version,
            "build_type": "tar",
            "build_hash": "0000000000000000000000000000000000000000",
            "build_date": "2024-01-01T00:00:00.000Z",
            "build_snapshot": false,
            "lucene_version": "9.7.0",
            "minimum_wire_compatibility_version": "7.10.0",
            "minimum_index_compatibility_version": "7.0.0",
        });
        let tagline = match self.flavor {
            Flavor::Elasticsearch => {
                version["build_flavor"] = json!("default");
                "You Know, for Search"
            }
            Flavor::Opensearch => {
                version["distribution"] = json!("opensearch");
                "The OpenSearch Project: https://opensearch.org/"
            }
        };
        json!({
            "name": node_name,
            "cluster_name": cluster_name,
            "cluster_uuid": cluster_uuid,
            "version": version,
            "tagline": tagline,
        })
    }
}
