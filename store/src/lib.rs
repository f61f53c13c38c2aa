//! snapkeep's catalog stores. SQLite is the embedded default; every implementation passes the
//! same suite of store tests (`suite`, run by `store_suite!`).

mod sqlite;
#[cfg(any(test, feature = "suite"))]
pub mod suite;

pub use sqlite::SqliteStore;
