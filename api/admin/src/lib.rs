//! snapkeep's admin API (`/admin/v1`): projects, access keys (with rotation), clusters, the
//! fleet's health, snapshots and operations, webhooks and the audit log. Every call needs the admin bearer token, checked by the gateway (`auth`). Errors are `{"error":{"code","message"}}`.

mod answer;
mod auth;
mod error;
mod routes;
mod storage;
mod webhooks;

pub use routes::router;
