//! The Huawei Cloud GaussDB(DWS) snapshot dialect over PostgreSQL clusters:
//! `/v1.0/{project_id}/snapshots…`, `/v1.0/{project_id}/clusters/{cluster_id}/snapshots`, and the
//! snapshot policy under `/v2/…/snapshot-policies`. Requests are signed like CSS's; handlers parse,
//! call one core operation, and render; DWS error codes are decided in `error`.

mod body;
mod dialect;
mod error;
mod routes;
mod view;

pub use routes::router;
