//! The Elasticsearch/OpenSearch driver: snapkeep's `SearchEngine` over the engines' REST API,
//! for Elasticsearch 6.8–8.x and OpenSearch 1.x–3.x. What differs between versions is decided
//! once, by `Capabilities`; the parsers of engine answers are pure functions in `parse`.
//!
//! # Engine errors
//!
//! Every non-2xx answer becomes an `EngineErrorKind` by its `type` and, where one type covers
//! different faults, by what its reason (with its `caused_by` chain) says. Transient kinds are
//! retried with backoff until the operation's deadline; a permanent one ends the operation at once
//! with the engine's reason, because asking again cannot change the answer.
//!
//! | engine `type` | reason says | kind | retried |
//! |---|---|---|---|
//! | `snapshot_missing_exception` | | `SnapshotMissing` | no (the caller decides) |
//! | `repository_missing_exception` | | `RepositoryMissing` | no (the step registers it) |
//! | `index_not_found_exception` | | `IndexNotFound` | no |
//! | `invalid_snapshot_name_exception` | | `InvalidSnapshotName` | no |
//! | `snapshot_name_already_in_use_exception` | | `SnapshotNameInUse` | no |
//! | `concurrent_snapshot_execution_exception`, `snapshot_in_progress_exception` | | `Busy` | yes |
//! | `snapshot_restore_exception` | `already running` | `Busy` | yes |
//! | `snapshot_restore_exception` | anything else (an open index, a partial snapshot) | `SnapshotRestore` | no |
//! | `repository_verification_exception` | | `RepositoryVerification` | no |
//! | `security_exception` | | `Security` | no |
//! | any | `repository is readonly`, `readonly repository` | `RepositoryReadonly` | no |
//! | `repository_exception` | `failed to create repository`, `… path.repo`, `does not exist`, `missing location`, `No bucket defined` | `RepositoryUnusable` | no |
//! | `illegal_state_exception` | `that is currently used` | `RepositoryInUse` | yes |
//! | `illegal_argument_exception`, `index_out_of_bounds_exception` (a missing rename group, HTTP 500), `action_request_validation_exception`, `invalid_index_name_exception`, `pattern_syntax_exception`, `parse_exception`, `x_content_parse_exception` | | `BadRequest` | no |
//! | anything else, HTTP 429 or 5xx (`repository_exception` reading storage, `process_cluster_event_timeout_exception`, `circuit_breaking_exception`, a proxy's 502) | | `Other` | yes |
//! | anything else, other statuses (`cluster_block_exception` 403 for a read-only cluster) | | `Other` | no |
//!
//! A connection that fails or times out is retried; an answer that is not the engine's JSON
//! (`Protocol`) is not. `parse`'s tests hold one case per row.

mod capabilities;
mod client;
mod parse;

pub use capabilities::Capabilities;
pub use client::{HttpEngine, HttpEngineConnector};
