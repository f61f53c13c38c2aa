//! snapkeep's admin API (`/admin/v1`): projects, access keys and clusters. Every call needs the
//! admin bearer token. Errors are `{"error":{"code","message"}}`.

mod auth;
mod error;
mod routes;

pub use routes::router;
