//! snapkeep's catalog: one store over SQL, on SQLite (the embedded default) or PostgreSQL (shared
//! by replicas). Both pass the same suite of store tests (`suite`, run by `store_suite!`).

mod sql;
#[cfg(any(test, feature = "suite"))]
pub mod suite;

pub use sql::{CatalogLocation, SqlStore};
